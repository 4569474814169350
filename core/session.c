/*
 * session.c: one mutually authenticated TLS connection to a peer node, and
 * the frames it carries (docs/PROTOCOL.md).
 *
 * Output is assembled in the node's shared buffer, at most one TLS record, from what is owed
 * (flags on the session and its streams) and from the local sockets of
 * streams that have window; nothing is queued beyond that, so memory does not
 * grow with load. Input is parsed as it arrives: headers and control payloads
 * into small buffers, DATA straight into the stream's receive ring.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/net_sockets.h>

#include "core/node_impl.h"

static void session_read(struct session *s);

static bool is_draining_code(uint32_t code)
{
	return code == FRAME_GOAWAY_NORMAL || code == FRAME_GOAWAY_LIFETIME ||
	       code == FRAME_GOAWAY_DUPLICATE;
}

const char *session_peer_name(const struct session *s)
{
	if (s->peer >= 0)
		return s->node->cfg->peers[s->peer].name;
	return "";
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct session *s = ctx;
	long r = port_tcp_send(s->node->port, s->h, buf, len);

	if (r > 0)
		return (int)r;
	if (r == 0) {
		s->want_write = true;
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	}
	s->io_err = (int)r;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct session *s = ctx;
	long r = port_tcp_recv(s->node->port, s->h, buf, len);

	if (r > 0) {
		s->t_rx = s->node->now;
		return (int)r;
	}
	if (r == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (r == TETHER_ERR_CLOSED)
		return 0;
	s->io_err = (int)r;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

void session_update_watch(struct session *s)
{
	unsigned ev = 0;

	if (s->dead || s->h < 0)
		return;
	switch (s->state) {
	case SS_CONNECTING:
		ev = PORT_WRITE;
		break;
	case SS_HANDSHAKE:
		ev = PORT_READ | (s->want_write ? PORT_WRITE : 0);
		break;
	default:
		ev = (s->rx_paused ? 0 : PORT_READ) | (s->want_write ? PORT_WRITE : 0);
		break;
	}
	port_watch(s->node->port, s->h, ev, s);
}

static struct session *session_new(struct tether_node *n)
{
	struct session *s = pool_get(&n->sessions);

	if (s == NULL)
		return NULL;
	s->kind = OBJ_SESSION;
	s->node = n;
	s->h = -1;
	s->peer = -1;
	s->t_start = n->now;
	s->t_rx = n->now;
	mbedtls_ssl_init(&s->ssl);
	s->next_all = n->all;
	if (n->all != NULL)
		n->all->prev_all = s;
	n->all = s;
	return s;
}

static void start_tls(struct session *s)
{
	struct tether_node *n = s->node;
	int ret;

	s->verify.cfg = n->cfg;
	s->verify.want_peer = s->dialed ? s->peer : -1;
#if defined(MBEDTLS_MEMORY_DEBUG)
	mbedtls_memory_buffer_alloc_max_reset();
#endif
	s->heap_before = node_heap_in_use();
	ret = tls_session_setup(&n->tls, &s->ssl, s->dialed, &s->verify, s, bio_send, bio_recv);
	if (ret != 0) {
		session_end(s, "out of tls memory");
		return;
	}
	s->state = SS_HANDSHAKE;
	session_event(s, PORT_READ | PORT_WRITE);
}

struct session *session_dial(struct tether_node *n, int peer)
{
	const char *addr = n->cfg->peers[peer].connect;
	struct session *s = session_new(n);
	int ret;

	if (s == NULL) {
		node_pool_exhausted(n, "sessions", NULL, addr);
		return NULL;
	}
	s->dialed = true;
	s->peer = peer;
	s->next_id = 1;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->counted_handshake = true;
	if (++n->handshakes > n->st.handshakes_high)
		n->st.handshakes_high = n->handshakes;
	s->state = SS_CONNECTING;
	ret = port_tcp_connect(n->port, addr, &s->h);
	if (ret < 0) {
		s->io_err = ret;
		session_end(s, tether_err_str(ret));
		return NULL;
	}
	session_update_watch(s);
	return s;
}

struct session *session_accept(struct tether_node *n, int h, const char *addr)
{
	struct session *s;

	if (n->handshakes >= n->cfg->limits.handshakes) {
		node_pool_exhausted(n, "handshakes", NULL, addr);
		port_tcp_close(n->port, h, 1);
		return NULL;
	}
	s = session_new(n);
	if (s == NULL) {
		node_pool_exhausted(n, "sessions", NULL, addr);
		port_tcp_close(n->port, h, 1);
		return NULL;
	}
	s->h = h;
	s->next_id = 2;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->counted_handshake = true;
	if (++n->handshakes > n->st.handshakes_high)
		n->st.handshakes_high = n->handshakes;
	start_tls(s);
	return s;
}

static void note_heap_peak(struct session *s)
{
#if defined(MBEDTLS_MEMORY_DEBUG)
	size_t max_used, max_blocks, peak;

	mbedtls_memory_buffer_alloc_max_get(&max_used, &max_blocks);
	/* Headers of free blocks are counted too: an upper bound, as budgets want. */
	peak = max_used + max_blocks * 8 * sizeof(void *);
	if (peak > s->heap_before && peak - s->heap_before > s->heap_peak)
		s->heap_peak = peak - s->heap_before;
#else
	(void)s;
#endif
}

static void handshake_step(struct session *s)
{
	struct tether_node *n = s->node;
	int ret;

	s->want_write = false;
	ret = mbedtls_ssl_handshake(&s->ssl);
	note_heap_peak(s);
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
		if (ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			s->want_write = true;
		session_update_watch(s);
		return;
	}
	if (ret != 0) {
		const char *why = s->io_err != 0 ? tether_err_str(s->io_err)
						 : tls_fail_reason(ret, &s->ssl, &s->verify);
		session_end(s, why);
		return;
	}
	s->tls_up = true;
	s->counted_handshake = false;
	n->handshakes--;
	n->st.handshakes_ok++;
	if (s->peer < 0)
		s->peer = s->verify.peer;
	s->state = SS_HELLO;
	s->flags |= SF_HELLO;
	n->peers[s->peer].not_after = s->verify.not_after;
	session_pump(s);
	if (!s->dead)
		session_event(s, PORT_READ);
}

/* Append one frame to the output buffer; 0 if it does not fit (retry later). */
static int out_frame(struct session *s, uint8_t type, uint32_t stream, const void *p, size_t len)
{
	struct tether_node *n = s->node;
	int r;

	if (n->out_len + FRAME_HEADER_LEN + len > n->out_cap)
		return 0;
	r = frame_build(n->out + n->out_len, n->out_cap - n->out_len, type, stream, p, len);
	if (r < 0)
		return 0;
	n->out_len += (size_t)r;
	return 1;
}

static int out_u32(struct session *s, uint8_t type, uint32_t stream, uint32_t v)
{
	uint8_t b[4];

	frame_u32_encode(v, b);
	return out_frame(s, type, stream, b, 4);
}

/* Owed control frames for the session itself. 0 when the buffer filled. */
static int fill_session(struct session *s)
{
	uint8_t tmp[FRAME_REASON_MAX + 8];
	int len;

	if (s->flags & SF_HELLO) {
		struct frame_hello h;

		memset(&h, 0, sizeof(h));
		h.version = FRAME_VERSION;
		h.max_payload = TETHER_RECORD_SIZE - FRAME_HEADER_LEN;
		h.window = s->node->cfg->limits.stream_window;
		snprintf(h.name, sizeof(h.name), "%s", s->node->cfg->node);
		len = frame_hello_encode(&h, tmp, sizeof(tmp));
		if (len < 0 || !out_frame(s, FRAME_HELLO, 0, tmp, (size_t)len))
			return 0;
		s->flags &= ~SF_HELLO;
	}
	if (s->flags & SF_GOAWAY) {
		len = frame_goaway_encode(s->goaway_code, s->goaway_reason, tmp, sizeof(tmp));
		if (len < 0 || !out_frame(s, FRAME_GOAWAY, 0, tmp, (size_t)len))
			return 0;
		s->flags &= ~SF_GOAWAY;
	}
	if (s->flags & SF_PONG) {
		if (!out_frame(s, FRAME_PONG, 0, s->pong_payload, 8))
			return 0;
		s->flags &= ~SF_PONG;
	}
	if (s->flags & SF_PING) {
		if (!out_frame(s, FRAME_PING, 0, s->ping_payload, 8))
			return 0;
		s->flags &= ~SF_PING;
	}
	while (s->n_resets > 0) {
		struct reset_entry *e = &s->resets[s->n_resets - 1];

		if (!out_u32(s, FRAME_RESET, e->stream, e->code))
			return 0;
		s->n_resets--;
	}
	return 1;
}

/*
 * One stream's owed frames and at most one DATA frame. Returns 1 if it
 * produced something, 0 if nothing, -1 when the buffer is full.
 */
static int fill_stream(struct session *s, struct stream *st)
{
	uint8_t tmp[FRAME_NAME_MAX + 2];
	int did = 0, len;

	if (st->flags & STF_OPEN) {
		len = frame_open_encode(st->service_name, tmp, sizeof(tmp));
		if (len < 0 || !out_frame(s, FRAME_OPEN, st->id, tmp, (size_t)len))
			return -1;
		st->flags &= ~STF_OPEN;
		did = 1;
	}
	if (st->flags & STF_WINDOW) {
		if (!out_u32(s, FRAME_WINDOW, st->id, st->window_owed))
			return -1;
		st->recv_window += st->window_owed;
		st->window_owed = 0;
		st->flags &= ~STF_WINDOW;
		did = 1;
	}
	if (st->rd_ready && !st->local_eof && !st->tx_closed && st->send_window > 0 &&
	    !st->connecting) {
		struct tether_node *n = s->node;
		size_t room = n->out_cap - n->out_len;
		long r;

		if (room < FRAME_HEADER_LEN + 256 && n->out_len > 0)
			return -1;
		room -= FRAME_HEADER_LEN;
		if (room > st->send_window)
			room = st->send_window;
		if (room > s->peer_max_payload)
			room = s->peer_max_payload;
		r = stream_read_local(st, n->out + n->out_len + FRAME_HEADER_LEN, room);
		if (st->dead)
			return did;
		if (r > 0) {
			frame_build(n->out + n->out_len, n->out_cap - n->out_len, FRAME_DATA,
				    st->id, NULL, (size_t)r);
			n->out_len += FRAME_HEADER_LEN + (size_t)r;
			st->send_window -= (uint32_t)r;
			st->sent += (uint64_t)r;
			s->bytes_out += (uint64_t)r;
			s->node->st.bytes_out += (uint64_t)r;
			did = 1;
		}
	}
	if ((st->flags & STF_CLOSE) && !(st->flags & STF_OPEN)) {
		if (!out_frame(s, FRAME_CLOSE, st->id, NULL, 0))
			return -1;
		st->flags &= ~STF_CLOSE;
		st->tx_closed = true;
		did = 1;
		stream_update_watch(st);
		stream_delivered(st); /* may complete the stream */
	}
	return did;
}

static void fill(struct session *s)
{
	bool progress = true;

	if (!fill_session(s))
		return;
	if (s->state != SS_OPEN && s->state != SS_DRAINING)
		return;
	if (s->flags & SF_GOAWAY)
		return;
	while (progress) {
		/* One lap over the streams from the round-robin cursor, one DATA frame each. */
		uint32_t lap = s->n_streams;
		struct stream *st = s->rr != NULL && !s->rr->dead ? s->rr : s->streams;

		progress = false;
		while (lap-- > 0 && st != NULL) {
			struct stream *next = st->next != NULL ? st->next : s->streams;
			int r = fill_stream(s, st);

			/* fill_stream() may end st (never another stream). */
			if (next == st || next->dead)
				next = s->streams;
			if (r < 0) {
				s->rr = st->dead ? next : st;
				return;
			}
			if (r > 0)
				progress = true;
			st = next;
		}
		s->rr = st;
	}
}

/*
 * Hand len bytes of n->out to TLS, or with len 0 finish the record mbedTLS
 * holds (out_pending): 1 done, 0 would block (pending), -1 session ended.
 */
static int tls_put(struct session *s, size_t len)
{
	int r = mbedtls_ssl_write(&s->ssl, len > 0 ? s->node->out : NULL, len);

	if (r >= 0 && (size_t)r == len) {
		s->out_pending = false;
		return 1;
	}
	if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
		s->out_pending = true;
		s->want_write = true;
		session_update_watch(s);
		return 0;
	}
	/* r < len cannot happen: records are assembled within the record limit. */
	session_end(s, s->io_err != 0 ? tether_err_str(s->io_err) : "tls write failed");
	return -1;
}

void session_pump(struct session *s)
{
	struct tether_node *n = s->node;
	int r;

	if (s->dead || !s->tls_up)
		return;
	for (;;) {
		if (s->reset_lost) {
			session_goaway(s, FRAME_GOAWAY_INTERNAL, "too many stream resets pending");
			return;
		}
		if (s->out_pending) {
			r = tls_put(s, 0);
			if (r <= 0)
				return;
			continue;
		}
		n->out_len = 0;
		n->out_cap = sizeof(n->out);
		r = mbedtls_ssl_get_max_out_record_payload(&s->ssl);
		if (r > 0 && (size_t)r < n->out_cap)
			n->out_cap = (size_t)r;
		fill(s);
		if (s->dead)
			return;
		if (n->out_len > 0) {
			r = tls_put(s, n->out_len);
			if (r <= 0)
				return;
			continue;
		}
		if (s->rx_paused && s->n_resets < TETHER_RESET_QUEUE) {
			/* Room again: input may be waiting inside TLS with no socket event to come. */
			s->rx_paused = false;
			session_read(s);
			if (s->dead)
				return;
			continue;
		}
		break;
	}
	s->want_write = false;
	/* A draining session whose streams are done has nothing left to say. */
	if (s->state == SS_DRAINING && s->streams == NULL) {
		session_end(s, s->goaway_reason);
		return;
	}
	session_update_watch(s);
}

void session_goaway(struct session *s, uint32_t code, const char *reason)
{
	if (s->dead)
		return;
	if (!s->tls_up) {
		session_end(s, reason);
		return;
	}
	if (s->flags & SF_GOAWAY || s->goaway_reason[0] != '\0') {
		/* Already said goodbye; an error now ends it at once. */
		if (!is_draining_code(code))
			session_end(s, reason);
		return;
	}
	s->goaway_code = code;
	snprintf(s->goaway_reason, sizeof(s->goaway_reason), "%s", reason);
	s->flags |= SF_GOAWAY;
	if (is_draining_code(code)) {
		/* The caller pumps: this may run in the middle of parsing input. */
		s->state = SS_DRAINING;
		s->t_drain = s->node->now + TETHER_DRAIN_MS;
		return;
	}
	/* Errors: best effort to tell the peer, then end. */
	s->flags &= SF_GOAWAY;
	s->n_resets = 0;
	if (!s->out_pending) {
		struct tether_node *n = s->node;

		n->out_len = 0;
		n->out_cap = sizeof(n->out);
		fill_session(s);
		if (n->out_len > 0)
			(void)mbedtls_ssl_write(&s->ssl, n->out, n->out_len);
	}
	session_end(s, reason);
}

static void protocol_error(struct session *s, int code, const char *why)
{
	char reason[FRAME_REASON_MAX + 1];

	snprintf(reason, sizeof(reason), "protocol error: %s", why);
	session_goaway(s, (uint32_t)code, reason);
}

void session_end(struct session *s, const char *reason)
{
	struct tether_node *n = s->node;
	bool was_up = s->hello_rx; /* t_up may be 0 on a virtual clock */
	struct log_line l;

	if (s->dead)
		return;
	s->dead = true;
	if (s->tls_up) {
		log_begin(&l, &n->log, was_up ? PORT_LOG_INFO : PORT_LOG_WARN, "session_down");
		log_str(&l, "peer", session_peer_name(s));
		log_str(&l, "addr", s->addr);
		log_str(&l, "reason", reason);
		log_u64(&l, "sent", s->bytes_out);
		log_u64(&l, "received", s->bytes_in);
		if (was_up)
			log_u64(&l, "up_s", (n->now - s->t_up) / 1000);
		log_end(&l);
	} else {
		n->st.handshakes_failed++;
		log_begin(&l, &n->log, PORT_LOG_WARN, "handshake_fail");
		log_str(&l, "addr", s->addr);
		log_str(&l, "dir", s->dialed ? "out" : "in");
		if (s->peer >= 0)
			log_str(&l, "peer", session_peer_name(s));
		if (s->verify.id[0] != '\0')
			log_str(&l, "id", s->verify.id);
		log_str(&l, "reason", reason);
		log_end(&l);
	}
	while (s->streams != NULL)
		stream_end(s->streams, true, "session ended");
	if (s->tls_up)
		(void)mbedtls_ssl_close_notify(&s->ssl);
	if (s->h >= 0)
		port_tcp_close(n->port, s->h, s->tls_up ? 0 : 1);
	s->h = -1;
	if (s->counted_handshake) {
		n->handshakes--;
		s->counted_handshake = false;
	}
	mbedtls_ssl_free(&s->ssl);
	if (s->prev_all != NULL)
		s->prev_all->next_all = s->next_all;
	else
		n->all = s->next_all;
	if (s->next_all != NULL)
		s->next_all->prev_all = s->prev_all;
	node_session_gone(n, s, was_up);
	s->next_dead = n->dead_sessions;
	n->dead_sessions = s;
}

/* Ids the peer opens have the parity of its role; ours the other. */
static bool id_is_peers(const struct session *s, uint32_t id)
{
	return (id & 1u) == (s->dialed ? 0u : 1u);
}

/* An id that was used once and is gone now (frames for it may still arrive). */
static bool id_was_used(const struct session *s, uint32_t id)
{
	return id_is_peers(s, id) ? id <= s->last_peer_id : id < s->next_id;
}

static void on_hello(struct session *s)
{
	struct frame_hello h;
	const char *why;
	char reason[FRAME_REASON_MAX + 1];

	/* The version comes first: a HELLO of another version may be laid out otherwise. */
	if (frame_hello_decode(s->rx_buf, s->hdr.length, &h, &why) != 0 &&
	    h.version == FRAME_VERSION) {
		protocol_error(s, FRAME_GOAWAY_PROTOCOL, why);
		return;
	}
	if (h.version != FRAME_VERSION) {
		protocol_error(s, FRAME_GOAWAY_VERSION, "unsupported protocol version");
		return;
	}
	if (strcmp(h.name, session_peer_name(s)) != 0) {
		snprintf(reason, sizeof(reason),
			 "identity mismatch: hello names %s, the certificate is peer %s", h.name,
			 session_peer_name(s));
		session_goaway(s, FRAME_GOAWAY_IDENTITY, reason);
		return;
	}
	s->hello_rx = true;
	s->peer_max_payload = h.max_payload;
	s->peer_window = h.window;
	/* A GOAWAY already sent (shutdown while waiting for this HELLO) still holds. */
	if (s->state == SS_HELLO)
		s->state = SS_OPEN;
	s->t_up = s->node->now;
	node_session_up(s->node, s);
}

static void on_open(struct session *s)
{
	char name[FRAME_NAME_MAX + 1];
	uint32_t id = s->hdr.stream;
	const char *why;

	if (!id_is_peers(s, id) || id <= s->last_peer_id) {
		protocol_error(s, FRAME_GOAWAY_PROTOCOL, "OPEN with a stream id out of sequence");
		return;
	}
	s->last_peer_id = id;
	if (frame_open_decode(s->rx_buf, s->hdr.length, name, &why) != 0) {
		protocol_error(s, FRAME_GOAWAY_PROTOCOL, why);
		return;
	}
	stream_open_service(s, id, name);
}

/* The stream a frame names, NULL if gone (ignore it); an unused id is an error. */
static struct stream *frame_stream(struct session *s, bool *bad)
{
	struct stream *st = stream_find(s, s->hdr.stream);

	*bad = false;
	if (st == NULL && !id_was_used(s, s->hdr.stream)) {
		*bad = true;
		protocol_error(s, FRAME_GOAWAY_PROTOCOL, "frame for a stream never opened");
	}
	return st;
}

static void on_control(struct session *s)
{
	const uint8_t *p = s->rx_buf;
	struct stream *st;
	bool bad;
	uint32_t v;

	switch (s->hdr.type) {
	case FRAME_HELLO:
		on_hello(s);
		return;
	case FRAME_OPEN:
		on_open(s);
		return;
	case FRAME_WINDOW: {
		const char *why;
		int code;

		v = frame_u32_decode(p);
		st = frame_stream(s, &bad);
		if (bad)
			return;
		if (st == NULL) {
			/* A stream that just ended: check the increment all the same. */
			uint32_t w = 0;

			if (frame_window_add(&w, v, &why, &code) != 0)
				protocol_error(s, code, why);
			return;
		}
		if (frame_window_add(&st->send_window, v, &why, &code) != 0) {
			protocol_error(s, code, why);
			return;
		}
		stream_on_window(st, 0);
		return;
	}
	case FRAME_CLOSE:
		st = frame_stream(s, &bad);
		if (st != NULL)
			stream_on_close(st);
		return;
	case FRAME_RESET:
		st = frame_stream(s, &bad);
		if (st != NULL)
			stream_on_reset(st, frame_u32_decode(p));
		return;
	case FRAME_PING:
		memcpy(s->pong_payload, p, 8);
		s->flags |= SF_PONG;
		return;
	case FRAME_PONG:
		s->t_ping = 0;
		return;
	case FRAME_GOAWAY: {
		char reason[FRAME_REASON_MAX + 1], msg[FRAME_REASON_MAX + 64];
		const char *why;

		if (frame_goaway_decode(p, s->hdr.length, &v, reason, &why) != 0) {
			protocol_error(s, FRAME_GOAWAY_PROTOCOL, why);
			return;
		}
		{
			/* "protocol error: ..." already names its code: do not say it twice. */
			const char *name = frame_goaway_name(v);
			size_t nl = strlen(name);
			int named = strncmp(reason, name, nl) == 0 &&
				    (reason[nl] == ':' || reason[nl] == '\0');

			snprintf(msg, sizeof(msg), "goaway from peer: %s%s%s", named ? "" : name,
				 named || reason[0] == '\0' ? "" : ": ", reason);
		}
		s->peer_duplicate = v == FRAME_GOAWAY_DUPLICATE;
		if (is_draining_code(v)) {
			if (s->goaway_reason[0] == '\0')
				snprintf(s->goaway_reason, sizeof(s->goaway_reason), "%.200s", msg);
			/* A second draining GOAWAY does not push the deadline back. */
			if (s->state != SS_DRAINING) {
				s->state = SS_DRAINING;
				s->t_drain = s->node->now + TETHER_DRAIN_MS;
			}
			if (s->streams == NULL)
				session_end(s, msg);
			return;
		}
		session_end(s, msg);
		return;
	}
	}
}

static void on_header(struct session *s)
{
	const char *why;
	int code;
	bool bad;

	if (frame_header_decode(s->rx_hdr, TETHER_RECORD_SIZE - FRAME_HEADER_LEN, &s->hdr, &why,
				&code) != 0) {
		protocol_error(s, code, why);
		return;
	}
	if (!s->hello_rx && s->hdr.type != FRAME_HELLO && s->hdr.type != FRAME_GOAWAY) {
		protocol_error(s, FRAME_GOAWAY_PROTOCOL, "first frame is not HELLO");
		return;
	}
	if (s->hello_rx && s->hdr.type == FRAME_HELLO) {
		protocol_error(s, FRAME_GOAWAY_PROTOCOL, "second HELLO");
		return;
	}
	s->rx_have = 0;
	s->rx_left = s->hdr.length;
	if (s->hdr.type != FRAME_DATA) {
		s->rx = RX_CONTROL;
		if (s->rx_left == 0) {
			s->rx = RX_HEADER;
			on_control(s);
		}
		return;
	}
	s->rx = RX_DISCARD;
	s->rx_stream = frame_stream(s, &bad);
	if (bad)
		return;
	if (s->rx_stream == NULL)
		return;
	if (s->hdr.length > s->rx_stream->recv_window) {
		protocol_error(s, FRAME_GOAWAY_FLOW, "DATA beyond the stream's window");
		return;
	}
	s->rx_stream->recv_window -= s->hdr.length;
	if (s->rx_stream->rx_closed) {
		/* DATA after CLOSE: this stream is broken, the session is not. */
		stream_fail(s->rx_stream, FRAME_RESET_STREAM_ERROR, "data after close");
		s->rx_stream = NULL;
		return;
	}
	s->rx = RX_DATA;
}

/* Where the next bytes of input go, and how many are wanted there. */
static uint8_t *rx_target(struct session *s, size_t *want)
{
	struct stream *st;
	uint32_t tail, contig;

	switch (s->rx) {
	case RX_HEADER:
		*want = FRAME_HEADER_LEN - s->rx_have;
		return s->rx_hdr + s->rx_have;
	case RX_CONTROL:
		*want = s->rx_left;
		return s->rx_buf + s->rx_have;
	case RX_DATA:
		st = s->rx_stream;
		tail = (st->head + st->len) % st->cap;
		contig = st->cap - tail;
		if (contig > st->cap - st->len)
			contig = st->cap - st->len;
		*want = s->rx_left < contig ? s->rx_left : contig;
		return st->buf + tail;
	case RX_DISCARD:
		*want = s->rx_left < sizeof(s->rx_buf) ? s->rx_left : sizeof(s->rx_buf);
		return s->rx_buf;
	}
	*want = 0;
	return NULL;
}

static void rx_done(struct session *s, size_t got)
{
	struct stream *st;

	switch (s->rx) {
	case RX_HEADER:
		s->rx_have += got;
		if (s->rx_have == FRAME_HEADER_LEN)
			on_header(s);
		return;
	case RX_CONTROL:
		s->rx_have += got;
		s->rx_left -= got;
		if (s->rx_left == 0) {
			s->rx = RX_HEADER;
			s->rx_have = 0;
			on_control(s);
		}
		return;
	case RX_DATA:
		st = s->rx_stream;
		st->len += (uint32_t)got;
		st->received += got;
		s->bytes_in += got;
		s->node->st.bytes_in += got;
		s->rx_left -= got;
		if (s->rx_left == 0) {
			s->rx = RX_HEADER;
			s->rx_have = 0;
			s->rx_stream = NULL;
		}
		stream_delivered(st);
		return;
	case RX_DISCARD:
		s->rx_left -= got;
		if (s->rx_left == 0) {
			s->rx = RX_HEADER;
			s->rx_have = 0;
		}
		return;
	}
}

static void session_read(struct session *s)
{
	while (!s->dead) {
		size_t want;
		uint8_t *dst;
		int r;

		if (s->rx == RX_HEADER && s->rx_have == 0 && s->n_resets >= TETHER_RESET_QUEUE) {
			/* Refusals owed pile up: read on once they are sent. */
			s->rx_paused = true;
			return;
		}
		dst = rx_target(s, &want);
		if (want == 0) {
			/* Nothing to read into: a control frame of length 0 is handled in on_header. */
			rx_done(s, 0);
			continue;
		}
		r = mbedtls_ssl_read(&s->ssl, dst, want);
		if (r > 0) {
			rx_done(s, (size_t)r);
			continue;
		}
		if (r == MBEDTLS_ERR_SSL_WANT_READ)
			return;
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
			/* An alert of its own is stuck in mbedTLS: our next write would be
			 * dropped in its place (see out_pending). */
			s->out_pending = true;
			s->want_write = true;
			return;
		}
		if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
		if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
			/* After a GOAWAY either way, the close ends the drain: its reason stands. */
			session_end(s, s->goaway_reason[0] != '\0' ? s->goaway_reason
								   : "closed by peer");
			return;
		}
		if (s->io_err != 0) {
			session_end(s, tether_err_str(s->io_err));
		} else {
			char buf[96], reason[128];

			mbedtls_strerror(r, buf, sizeof(buf));
			snprintf(reason, sizeof(reason), "tls error: %s", buf);
			session_end(s, reason);
		}
		return;
	}
}

void session_event(struct session *s, unsigned events)
{
	int ret;

	if (s->dead)
		return;
	switch (s->state) {
	case SS_CONNECTING:
		if (!(events & (PORT_WRITE | PORT_ERROR)))
			return;
		ret = port_tcp_connect_result(s->node->port, s->h);
		if (ret < 0) {
			s->io_err = ret;
			session_end(s, tether_err_str(ret));
			return;
		}
		start_tls(s);
		return;
	case SS_HANDSHAKE:
		handshake_step(s);
		return;
	default:
		break;
	}
	if (events & (PORT_READ | PORT_ERROR))
		session_read(s);
	session_pump(s);
}

void session_timers(struct session *s, uint64_t now, uint64_t *next)
{
	const struct tether_config *cfg = s->node->cfg;
	uint64_t due;

	if (s->dead)
		return;
	if (s->state < SS_OPEN) {
		due = s->t_start + cfg->tls.handshake_timeout_ms;
		if (now >= due) {
			if (s->tls_up)
				session_goaway(s, FRAME_GOAWAY_TIMEOUT, "hello timeout");
			else
				session_end(s, "handshake timeout");
			return;
		}
		if (due < *next)
			*next = due;
		return;
	}
	if (s->state == SS_DRAINING) {
		if (now >= s->t_drain) {
			session_end(s, "drain deadline passed");
			return;
		}
		if (s->t_drain < *next)
			*next = s->t_drain;
	}
	due = s->t_rx + cfg->keepalive_timeout_ms;
	if (now >= due) {
		session_goaway(s, FRAME_GOAWAY_TIMEOUT, "keepalive timeout");
		return;
	}
	if (due < *next)
		*next = due;
	due = s->t_rx + cfg->keepalive_interval_ms;
	if (now >= due && (s->t_ping == 0 || s->t_ping < s->t_rx)) {
		uint32_t r = node_random(s->node, 0xffffffffu);

		memcpy(s->ping_payload, &now, 4);
		memcpy(s->ping_payload + 4, &r, 4);
		s->flags |= SF_PING;
		s->t_ping = now;
		session_pump(s);
		if (s->dead)
			return;
	} else if (due > now && due < *next) {
		*next = due;
	}
	if (s->state == SS_OPEN && cfg->tls.session_lifetime_s != 0) {
		due = s->t_up + (uint64_t)cfg->tls.session_lifetime_s * 1000u;
		if (now >= due) {
			session_goaway(s, FRAME_GOAWAY_LIFETIME, "session lifetime reached");
			session_pump(s);
		} else if (due < *next)
			*next = due;
	}
}
