/*
 * test_mux.c: the frame engine without TLS or sockets: two muxes joined by a
 * loop in memory, and hand-made frames for the faults a peer can commit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/frame.h"
#include "core/mux.h"

#define WINDOW 8192u
#define MAX_PAYLOAD 4088u
#define RECORD 4096u
#define MAX_STREAMS 40

/* A stream and its local side: a source to send from, a sink to deliver to. */
struct tstream {
	struct mux_stream m;
	uint8_t ring[WINDOW];
	const uint8_t *src;
	size_t src_len;
	size_t src_off;
	bool src_eof;  /* EOF once src is sent */
	bool src_fail; /* the local side fails on the next read */
	bool would_block;
	uint8_t sink[1 << 16];
	size_t sink_len;
};

struct side {
	struct mux mux;
	struct tstream st[MAX_STREAMS];
	unsigned n_st;
	struct mux_event events[256];
	unsigned n_events;
};

static long pull(void *user, struct mux_stream *ms, uint8_t *dst, size_t room)
{
	struct tstream *t = (struct tstream *)ms;
	size_t n;

	(void)user;
	if (t->src_fail)
		return MUX_PULL_FAIL;
	if (t->would_block)
		return 0;
	n = t->src_len - t->src_off;
	if (n == 0)
		return t->src_eof ? MUX_PULL_EOF : 0;
	if (n > room)
		n = room;
	memcpy(dst, t->src + t->src_off, n);
	t->src_off += n;
	return (long)n;
}

static void side_init(struct side *s, const char *name, const char *peer, bool odd)
{
	struct mux_params p = {name, peer, WINDOW, MAX_PAYLOAD, odd, FRAME_CAP_CRL};

	memset(s, 0, sizeof(*s));
	mux_init(&s->mux, &p, pull, s);
}

static struct tstream *new_stream(struct side *s)
{
	struct tstream *t;

	assert_true(s->n_st < MAX_STREAMS);
	t = &s->st[s->n_st++];
	memset(t, 0, sizeof(*t));
	ring_init(&t->m.rx, t->ring, WINDOW);
	return t;
}

/* Deliver everything in t's ring to its sink. */
static void drain(struct side *s, struct tstream *t)
{
	size_t n;
	const uint8_t *p;

	while ((p = ring_read_span(&t->m.rx, &n)), n > 0) {
		assert_true(t->sink_len + n <= sizeof(t->sink));
		memcpy(t->sink + t->sink_len, p, n);
		t->sink_len += n;
		mux_stream_consumed(&s->mux, &t->m, n);
	}
}

/* Feed bytes to s, recording events; streams the peer opens are accepted. */
static void feed(struct side *s, const uint8_t *p, size_t len)
{
	while (len > 0) {
		struct mux_event ev;
		size_t used = mux_input(&s->mux, p, len, &ev);

		if (ev.type != MUX_EV_NONE) {
			assert_true(s->n_events < 256);
			s->events[s->n_events++] = ev;
		}
		if (ev.type == MUX_EV_OPEN) {
			struct tstream *t = new_stream(s);

			mux_stream_accept(&s->mux, &t->m, ev.id, ev.text);
		}
		if (ev.type == MUX_EV_FATAL)
			return;
		if (used == 0)
			return; /* paused */
		p += used;
		len -= used;
	}
}

/* One record from a to b; returns its length. */
static size_t step(struct side *a, struct side *b)
{
	uint8_t buf[RECORD];
	size_t n = mux_output(&a->mux, buf, sizeof(buf));

	feed(b, buf, n);
	return n;
}

/* Until neither side has anything to say. */
static void settle(struct side *a, struct side *b)
{
	int rounds = 0;

	while (step(a, b) + step(b, a) > 0)
		assert_true(++rounds < 10000);
}

static bool saw(const struct side *s, enum mux_event_type type)
{
	for (unsigned i = 0; i < s->n_events; i++)
		if (s->events[i].type == type)
			return true;
	return false;
}

static const struct mux_event *last(const struct side *s)
{
	assert_true(s->n_events > 0);
	return &s->events[s->n_events - 1];
}

static struct side A, B;

static void up(void)
{
	side_init(&A, "alpha", "beta", true);
	side_init(&B, "beta", "alpha", false);
	settle(&A, &B);
	assert_int_equal(A.mux.state, MUX_OPEN);
	assert_int_equal(B.mux.state, MUX_OPEN);
	assert_true(saw(&A, MUX_EV_UP));
	assert_true(saw(&B, MUX_EV_UP));
	A.n_events = B.n_events = 0;
}

static void test_hello_and_data(void **state)
{
	static uint8_t data[50000];
	struct tstream *t;

	(void)state;
	up();
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	t = new_stream(&A);
	t->src = data;
	t->src_len = sizeof(data);
	t->src_eof = true;
	assert_int_equal(mux_stream_open(&A.mux, &t->m, "db"), 1);
	mux_stream_readable(&A.mux, &t->m);
	for (int i = 0;
	     i < 1000 && !(B.n_st > 0 && B.st[0].m.rx_closed && ring_used(&B.st[0].m.rx) == 0);
	     i++) {
		step(&A, &B);
		if (B.n_st > 0)
			drain(&B, &B.st[0]);
		step(&B, &A);
	}
	assert_int_equal(B.n_st, 1);
	assert_string_equal(B.st[0].m.service, "db");
	assert_int_equal(B.st[0].sink_len, sizeof(data));
	assert_memory_equal(B.st[0].sink, data, sizeof(data));
	assert_true(B.st[0].m.rx_closed);
	assert_true(A.st[0].m.tx_closed);
	assert_int_equal(A.mux.bytes_out, sizeof(data));
	assert_int_equal(B.mux.bytes_in, sizeof(data));
	/* Credit came back as WINDOW frames: A saw them. */
	assert_true(saw(&A, MUX_EV_WINDOW));
}

/* Owed OPENs leave in id order, wherever the round-robin cursor stands. */
static void test_open_order(void **state)
{
	static const uint8_t byte = 'x';
	struct tstream *t[6];
	uint8_t buf[RECORD];
	size_t n, off = 0;
	uint32_t last_id = 0;
	unsigned opens = 0;

	(void)state;
	up();
	/* A stream with data moves the cursor off the head of the list. */
	for (int i = 0; i < 2; i++) {
		t[i] = new_stream(&A);
		t[i]->src = &byte;
		t[i]->src_len = 1;
		mux_stream_open(&A.mux, &t[i]->m, "svc");
		mux_stream_readable(&A.mux, &t[i]->m);
	}
	settle(&A, &B);
	for (int i = 2; i < 6; i++) {
		t[i] = new_stream(&A);
		mux_stream_open(&A.mux, &t[i]->m, "svc");
	}
	n = mux_output(&A.mux, buf, sizeof(buf));
	while (off < n) {
		struct frame_header h;
		const char *why;

		assert_int_equal(frame_header_decode(buf + off, MAX_PAYLOAD, &h, &why, NULL), 0);
		if (h.type == FRAME_OPEN) {
			assert_true(h.stream > last_id);
			last_id = h.stream;
			opens++;
		}
		off += FRAME_HEADER_LEN + h.length;
	}
	assert_int_equal(opens, 4);
	assert_int_equal(last_id, 11);
	feed(&B, buf, n);
	assert_false(saw(&B, MUX_EV_FATAL));
	assert_int_equal(B.n_st, 6);
}

/* The peer's DATA never exceeds the window; credit returns at half a window. */
static void test_window(void **state)
{
	static uint8_t data[3 * WINDOW];
	struct tstream *t;

	(void)state;
	up();
	memset(data, 0xab, sizeof(data));
	t = new_stream(&A);
	t->src = data;
	t->src_len = sizeof(data);
	mux_stream_open(&A.mux, &t->m, "svc");
	mux_stream_readable(&A.mux, &t->m);
	settle(&A, &B);
	/* B delivered nothing: A stopped at exactly one window. */
	assert_int_equal(t->src_off, WINDOW);
	assert_int_equal(t->m.send_window, 0);
	assert_int_equal(B.st[0].m.recv_window, 0);
	assert_int_equal(ring_used(&B.st[0].m.rx), WINDOW);
	/* Less than half delivered: no WINDOW yet. */
	{
		size_t n;

		(void)ring_read_span(&B.st[0].m.rx, &n);
		mux_stream_consumed(&B.mux, &B.st[0].m, WINDOW / 2 - 1);
	}
	A.n_events = 0;
	settle(&A, &B);
	assert_false(saw(&A, MUX_EV_WINDOW));
	mux_stream_consumed(&B.mux, &B.st[0].m, 1);
	mux_stream_readable(&A.mux, &t->m);
	settle(&A, &B);
	assert_true(saw(&A, MUX_EV_WINDOW));
	assert_int_equal(t->src_off, WINDOW + WINDOW / 2);
	/* The invariant the receiver keeps: granted + held + owed = the ring. */
	assert_int_equal(B.st[0].m.recv_window + ring_used(&B.st[0].m.rx) + B.st[0].m.window_owed,
			 WINDOW);
}

/* A frame of the peer's, by hand. */
static size_t frame(uint8_t *out, uint8_t type, uint32_t id, const void *p, size_t len)
{
	int n = frame_build(out, RECORD, type, id, p, len);

	assert_true(n > 0);
	return (size_t)n;
}

static size_t hello(uint8_t *out, const char *name)
{
	struct frame_hello h;
	uint8_t p[80];
	int n;

	memset(&h, 0, sizeof(h));
	h.version = FRAME_VERSION;
	h.max_payload = MAX_PAYLOAD;
	h.window = WINDOW;
	snprintf(h.name, sizeof(h.name), "%s", name);
	n = frame_hello_encode(&h, p, sizeof(p));
	assert_true(n > 0);
	return frame(out, FRAME_HELLO, 0, p, (size_t)n);
}

static size_t open_frame(uint8_t *out, uint32_t id, const char *svc)
{
	uint8_t p[70];
	int n = frame_open_encode(svc, p, sizeof(p));

	assert_true(n > 0);
	return frame(out, FRAME_OPEN, id, p, (size_t)n);
}

/* B (accepting side, peer "alpha") reads buf; its last event is FATAL with code and text. */
static void expect_fatal(const uint8_t *buf, size_t len, uint32_t code, const char *text)
{
	uint8_t out[RECORD];
	size_t n;
	struct frame_header h;
	const char *why;
	char reason[FRAME_REASON_MAX + 1];
	uint32_t sent;

	side_init(&B, "beta", "alpha", false);
	(void)mux_output(&B.mux, out, sizeof(out)); /* our HELLO */
	feed(&B, buf, len);
	assert_int_equal(last(&B)->type, MUX_EV_FATAL);
	assert_int_equal(last(&B)->code, code);
	assert_string_equal(last(&B)->text, text);
	assert_int_equal(B.mux.state, MUX_FAILED);
	/* Nothing more is read, and the GOAWAY is all that leaves. */
	n = sizeof(out);
	assert_null(mux_input_buf(&B.mux, &n));
	n = mux_output(&B.mux, out, sizeof(out));
	assert_int_equal(frame_header_decode(out, MAX_PAYLOAD, &h, &why, NULL), 0);
	assert_int_equal(h.type, FRAME_GOAWAY);
	assert_int_equal(n, FRAME_HEADER_LEN + h.length);
	assert_int_equal(frame_goaway_decode(out + FRAME_HEADER_LEN, h.length, &sent, reason, &why),
			 0);
	assert_int_equal(sent, code);
	assert_string_equal(reason, text);
}

static void test_faults(void **state)
{
	uint8_t buf[4 * RECORD], b4[4] = {0, 0, 0x10, 0};
	size_t n;

	(void)state;
	n = frame(buf, FRAME_PING, 0, "12345678", 8);
	expect_fatal(buf, n, FRAME_GOAWAY_PROTOCOL, "protocol error: first frame is not HELLO");

	n = hello(buf, "alpha");
	n += hello(buf + n, "alpha");
	expect_fatal(buf, n, FRAME_GOAWAY_PROTOCOL, "protocol error: second HELLO");

	n = hello(buf, "mallory");
	expect_fatal(buf, n, FRAME_GOAWAY_IDENTITY,
		     "identity mismatch: hello names mallory, the certificate is peer alpha");

	n = hello(buf, "alpha");
	n += open_frame(buf + n, 3, "svc");
	n += open_frame(buf + n, 1, "svc");
	expect_fatal(buf, n, FRAME_GOAWAY_PROTOCOL,
		     "protocol error: OPEN with a stream id out of sequence");

	n = hello(buf, "alpha");
	n += open_frame(buf + n, 2, "svc"); /* B's own parity */
	expect_fatal(buf, n, FRAME_GOAWAY_PROTOCOL,
		     "protocol error: OPEN with a stream id out of sequence");

	n = hello(buf, "alpha");
	n += frame(buf + n, FRAME_CLOSE, 7, NULL, 0);
	expect_fatal(buf, n, FRAME_GOAWAY_PROTOCOL,
		     "protocol error: frame for a stream never opened");

	{
		static uint8_t big[MAX_PAYLOAD];

		n = hello(buf, "alpha");
		n += open_frame(buf + n, 1, "svc");
		n += frame(buf + n, FRAME_DATA, 1, big, MAX_PAYLOAD);
		n += frame(buf + n, FRAME_DATA, 1, big, MAX_PAYLOAD);
		n += frame(buf + n, FRAME_DATA, 1, big, 100);
		expect_fatal(buf, n, FRAME_GOAWAY_FLOW,
			     "protocol error: DATA beyond the stream's window");
	}

	n = hello(buf, "alpha");
	n += open_frame(buf + n, 1, "svc");
	b4[0] = 0x7f;
	b4[1] = b4[2] = b4[3] = 0xff;
	n += frame(buf + n, FRAME_WINDOW, 1, b4, 4);
	expect_fatal(buf, n, FRAME_GOAWAY_FLOW, "protocol error: window over 2^31-1");
}

/* The peer's misuse of one stream breaks that stream, not the session. */
static void test_stream_errors(void **state)
{
	uint8_t buf[RECORD], out[RECORD];
	size_t n;

	(void)state;
	side_init(&B, "beta", "alpha", false);
	(void)mux_output(&B.mux, out, sizeof(out));
	n = hello(buf, "alpha");
	n += open_frame(buf + n, 1, "svc");
	n += frame(buf + n, FRAME_CLOSE, 1, NULL, 0);
	n += frame(buf + n, FRAME_DATA, 1, "abc", 3);
	feed(&B, buf, n);
	assert_int_equal(last(&B)->type, MUX_EV_STREAM_ERROR);
	assert_int_equal(last(&B)->code, FRAME_RESET_STREAM_ERROR);
	assert_string_equal(last(&B)->text, "data after close");
	assert_int_equal(B.mux.state, MUX_OPEN);
	mux_stream_detach(&B.mux, &B.st[0].m, last(&B)->code);
	n = mux_output(&B.mux, out, sizeof(out));
	{
		struct frame_header h;
		const char *why;

		assert_int_equal(frame_header_decode(out, MAX_PAYLOAD, &h, &why, NULL), 0);
		assert_int_equal(h.type, FRAME_RESET);
		assert_int_equal(h.stream, 1);
		assert_int_equal(frame_u32_decode(out + FRAME_HEADER_LEN),
				 FRAME_RESET_STREAM_ERROR);
	}
	/* Frames for the stream now gone are ignored. */
	n = frame(buf, FRAME_WINDOW, 1, "\0\0\1\0", 4);
	B.n_events = 0;
	feed(&B, buf, n);
	assert_int_equal(B.n_events, 0);
}

/* Refusals owed fill the RESET queue: input pauses until they leave. */
static void test_reset_queue_pauses_input(void **state)
{
	uint8_t buf[RECORD], out[RECORD];
	size_t n = 0, used;
	struct mux_event ev;
	uint32_t id;

	(void)state;
	side_init(&B, "beta", "alpha", false);
	(void)mux_output(&B.mux, out, sizeof(out));
	n = hello(buf, "alpha");
	for (id = 1; id <= 2 * TETHER_RESET_QUEUE + 1; id += 2)
		n += open_frame(buf + n, id, "nope");
	used = 0;
	for (;;) {
		size_t k = mux_input(&B.mux, buf + used, n - used, &ev);

		used += k;
		if (ev.type == MUX_EV_OPEN)
			mux_refuse(&B.mux, ev.id, FRAME_RESET_NO_SERVICE);
		if (k == 0)
			break;
	}
	assert_int_equal(B.mux.n_resets, TETHER_RESET_QUEUE);
	assert_true(used < n);
	n -= used;
	memmove(buf, buf + used, n);
	(void)mux_output(&B.mux, out, sizeof(out));
	assert_int_equal(B.mux.n_resets, 0);
	used = mux_input(&B.mux, buf, n, &ev);
	assert_int_equal(ev.type, MUX_EV_OPEN);
	assert_int_equal(ev.id, 2 * TETHER_RESET_QUEUE + 1);
	assert_false(B.mux.reset_lost);
}

/* GOAWAY: draining codes let streams finish; a second one is not sent. */
static void test_goaway(void **state)
{
	struct tstream *t;

	(void)state;
	up();
	t = new_stream(&A);
	mux_stream_open(&A.mux, &t->m, "svc");
	settle(&A, &B);
	assert_true(mux_goaway(&A.mux, FRAME_GOAWAY_NORMAL, "shutting down"));
	assert_false(mux_goaway(&A.mux, FRAME_GOAWAY_LIFETIME, "again"));
	assert_int_equal(mux_stream_open(&A.mux, &new_stream(&A)->m, "svc"), 0);
	settle(&A, &B);
	assert_int_equal(last(&B)->type, MUX_EV_GOAWAY);
	assert_int_equal(last(&B)->code, FRAME_GOAWAY_NORMAL);
	assert_string_equal(last(&B)->text, "goaway from peer: normal: shutting down");
	assert_int_equal(B.mux.state, MUX_DRAINING);
	/* Having heard it, B does not say one of its own. */
	assert_false(mux_goaway(&B.mux, FRAME_GOAWAY_NORMAL, "shutting down"));
	/* The open stream still carries data both ways. */
	t->src = (const uint8_t *)"tail";
	t->src_len = 4;
	t->src_eof = true;
	mux_stream_readable(&A.mux, &t->m);
	settle(&A, &B);
	drain(&B, &B.st[0]);
	assert_int_equal(B.st[0].sink_len, 4);
	assert_true(B.st[0].m.rx_closed);
}

/* A failing local side is marked, not ended behind the driver's back. */
static void test_pull_fail_and_detach(void **state)
{
	struct tstream *t, *u;
	uint8_t out[RECORD];
	size_t n;

	(void)state;
	up();
	t = new_stream(&A);
	t->src_fail = true;
	mux_stream_open(&A.mux, &t->m, "svc");
	mux_stream_readable(&A.mux, &t->m);
	settle(&A, &B);
	assert_true(t->m.broken);
	assert_int_equal(A.mux.n_streams, 1);
	mux_stream_detach(&A.mux, &t->m, FRAME_RESET_CANCEL);
	settle(&A, &B);
	assert_int_equal(last(&B)->type, MUX_EV_RESET);
	assert_int_equal(last(&B)->code, FRAME_RESET_CANCEL);
	/* A stream whose OPEN never left is detached without a RESET. */
	u = new_stream(&A);
	mux_stream_open(&A.mux, &u->m, "svc");
	mux_stream_detach(&A.mux, &u->m, FRAME_RESET_CANCEL);
	n = mux_output(&A.mux, out, sizeof(out));
	assert_int_equal(n, 0);
}

/* The largest id of our parity is the last: then no more streams open. */
static void test_ids_spent(void **state)
{
	struct tstream *t, *u;

	(void)state;
	up();
	A.mux.next_id = UINT32_MAX;
	t = new_stream(&A);
	assert_int_equal(mux_stream_open(&A.mux, &t->m, "svc"), UINT32_MAX);
	u = new_stream(&A);
	assert_int_equal(mux_stream_open(&A.mux, &u->m, "svc"), 0);
	settle(&A, &B);
	assert_false(saw(&B, MUX_EV_FATAL));
	assert_int_equal(B.n_st, 1);
	assert_int_equal(B.st[0].m.id, UINT32_MAX);
	/* Frames for it still count as ours once it is gone. */
	mux_stream_detach(&A.mux, &t->m, FRAME_RESET_CANCEL);
	settle(&A, &B);
	assert_int_equal(last(&B)->type, MUX_EV_RESET);
	assert_false(saw(&A, MUX_EV_FATAL));
}

/*
 * The old engine sent OPEN from its round robin: with the cursor parked on a
 * newer stream that owed OPEN, the newer id left first and the peer ended the
 * session. Park the cursor there and let one frame out per record.
 */
static void test_open_order_cursor(void **state)
{
	struct tstream *t[5];
	uint32_t want = 5;

	(void)state;
	up();
	for (int i = 0; i < 5; i++) {
		t[i] = new_stream(&A);
		if (i < 2) {
			mux_stream_open(&A.mux, &t[i]->m, "svc");
			settle(&A, &B);
		}
	}
	for (int i = 2; i < 5; i++)
		assert_int_equal(mux_stream_open(&A.mux, &t[i]->m, "svc"), 2 * i + 1);
	A.mux.rr = &t[3]->m;
	while (want <= 9) {
		uint8_t buf[RECORD];
		struct frame_header h;
		const char *why;
		size_t n = mux_output(&A.mux, buf, 20);

		assert_true(n > 0);
		assert_int_equal(frame_header_decode(buf, MAX_PAYLOAD, &h, &why, NULL), 0);
		assert_int_equal(n, FRAME_HEADER_LEN + h.length);
		assert_int_equal(h.type, FRAME_OPEN);
		assert_int_equal(h.stream, want);
		feed(&B, buf, n);
		want += 2;
	}
	assert_false(saw(&B, MUX_EV_FATAL));
	assert_int_equal(B.n_st, 5);
}

/* Input split anywhere parses the same; PING gets its PONG; a second CLOSE breaks the stream. */
static void test_split_ping_close(void **state)
{
	uint8_t buf[RECORD], out[RECORD];
	size_t n, i;
	struct mux_event ev;
	struct frame_header h;
	const char *why;

	(void)state;
	side_init(&B, "beta", "alpha", false);
	(void)mux_output(&B.mux, out, sizeof(out));
	n = hello(buf, "alpha");
	n += frame(buf + n, FRAME_PING, 0, "abcdefgh", 8);
	n += open_frame(buf + n, 1, "svc");
	n += frame(buf + n, FRAME_CLOSE, 1, NULL, 0);
	n += frame(buf + n, FRAME_CLOSE, 1, NULL, 0);
	/* One byte at a time: every frame boundary and header split. */
	for (i = 0; i < n; i++) {
		assert_int_equal(mux_input(&B.mux, buf + i, 1, &ev), 1);
		if (ev.type != MUX_EV_NONE)
			B.events[B.n_events++] = ev;
		if (ev.type == MUX_EV_OPEN) {
			struct tstream *t = new_stream(&B);

			mux_stream_accept(&B.mux, &t->m, ev.id, ev.text);
		}
	}
	assert_int_equal(B.n_events, 4);
	assert_int_equal(B.events[0].type, MUX_EV_UP);
	assert_int_equal(B.events[1].type, MUX_EV_OPEN);
	assert_int_equal(B.events[2].type, MUX_EV_CLOSE);
	assert_int_equal(B.events[3].type, MUX_EV_STREAM_ERROR);
	assert_string_equal(B.events[3].text, "second close from peer");
	n = mux_output(&B.mux, out, sizeof(out));
	assert_int_equal(frame_header_decode(out, MAX_PAYLOAD, &h, &why, NULL), 0);
	assert_int_equal(h.type, FRAME_PONG);
	assert_memory_equal(out + FRAME_HEADER_LEN, "abcdefgh", 8);
}

/* GOAWAY may come before HELLO; an error GOAWAY from the peer stops input. */
static void test_peer_goaway(void **state)
{
	uint8_t buf[RECORD], out[RECORD], p[64];
	size_t n, want;
	int len;

	(void)state;
	side_init(&B, "beta", "alpha", false);
	(void)mux_output(&B.mux, out, sizeof(out));
	len = frame_goaway_encode(FRAME_GOAWAY_NORMAL, "bye", p, sizeof(p));
	n = frame(buf, FRAME_GOAWAY, 0, p, (size_t)len);
	feed(&B, buf, n);
	assert_int_equal(last(&B)->type, MUX_EV_GOAWAY);
	assert_string_equal(last(&B)->text, "goaway from peer: normal: bye");
	assert_int_equal(B.mux.state, MUX_DRAINING);

	side_init(&B, "beta", "alpha", false);
	(void)mux_output(&B.mux, out, sizeof(out));
	n = hello(buf, "alpha");
	len = frame_goaway_encode(FRAME_GOAWAY_PROTOCOL, "protocol error: x", p, sizeof(p));
	n += frame(buf + n, FRAME_GOAWAY, 0, p, (size_t)len);
	feed(&B, buf, n);
	assert_int_equal(last(&B)->type, MUX_EV_GOAWAY);
	assert_string_equal(last(&B)->text, "goaway from peer: protocol error: x");
	assert_int_equal(B.mux.state, MUX_FAILED);
	assert_null(mux_input_buf(&B.mux, &want));
	/* Having heard it, nothing of ours leaves. */
	assert_int_equal(mux_output(&B.mux, out, sizeof(out)), 0);

	{
		static const uint8_t v2[] = {2, 0, 0x0f, 0xf8, 0, 0, 0x10, 0, 0, 0, 0, 0, 1, 'x'};

		n = frame(buf, FRAME_HELLO, 0, v2, sizeof(v2));
		expect_fatal(buf, n, FRAME_GOAWAY_VERSION,
			     "protocol error: unsupported protocol version");
	}
}

/* A fault found while our draining GOAWAY is still owed: nothing more leaves (as before). */
static void test_fault_after_goodbye(void **state)
{
	uint8_t buf[RECORD], out[RECORD];
	size_t n;

	(void)state;
	up();
	assert_true(mux_goaway(&B.mux, FRAME_GOAWAY_NORMAL, "shutting down"));
	n = frame(buf, FRAME_PING, 0, "12345678", 8);
	n += hello(buf + n, "alpha");
	feed(&B, buf, n);
	assert_int_equal(last(&B)->type, MUX_EV_FATAL);
	assert_int_equal(mux_output(&B.mux, out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_and_data),
		cmocka_unit_test(test_open_order),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_stream_errors),
		cmocka_unit_test(test_reset_queue_pauses_input),
		cmocka_unit_test(test_goaway),
		cmocka_unit_test(test_pull_fail_and_detach),
		cmocka_unit_test(test_ids_spent),
		cmocka_unit_test(test_open_order_cursor),
		cmocka_unit_test(test_split_ping_close),
		cmocka_unit_test(test_peer_goaway),
		cmocka_unit_test(test_fault_after_goodbye),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
