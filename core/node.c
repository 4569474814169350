/*
 * node.c: the dispatch loop, listeners, peers (dialing, back-off, the
 * one-session-per-pair rule), timers, shutdown, and the memory layout.
 *
 * Sessions and streams never call up into this file: the dispatcher hands an
 * event down, then acts on what it left behind (a session that came up, the
 * pump list, dead sessions and streams to release).
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "node_impl.h"
#include "rand.h"

#define EVENTS_PER_WAIT 64

static size_t stream_slot_size(const struct tether_config *cfg)
{
	return node_stream_header() + cfg->limits.stream_window;
}

size_t tether_node_mem_size(const struct tether_config *cfg)
{
	size_t sz = 0;

	sz += sizeof(struct tether_node) + 16;
	sz += sizeof(struct peer_state) * (cfg->n_peers + 1) + 16;
	sz += sizeof(struct listener) * (cfg->n_forwards + 1) + 16;
	sz += sizeof(struct port_event) * EVENTS_PER_WAIT + 16;
	sz += TETHER_FILE_MAX + 16;
	sz += pool_bytes(sizeof(struct session), cfg->limits.sessions) + 16;
	sz += pool_bytes(stream_slot_size(cfg), cfg->limits.streams) + 16;
	return sz;
}

size_t tether_tls_heap_size(const struct tether_config *cfg)
{
	return TETHER_HEAP_BASE + (size_t)cfg->limits.sessions * TETHER_HEAP_PER_SESSION +
	       (size_t)cfg->limits.handshakes * TETHER_HEAP_PER_HANDSHAKE;
}

int tether_node_init(struct tether_node **out, void *mem, size_t mem_len,
		     const struct tether_config *cfg, struct port *port, char *err, size_t err_len)
{
	struct arena a = {mem, mem_len, 0};
	struct tether_node *n;

	*out = NULL;
	n = arena_take(&a, sizeof(*n));
	if (n == NULL)
		goto nomem;
	n->cfg = cfg;
	n->port = port;
	n->log.port = port;
	n->log.level = cfg->log_level;
	n->log.json = cfg->log_format == TETHER_LOG_JSON;
	n->peers = arena_take(&a, sizeof(struct peer_state) * (cfg->n_peers + 1));
	n->n_listeners = cfg->n_forwards + 1;
	n->listeners = arena_take(&a, sizeof(struct listener) * n->n_listeners);
	n->n_events = EVENTS_PER_WAIT;
	n->events = arena_take(&a, sizeof(struct port_event) * n->n_events);
	n->scratch = arena_take(&a, TETHER_FILE_MAX);
	if (n->peers == NULL || n->listeners == NULL || n->events == NULL || n->scratch == NULL)
		goto nomem;
	if (pool_init(&n->sessions, "sessions", &a, sizeof(struct session), cfg->limits.sessions) ||
	    pool_init(&n->streams, "streams", &a, stream_slot_size(cfg), cfg->limits.streams))
		goto nomem;
	n->arena = a;
	n->st.sessions_cap = cfg->limits.sessions;
	n->st.streams_cap = cfg->limits.streams;
	n->st.session_struct = sizeof(struct session);
	*out = n;
	return 0;
nomem:
	/* %lu, not %zu: small C libraries (newlib-nano) have no z modifier. */
	snprintf(err, err_len, "memory region of %lu bytes is too small (need %lu)",
		 (unsigned long)mem_len, (unsigned long)tether_node_mem_size(cfg));
	return TETHER_ERR_NOMEM;
}

static void log_listen(struct tether_node *n, const char *what, const char *addr, int h)
{
	char bound[TETHER_ADDR_MAX];
	struct log_line l;

	if (port_local_addr(n->port, h, bound, sizeof(bound)) != 0)
		snprintf(bound, sizeof(bound), "%s", addr);
	log_begin(&l, &n->log, PORT_LOG_INFO, "listen");
	log_str(&l, "what", what);
	log_str(&l, "addr", bound);
	log_end(&l);
}

int tether_node_start(struct tether_node *n, char *err, size_t err_len)
{
	const struct tether_config *cfg = n->cfg;
	unsigned i;
	int ret;

	n->now = port_now_ms(n->port);
	n->tls = &n->profiles[0];
	n->tls_generation = 1;
	ret = tls_ctx_load(n->tls, cfg, n->port, n->scratch, TETHER_FILE_MAX, err, err_len);
	if (ret < 0)
		return TETHER_ERR_CONFIG; /* unusable identity material is a config error */
	for (i = 0; i < n->n_listeners; i++) {
		n->listeners[i].kind = OBJ_LISTENER;
		n->listeners[i].what = i == 0 ? LISTEN_SESSIONS : LISTEN_FORWARD;
		n->listeners[i].h = -1;
		n->listeners[i].forward = i == 0 ? 0 : i - 1;
	}
	if (cfg->listen[0] != '\0') {
		ret = port_tcp_listen(n->port, cfg->listen, &n->listeners[0].h);
		if (ret < 0) {
			snprintf(err, err_len, "listen: cannot listen on %s: %s", cfg->listen,
				 tether_err_str(ret));
			return ret;
		}
		port_watch(n->port, n->listeners[0].h, PORT_READ, &n->listeners[0]);
		log_listen(n, "sessions", cfg->listen, n->listeners[0].h);
	}
	for (i = 0; i < cfg->n_forwards; i++) {
		struct listener *ls = &n->listeners[i + 1];

		ret = port_tcp_listen(n->port, cfg->forwards[i].listen, &ls->h);
		if (ret < 0) {
			snprintf(err, err_len, "forwards[%u].listen: cannot listen on %s: %s", i,
				 cfg->forwards[i].listen, tether_err_str(ret));
			return ret;
		}
		port_watch(n->port, ls->h, PORT_READ, ls);
		log_listen(n, "forward", cfg->forwards[i].listen, ls->h);
	}
	for (i = 0; i < cfg->n_peers; i++)
		n->peers[i].next_dial = n->now;
	n->st.mem_node = n->arena.used;
	n->started = true;
	return 0;
}

static void forward_accept(struct tether_node *n, struct listener *ls, int h, const char *from)
{
	const struct tether_forward_cfg *fw = &n->cfg->forwards[ls->forward];
	struct session *s = n->peers[fw->peer].session;

	if (s == NULL || !session_is_open(s)) {
		stream_refuse(n, NULL, n->cfg->peers[fw->peer].name, 0, fw->service, from,
			      REASON_NOT_CONNECTED, 0);
		port_tcp_close(n->port, h, 1);
		return;
	}
	(void)stream_forward(s, h, fw->service, from);
}

static void listener_event(struct tether_node *n, struct listener *ls)
{
	int i;

	/* Bounded per wake-up so one busy listener cannot starve the rest. */
	for (i = 0; i < 16 && !n->stopping; i++) {
		char from[TETHER_ADDR_MAX];
		int h, r;

		r = port_tcp_accept(n->port, ls->h, &h, from, sizeof(from));
		if (r == 0)
			return;
		if (r < 0) {
			/* Out of descriptors or slots: the connection stays queued, and the
			 * listener would wake us at once again. Rest it for a moment. */
			struct log_line l;

			log_begin(&l, &n->log, PORT_LOG_WARN, "accept_failed");
			log_str(&l, "what", ls->what == LISTEN_SESSIONS ? "sessions" : "forward");
			log_str(&l, "reason", tether_err_str(r));
			log_end(&l);
			port_watch(n->port, ls->h, 0, ls);
			ls->paused_until = n->now + 100;
			return;
		}
		if (ls->what == LISTEN_SESSIONS)
			session_accept(n, h, from);
		else
			forward_accept(n, ls, h, from);
	}
}

static bool keep_dialed_by_us(const struct tether_node *n, int peer)
{
	/* PROTOCOL.md: keep the session dialed by the node whose name sorts first. */
	return strcmp(n->cfg->node, n->cfg->peers[peer].name) < 0;
}

/* s exchanged HELLO: the peer has a session; apply the one-session-per-pair rule. */
static void session_came_up(struct tether_node *n, struct session *s)
{
	struct peer_state *ps = &n->peers[s->peer];
	struct session *old = ps->session;

	if (s->dialed) {
		ps->dialing = false;
		ps->attempt = 0;
	}
	if (old == NULL || old == s || !session_is_open(old)) {
		ps->session = s;
		return;
	}
	/*
	 * Both nodes dialed: both apply the same rule and agree on the survivor.
	 * Two sessions dialed the same way (the peer restarted and dialed again
	 * before the old one timed out): the newer one is kept.
	 */
	if (s->dialed == old->dialed || s->dialed == keep_dialed_by_us(n, s->peer)) {
		ps->session = s;
		session_goaway(old, FRAME_GOAWAY_DUPLICATE, REASON_DUPLICATE);
		session_pump(old);
	} else {
		session_goaway(s, FRAME_GOAWAY_DUPLICATE, REASON_DUPLICATE);
	}
}

/* s ended (released now): schedule the next dial to its peer. */
static void session_gone(struct tether_node *n, struct session *s)
{
	const struct tether_config *cfg = n->cfg;
	bool was_up = s->was_up;
	struct peer_state *ps;
	uint64_t cap;
	uint32_t shift;

	if (s->peer < 0)
		return;
	ps = &n->peers[s->peer];
	if (ps->session == s)
		ps->session = NULL;
	/* A dialed session that came up cleared dialing then; another may be under way now. */
	if (s->dialed && !was_up)
		ps->dialing = false;
	if (cfg->peers[s->peer].connect[0] == '\0' ||
	    (ps->session != NULL && session_is_open(ps->session)))
		return;
	/* Exponential back-off with full jitter; a session that came up resets it. */
	if (was_up)
		ps->attempt = 0;
	else if (s->dialed && ps->attempt < 31)
		ps->attempt++;
	shift = ps->attempt < 20 ? ps->attempt : 20;
	cap = (uint64_t)cfg->reconnect_min_ms << shift;
	if (cap > cfg->reconnect_max_ms)
		cap = cfg->reconnect_max_ms;
	ps->next_dial = n->now + tether_random_below((uint32_t)cap + 1);
}

static void dial_due(struct tether_node *n, uint64_t *next)
{
	const struct tether_config *cfg = n->cfg;
	unsigned i;

	if (n->stopping)
		return;
	for (i = 0; i < cfg->n_peers; i++) {
		struct peer_state *ps = &n->peers[i];

		if (cfg->peers[i].connect[0] == '\0' || ps->dialing)
			continue;
		/*
		 * PROTOCOL.md section 7: a draining session does not count, so a new
		 * one is dialed at once (LIFETIME), unless the peer ended it as a
		 * duplicate: then the session it keeps is on its way.
		 */
		if (ps->session != NULL &&
		    (session_is_open(ps->session) || ps->session->peer_duplicate))
			continue;
		if (n->now < ps->next_dial) {
			if (ps->next_dial < *next)
				*next = ps->next_dial;
			continue;
		}
		if (n->handshakes >= cfg->limits.handshakes) {
			/* Try again shortly; handshakes finish or time out. */
			if (n->now + 50 < *next)
				*next = n->now + 50;
			continue;
		}
		ps->dialing = true;
		if (session_dial(n, (int)i) == NULL && ps->dialing) {
			ps->dialing = false;
			ps->next_dial = n->now + cfg->reconnect_min_ms;
		}
	}
}

static void release_dead(struct tether_node *n)
{
	while (n->dead_streams != NULL) {
		struct stream *st = n->dead_streams;

		n->dead_streams = st->next_dead;
		pool_put(&n->streams, st);
	}
	while (n->dead_sessions != NULL) {
		struct session *s = n->dead_sessions;

		n->dead_sessions = s->next_dead;
		session_gone(n, s);
		pool_put(&n->sessions, s);
	}
}

/* Act on what an event left behind: sessions that came up, output asked for. */
static void settle(struct tether_node *n)
{
	struct session *s;

	while ((s = n->pump) != NULL) {
		n->pump = s->next_pump;
		s->in_pump = false;
		s->next_pump = NULL;
		if (s->state == SS_CLOSED)
			continue;
		if (s->came_up) {
			s->came_up = false;
			session_came_up(n, s);
		}
		session_pump(s);
	}
}

static void dispatch(struct tether_node *n, struct port_event *ev)
{
	uint8_t kind = *(uint8_t *)ev->tag;

	switch (kind) {
	case OBJ_LISTENER:
		listener_event(n, ev->tag);
		break;
	case OBJ_SESSION:
		session_event(ev->tag, ev->events);
		break;
	case OBJ_STREAM:
		stream_event(ev->tag, ev->events);
		break;
	}
	settle(n);
}

void tether_node_shutdown(struct tether_node *n, uint32_t drain_ms)
{
	struct session *s, *next;
	unsigned i;
	struct log_line l;

	if (n->stopping)
		return;
	n->stopping = true;
	n->now = port_now_ms(n->port);
	n->stop_deadline = n->now + drain_ms;
	log_begin(&l, &n->log, PORT_LOG_INFO, "shutdown");
	log_u64(&l, "drain_ms", drain_ms);
	log_end(&l);
	for (i = 0; i < n->n_listeners; i++) {
		port_tcp_close(n->port, n->listeners[i].h, 0);
		n->listeners[i].h = -1;
	}
	for (s = n->all; s != NULL; s = next) {
		next = s->next_all;
		if (s->tls_up) {
			session_goaway(s, FRAME_GOAWAY_NORMAL, REASON_SHUTDOWN);
			session_pump(s);
		} else {
			session_end(s, REASON_SHUTDOWN, NULL);
		}
	}
	settle(n);
}

static void handle_signals(struct tether_node *n)
{
	unsigned sig = port_signals(n->port);

	if (sig & PORT_SIG_TERM)
		tether_node_shutdown(n, TETHER_DRAIN_MS);
	if (sig & PORT_SIG_USR1)
		tether_node_log_status(n);
	if (sig & PORT_SIG_HUP)
		n->requests |= TETHER_REQ_RELOAD;
}

unsigned tether_node_requests(struct tether_node *n)
{
	unsigned r = n->requests;

	n->requests = 0;
	return r;
}

int tether_node_step(struct tether_node *n, int max_wait_ms)
{
	uint64_t next = (uint64_t)-1;
	struct session *s, *snext;
	int i, count, wait;

	n->now = port_now_ms(n->port);
	for (s = n->all; s != NULL; s = snext) {
		snext = s->next_all;
		session_timers(s, n->now, &next);
	}
	settle(n);
	/* Sessions that ended schedule their peer's next dial before dials are due. */
	release_dead(n);
	dial_due(n, &next);
	settle(n);
	for (i = 0; i < (int)n->n_listeners; i++) {
		struct listener *ls = &n->listeners[i];

		if (ls->paused_until == 0 || ls->h < 0)
			continue;
		if (n->now >= ls->paused_until) {
			ls->paused_until = 0;
			port_watch(n->port, ls->h, PORT_READ, ls);
		} else if (ls->paused_until < next) {
			next = ls->paused_until;
		}
	}
	release_dead(n);
	if (n->stopping) {
		if (n->all == NULL)
			return 0;
		if (n->now >= n->stop_deadline) {
			while (n->all != NULL)
				session_end(n->all, REASON_SHUTDOWN_DEADLINE, NULL);
			release_dead(n);
			return 0;
		}
		if (n->stop_deadline < next)
			next = n->stop_deadline;
	}

	wait = max_wait_ms;
	if (next != (uint64_t)-1) {
		uint64_t d = next > n->now ? next - n->now : 0;

		if (wait < 0 || d < (uint64_t)wait)
			wait = (int)d;
	}
	count = port_wait(n->port, wait, n->events, (int)n->n_events);
	if (count < 0)
		return count;
	n->now = port_now_ms(n->port);
	for (i = 0; i < count; i++)
		dispatch(n, &n->events[i]);
	handle_signals(n);
	release_dead(n);
	return 1;
}

int tether_node_run(struct tether_node *n)
{
	int r;

	while ((r = tether_node_step(n, -1)) > 0)
		;
	return r;
}

void tether_node_stats(const struct tether_node *n, struct tether_stats *st)
{
	*st = n->st;
	st->streams_open = n->streams.used;
	st->streams_high = n->streams.high;
	st->sessions_high = n->sessions.high;
	st->heap_used = tls_heap_in_use();
	st->heap_peak = tls_heap_peak();
	st->heap_size = tether_tls_heap_size(n->cfg);
}

void tether_node_log_status(struct tether_node *n)
{
	struct tether_stats st;
	struct session *s;
	struct log_line l;

	tether_node_stats(n, &st);
	for (s = n->all; s != NULL; s = s->next_all) {
		log_begin(&l, &n->log, PORT_LOG_INFO, "status_session");
		log_str(&l, "peer", session_peer_name(s));
		log_str(&l, "addr", s->addr);
		log_str(&l, "dir", s->dialed ? "out" : "in");
		log_str(&l, "state",
			session_is_open(s)	 ? "open"
			: session_is_draining(s) ? "draining"
						 : "handshake");
		log_u64(&l, "streams", s->state == SS_MUX ? s->mux.n_streams : 0);
		log_u64(&l, "sent", s->state == SS_MUX ? s->mux.bytes_out : 0);
		log_u64(&l, "received", s->state == SS_MUX ? s->mux.bytes_in : 0);
		log_end(&l);
	}
	log_begin(&l, &n->log, PORT_LOG_INFO, "status");
	log_u64(&l, "sessions", st.sessions_up);
	log_u64(&l, "sessions_high", st.sessions_high);
	log_u64(&l, "sessions_cap", st.sessions_cap);
	log_u64(&l, "streams", st.streams_open);
	log_u64(&l, "streams_high", st.streams_high);
	log_u64(&l, "streams_cap", st.streams_cap);
	log_u64(&l, "handshakes_high", st.handshakes_high);
	log_u64(&l, "handshakes_ok", st.handshakes_ok);
	log_u64(&l, "handshakes_failed", st.handshakes_failed);
	log_u64(&l, "streams_refused", st.streams_refused);
	log_u64(&l, "pool_exhausted", st.pool_exhausted);
	log_u64(&l, "bytes_in", st.bytes_in);
	log_u64(&l, "bytes_out", st.bytes_out);
	log_u64(&l, "heap_used", st.heap_used);
	log_u64(&l, "heap_peak", st.heap_peak);
	log_u64(&l, "heap_size", st.heap_size);
	log_u64(&l, "mem_node", st.mem_node);
	log_end(&l);
}

int tether_node_listen_addr(struct tether_node *n, unsigned idx, char *buf, size_t len)
{
	if (idx >= n->n_listeners || n->listeners[idx].h < 0)
		return TETHER_ERR_INVALID;
	return port_local_addr(n->port, n->listeners[idx].h, buf, len);
}

void tether_node_free(struct tether_node *n)
{
	unsigned i;

	if (n == NULL)
		return;
	while (n->all != NULL) {
		session_end(n->all, REASON_NODE_STOPPED, NULL);
	}
	n->pump = NULL;
	release_dead(n);
	for (i = 0; i < n->n_listeners; i++)
		port_tcp_close(n->port, n->listeners[i].h, 0);
	tls_ctx_free(n->tls);
	mbedtls_platform_zeroize(n->arena.base, n->arena.used);
}
