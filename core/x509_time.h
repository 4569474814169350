/*
 * x509_time.h: certificate times as Unix seconds, by calendar arithmetic.
 *
 * The agent compares certificate validity with port_wall_s() (tls.c, `tether
 * check`); this is the one conversion it needs, with no gmtime() or timegm()
 * so that it runs the same on every board. Issuing certificates (pki/) needs
 * the inverse direction and keeps it to itself.
 */
#ifndef TETHER_X509_TIME_H
#define TETHER_X509_TIME_H

#include <stdint.h>

#include "mbedtls/x509.h"

/*
 * x509_time_to_unix: a parsed certificate time (crt->valid_from, valid_to) ->
 * Unix seconds, UTC, in *out. Returns 0, or TETHER_ERR_INVALID (and *out
 * untouched) if t or out is NULL or a field is out of range (year 0..9999,
 * February 29 is accepted in any year, a leap second is accepted).
 */
int x509_time_to_unix(const mbedtls_x509_time *t, int64_t *out);

#endif
