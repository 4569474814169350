#include "tls.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/psa_util.h>
#include <psa/crypto.h>

#include "err.h"
#include "identity.h"
#include "pki.h"

/*
 * TLS 1.3 suites first, then TLS 1.2 ECDHE-ECDSA AEAD suites only.
 * ChaCha20-Poly1305 leads: mbedTLS's GCM works one 16-byte block at a time,
 * and ChaCha20 costs about 40% less CPU per byte on x86 with AES-NI
 * (docs/BENCH.md) and far less on ARM cores without AES instructions.
 */
static const int default_suites[] = {
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	0,
};

int64_t tls_time_unix(const mbedtls_x509_time *t)
{
	int64_t v = 0;

	/* An out-of-range field (mbedTLS parsed it, so unlikely) reads as the epoch. */
	(void)pki_time_to_unix(t, &v);
	return v;
}

static int is_pem(const unsigned char *buf, size_t len)
{
	return len >= 10 && memcmp(buf, "-----BEGIN", 10) == 0;
}

static void say(char *err, size_t err_len, const char *what, const char *path, const char *why)
{
	snprintf(err, err_len, "%s: %s: %s", what, path, why);
}

static void say_mbedtls(char *err, size_t err_len, const char *what, const char *path, int ret)
{
	char buf[128];

	mbedtls_strerror(ret, buf, sizeof(buf));
	say(err, err_len, what, path, buf);
}

/* Read one file into scratch; PEM parsers want the NUL counted in the length. */
static int read_into(struct port *port, const char *what, const char *path, unsigned char *scratch,
		     size_t scratch_len, size_t *len, char *err, size_t err_len)
{
	int ret = port_read_file(port, path, scratch, scratch_len, len);

	if (ret < 0) {
		say(err, err_len, what, path,
		    ret == TETHER_ERR_TOO_BIG ? "file too large" : "cannot read file");
		return ret;
	}
	if (is_pem(scratch, *len))
		(*len)++;
	return 0;
}

static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_verify *v = ctx;

	/* Called from the chain's top down to the leaf: collect every fault. */
	v->flags |= *flags;
	if (depth != 0)
		return 0;
	v->not_after = tls_time_unix(&crt->valid_to);
	identity_describe(crt, v->id, sizeof(v->id));
	if (v->flags != 0)
		return 0; /* mbedTLS refuses it; tls_fail_reason() says why */
	if (v->want_peer >= 0) {
		const struct tether_peer_cfg *pc = &v->cfg->peers[v->want_peer];

		if (identity_match(crt, pc->id, pc->has_pin ? pc->pin : NULL, &v->why) == 0)
			v->peer = v->want_peer;
	} else {
		if (identity_find_peer(crt, v->cfg, &v->peer, &v->why) != 0)
			v->peer = -1;
	}
	if (v->peer < 0) {
		if (v->why == NULL)
			v->why = "identity not allowed";
		*flags |= MBEDTLS_X509_BADCERT_OTHER;
	}
	return 0;
}

static int setup_conf(struct tls_ctx *t, mbedtls_ssl_config *c, int endpoint,
		      const struct tether_config *cfg)
{
	int ret = mbedtls_ssl_config_defaults(c, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
					      MBEDTLS_SSL_PRESET_DEFAULT);

	if (ret != 0)
		return ret;
	mbedtls_ssl_conf_authmode(c, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_rng(c, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
	mbedtls_ssl_conf_ca_chain(c, &t->ca, t->has_crl ? &t->crl : NULL);
	ret = mbedtls_ssl_conf_own_cert(c, &t->own, &t->key);
	if (ret != 0)
		return ret;
	mbedtls_ssl_conf_min_tls_version(c, cfg->tls.min_version == TETHER_TLS_1_2
						    ? MBEDTLS_SSL_VERSION_TLS1_2
						    : MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_max_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_ciphersuites(c, t->suites);
	mbedtls_ssl_conf_groups(c, t->groups);
	mbedtls_ssl_conf_tls13_key_exchange_modes(c,
						  MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL);
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
	/* Node sessions are long-lived; resumption buys nothing and keeps state. */
	if (endpoint == MBEDTLS_SSL_IS_CLIENT)
		mbedtls_ssl_conf_session_tickets(c, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
	return 0;
}

int tls_ctx_load(struct tls_ctx *t, const struct tether_config *cfg, struct port *port,
		 unsigned char *scratch, size_t scratch_len, char *err, size_t err_len)
{
	const struct tether_identity_cfg *id = &cfg->identity;
	size_t len = 0;
	unsigned i;
	int ret;

	memset(t, 0, sizeof(*t));
	mbedtls_ssl_config_init(&t->conf_dial);
	mbedtls_ssl_config_init(&t->conf_accept);
	mbedtls_x509_crt_init(&t->ca);
	mbedtls_x509_crt_init(&t->own);
	mbedtls_x509_crl_init(&t->crl);
	mbedtls_pk_init(&t->key);
	t->loaded = 1;

	if ((ret = read_into(port, "identity.ca", id->ca, scratch, scratch_len, &len, err,
			     err_len)) < 0)
		goto err0;
	ret = mbedtls_x509_crt_parse(&t->ca, scratch, len);
	if (ret != 0) {
		say_mbedtls(err, err_len, "identity.ca", id->ca, ret);
		goto err1;
	}

	if ((ret = read_into(port, "identity.cert", id->cert, scratch, scratch_len, &len, err,
			     err_len)) < 0)
		goto err0;
	ret = mbedtls_x509_crt_parse(&t->own, scratch, len);
	if (ret != 0) {
		say_mbedtls(err, err_len, "identity.cert", id->cert, ret);
		goto err1;
	}
	if (!mbedtls_pk_can_do(&t->own.pk, MBEDTLS_PK_ECKEY)) {
		say(err, err_len, "identity.cert", id->cert, "not an ECDSA P-256 certificate");
		ret = TETHER_ERR_CONFIG;
		goto err1;
	}

	ret = port_file_private(port, id->key);
	if (ret == TETHER_ERR_PERM) {
		say(err, err_len, "identity.key", id->key,
		    "accessible by group or others; make it private (chmod 600)");
		goto err0;
	}
	if ((ret = read_into(port, "identity.key", id->key, scratch, scratch_len, &len, err,
			     err_len)) < 0)
		goto err0;
	ret = mbedtls_pk_parse_key(&t->key, scratch, len, NULL, 0, mbedtls_psa_get_random,
				   MBEDTLS_PSA_RANDOM_STATE);
	mbedtls_platform_zeroize(scratch, scratch_len);
	if (ret != 0) {
		say_mbedtls(err, err_len, "identity.key", id->key, ret);
		goto err1;
	}
	ret = mbedtls_pk_check_pair(&t->own.pk, &t->key, mbedtls_psa_get_random,
				    MBEDTLS_PSA_RANDOM_STATE);
	if (ret != 0) {
		say(err, err_len, "identity.key", id->key, "does not match identity.cert");
		goto err1;
	}

	if (id->crl[0] != '\0') {
		if ((ret = read_into(port, "identity.crl", id->crl, scratch, scratch_len, &len, err,
				     err_len)) < 0)
			goto err0;
		ret = mbedtls_x509_crl_parse(&t->crl, scratch, len);
		if (ret != 0) {
			say_mbedtls(err, err_len, "identity.crl", id->crl, ret);
			goto err1;
		}
		t->has_crl = 1;
	}

	if (cfg->tls.n_suites == 0) {
		memcpy(t->suites, default_suites, sizeof(default_suites));
	} else {
		for (i = 0; i < cfg->tls.n_suites; i++)
			t->suites[i] = cfg->tls.suites[i];
		t->suites[i] = 0;
	}
	t->groups[0] = MBEDTLS_SSL_IANA_TLS_GROUP_X25519;
	t->groups[1] = MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1;
	t->groups[2] = MBEDTLS_SSL_IANA_TLS_GROUP_NONE;

	ret = setup_conf(t, &t->conf_dial, MBEDTLS_SSL_IS_CLIENT, cfg);
	if (ret == 0)
		ret = setup_conf(t, &t->conf_accept, MBEDTLS_SSL_IS_SERVER, cfg);
	if (ret != 0) {
		say_mbedtls(err, err_len, "tls", "configuration", ret);
		goto err1;
	}
	return 0;

err1:
	ret = ret < 0 && ret >= TETHER_ERR_UNREACH ? ret : TETHER_ERR_CONFIG;
err0:
	mbedtls_platform_zeroize(scratch, scratch_len);
	tls_ctx_free(t);
	return ret;
}

void tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL || !t->loaded)
		return;
	mbedtls_ssl_config_free(&t->conf_dial);
	mbedtls_ssl_config_free(&t->conf_accept);
	mbedtls_x509_crt_free(&t->ca);
	mbedtls_x509_crt_free(&t->own);
	mbedtls_x509_crl_free(&t->crl);
	mbedtls_pk_free(&t->key);
	t->loaded = 0;
}

int tls_session_setup(struct tls_ctx *t, mbedtls_ssl_context *ssl, int dial, struct tls_verify *v,
		      void *bio_ctx, mbedtls_ssl_send_t *send, mbedtls_ssl_recv_t *recv)
{
	int ret = mbedtls_ssl_setup(ssl, dial ? &t->conf_dial : &t->conf_accept);

	if (ret != 0)
		return ret;
	v->peer = -1;
	v->why = NULL;
	v->flags = 0;
	v->id[0] = '\0';
	mbedtls_ssl_set_verify(ssl, verify_cb, v);
	if (dial) {
		/* The peer is authenticated by identity_match() in verify_cb, not by host name. */
		ret = mbedtls_ssl_set_hostname(ssl, NULL);
		if (ret != 0)
			return ret;
	}
	mbedtls_ssl_set_bio(ssl, bio_ctx, send, recv, NULL);
	return 0;
}

static const char *fail_as(enum tether_reason *out, enum tether_reason code, const char *why)
{
	*out = code;
	return why;
}

const char *tls_fail_reason(int ret, const mbedtls_ssl_context *ssl, const struct tls_verify *v,
			    enum tether_reason *code)
{
	uint32_t f = v->flags;

	(void)ssl;
	if (ret == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE || (f & MBEDTLS_X509_BADCERT_MISSING))
		return fail_as(code, REASON_NO_CLIENT_CERT, "no client certificate");
	if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		return fail_as(code, REASON_UNKNOWN_CA, "unknown ca");
	if (f & MBEDTLS_X509_BADCERT_REVOKED)
		return fail_as(code, REASON_REVOKED, "certificate revoked");
	if (f & MBEDTLS_X509_BADCERT_EXPIRED)
		return fail_as(code, REASON_EXPIRED, "certificate expired");
	if (f & MBEDTLS_X509_BADCERT_FUTURE)
		return fail_as(code, REASON_NOT_YET_VALID, "certificate not yet valid");
	if (v->why != NULL)
		return fail_as(code, REASON_IDENTITY_NOT_ALLOWED, v->why);
	if (f & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
		 MBEDTLS_X509_BADCERT_BAD_KEY))
		return fail_as(code, REASON_WEAK_CERT, "weak certificate");
	if (f & (MBEDTLS_X509_BADCRL_NOT_TRUSTED | MBEDTLS_X509_BADCRL_EXPIRED |
		 MBEDTLS_X509_BADCRL_FUTURE))
		return fail_as(code, REASON_CRL_NOT_USABLE, "crl not usable");
	if (f != 0)
		return fail_as(code, REASON_CERT_REJECTED, "certificate rejected");
	switch (ret) {
	case MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION:
		return fail_as(code, REASON_TLS_VERSION, "protocol version");
	case MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE:
		return fail_as(code, REASON_NO_SHARED_SUITE, "no shared cipher suite or group");
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		return fail_as(code, REASON_TLS_ALERT, "refused by peer (tls alert)");
	case MBEDTLS_ERR_SSL_CONN_EOF:
		return fail_as(code, REASON_HANDSHAKE_EOF, "connection closed during handshake");
	case MBEDTLS_ERR_SSL_INVALID_RECORD:
	case MBEDTLS_ERR_SSL_DECODE_ERROR:
	case MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE:
	case MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER:
		return fail_as(code, REASON_MALFORMED_TLS, "malformed tls handshake");
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		return fail_as(code, REASON_TLS_MEMORY, "out of tls memory");
	}
	return fail_as(code, REASON_TLS_ERROR, "tls error");
}

const char *tls_version_name(const mbedtls_ssl_context *ssl)
{
	switch (mbedtls_ssl_get_version_number(ssl)) {
	case MBEDTLS_SSL_VERSION_TLS1_3:
		return "1.3";
	case MBEDTLS_SSL_VERSION_TLS1_2:
		return "1.2";
	default:
		return "?";
	}
}

/* Each block of mbedTLS's buffer allocator carries one header of 8 words. */
#define HEAP_BLOCK_HEADER (8 * sizeof(void *))

size_t tls_heap_in_use(void)
{
#if defined(MBEDTLS_MEMORY_DEBUG)
	size_t used, blocks, allocs, frees;

	mbedtls_memory_buffer_alloc_cur_get(&used, &blocks);
	mbedtls_memory_buffer_alloc_count_get(&allocs, &frees);
	return used + (allocs - frees) * HEAP_BLOCK_HEADER;
#else
	return 0;
#endif
}

size_t tls_heap_peak(void)
{
#if defined(MBEDTLS_MEMORY_DEBUG)
	size_t max_used, max_blocks;

	mbedtls_memory_buffer_alloc_max_get(&max_used, &max_blocks);
	/* Headers of free blocks are counted too: an upper bound, as budgets want. */
	return max_used + max_blocks * HEAP_BLOCK_HEADER;
#else
	return 0;
#endif
}

void tls_heap_peak_reset(void)
{
#if defined(MBEDTLS_MEMORY_DEBUG)
	mbedtls_memory_buffer_alloc_max_reset();
#endif
}
