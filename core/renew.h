/*
 * renew.h: certificate renewal through the mesh (docs/DESIGN.md "Renewal
 * through the mesh", docs/PROTOCOL.md section 13).
 *
 * issue.c is the issuer: it judges a CSR a peer sent over its authenticated
 * session and signs a renewal of exactly the identity of the certificate that
 * authenticated that session. renew.c is the renewing node: it schedules a
 * renewal, makes a fresh key and a CSR, checks the answer, writes the files
 * and has them applied by a reload. The functions here are the parts that
 * need no session, so that tests drive them directly with forged input.
 */
#ifndef TETHER_RENEW_H
#define TETHER_RENEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/frame.h"
#include "core/settings.h"
#include "port/port.h"

/* The issuer's CA certificate and key ("issuer" in the config). */
struct issuer_material {
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	int loaded;
};

/*
 * issuer_load: read is->cert and is->key (which MUST be private) into im
 * (unloaded), and check them: one P-256 CA certificate (basicConstraints
 * CA:true, keyCertSign where key usage is given) that chains to ca, valid at
 * now (Unix seconds), whose key is the key. scratch (len bytes) holds one file
 * at a time and is wiped. 0, or <0 with im unloaded and a sentence naming the
 * config key and the reason in err.
 */
int issuer_load(struct issuer_material *im, const struct tether_issuer_cfg *is,
		const mbedtls_x509_crt *ca, int64_t now, struct port *port, unsigned char *scratch,
		size_t len, char *err, size_t err_len);
/* Release (the key is wiped by mbedTLS). NULL and unloaded are harmless. */
void issuer_free(struct issuer_material *im);

/* What an issuance was, for the log. */
struct issue_info {
	char serial[2 * 16 + 1]; /* hex */
	char subject[160];
	char sans[200];
	int64_t not_after; /* Unix seconds */
};

/*
 * issue_sign: sign a renewal for the peer whose session was authenticated by
 * peer (its certificate as the handshake verified it), from the CSR csr
 * (len bytes of DER). The CSR MUST be signed by its key (proof of
 * possession), that key MUST be P-256 and not the certificate's current key,
 * and it MUST name exactly peer's subject and SANs. The certificate has
 * peer's subject, SANs, key usage and extended key usage, basicConstraints
 * CA:false, a random serial, and validity from a minute before now for days,
 * capped at the issuer's own expiry. DER into out (cap bytes) and *out_len.
 * Returns NULL when signed, else why not in words (static storage).
 */
const char *issue_sign(const struct issuer_material *im, const mbedtls_x509_crt *peer,
		       const uint8_t *csr, size_t len, int64_t now, uint32_t days, uint8_t *out,
		       size_t cap, size_t *out_len, struct issue_info *info);

/*
 * renew_csr: a CSR (DER) for key with cur's subject and SANs, into out (cap
 * bytes), *out_len. 0 or <0.
 */
int renew_csr(const mbedtls_x509_crt *cur, mbedtls_pk_context *key, uint8_t *out, size_t cap,
	      size_t *out_len);

/*
 * renew_judge: may der (len bytes), the issuer's answer, replace cur (the
 * node's certificate; its chain after it)? It must parse as one certificate,
 * chain through cur's intermediates to ca (under crl, may be NULL), have
 * exactly cur's subject and SANs, carry key's public key, not be a CA, be
 * valid at now (Unix seconds; a few minutes of clock skew allowed) and not
 * end before cur does. NULL if so, else why not in words (static storage); *not_after
 * the new expiry.
 */
const char *renew_judge(const mbedtls_x509_crt *cur, const mbedtls_x509_crt *ca,
			const mbedtls_x509_crl *crl, mbedtls_pk_context *key, const uint8_t *der,
			size_t len, int64_t now, int64_t *not_after);

/* The wall-clock second a certificate valid from..to is due for renewal (before_days 0: a third left). */
int64_t renew_due(int64_t from, int64_t to, uint32_t before_days);

/* Helpers both sides use (issue.c). */
#define RENEW_NAME_ATTRS_MAX 16
/* A parsed name as the list mbedtls_x509write_* writes, in nodes (no allocation); -1 if it cannot be. */
int renew_name_list(const mbedtls_x509_name *name,
		    mbedtls_asn1_named_data nodes[RENEW_NAME_ATTRS_MAX],
		    mbedtls_asn1_named_data **head);
bool renew_same_sans(const mbedtls_x509_sequence *a, const mbedtls_x509_sequence *b);
bool renew_same_name(const mbedtls_x509_buf *a, const mbedtls_x509_buf *b);
bool renew_same_key(const mbedtls_pk_context *a, const mbedtls_pk_context *b);
/* The value and criticality of extension oid in c; 0, or -1 if it has none. */
int renew_ext_find(const mbedtls_x509_crt *c, const char *oid, size_t oid_len,
		   const unsigned char **val, size_t *val_len, int *critical);
/* "YYYYMMDDhhmmss" (UTC) of Unix second t. */
void renew_time_str(int64_t t, char out[15]);

#endif
