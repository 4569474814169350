/*
 * identity.h: who a peer's certificate says it is, and whether that is allowed.
 *
 * The certificate is the depth-0 certificate seen in the TLS verify callback,
 * so the decision is made during the handshake and does not depend on mbedTLS
 * keeping the peer's certificate afterwards. Chain, time and CRL checks are
 * mbedTLS's job; these functions only decide identity and pinning.
 *
 * A configured id matches a certificate when it equals, byte for byte:
 *   - any URI subjectAltName (exact), or
 *   - any DNS subjectAltName (ASCII case-insensitive; no wildcards), or
 *   - any subject commonName (exact).
 * A pin is the SHA-256 of the certificate's SubjectPublicKeyInfo DER.
 *
 * Hashing goes through PSA: psa_crypto_init() MUST have succeeded.
 * Refusal reasons (*why) are static strings from the log vocabulary:
 * IDENTITY_NOT_ALLOWED or IDENTITY_PIN_MISMATCH.
 */
#ifndef TETHER_IDENTITY_H
#define TETHER_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "mbedtls/x509_crt.h"

struct tether_config;

#define IDENTITY_NOT_ALLOWED "identity not allowed"
#define IDENTITY_PIN_MISMATCH "pin mismatch"

/* "sha256/" + 44 base64 characters + NUL. */
#define IDENTITY_PIN_STR_MAX 52

/*
 * identity_match: 0 if crt proves id and, when pin != NULL (32 bytes), its
 * SPKI hash equals pin. Otherwise TETHER_ERR_PERM and, if why != NULL, *why is
 * set to IDENTITY_NOT_ALLOWED (id does not match; checked first) or
 * IDENTITY_PIN_MISMATCH. NULL crt or id, or an empty id, never match.
 */
int identity_match(const mbedtls_x509_crt *crt, const char *id, const uint8_t *pin,
		   const char **why);

/*
 * identity_find_peer: the accepting side's question, "which configured peer is
 * this?". Sets *peer to the index in cfg->peers of the first peer (in config
 * order) whose id matches crt and whose pin, if it has one, matches too, and
 * returns 0. Otherwise returns TETHER_ERR_PERM with *peer = -1 and *why =
 * IDENTITY_PIN_MISMATCH if some peer matched by id but failed its pin, else
 * IDENTITY_NOT_ALLOWED. why may be NULL.
 */
int identity_find_peer(const mbedtls_x509_crt *crt, const struct tether_config *cfg, int *peer,
		       const char **why);

/* identity_spki_sha256: SHA-256 of crt's SubjectPublicKeyInfo DER into out. */
int identity_spki_sha256(const mbedtls_x509_crt *crt, uint8_t out[32]);

/*
 * identity_describe: crt's primary identity for logs, NUL terminated in buf:
 * the first URI SAN, else the first DNS SAN, else the subject CN, else "".
 * Bytes that could break a log line (outside printable ASCII, '"', '\\') are
 * written as '?'. Returns 0, or TETHER_ERR_TOO_BIG if it was truncated to fit
 * (buf still NUL terminated), TETHER_ERR_INVALID for NULL/empty arguments.
 */
int identity_describe(const mbedtls_x509_crt *crt, char *buf, size_t len);

/*
 * identity_pin_format: "sha256/<base64 of pin>" into buf (IDENTITY_PIN_STR_MAX
 * bytes suffice), the form a config's "pin" takes. TETHER_ERR_TOO_BIG if len is
 * smaller.
 */
int identity_pin_format(const uint8_t pin[32], char *buf, size_t len);

/*
 * identity_pin_parse: the inverse, and the grammar of a config's "pin":
 * "sha256/" and the standard base64 of exactly 32 bytes (43 digits, the final
 * '=' optional, canonical: the spare bits zero, no white space) into pin.
 * Returns 0, or TETHER_ERR_INVALID if s is anything else or NULL (pin, if not
 * NULL, is then zeroed).
 */
int identity_pin_parse(const char *s, uint8_t pin[32]);

/*
 * identity_each_san: call fn(ctx, type, value, len) for each subjectAltName
 * of crt that mbedTLS can parse (type is MBEDTLS_X509_SAN_*; value is the
 * raw bytes, not NUL-terminated, valid only during the call). Stops at the
 * first fn that returns non-zero and returns that value; 0 otherwise.
 */
int identity_each_san(const mbedtls_x509_crt *crt,
		      int (*fn)(void *ctx, int type, const unsigned char *p, size_t len),
		      void *ctx);

#endif
