#include "core/tls.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/platform.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/psa_util.h>
#include <psa/crypto.h>

#include "base/err.h"
#include "core/identity.h"
#include "core/x509_time.h"

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
	(void)x509_time_to_unix(t, &v);
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

/* Point c at m with cfg's settings; handshakes only read these. */
static int conf_point(struct tls_ctx *t, mbedtls_ssl_config *c, struct tls_material *m)
{
	int ret;

	mbedtls_ssl_conf_ca_chain(c, &m->ca, m->has_crl ? &m->crl : NULL);
	/* NULL first: the list of own certificates is replaced, not appended to. */
	ret = mbedtls_ssl_conf_own_cert(c, NULL, NULL);
	if (ret == 0)
		ret = mbedtls_ssl_conf_own_cert(c, &m->own, &m->key);
	if (ret != 0)
		return ret;
	mbedtls_ssl_conf_min_tls_version(c, t->min_version == TETHER_TLS_1_2
						    ? MBEDTLS_SSL_VERSION_TLS1_2
						    : MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_ciphersuites(c, t->suites);
	return 0;
}

static int setup_conf(struct tls_ctx *t, mbedtls_ssl_config *c, int endpoint)
{
	int ret = mbedtls_ssl_config_defaults(c, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
					      MBEDTLS_SSL_PRESET_DEFAULT);

	if (ret != 0)
		return ret;
	mbedtls_ssl_conf_authmode(c, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_rng(c, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
	mbedtls_ssl_conf_max_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_groups(c, t->groups);
	mbedtls_ssl_conf_tls13_key_exchange_modes(c,
						  MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL);
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
	/* Node sessions are long-lived; resumption buys nothing and keeps state. */
	if (endpoint == MBEDTLS_SSL_IS_CLIENT)
		mbedtls_ssl_conf_session_tickets(c, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
	return conf_point(t, c, &t->m[t->cur]);
}

static void set_suites(struct tls_ctx *t, const struct tether_config *cfg)
{
	unsigned i;

	t->min_version = cfg->tls.min_version;
	if (cfg->tls.n_suites == 0) {
		memcpy(t->suites, default_suites, sizeof(default_suites));
	} else {
		for (i = 0; i < cfg->tls.n_suites; i++)
			t->suites[i] = cfg->tls.suites[i];
		t->suites[i] = 0;
	}
}

static unsigned crl_count(const mbedtls_x509_crl *c)
{
	unsigned n = 0;

	for (; c != NULL && c->raw.p != NULL; c = c->next)
		n++;
	return n;
}

static void material_init(struct tls_material *m)
{
	mbedtls_x509_crt_init(&m->ca);
	mbedtls_x509_crt_init(&m->own);
	mbedtls_x509_crl_init(&m->crl);
	mbedtls_pk_init(&m->key);
	m->has_crl = 0;
	m->loaded = 0;
	memset(m->crl_file, 0xff, sizeof(m->crl_file));
	memset(m->crls_in_file, 0, sizeof(m->crls_in_file));
}

int tls_material_load(struct tls_material *m, const struct tether_identity_cfg *id,
		      struct port *port, unsigned char *scratch, size_t scratch_len, char *err,
		      size_t err_len)
{
	size_t len = 0;
	unsigned i;
	int ret;

	material_init(m);
	m->loaded = 1;

	if ((ret = read_into(port, "identity.ca", id->ca, scratch, scratch_len, &len, err,
			     err_len)) < 0)
		goto err0;
	ret = mbedtls_x509_crt_parse(&m->ca, scratch, len);
	if (ret != 0) {
		say_mbedtls(err, err_len, "identity.ca", id->ca, ret);
		goto err1;
	}

	if ((ret = read_into(port, "identity.cert", id->cert, scratch, scratch_len, &len, err,
			     err_len)) < 0)
		goto err0;
	ret = mbedtls_x509_crt_parse(&m->own, scratch, len);
	if (ret != 0) {
		say_mbedtls(err, err_len, "identity.cert", id->cert, ret);
		goto err1;
	}
	if (!mbedtls_pk_can_do(&m->own.pk, MBEDTLS_PK_ECKEY)) {
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
	ret = mbedtls_pk_parse_key(&m->key, scratch, len, NULL, 0, mbedtls_psa_get_random,
				   MBEDTLS_PSA_RANDOM_STATE);
	/* The key's bytes and the NUL after them; the rest of scratch never held it. */
	mbedtls_platform_zeroize(scratch, len < scratch_len ? len + 1 : scratch_len);
	if (ret != 0) {
		say_mbedtls(err, err_len, "identity.key", id->key, ret);
		goto err1;
	}
	ret = mbedtls_pk_check_pair(&m->own.pk, &m->key, mbedtls_psa_get_random,
				    MBEDTLS_PSA_RANDOM_STATE);
	if (ret != 0) {
		say(err, err_len, "identity.key", id->key, "does not match identity.cert");
		goto err1;
	}

	for (i = 0; i < id->n_crl; i++) {
		unsigned before = crl_count(&m->crl), after, k;

		if ((ret = read_into(port, "identity.crl", id->crl[i], scratch, scratch_len, &len,
				     err, err_len)) < 0)
			goto err0;
		/* Each file adds its CRLs to the chain. */
		ret = mbedtls_x509_crl_parse(&m->crl, scratch, len);
		if (ret != 0) {
			say_mbedtls(err, err_len, "identity.crl", id->crl[i], ret);
			goto err1;
		}
		m->has_crl = 1;
		after = crl_count(&m->crl);
		m->crls_in_file[i] = (uint8_t)(after - before > 255 ? 255 : after - before);
		for (k = before; k < after && k < TLS_CRLS_MAX; k++)
			m->crl_file[k] = (uint8_t)i;
	}
	return 0;

err1:
	ret = ret < 0 && ret >= TETHER_ERR_UNREACH ? ret : TETHER_ERR_CONFIG;
err0:
	mbedtls_platform_zeroize(scratch, scratch_len);
	tls_material_free(m);
	return ret;
}

void tls_material_free(struct tls_material *m)
{
	if (m == NULL || !m->loaded)
		return;
	mbedtls_x509_crt_free(&m->ca);
	mbedtls_x509_crt_free(&m->own);
	mbedtls_x509_crl_free(&m->crl);
	mbedtls_pk_free(&m->key);
	material_init(m);
}

static unsigned problem(tls_problem_fn *fn, void *ctx, const char *path, const char *what)
{
	fn(ctx, path, what);
	return 1;
}

unsigned tls_material_check(const struct tls_material *m, int64_t now, tls_problem_fn *fn,
			    void *ctx)
{
	const mbedtls_x509_crt *c;
	unsigned n = 0, i = 0;
	uint32_t flags = 0;
	char buf[160], line[224];

	if (tls_time_unix(&m->own.valid_to) < now)
		n += problem(fn, ctx, "identity.cert", "certificate expired");
	else if (tls_time_unix(&m->own.valid_from) > now)
		n += problem(fn, ctx, "identity.cert", "certificate not yet valid");
	else if (mbedtls_x509_crt_verify((mbedtls_x509_crt *)&m->own, (mbedtls_x509_crt *)&m->ca,
					 m->has_crl ? (mbedtls_x509_crl *)&m->crl : NULL, NULL,
					 &flags, NULL, NULL) != 0) {
		mbedtls_x509_crt_verify_info(buf, sizeof(buf), "", flags);
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(line, sizeof(line), "does not verify against identity.ca: %s", buf);
		n += problem(fn, ctx, "identity.cert", line);
	}
	for (c = &m->ca; c != NULL && c->raw.p != NULL; c = c->next) {
		i++;
		if (tls_time_unix(&c->valid_to) < now) {
			snprintf(line, sizeof(line), "certificate %u expired", i);
			n += problem(fn, ctx, "identity.ca", line);
		}
	}
	return n;
}

int tls_ctx_load(struct tls_ctx *t, const struct tether_config *cfg, struct port *port,
		 unsigned char *scratch, size_t scratch_len, char *err, size_t err_len)
{
	int ret;

	memset(t, 0, sizeof(*t));
	mbedtls_ssl_config_init(&t->conf_dial);
	mbedtls_ssl_config_init(&t->conf_accept);
	material_init(&t->m[0]);
	material_init(&t->m[1]);
	t->loaded = 1;
	ret = tls_material_load(&t->m[0], &cfg->identity, port, scratch, scratch_len, err, err_len);
	if (ret < 0)
		goto fail;
	set_suites(t, cfg);
	t->groups[0] = MBEDTLS_SSL_IANA_TLS_GROUP_X25519;
	t->groups[1] = MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1;
	t->groups[2] = MBEDTLS_SSL_IANA_TLS_GROUP_NONE;
	t->cur = 0;
	ret = setup_conf(t, &t->conf_dial, MBEDTLS_SSL_IS_CLIENT);
	if (ret == 0)
		ret = setup_conf(t, &t->conf_accept, MBEDTLS_SSL_IS_SERVER);
	if (ret != 0) {
		say_mbedtls(err, err_len, "tls", "configuration", ret);
		ret = TETHER_ERR_CONFIG;
		goto fail;
	}
	t->generation = 1;
	return 0;
fail:
	tls_ctx_free(t);
	return ret;
}

struct tls_material *tls_ctx_spare(struct tls_ctx *t)
{
	struct tls_material *m = &t->m[t->cur ^ 1u];

	tls_material_free(m);
	return m;
}

int tls_ctx_commit(struct tls_ctx *t, const struct tether_config *cfg, char *err, size_t err_len)
{
	unsigned next = t->cur ^ 1u;
	int saved[TETHER_MAX_SUITES + 1];
	enum tether_tls_version saved_min = t->min_version;
	int ret;

	if (!t->m[next].loaded) {
		snprintf(err, err_len, "no identity loaded to switch to");
		return TETHER_ERR_INVALID;
	}
	memcpy(saved, t->suites, sizeof(saved));
	set_suites(t, cfg);
	ret = conf_point(t, &t->conf_dial, &t->m[next]);
	if (ret == 0)
		ret = conf_point(t, &t->conf_accept, &t->m[next]);
	if (ret != 0) {
		/* Back to the identity in use: the memory just freed is enough for that. */
		memcpy(t->suites, saved, sizeof(saved));
		t->min_version = saved_min;
		(void)conf_point(t, &t->conf_dial, &t->m[t->cur]);
		(void)conf_point(t, &t->conf_accept, &t->m[t->cur]);
		tls_material_free(&t->m[next]);
		say_mbedtls(err, err_len, "tls", "configuration", ret);
		return TETHER_ERR_CONFIG;
	}
	tls_material_free(&t->m[t->cur]);
	t->cur = next;
	t->generation++;
	return 0;
}

void tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL || !t->loaded)
		return;
	mbedtls_ssl_config_free(&t->conf_dial);
	mbedtls_ssl_config_free(&t->conf_accept);
	tls_material_free(&t->m[0]);
	tls_material_free(&t->m[1]);
	t->loaded = 0;
}

int tls_session_setup(struct tls_ctx *t, mbedtls_ssl_context *ssl, int dial, struct tls_verify *v,
		      void *bio_ctx, mbedtls_ssl_send_t *send, mbedtls_ssl_recv_t *recv)
{
	int ret = mbedtls_ssl_setup(ssl, dial ? &t->conf_dial : &t->conf_accept);

	if (ret != 0)
		return ret;
	tls_note_setup(ssl);
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

const char *tls_record_error(int ret)
{
	switch (ret) {
	case MBEDTLS_ERR_SSL_BAD_INPUT_DATA:
		/*
		 * On the read side mbedTLS says this only when a record's header
		 * claims more bytes than its input buffer holds (ssl_fetch_input:
		 * "requesting more data than fits"): larger than the 4 KB records
		 * tether takes, up to a header's 0xffff.
		 */
		return "record too large";
	case MBEDTLS_ERR_SSL_INVALID_MAC:
		return "tls record failed authentication";
	case MBEDTLS_ERR_SSL_INVALID_RECORD:
		return "malformed tls record";
	case MBEDTLS_ERR_SSL_DECODE_ERROR:
		return "malformed tls message";
	case MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE:
	case MBEDTLS_ERR_SSL_UNEXPECTED_RECORD:
		return "unexpected tls message";
	case MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER:
		return "illegal tls parameter";
	case MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION:
		return "protocol version";
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		return "refused by peer (tls alert)";
	case MBEDTLS_ERR_SSL_CONN_EOF:
		return "connection closed in the middle of a record";
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		return "out of tls memory";
	}
	return NULL;
}

const char *tls_fail_reason(int ret, const mbedtls_ssl_context *ssl, const struct tls_verify *v,
			    enum tether_reason *code)
{
	const char *words;

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
	case MBEDTLS_ERR_SSL_BAD_INPUT_DATA:
		/* A ClientHello record claiming up to 0xffff bytes said "tls error". */
		return fail_as(code, REASON_MALFORMED_TLS, "record too large");
	}
	words = tls_record_error(ret);
	return fail_as(code, REASON_TLS_ERROR, words != NULL ? words : "tls error");
}

enum tether_reason tls_rejudge(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *ca,
			       const mbedtls_x509_crl *crl)
{
	const uint32_t crl_unusable = MBEDTLS_X509_BADCRL_NOT_TRUSTED |
				      MBEDTLS_X509_BADCRL_EXPIRED | MBEDTLS_X509_BADCRL_FUTURE;
	uint32_t flags = 0;

	if (mbedtls_x509_crt_verify((mbedtls_x509_crt *)crt, (mbedtls_x509_crt *)ca,
				    (mbedtls_x509_crl *)crl, NULL, &flags, NULL, NULL) == 0)
		return REASON_NONE;
	if (flags & MBEDTLS_X509_BADCERT_REVOKED)
		return REASON_REVOKED;
	if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		return REASON_UNKNOWN_CA;
	if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
		return REASON_EXPIRED;
	if (flags & MBEDTLS_X509_BADCERT_FUTURE)
		return REASON_NOT_YET_VALID;
	if ((flags & ~crl_unusable) != 0)
		return REASON_CERT_REJECTED;
	return REASON_NONE;
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

#if defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
/* A fresh context's input buffer: MBEDTLS_SSL_IN_BUFFER_LEN (mbedTLS keeps that macro private). */
static size_t full_in_len;
#endif

void tls_note_setup(const mbedtls_ssl_context *ssl)
{
#if defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
	if (full_in_len == 0)
		full_in_len = ssl->MBEDTLS_PRIVATE(in_buf_len);
#else
	(void)ssl;
#endif
}

int tls_resize_input(mbedtls_ssl_context *ssl, size_t content_len)
{
#if defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
	/*
	 * mbedTLS 3.6 resizes the input buffer only from a negotiated
	 * max_fragment_length: never in TLS 1.3, and in TLS 1.2 down to the
	 * output size whatever the peer sends. With VARIABLE_BUFFER_LENGTH its
	 * record layer bounds every read by in_buf_len, so any size is safe
	 * while what the buffer holds fits (the record partly read, in_left, and
	 * every pointer into it). The pointers keep their offsets, as in
	 * mbedTLS's own resize.
	 */
	unsigned char *old = ssl->MBEDTLS_PRIVATE(in_buf), *buf;
	size_t old_len = ssl->MBEDTLS_PRIVATE(in_buf_len), new_len;
	unsigned char **ptrs[] = {
		&ssl->MBEDTLS_PRIVATE(in_ctr),
		&ssl->MBEDTLS_PRIVATE(in_hdr),
#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
		&ssl->MBEDTLS_PRIVATE(in_cid),
#endif
		&ssl->MBEDTLS_PRIVATE(in_len),
		&ssl->MBEDTLS_PRIVATE(in_iv),
		&ssl->MBEDTLS_PRIVATE(in_msg),
		&ssl->MBEDTLS_PRIVATE(in_offt),
	};
	size_t i;

	if (full_in_len < MBEDTLS_SSL_IN_CONTENT_LEN || content_len > MBEDTLS_SSL_IN_CONTENT_LEN ||
	    old == NULL)
		return TETHER_ERR_INVALID;
	new_len = full_in_len - (MBEDTLS_SSL_IN_CONTENT_LEN - content_len);
	if (new_len == old_len)
		return 0;
	if (!mbedtls_ssl_is_handshake_over(ssl) || ssl->MBEDTLS_PRIVATE(in_left) >= new_len)
		return TETHER_ERR_INVALID; /* not now: try again when the buffer is drained */
	for (i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++)
		if (*ptrs[i] != NULL && (*ptrs[i] < old || *ptrs[i] > old + new_len))
			return TETHER_ERR_INVALID;
	buf = mbedtls_calloc(1, new_len);
	if (buf == NULL)
		return TETHER_ERR_NOMEM;
	memcpy(buf, old, new_len < old_len ? new_len : old_len);
	for (i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++)
		if (*ptrs[i] != NULL)
			*ptrs[i] = buf + (*ptrs[i] - old);
	mbedtls_platform_zeroize(old, old_len);
	mbedtls_free(old);
	ssl->MBEDTLS_PRIVATE(in_buf) = buf;
	ssl->MBEDTLS_PRIVATE(in_buf_len) = new_len;
	return 0;
#else
	(void)ssl;
	return content_len <= MBEDTLS_SSL_IN_CONTENT_LEN ? 0 : TETHER_ERR_INVALID;
#endif
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

int tls_p256_keygen(mbedtls_pk_context *pk)
{
	int ret;

#if !defined(MBEDTLS_PK_USE_PSA_EC_DATA)
	ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (ret == 0)
		ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk),
					  mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
#else
	{
		psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
		mbedtls_svc_key_id_t id = MBEDTLS_SVC_KEY_ID_INIT;

		psa_set_key_type(&attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
		psa_set_key_bits(&attr, 256);
		psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_EXPORT);
		ret = psa_generate_key(&attr, &id);
		if (ret == PSA_SUCCESS) {
			ret = mbedtls_pk_copy_from_psa(id, pk);
			psa_destroy_key(id);
		}
	}
#endif
	return ret;
}
