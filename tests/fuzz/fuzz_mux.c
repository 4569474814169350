/*
 * fuzz_mux.c: libFuzzer target for the session's frame engine, the real one
 * (core/mux.c), as a session drives it.
 *
 * The input is a script: the first byte chooses the side (dialer or not) and
 * whether a valid HELLO from the expected peer comes first (so the fuzzer
 * reaches streams without guessing the name); the rest is what the peer
 * sends, fed in chunks whose sizes the input also chooses, so frames split
 * anywhere. Streams the peer opens are accepted while slots last, then
 * refused; delivery to the local side and local reads are driven by input
 * bytes too, and the mux's output is produced between chunks.
 *
 * The node's side acts too: it opens streams of its own, pings, and says
 * GOAWAY now and then, draining or not.
 *
 * Checked besides "no crash, no sanitizer report":
 *  - everything the mux writes decodes with the codec and is legal for it to
 *    send: OPENs only for streams of ours, in increasing id order across
 *    records; DATA, WINDOW and CLOSE only for live streams the peer has been
 *    told of, DATA within the window the peer granted, nothing after CLOSE;
 *    RESET only for ids the peer has heard of; one GOAWAY at most, and
 *    nothing after a fatal one;
 *  - a stream's receive accounting holds: granted + held + owed (+ the rest
 *    of a DATA frame still arriving) = its ring;
 *  - a FATAL event carries a GOAWAY code and words, and input stops after it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/mux.h"
#include "tests/fuzz/fuzz.h"

#define WINDOW 4096u
#define MAX_PAYLOAD 4088u
#define SLOTS 6

struct slot {
	struct mux_stream m;
	uint8_t ring[WINDOW];
	bool used;
	uint8_t local; /* bytes the local side offers per read */
	bool eof;
	bool ours;	 /* we opened it */
	bool open_sent;	 /* its OPEN has left */
	bool close_sent; /* its CLOSE has left */
};

static struct mux M;
static struct slot slots[SLOTS];
static const uint8_t *script;
static size_t script_len, script_off;
static uint32_t peer_window_seen[SLOTS]; /* send window before the last output */
static bool fatal_sent;
static unsigned goaways_sent;
static uint32_t last_open_sent; /* highest id of ours announced by OPEN */

static uint8_t next_byte(void)
{
	return script_off < script_len ? script[script_off++] : 0;
}

static long pull(void *user, struct mux_stream *ms, uint8_t *dst, size_t room)
{
	struct slot *s = (struct slot *)ms;
	size_t n = s->local;

	(void)user;
	if (s->eof)
		return MUX_PULL_EOF;
	if (n == 0)
		return 0;
	if (n == 0xff)
		return MUX_PULL_FAIL;
	if (n > room)
		n = room;
	memset(dst, 'd', n);
	s->local = 0;
	return (long)n;
}

static struct slot *slot_of(struct mux_stream *ms)
{
	return (struct slot *)ms;
}

static void check_accounting(void)
{
	for (int i = 0; i < SLOTS; i++) {
		const struct mux_stream *m = &slots[i].m;

		if (!slots[i].used)
			continue;
		CHECK(ring_used(&m->rx) <= WINDOW);
		/* DATA still arriving was taken from the window at its header. */
		if (!m->rx_closed)
			CHECK(m->recv_window + ring_used(&m->rx) + m->window_owed +
				      (M.rx == MUX_RX_DATA && M.rx_stream == m ? M.rx_left : 0) ==
			      WINDOW);
	}
}

/* What the mux wrote must be legal for it to send. */
static void check_output(const uint8_t *p, size_t n, bool odd)
{
	size_t off = 0;

	while (off < n) {
		struct frame_header h;
		const char *why;
		int code;

		CHECK(n - off >= FRAME_HEADER_LEN);
		CHECK(frame_header_decode(p + off, MAX_PAYLOAD, &h, &why, &code) == 0);
		CHECK(off + FRAME_HEADER_LEN + h.length <= n);
		CHECK(!fatal_sent);
		switch (h.type) {
		case FRAME_GOAWAY: {
			uint32_t c;
			char reason[FRAME_REASON_MAX + 1];

			CHECK(frame_goaway_decode(p + off + FRAME_HEADER_LEN, h.length, &c, reason,
						  &why) == 0);
			CHECK(++goaways_sent == 1);
			if (!mux_code_drains(c))
				fatal_sent = true;
			break;
		}
		case FRAME_OPEN: {
			struct mux_stream *ms = mux_stream_find(&M, h.stream);

			/* Ours, attached, and in increasing id order across records. */
			CHECK((h.stream & 1u) == (odd ? 1u : 0u));
			CHECK(h.stream > last_open_sent);
			last_open_sent = h.stream;
			CHECK(ms != NULL && slot_of(ms)->ours && !slot_of(ms)->open_sent);
			slot_of(ms)->open_sent = true;
			break;
		}
		case FRAME_DATA:
		case FRAME_CLOSE:
		case FRAME_WINDOW: {
			struct mux_stream *ms = mux_stream_find(&M, h.stream);
			struct slot *sl;

			/* Only for a live stream the peer knows of, nothing after CLOSE. */
			CHECK(ms != NULL);
			sl = slot_of(ms);
			CHECK(!sl->ours || sl->open_sent);
			if (h.type == FRAME_WINDOW)
				break;
			CHECK(!sl->close_sent);
			if (h.type == FRAME_CLOSE) {
				sl->close_sent = true;
				break;
			}
			CHECK(h.length > 0 && h.length <= peer_window_seen[sl - slots]);
			peer_window_seen[sl - slots] -= h.length;
			break;
		}
		case FRAME_RESET:
			/* Never for an id the peer has not heard of. */
			if ((h.stream & 1u) == (odd ? 1u : 0u))
				CHECK(h.stream <= last_open_sent);
			else
				CHECK(h.stream <= M.last_peer_id);
			break;
		default:
			break;
		}
		off += FRAME_HEADER_LEN + h.length;
	}
}

static void output(bool odd)
{
	static uint8_t buf[4096];
	size_t n;

	for (int i = 0; i < SLOTS; i++)
		peer_window_seen[i] = slots[i].used ? slots[i].m.send_window : 0;
	n = mux_output(&M, buf, (size_t)1024 + next_byte() * 12u);
	check_output(buf, n, odd);
	for (int i = 0; i < SLOTS; i++) {
		if (slots[i].used && slots[i].m.broken) {
			mux_stream_detach(&M, &slots[i].m, FRAME_RESET_CANCEL);
			slots[i].used = false;
		}
	}
}

static void end_stream(struct mux_stream *ms, uint32_t code)
{
	struct slot *s = slot_of(ms);

	mux_stream_detach(&M, ms, code);
	s->used = false;
}

static void on_event(const struct mux_event *ev)
{
	struct slot *s;
	int i;

	switch (ev->type) {
	case MUX_EV_OPEN:
		for (i = 0; i < SLOTS && slots[i].used; i++)
			;
		if (i == SLOTS || M.state != MUX_OPEN) {
			mux_refuse(&M, ev->id, FRAME_RESET_NO_RESOURCES);
			return;
		}
		CHECK(frame_name_valid(ev->text, strlen(ev->text)));
		memset(&slots[i], 0, sizeof(slots[i]));
		slots[i].used = true;
		ring_init(&slots[i].m.rx, slots[i].ring, WINDOW);
		mux_stream_accept(&M, &slots[i].m, ev->id, ev->text);
		return;
	case MUX_EV_DATA:
		s = slot_of(ev->st);
		CHECK(s->used && ev->len > 0);
		return;
	case MUX_EV_RESET:
		end_stream(ev->st, 0);
		return;
	case MUX_EV_STREAM_ERROR:
		CHECK(ev->text != NULL && ev->code != 0);
		end_stream(ev->st, ev->code);
		return;
	case MUX_EV_FATAL:
		CHECK(ev->text != NULL && ev->text[0] != '\0');
		CHECK(!mux_code_drains(ev->code));
		return;
	default:
		return;
	}
}

/* Open a stream of ours in a free slot. */
static void open_ours(void)
{
	int i;

	for (i = 0; i < SLOTS && slots[i].used; i++)
		;
	if (i == SLOTS)
		return;
	memset(&slots[i], 0, sizeof(slots[i]));
	ring_init(&slots[i].m.rx, slots[i].ring, WINDOW);
	if (mux_stream_open(&M, &slots[i].m, "svc") == 0)
		return;
	slots[i].used = true;
	slots[i].ours = true;
	mux_stream_readable(&M, &slots[i].m);
}

/* The local side of each stream takes some bytes and offers some; the node acts. */
static void local_work(void)
{
	static const uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t op = next_byte();
	struct slot *s = &slots[op % SLOTS];
	size_t n, lim;

	switch ((op >> 3) & 7) {
	case 0:
		if (!s->used)
			return;
		(void)ring_read_span(&s->m.rx, &n);
		lim = (size_t)next_byte() * 16u;
		if (n > lim)
			n = lim;
		mux_stream_consumed(&M, &s->m, n);
		break;
	case 1:
		if (!s->used)
			return;
		s->local = next_byte();
		mux_stream_readable(&M, &s->m);
		break;
	case 2:
		if (!s->used)
			return;
		s->eof = (op & 0x80) != 0;
		mux_stream_readable(&M, &s->m);
		break;
	case 3:
		if (s->used)
			end_stream(&s->m, FRAME_RESET_CANCEL);
		break;
	case 4:
		open_ours();
		break;
	case 5:
		/* Rarely: a goodbye of ours, draining or not. */
		if ((op & 0xc0) == 0xc0)
			(void)mux_goaway(&M, next_byte() % 10u, "fuzz");
		break;
	case 6:
		mux_ping(&M, ping);
		break;
	default:
		break;
	}
}

static size_t prefix_hello(uint8_t *out)
{
	struct frame_hello h;
	uint8_t p[80];
	int n;

	memset(&h, 0, sizeof(h));
	h.version = FRAME_VERSION;
	h.max_payload = MAX_PAYLOAD;
	h.window = WINDOW;
	memcpy(h.name, "peer", 5);
	n = frame_hello_encode(&h, p, sizeof(p));
	CHECK(n > 0);
	return (size_t)frame_build(out, 128, FRAME_HELLO, 0, p, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mux_params p = {"self", "peer", WINDOW, MAX_PAYLOAD, false, FRAME_CAP_CRL};
	uint8_t hello[128], flags;
	size_t off = 0;
	unsigned idle = 0;
	bool odd;

	if (size < 2)
		return 0;
	flags = data[0];
	odd = (flags & 1) != 0;
	p.odd_ids = odd;
	memset(slots, 0, sizeof(slots));
	fatal_sent = false;
	goaways_sent = 0;
	last_open_sent = 0;
	mux_init(&M, &p, pull, NULL);
	/* The control bytes come from the input's end, the peer's frames from its start. */
	script = data + 1;
	script_len = (size - 1) / 4;
	script_off = 0;
	data += 1 + script_len;
	size -= 1 + script_len;
	output(odd);
	if (flags & 2) {
		struct mux_event ev;
		size_t n = prefix_hello(hello);

		CHECK(mux_input(&M, hello, n, &ev) == n);
		CHECK(ev.type == MUX_EV_UP);
	}
	while (off < size) {
		struct mux_event ev;
		size_t chunk = 1 + next_byte() % 64u, used;

		if (chunk > size - off)
			chunk = size - off;
		used = mux_input(&M, data + off, chunk, &ev);
		off += used;
		on_event(&ev);
		check_accounting();
		if (ev.type == MUX_EV_FATAL) {
			size_t want;

			CHECK(mux_input_buf(&M, &want) == NULL);
			output(odd);
			break;
		}
		if (ev.type == MUX_EV_GOAWAY && !mux_code_drains(ev.code))
			break;
		local_work();
		if (used == 0 || (next_byte() & 3) == 0)
			output(odd);
		/* A goodbye of ours that is an error stops input for good. */
		if (M.state == MUX_FAILED)
			break;
		/* Input pauses only while RESETs are owed, and output sends them. */
		idle = used == 0 ? idle + 1 : 0;
		CHECK(idle < 3);
		if (M.reset_lost)
			break;
	}
	output(odd);
	check_accounting();
	return 0;
}
