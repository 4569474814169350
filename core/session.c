/*
 * session.c: one mutually authenticated TLS connection to a peer node
 * (session.h): mbedTLS's BIO over the port, the handshake, the record loop,
 * and the session's timers. What the frames mean is the mux's (mux.c).
 *
 * Output is assembled in the node's shared buffer, at most one TLS record,
 * by mux_output(), which pulls stream data from local sockets only as far as
 * windows allow; nothing is queued beyond that, so memory does not grow with
 * load. Input is parsed as it arrives: mbedTLS decrypts straight into where
 * the mux wants the bytes (a header, a control payload, a stream's ring).
 */
#include "core/session.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>

#include "core/node_impl.h"
#include "core/rand.h"
#include "core/stream.h"

static void session_read(struct session *s);

const char *session_peer_name(const struct session *s)
{
	if (s->peer >= 0)
		return s->node->cfg->peers[s->peer].name;
	return "";
}

bool session_is_open(const struct session *s)
{
	return s->state == SS_MUX && s->mux.state == MUX_OPEN;
}

bool session_is_draining(const struct session *s)
{
	return s->state == SS_MUX && s->mux.state == MUX_DRAINING;
}

static int bio_send_direct(struct session *s, const unsigned char *buf, size_t len)
{
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

static int bio_recv_direct(struct session *s, unsigned char *buf, size_t len)
{
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

#if TETHER_IO_BATCH > 0
/*
 * Send what s gathered in the node's tx buffer: 1 all gone (the buffer is
 * free again), 0 the socket is full (s keeps the buffer and watches for
 * PORT_WRITE), <0 the transport failed (s->io_err says how).
 */
static int tx_flush(struct session *s)
{
	struct tether_node *n = s->node;

	if (n->tx_owner != s)
		return 1;
	while (n->tx_off < n->tx_len) {
		long r = port_tcp_send(n->port, s->h, n->tx + n->tx_off, n->tx_len - n->tx_off);

		if (r == 0) {
			s->want_write = true;
			return 0;
		}
		if (r < 0) {
			s->io_err = (int)r;
			n->tx_owner = NULL;
			n->tx_off = n->tx_len = 0;
			return -1;
		}
		n->tx_off += (size_t)r;
	}
	n->tx_owner = NULL;
	n->tx_off = n->tx_len = 0;
	return 1;
}

/*
 * mbedTLS hands over one record at a time: gather them while the node's
 * buffer is this session's or free; they leave in one send when the session
 * has pumped (session_flush). A session finding the buffer held by another
 * (blocked) session writes its socket directly.
 */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct session *s = ctx;
	struct tether_node *n = s->node;

	/*
	 * Handshake flights go as mbedTLS writes them: a peer that refuses our
	 * certificate answers the first of them, and its alert must find us
	 * still in the handshake to be told as the handshake's failure.
	 */
	if ((n->tx_owner != NULL && n->tx_owner != s) || s->state == SS_HANDSHAKE)
		return bio_send_direct(s, buf, len);
	if (n->tx_owner == s && TETHER_IO_BATCH - n->tx_len < len) {
		int r = tx_flush(s);

		if (r < 0)
			return MBEDTLS_ERR_NET_SEND_FAILED;
		if (r == 0 && n->tx_off > 0) {
			/* Make room: what is left moves to the front. */
			memmove(n->tx, n->tx + n->tx_off, n->tx_len - n->tx_off);
			n->tx_len -= n->tx_off;
			n->tx_off = 0;
		}
		if (n->tx_owner == s && TETHER_IO_BATCH - n->tx_len < len) {
			s->want_write = true;
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		}
	}
	if (len > TETHER_IO_BATCH)
		return bio_send_direct(s, buf, len);
	memcpy(n->tx + n->tx_len, buf, len);
	n->tx_len += len;
	n->tx_owner = s;
	return (int)len;
}

/*
 * mbedTLS asks for a record's header, then its body: one recv of up to
 * TETHER_IO_BATCH bytes brings many records, kept for this session until it
 * has taken them all (it does before it waits for the socket again: a read
 * loop ends only at WANT_READ, and a paused one is resumed by session_pump).
 */
static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct session *s = ctx;
	struct tether_node *n = s->node;
	long r;

	if (n->rx_owner == s) {
		size_t take = n->rx_len - n->rx_off;

		if (take > len)
			take = len;
		memcpy(buf, n->rx + n->rx_off, take);
		n->rx_off += take;
		if (n->rx_off == n->rx_len) {
			n->rx_owner = NULL;
			n->rx_off = n->rx_len = 0;
		}
		return (int)take;
	}
	if (n->rx_owner != NULL || len >= TETHER_IO_BATCH || s->state == SS_HANDSHAKE)
		return bio_recv_direct(s, buf, len);
	r = bio_recv_direct(s, n->rx, TETHER_IO_BATCH);
	if (r <= 0)
		return (int)r;
	if ((size_t)r <= len) {
		memcpy(buf, n->rx, (size_t)r);
		return (int)r;
	}
	memcpy(buf, n->rx, len);
	n->rx_owner = s;
	n->rx_off = len;
	n->rx_len = (size_t)r;
	return (int)len;
}

static bool session_holds_tx(const struct session *s)
{
	return s->node->tx_owner == s;
}

static bool session_holds_rx(const struct session *s)
{
	return s->node->rx_owner == s;
}

/*
 * The session's gathered records go out: 0 (sent, or waiting for PORT_WRITE,
 * watched), -1 the transport failed and the session ended.
 */
static int session_flush(struct session *s)
{
	int r = tx_flush(s);

	if (r < 0) {
		session_end(s, REASON_IO, tether_err_str(s->io_err));
		return -1;
	}
	if (r == 0)
		session_update_watch(s);
	return 0;
}

/* s is going: what it read ahead is dropped, what it gathered goes if it can at once. */
static void io_release(struct session *s)
{
	struct tether_node *n = s->node;

	if (n->rx_owner == s) {
		n->rx_owner = NULL;
		n->rx_off = n->rx_len = 0;
	}
	if (n->tx_owner == s && tx_flush(s) == 0) {
		n->tx_owner = NULL;
		n->tx_off = n->tx_len = 0;
	}
}

void session_flush_all(struct tether_node *n)
{
	/* One whose socket was full waits for PORT_WRITE: no send to be refused again. */
	if (n->tx_owner != NULL && !n->tx_owner->want_write)
		(void)session_flush(n->tx_owner);
}
#else
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	return bio_send_direct(ctx, buf, len);
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	return bio_recv_direct(ctx, buf, len);
}

static int session_flush(struct session *s)
{
	(void)s;
	return 0;
}

static bool session_holds_tx(const struct session *s)
{
	(void)s;
	return false;
}

static bool session_holds_rx(const struct session *s)
{
	(void)s;
	return false;
}

static void io_release(struct session *s)
{
	(void)s;
}

void session_flush_all(struct tether_node *n)
{
	(void)n;
}
#endif

void session_update_watch(struct session *s)
{
	unsigned ev = 0;

	if (s->state == SS_CLOSED || s->h < 0)
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

void session_want_pump(struct session *s)
{
	struct tether_node *n = s->node;

	if (s->in_pump || s->state == SS_CLOSED)
		return;
	s->in_pump = true;
	s->next_pump = n->pump;
	n->pump = s;
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
	tls_heap_peak_reset();
	s->heap_before = tls_heap_in_use();
	ret = tls_session_setup(&n->tls, &s->ssl, s->dialed, &s->verify, s, bio_send, bio_recv);
	if (ret != 0) {
		session_end(s, REASON_TLS_MEMORY, NULL);
		return;
	}
	s->state = SS_HANDSHAKE;
	session_event(s, PORT_READ | PORT_WRITE);
}

static void count_handshake(struct session *s)
{
	struct tether_node *n = s->node;

	s->counted_handshake = true;
	if (s->dialed)
		n->hs_dial++;
	else
		n->hs_accept++;
	if (++n->handshakes > n->st.handshakes_high)
		n->st.handshakes_high = n->handshakes;
}

/* Its handshake slot is free again (dials and accepts have reserves of their own). */
static void uncount_handshake(struct session *s)
{
	struct tether_node *n = s->node;

	n->handshakes--;
	if (s->dialed)
		n->hs_dial--;
	else
		n->hs_accept--;
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
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	count_handshake(s);
	s->state = SS_CONNECTING;
	ret = port_tcp_connect(n->port, addr, &s->h);
	if (ret < 0) {
		s->io_err = ret;
		session_end(s, REASON_IO, tether_err_str(ret));
		return NULL;
	}
	session_update_watch(s);
	return s;
}

struct session *session_accept(struct tether_node *n, int h, const char *addr, uint64_t t_accept)
{
	struct session *s = session_new(n);

	if (s == NULL) {
		node_pool_exhausted(n, "sessions", NULL, addr);
		port_tcp_close(n->port, h, 1);
		return NULL;
	}
	s->h = h;
	s->t_start = t_accept; /* the handshake timeout counts from the accept */
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	count_handshake(s);
	start_tls(s);
	return s;
}

static void note_heap_peak(struct session *s)
{
	size_t peak = tls_heap_peak();

	if (peak > s->heap_before && peak - s->heap_before > s->heap_peak)
		s->heap_peak = peak - s->heap_before;
}

static void log_up(struct session *s)
{
	struct tether_node *n = s->node;
	struct log_line l;

	n->st.sessions_up++;
	n->st.session_heap_last = tls_heap_in_use() - s->heap_before;
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
}

static void handshake_step(struct session *s)
{
	struct tether_node *n = s->node;
	struct mux_params p;
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
		enum tether_reason why = REASON_IO;
		const char *text = s->io_err != 0 ? tether_err_str(s->io_err)
						  : tls_fail_reason(ret, &s->ssl, &s->verify, &why);

		session_end(s, why, text);
		return;
	}
	s->tls_up = true;
	s->in_small = tls_resize_input(&s->ssl, TETHER_RECORD_SIZE) == 0;
	s->counted_handshake = false;
	uncount_handshake(s);
	n->st.handshakes_ok++;
	if (!s->dialed)
		backoff_note_ok(n, s->addr);
	if (s->peer < 0)
		s->peer = s->verify.peer;
	p.name = n->cfg->node;
	p.peer_name = session_peer_name(s);
	p.window = n->cfg->limits.stream_window;
	p.max_payload = TETHER_RECORD_SIZE - FRAME_HEADER_LEN;
	p.odd_ids = s->dialed;
	p.caps = (TETHER_CRL_MESH ? FRAME_CAP_CRL : 0u) | FRAME_CAP_ROLL |
		 (TETHER_RENEW ? FRAME_CAP_RENEW : 0u);
	mux_init(&s->mux, &p, stream_pull, s);
	s->state = SS_MUX;
	session_pump(s);
	if (s->state != SS_CLOSED)
		session_event(s, PORT_READ);
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
	if (s->io_err != 0)
		session_end(s, REASON_IO, tether_err_str(s->io_err));
	else
		session_end(s, REASON_TLS_ERROR, "tls write failed");
	return -1;
}

/*
 * The mux's output broke a stream (its pull failed) or sent a CLOSE that may
 * complete one: act on it now. Only then: this runs after every record.
 */
static void after_output(struct session *s)
{
	struct mux_stream *ms, *next;

	if (!s->mux.streams_changed)
		return;
	s->mux.streams_changed = false;
	for (ms = s->mux.streams; ms != NULL; ms = next) {
		next = ms->next;
		if (ms->broken || ms->tx_closed)
			stream_after_output(stream_of(ms));
	}
}

void session_pump(struct session *s)
{
	struct tether_node *n = s->node;
	uint64_t sent;
	size_t cap;
	int r;

	if (s->state != SS_MUX)
		return;
	/* Records gathered earlier and held up by a full socket go first. */
	if (session_flush(s) < 0 || session_holds_tx(s))
		return;
	for (;;) {
		if (s->mux.reset_lost) {
			session_goaway(s, FRAME_GOAWAY_INTERNAL, REASON_RESETS_PENDING);
			return;
		}
		if (s->out_pending) {
			r = tls_put(s, 0);
			if (r <= 0)
				return;
			continue;
		}
		cap = sizeof(n->out);
		r = mbedtls_ssl_get_max_out_record_payload(&s->ssl);
		if (r > 0 && (size_t)r < cap)
			cap = (size_t)r;
		sent = s->mux.bytes_out;
		n->out_len = mux_output(&s->mux, n->out, cap);
		n->st.bytes_out += s->mux.bytes_out - sent;
		after_output(s);
		if (s->state != SS_MUX)
			return;
		if (n->out_len > 0) {
			r = tls_put(s, n->out_len);
			if (r <= 0)
				return;
			continue;
		}
		if (s->rx_paused && !mux_input_full(&s->mux)) {
			/* What is owed leaves before more input is taken. */
			if (session_flush(s) < 0 || session_holds_tx(s))
				return;
			/* Room again: input may be waiting inside TLS with no socket event to come. */
			s->rx_paused = false;
			session_read(s);
			if (s->state != SS_MUX)
				return;
			continue;
		}
		break;
	}
	s->want_write = false;
	/* Everything this pump produced leaves in one send (or waits for PORT_WRITE). */
	if (session_flush(s) < 0)
		return;
	/* A draining session whose streams are done has nothing left to say. */
	if (s->mux.state == MUX_DRAINING && s->mux.streams == NULL) {
		session_end(s, s->drain_reason, s->drain_text);
		return;
	}
	session_update_watch(s);
}

/* A fatal GOAWAY is owed: tell the peer if TLS takes it at once, then end. */
static void fail_now(struct session *s, enum tether_reason why, const char *text)
{
	struct tether_node *n = s->node;

	if (s->mux.owe_goaway && !s->out_pending) {
		n->out_len = mux_output(&s->mux, n->out, sizeof(n->out));
		if (n->out_len > 0)
			(void)mbedtls_ssl_write(&s->ssl, n->out, n->out_len);
	}
	session_end(s, why, text);
}

/* A draining session carries its streams until they end, or tls.drain_s at most. */
static uint64_t session_drain_deadline(const struct session *s)
{
	return s->node->now + (uint64_t)s->node->cfg->tls.drain_s * 1000u;
}

void session_goaway_because(struct session *s, uint32_t code, enum tether_reason why,
			    const char *detail)
{
	const char *text = detail != NULL ? detail : reason_name(why);

	if (s->state == SS_CLOSED)
		return;
	if (!s->tls_up) {
		session_end(s, why, detail);
		return;
	}
	if (!mux_goaway(&s->mux, code, text)) {
		/* Already said goodbye, or heard it; an error now ends it at once. */
		if (!mux_code_drains(code))
			session_end(s, why, detail);
		return;
	}
	if (mux_code_drains(code)) {
		/* The caller pumps: this may run in the middle of parsing input. */
		s->drain_reason = why;
		snprintf(s->drain_text, sizeof(s->drain_text), "%s", text);
		s->t_drain = session_drain_deadline(s);
		return;
	}
	fail_now(s, why, detail);
}

void session_goaway(struct session *s, uint32_t code, enum tether_reason why)
{
	session_goaway_because(s, code, why, NULL);
}

void session_end(struct session *s, enum tether_reason why, const char *detail)
{
	struct tether_node *n = s->node;
	bool was_up = session_was_up(s);
	const char *reason = detail != NULL ? detail : reason_name(why);
	struct log_line l;
	bool had_mux;

	if (s->state == SS_CLOSED)
		return;
	crl_session_gone(n, s);
	renew_session_gone(n, s);
	if (s->peer >= 0)
		snprintf(n->peers[s->peer].last_error, sizeof(n->peers[s->peer].last_error), "%s",
			 reason);
	if (s->tls_up) {
		n->st.sessions_ended[why]++;
		log_begin(&l, &n->log, was_up ? PORT_LOG_INFO : PORT_LOG_WARN, "session_down");
		log_str(&l, "peer", session_peer_name(s));
		log_str(&l, "addr", s->addr);
		log_str(&l, "reason", reason);
		log_u64(&l, "sent", s->mux.bytes_out);
		log_u64(&l, "received", s->mux.bytes_in);
		if (was_up)
			log_u64(&l, "up_s", (n->now - s->t_up) / 1000);
		log_end(&l);
	} else {
		n->st.handshakes_failed++;
		n->st.handshakes_refused[why]++;
		log_begin(&l, &n->log, PORT_LOG_WARN, "handshake_fail");
		log_str(&l, "addr", s->addr);
		log_str(&l, "dir", s->dialed ? "out" : "in");
		if (s->peer >= 0)
			log_str(&l, "peer", session_peer_name(s));
		if (s->verify.id[0] != '\0')
			log_str(&l, "id", s->verify.id);
		log_str(&l, "reason", reason);
		log_end(&l);
		/* Accepted ones only: our own dials failing say nothing of a source. */
		if (!s->dialed)
			backoff_note_fail(n, s->addr, why);
	}
	had_mux = s->state == SS_MUX;
	if (had_mux && s->peer >= 0) {
		/* The peer's totals take this session's bytes as it leaves the live list. */
		n->peers[s->peer].bytes_in += s->mux.bytes_in;
		n->peers[s->peer].bytes_out += s->mux.bytes_out;
	}
	/* Closed first: its streams' ends ask nothing more of it. */
	s->state = SS_CLOSED;
	if (had_mux) {
		while (s->mux.streams != NULL)
			stream_end(stream_of(s->mux.streams), true, 0, REASON_SESSION_ENDED, NULL);
	}
	if (was_up && n->st.sessions_up > 0)
		n->st.sessions_up--;
	if (s->tls_up)
		(void)mbedtls_ssl_close_notify(&s->ssl);
	io_release(s);
	if (s->h >= 0)
		port_tcp_close(n->port, s->h, s->tls_up ? 0 : 1);
	s->h = -1;
	if (s->counted_handshake) {
		uncount_handshake(s);
		s->counted_handshake = false;
	}
	mbedtls_ssl_free(&s->ssl);
	if (s->prev_all != NULL)
		s->prev_all->next_all = s->next_all;
	else
		n->all = s->next_all;
	if (s->next_all != NULL)
		s->next_all->prev_all = s->prev_all;
	s->next_dead = n->dead_sessions;
	n->dead_sessions = s;
}

static void on_open(struct session *s, const struct mux_event *ev)
{
	stream_open_service(s, ev->id, ev->text);
}

static void on_goaway(struct session *s, const struct mux_event *ev)
{
	s->peer_duplicate = ev->code == FRAME_GOAWAY_DUPLICATE;
	if (!mux_code_drains(ev->code)) {
		session_end(s, REASON_GOAWAY_FROM_PEER, ev->text);
		return;
	}
	if (s->drain_text[0] == '\0') {
		s->drain_reason = REASON_GOAWAY_FROM_PEER;
		snprintf(s->drain_text, sizeof(s->drain_text), "%.200s", ev->text);
	}
	/* A second draining GOAWAY does not push the deadline back. */
	if (s->t_drain == 0)
		s->t_drain = session_drain_deadline(s);
	if (s->mux.streams == NULL)
		session_end(s, REASON_GOAWAY_FROM_PEER, ev->text);
}

static void on_event(struct session *s, const struct mux_event *ev)
{
	switch (ev->type) {
	case MUX_EV_NONE:
		return;
	case MUX_EV_UP:
		s->t_up = s->node->now;
		log_up(s);
		s->came_up = true;
		session_want_pump(s);
		crl_announce(s->node, s);
		renew_session_up(s->node, s);
		return;
	case MUX_EV_CRL_HAVE:
		crl_on_have(s->node, s);
		return;
	case MUX_EV_CRL_GET:
		crl_on_get(s->node, s);
		return;
	case MUX_EV_CRL:
		crl_on_complete(s->node, s, ev->len);
		return;
	case MUX_EV_CRL_BAD:
		crl_on_bad(s->node, s, ev->text);
		return;
	case MUX_EV_RENEW_HEAD:
		renew_on_head(s->node, s, ev->code, ev->len);
		return;
	case MUX_EV_RENEW:
		renew_on_frame(s->node, s, ev->code, ev->len);
		return;
	case MUX_EV_ROLL:
		/* The acceptor's certificate changed, or its lifetime passed: roll, make before break. */
		if (s->dialed && session_is_open(s) && s->roll_why == REASON_NONE)
			s->roll_why = REASON_ROTATED;
		return;
	case MUX_EV_OPEN:
		on_open(s, ev);
		return;
	case MUX_EV_PONG:
		s->t_ping = 0;
		return;
	case MUX_EV_GOAWAY:
		on_goaway(s, ev);
		return;
	case MUX_EV_FATAL:
		fail_now(s,
			 ev->code == FRAME_GOAWAY_IDENTITY ? REASON_IDENTITY_MISMATCH
							   : REASON_PROTOCOL,
			 ev->text);
		return;
	default:
		stream_on_mux(stream_of(ev->st), ev);
		return;
	}
}

/*
 * Plaintext bytes one read pass takes before the session's output runs: a
 * peer that sends faster than this node decrypts would otherwise keep the
 * pass going, and the PONGs and WINDOWs it is owed waiting, as long as it
 * sends. The pass pauses input (rx_paused); session_pump sends what is owed
 * and resumes it, so bytes held outside the socket (read ahead, or inside
 * mbedTLS) are taken without waiting for a socket event.
 */
#define READ_PASS_BYTES (256u * 1024u)

static void read_records(struct session *s)
{
	size_t taken = 0;

	while (s->state == SS_MUX) {
		struct mux_event ev;
		size_t want;
		uint8_t *dst = mux_input_buf(&s->mux, &want);
		int r;

		if (dst == NULL) {
			/* Refusals or PONGs owed pile up: read on once they are sent. */
			s->rx_paused = true;
			return;
		}
		r = mbedtls_ssl_read(&s->ssl, dst, want);
		if (r > 0) {
			mux_input_ack(&s->mux, (size_t)r, &ev);
			if (ev.type == MUX_EV_DATA)
				s->node->st.bytes_in += ev.len;
			on_event(s, &ev);
			taken += (size_t)r;
			if (taken >= READ_PASS_BYTES && s->state == SS_MUX) {
				s->rx_paused = true;
				return;
			}
			continue;
		}
		if (r == MBEDTLS_ERR_SSL_WANT_READ) {
			if (!s->in_small)
				s->in_small = tls_resize_input(&s->ssl, TETHER_RECORD_SIZE) == 0;
			return;
		}
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
			if (s->drain_text[0] != '\0')
				session_end(s, s->drain_reason, s->drain_text);
			else
				session_end(s, REASON_CLOSED_BY_PEER, NULL);
			return;
		}
		if (s->io_err != 0) {
			session_end(s, REASON_IO, tether_err_str(s->io_err));
		} else if (r == MBEDTLS_ERR_SSL_INVALID_MAC && s->dialed && !s->mux.hello_rx &&
			   mbedtls_ssl_get_version_number(&s->ssl) == MBEDTLS_SSL_VERSION_TLS1_3) {
			/*
			 * A TLS 1.3 server that refuses this node's certificate sends
			 * its alert under the handshake keys, after our Finished, when
			 * this side already reads with the application keys: the alert
			 * cannot be authenticated. Before the peer's HELLO that is the
			 * peer refusing the handshake, and it is logged and counted as
			 * a handshake failure (handshake_fail), not as a session that
			 * went down.
			 */
			s->tls_up = false;
			session_end(
				s, REASON_TLS_ALERT,
				"refused by peer after our certificate (its alert was unreadable)");
		} else if (tls_record_error(r) != NULL) {
			/* In words: "record too large", not "Bad input parameters to function". */
			session_end(s, REASON_TLS_ERROR, tls_record_error(r));
		} else {
			char buf[96], reason[144];

			mbedtls_strerror(r, buf, sizeof(buf));
			snprintf(reason, sizeof(reason), "tls error: %s (-0x%04x)", buf,
				 (unsigned)-r);
			session_end(s, REASON_TLS_ERROR, reason);
		}
		return;
	}
}

static void session_read(struct session *s)
{
	read_records(s);
	if (s->state == SS_MUX)
		stream_flush_owed(s);
}

void session_event(struct session *s, unsigned events)
{
	int ret;

	switch (s->state) {
	case SS_CLOSED:
		return;
	case SS_CONNECTING:
		if (!(events & (PORT_WRITE | PORT_ERROR)))
			return;
		ret = port_tcp_connect_result(s->node->port, s->h);
		if (ret < 0) {
			s->io_err = ret;
			session_end(s, REASON_IO, tether_err_str(ret));
			return;
		}
		start_tls(s);
		return;
	case SS_HANDSHAKE:
		handshake_step(s);
		return;
	case SS_MUX:
		break;
	}
	/* Bytes read ahead raise no socket event: take them whatever the event. */
	if ((events & (PORT_READ | PORT_ERROR)) || session_holds_rx(s))
		session_read(s);
	session_pump(s);
}

void session_timers(struct session *s, uint64_t now, uint64_t *next)
{
	const struct tether_config *cfg = s->node->cfg;
	uint64_t due;

	if (s->state == SS_CLOSED)
		return;
	if (s->state != SS_MUX || s->mux.state == MUX_HELLO) {
		due = s->t_start + cfg->tls.handshake_timeout_ms;
		if (now >= due) {
			if (s->tls_up)
				session_goaway(s, FRAME_GOAWAY_TIMEOUT, REASON_HELLO_TIMEOUT);
			else
				session_end(s, REASON_HANDSHAKE_TIMEOUT, NULL);
			return;
		}
		if (due < *next)
			*next = due;
		return;
	}
	if (s->mux.state == MUX_DRAINING) {
		if (now >= s->t_drain) {
			session_end(s, REASON_DRAIN_DEADLINE, NULL);
			return;
		}
		if (s->t_drain < *next)
			*next = s->t_drain;
	}
	due = s->t_rx + cfg->keepalive_timeout_ms;
	if (now >= due) {
		session_goaway(s, FRAME_GOAWAY_TIMEOUT, REASON_KEEPALIVE_TIMEOUT);
		return;
	}
	if (due < *next)
		*next = due;
	due = s->t_rx + cfg->keepalive_interval_ms;
	if (now >= due && (s->t_ping == 0 || s->t_ping < s->t_rx)) {
		uint32_t r = tether_random_below(0xffffffffu);
		uint8_t payload[8];

		memcpy(payload, &now, 4);
		memcpy(payload + 4, &r, 4);
		mux_ping(&s->mux, payload);
		s->t_ping = now;
		session_pump(s);
		if (s->state != SS_MUX)
			return;
	} else if (due > now && due < *next) {
		*next = due;
	}
	if (s->mux.state == MUX_OPEN && cfg->tls.session_lifetime_s != 0) {
		/*
		 * The dialer rolls at the lifetime: a new session first, then this one
		 * drains. The accepting side waits a handshake longer for that, then
		 * asks the dialer to reconnect with a draining GOAWAY.
		 */
		due = s->t_up + (uint64_t)cfg->tls.session_lifetime_s * 1000u;
		if (!s->dialed)
			due += cfg->tls.handshake_timeout_ms;
		if (now < due) {
			if (due < *next)
				*next = due;
		} else if (s->dialed) {
			if (s->roll_why == REASON_NONE)
				s->roll_why = REASON_LIFETIME;
		} else if (!s->roll_asked && mux_roll(&s->mux)) {
			/* Ask the dialer to roll; if it has not within a handshake, GOAWAY. */
			s->roll_asked = true;
			session_pump(s);
			due = now + cfg->tls.handshake_timeout_ms;
			if (due < *next)
				*next = due;
		} else if (!s->roll_asked || now >= due + cfg->tls.handshake_timeout_ms) {
			session_goaway(s, FRAME_GOAWAY_LIFETIME, REASON_LIFETIME);
			session_pump(s);
		} else if (due + cfg->tls.handshake_timeout_ms < *next) {
			*next = due + cfg->tls.handshake_timeout_ms;
		}
	}
}
