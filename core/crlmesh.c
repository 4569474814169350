/*
 * crlmesh.c: revocation through the mesh (docs/PROTOCOL.md section 12,
 * docs/DESIGN.md "CRLs through the mesh").
 *
 * Every session whose peer announced FRAME_CAP_CRL hears, right after HELLO
 * and after every reload, which CRLs this node holds (CRL_HAVE: issuer id and
 * CRL number each). A node that hears of a higher number for an issuer it
 * keeps a CRL file of asks that peer for it (CRL_GET), one transfer at a time
 * node-wide, into a buffer of TETHER_CRL_MAX bytes. The CRL that arrives is
 * trusted for what it is, not for who relayed it: it must parse, be issued by
 * one of this node's CA certificates (name, key usage and signature), and
 * carry a higher CRL number than the one held. It is then written over the
 * CRL file it replaces (atomically, through the port) and applied as a reload
 * applies it; the reload announces it on, so it spreads hop by hop.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/pem.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crl.h>

#include "core/crlmesh.h"
#include "core/crlnum.h"
#include "core/node_impl.h"

#define FETCH_TIMEOUT_MS 10000u

void crl_issuer_id(const uint8_t *issuer_der, size_t len, uint8_t out[FRAME_CRL_ISSUER_ID])
{
	uint8_t h[32];

	if (mbedtls_sha256(issuer_der, len, h, 0) != 0)
		memset(h, 0, sizeof(h));
	memcpy(out, h, FRAME_CRL_ISSUER_ID);
}

static void issuer_id(const mbedtls_x509_buf *issuer_raw, uint8_t out[FRAME_CRL_ISSUER_ID])
{
	crl_issuer_id(issuer_raw->p, issuer_raw->len, out);
}

/* Our CRL of issuer id, its index in the chain; NULL if we hold none. */
static const mbedtls_x509_crl *our_crl(const struct tls_material *m,
				       const uint8_t id[FRAME_CRL_ISSUER_ID], unsigned *index)
{
	const mbedtls_x509_crl *c;
	uint8_t x[FRAME_CRL_ISSUER_ID];
	unsigned i = 0;

	for (c = m->has_crl ? &m->crl : NULL; c != NULL && c->raw.p != NULL; c = c->next, i++) {
		issuer_id(&c->issuer_raw, x);
		if (memcmp(x, id, sizeof(x)) == 0) {
			*index = i;
			return c;
		}
	}
	return NULL;
}

/* A CRL's number; one without (or unreadable) counts as 0. */
static void number_of(const mbedtls_x509_crl *c, uint8_t num[CRL_NUMBER_MAX], size_t *len)
{
	if (crl_number(c, num, len) != 0)
		*len = 0;
}

static void log_crl(struct tether_node *n, int level, const char *result, const struct session *s,
		    const char *reason, const uint8_t *num, size_t num_len)
{
	struct log_line l;
	char hex[2 * CRL_NUMBER_MAX + 3];
	size_t i;

	log_begin(&l, &n->log, level, "crl_received");
	log_str(&l, "peer", session_peer_name(s));
	log_str(&l, "result", result);
	if (num != NULL) {
		hex[0] = '0';
		hex[1] = 'x';
		hex[2] = num_len == 0 ? '0' : '\0';
		hex[3] = '\0';
		for (i = 0; i < num_len; i++)
			snprintf(hex + 2 + 2 * i, 3, "%02x", num[i]);
		log_str(&l, "number", hex);
	}
	if (reason != NULL)
		log_str(&l, "reason", reason);
	log_end(&l);
}

void crl_announce(struct tether_node *n, struct session *s)
{
	const struct tls_material *m = tls_cur(&n->tls);
	struct frame_crl_have h[FRAME_CRL_HAVE_MAX];
	const mbedtls_x509_crl *c;
	unsigned k = 0;

	if (!mux_crl_ok(&s->mux))
		return;
	for (c = m->has_crl ? &m->crl : NULL;
	     c != NULL && c->raw.p != NULL && k < FRAME_CRL_HAVE_MAX; c = c->next, k++) {
		size_t len;

		issuer_id(&c->issuer_raw, h[k].issuer);
		number_of(c, h[k].number, &len);
		h[k].number_len = (uint8_t)len;
	}
	mux_crl_have(&s->mux, h, k);
	session_want_pump(s);
}

void crl_announce_all(struct tether_node *n)
{
	struct session *s;

	for (s = n->all; s != NULL; s = s->next_all)
		if (s->state == SS_MUX)
			crl_announce(n, s);
}

/* Anybody holding a newer CRL we keep a file of? Ask the first one. */
void crl_consider(struct tether_node *n)
{
	const struct tls_material *m = tls_cur(&n->tls);
	struct session *s;
	unsigned i, index;

	if (n->crl_from != NULL || n->crl_buf == NULL || n->stopping)
		return;
	for (s = n->all; s != NULL; s = s->next_all) {
		if (s->crl_skip || !mux_crl_ok(&s->mux))
			continue;
		for (i = 0; i < s->mux.n_peer_crls; i++) {
			const struct frame_crl_have *e = &s->mux.peer_crls[i];
			const mbedtls_x509_crl *c = our_crl(m, e->issuer, &index);
			uint8_t num[CRL_NUMBER_MAX];
			size_t len;

			if (c == NULL)
				continue; /* not a CRL we keep: not ours to store */
			number_of(c, num, &len);
			if (crl_number_cmp(e->number, e->number_len, num, len) <= 0)
				continue;
			memcpy(n->crl_issuer, e->issuer, sizeof(n->crl_issuer));
			n->crl_from = s;
			n->crl_deadline = n->now + FETCH_TIMEOUT_MS;
			mux_crl_get(&s->mux, e->issuer, n->crl_buf, TETHER_CRL_MAX);
			session_want_pump(s);
			return;
		}
	}
}

void crl_on_get(struct tether_node *n, struct session *s)
{
	unsigned index;
	const mbedtls_x509_crl *c = our_crl(tls_cur(&n->tls), s->mux.crl_asked, &index);

	/* One we do not hold: nothing is sent, the asker gives up in time. */
	if (c != NULL && c->raw.len <= UINT32_MAX) {
		mux_crl_send(&s->mux, c->raw.p, (uint32_t)c->raw.len);
		session_want_pump(s);
	}
}

/* The transfer from s is over, whatever its outcome: look for the next one. */
static void fetch_done(struct tether_node *n, struct session *s, bool skip)
{
	if (n->crl_from == s) {
		mux_crl_get_cancel(&s->mux);
		n->crl_from = NULL;
	}
	if (skip)
		s->crl_skip = true;
}

void crl_on_bad(struct tether_node *n, struct session *s, const char *why)
{
	log_crl(n, PORT_LOG_WARN, "refused", s, why, NULL, 0);
	n->st.crls_refused++;
	fetch_done(n, s, true);
	crl_consider(n);
}

void crl_session_gone(struct tether_node *n, struct session *s)
{
	if (n->crl_from == s)
		n->crl_from = NULL;
}

void crl_cancel_sends(struct tether_node *n)
{
	struct session *s;

	for (s = n->all; s != NULL; s = s->next_all)
		mux_crl_send_cancel(&s->mux);
}

void crl_timers(struct tether_node *n, uint64_t *next)
{
	struct session *s = n->crl_from;

	if (s == NULL)
		return;
	if (n->now >= n->crl_deadline) {
		crl_on_bad(n, s, "no answer in time");
		return;
	}
	if (n->crl_deadline < *next)
		*next = n->crl_deadline;
}

/*
 * The issuer's CA among ours, allowed to sign CRLs, whose signature is on c.
 * mbedTLS checks a CRL's signature only inside a chain verification, so the
 * parsed signature fields are read here (MBEDTLS_PRIVATE: stable within 3.6).
 */
static const char *check_signed(const struct tls_material *m, mbedtls_x509_crl *c)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(c->MBEDTLS_PRIVATE(sig_md));
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	const mbedtls_x509_crt *ca;

	for (ca = &m->ca; ca != NULL && ca->raw.p != NULL; ca = ca->next) {
		if (ca->subject_raw.len != c->issuer_raw.len ||
		    memcmp(ca->subject_raw.p, c->issuer_raw.p, c->issuer_raw.len) != 0)
			continue;
		if (mbedtls_x509_crt_check_key_usage(ca, MBEDTLS_X509_KU_CRL_SIGN) != 0)
			continue;
		if (md == NULL || mbedtls_md(md, c->tbs.p, c->tbs.len, hash) != 0)
			return "unsupported signature";
		if (mbedtls_pk_verify_ext(c->MBEDTLS_PRIVATE(sig_pk), c->MBEDTLS_PRIVATE(sig_opts),
					  (mbedtls_pk_context *)&ca->pk, c->MBEDTLS_PRIVATE(sig_md),
					  hash, mbedtls_md_get_size(md), c->MBEDTLS_PRIVATE(sig).p,
					  c->MBEDTLS_PRIVATE(sig).len) == 0)
			return NULL;
	}
	return "not signed by one of our CAs";
}

const char *crl_judge(const struct tls_material *m, const uint8_t *der, size_t len,
		      const uint8_t asked[FRAME_CRL_ISSUER_ID], unsigned *index,
		      uint8_t num[CRL_NUMBER_MAX], size_t *num_len)
{
	const mbedtls_x509_crl *ours = our_crl(m, asked, index);
	uint8_t got_id[FRAME_CRL_ISSUER_ID], our_num[CRL_NUMBER_MAX];
	const char *why = NULL;
	mbedtls_x509_crl c;
	size_t our_len;

	*num_len = 0;
	mbedtls_x509_crl_init(&c);
	if (mbedtls_x509_crl_parse_der(&c, der, len) != 0 || c.next != NULL) {
		why = "not one DER CRL";
	} else {
		issuer_id(&c.issuer_raw, got_id);
		if (memcmp(got_id, asked, sizeof(got_id)) != 0)
			why = "not the issuer asked for";
		if (why == NULL)
			why = check_signed(m, &c);
		if (why == NULL && crl_number(&c, num, num_len) != 0)
			why = "no CRL number";
		if (why == NULL && ours == NULL)
			why = "we keep no CRL of this issuer";
	}
	if (why == NULL) {
		number_of(ours, our_num, &our_len);
		if (crl_number_cmp(num, *num_len, our_num, our_len) <= 0)
			why = "not newer than ours";
	}
	mbedtls_x509_crl_free(&c);
	return why;
}

void crl_on_complete(struct tether_node *n, struct session *s, size_t len)
{
	const struct tls_material *m = tls_cur(&n->tls);
	const struct tether_identity_cfg *id = &n->cfg->identity;
	uint8_t num[CRL_NUMBER_MAX];
	size_t num_len = 0, pem_len = 0;
	unsigned index = 0, file;
	const char *why;
	int ret;

	n->crl_from = NULL;
	why = crl_judge(m, n->crl_buf, len, n->crl_issuer, &index, num, &num_len);
	file = index < TLS_CRLS_MAX ? m->crl_file[index] : 0xffu;
	if (why == NULL && (file >= id->n_crl || m->crls_in_file[file] != 1))
		why = "our CRL file of this issuer holds other CRLs too";
	if (why == NULL) {
		ret = mbedtls_pem_write_buffer("-----BEGIN X509 CRL-----\n",
					       "-----END X509 CRL-----\n", n->crl_buf, len,
					       n->scratch, TETHER_FILE_MAX, &pem_len);
		/* pem_len counts the NUL mbedTLS adds. */
		if (ret != 0 || pem_len < 1 ||
		    port_write_file(n->port, id->crl[file], n->scratch, pem_len - 1, 0644) != 0)
			why = "cannot write our CRL file";
	}
	if (why != NULL) {
		log_crl(n, PORT_LOG_WARN, "refused", s, why, num_len > 0 ? num : NULL, num_len);
		n->st.crls_refused++;
		s->crl_skip = true;
		crl_consider(n);
		return;
	}
	log_crl(n, PORT_LOG_INFO, "stored", s, NULL, num, num_len);
	n->st.crls_received++;
	/* Applied after this event, as a reload of the same config. */
	n->crl_apply = true;
}
