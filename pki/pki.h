/*
 * pki.h: P-256 keys and X.509 certificates made in memory.
 *
 * Used by `tether pki`, `tether demo` and the tests, so a fleet needs no
 * OpenSSL on its devices. Everything is written into buffers the caller owns;
 * no file is touched. mbedTLS allocates internally through its own allocator
 * (MBEDTLS_MEMORY_BUFFER_ALLOC_C), which the program MUST have set up.
 *
 * Randomness comes from PSA (mbedtls_psa_get_random): psa_crypto_init() MUST
 * have succeeded before any function here is called.
 *
 * All functions return 0 on success or a negative TETHER_ERR_*:
 *   TETHER_ERR_INVALID  bad argument (bad times, unusable key, issuer not a CA,
 *                       issuer key not the issuer certificate's key, ...)
 *   TETHER_ERR_TOO_BIG  the output does not fit the buffer given
 *   TETHER_ERR_NOMEM    mbedTLS's allocator ran out
 *   TETHER_ERR_TLS      any other failure inside mbedTLS
 */
#ifndef TETHER_PKI_H
#define TETHER_PKI_H

#include <stddef.h>
#include <stdint.h>

#include "mbedtls/pk.h"
#include "mbedtls/x509_crt.h"

/* Earliest and latest times a certificate may carry (UTCTime starts in 1950). */
#define PKI_TIME_MIN ((int64_t)-631152000)   /* 1950-01-01T00:00:00Z */
#define PKI_TIME_MAX ((int64_t)253402300799) /* 9999-12-31T23:59:59Z */

/* Longest subject CN accepted (X.520 ub-common-name). */
#define PKI_CN_MAX 64
/* Longest URI or DNS SAN accepted (a config's peer id holds 255). */
#define PKI_SAN_MAX 255

/*
 * pki_cn_ok: 1 if cn is a subject CN pki_cert_write_pem() accepts: 1 to
 * PKI_CN_MAX bytes without control characters. NULL: 0.
 */
int pki_cn_ok(const char *cn);

/*
 * pki_san_ok: 1 if s is a URI or DNS SAN pki_cert_write_pem() accepts: at most
 * PKI_SAN_MAX bytes of printable ASCII without spaces. NULL and "" mean "no
 * SAN" and give 1.
 */
int pki_san_ok(const char *s);

/* Room for a P-256 key or one certificate in PEM; callers may use these for buffers. */
#define PKI_KEY_PEM_MAX 512
#define PKI_CERT_PEM_MAX 4096

/*
 * What to put in a certificate. Strings are borrowed for the call only.
 * cn MUST be 1..PKI_CN_MAX bytes without control characters. uri_san and
 * dns_san are optional (NULL or "" = none); each adds one subjectAltName entry
 * and MUST be at most PKI_SAN_MAX bytes of printable ASCII without spaces.
 * Times are Unix seconds, PKI_TIME_MIN <= not_before <= not_after <= PKI_TIME_MAX.
 */
struct pki_cert_spec {
	const char *cn;
	const char *uri_san;
	const char *dns_san;
	int is_ca;
	int64_t not_before;
	int64_t not_after;
};

/*
 * pki_key_generate: make a fresh P-256 key pair in pk, which MUST have been
 * mbedtls_pk_init()ed and be empty. On failure pk is left empty (freed). The
 * caller owns pk and releases it with mbedtls_pk_free() (which zeroizes).
 */
int pki_key_generate(mbedtls_pk_context *pk);

/*
 * pki_key_write_pem: write pk's private key as PEM ("-----BEGIN EC PRIVATE
 * KEY-----", SEC1, which both mbedTLS and OpenSSL read) into buf, NUL
 * terminated. The buffer then holds a secret: the caller MUST zeroize it
 * (mbedtls_platform_zeroize) when done. On failure buf is zeroized.
 */
int pki_key_write_pem(mbedtls_pk_context *pk, unsigned char *buf, size_t cap);

/*
 * pki_cert_write_pem: issue a certificate for subject_key (its public half is
 * what gets certified) as described by spec, signed ECDSA-SHA256 by issuer_key.
 *
 * issuer NULL: self-signed; issuer_key MUST then be subject_key (or NULL, which
 * means the same). Otherwise issuer is the CA certificate (it MUST be a CA and
 * issuer_key MUST be its private key) and the new certificate's issuer name is
 * issuer's subject.
 *
 * The certificate gets: version 3, a random positive 128-bit serial,
 * basicConstraints (CA:TRUE pathlen 1, or CA:FALSE), keyUsage (keyCertSign and
 * cRLSign, or digitalSignature), for leaves extKeyUsage serverAuth+clientAuth
 * (mbedTLS marks it critical), subjectKeyIdentifier (RFC 7093 method 1: the
 * first 160 bits of SHA-256 of the public key, so SHA-1 is not needed),
 * authorityKeyIdentifier (the issuer's subjectKeyIdentifier when it has one)
 * and the SANs asked for.
 *
 * Output is PEM, NUL terminated, in buf (PKI_CERT_PEM_MAX is plenty).
 */
int pki_cert_write_pem(const struct pki_cert_spec *spec, mbedtls_pk_context *subject_key,
		       const mbedtls_x509_crt *issuer, mbedtls_pk_context *issuer_key,
		       unsigned char *buf, size_t cap);

/*
 * pki_time_format: Unix seconds -> "YYYYMMDDhhmmss" (UTC, 15 bytes with the
 * NUL), the form mbedTLS's certificate writer takes. TETHER_ERR_INVALID
 * outside PKI_TIME_MIN..PKI_TIME_MAX. The way back, from a parsed certificate,
 * is core's x509_time_to_unix() (core/x509_time.h).
 */
int pki_time_format(int64_t t, char out[15]);

#endif
