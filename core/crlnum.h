/*
 * crlnum.h: the CRL Number of a parsed CRL (RFC 5280 5.2.3).
 *
 * mbedTLS parses a CRL's extensions only far enough to check their framing
 * and keeps them raw (crl->crl_ext); this reads the one the agent needs to
 * tell a newer CRL from an older one. CRLs may come from the network, so the
 * reader is strict DER and never reads outside crl_ext. No allocation.
 */
#ifndef TETHER_CRLNUM_H
#define TETHER_CRLNUM_H

#include <stddef.h>
#include <stdint.h>

#include "mbedtls/x509_crl.h"

/* Longest CRL Number RFC 5280 allows, in octets of magnitude. */
#define CRL_NUMBER_MAX 20

/*
 * crl_number: the CRL Number extension (OID 2.5.29.20) of crl as a big-endian
 * magnitude without leading zeros: out[0..*len), *len 0 for the number 0.
 *
 * Returns 0, or:
 *   TETHER_ERR_INVALID   crl, out or len is NULL, or crl has no CRL Number
 *                        (a v1 CRL, or a v2 CRL without the extension)
 *   TETHER_ERR_PROTOCOL  the extensions are not DER (bad tag or length,
 *                        non-minimal length or INTEGER, a BOOLEAN other than
 *                        0x00/0xFF, an empty list, bytes left over), the
 *                        extension appears twice, or the number is negative
 *                        or longer than CRL_NUMBER_MAX octets
 * On failure *len is 0 and out is zeroed.
 */
int crl_number(const mbedtls_x509_crl *crl, uint8_t out[CRL_NUMBER_MAX], size_t *len);

/*
 * crl_number_cmp: compare two big-endian magnitudes (leading zero octets are
 * ignored, so any encoding of the same number compares equal): <0 if a < b,
 * 0 if equal, >0 if a > b. A pointer may be NULL when its length is 0.
 */
int crl_number_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
