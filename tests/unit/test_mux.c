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
	uint8_t *renew_sink; /* given to a RENEW frame as it begins; NULL: dropped */
	size_t renew_cap;
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

static void side_init_caps(struct side *s, const char *name, const char *peer, bool odd,
			   uint32_t caps)
{
	struct mux_params p = {name, peer, WINDOW, MAX_PAYLOAD, odd, caps};

	memset(s, 0, sizeof(*s));
	mux_init(&s->mux, &p, pull, s);
}

static void side_init(struct side *s, const char *name, const char *peer, bool odd)
{
	side_init_caps(s, name, peer, odd, FRAME_CAP_CRL);
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
		if (ev.type == MUX_EV_RENEW_HEAD && s->renew_sink != NULL)
			mux_renew_sink(&s->mux, s->renew_sink, s->renew_cap);
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

/* "ping" and i in three digits: a PING's 8 bytes (the NUL included). */
static void ping_payload(uint8_t p[8], unsigned i)
{
	memcpy(p, "ping000", 8);
	p[4] = (uint8_t)('0' + i / 100 % 10);
	p[5] = (uint8_t)('0' + i / 10 % 10);
	p[6] = (uint8_t)('0' + i % 10);
}

/* Every PONG in out[0..n), in order: their payloads into pl (8 bytes each). Returns the count. */
static unsigned pongs(const uint8_t *out, size_t n, uint8_t pl[][8], unsigned max)
{
	struct frame_header h;
	const char *why;
	unsigned k = 0;
	size_t off = 0;

	while (off < n) {
		assert_int_equal(frame_header_decode(out + off, MAX_PAYLOAD, &h, &why, NULL), 0);
		if (h.type == FRAME_PONG) {
			assert_true(k < max);
			memcpy(pl[k++], out + off + FRAME_HEADER_LEN, 8);
		}
		off += FRAME_HEADER_LEN + h.length;
	}
	return k;
}

/*
 * Issue 11, item 4: two PINGs in one record get two PONGs, each with its own
 * payload, in the order the PINGs came (the second used to overwrite the
 * first). More than TETHER_PONG_QUEUE unanswered PINGs pause input until the
 * PONGs owed have left: none is dropped or merged.
 */
static void test_each_ping_answered(void **state)
{
	uint8_t buf[RECORD], out[RECORD], pl[2 * TETHER_PONG_QUEUE + 2][8], want[8];
	size_t n, used, total;
	struct mux_event ev;
	unsigned i, got;

	(void)state;
	side_init(&B, "beta", "alpha", false);
	(void)mux_output(&B.mux, out, sizeof(out));
	n = hello(buf, "alpha");
	n += frame(buf + n, FRAME_PING, 0, "first..1", 8);
	n += frame(buf + n, FRAME_PING, 0, "second.2", 8);
	assert_int_equal(mux_input(&B.mux, buf, n, &ev), hello(out, "alpha"));
	assert_int_equal(ev.type, MUX_EV_UP);
	used = hello(out, "alpha");
	while (used < n) {
		size_t k = mux_input(&B.mux, buf + used, n - used, &ev);

		assert_true(k > 0);
		used += k;
	}
	n = mux_output(&B.mux, out, sizeof(out));
	assert_int_equal(pongs(out, n, pl, 2), 2);
	assert_memory_equal(pl[0], "first..1", 8);
	assert_memory_equal(pl[1], "second.2", 8);

	/* A flood in one record: input stops with the queue full, nothing is lost. */
	n = 0;
	for (i = 0; i < 2 * TETHER_PONG_QUEUE + 2; i++) {
		ping_payload(want, i);
		n += frame(buf + n, FRAME_PING, 0, want, 8);
	}
	used = 0;
	got = 0;
	while (used < n) {
		size_t k = mux_input(&B.mux, buf + used, n - used, &ev);

		assert_int_equal(ev.type, MUX_EV_NONE);
		if (k == 0) {
			/* Paused: exactly a queue's worth owed; they leave, input goes on. */
			assert_int_equal(B.mux.n_pongs, TETHER_PONG_QUEUE);
			total = mux_output(&B.mux, out, sizeof(out));
			got += pongs(out, total, pl + got, TETHER_PONG_QUEUE);
			assert_int_equal(B.mux.n_pongs, 0);
			continue;
		}
		used += k;
	}
	total = mux_output(&B.mux, out, sizeof(out));
	got += pongs(out, total, pl + got, 2 * TETHER_PONG_QUEUE + 2 - got);
	assert_int_equal(got, 2 * TETHER_PONG_QUEUE + 2);
	for (i = 0; i < got; i++) {
		ping_payload(want, i);
		assert_memory_equal(pl[i], want, 8);
	}
	assert_int_equal(B.mux.state, MUX_OPEN);
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

/* ---------- CRL exchange and ROLL (capability-gated) ---------- */

#define CAPS_ALL (FRAME_CAP_CRL | FRAME_CAP_ROLL)

static void up_caps(uint32_t a_caps, uint32_t b_caps)
{
	side_init_caps(&A, "alpha", "beta", true, a_caps);
	side_init_caps(&B, "beta", "alpha", false, b_caps);
	settle(&A, &B);
	assert_int_equal(A.mux.state, MUX_OPEN);
	assert_int_equal(B.mux.state, MUX_OPEN);
	assert_int_equal(A.mux.peer_caps, b_caps);
	assert_int_equal(B.mux.peer_caps, a_caps);
	A.n_events = B.n_events = 0;
}

static unsigned count(const struct side *s, enum mux_event_type type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->n_events; i++)
		n += s->events[i].type == type;
	return n;
}

static const struct mux_event *find(const struct side *s, enum mux_event_type type)
{
	for (unsigned i = 0; i < s->n_events; i++)
		if (s->events[i].type == type)
			return &s->events[i];
	fail_msg("no event of type %d", (int)type);
	return NULL;
}

/* A CRL piece of the peer's, by hand: total, offset, then len bytes of p. */
static size_t crl_piece(uint8_t *out, uint32_t total, uint32_t off, const uint8_t *p, size_t len)
{
	uint8_t f[RECORD];

	assert_true(len + FRAME_CRL_PIECE_HEAD <= sizeof(f));
	frame_u32_encode(total, f);
	frame_u32_encode(off, f + 4);
	memcpy(f + FRAME_CRL_PIECE_HEAD, p, len);
	return frame(out, FRAME_CRL, 0, f, FRAME_CRL_PIECE_HEAD + len);
}

/* B still reads frames and answers: a PING from A gets a PONG back. */
static void still_alive(void)
{
	uint8_t buf[RECORD];
	size_t n;

	assert_int_equal(B.mux.state, MUX_OPEN);
	assert_false(saw(&B, MUX_EV_FATAL));
	n = frame(buf, FRAME_PING, 0, "alive!!!", 8);
	feed(&B, buf, n);
	assert_true(B.mux.n_pongs >= 1);
	assert_memory_equal(B.mux.pongs[B.mux.n_pongs - 1], "alive!!!", 8);
}

static const uint8_t ISSUER[FRAME_CRL_ISSUER_ID] = {0xca, 0xfe, 1, 2, 3, 4, 5, 6};

static void test_crl_have_and_get(void **state)
{
	struct frame_crl_have h[2];
	static uint8_t sink[64];

	(void)state;
	up_caps(FRAME_CAP_CRL, FRAME_CAP_CRL);
	assert_true(mux_crl_ok(&A.mux));
	assert_true(mux_crl_ok(&B.mux));
	memset(h, 0, sizeof(h));
	memcpy(h[0].issuer, ISSUER, sizeof(ISSUER));
	h[0].number_len = 1;
	h[0].number[0] = 7;
	memset(h[1].issuer, 0x42, sizeof(h[1].issuer));
	h[1].number_len = 3;
	memcpy(h[1].number, "\x01\x00\x02", 3);
	mux_crl_have(&A.mux, h, 2);
	settle(&A, &B);
	assert_int_equal(count(&B, MUX_EV_CRL_HAVE), 1);
	assert_int_equal(B.mux.n_peer_crls, 2);
	assert_memory_equal(B.mux.peer_crls[0].issuer, ISSUER, sizeof(ISSUER));
	assert_int_equal(B.mux.peer_crls[0].number_len, 1);
	assert_int_equal(B.mux.peer_crls[0].number[0], 7);
	assert_memory_equal(B.mux.peer_crls[1].issuer, h[1].issuer, FRAME_CRL_ISSUER_ID);
	assert_int_equal(B.mux.peer_crls[1].number_len, 3);
	assert_memory_equal(B.mux.peer_crls[1].number, "\x01\x00\x02", 3);

	/* A later CRL_HAVE replaces the earlier one (here: nothing held). */
	mux_crl_have(&A.mux, NULL, 0);
	settle(&A, &B);
	assert_int_equal(count(&B, MUX_EV_CRL_HAVE), 2);
	assert_int_equal(B.mux.n_peer_crls, 0);

	/* B asks; A hears which issuer. */
	mux_crl_get(&B.mux, ISSUER, sink, sizeof(sink));
	settle(&A, &B);
	assert_int_equal(count(&A, MUX_EV_CRL_GET), 1);
	assert_memory_equal(A.mux.crl_asked, ISSUER, sizeof(ISSUER));
	assert_false(saw(&A, MUX_EV_FATAL));
	assert_false(saw(&B, MUX_EV_FATAL));
	assert_false(saw(&B, MUX_EV_CRL)); /* A sent nothing yet */
}

/* Split out's frames and call back for each: type and payload length. */
static void frames_of(const uint8_t *buf, size_t len, uint8_t *types, size_t *n_types, size_t cap)
{
	size_t off = 0;

	while (off < len) {
		struct frame_header h;
		const char *why;

		assert_true(len - off >= FRAME_HEADER_LEN);
		assert_int_equal(frame_header_decode(buf + off, MAX_PAYLOAD, &h, &why, NULL), 0);
		assert_true(*n_types < cap);
		types[(*n_types)++] = h.type;
		off += FRAME_HEADER_LEN + h.length;
	}
	assert_int_equal(off, len);
}

static void test_crl_transfer_with_data(void **state)
{
	static uint8_t der[10000], data[40000], sink[16384];
	static uint8_t types[4096];
	size_t n_types = 0, first_crl = SIZE_MAX, last_crl = 0;
	unsigned crl_frames = 0, data_between = 0;
	struct tstream *t;
	const struct mux_event *ev;

	(void)state;
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(i * 13 + 5);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	up_caps(FRAME_CAP_CRL, FRAME_CAP_CRL);
	mux_crl_get(&B.mux, ISSUER, sink, sizeof(sink));
	settle(&A, &B);
	assert_true(saw(&A, MUX_EV_CRL_GET));

	/* A stream of A's carries data while the CRL goes out. */
	t = new_stream(&A);
	t->src = data;
	t->src_len = sizeof(data);
	t->src_eof = true;
	assert_int_equal(mux_stream_open(&A.mux, &t->m, "db"), 1);
	mux_stream_readable(&A.mux, &t->m);
	mux_crl_send(&A.mux, der, sizeof(der));
	/* Records larger than one frame, so a CRL piece and DATA share each. */
	for (int i = 0; i < 1000 && !(B.n_st > 0 && B.st[0].m.rx_closed &&
				      ring_used(&B.st[0].m.rx) == 0 && saw(&B, MUX_EV_CRL));
	     i++) {
		uint8_t buf[6000], back[RECORD];
		size_t len = mux_output(&A.mux, buf, sizeof(buf));

		frames_of(buf, len, types, &n_types, sizeof(types));
		feed(&B, buf, len);
		if (B.n_st > 0)
			drain(&B, &B.st[0]);
		len = mux_output(&B.mux, back, sizeof(back));
		feed(&A, back, len);
	}
	for (size_t i = 0; i < n_types; i++) {
		if (types[i] != FRAME_CRL)
			continue;
		crl_frames++;
		if (first_crl == SIZE_MAX)
			first_crl = i;
		last_crl = i;
	}
	for (size_t i = first_crl; i < last_crl; i++)
		data_between += types[i] == FRAME_DATA;
	assert_true(crl_frames >= 3); /* 10,000 bytes in pieces under 4088 */
	assert_true(data_between >= 2);

	assert_int_equal(count(&B, MUX_EV_CRL), 1);
	ev = find(&B, MUX_EV_CRL);
	assert_int_equal(ev->len, sizeof(der));
	assert_memory_equal(sink, der, sizeof(der));
	assert_null(B.mux.crl_sink);
	assert_null(A.mux.crl_out);
	/* The stream's bytes are whole and in order too. */
	assert_int_equal(B.st[0].sink_len, sizeof(data));
	assert_memory_equal(B.st[0].sink, data, sizeof(data));
	assert_false(saw(&A, MUX_EV_FATAL));
	assert_false(saw(&B, MUX_EV_FATAL));
	assert_false(saw(&B, MUX_EV_CRL_BAD));

	/* A second send of the same CRL, not asked for: dropped without an event. */
	B.n_events = 0;
	memset(sink, 0, sizeof(sink));
	mux_crl_send(&A.mux, der, sizeof(der));
	settle(&A, &B);
	assert_int_equal(B.n_events, 0);
	assert_int_equal(sink[0], 0);
	still_alive();
}

static void test_crl_too_big(void **state)
{
	static uint8_t der[10000], sink[1000];

	(void)state;
	memset(der, 0x30, sizeof(der));
	up_caps(FRAME_CAP_CRL, FRAME_CAP_CRL);
	mux_crl_get(&B.mux, ISSUER, sink, sizeof(sink));
	settle(&A, &B);
	mux_crl_send(&A.mux, der, sizeof(der));
	settle(&A, &B);
	/* One refusal, the rest of the pieces dropped, the session goes on. */
	assert_int_equal(count(&B, MUX_EV_CRL_BAD), 1);
	assert_string_equal(find(&B, MUX_EV_CRL_BAD)->text, "CRL too big");
	assert_false(saw(&B, MUX_EV_CRL));
	assert_null(B.mux.crl_sink);
	still_alive();

	/* Asked again with room: it arrives. */
	{
		static uint8_t big[10000];

		B.n_events = 0;
		mux_crl_get(&B.mux, ISSUER, big, sizeof(big));
		settle(&A, &B);
		mux_crl_send(&A.mux, der, sizeof(der));
		settle(&A, &B);
		assert_int_equal(find(&B, MUX_EV_CRL)->len, sizeof(der));
		assert_memory_equal(big, der, sizeof(der));
	}
}

/* Hand-made pieces to B, which asked for a CRL of 100 bytes into a sink of 200. */
static void out_of_order_case(uint32_t t1, uint32_t o1, size_t l1, uint32_t t2, uint32_t o2,
			      size_t l2, const char *want)
{
	static uint8_t sink[200], bytes[200];
	uint8_t buf[2 * RECORD];
	size_t n = 0;

	memset(bytes, 0x5a, sizeof(bytes));
	up_caps(FRAME_CAP_CRL, FRAME_CAP_CRL);
	mux_crl_get(&B.mux, ISSUER, sink, sizeof(sink));
	if (l1 > 0)
		n += crl_piece(buf + n, t1, o1, bytes, l1);
	n += crl_piece(buf + n, t2, o2, bytes, l2);
	feed(&B, buf, n);
	if (want == NULL) {
		assert_false(saw(&B, MUX_EV_CRL_BAD));
		assert_int_equal(find(&B, MUX_EV_CRL)->len, t2);
	} else {
		assert_int_equal(count(&B, MUX_EV_CRL_BAD), 1);
		assert_string_equal(find(&B, MUX_EV_CRL_BAD)->text, want);
		assert_false(saw(&B, MUX_EV_CRL));
	}
	still_alive();
}

static void test_crl_out_of_order(void **state)
{
	(void)state;
	/* In order: 40 then 60 of 100. */
	out_of_order_case(100, 0, 40, 100, 40, 60, NULL);
	/* The first piece not at offset 0. */
	out_of_order_case(0, 0, 0, 100, 50, 50, "CRL pieces out of order");
	/* A gap, an overlap. */
	out_of_order_case(100, 0, 40, 100, 50, 50, "CRL pieces out of order");
	out_of_order_case(100, 0, 40, 100, 30, 70, "CRL pieces out of order");
	/* The total changes between pieces. */
	out_of_order_case(100, 0, 40, 120, 40, 60, "CRL pieces out of order");
	/* A piece running past the total. */
	out_of_order_case(100, 0, 40, 100, 40, 61, "CRL pieces out of order");
	out_of_order_case(0, 0, 0, 10, 0, 11, "CRL pieces out of order");
	/* A total of zero or over the sink. */
	out_of_order_case(0, 0, 0, 0, 0, 10, "CRL too big");
	out_of_order_case(0, 0, 0, 201, 0, 10, "CRL too big");
	out_of_order_case(100, 0, 40, 0xffffffffu, 40, 60, "CRL too big");
}

static void test_crl_unsolicited(void **state)
{
	static uint8_t bytes[3000];
	uint8_t buf[2 * RECORD];
	size_t n;

	(void)state;
	memset(bytes, 0x77, sizeof(bytes));
	up_caps(FRAME_CAP_CRL, FRAME_CAP_CRL);
	/* Pieces nobody asked for, even absurd ones: no event, the frame after is read. */
	n = crl_piece(buf, 3000, 0, bytes, 3000);
	n += crl_piece(buf + n, 0xffffffffu, 12345, bytes, 10);
	n += crl_piece(buf + n, 0, 0, bytes, 1);
	feed(&B, buf, n);
	assert_int_equal(B.n_events, 0);
	still_alive();

	/* Asked, then cancelled: what arrives after is dropped too. */
	{
		static uint8_t sink[4000];

		mux_crl_get(&B.mux, ISSUER, sink, sizeof(sink));
		mux_crl_get_cancel(&B.mux);
		n = crl_piece(buf, 3000, 0, bytes, 3000);
		feed(&B, buf, n);
		assert_int_equal(B.n_events, 0);
		assert_int_equal(sink[0], 0);
		/* Nothing was owed either: the GET was taken back before it left. */
		assert_false(B.mux.owe_crl_get);
		still_alive();
	}

	/* Cancelled in the middle of a piece: the rest of it lands nowhere. */
	{
		static uint8_t sink[4000];
		struct mux_event ev;
		size_t used;

		mux_crl_get(&B.mux, ISSUER, sink, sizeof(sink));
		n = crl_piece(buf, 3000, 0, bytes, 3000);
		used = mux_input(&B.mux, buf, 1000, &ev);
		assert_int_equal(used, 1000);
		assert_int_equal(ev.type, MUX_EV_NONE);
		mux_crl_get_cancel(&B.mux);
		memset(sink, 0, sizeof(sink));
		feed(&B, buf + 1000, n - 1000);
		assert_int_equal(B.n_events, 0);
		assert_int_equal(sink[1500], 0);
		still_alive();
	}
}

/* Asked again while a piece for the first ask is arriving: the rest of it lands nowhere. */
static void test_crl_get_again_mid_piece(void **state)
{
	static uint8_t bytes[3000], first[4000], second[64 + 16];
	uint8_t buf[2 * RECORD];
	struct mux_event ev;
	size_t n, used;

	(void)state;
	memset(bytes, 0x77, sizeof(bytes));
	memset(second, 0xee, sizeof(second));
	up_caps(FRAME_CAP_CRL, FRAME_CAP_CRL);
	mux_crl_get(&B.mux, ISSUER, first, sizeof(first));
	n = crl_piece(buf, 3000, 0, bytes, 3000);
	used = mux_input(&B.mux, buf, 1000, &ev);
	assert_int_equal(used, 1000);
	/* A new ask into a smaller sink (64 bytes; 16 more as a guard). */
	mux_crl_get(&B.mux, ISSUER, second, 64);
	feed(&B, buf + 1000, n - 1000);
	for (size_t i = 0; i < sizeof(second); i++)
		assert_int_equal(second[i], 0xee);
	assert_false(saw(&B, MUX_EV_CRL));
	still_alive();
	/* The new ask is still on: a fitting CRL arrives into it. */
	n = crl_piece(buf, 10, 0, bytes, 10);
	feed(&B, buf, n);
	assert_int_equal(find(&B, MUX_EV_CRL)->len, 10);
	assert_memory_equal(second, bytes, 10);
}

/* B announced caps b_caps, A's HELLO announced a_caps; B reads frame f. */
static void expect_unannounced(uint32_t a_caps, uint32_t b_caps, uint8_t type, const void *p,
			       size_t len, const char *text)
{
	uint8_t buf[RECORD];
	struct frame_hello h;
	uint8_t hp[80];
	size_t n;
	int hl;
	uint8_t out[RECORD];

	memset(&h, 0, sizeof(h));
	h.version = FRAME_VERSION;
	h.max_payload = MAX_PAYLOAD;
	h.window = WINDOW;
	h.capabilities = a_caps;
	snprintf(h.name, sizeof(h.name), "alpha");
	hl = frame_hello_encode(&h, hp, sizeof(hp));
	assert_true(hl > 0);
	n = frame(buf, FRAME_HELLO, 0, hp, (size_t)hl);
	n += frame(buf + n, type, 0, p, len);

	side_init_caps(&B, "beta", "alpha", false, b_caps);
	(void)mux_output(&B.mux, out, sizeof(out));
	feed(&B, buf, n);
	assert_true(saw(&B, MUX_EV_UP));
	assert_int_equal(last(&B)->type, MUX_EV_FATAL);
	assert_int_equal(last(&B)->code, FRAME_GOAWAY_PROTOCOL);
	assert_string_equal(last(&B)->text, text);
	assert_int_equal(B.mux.state, MUX_FAILED);
	/* The GOAWAY PROTOCOL is what leaves. */
	{
		struct frame_header fh;
		const char *why;
		uint32_t code;
		char reason[FRAME_REASON_MAX + 1];

		n = mux_output(&B.mux, out, sizeof(out));
		assert_int_equal(frame_header_decode(out, MAX_PAYLOAD, &fh, &why, NULL), 0);
		assert_int_equal(fh.type, FRAME_GOAWAY);
		assert_int_equal(
			frame_goaway_decode(out + FRAME_HEADER_LEN, fh.length, &code, reason, &why),
			0);
		assert_int_equal(code, FRAME_GOAWAY_PROTOCOL);
		assert_string_equal(reason, text);
	}
}

static void test_caps_not_announced(void **state)
{
	static const char crl_text[] = "protocol error: CRL frame not announced in HELLO";
	static const char roll_text[] = "protocol error: ROLL not announced in HELLO";
	uint8_t have[1] = {0}, piece[20];
	const uint32_t combos[][2] = {
		/* a_caps, b_caps: one side or both lack CRL */
		{0, FRAME_CAP_CRL},	    {FRAME_CAP_CRL, 0},		{0, 0},
		{FRAME_CAP_ROLL, CAPS_ALL}, {CAPS_ALL, FRAME_CAP_ROLL},
	};

	(void)state;
	memset(piece, 0, sizeof(piece));
	piece[3] = 12; /* total 12, offset 0, 12 bytes */
	for (size_t i = 0; i < sizeof(combos) / sizeof(combos[0]); i++) {
		expect_unannounced(combos[i][0], combos[i][1], FRAME_CRL_HAVE, have, 1, crl_text);
		expect_unannounced(combos[i][0], combos[i][1], FRAME_CRL_GET, ISSUER, 8, crl_text);
		expect_unannounced(combos[i][0], combos[i][1], FRAME_CRL, piece, sizeof(piece),
				   crl_text);
	}
	/* ROLL: one side or both lack ROLL (CRL alone does not do). */
	expect_unannounced(0, FRAME_CAP_ROLL, FRAME_ROLL, NULL, 0, roll_text);
	expect_unannounced(FRAME_CAP_ROLL, 0, FRAME_ROLL, NULL, 0, roll_text);
	expect_unannounced(CAPS_ALL, FRAME_CAP_CRL, FRAME_ROLL, NULL, 0, roll_text);
	expect_unannounced(FRAME_CAP_CRL, CAPS_ALL, FRAME_ROLL, NULL, 0, roll_text);
	expect_unannounced(0, 0, FRAME_ROLL, NULL, 0, roll_text);

	/* And the calls say nothing where the peer did not announce the bit. */
	{
		static uint8_t sink[100], der[100];
		struct frame_crl_have h;
		uint8_t out[RECORD];

		memset(&h, 0, sizeof(h));
		up_caps(CAPS_ALL, 0);
		assert_false(mux_crl_ok(&A.mux));
		mux_crl_have(&A.mux, &h, 1);
		mux_crl_get(&A.mux, ISSUER, sink, sizeof(sink));
		mux_crl_send(&A.mux, der, sizeof(der));
		assert_false(mux_roll(&A.mux));
		assert_int_equal(mux_output(&A.mux, out, sizeof(out)), 0);
		assert_null(A.mux.crl_sink);
		assert_null(A.mux.crl_out);
	}
}

static void test_roll(void **state)
{
	(void)state;
	up_caps(CAPS_ALL, CAPS_ALL);
	/* The acceptor asks the dialer to roll. */
	assert_true(mux_roll(&B.mux));
	settle(&A, &B);
	assert_int_equal(count(&A, MUX_EV_ROLL), 1);
	assert_false(saw(&A, MUX_EV_FATAL));
	assert_false(saw(&B, MUX_EV_FATAL));
	assert_int_equal(A.mux.state, MUX_OPEN);
	assert_int_equal(B.mux.state, MUX_OPEN);

	/* ROLL with only the ROLL bit (no CRL) is fine too. */
	up_caps(FRAME_CAP_ROLL, FRAME_CAP_ROLL);
	assert_false(mux_crl_ok(&A.mux));
	assert_true(mux_roll(&B.mux));
	settle(&A, &B);
	assert_int_equal(count(&A, MUX_EV_ROLL), 1);

	/* Not once draining. */
	up_caps(CAPS_ALL, CAPS_ALL);
	assert_true(mux_goaway(&B.mux, FRAME_GOAWAY_NORMAL, "bye"));
	assert_false(mux_roll(&B.mux));
}

/* ---------- renewal (capability RENEW) ---------- */

static void test_renew_frames(void **state)
{
	static uint8_t csr[FRAME_RENEW_DER_MAX + 1], got[FRAME_RENEW_DER_MAX + 1];
	static uint8_t ans[1 + FRAME_RENEW_DER_MAX];
	const struct mux_event *e;

	(void)state;
	for (size_t i = 0; i < sizeof(csr); i++)
		csr[i] = (uint8_t)(i * 7 + 1);
	up_caps(FRAME_CAP_RENEW, FRAME_CAP_RENEW | FRAME_CAP_CRL);
	assert_true(mux_renew_ok(&A.mux));
	/* Bounded: nothing over FRAME_RENEW_DER_MAX leaves. */
	assert_false(mux_renew_request(&A.mux, csr, FRAME_RENEW_DER_MAX + 1));
	assert_false(mux_renew_request(&A.mux, csr, 0));

	/* A request the issuer takes lands whole in its sink. */
	B.renew_sink = got;
	B.renew_cap = FRAME_RENEW_DER_MAX;
	assert_true(mux_renew_request(&A.mux, csr, FRAME_RENEW_DER_MAX));
	settle(&A, &B);
	e = find(&B, MUX_EV_RENEW_HEAD);
	assert_int_equal(e->code, FRAME_RENEW_REQ);
	assert_int_equal(e->len, FRAME_RENEW_DER_MAX);
	e = find(&B, MUX_EV_RENEW);
	assert_int_equal(e->code, FRAME_RENEW_REQ);
	assert_int_equal(e->len, FRAME_RENEW_DER_MAX);
	assert_memory_equal(got, csr, FRAME_RENEW_DER_MAX);

	/* The answer: result and certificate; the asker's sink takes it. */
	ans[0] = FRAME_RENEW_ISSUED;
	memcpy(ans + 1, csr + 5, 700);
	A.renew_sink = got;
	A.renew_cap = sizeof(got);
	assert_true(mux_renew_answer(&B.mux, ans, 701));
	assert_true(mux_renew_answer_pending(&B.mux));
	settle(&A, &B);
	assert_false(mux_renew_answer_pending(&B.mux));
	e = find(&A, MUX_EV_RENEW);
	assert_int_equal(e->code, FRAME_RENEW_ANS);
	assert_int_equal(e->len, 701);
	assert_memory_equal(got, ans, 701);

	/* A refusal: result 1 and the words. */
	A.n_events = 0;
	mux_renew_refuse(&B.mux, "not allowed: this peer is not in issuer.allow");
	settle(&A, &B);
	e = find(&A, MUX_EV_RENEW);
	assert_int_equal(e->len, 1 + strlen("not allowed: this peer is not in issuer.allow"));
	assert_int_equal(got[0], FRAME_RENEW_REFUSED);
	assert_memory_equal(got + 1, "not allowed", 11);

	/* Nobody takes it (busy, not asked for): dropped, and the session carries on. */
	A.n_events = B.n_events = 0;
	B.renew_sink = NULL;
	memset(got, 0, sizeof(got));
	assert_true(mux_renew_request(&A.mux, csr, 300));
	settle(&A, &B);
	assert_int_equal(count(&B, MUX_EV_RENEW_HEAD), 1);
	assert_int_equal(count(&B, MUX_EV_RENEW), 0);
	assert_int_equal(got[0], 0);
	still_alive();
	/* A sink too small for the frame is not taken either. */
	B.n_events = 0;
	B.renew_sink = got;
	B.renew_cap = 299;
	assert_true(mux_renew_request(&A.mux, csr, 300));
	settle(&A, &B);
	assert_int_equal(count(&B, MUX_EV_RENEW), 0);
	still_alive();
	/* A request cancelled before it left does not leave. */
	B.n_events = 0;
	assert_true(mux_renew_request(&A.mux, csr, 300));
	mux_renew_cancel(&A.mux);
	settle(&A, &B);
	assert_int_equal(count(&B, MUX_EV_RENEW_HEAD), 0);

	/* Without both bits: a protocol error, and the calls say nothing. */
	expect_unannounced(FRAME_CAP_RENEW, 0, FRAME_RENEW_REQ, csr, 10,
			   "protocol error: RENEW frame not announced in HELLO");
	expect_unannounced(0, FRAME_CAP_RENEW, FRAME_RENEW_ANS, csr, 10,
			   "protocol error: RENEW frame not announced in HELLO");
	up_caps(FRAME_CAP_RENEW, FRAME_CAP_CRL);
	assert_false(mux_renew_ok(&A.mux));
	assert_false(mux_renew_request(&A.mux, csr, 100));
	assert_false(mux_renew_answer(&A.mux, ans, 100));
	mux_renew_refuse(&A.mux, "no");
	{
		uint8_t out[RECORD];

		assert_int_equal(mux_output(&A.mux, out, sizeof(out)), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_and_data),
		cmocka_unit_test(test_renew_frames),
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
		cmocka_unit_test(test_each_ping_answered),
		cmocka_unit_test(test_peer_goaway),
		cmocka_unit_test(test_fault_after_goodbye),
		cmocka_unit_test(test_crl_have_and_get),
		cmocka_unit_test(test_crl_transfer_with_data),
		cmocka_unit_test(test_crl_too_big),
		cmocka_unit_test(test_crl_out_of_order),
		cmocka_unit_test(test_crl_unsolicited),
		cmocka_unit_test(test_crl_get_again_mid_piece),
		cmocka_unit_test(test_caps_not_announced),
		cmocka_unit_test(test_roll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
