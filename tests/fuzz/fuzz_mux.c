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
 * Checked besides "no crash, no sanitizer report":
 *  - everything the mux writes decodes with the codec and is legal for it to
 *    send (the frame types, the stream ids it owns or was given, DATA within
 *    the window the peer granted, one GOAWAY at most, nothing after a fatal
 *    GOAWAY but that GOAWAY);
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

#define WINDOW 4096u
#define MAX_PAYLOAD 4088u
#define SLOTS 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

struct slot {
	struct mux_stream m;
	uint8_t ring[WINDOW];
	bool used;
	uint8_t local; /* bytes the local side offers per read */
	bool eof;
};

static struct mux M;
static struct slot slots[SLOTS];
static const uint8_t *script;
static size_t script_len, script_off;
static uint32_t peer_window_seen[SLOTS]; /* send window before the last output */
static bool fatal_sent;
static unsigned goaways_sent;

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
		case FRAME_OPEN:
			CHECK((h.stream & 1u) == (odd ? 1u : 0u));
			break;
		case FRAME_DATA: {
			struct mux_stream *ms = mux_stream_find(&M, h.stream);

			CHECK(ms != NULL);
			CHECK(h.length > 0 && h.length <= peer_window_seen[slot_of(ms) - slots]);
			peer_window_seen[slot_of(ms) - slots] -= h.length;
			break;
		}
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

/* The local side of each stream takes some bytes and offers some. */
static void local_work(void)
{
	uint8_t op = next_byte();
	struct slot *s = &slots[op % SLOTS];
	size_t n, lim;

	if (!s->used)
		return;
	switch ((op >> 3) & 3) {
	case 0:
		(void)ring_read_span(&s->m.rx, &n);
		lim = (size_t)next_byte() * 16u;
		if (n > lim)
			n = lim;
		mux_stream_consumed(&M, &s->m, n);
		break;
	case 1:
		s->local = next_byte();
		mux_stream_readable(&M, &s->m);
		break;
	case 2:
		s->eof = (op & 0x80) != 0;
		mux_stream_readable(&M, &s->m);
		break;
	default:
		if (op & 0x80)
			end_stream(&s->m, FRAME_RESET_CANCEL);
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
	struct mux_params p = {"self", "peer", WINDOW, MAX_PAYLOAD, false};
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
