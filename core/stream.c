/*
 * stream.c: one stream's local side (stream.h).
 *
 * The local endpoint is read only when the peer has granted window and the
 * session has room in its output (the mux pulls, stream_pull()); bytes from
 * the peer land in the stream's ring, whose size is the window this node
 * grants, so a slow local reader stops the remote writer instead of growing
 * memory. A stream that cannot be delivered whole ends with RST locally and
 * RESET to the peer: never a clean close after lost data.
 */
#include "core/stream.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "core/node_impl.h"
#include "core/session.h"

static void log_stream(struct stream *st, int level, const char *event, const char *reason,
		       const char *from)
{
	struct session *s = st->s;
	struct log_line l;

	log_begin(&l, &s->node->log, level, event);
	log_str(&l, "peer", session_peer_name(s));
	log_str(&l, "service", st->m.service);
	log_u64(&l, "stream", st->m.id);
	if (reason == NULL) {
		log_str(&l, "dir", st->outbound ? "out" : "in");
		if (from != NULL)
			log_str(&l, "from", from);
	} else {
		log_u64(&l, "sent", st->m.sent);
		log_u64(&l, "received", st->m.received);
		log_str(&l, "reason", reason);
	}
	log_end(&l);
}

static bool carrying(const struct session *s)
{
	return session_is_open(s) || session_is_draining(s);
}

void stream_update_watch(struct stream *st)
{
	const struct mux_stream *m = &st->m;
	unsigned ev = 0;

	if (st->dead || !endpoint_open(&st->ep))
		return;
	if (st->connecting) {
		ev = PORT_WRITE;
	} else {
		if (!m->readable && !m->local_eof && !m->tx_closed && m->send_window > 0 &&
		    carrying(st->s))
			ev |= PORT_READ;
		if (ring_used(&m->rx) > 0)
			ev |= PORT_WRITE;
	}
	st->ep.ops->watch(&st->ep, ev, st);
}

static struct stream *stream_new(struct session *s)
{
	struct tether_node *n = s->node;
	struct stream *st = pool_get(&n->streams);

	if (st == NULL)
		return NULL;
	st->kind = OBJ_STREAM;
	st->s = s;
	ring_init(&st->m.rx, (uint8_t *)st + node_stream_header(), n->cfg->limits.stream_window);
	return st;
}

uint32_t stream_session_cap(const struct tether_config *cfg)
{
	uint32_t share = cfg->n_peers + 1u, cap;

	if (cfg->limits.streams_per_session != 0)
		return cfg->limits.streams_per_session;
	if (share > cfg->limits.sessions)
		share = cfg->limits.sessions;
	cap = share > 0 ? cfg->limits.streams / share : cfg->limits.streams;
	return cap > 0 ? cap : 1;
}

/*
 * The session holds its cap of streams: one more would eat into the others'
 * share. With the pool full as well, "no stream slots" is the refusal (the
 * cap is then the pool, as when it is set to limits.streams).
 */
static bool at_cap(const struct session *s)
{
	const struct pool *p = &s->node->streams;

	return s->mux.n_streams >= stream_session_cap(s->node->cfg) && p->used < p->count;
}

static void log_refused(struct tether_node *n, const char *peer, uint32_t id, const char *service,
			const char *from, enum tether_reason why, const char *detail)
{
	struct log_line l;

	n->st.streams_refused++;
	log_begin(&l, &n->log, PORT_LOG_WARN, "stream_refused");
	log_str(&l, "peer", peer);
	log_str(&l, "service", service);
	if (id != 0)
		log_u64(&l, "stream", id);
	if (from != NULL)
		log_str(&l, "from", from);
	log_str(&l, "reason", reason_name(why));
	if (detail != NULL)
		log_str(&l, "error", detail);
	log_end(&l);
}

void stream_refuse(struct tether_node *n, struct session *s, const char *peer, uint32_t id,
		   const char *service, const char *from, enum tether_reason why, uint32_t code)
{
	log_refused(n, peer, id, service, from, why, NULL);
	n->st.streams_ended[why]++;
	if (code != 0 && s != NULL && s->state == SS_MUX)
		mux_refuse(&s->mux, id, code);
}

void stream_end(struct stream *st, bool abort, uint32_t code, enum tether_reason why,
		const char *detail)
{
	struct session *s = st->s;
	struct tether_node *n = s->node;

	if (st->dead)
		return;
	st->dead = true;
	stream_release_io(n, st);
	n->st.streams_ended[why]++;
	endpoint_close(&st->ep, abort ? 1 : 0);
	log_stream(st, abort ? PORT_LOG_WARN : PORT_LOG_INFO, "stream_close",
		   detail != NULL ? detail : reason_name(why), NULL);
	mux_stream_detach(&s->mux, &st->m, code);
	session_want_pump(s);
	st->next_dead = n->dead_streams;
	n->dead_streams = st;
}

/* Both directions finished and everything delivered: a clean end. */
static void maybe_done(struct stream *st)
{
	if (st->dead || !st->local_shut || !mux_stream_done(&st->m))
		return;
	stream_end(st, false, 0, REASON_DONE, NULL);
}

/* Write what the ring holds to the local endpoint. */
static void flush_ring(struct stream *st)
{
	struct session *s = st->s;
	struct mux_stream *m = &st->m;
	size_t moved = 0;

	while (ring_used(&m->rx) > 0 && !st->connecting) {
		size_t span;
		const uint8_t *p = ring_read_span(&m->rx, &span);
		long r = st->ep.ops->send(&st->ep, p, span);

		if (r == 0)
			break;
		if (r < 0) {
			stream_end(st, true, FRAME_RESET_CANCEL, REASON_LOCAL_FAILED,
				   tether_err_str((int)r));
			return;
		}
		mux_stream_consumed(&s->mux, m, (size_t)r);
		moved += (size_t)r;
	}
	if (moved > 0 && (m->owed & MUX_OWE_WINDOW))
		session_want_pump(s);
	if (ring_used(&m->rx) == 0 && m->rx_closed && !st->local_shut && !st->connecting) {
		st->ep.ops->shutdown(&st->ep);
		st->local_shut = true;
	}
	maybe_done(st);
	stream_update_watch(st);
}

void stream_flush_owed(struct session *s)
{
	struct mux_stream *ms, *next;

	if (!s->flush_owed)
		return;
	s->flush_owed = false;
	for (ms = s->mux.streams; ms != NULL; ms = next) {
		struct stream *st = stream_of(ms);

		next = ms->next;
		if (st->flush_owed && !st->dead) {
			st->flush_owed = false;
			flush_ring(st);
		}
	}
}

void stream_release_io(struct tether_node *n, struct stream *st)
{
#if TETHER_IO_BATCH > 0
	if (n->pl_owner == st) {
		/* Plaintext of a stream that is gone: not left behind. */
		mbedtls_platform_zeroize(n->pl, n->pl_len);
		n->pl_owner = NULL;
		n->pl_off = n->pl_len = 0;
	}
#else
	(void)n;
	(void)st;
#endif
}

/*
 * Read the local side into dst. With TETHER_IO_BATCH, one recv reads as much
 * as the peer's window takes now into the node's pull buffer, which this
 * stream then holds until the next pulls have taken it all (they come while
 * it is still readable: the window was there for them).
 */
static long pull_recv(struct stream *st, uint8_t *dst, size_t room)
{
#if TETHER_IO_BATCH > 0
	struct tether_node *n = st->s->node;
	size_t want = st->m.send_window < TETHER_IO_BATCH ? st->m.send_window : TETHER_IO_BATCH;
	long r;

	if (n->pl_owner == st) {
		size_t take = n->pl_len - n->pl_off;

		if (take > room)
			take = room;
		memcpy(dst, n->pl + n->pl_off, take);
		n->pl_off += take;
		if (n->pl_off == n->pl_len) {
			mbedtls_platform_zeroize(n->pl, n->pl_len);
			n->pl_owner = NULL;
			n->pl_off = n->pl_len = 0;
		}
		return (long)take;
	}
	if (n->pl_owner != NULL || want <= room)
		return st->ep.ops->recv(&st->ep, dst, room);
	r = st->ep.ops->recv(&st->ep, n->pl, want);
	if (r <= 0)
		return r;
	if ((size_t)r <= room) {
		memcpy(dst, n->pl, (size_t)r);
		mbedtls_platform_zeroize(n->pl, (size_t)r);
		return r;
	}
	memcpy(dst, n->pl, room);
	n->pl_owner = st;
	n->pl_off = room;
	n->pl_len = (size_t)r;
	return (long)room;
#else
	return st->ep.ops->recv(&st->ep, dst, room);
#endif
}

long stream_pull(void *user, struct mux_stream *ms, uint8_t *dst, size_t room)
{
	struct stream *st = stream_of(ms);
	long r;

	(void)user;
	r = pull_recv(st, dst, room);
	if (r > 0)
		return r;
	if (r == 0) {
		ms->readable = false;
		stream_update_watch(st);
		return 0;
	}
	if (r == TETHER_ERR_CLOSED)
		return MUX_PULL_EOF;
	st->pull_err = (int)r;
	return MUX_PULL_FAIL;
}

void stream_after_output(struct stream *st)
{
	if (st->dead)
		return;
	if (st->m.broken) {
		stream_end(st, true, FRAME_RESET_CANCEL, REASON_LOCAL_FAILED,
			   tether_err_str(st->pull_err));
		return;
	}
	if (st->m.tx_closed && !st->close_seen) {
		/* CLOSE left: stop reading, and the stream may be complete. */
		st->close_seen = true;
		flush_ring(st);
	}
}

void stream_on_mux(struct stream *st, const struct mux_event *ev)
{
	if (st->dead)
		return;
	switch (ev->type) {
	case MUX_EV_DATA:
		if (TETHER_IO_BATCH > 0) {
			/* Written out when the read pass ends: many records, one send. */
			st->flush_owed = true;
			st->s->flush_owed = true;
			return;
		}
		flush_ring(st);
		return;
	case MUX_EV_CLOSE:
		st->flush_owed = false;
		flush_ring(st);
		return;
	case MUX_EV_RESET:
		if (!st->outbound && st->connecting)
			st->s->node->st.streams_refused++;
		stream_end(st, true, 0, REASON_PEER_RESET, frame_reset_name(ev->code));
		return;
	case MUX_EV_WINDOW:
		stream_update_watch(st);
		return;
	case MUX_EV_STREAM_ERROR:
		stream_end(st, true, ev->code, REASON_STREAM_ERROR, ev->text);
		return;
	default:
		return;
	}
}

/* The service has "proxy_protocol": "v2". */
static bool service_wants_proxy(const struct tether_config *cfg, const char *service)
{
	unsigned i;

	for (i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].name, service) == 0)
			return TETHER_EDGES && cfg->services[i].proxy_v2;
	return false;
}

void stream_event(struct stream *st, unsigned events)
{
	struct session *s = st->s;
	int ret;

	if (st->dead)
		return;
	if (st->connecting) {
		if (!(events & (PORT_WRITE | PORT_ERROR)))
			return;
		ret = st->ep.ops->connected(&st->ep);
		if (ret < 0) {
			log_refused(s->node, session_peer_name(s), st->m.id, st->m.service, NULL,
				    REASON_TARGET_UNREACHABLE, tether_err_str(ret));
			stream_end(st, true, FRAME_RESET_UNREACHABLE, REASON_TARGET_UNREACHABLE,
				   NULL);
			return;
		}
		if (service_wants_proxy(s->node->cfg, st->m.service) &&
		    (ret = edge_service_proxy(s, st->ep.h)) < 0) {
			/* Never a target that cannot tell who calls: reset, as for unreachable. */
			log_refused(s->node, session_peer_name(s), st->m.id, st->m.service, NULL,
				    REASON_TARGET_UNREACHABLE, "PROXY v2 header not written whole");
			stream_end(st, true, FRAME_RESET_UNREACHABLE, REASON_TARGET_UNREACHABLE,
				   NULL);
			return;
		}
		st->connecting = false;
		st->m.held = false;
		st->m.readable = true;
		log_stream(st, PORT_LOG_INFO, "stream_open", NULL, NULL);
		flush_ring(st);
		session_want_pump(s);
		return;
	}
	if (events & (PORT_WRITE | PORT_ERROR))
		flush_ring(st);
	if (st->dead)
		return;
	if (events & (PORT_READ | PORT_ERROR))
		mux_stream_readable(&s->mux, &st->m);
	session_want_pump(s);
	stream_update_watch(st);
}

struct stream *stream_forward(struct session *s, int h, const char *service, const char *from)
{
	struct tether_node *n = s->node;
	struct stream *st;

	if (at_cap(s)) {
		stream_refuse(n, s, session_peer_name(s), 0, service, from, REASON_STREAM_CAP, 0);
		port_tcp_close(n->port, h, 1);
		return NULL;
	}
	st = stream_new(s);
	if (st == NULL) {
		node_pool_exhausted(n, "streams", session_peer_name(s), NULL);
		stream_refuse(n, s, session_peer_name(s), 0, service, from, REASON_NO_RESOURCES, 0);
		port_tcp_close(n->port, h, 1);
		return NULL;
	}
	if (mux_stream_open(&s->mux, &st->m, service) == 0) {
		/* Every stream id of ours is spent: the next session takes new ones. */
		node_stream_put(n, st);
		stream_refuse(n, s, session_peer_name(s), 0, service, from, REASON_NO_RESOURCES, 0);
		port_tcp_close(n->port, h, 1);
		return NULL;
	}
	st->outbound = true;
	endpoint_tcp(&st->ep, n->port, h);
	st->m.readable = true;
	log_stream(st, PORT_LOG_INFO, "stream_open", NULL, from);
	session_want_pump(s);
	stream_update_watch(st);
	return st;
}

void stream_open_service(struct session *s, uint32_t id, const char *service)
{
	struct tether_node *n = s->node;
	const struct tether_config *cfg = n->cfg;
	const char *peer = session_peer_name(s);
	int svc = -1;
	unsigned i;
	struct stream *st;
	int ret, h;

	if (!session_is_open(s) || n->stopping) {
		stream_refuse(n, s, peer, id, service, NULL, REASON_SHUTDOWN, FRAME_RESET_SHUTDOWN);
		return;
	}
	for (i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].name, service) == 0)
			svc = (int)i;
	if (svc < 0) {
		stream_refuse(n, s, peer, id, service, NULL, REASON_NO_SERVICE,
			      FRAME_RESET_NO_SERVICE);
		return;
	}
	for (i = 0; i < cfg->services[svc].n_allow; i++)
		if (cfg->services[svc].allow[i] == s->peer)
			break;
	if (i == cfg->services[svc].n_allow) {
		stream_refuse(n, s, peer, id, service, NULL, REASON_FORBIDDEN,
			      FRAME_RESET_FORBIDDEN);
		return;
	}
	if (at_cap(s)) {
		stream_refuse(n, s, peer, id, service, NULL, REASON_STREAM_CAP,
			      FRAME_RESET_NO_RESOURCES);
		return;
	}
	st = stream_new(s);
	if (st == NULL) {
		node_pool_exhausted(n, "streams", peer, NULL);
		stream_refuse(n, s, peer, id, service, NULL, REASON_NO_RESOURCES,
			      FRAME_RESET_NO_RESOURCES);
		return;
	}
	ret = port_tcp_connect(n->port, cfg->services[svc].target, &h);
	if (ret < 0) {
		/* Not logged as a stream: it never was one. */
		node_stream_put(n, st);
		stream_refuse(n, s, peer, id, service, NULL, REASON_TARGET_UNREACHABLE,
			      FRAME_RESET_UNREACHABLE);
		return;
	}
	endpoint_tcp(&st->ep, n->port, h);
	mux_stream_accept(&s->mux, &st->m, id, service);
	st->connecting = true;
	st->m.held = true;
	stream_update_watch(st);
}
