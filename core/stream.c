/*
 * stream.c: one forwarded TCP connection carried by a session.
 *
 * The local socket is read only when the peer has granted window and the
 * session has room in its output (session.c pulls, fill_stream()); bytes from
 * the peer land in the stream's ring, whose size is the window this node
 * grants, so a slow local reader stops the remote writer instead of growing
 * memory. A stream that cannot be delivered whole ends with RST locally and
 * RESET to the peer: never a clean close after lost data.
 */
#include <stdio.h>
#include <string.h>

#include "core/node_impl.h"

static void log_stream(struct stream *st, int level, const char *event, const char *reason)
{
	struct session *s = st->s;
	struct log_line l;

	log_begin(&l, &s->node->log, level, event);
	log_str(&l, "peer", session_peer_name(s));
	log_str(&l, "service", st->service_name);
	log_u64(&l, "stream", st->id);
	if (strcmp(event, "stream_open") == 0) {
		log_str(&l, "dir", st->outbound ? "out" : "in");
	} else {
		log_u64(&l, "sent", st->sent);
		log_u64(&l, "received", st->received);
		log_str(&l, "reason", reason);
	}
	log_end(&l);
}

void stream_update_watch(struct stream *st)
{
	struct session *s = st->s;
	unsigned ev = 0;

	if (st->dead || st->h < 0)
		return;
	if (st->connecting) {
		ev = PORT_WRITE;
	} else {
		if (!st->rd_ready && !st->local_eof && !st->tx_closed && st->send_window > 0 &&
		    (s->state == SS_OPEN || s->state == SS_DRAINING))
			ev |= PORT_READ;
		if (st->len > 0)
			ev |= PORT_WRITE;
	}
	port_watch(s->node->port, st->h, ev, st);
}

struct stream *stream_new(struct session *s, int h, bool outbound)
{
	struct tether_node *n = s->node;
	struct stream *st = pool_get(&n->streams);

	if (st == NULL)
		return NULL;
	st->kind = OBJ_STREAM;
	st->s = s;
	st->h = h;
	st->service = -1;
	st->outbound = outbound;
	st->cap = n->cfg->limits.stream_window;
	st->buf = (uint8_t *)st + ((sizeof(*st) + 15u) & ~(size_t)15u);
	st->recv_window = st->cap;
	st->send_window = s->peer_window;
	st->next = s->streams;
	s->streams = st;
	s->n_streams++;
	return st;
}

struct stream *stream_find(struct session *s, uint32_t id)
{
	struct stream *st;

	for (st = s->streams; st != NULL; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

static void queue_reset(struct session *s, uint32_t id, uint32_t code)
{
	if (s->dead)
		return;
	if (s->n_resets >= TETHER_RESET_QUEUE) {
		/*
		 * session_read() stops reading before refusals fill the queue, but
		 * local failures (targets refusing, clients resetting) fill it too
		 * while the output is blocked. A RESET dropped would leave the peer's
		 * stream open for ever: session_pump() ends the session instead.
		 */
		s->reset_lost = true;
		return;
	}
	s->resets[s->n_resets].stream = id;
	s->resets[s->n_resets].code = code;
	s->n_resets++;
}

static void unlink_stream(struct stream *st)
{
	struct session *s = st->s;
	struct stream **pp;

	for (pp = &s->streams; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	s->n_streams--;
	if (s->rr == st)
		s->rr = st->next;
	if (s->rx_stream == st) {
		s->rx_stream = NULL;
		if (s->rx == RX_DATA)
			s->rx = RX_DISCARD;
	}
}

void stream_fail(struct stream *st, uint32_t code, const char *reason)
{
	struct session *s = st->s;

	if (code != 0)
		queue_reset(s, st->id, code);
	stream_end(st, true, reason);
}

void stream_end(struct stream *st, bool abort, const char *reason)
{
	struct session *s = st->s;
	struct tether_node *n = s->node;

	if (st->dead)
		return;
	st->dead = true;
	if (st->h >= 0)
		port_tcp_close(n->port, st->h, abort ? 1 : 0);
	st->h = -1;
	log_stream(st, abort ? PORT_LOG_WARN : PORT_LOG_INFO, "stream_close", reason);
	unlink_stream(st);
	st->next_dead = n->dead_streams;
	n->dead_streams = st;
}

/* Both directions finished and everything delivered: a clean end. */
static void maybe_done(struct stream *st)
{
	if (st->dead || !st->tx_closed || !st->rx_closed || st->len > 0 || !st->local_shut)
		return;
	stream_end(st, false, "done");
}

/* Write what the ring holds to the local socket. */
static void flush_ring(struct stream *st)
{
	struct session *s = st->s;

	while (st->len > 0 && !st->connecting) {
		uint32_t contig = st->cap - st->head;
		long r;

		if (contig > st->len)
			contig = st->len;
		r = port_tcp_send(s->node->port, st->h, st->buf + st->head, contig);
		if (r == 0)
			break;
		if (r < 0) {
			stream_fail(st, FRAME_RESET_CANCEL, tether_err_str((int)r));
			return;
		}
		st->head = (st->head + (uint32_t)r) % st->cap;
		st->len -= (uint32_t)r;
		st->window_owed += (uint32_t)r;
	}
	if (st->len == 0)
		st->head = 0;
	/* Return credit in large steps: one WINDOW per half window consumed. */
	if (st->window_owed >= st->cap / 2 && !st->rx_closed)
		st->flags |= STF_WINDOW;
	if (st->len == 0 && st->rx_closed && !st->local_shut && !st->connecting) {
		port_tcp_shutdown(s->node->port, st->h);
		st->local_shut = true;
	}
	maybe_done(st);
	stream_update_watch(st);
}

void stream_delivered(struct stream *st)
{
	if (st->dead)
		return;
	flush_ring(st);
}

long stream_read_local(struct stream *st, uint8_t *dst, size_t room)
{
	long r = port_tcp_recv(st->s->node->port, st->h, dst, room);

	if (r > 0)
		return r;
	if (r == 0) {
		st->rd_ready = false;
		stream_update_watch(st);
		return 0;
	}
	if (r == TETHER_ERR_CLOSED) {
		st->local_eof = true;
		st->flags |= STF_CLOSE;
		return 0;
	}
	stream_fail(st, FRAME_RESET_CANCEL, tether_err_str((int)r));
	return r;
}

void stream_on_close(struct stream *st)
{
	if (st->rx_closed) {
		stream_fail(st, FRAME_RESET_STREAM_ERROR, "second close from peer");
		return;
	}
	st->rx_closed = true;
	flush_ring(st);
}

void stream_on_reset(struct stream *st, uint32_t code)
{
	struct tether_node *n = st->s->node;

	if (!st->outbound && st->connecting)
		n->st.streams_refused++;
	stream_end(st, true, frame_reset_name(code));
}

void stream_on_window(struct stream *st, uint32_t inc)
{
	st->send_window += inc;
	stream_update_watch(st);
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
		ret = port_tcp_connect_result(s->node->port, st->h);
		if (ret < 0) {
			struct log_line l;

			s->node->st.streams_refused++;
			log_begin(&l, &s->node->log, PORT_LOG_WARN, "stream_refused");
			log_str(&l, "peer", session_peer_name(s));
			log_str(&l, "service", st->service_name);
			log_u64(&l, "stream", st->id);
			log_str(&l, "reason", "target unreachable");
			log_str(&l, "error", tether_err_str(ret));
			log_end(&l);
			stream_fail(st, FRAME_RESET_UNREACHABLE, "target unreachable");
			session_pump(s);
			return;
		}
		st->connecting = false;
		st->rd_ready = true;
		log_stream(st, PORT_LOG_INFO, "stream_open", NULL);
		flush_ring(st);
		session_pump(s);
		return;
	}
	if (events & (PORT_WRITE | PORT_ERROR))
		flush_ring(st);
	if (st->dead) {
		session_pump(s);
		return;
	}
	if (events & (PORT_READ | PORT_ERROR))
		st->rd_ready = true;
	session_pump(s);
	if (!st->dead)
		stream_update_watch(st);
}

void stream_open_service(struct session *s, uint32_t id, const char *service)
{
	struct tether_node *n = s->node;
	const struct tether_config *cfg = n->cfg;
	const char *why = NULL;
	uint32_t code = 0;
	int svc = -1;
	unsigned i;
	struct stream *st;
	struct log_line l;
	int ret, h;

	if (s->state != SS_OPEN || n->stopping) {
		why = "shutting down";
		code = FRAME_RESET_SHUTDOWN;
		goto refuse;
	}
	for (i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].name, service) == 0)
			svc = (int)i;
	if (svc < 0) {
		why = frame_reset_name(code = FRAME_RESET_NO_SERVICE);
		goto refuse;
	}
	for (i = 0; i < cfg->services[svc].n_allow; i++)
		if (cfg->services[svc].allow[i] == s->peer)
			break;
	if (i == cfg->services[svc].n_allow) {
		why = frame_reset_name(code = FRAME_RESET_FORBIDDEN);
		goto refuse;
	}
	st = stream_new(s, -1, false);
	if (st == NULL) {
		node_pool_exhausted(n, "streams", session_peer_name(s), NULL);
		why = frame_reset_name(code = FRAME_RESET_NO_RESOURCES);
		goto refuse;
	}
	st->id = id;
	st->service = svc;
	snprintf(st->service_name, sizeof(st->service_name), "%s", service);
	ret = port_tcp_connect(n->port, cfg->services[svc].target, &h);
	if (ret < 0) {
		/* Not logged as a stream: it never was one. */
		unlink_stream(st);
		pool_put(&n->streams, st);
		why = frame_reset_name(code = FRAME_RESET_UNREACHABLE);
		goto refuse;
	}
	st->h = h;
	st->connecting = true;
	stream_update_watch(st);
	return;

refuse:
	n->st.streams_refused++;
	log_begin(&l, &n->log, PORT_LOG_WARN, "stream_refused");
	log_str(&l, "peer", session_peer_name(s));
	log_str(&l, "service", service);
	log_u64(&l, "stream", id);
	log_str(&l, "reason", why);
	log_end(&l);
	queue_reset(s, id, code);
}
