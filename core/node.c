/*
 * node.c: the dispatch loop, listeners, peers (dialing, back-off, the
 * one-session-per-pair rule), timers, shutdown, and the memory layout.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/platform_util.h>
#include <psa/crypto.h>

#include "core/node_impl.h"

#define EVENTS_PER_WAIT 64

static size_t stream_slot_size(const struct tether_config *cfg)
{
	return ((sizeof(struct stream) + 15u) & ~(size_t)15u) + cfg->limits.stream_window;
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

size_t node_heap_in_use(void)
{
#if defined(MBEDTLS_MEMORY_DEBUG)
	size_t used, blocks, allocs, frees;

	mbedtls_memory_buffer_alloc_cur_get(&used, &blocks);
	mbedtls_memory_buffer_alloc_count_get(&allocs, &frees);
	/* Each live block carries one allocator header (8 words). */
	return used + (allocs - frees) * 8 * sizeof(void *);
#else
	return 0;
#endif
}

uint32_t node_random(struct tether_node *n, uint32_t below)
{
	uint32_t v = 0;

	(void)n;
	if (below == 0)
		return 0;
	if (psa_generate_random((uint8_t *)&v, sizeof(v)) != PSA_SUCCESS)
		return below / 2;
	return v % below;
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

void node_pool_exhausted(struct tether_node *n, const char *pool, const char *peer,
			 const char *addr)
{
	struct log_line l;

	n->st.pool_exhausted++;
	log_begin(&l, &n->log, PORT_LOG_WARN, "pool_exhausted");
	log_str(&l, "pool", pool);
	if (peer != NULL)
		log_str(&l, "peer", peer);
	if (addr != NULL)
		log_str(&l, "addr", addr);
	log_end(&l);
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
	ret = tls_ctx_load(&n->tls, cfg, n->port, n->scratch, TETHER_FILE_MAX, err, err_len);
	if (ret < 0)
		return TETHER_ERR_CONFIG; /* unusable identity material is a config error */
	for (i = 0; i < n->n_listeners; i++) {
		n->listeners[i].kind = OBJ_LISTENER;
		n->listeners[i].h = -1;
		n->listeners[i].forward = (int)i - 1;
		n->listeners[i].node = n;
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
	const char *why = NULL;
	struct stream *st;
	struct log_line l;

	if (s == NULL || s->state != SS_OPEN)
		why = "peer not connected";
	else if ((st = stream_new(s, h, true)) == NULL) {
		node_pool_exhausted(n, "streams", session_peer_name(s), NULL);
		why = "no stream slots";
	}
	if (why != NULL) {
		n->st.streams_refused++;
		log_begin(&l, &n->log, PORT_LOG_WARN, "stream_refused");
		log_str(&l, "peer", n->cfg->peers[fw->peer].name);
		log_str(&l, "service", fw->service);
		log_str(&l, "from", from);
		log_str(&l, "reason", why);
		log_end(&l);
		port_tcp_close(n->port, h, 1);
		return;
	}
	st->id = s->next_id;
	s->next_id += 2;
	snprintf(st->service_name, sizeof(st->service_name), "%s", fw->service);
	st->flags |= STF_OPEN;
	st->rd_ready = true;
	log_begin(&l, &n->log, PORT_LOG_INFO, "stream_open");
	log_str(&l, "peer", session_peer_name(s));
	log_str(&l, "service", st->service_name);
	log_u64(&l, "stream", st->id);
	log_str(&l, "dir", "out");
	log_str(&l, "from", from);
	log_end(&l);
	session_pump(s);
	if (!st->dead)
		stream_update_watch(st);
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
			log_str(&l, "what", ls->forward < 0 ? "sessions" : "forward");
			log_str(&l, "reason", tether_err_str(r));
			log_end(&l);
			port_watch(n->port, ls->h, 0, ls);
			ls->paused_until = n->now + 100;
			return;
		}
		if (ls->forward < 0)
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

void node_session_up(struct tether_node *n, struct session *s)
{
	struct peer_state *ps = &n->peers[s->peer];
	struct session *old = ps->session;
	struct log_line l;

	if (s->dialed) {
		ps->dialing = false;
		ps->attempt = 0;
	}
	n->st.sessions_up++;
	n->st.session_heap_last = node_heap_in_use() - s->heap_before;
	n->st.handshake_peak_last = s->heap_peak;
	log_begin(&l, &n->log, PORT_LOG_INFO, "session_up");
	log_str(&l, "peer", session_peer_name(s));
	log_str(&l, "id", s->verify.id);
	log_str(&l, "addr", s->addr);
	log_str(&l, "dir", s->dialed ? "out" : "in");
	log_str(&l, "tls", tls_version_name(&s->ssl));
	log_str(&l, "suite", mbedtls_ssl_get_ciphersuite(&s->ssl));
	log_u64(&l, "handshake_ms", s->t_up - s->t_start);
	log_u64(&l, "mem", sizeof(struct session) + n->st.session_heap_last);
	log_u64(&l, "handshake_peak", sizeof(struct session) + s->heap_peak);
	log_end(&l);

	if (old == NULL || old == s || old->state != SS_OPEN) {
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
		session_goaway(old, FRAME_GOAWAY_DUPLICATE, "duplicate session");
		session_pump(old);
	} else {
		session_goaway(s, FRAME_GOAWAY_DUPLICATE, "duplicate session");
	}
}

void node_session_gone(struct tether_node *n, struct session *s, bool was_up)
{
	const struct tether_config *cfg = n->cfg;
	struct peer_state *ps;
	uint64_t cap;
	uint32_t shift;

	if (was_up && n->st.sessions_up > 0)
		n->st.sessions_up--;
	if (s->peer < 0)
		return;
	ps = &n->peers[s->peer];
	if (ps->session == s)
		ps->session = NULL;
	/* A dialed session that came up cleared dialing then; another may be under way now. */
	if (s->dialed && !was_up)
		ps->dialing = false;
	if (cfg->peers[s->peer].connect[0] == '\0' ||
	    (ps->session != NULL && ps->session->state == SS_OPEN))
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
	ps->next_dial = n->now + node_random(n, (uint32_t)cap + 1);
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
		    (ps->session->state == SS_OPEN || ps->session->peer_duplicate))
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
		pool_put(&n->sessions, s);
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
			session_goaway(s, FRAME_GOAWAY_NORMAL, "shutting down");
			session_pump(s);
		} else {
			session_end(s, "shutting down");
		}
	}
}

static void handle_signals(struct tether_node *n)
{
	unsigned sig = port_signals(n->port);
	struct log_line l;

	if (sig & PORT_SIG_TERM)
		tether_node_shutdown(n, TETHER_DRAIN_MS);
	if (sig & PORT_SIG_USR1)
		tether_node_log_status(n);
	if (sig & PORT_SIG_HUP) {
		log_begin(&l, &n->log, PORT_LOG_WARN, "reload");
		log_str(&l, "result", "not supported by this version; restart to reload");
		log_end(&l);
	}
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
	dial_due(n, &next);
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
				session_end(n->all, "shutdown deadline passed");
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
	st->heap_used = node_heap_in_use();
#if defined(MBEDTLS_MEMORY_DEBUG)
	{
		size_t max_used, max_blocks;

		mbedtls_memory_buffer_alloc_max_get(&max_used, &max_blocks);
		st->heap_peak = max_used + max_blocks * 8 * sizeof(void *);
	}
#endif
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
			s->state == SS_OPEN	  ? "open"
			: s->state == SS_DRAINING ? "draining"
						  : "handshake");
		log_u64(&l, "streams", s->n_streams);
		log_u64(&l, "sent", s->bytes_out);
		log_u64(&l, "received", s->bytes_in);
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
		session_end(n->all, "node stopped");
	}
	release_dead(n);
	for (i = 0; i < n->n_listeners; i++)
		port_tcp_close(n->port, n->listeners[i].h, 0);
	tls_ctx_free(&n->tls);
	mbedtls_platform_zeroize(n->arena.base, n->arena.used);
}
