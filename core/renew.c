/*
 * renew.c: renewal through the mesh, as a node lives it (renew.h;
 * docs/DESIGN.md "Renewal through the mesh", docs/PROTOCOL.md section 13).
 *
 * The renewing node ("renew"): when its certificate has a third of its life
 * left (or renew.before_days), less a jitter drawn once per certificate, it
 * makes a fresh P-256 key, sends a CSR of its current identity to the issuer
 * peer over their session (RENEW_REQ) and waits for RENEW_ANS. An issued
 * certificate is judged (renew_judge()), written beside the current files as
 * *.next (the key mode 0600, flushed), the current pair is kept as *.prev, the
 * new files are renamed over the current ones, and a reload applies them
 * (sessions roll make-before-break). Any failure keeps the current
 * certificate, is logged and counted with its reason, and is retried after a
 * back-off with jitter. One renewal is in flight at a time; its buffers are
 * carved at start-up and its key lives in the mbedTLS heap.
 *
 * The issuer ("issuer"): a RENEW_REQ is taken only from a peer in
 * issuer.allow, within its rate limit, one at a time node-wide (another is
 * answered "busy"); issue_sign() judges and signs it against the certificate
 * that authenticated the session it came on.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/x509_csr.h>
#include <psa/crypto.h>

#include "core/node_impl.h"
#include "core/prom.h"
#include "core/rand.h"
#include "core/textbuf.h"

#define ANSWER_MS 8000u	      /* the issuer answers within this (`tether renew` waits 10 s) */
#define RETRY_MIN_S 30u	      /* back-off after a failure: 30 s, doubling ... */
#define RETRY_MAX_S 3600u     /* ... up to an hour */
#define JITTER_MAX_S 3600u    /* renewals of a fleet spread over up to an hour ... */
#define WALL_RECHECK_MS 60000 /* the wall clock may jump: look again at least this often */
#define SKEW_S 300	      /* a certificate valid from this far ahead is taken (clock skew) */
#define START_GRACE_MS 10000u /* after start, a renewal due waits this long for the session */

static const char *const refusal_names[RF_COUNT] = {
	"not_issuer", "not_allowed", "rate_limited", "busy", "identity_mismatch", "invalid"};

/* ---- layout and material */

size_t renew_buffer_size(const struct tether_config *cfg)
{
	size_t sz = 0;

	if (cfg->issuer.on)
		sz += FRAME_RENEW_DER_MAX + 1 + FRAME_RENEW_DER_MAX;
	if (cfg->renew.on)
		sz += FRAME_RENEW_DER_MAX + 1 + FRAME_RENEW_DER_MAX;
	return sz;
}

void renew_init(struct tether_node *n, uint8_t *buf)
{
	const struct tether_config *cfg = n->cfg;

	mbedtls_pk_init(&n->rn.key);
	if (buf == NULL)
		return;
	if (cfg->issuer.on) {
		n->rn.iss_in = buf;
		n->rn.iss_out = buf + FRAME_RENEW_DER_MAX;
		buf += FRAME_RENEW_DER_MAX + 1 + FRAME_RENEW_DER_MAX;
	}
	if (cfg->renew.on) {
		n->rn.csr = buf;
		n->rn.ans = buf + FRAME_RENEW_DER_MAX;
	}
}

static const mbedtls_x509_crt *own_cert(const struct tether_node *n)
{
	return &tls_cur(&n->tls)->own;
}

/* When the current certificate is due, with its jitter (drawn once per certificate). */
static void schedule(struct tether_node *n)
{
	const mbedtls_x509_crt *c = own_cert(n);
	int64_t from = tls_time_unix(&c->valid_from), to = tls_time_unix(&c->valid_to);
	int64_t due = renew_due(from, to, n->cfg->renew.before_days), lead = to - due;
	uint32_t span =
		lead > 0 ? (uint32_t)(lead / 10 < JITTER_MAX_S ? lead / 10 : JITTER_MAX_S) : 0;

	n->rn.jitter_s = span > 0 ? tether_random_below(span + 1) : 0;
	n->rn.due = due - n->rn.jitter_s;
	n->rn.rule_due = n->rn.due;
	n->rn.attempt = 0;
}

static void log_schedule(struct tether_node *n)
{
	struct log_line l;

	log_begin(&l, &n->log, PORT_LOG_INFO, "renew_scheduled");
	log_str(&l, "peer", n->cfg->peers[n->cfg->renew.peer].name);
	log_i64(&l, "in_s", n->rn.due - port_wall_s(n->port));
	log_i64(&l, "at", n->rn.due);
	log_end(&l);
}

int renew_start(struct tether_node *n, char *err, size_t err_len)
{
	const struct tether_config *cfg = n->cfg;

	if (cfg->issuer.on &&
	    issuer_load(&n->rn.iss[0], &cfg->issuer, &tls_cur(&n->tls)->ca, port_wall_s(n->port),
			n->port, n->scratch, TETHER_FILE_MAX, err, err_len) != 0)
		return TETHER_ERR_CONFIG;
	n->rn.iss_cur = 0;
	if (cfg->renew.on) {
		schedule(n);
		log_schedule(n);
	}
	return 0;
}

void renew_free(struct tether_node *n)
{
	issuer_free(&n->rn.iss[0]);
	issuer_free(&n->rn.iss[1]);
	mbedtls_pk_free(&n->rn.key);
	n->rn.has_key = false;
}

unsigned renew_reload_check(struct tether_node *n, const struct tether_config *next,
			    const mbedtls_x509_crt *ca,
			    void (*say)(void *ctx, const char *path, const char *what), void *ctx)
{
	struct issuer_material *spare = &n->rn.iss[n->rn.iss_cur ^ 1u];
	char err[320];

	issuer_free(spare);
	if (!next->issuer.on)
		return 0;
	if (n->rn.iss_in == NULL) {
		say(ctx, "issuer", "added: needs a restart (its buffers are laid out at start)");
		return 1;
	}
	/* Checked against the CA the reload brings. */
	if (issuer_load(spare, &next->issuer, ca, port_wall_s(n->port), n->port, n->scratch,
			TETHER_FILE_MAX, err, sizeof(err)) != 0) {
		say(ctx, "issuer", err);
		return 1;
	}
	return 0;
}

void renew_reload_abort(struct tether_node *n)
{
	issuer_free(&n->rn.iss[n->rn.iss_cur ^ 1u]);
}

void renew_reload_commit(struct tether_node *n, bool own_changed)
{
	/* The answer leaving, if any, is in iss_out: the material can go. */
	issuer_free(&n->rn.iss[n->rn.iss_cur]);
	n->rn.iss_cur ^= 1u;
	if (n->rn.csr != NULL && !n->cfg->renew.on) {
		/* "renew" taken out: nothing more is started (a renewal under way ends). */
		n->rn.phase = RN_IDLE;
		if (n->rn.via != NULL)
			mux_renew_cancel(&n->rn.via->mux);
		n->rn.via = NULL;
	}
	if (own_changed && n->cfg->renew.on && n->rn.csr != NULL) {
		schedule(n);
		log_schedule(n);
	}
}

/* ---- the renewing node */

static void finish(struct tether_node *n, bool ok)
{
	n->rn.phase = RN_IDLE;
	n->rn.via = NULL;
	if (n->rn.has_key) {
		mbedtls_pk_free(&n->rn.key); /* wipes the key */
		mbedtls_pk_init(&n->rn.key);
		n->rn.has_key = false;
	}
	if (n->rn.asked) {
		n->rn.asked = false;
		node_renew_answer(n, ok);
	}
}

static void fail(struct tether_node *n, const char *why, const char *detail)
{
	uint32_t backoff = RETRY_MIN_S;
	int64_t wall = port_wall_s(n->port), normal;
	struct log_line l;
	unsigned i;

	snprintf(n->rn.last_error, sizeof(n->rn.last_error), "%s%s%s", why,
		 detail != NULL ? ": " : "", detail != NULL ? detail : "");
	n->rn.last_fail = wall;
	n->rn.failed++;
	for (i = 0; i < n->rn.attempt && backoff < RETRY_MAX_S; i++)
		backoff *= 2;
	if (backoff > RETRY_MAX_S)
		backoff = RETRY_MAX_S;
	/* Jitter: three quarters to the whole back-off, so that a fleet does not retry in step. */
	backoff = backoff - backoff / 4 + tether_random_below(backoff / 4 + 1);
	n->rn.attempt++;
	/*
	 * Retried after the back-off while the certificate is due or an operator asked;
	 * otherwise (refused before it is due, say) at the due time.
	 */
	normal = n->rn.rule_due;
	n->rn.due =
		n->rn.want || normal <= wall + (int64_t)backoff ? wall + (int64_t)backoff : normal;
	log_begin(&l, &n->log, PORT_LOG_WARN, "renew_failed");
	log_str(&l, "peer", n->cfg->peers[n->cfg->renew.peer].name);
	log_str(&l, "reason", n->rn.last_error);
	log_u64(&l, "attempt", n->rn.attempt);
	log_i64(&l, "retry_in_s", n->rn.due - wall);
	log_end(&l);
	snprintf(n->rn.answer, sizeof(n->rn.answer), "renewal failed: %s\nnext attempt in %lld s",
		 n->rn.last_error, (long long)(n->rn.due - wall));
	finish(n, false);
}

/* The session to the issuer that a request may go on: open, not about to be replaced. */
static struct session *issuer_session(struct tether_node *n)
{
	struct session *s = n->peers[n->cfg->renew.peer].session;

	if (s == NULL || !session_is_open(s) || s->roll_why != REASON_NONE || s->roll_asked)
		return NULL;
	return s;
}

/* Send the CSR (again) on s. */
static bool send_csr(struct tether_node *n, struct session *s)
{
	if (!mux_renew_request(&s->mux, n->rn.csr, n->rn.csr_len))
		return false;
	n->rn.via = s;
	session_want_pump(s);
	return true;
}

static void begin(struct tether_node *n)
{
	const char *peer = n->cfg->peers[n->cfg->renew.peer].name;
	struct session *s = issuer_session(n), *any = n->peers[n->cfg->renew.peer].session;
	struct log_line l;
	size_t len = 0;

	if (s == NULL) {
		/*
		 * Just started: the first dial gets its chance before this counts as a
		 * failure. A session being rolled (a reload) hands over to its successor.
		 */
		if ((n->now - n->t_started < START_GRACE_MS && !n->rn.asked) ||
		    (any != NULL && session_was_up(any) && any->state == SS_MUX &&
		     (any->roll_why != REASON_NONE || any->roll_asked) && n->rn.roll_wait++ < 10))
			return;
		n->rn.roll_wait = 0;
		fail(n, "issuer unreachable: no session with the issuer", peer);
		return;
	}
	n->rn.roll_wait = 0;
	if (!mux_renew_ok(&s->mux)) {
		fail(n, "refused: the issuer announced no RENEW in its HELLO", peer);
		return;
	}
	mbedtls_pk_init(&n->rn.key);
	n->rn.has_key = true;
	if (tls_p256_keygen(&n->rn.key) != 0) {
		fail(n, "cannot make a new P-256 key", NULL);
		return;
	}
	if (renew_csr(own_cert(n), &n->rn.key, n->rn.csr, FRAME_RENEW_DER_MAX, &len) != 0) {
		fail(n, "cannot make the CSR", NULL);
		return;
	}
	n->rn.csr_len = (uint16_t)len;
	if (!send_csr(n, s)) {
		fail(n, "the CSR does not fit the issuer's frames", NULL);
		return;
	}
	n->rn.phase = RN_WAITING;
	n->rn.deadline = n->now + ANSWER_MS;
	log_begin(&l, &n->log, PORT_LOG_INFO, "renew_requested");
	log_str(&l, "peer", peer);
	log_u64(&l, "csr_bytes", len);
	log_end(&l);
}

bool renew_ask(struct tether_node *n)
{
	if (n->rn.csr == NULL || !n->cfg->renew.on)
		return false;
	n->rn.asked = true;
	n->rn.want = true;
	return true;
}

void renew_timers(struct tether_node *n, uint64_t *next)
{
	int64_t wall;

	if (n->rn.csr == NULL || !n->cfg->renew.on || n->stopping)
		return;
	if (n->rn.phase == RN_WAITING) {
		struct session *s;

		if (n->now >= n->rn.deadline) {
			if (n->rn.via != NULL)
				mux_renew_cancel(&n->rn.via->mux);
			fail(n, "issuer unreachable: no answer in time", NULL);
			return;
		}
		/* Its session ended (rolled by a reload, say): the same CSR on the next one. */
		if (n->rn.via == NULL && (s = issuer_session(n)) != NULL && !send_csr(n, s)) {
			fail(n, "the CSR does not fit the issuer's frames", NULL);
			return;
		}
		if (n->rn.via == NULL && n->now + 200u < *next)
			*next = n->now + 200u;
		if (n->rn.deadline < *next)
			*next = n->rn.deadline;
		return;
	}
	if (n->rn.phase != RN_IDLE)
		return;
	wall = port_wall_s(n->port);
	if (n->rn.asked || wall >= n->rn.due) {
		begin(n);
		/* Still idle: waiting for the first session after start, or a rolled one's successor. */
		if (n->rn.phase == RN_IDLE && n->now + 500u < *next)
			*next = n->now + 500u;
		return;
	}
	{
		uint64_t in = (uint64_t)(n->rn.due - wall) * 1000u;

		if (in > WALL_RECHECK_MS)
			in = WALL_RECHECK_MS;
		if (n->now + in < *next)
			*next = n->now + in;
	}
}

/* PEM of der into out at *at (cap bytes). */
static int pem_cert(const unsigned char *der, size_t len, unsigned char *out, size_t cap,
		    size_t *at)
{
	size_t olen = 0;

	if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n",
				     der, len, out + *at, cap - *at, &olen) != 0)
		return -1;
	*at += olen - 1; /* olen counts the NUL */
	return 0;
}

/* A copy of the file at from, at to (mode). */
static int copy_file(struct tether_node *n, const char *from, const char *to, unsigned mode)
{
	size_t len = 0;
	int ret = port_read_file(n->port, from, n->scratch, TETHER_FILE_MAX, &len);

	if (ret == 0)
		ret = port_write_file(n->port, to, n->scratch, len, mode);
	mbedtls_platform_zeroize(n->scratch, TETHER_FILE_MAX);
	return ret;
}

static int path_plus(char *out, size_t cap, const char *path, const char *suffix)
{
	return (size_t)snprintf(out, cap, "%s%s", path, suffix) < cap ? 0 : -1;
}

/*
 * Write the new pair as *.next, keep the current one as *.prev, then move the
 * new one in: the key first. NULL, or why not.
 */
static const char *write_files(struct tether_node *n, const uint8_t *der, size_t len)
{
	const struct tether_identity_cfg *id = &n->cfg->identity;
	char next_k[TETHER_PATH_MAX + 8], next_c[TETHER_PATH_MAX + 8];
	char prev_k[TETHER_PATH_MAX + 8], prev_c[TETHER_PATH_MAX + 8];
	const mbedtls_x509_crt *c;
	size_t at = 0;
	int ret;

	if (path_plus(next_k, sizeof(next_k), id->key, ".next") ||
	    path_plus(next_c, sizeof(next_c), id->cert, ".next") ||
	    path_plus(prev_k, sizeof(prev_k), id->key, ".prev") ||
	    path_plus(prev_c, sizeof(prev_c), id->cert, ".prev"))
		return "file names too long";
	/* The key: private before anything points at it. */
	ret = mbedtls_pk_write_key_pem(&n->rn.key, n->scratch, TETHER_FILE_MAX);
	if (ret == 0)
		ret = port_write_file(n->port, next_k, n->scratch, strlen((char *)n->scratch),
				      0600);
	mbedtls_platform_zeroize(n->scratch, TETHER_FILE_MAX);
	if (ret != 0)
		return "cannot write the new key (identity.key + \".next\")";
	if (port_file_private(n->port, next_k) != 0)
		return "the new key file is not private";
	/* The certificate, then the intermediates the current file carries. */
	ret = pem_cert(der, len, n->scratch, TETHER_FILE_MAX, &at);
	for (c = own_cert(n)->next; ret == 0 && c != NULL && c->raw.p != NULL; c = c->next)
		ret = pem_cert(c->raw.p, c->raw.len, n->scratch, TETHER_FILE_MAX, &at);
	if (ret != 0 || port_write_file(n->port, next_c, n->scratch, at, 0644) != 0)
		return "cannot write the new certificate (identity.cert + \".next\")";
	if (copy_file(n, id->key, prev_k, 0600) != 0 || copy_file(n, id->cert, prev_c, 0644) != 0)
		return "cannot keep the current pair as *.prev";
	if (port_rename(n->port, next_k, id->key) != 0)
		return "cannot move the new key over identity.key";
	if (port_rename(n->port, next_c, id->cert) != 0) {
		/* The old key back beside the old certificate. */
		(void)copy_file(n, prev_k, id->key, 0600);
		return "cannot move the new certificate over identity.cert";
	}
	return NULL;
}

/* The reload refused the new pair: the previous one goes back. */
static void restore_files(struct tether_node *n)
{
	const struct tether_identity_cfg *id = &n->cfg->identity;
	char prev_k[TETHER_PATH_MAX + 8], prev_c[TETHER_PATH_MAX + 8];

	if (path_plus(prev_k, sizeof(prev_k), id->key, ".prev") ||
	    path_plus(prev_c, sizeof(prev_c), id->cert, ".prev"))
		return;
	(void)copy_file(n, prev_k, id->key, 0600);
	(void)copy_file(n, prev_c, id->cert, 0644);
}

static void on_answer(struct tether_node *n, struct session *s, size_t len)
{
	const struct tls_material *m = tls_cur(&n->tls);
	const char *peer = session_peer_name(s);
	char reason[FRAME_REASON_MAX + 1];
	const char *why;
	size_t i;

	if (n->rn.phase != RN_WAITING || n->rn.via != s)
		return; /* not asked for, or given up on */
	if (len >= 2 && n->rn.ans[0] == FRAME_RENEW_REFUSED) {
		for (i = 0; i + 1 < len && i < FRAME_REASON_MAX; i++) {
			uint8_t ch = n->rn.ans[1 + i];

			reason[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
		}
		reason[i] = '\0';
		fail(n, "refused by the issuer", reason);
		return;
	}
	if (len < 2 || n->rn.ans[0] != FRAME_RENEW_ISSUED) {
		fail(n, "malformed answer from the issuer", peer);
		return;
	}
	why = renew_judge(&m->own, &m->ca, m->has_crl ? &m->crl : NULL, &n->rn.key, n->rn.ans + 1,
			  len - 1, port_wall_s(n->port), &n->rn.next_not_after);
	if (why != NULL) {
		fail(n, "the issued certificate is refused", why);
		return;
	}
	why = write_files(n, n->rn.ans + 1, len - 1);
	if (why != NULL) {
		fail(n, why, NULL);
		return;
	}
	/* Applied once this event is over, as a reload of the same config. */
	n->rn.phase = RN_APPLY;
	n->rn.via = NULL;
}

void renew_apply(struct tether_node *n)
{
	struct log_line l;
	char serial[48];
	int64_t wall;
	int ret;

	if (n->rn.phase != RN_APPLY)
		return;
	n->reload_quiet = true;
	ret = tether_node_reload(n, n->cfg, NULL);
	n->reload_quiet = false;
	if (ret != 0) {
		restore_files(n);
		fail(n, "the reload refused the renewed files (the previous pair is back)",
		     n->reload_text);
		return;
	}
	wall = port_wall_s(n->port);
	n->rn.last_ok = wall;
	n->rn.ok++;
	n->rn.want = false;
	n->rn.last_error[0] = '\0';
	/* The reload scheduled the next renewal from the new certificate. */
	if (mbedtls_x509_serial_gets(serial, sizeof(serial), &own_cert(n)->serial) < 0)
		snprintf(serial, sizeof(serial), "?");
	log_begin(&l, &n->log, PORT_LOG_INFO, "renewed");
	log_str(&l, "peer", n->cfg->peers[n->cfg->renew.peer].name);
	log_str(&l, "serial", serial);
	log_i64(&l, "not_after", n->rn.next_not_after);
	log_i64(&l, "next_in_s", n->rn.due - wall);
	log_end(&l);
	snprintf(n->rn.answer, sizeof(n->rn.answer),
		 "renewed through %s: serial %s, valid for %lld s more; next renewal in %lld s",
		 n->cfg->peers[n->cfg->renew.peer].name, serial,
		 (long long)(n->rn.next_not_after - wall), (long long)(n->rn.due - wall));
	finish(n, true);
}

/* ---- the issuer */

static void refuse(struct tether_node *n, struct session *s, enum renew_refusal kind,
		   const char *why)
{
	struct log_line l;

	n->rn.refused[kind]++;
	mux_renew_refuse(&s->mux, why);
	session_want_pump(s);
	log_begin(&l, &n->log, PORT_LOG_WARN, "renew_refused");
	log_str(&l, "peer", session_peer_name(s));
	log_str(&l, "kind", refusal_names[kind]);
	log_str(&l, "reason", why);
	log_end(&l);
}

/* May the request that begins on s come in? */
static void admit(struct tether_node *n, struct session *s, size_t len)
{
	const struct tether_issuer_cfg *is = &n->cfg->issuer;
	uint64_t interval = (uint64_t)TETHER_RENEW_RATE_S * 1000u, tat;
	struct peer_state *ps;
	unsigned i;

	if (n->rn.iss_in == NULL || !is->on || !n->rn.iss[n->rn.iss_cur].loaded) {
		refuse(n, s, RF_NOT_ISSUER, "this node issues no certificates");
		return;
	}
	for (i = 0; i < is->n_allow && (int)is->allow[i] != s->peer; i++)
		;
	if (s->peer < 0 || i == is->n_allow) {
		refuse(n, s, RF_NOT_ALLOWED, "not allowed: this peer is not in issuer.allow");
		return;
	}
	if (len > FRAME_RENEW_DER_MAX) {
		refuse(n, s, RF_INVALID, "CSR too large");
		return;
	}
	if (n->rn.iss_in_from != NULL ||
	    (n->rn.iss_out_to != NULL && mux_renew_answer_pending(&n->rn.iss_out_to->mux))) {
		refuse(n, s, RF_BUSY, "busy with another renewal: try again later");
		return;
	}
	/* A burst of TETHER_RENEW_BURST, then one per TETHER_RENEW_RATE_S (GCRA). */
	ps = &n->peers[s->peer];
	tat = ps->renew_tat > n->now ? ps->renew_tat : n->now;
	if (tat - n->now > (uint64_t)(TETHER_RENEW_BURST - 1) * interval) {
		refuse(n, s, RF_RATE_LIMITED, "rate limited: too many renewals from this peer");
		return;
	}
	ps->renew_tat = tat + interval;
	n->rn.iss_in_from = s;
	mux_renew_sink(&s->mux, n->rn.iss_in, FRAME_RENEW_DER_MAX);
}

static void on_request(struct tether_node *n, struct session *s, size_t len)
{
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->ssl);
	struct issue_info info;
	struct log_line l;
	size_t out_len = 0;
	const char *why;

	if (n->rn.iss_in_from != s)
		return;
	n->rn.iss_in_from = NULL;
	why = issue_sign(&n->rn.iss[n->rn.iss_cur], peer, n->rn.iss_in, len, port_wall_s(n->port),
			 n->cfg->issuer.days, n->rn.iss_out + 1, FRAME_RENEW_DER_MAX, &out_len,
			 &info);
	if (why == NULL) {
		n->rn.iss_out[0] = FRAME_RENEW_ISSUED;
		if (!mux_renew_answer(&s->mux, n->rn.iss_out, 1 + out_len))
			why = "the certificate does not fit the peer's frames";
	}
	if (why != NULL) {
		refuse(n, s, strncmp(why, "identity mismatch", 17) == 0 ? RF_IDENTITY : RF_INVALID,
		       why);
		return;
	}
	n->rn.iss_out_to = s;
	n->rn.issued++;
	session_want_pump(s);
	log_begin(&l, &n->log, PORT_LOG_INFO, "cert_issued");
	log_str(&l, "peer", session_peer_name(s));
	log_str(&l, "serial", info.serial);
	log_str(&l, "subject", info.subject);
	log_str(&l, "sans", info.sans);
	log_i64(&l, "not_after", info.not_after);
	log_end(&l);
}

/* ---- frames */

void renew_on_head(struct tether_node *n, struct session *s, unsigned type, size_t len)
{
	if (type == FRAME_RENEW_ANS) {
		if (n->rn.csr != NULL && n->rn.phase == RN_WAITING && n->rn.via == s &&
		    len <= 1 + FRAME_RENEW_DER_MAX)
			mux_renew_sink(&s->mux, n->rn.ans, 1 + FRAME_RENEW_DER_MAX);
		return; /* else dropped: not asked for */
	}
	admit(n, s, len);
}

void renew_on_frame(struct tether_node *n, struct session *s, unsigned type, size_t len)
{
	if (type == FRAME_RENEW_ANS)
		on_answer(n, s, len);
	else
		on_request(n, s, len);
}

void renew_session_gone(struct tether_node *n, struct session *s)
{
	if (n->rn.iss_in_from == s)
		n->rn.iss_in_from = NULL;
	if (n->rn.iss_out_to == s)
		n->rn.iss_out_to = NULL;
	/* The request goes again on the next session, within the same deadline (renew_timers). */
	if (n->rn.phase == RN_WAITING && n->rn.via == s)
		n->rn.via = NULL;
}

void renew_session_up(struct tether_node *n, struct session *s)
{
	int64_t wall;

	if (n->rn.csr == NULL || !n->cfg->renew.on || s->peer != (int)n->cfg->renew.peer ||
	    n->rn.attempt == 0 || n->rn.phase != RN_IDLE)
		return;
	/* The issuer is back after failures: catch up now rather than at the back-off's end. */
	wall = port_wall_s(n->port);
	if ((n->rn.want || wall >= n->rn.rule_due) && n->rn.due > wall)
		n->rn.due = wall;
}

/* ---- the parts without a session (renew.h) */

int64_t renew_due(int64_t from, int64_t to, uint32_t before_days)
{
	if (before_days > 0)
		return to - (int64_t)before_days * 86400;
	return to - (to - from) / 3;
}

int renew_csr(const mbedtls_x509_crt *cur, mbedtls_pk_context *key, uint8_t *out, size_t cap,
	      size_t *out_len)
{
	mbedtls_asn1_named_data nodes[RENEW_NAME_ATTRS_MAX], *subj = NULL;
	const unsigned char *v;
	mbedtls_x509write_csr w;
	size_t vlen;
	int crit, ret;

	*out_len = 0;
	if (renew_name_list(&cur->subject, nodes, &subj) != 0)
		return -1;
	mbedtls_x509write_csr_init(&w);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&w, key);
	w.MBEDTLS_PRIVATE(subject) = subj;
	ret = 0;
	if (renew_ext_find(cur, MBEDTLS_OID_SUBJECT_ALT_NAME,
			   MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), &v, &vlen, &crit) == 0)
		ret = mbedtls_x509write_csr_set_extension(
			&w, MBEDTLS_OID_SUBJECT_ALT_NAME,
			MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), crit, v, vlen);
	if (ret == 0)
		ret = mbedtls_x509write_csr_der(&w, out, cap, mbedtls_psa_get_random,
						MBEDTLS_PSA_RANDOM_STATE);
	w.MBEDTLS_PRIVATE(subject) = NULL; /* ours, on the stack */
	mbedtls_x509write_csr_free(&w);
	if (ret <= 0)
		return -1;
	memmove(out, out + cap - (size_t)ret, (size_t)ret);
	*out_len = (size_t)ret;
	return 0;
}

/* Extension oid: the same bytes (or absent) in a and b. */
static bool same_ext(const mbedtls_x509_crt *a, const mbedtls_x509_crt *b, const char *oid,
		     size_t oid_len)
{
	const unsigned char *va, *vb;
	size_t la, lb;
	int ca, cb;
	int ra = renew_ext_find(a, oid, oid_len, &va, &la, &ca);
	int rb = renew_ext_find(b, oid, oid_len, &vb, &lb, &cb);

	if (ra != 0 || rb != 0)
		return ra == rb;
	return la == lb && memcmp(va, vb, la) == 0;
}

const char *renew_judge(const mbedtls_x509_crt *cur, const mbedtls_x509_crt *ca,
			const mbedtls_x509_crl *crl, mbedtls_pk_context *key, const uint8_t *der,
			size_t len, int64_t now, int64_t *not_after)
{
	const mbedtls_x509_crt *c;
	mbedtls_x509_crt chain;
	const char *why = NULL;
	uint32_t flags = 0;
	int64_t from;

	*not_after = 0;
	mbedtls_x509_crt_init(&chain);
	if (len == 0 || mbedtls_x509_crt_parse_der(&chain, der, len) != 0) {
		why = "not a certificate (DER)";
		goto out;
	}
	/* The intermediates our current file carries complete the chain. */
	for (c = cur->next; c != NULL && c->raw.p != NULL; c = c->next)
		if (mbedtls_x509_crt_parse_der(&chain, c->raw.p, c->raw.len) != 0) {
			why = "cannot rebuild our chain";
			goto out;
		}
	from = tls_time_unix(&chain.valid_from);
	*not_after = tls_time_unix(&chain.valid_to);
	if (!renew_same_name(&chain.subject_raw, &cur->subject_raw))
		why = "identity mismatch: another subject than ours";
	else if (!renew_same_sans(&chain.subject_alt_names, &cur->subject_alt_names))
		why = "identity mismatch: other SANs than ours";
	else if (!renew_same_key(&chain.pk, key))
		why = "it does not carry our new key";
	else if (chain.MBEDTLS_PRIVATE(ca_istrue))
		why = "it is a CA certificate";
	else if (!same_ext(&chain, cur, MBEDTLS_OID_KEY_USAGE,
			   MBEDTLS_OID_SIZE(MBEDTLS_OID_KEY_USAGE)) ||
		 !same_ext(&chain, cur, MBEDTLS_OID_EXTENDED_KEY_USAGE,
			   MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE)))
		why = "its key usage differs from ours";
	else if (from > now + SKEW_S)
		why = "it is not valid yet";
	else if (*not_after <= now)
		why = "it has expired";
	else if (*not_after < tls_time_unix(&cur->valid_to))
		why = "it would end before our current certificate";
	else if (mbedtls_x509_crt_verify(&chain, (mbedtls_x509_crt *)ca, (mbedtls_x509_crl *)crl,
					 NULL, &flags, NULL, NULL) != 0)
		why = flags & MBEDTLS_X509_BADCERT_REVOKED ? "it is revoked"
							   : "it does not chain to our CA";
out:
	mbedtls_x509_crt_free(&chain);
	return why;
}

/* ---- status and metrics */

void renew_metrics(const struct tether_node *n, struct prom *p, int64_t now)
{
	unsigned i;

	if (n->rn.csr != NULL && n->cfg->renew.on) {
		prom_family(p, "tether_renewals_total", "counter",
			    "Renewals of this node's certificate through the mesh, by result.");
		prom_u64(p, "tether_renewals_total", "result", "ok", NULL, NULL, n->rn.ok);
		prom_u64(p, "tether_renewals_total", "result", "failed", NULL, NULL, n->rn.failed);
		prom_family(p, "tether_renew_next_seconds", "gauge",
			    "Seconds until the next renewal attempt (negative: overdue).");
		prom_i64(p, "tether_renew_next_seconds", NULL, NULL, NULL, NULL, n->rn.due - now);
		prom_family(p, "tether_renew_last_timestamp_seconds", "gauge",
			    "Unix time of the last renewal, by result (absent: none yet).");
		if (n->rn.last_ok != 0)
			prom_i64(p, "tether_renew_last_timestamp_seconds", "result", "ok", NULL,
				 NULL, n->rn.last_ok);
		if (n->rn.last_fail != 0)
			prom_i64(p, "tether_renew_last_timestamp_seconds", "result", "failed", NULL,
				 NULL, n->rn.last_fail);
	}
	if (n->rn.iss_in != NULL) {
		prom_family(p, "tether_certs_issued_total", "counter",
			    "Certificates this node signed as issuer for its peers' renewals.");
		prom_u64(p, "tether_certs_issued_total", NULL, NULL, NULL, NULL, n->rn.issued);
		prom_family(p, "tether_renew_refused_total", "counter",
			    "Renewal requests this node refused as issuer, by reason.");
		for (i = 0; i < RF_COUNT; i++)
			prom_u64(p, "tether_renew_refused_total", "reason", refusal_names[i], NULL,
				 NULL, n->rn.refused[i]);
	}
}

static const char *phase_name(const struct tether_node *n)
{
	return n->rn.phase == RN_WAITING ? "waiting for the issuer"
	       : n->rn.phase == RN_APPLY ? "applying"
					 : "idle";
}

void renew_status_json(const struct tether_node *n, struct textbuf *t, int64_t now)
{
	uint64_t refused = 0;
	unsigned i;

	if (n->rn.csr != NULL && n->cfg->renew.on) {
		tb_puts(t, ",\"renew\":{\"peer\":");
		tb_json_str(t, n->cfg->peers[n->cfg->renew.peer].name);
		tb_puts(t, ",\"state\":");
		tb_json_str(t, phase_name(n));
		tb_puts(t, ",\"next\":");
		tb_i64(t, n->rn.due);
		tb_puts(t, ",\"next_in_s\":");
		tb_i64(t, n->rn.due - now);
		tb_puts(t, ",\"last_ok\":");
		tb_i64(t, n->rn.last_ok);
		tb_puts(t, ",\"last_failure\":");
		tb_i64(t, n->rn.last_fail);
		tb_puts(t, ",\"last_error\":");
		tb_json_str(t, n->rn.last_error);
		tb_puts(t, ",\"ok\":");
		tb_u64(t, n->rn.ok);
		tb_puts(t, ",\"failed\":");
		tb_u64(t, n->rn.failed);
		tb_puts(t, "}");
	}
	if (n->rn.iss_in != NULL) {
		tb_puts(t, ",\"issuer\":{\"issued\":");
		tb_u64(t, n->rn.issued);
		tb_puts(t, ",\"refused\":{");
		for (i = 0; i < RF_COUNT; i++) {
			tb_puts(t, i > 0 ? ",\"" : "\"");
			tb_puts(t, refusal_names[i]);
			tb_puts(t, "\":");
			tb_u64(t, n->rn.refused[i]);
			refused += n->rn.refused[i];
		}
		tb_puts(t, "},\"refused_total\":");
		tb_u64(t, refused);
		tb_puts(t, "}");
	}
}

void renew_status_table(const struct tether_node *n, struct textbuf *t, int64_t now)
{
	unsigned i;

	if (n->rn.csr != NULL && n->cfg->renew.on) {
		tb_printf(t, "renew       through %s, %s, next in %llds",
			  n->cfg->peers[n->cfg->renew.peer].name, phase_name(n),
			  (long long)(n->rn.due - now));
		tb_printf(t, "; ok %llu", (unsigned long long)n->rn.ok);
		if (n->rn.last_ok != 0)
			tb_printf(t, " (last %llds ago)", (long long)(now - n->rn.last_ok));
		tb_printf(t, ", failed %llu", (unsigned long long)n->rn.failed);
		if (n->rn.last_fail != 0)
			tb_printf(t, " (last %llds ago: %s)", (long long)(now - n->rn.last_fail),
				  n->rn.last_error[0] != '\0' ? n->rn.last_error : "recovered");
		tb_puts(t, "\n");
	}
	if (n->rn.iss_in != NULL) {
		tb_printf(t, "issuer      issued %llu, refused", (unsigned long long)n->rn.issued);
		for (i = 0; i < RF_COUNT; i++)
			tb_printf(t, " %s %llu", refusal_names[i],
				  (unsigned long long)n->rn.refused[i]);
		tb_puts(t, "\n");
	}
}
