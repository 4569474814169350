/*
 * reload.c: switch a running node to a new config and identity without a
 * restart (tether_node_reload(), node.h; docs/DESIGN.md "Reload").
 *
 * Validate, then swap. Everything that can fail is checked first, with
 * nothing changed: what needs a restart, the new certificate, key, CA and
 * CRLs (loaded into the TLS context's spare slot), and the checks `tether
 * check` makes of them. Then, in one step: handshakes under way end (they
 * point into the old identity), the TLS configurations switch to the new
 * identity, every live session is judged again by the new CA, CRLs and peer
 * list, every stream a peer opened by the new services' allow lists, the
 * peer table is remapped by name, and the node reads the new config. A new
 * own certificate rolls the live sessions make-before-break.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/ssl.h>

#include "core/identity.h"
#include "core/node_impl.h"

__attribute__((format(printf, 2, 3))) static void say(struct tether_node *n, const char *fmt, ...)
{
	size_t len = strlen(n->reload_text);
	va_list ap;

	if (len + 1 >= sizeof(n->reload_text))
		return;
	if (len > 0)
		n->reload_text[len++] = '\n';
	va_start(ap, fmt);
	vsnprintf(n->reload_text + len, sizeof(n->reload_text) - len, fmt, ap);
	va_end(ap);
}

static int peer_index(const struct tether_config *cfg, const char *name)
{
	unsigned i;

	for (i = 0; i < cfg->n_peers; i++)
		if (strcmp(cfg->peers[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool forwards_equal(const struct tether_config *a, const struct tether_config *b)
{
	unsigned i;

	if (a->n_forwards != b->n_forwards)
		return false;
	for (i = 0; i < a->n_forwards; i++) {
		const struct tether_forward_cfg *x = &a->forwards[i], *y = &b->forwards[i];

		if (strcmp(x->listen, y->listen) != 0 || strcmp(x->service, y->service) != 0 ||
		    strcmp(a->peers[x->peer].name, b->peers[y->peer].name) != 0)
			return false;
	}
	return true;
}

/* What only a restart can change: the listeners, the pools, the user. */
static unsigned restart_needed(struct tether_node *n, const struct tether_config *next)
{
	const struct tether_config *cur = n->cfg;
	unsigned problems = 0;

#define RESTART(cond, what)                                           \
	do {                                                          \
		if (cond) {                                           \
			say(n, "%s: changed; needs a restart", what); \
			problems++;                                   \
		}                                                     \
	} while (0)
	RESTART(strcmp(cur->node, next->node) != 0, "node");
	RESTART(strcmp(cur->listen, next->listen) != 0, "listen");
	RESTART(memcmp(&cur->limits, &next->limits, sizeof(cur->limits)) != 0, "limits");
	RESTART(strcmp(cur->user, next->user) != 0, "user");
	RESTART(strcmp(cur->status, next->status) != 0, "status");
	RESTART(strcmp(cur->metrics, next->metrics) != 0, "metrics");
	RESTART(!forwards_equal(cur, next), "forwards");
	/* Edge routes hold listeners and their own TLS material: a restart changes them. */
	RESTART(cur->n_edges != next->n_edges ||
			memcmp(cur->edges, next->edges, sizeof(cur->edges[0]) * cur->n_edges) != 0,
		"edges");
	/* Their buffers are laid out at start. */
	RESTART(cur->renew.on != next->renew.on, "renew (added or removed)");
#undef RESTART
	return problems;
}

static void material_problem(void *ctx, const char *path, const char *what)
{
	say(ctx, "%s: %s", path, what);
}

static bool same_der(const mbedtls_x509_crt *a, const mbedtls_x509_crt *b)
{
	for (; a != NULL && b != NULL; a = a->next, b = b->next)
		if (a->raw.len != b->raw.len || memcmp(a->raw.p, b->raw.p, a->raw.len) != 0)
			return false;
	return a == NULL && b == NULL;
}

static bool same_crl(const struct tls_material *a, const struct tls_material *b)
{
	const mbedtls_x509_crl *x = a->has_crl ? &a->crl : NULL;
	const mbedtls_x509_crl *y = b->has_crl ? &b->crl : NULL;

	for (; x != NULL && y != NULL; x = x->next, y = y->next)
		if (x->raw.len != y->raw.len || memcmp(x->raw.p, y->raw.p, x->raw.len) != 0)
			return false;
	return x == NULL && y == NULL;
}

/*
 * Judge an established session again by the new identity m and config next
 * (peer index np in it, -1 if the peer was removed). REASON_NONE if it may
 * stay; else why not, with the words in *why.
 */
static enum tether_reason judge(const struct session *s, const struct tls_material *m,
				const struct tether_config *next, int np, const char **why)
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&s->ssl);
	const struct tether_peer_cfg *pc;
	enum tether_reason why_code;

	*why = NULL;
	if (np < 0) {
		*why = "no longer allowed: peer removed from the config";
		return REASON_NO_LONGER_ALLOWED;
	}
	if (crt == NULL) {
		*why = "no longer allowed: no peer certificate to judge";
		return REASON_NO_LONGER_ALLOWED;
	}
	why_code = tls_rejudge(crt, &m->ca, m->has_crl ? &m->crl : NULL);
	if (why_code != REASON_NONE)
		return why_code;
	pc = &next->peers[np];
	if (identity_match(crt, pc->id, pc->has_pin ? pc->pin : NULL, why) != 0) {
		*why = "no longer allowed: identity or pin does not match the config";
		return REASON_NO_LONGER_ALLOWED;
	}
	return REASON_NONE;
}

static int service_index(const struct tether_config *cfg, const char *name)
{
	unsigned i;

	for (i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Streams the peer opened: still an exported service, still allowed to np? */
static unsigned judge_streams(struct session *s, const struct tether_config *next, int np)
{
	struct mux_stream *ms, *mnext;
	unsigned ended = 0;

	for (ms = s->mux.streams; ms != NULL; ms = mnext) {
		struct stream *st = stream_of(ms);
		int svc;
		unsigned i;

		mnext = ms->next;
		if (st->outbound || st->dead)
			continue;
		svc = service_index(next, ms->service);
		if (svc < 0) {
			stream_end(st, true, FRAME_RESET_NO_SERVICE, REASON_NO_SERVICE,
				   "no such service after reload");
			ended++;
			continue;
		}
		for (i = 0; i < next->services[svc].n_allow; i++)
			if (next->services[svc].allow[i] == np)
				break;
		if (i == next->services[svc].n_allow) {
			stream_end(st, true, FRAME_RESET_FORBIDDEN, REASON_FORBIDDEN,
				   "forbidden after reload");
			ended++;
		}
	}
	return ended;
}

/* What changed, in words, for the log and `tether reload`. */
static void describe(struct tether_node *n, const struct tether_config *next,
		     const struct tls_material *old, const struct tls_material *m, bool own_changed)
{
	const struct tether_config *cur = n->cfg;
	char list[256];
	size_t len = 0;
	unsigned i;

	list[0] = '\0';
	if (own_changed)
		say(n, "changed: identity.cert (new handshakes use it; sessions roll)");
	if (!same_der(&old->ca, &m->ca))
		say(n, "changed: identity.ca");
	if (!same_crl(old, m))
		say(n, "changed: identity.crl");
	for (i = 0; i < next->n_peers; i++)
		if (peer_index(cur, next->peers[i].name) < 0)
			len += (size_t)snprintf(list + len,
						len < sizeof(list) ? sizeof(list) - len : 0, " +%s",
						next->peers[i].name);
	for (i = 0; i < cur->n_peers; i++)
		if (peer_index(next, cur->peers[i].name) < 0)
			len += (size_t)snprintf(list + len,
						len < sizeof(list) ? sizeof(list) - len : 0, " -%s",
						cur->peers[i].name);
	if (len > 0)
		say(n, "changed: peers%s", list);
	for (i = 0; i < next->n_peers; i++) {
		int o = peer_index(cur, next->peers[i].name);

		if (o >= 0 && memcmp(&cur->peers[o], &next->peers[i], sizeof(next->peers[i])) != 0)
			say(n, "changed: peers.%s", next->peers[i].name);
	}
	if (cur->n_services != next->n_services ||
	    memcmp(cur->services, next->services, sizeof(cur->services[0]) * cur->n_services) != 0)
		say(n, "changed: services");
	if (memcmp(&cur->tls, &next->tls, sizeof(cur->tls)) != 0)
		say(n, "changed: tls");
	if (cur->keepalive_interval_ms != next->keepalive_interval_ms ||
	    cur->keepalive_timeout_ms != next->keepalive_timeout_ms)
		say(n, "changed: keepalive");
	if (cur->reconnect_min_ms != next->reconnect_min_ms ||
	    cur->reconnect_max_ms != next->reconnect_max_ms)
		say(n, "changed: reconnect");
	if (cur->log_level != next->log_level || cur->log_format != next->log_format)
		say(n, "changed: log");
	if (cur->identity.warn_days != next->identity.warn_days)
		say(n, "changed: identity.warn_days");
	if (cur->reload_watch_s != next->reload_watch_s)
		say(n, "changed: reload.watch_s");
	if (memcmp(&cur->issuer, &next->issuer, sizeof(cur->issuer)) != 0)
		say(n, "changed: issuer");
	if (memcmp(&cur->renew, &next->renew, sizeof(cur->renew)) != 0)
		say(n, "changed: renew");
	if (n->reload_text[0] == '\0')
		say(n, "nothing changed");
}

/* Every session's peer index, live or waiting for release, into next's numbering. */
static void remap_peers(struct tether_node *n, const struct tether_config *next)
{
	const struct tether_config *cur = n->cfg;
	struct peer_state *np = n->peers_spare;
	struct session *s;
	unsigned i;

	for (i = 0; i < next->n_peers; i++) {
		int o = peer_index(cur, next->peers[i].name);

		if (o >= 0) {
			np[i] = n->peers[o];
		} else {
			memset(&np[i], 0, sizeof(np[i]));
			np[i].next_dial = n->now;
			np[i].t_change = n->now;
		}
	}
	for (s = n->all; s != NULL; s = s->next_all)
		if (s->peer >= 0)
			s->peer = peer_index(next, cur->peers[s->peer].name);
	for (s = n->dead_sessions; s != NULL; s = s->next_dead)
		if (s->peer >= 0)
			s->peer = peer_index(next, cur->peers[s->peer].name);
	n->peers_spare = n->peers;
	n->peers = np;
	/* The mux keeps the names it compares HELLO with: the new config's, same words. */
	for (s = n->all; s != NULL; s = s->next_all) {
		s->mux.p.name = next->node;
		if (s->peer >= 0)
			s->mux.p.peer_name = next->peers[s->peer].name;
	}
}

static void log_reload(struct tether_node *n, bool ok, unsigned problems)
{
	struct log_line l;
	char *line, *end;

	log_begin(&l, &n->log, ok ? PORT_LOG_INFO : PORT_LOG_ERROR, "reload");
	log_str(&l, "result", ok ? "ok" : "failed");
	if (!ok)
		log_u64(&l, "problems", problems);
	log_end(&l);
	/* One line per change or problem, in the words `tether reload` prints. */
	for (line = n->reload_text; *line != '\0'; line = *end != '\0' ? end + 1 : end) {
		char one[sizeof(n->reload_text)];

		end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		snprintf(one, sizeof(one), "%.*s", (int)(end - line), line);
		log_begin(&l, &n->log, ok ? PORT_LOG_INFO : PORT_LOG_ERROR,
			  ok ? "reload_change" : "reload_problem");
		log_str(&l, "what", one);
		log_end(&l);
	}
}

static int finish(struct tether_node *n, bool ok, unsigned problems)
{
	log_reload(n, ok, problems);
	node_reload_answer(n, ok);
	return ok ? 0 : TETHER_ERR_CONFIG;
}

int tether_node_reload(struct tether_node *n, const struct tether_config *next,
		       const char *problems_text)
{
	const struct tls_material *old;
	struct tls_material *m;
	struct session *s, *snext;
	unsigned problems = 0, edges_ended;
	bool own_changed;
	char err[320];
	int ret;

	n->now = port_now_ms(n->port);
	n->reload_text[0] = '\0';
	if (next == NULL) {
		say(n, "%s", problems_text != NULL ? problems_text : "the config cannot be read");
		return finish(n, false, 1);
	}
	if (n->stopping) {
		say(n, "shutting down");
		return finish(n, false, 1);
	}
	problems += restart_needed(n, next);
	m = tls_ctx_spare(&n->tls);
	ret = tls_material_load(m, &next->identity, n->port, n->scratch, TETHER_FILE_MAX, err,
				sizeof(err));
	if (ret < 0) {
		say(n, "%s", err);
		problems++;
	} else {
		problems += tls_material_check(m, port_wall_s(n->port), material_problem, n);
		problems += renew_reload_check(n, next, &m->ca, material_problem, n);
	}
	if (problems > 0) {
		tls_material_free(m);
		renew_reload_abort(n);
		say(n, "nothing changed: the agent keeps running on the old config and identity");
		return finish(n, false, problems);
	}

	/* The swap. Handshakes under way point into the identity about to go. */
	for (s = n->all; s != NULL; s = snext) {
		snext = s->next_all;
		if (s->state == SS_HANDSHAKE && !s->tls_up)
			session_end(s, REASON_RELOAD, NULL);
	}
	edge_end_handshakes(n, REASON_RELOAD);
	old = tls_cur(&n->tls);
	own_changed = !same_der(&old->own, &m->own);
	describe(n, next, old, m, own_changed);
	/* CRLs on their way out point into the identity about to go: sent again after. */
	crl_cancel_sends(n);
	ret = tls_ctx_commit(&n->tls, next, err, sizeof(err));
	if (ret == 0 && edge_routes_repoint(n) != 0) {
		/*
		 * Out of TLS memory re-pointing a route: the routes that use the
		 * node's identity present the new one where it worked. Say so.
		 */
		say(n, "edges: a route could not take the new identity (out of tls memory)");
	}
	if (ret < 0) {
		/* Out of TLS memory switching: the old identity and config stay, untouched. */
		n->reload_text[0] = '\0';
		say(n, "%s", err);
		crl_resend(n);
		renew_reload_abort(n);
		return finish(n, false, 1);
	}
	/* From here nothing can fail. Judged under the old names, so the log says which peer went. */
	for (s = n->all; s != NULL; s = snext) {
		int np = s->peer >= 0 ? peer_index(next, n->cfg->peers[s->peer].name) : -1;
		enum tether_reason why;
		const char *words;

		snext = s->next_all;
		if (s->state == SS_CLOSED)
			continue;
		if (!s->tls_up) {
			/* A dial to a peer no longer configured (connecting, not yet TLS). */
			if (s->peer >= 0 && np < 0)
				session_end(s, REASON_NO_LONGER_ALLOWED,
					    "peer removed from the config");
			continue;
		}
		why = judge(s, m, next, np, &words);
		if (why != REASON_NONE) {
			say(n, "session with %s closed: %s", session_peer_name(s),
			    words != NULL ? words : reason_name(why));
			session_goaway_because(s, FRAME_GOAWAY_POLICY, why, words);
			session_pump(s);
			continue;
		}
		if (judge_streams(s, next, np) > 0)
			session_want_pump(s);
	}
	edges_ended = edge_rejudge(n);
	if (edges_ended > 0)
		say(n,
		    "edges: %u connection%s closed: the other side's certificate no longer passes",
		    edges_ended, edges_ended == 1 ? "" : "s");
	remap_peers(n, next);
	n->cfg = next;
	n->log.level = next->log_level;
	n->log.json = next->log_format == TETHER_LOG_JSON;
	if (own_changed) {
		/* Make before break: the dialer dials a successor; we ask dialers to. */
		for (s = n->all; s != NULL; s = snext) {
			snext = s->next_all;
			if (!session_is_open(s))
				continue;
			if (s->dialed) {
				s->roll_why = REASON_ROTATED;
			} else if (mux_roll(&s->mux)) {
				/* The dialer rolls; the pair rule drains this one when its successor is up. */
				s->roll_asked = true;
				session_want_pump(s);
			} else {
				session_goaway(s, FRAME_GOAWAY_LIFETIME, REASON_ROTATED);
				session_pump(s);
			}
		}
	}
	renew_reload_commit(n, own_changed);
	expiry_sweep(n);
	/* What we hold now, to every peer; and anything newer one of them holds. */
	crl_announce_all(n);
	crl_resend(n);
	crl_consider(n);
	return finish(n, true, 0);
}

const char *tether_node_reload_text(const struct tether_node *n)
{
	return n->reload_text;
}
