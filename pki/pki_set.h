/*
 * pki_set.h: a CA and one certificate and key per node, handed out as PEM.
 *
 * The sequence `tether demo` and the simulation driver both need: make a CA,
 * then for each node a fresh P-256 key and a certificate the CA signs, with
 * the node's name as subject CN and an optional URI SAN. Built on pki.h
 * (whose preconditions hold here too: psa_crypto_init() done, mbedTLS's
 * allocator set up). Nothing else is allocated and no file is touched: every
 * PEM goes to a callback, which decides where it lives.
 *
 * The PEM handed to put() sits in static buffers of this file, so these
 * functions are not reentrant: one call at a time, from one thread. A key's
 * PEM buffer is wiped (mbedtls_platform_zeroize) as soon as put() returns,
 * whatever it returned, and on every failure; keys in memory are released
 * with mbedtls_pk_free(), which zeroizes them.
 *
 * Return codes are pki.h's (0, TETHER_ERR_INVALID, _TOO_BIG, _NOMEM, _TLS),
 * plus whatever put() stops a call with.
 */
#ifndef TETHER_PKI_SET_H
#define TETHER_PKI_SET_H

#include <stddef.h>
#include <stdint.h>

#include "mbedtls/pk.h"
#include "mbedtls/x509_crt.h"

/*
 * pki_set_put_fn: take one PEM. name is the node's name, or NULL for the CA's
 * certificate; kind is "crt" or "key" (the CA's key is never handed out).
 * pem is NUL terminated at pem[len] and is borrowed for the call only: keep a
 * copy, not the pointer (a "key" buffer is wiped when put() returns). ctx is
 * what the caller gave. MUST return 0 to go on, or a negative TETHER_ERR_* to
 * stop: the function that called it returns that value at once (a positive
 * value also stops it, as TETHER_ERR_IO).
 */
typedef int pki_set_put_fn(void *ctx, const char *name, const char *kind, const unsigned char *pem,
			   size_t len);

/*
 * A CA that stays in memory to issue with: its key and its parsed
 * certificate. The caller owns it; pki_set_ca_init() before anything else,
 * pki_set_ca_free() when done.
 */
struct pki_set_ca {
	mbedtls_pk_context key;
	mbedtls_x509_crt crt;
};

/* pki_set_ca_init: an empty CA. pki_set_ca_free: back to empty, key zeroized; NULL is harmless. */
void pki_set_ca_init(struct pki_set_ca *ca);
void pki_set_ca_free(struct pki_set_ca *ca);

/*
 * pki_set_ca_make: make ca (which MUST be empty) a self-signed CA with subject
 * CN cn, valid [not_before, not_after] (Unix seconds; pki_cert_spec's rules),
 * and hand its certificate to put(ctx, NULL, "crt", ...). On failure, put's
 * included, ca is left empty.
 */
int pki_set_ca_make(struct pki_set_ca *ca, const char *cn, int64_t not_before, int64_t not_after,
		    pki_set_put_fn *put, void *ctx);

/*
 * pki_set_issue: a fresh key for node name and a certificate for it signed by
 * ca (made by pki_set_ca_make()): subject CN name, one URI SAN uri_san (NULL
 * or "": none), valid [not_before, not_after]. put() gets the certificate
 * (name, "crt") first, then the key (name, "key"). name MUST be a CN
 * pki_cn_ok() accepts; uri_san one pki_san_ok() accepts. A put() error or a
 * failure after the certificate went out leaves what put() already took: the
 * caller drops it. ca is not changed.
 */
int pki_set_issue(struct pki_set_ca *ca, const char *name, const char *uri_san, int64_t not_before,
		  int64_t not_after, pki_set_put_fn *put, void *ctx);

/* One node of a set: its name (subject CN, and what put() is told) and its URI SAN. */
struct pki_set_node {
	const char *name;
	const char *uri_san; /* NULL or "": none */
};

/*
 * What pki_set_make() makes. Strings and the nodes array are borrowed for the
 * call. The CA and every node certificate are valid [not_before, not_after].
 * n_nodes may be 0 (a CA alone); nodes MAY be NULL only then.
 */
struct pki_set_spec {
	const char *ca_cn;
	int64_t not_before;
	int64_t not_after;
	const struct pki_set_node *nodes;
	size_t n_nodes;
};

/*
 * pki_set_make: a throwaway CA and, in the order given, each node's
 * certificate and key: put() gets the CA's certificate, then for every node
 * its "crt" and its "key" (see pki_set_issue()). The CA's key is released
 * (zeroized) before this returns, so the set can never be extended. The first
 * failure, or put()'s first error, stops it; what put() took until then is
 * the caller's to drop. spec NULL or put NULL: TETHER_ERR_INVALID.
 */
int pki_set_make(const struct pki_set_spec *spec, pki_set_put_fn *put, void *ctx);

#endif
