/*
 * tls.h: mbedTLS glue shared by every session of a node.
 *
 * A struct tls_ctx holds the node's identity (certificate, key), trust (CA
 * bundle, optional CRLs) and the two mbedTLS configurations (dialing and
 * accepting) built from the tether config with secure settings only: mutual
 * authentication required, TLS 1.3 preferred, 1.2 only with ECDHE-ECDSA AEAD
 * suites, X25519 and P-256, no renegotiation. Files are read through the port.
 */
#ifndef TETHER_TLS_H
#define TETHER_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crl.h>

#include "core/reason.h"
#include "core/settings.h"
#include "port/port.h"

#define TLS_CRLS_MAX 8

/* What a node proves itself with and trusts: one loaded identity. */
struct tls_material {
	mbedtls_x509_crt ca;
	mbedtls_x509_crt own;
	mbedtls_x509_crl crl; /* every identity.crl file, chained */
	mbedtls_pk_context key;
	int has_crl;
	int loaded;
	/* Which identity.crl file each of the first TLS_CRLS_MAX CRLs came from, and counts. */
	uint8_t crl_file[TLS_CRLS_MAX];
	uint8_t crls_in_file[TETHER_MAX_CRLS];
};

/*
 * The node's TLS context: one pair of mbedTLS configurations for its whole
 * life, and two identity slots. Configurations are what established sessions
 * point at, and after the handshake mbedTLS reads nothing in them that a
 * reload changes (certificates, key, CA, CRL, suites are handshake-only), so
 * a reload loads the new identity into the free slot, then re-points the
 * configurations at it and frees the old one. Handshakes in progress point
 * into the old slot: the caller ends them first (tls_ctx_commit()).
 */
struct tls_ctx {
	mbedtls_ssl_config conf_dial;
	mbedtls_ssl_config conf_accept;
	struct tls_material m[2];
	unsigned cur;	     /* the slot the configurations use */
	unsigned generation; /* identities loaded so far; the first is 1 */
	enum tether_tls_version min_version;
	int suites[TETHER_MAX_SUITES + 1];
	uint16_t groups[3];
	int loaded;
};

/* The identity in use. */
static inline const struct tls_material *tls_cur(const struct tls_ctx *t)
{
	return &t->m[t->cur];
}

/*
 * What the verify callback learned about the peer's certificate. A session
 * owns one and passes it to tls_session_setup(). Before the handshake set cfg
 * and want_peer (the configured peer index a dialer expects, -1 for an
 * accepting side that must find the peer among all configured ones).
 */
struct tls_verify {
	const struct tether_config *cfg;
	int want_peer;
	int peer;		/* matched peer index, -1 until matched */
	const char *why;	/* our refusal reason, NULL if none */
	uint32_t flags;		/* mbedTLS verify flags seen at depth 0 */
	int64_t not_after;	/* peer certificate expiry, unix seconds */
	char id[TETHER_ID_MAX]; /* the peer certificate's primary identity */
};

/*
 * tls_material_load: read and check cert, key, CA and CRLs named by id into m
 * (which MUST be unloaded). scratch (len bytes) holds one file at a time and
 * is wiped after use. On failure returns <0, m stays unloaded, and a sentence
 * naming the file and the reason is in err. The key file must be private
 * (port_file_private), the key must match the certificate, and the
 * certificate must be ECDSA P-256. Requires psa_crypto_init() and the mbedTLS
 * heap to be set up.
 */
int tls_material_load(struct tls_material *m, const struct tether_identity_cfg *id,
		      struct port *port, unsigned char *scratch, size_t scratch_len, char *err,
		      size_t err_len);
/* Release (keys are wiped by mbedTLS). NULL and unloaded are harmless. */
void tls_material_free(struct tls_material *m);

/* One problem tls_material_check() found: the config key it concerns, and what. */
typedef void tls_problem_fn(void *ctx, const char *path, const char *what);

/*
 * tls_material_check: what `tether check`, `tether run` and a reload refuse:
 * the node's certificate expired, not yet valid, or not chaining to the CA
 * (under the CRLs); a CA certificate expired. Each problem goes to
 * problem(ctx, ...); returns how many there were. now: Unix seconds.
 */
unsigned tls_material_check(const struct tls_material *m, int64_t now, tls_problem_fn *problem,
			    void *ctx);

/*
 * tls_ctx_load: the first identity (tls_material_load into slot 0) and both
 * configurations. On failure t is unloaded and err says why.
 */
int tls_ctx_load(struct tls_ctx *t, const struct tether_config *cfg, struct port *port,
		 unsigned char *scratch, size_t scratch_len, char *err, size_t err_len);

/* The slot a reload loads into (tls_material_load()); unloaded first, so it is ready. */
struct tls_material *tls_ctx_spare(struct tls_ctx *t);

/*
 * tls_ctx_commit: make the spare slot (loaded) the identity in use, with cfg's
 * TLS settings (version, suites), and free the one before. Every handshake in
 * progress MUST have ended: they point into the old slot. Returns 0, or <0
 * with t unchanged (the spare is freed) and err saying why.
 */
int tls_ctx_commit(struct tls_ctx *t, const struct tether_config *cfg, char *err, size_t err_len);

/* Release everything (keys are wiped by mbedTLS). NULL and unloaded are harmless. */
void tls_ctx_free(struct tls_ctx *t);

/*
 * tls_session_setup: prepare ssl (already mbedtls_ssl_init'ed) for one
 * connection, dialing or accepting, with v as the verify callback's state.
 * bio_ctx/send/recv are the transport (mbedTLS BIO contract).
 */
int tls_session_setup(struct tls_ctx *t, mbedtls_ssl_context *ssl, int dial, struct tls_verify *v,
		      void *bio_ctx, mbedtls_ssl_send_t *send, mbedtls_ssl_recv_t *recv);

/*
 * tls_fail_reason: the reason a handshake failed, in the words the log and the
 * README use ("unknown ca", "certificate expired", ...). ret is what
 * mbedtls_ssl_handshake() returned. Never NULL; static storage. *code
 * receives the reason's code (reason.h).
 */
const char *tls_fail_reason(int ret, const mbedtls_ssl_context *ssl, const struct tls_verify *v,
			    enum tether_reason *code);

/*
 * tls_rejudge: a peer certificate that passed its handshake, judged again by
 * ca and crl (NULL: none) after a reload or a new CRL. REASON_NONE if it
 * still stands; else revoked, unknown ca, expired, not yet valid or
 * certificate rejected. A CRL that cannot be used (expired, not yet valid,
 * not signed by ca) is not the peer's fault: alone, it ends nothing.
 */
enum tether_reason tls_rejudge(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *ca,
			       const mbedtls_x509_crl *crl);

/*
 * tls_record_error: words for what mbedtls_ssl_read() (or a handshake)
 * returned when a record could not be taken: "record too large" (a header
 * claiming more than the 4 KB record buffer, mbedTLS's BAD_INPUT_DATA),
 * "tls record failed authentication", "malformed tls record", ... NULL for
 * a code it has no words for. Static storage.
 */
const char *tls_record_error(int ret);

/*
 * tls_resize_input: make ssl's input buffer hold records of content_len
 * bytes of payload (at most MBEDTLS_SSL_IN_CONTENT_LEN). Edge builds start
 * every context at 16 KB: a peer session gives the excess back (records
 * between nodes are TETHER_RECORD_SIZE), and an edge connection on TLS 1.2,
 * which mbedTLS cut down to the output size, takes 16 KB records again. Only
 * after the handshake, and only when what the buffer holds fits. Returns 0
 * (done, or the size already), TETHER_ERR_INVALID (not now: call again after
 * a read drained it), TETHER_ERR_NOMEM (no heap; the buffer stays as it was).
 * Records larger than the buffer are refused ("record too large").
 * tls_note_setup() MUST have seen a fresh context first (tls_session_setup
 * does; edge.c calls it after its mbedtls_ssl_setup).
 */
int tls_resize_input(mbedtls_ssl_context *ssl, size_t content_len);
void tls_note_setup(const mbedtls_ssl_context *ssl);

/* "1.3" or "1.2" for the negotiated version. */
const char *tls_version_name(const mbedtls_ssl_context *ssl);

/*
 * The process-wide mbedTLS heap (MBEDTLS_MEMORY_DEBUG builds; 0 otherwise):
 * bytes in use now and the peak since the last reset, allocator headers
 * included, so both are upper bounds as memory budgets want.
 */
size_t tls_heap_in_use(void);
size_t tls_heap_peak(void);
void tls_heap_peak_reset(void);

/* Unix seconds of an mbedtls_x509_time. */
int64_t tls_time_unix(const mbedtls_x509_time *t);

/*
 * A fresh P-256 key pair into pk (set up here; free it with mbedtls_pk_free):
 * for renewal (core/renew.c) and `tether pki` alike. 0, or an mbedTLS or PSA
 * error code.
 */
int tls_p256_keygen(mbedtls_pk_context *pk);

#endif
