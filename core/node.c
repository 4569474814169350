/*
 * node.c: the node's life cycle, the dispatch loop, timers, shutdown and the
 * memory layout. Listeners are in listener.c, peers (dialing, back-off, the
 * one-session-per-pair rule) in peer.c, counters and status in status.c.
 *
 * Sessions and streams never call up into this file: the dispatcher hands an
 * event down, then acts on what it left behind (a session that came up, the
 * pump list, dead sessions and streams to release).
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "core/node_impl.h"

#define EVENTS_PER_WAIT 64

static size_t stream_slot_size(const struct tether_config *cfg)
{
	return node_stream_header() + cfg->limits.stream_window;
}

/*
 * The node's region, piece by piece, in carving order: the one description
 * of the layout. tether_node_mem_size() adds the pieces up (16 bytes of
 * alignment slack each), tether_node_init() carves them.
 */
enum piece {
	P_NODE,
	P_PEERS,
	P_LISTENERS,
	P_EVENTS,
	P_SCRATCH,
	P_SESSIONS,
	P_STREAMS,
	P_METRICS,
	P_CRL,
	P_RENEW,
	P_ARRIVALS,
	P_BACKOFF,
	P_IO,
	P_EDGE_ROUTES,
	P_EDGES,
	P_COUNT
};

static void layout(const struct tether_config *cfg, size_t sz[P_COUNT])
{
	sz[P_NODE] = sizeof(struct tether_node);
	/* Room for every peer a reload may add, twice: remapped into the spare, then swapped. */
	sz[P_PEERS] = sizeof(struct peer_state) * (TETHER_MAX_PEERS + 1) * (TETHER_RELOAD ? 2 : 1);
	sz[P_LISTENERS] = sizeof(struct listener) * (cfg->n_forwards + cfg->n_edges + 3);
	sz[P_EVENTS] = sizeof(struct port_event) * EVENTS_PER_WAIT;
	sz[P_SCRATCH] = TETHER_FILE_MAX;
	sz[P_SESSIONS] = pool_bytes(sizeof(struct session), cfg->limits.sessions);
	sz[P_STREAMS] = pool_bytes(stream_slot_size(cfg), cfg->limits.streams);
	sz[P_METRICS] = metrics_buffer_size(cfg);
	/* Only a node that keeps CRL files takes newer ones from its peers. */
	sz[P_CRL] = TETHER_CRL_MESH && cfg->identity.n_crl > 0 ? TETHER_CRL_MAX : 0;
	sz[P_RENEW] = renew_buffer_size(cfg);
	/* Twice the live arrivals: slots freed in a step are reused only after it (admit.c). */
	sz[P_ARRIVALS] =
		cfg->listen[0] != '\0' ? 2u * sizeof(struct arrival) * admit_capacity(cfg) : 0;
	/* One table for the session listener and the edge listeners. */
	sz[P_BACKOFF] =
		TETHER_HS_BACKOFF && (cfg->listen[0] != '\0' || (TETHER_EDGES && cfg->n_edges > 0))
			? backoff_bytes(TETHER_BACKOFF_SOURCES)
			: 0;
	sz[P_IO] = 3u * (size_t)TETHER_IO_BATCH;
	sz[P_EDGE_ROUTES] = TETHER_EDGES ? sizeof(struct edge_route) * cfg->n_edges : 0;
	sz[P_EDGES] = TETHER_EDGES && cfg->n_edges > 0
			      ? pool_bytes(sizeof(struct edge_conn), cfg->limits.edge_connections)
			      : 0;
}

size_t tether_node_mem_size(const struct tether_config *cfg)
{
	size_t sz[P_COUNT], total = 0;
	int i;

	layout(cfg, sz);
	for (i = 0; i < P_COUNT; i++)
		total += sz[i] + 16;
	return total;
}

unsigned tether_node_handles(const struct tether_config *cfg)
{
	return cfg->limits.sessions + 2u * cfg->limits.streams + cfg->n_forwards + 16u +
	       (cfg->n_edges > 0 ? 2u * cfg->limits.edge_connections + cfg->n_edges : 0u) +
	       (cfg->listen[0] != '\0' ? admit_capacity(cfg) : 0u);
}

size_t tether_tls_heap_size(const struct tether_config *cfg)
{
	/*
	 * Dials and accepts have a reserve of limits.handshakes each (admit.c).
	 * With CRLs: room for two parsed CRLs of TETHER_CRL_MAX at once (a reload
	 * holds the old and the new; taking one from a peer, ours and the one judged).
	 */
	return TETHER_HEAP_BASE + (size_t)cfg->limits.sessions * TETHER_HEAP_PER_SESSION +
	       2u * (size_t)cfg->limits.handshakes *
		       (TETHER_HEAP_PER_HANDSHAKE + TETHER_HEAP_HANDSHAKE_INPUT) +
	       edge_heap_size(cfg) + (cfg->identity.n_crl > 0 ? 2u * (size_t)TETHER_CRL_HEAP : 0u) +
	       (TETHER_RENEW && (cfg->issuer.on || cfg->renew.on) ? (size_t)TETHER_RENEW_HEAP : 0u);
}

int tether_node_init(struct tether_node **out, void *mem, size_t mem_len,
		     const struct tether_config *cfg, struct port *port, char *err, size_t err_len)
{
	struct arena a = {mem, mem_len, 0};
	struct tether_node *n;
	size_t sz[P_COUNT];

	*out = NULL;
	layout(cfg, sz);
	n = arena_take(&a, sz[P_NODE]);
	if (n == NULL)
		goto nomem;
	n->cfg = cfg;
	n->port = port;
	n->log.port = port;
	n->log.level = cfg->log_level;
	n->log.json = cfg->log_format == TETHER_LOG_JSON;
	n->peers = arena_take(&a, sz[P_PEERS]);
	n->peers_spare = n->peers != NULL && TETHER_RELOAD ? n->peers + TETHER_MAX_PEERS + 1 : NULL;
	n->n_listeners = cfg->n_forwards + cfg->n_edges + 3;
	n->listeners = arena_take(&a, sz[P_LISTENERS]);
	n->n_events = EVENTS_PER_WAIT;
	n->events = arena_take(&a, sz[P_EVENTS]);
	n->scratch = arena_reserve(&a, sz[P_SCRATCH]); /* file contents: written, then read */
	if (n->peers == NULL || n->listeners == NULL || n->events == NULL || n->scratch == NULL)
		goto nomem;
	if (pool_init(&n->sessions, "sessions", &a, sizeof(struct session), cfg->limits.sessions) ||
	    pool_init(&n->streams, "streams", &a, stream_slot_size(cfg), cfg->limits.streams))
		goto nomem;
	/* A ring's bytes are written before they are read: only the struct needs zeroes. */
	pool_set_clear(&n->streams, node_stream_header());
	n->mwriter = -1;
	if (sz[P_METRICS] > 0) {
		size_t slots = sizeof(struct mconn) * TETHER_METRICS_CONNS;

		/* The slots zeroed, the response text reserved (written before it is sent). */
		n->mconns = arena_reserve(&a, sz[P_METRICS]);
		if (n->mconns == NULL)
			goto nomem;
		memset(n->mconns, 0, slots);
		n->mtext = (char *)n->mconns + slots;
		n->mtext_cap = sz[P_METRICS] - slots;
	}
	if (sz[P_ARRIVALS] > 0) {
		unsigned i;

		n->arrivals = arena_take(&a, sz[P_ARRIVALS]);
		if (n->arrivals == NULL)
			goto nomem;
		n->cap_arrivals = 2u * admit_capacity(cfg);
		for (i = 0; i < n->cap_arrivals; i++)
			n->arrivals[i].h = -1;
	}
#if TETHER_HS_BACKOFF
	if (sz[P_BACKOFF] > 0) {
		void *mem = arena_take(&a, sz[P_BACKOFF]);

		if (mem == NULL)
			goto nomem;
		backoff_init(&n->backoff, mem, TETHER_BACKOFF_SOURCES);
	}
#endif
	if (sz[P_CRL] > 0) {
		n->crl_buf = arena_reserve(&a, sz[P_CRL]);
		if (n->crl_buf == NULL)
			goto nomem;
	}
#if TETHER_IO_BATCH > 0
	n->rx = arena_reserve(&a, sz[P_IO]);
	if (n->rx == NULL)
		goto nomem;
	n->tx = n->rx + TETHER_IO_BATCH;
	n->pl = n->tx + TETHER_IO_BATCH;
#endif
	if (sz[P_EDGE_ROUTES] > 0) {
		n->edge_routes = arena_take(&a, sz[P_EDGE_ROUTES]);
		if (n->edge_routes == NULL ||
		    pool_init(&n->edges, "edges", &a, sizeof(struct edge_conn),
			      cfg->limits.edge_connections))
			goto nomem;
		n->st.edges_cap = cfg->limits.edge_connections;
	}
	if (sz[P_RENEW] > 0) {
		uint8_t *b = arena_take(&a, sz[P_RENEW]);

		if (b == NULL)
			goto nomem;
		renew_init(n, b);
	} else {
		renew_init(n, NULL);
	}
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

static void start_problem(void *ctx, const char *path, const char *what)
{
	struct tether_node *n = ctx;

	if (n->start_err[0] == '\0')
		snprintf(n->start_err, n->start_err_len, "%s: %s", path, what);
}

int tether_node_start(struct tether_node *n, char *err, size_t err_len)
{
	const struct tether_config *cfg = n->cfg;
	unsigned i;
	int ret;

	n->now = port_now_ms(n->port);
	n->t_started = n->now;
	ret = tls_ctx_load(&n->tls, cfg, n->port, n->scratch, TETHER_FILE_MAX, err, err_len);
	if (ret < 0)
		return TETHER_ERR_CONFIG; /* unusable identity material is a config error */
	/* What `tether check` and a reload refuse, run refuses too: the first problem. */
	n->start_err = err;
	n->start_err_len = err_len;
	err[0] = '\0';
	if (tls_material_check(tls_cur(&n->tls), port_wall_s(n->port), start_problem, n) > 0) {
		tls_ctx_free(&n->tls);
		return TETHER_ERR_CONFIG;
	}
	if (renew_start(n, err, err_len) != 0) {
		tls_ctx_free(&n->tls);
		return TETHER_ERR_CONFIG;
	}
	ret = edge_routes_load(n, err, err_len);
	if (ret < 0) {
		tls_ctx_free(&n->tls);
		return TETHER_ERR_CONFIG;
	}
	ret = listeners_open(n, err, err_len);
	if (ret < 0)
		return ret;
	for (i = 0; i < cfg->n_peers; i++)
		n->peers[i].next_dial = n->now;
	n->st.mem_node = n->arena.used;
	expiry_sweep(n);
	return 0;
}

static void release_dead(struct tether_node *n)
{
	edge_release_dead(n);
	while (n->dead_streams != NULL) {
		struct stream *st = n->dead_streams;

		n->dead_streams = st->next_dead;
		node_stream_put(n, st);
	}
	while (n->dead_sessions != NULL) {
		struct session *s = n->dead_sessions;

		n->dead_sessions = s->next_dead;
		peer_session_gone(n, s);
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
			peer_session_up(n, s);
		}
		session_pump(s);
	}
	session_flush_all(n);
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
	case OBJ_METRICS:
		metrics_event(n, ev->tag, ev->events);
		break;
	case OBJ_ARRIVAL:
		admit_event(n, ev->tag, ev->events);
		break;
	case OBJ_EDGE:
		edge_event(ev->tag, ev->events);
		break;
	}
	settle(n);
}

void tether_node_shutdown(struct tether_node *n, uint32_t drain_ms)
{
	struct session *s, *next;
	struct log_line l;

	if (n->stopping)
		return;
	n->stopping = true;
	n->requests |= TETHER_REQ_STOPPING;
	n->now = port_now_ms(n->port);
	n->stop_deadline = n->now + drain_ms;
	log_begin(&l, &n->log, PORT_LOG_INFO, "shutdown");
	log_u64(&l, "drain_ms", drain_ms);
	log_end(&l);
	listeners_close(n);
	admit_close_all(n);
	/* An edge connection cannot be drained whole at short notice: reset, never cut. */
	edge_close_all(n, REASON_SHUTDOWN);
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
	peers_dial_due(n, &next);
	settle(n);
	listeners_resume(n, &next);
	metrics_timers(n, &next);
	crl_timers(n, &next);
	renew_timers(n, &next);
	settle(n);
	admit_timers(n, &next);
	edge_timers(n, &next);
	if (n->now >= n->t_expiry)
		expiry_sweep(n);
	if (n->t_expiry < next)
		next = n->t_expiry;
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
	/* Edge handshakes that ended freed slots: connections waiting for one start now. */
	if (n->cfg->n_edges > 0 && n->edge_hs < n->cfg->limits.handshakes) {
		edge_more(n);
		settle(n);
	}
	/* Handshakes that ended freed slots: arrivals waiting for one start now. */
	if (n->n_arrivals > 0) {
		release_dead(n);
		admit_more(n);
		settle(n);
	}
	if (n->crl_apply) {
		/* A CRL from a peer was stored: apply it as a reload of the same config. */
		n->crl_apply = false;
		n->reload_quiet = true;
		(void)tether_node_reload(n, n->cfg, NULL);
		n->reload_quiet = false;
		settle(n);
	}
	if (TETHER_RENEW) {
		/* A renewed certificate was written: apply it as a reload of the same config. */
		renew_apply(n);
		settle(n);
	}
	handle_signals(n);
	release_dead(n);
	admit_step_end(n);
	return 1;
}

int tether_node_listen_addr(struct tether_node *n, const char *name, char *buf, size_t len)
{
	const struct tether_config *cfg = n->cfg;
	const char *slash = strchr(name, '/');
	unsigned i;

	for (i = 0; i < n->n_listeners; i++) {
		const struct listener *ls = &n->listeners[i];
		const struct tether_forward_cfg *fw;
		const char *peer;

		if (ls->h < 0)
			continue;
		if (ls->what == LISTEN_EDGE) {
			char want[24];

			snprintf(want, sizeof(want), "edges[%u]", ls->forward);
			if (strcmp(name, want) == 0)
				return port_local_addr(n->port, ls->h, buf, len);
			continue;
		}
		if (ls->what != LISTEN_FORWARD) {
			if (strcmp(name, ls->what == LISTEN_SESSIONS  ? "sessions"
					 : ls->what == LISTEN_METRICS ? "metrics"
								      : "status") == 0)
				return port_local_addr(n->port, ls->h, buf, len);
			continue;
		}
		if (slash == NULL)
			continue;
		fw = &cfg->forwards[ls->forward];
		peer = cfg->peers[fw->peer].name;
		if (strlen(peer) == (size_t)(slash - name) &&
		    strncmp(peer, name, (size_t)(slash - name)) == 0 &&
		    strcmp(fw->service, slash + 1) == 0)
			return port_local_addr(n->port, ls->h, buf, len);
	}
	return TETHER_ERR_INVALID;
}

void tether_node_free(struct tether_node *n)
{
	if (n == NULL)
		return;
	while (n->all != NULL) {
		session_end(n->all, REASON_NODE_STOPPED, NULL);
	}
	n->pump = NULL;
	release_dead(n);
	listeners_close(n);
	admit_close_all(n);
	metrics_close_all(n);
	edge_close_all(n, REASON_NODE_STOPPED);
	edge_routes_free(n);
	renew_free(n);
	tls_ctx_free(&n->tls);
	/*
	 * Every stream slot was wiped as far as it was written when it was given
	 * back, and slots never handed out were never written: wiping the stream
	 * pool again would only bring all of it into memory on the way out.
	 */
	{
		/*
		 * The node itself is the arena's first piece: read what the
		 * wipe needs before the first wipe clears it.
		 */
		uint8_t *base = n->arena.base, *pool = n->streams.base;
		size_t used = n->arena.used;
		size_t pool_len =
			pool != NULL ? pool_bytes(n->streams.slot_size, n->streams.count) : 0;

		if (pool == NULL) {
			mbedtls_platform_zeroize(base, used);
		} else {
			size_t head = (size_t)(pool - base);

			mbedtls_platform_zeroize(base, head);
			mbedtls_platform_zeroize(pool + pool_len, used - head - pool_len);
		}
	}
}
