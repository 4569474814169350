/*
 * tls.h: mbedTLS glue shared by every session of a node.
 *
 * A struct tls_ctx holds the node's identity (certificate, key), trust (CA
 * bundle, optional CRL) and the two mbedTLS configurations (dialing and
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

#include "../config/config.h"
#include "../port/port.h"
#include "reason.h"

struct tls_ctx {
	mbedtls_ssl_config conf_dial;
	mbedtls_ssl_config conf_accept;
	mbedtls_x509_crt ca;
	mbedtls_x509_crt own;
	mbedtls_x509_crl crl;
	mbedtls_pk_context key;
	int has_crl;
	int suites[TETHER_MAX_SUITES + 1];
	uint16_t groups[3];
	int loaded;
};

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
 * tls_ctx_load: read and check cert, key, CA and CRL named by cfg, and build
 * both configurations. scratch (len bytes) holds one file at a time and is
 * wiped after use. On failure returns <0 and writes a sentence naming the
 * file and the reason into err. The key file must be private (port_file_private).
 * Requires psa_crypto_init() and the mbedTLS heap to be set up.
 */
int tls_ctx_load(struct tls_ctx *t, const struct tether_config *cfg, struct port *port,
		 unsigned char *scratch, size_t scratch_len, char *err, size_t err_len);

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

#endif
