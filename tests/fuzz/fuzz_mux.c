/*
 * fuzz_mux.c: libFuzzer target for the session's frame engine, the real one
 * (core/mux.c), as a session drives it.
 *
 * Input goes in as session_read() (core/session.c) puts it: mux_input_buf()
 * says where and how much, the bytes are written there, mux_input_ack() takes
 * them and returns at most one event.
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
 * GOAWAY now and then, draining or not. The first byte also chooses the
 * capabilities each HELLO announces (CRL, ROLL), and the node announces its
 * CRLs, asks for one into a heap sink of an input-chosen size (exactly that
 * size, so AddressSanitizer sees any write past it), answers CRL_GET, cancels,
 * and asks the dialer to roll.
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
 *  - every byte the mux hands a stream (MUX_EV_DATA) is, by an independent
 *    reading of the same bytes (8-byte headers, then each frame's payload),
 *    payload of a DATA frame addressed to that stream's id: a stream never
 *    gets more than the peer sent it, nor another stream's bytes or frame
 *    headers;
 *  - a FATAL event carries a GOAWAY code and words, and input stops after it;
 *  - CRL_HAVE, CRL_GET and CRL leave only when both HELLOs announced CRL,
 *    ROLL only when both announced ROLL; the pieces of a CRL leave in order,
 *    whole, and none after mux_crl_send_cancel(); a CRL that arrives whole
 *    fits the sink it was asked into;
 *  - RENEW_REQ and RENEW_ANS leave only when both HELLOs announced RENEW
 *    (bits 6 and 7 of the first byte), within their bounds; one that arrives
 *    lands whole in a heap sink of exactly its length, given as it begins.
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

/* The CRL exchange. */
static uint8_t crl_src[6000];	  /* what we send as our CRL */
static bool crl_sending;	  /* pieces are still owed */
static uint32_t crl_len, crl_off; /* of the CRL leaving: its length, next offset */
static uint8_t *sink;		  /* where the CRL we asked for lands (heap, exact size) */
static uint8_t *renew_sink;	  /* where a RENEW frame lands (heap, its exact length) */
static size_t renew_cap;
static uint8_t renew_src[1 + FRAME_RENEW_DER_MAX];
static uint32_t sink_cap;

/* The independent reading of the peer's bytes: frame by frame, which bytes are DATA payload. */
static struct {
	uint8_t hdr[FRAME_HEADER_LEN];
	unsigned have; /* header bytes so far */
	uint32_t left; /* payload bytes of the current frame still to come */
	bool data;     /* the current frame is DATA */
	uint32_t id;   /* its stream id */
	size_t n_data; /* of the bytes last fed: DATA payload bytes ... */
	uint32_t n_id; /* ... of this stream id */
	bool mixed;    /* the bytes last fed were not all payload of one DATA frame */
} shadow;

static void shadow_feed(const uint8_t *p, size_t n)
{
	shadow.n_data = 0;
	shadow.mixed = false;
	for (size_t i = 0; i < n; i++) {
		if (shadow.left == 0 && shadow.have < FRAME_HEADER_LEN) {
			shadow.hdr[shadow.have++] = p[i];
			shadow.mixed = true;
			if (shadow.have == FRAME_HEADER_LEN) {
				shadow.have = 0;
				shadow.left = (uint32_t)shadow.hdr[2] << 8 | shadow.hdr[3];
				shadow.data = shadow.hdr[0] == FRAME_DATA;
				shadow.id = (uint32_t)shadow.hdr[4] << 24 |
					    (uint32_t)shadow.hdr[5] << 16 |
					    (uint32_t)shadow.hdr[6] << 8 | shadow.hdr[7];
			}
			continue;
		}
		shadow.left--;
		if (!shadow.data || (shadow.n_data > 0 && shadow.n_id != shadow.id)) {
			shadow.mixed = true;
			continue;
		}
		shadow.n_id = shadow.id;
		shadow.n_data++;
	}
}

/*
 * What session_read() does with len bytes the TLS layer gave: ask the mux
 * where they go, write them there, ack them, stop at the first event.
 * Returns the bytes taken.
 */
static size_t feed(const uint8_t *p, size_t len, struct mux_event *ev)
{
	size_t off = 0;

	memset(ev, 0, sizeof(*ev));
	while (off < len) {
		size_t want;
		uint8_t *dst = mux_input_buf(&M, &want);

		if (dst == NULL)
			break;
		CHECK(want > 0);
		if (want > len - off)
			want = len - off;
		memcpy(dst, p + off, want);
		shadow_feed(p + off, want);
		off += want;
		mux_input_ack(&M, want, ev);
		if (ev->type == MUX_EV_DATA) {
			/* Only DATA payload for this very stream, all of what was written. */
			CHECK(!shadow.mixed && ev->len == want);
			CHECK(shadow.n_data == want && shadow.n_id == ev->st->id);
		}
		if (ev->type != MUX_EV_NONE)
			break;
	}
	return off;
}

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
		case FRAME_CRL_HAVE:
		case FRAME_CRL_GET:
		case FRAME_CRL: {
			struct frame_crl_have have[FRAME_CRL_HAVE_MAX];
			unsigned k;

			CHECK((M.p.caps & FRAME_CAP_CRL) && (M.peer_caps & FRAME_CAP_CRL));
			if (h.type == FRAME_CRL_HAVE)
				CHECK(frame_crl_have_decode(p + off + FRAME_HEADER_LEN, h.length,
							    have, &k, &why) == 0);
			if (h.type != FRAME_CRL)
				break;
			/* The next piece of the CRL leaving, no more than is left. */
			CHECK(crl_sending);
			CHECK(frame_u32_decode(p + off + FRAME_HEADER_LEN) == crl_len);
			CHECK(frame_u32_decode(p + off + FRAME_HEADER_LEN + 4) == crl_off);
			CHECK(h.length - FRAME_CRL_PIECE_HEAD <= crl_len - crl_off);
			CHECK(memcmp(p + off + FRAME_HEADER_LEN + FRAME_CRL_PIECE_HEAD,
				     crl_src + crl_off, h.length - FRAME_CRL_PIECE_HEAD) == 0);
			crl_off += h.length - FRAME_CRL_PIECE_HEAD;
			if (crl_off == crl_len)
				crl_sending = false;
			break;
		}
		case FRAME_RENEW_REQ:
		case FRAME_RENEW_ANS:
			CHECK((M.p.caps & FRAME_CAP_RENEW) && (M.peer_caps & FRAME_CAP_RENEW));
			CHECK(h.length >= 1 && h.length <= 1 + FRAME_RENEW_DER_MAX);
			break;
		case FRAME_ROLL:
			CHECK(h.length == 0);
			CHECK((M.p.caps & FRAME_CAP_ROLL) && (M.peer_caps & FRAME_CAP_ROLL));
			break;
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

/* Ask for the CRL of issuer into a new sink of cap bytes; the old one is no longer used. */
static void ask(const uint8_t *issuer, uint32_t cap)
{
	uint8_t *old = sink;

	if (!mux_crl_ok(&M))
		return;
	sink = malloc(cap);
	CHECK(sink != NULL);
	sink_cap = cap;
	mux_crl_get(&M, issuer, sink, cap);
	free(old);
}

/* Send our CRL (len bytes of crl_src) when both sides announced CRL. */
static void send_crl(uint32_t len)
{
	if (!mux_crl_ok(&M) || len == 0)
		return;
	mux_crl_send(&M, crl_src, len);
	crl_sending = true;
	crl_len = len;
	crl_off = 0;
}

static void on_event(const struct mux_event *ev)
{
	struct slot *s;
	int i;

	switch (ev->type) {
	case MUX_EV_CRL_HAVE:
		CHECK(mux_crl_ok(&M));
		CHECK(M.n_peer_crls <= FRAME_CRL_HAVE_MAX);
		for (unsigned k = 0; k < M.n_peer_crls; k++)
			CHECK(M.peer_crls[k].number_len <= FRAME_CRL_NUMBER_MAX &&
			      (M.peer_crls[k].number_len == 0 || M.peer_crls[k].number[0] != 0));
		if (M.n_peer_crls > 0 && (next_byte() & 1))
			ask(M.peer_crls[0].issuer, 1u + next_byte() * 24u);
		return;
	case MUX_EV_CRL_GET:
		CHECK(mux_crl_ok(&M));
		send_crl(1u + next_byte() * 23u);
		return;
	case MUX_EV_CRL:
		CHECK(sink != NULL && ev->len > 0 && ev->len <= sink_cap);
		CHECK(M.crl_sink == NULL);
		return;
	case MUX_EV_CRL_BAD:
		CHECK(ev->text != NULL && ev->text[0] != '\0');
		CHECK(M.crl_sink == NULL);
		return;
	case MUX_EV_ROLL:
		CHECK((M.p.caps & FRAME_CAP_ROLL) && (M.peer_caps & FRAME_CAP_ROLL));
		return;
	case MUX_EV_RENEW_HEAD:
		CHECK(mux_renew_ok(&M));
		CHECK(ev->len >= 1 && ev->len <= 1 + FRAME_RENEW_DER_MAX);
		free(renew_sink);
		renew_sink = NULL;
		renew_cap = 0;
		if (next_byte() & 1) {
			renew_sink = malloc(ev->len);
			CHECK(renew_sink != NULL);
			renew_cap = ev->len;
			mux_renew_sink(&M, renew_sink, renew_cap);
		}
		return;
	case MUX_EV_RENEW:
		CHECK(renew_sink != NULL && ev->len == renew_cap);
		if (ev->code == FRAME_RENEW_REQ) {
			if (next_byte() & 1)
				mux_renew_refuse(&M, "busy");
			else
				(void)mux_renew_answer(&M, renew_src, 2u + next_byte() * 8u);
		}
		return;
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

/* The node's side of the CRL exchange and rolls, at any time. */
static void crl_work(uint8_t op)
{
	static const uint8_t issuer[FRAME_CRL_ISSUER_ID] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct frame_crl_have h[FRAME_CRL_HAVE_MAX];
	unsigned n;

	switch (op & 7) {
	case 0:
		memset(h, 0, sizeof(h));
		n = next_byte() % (FRAME_CRL_HAVE_MAX + 1);
		for (unsigned i = 0; i < n; i++) {
			h[i].issuer[0] = (uint8_t)i;
			h[i].number_len = (uint8_t)(next_byte() % (FRAME_CRL_NUMBER_MAX + 1));
			memset(h[i].number, 0x42, h[i].number_len);
		}
		mux_crl_have(&M, h, n);
		break;
	case 1:
		ask(issuer, 1u + next_byte() * 24u);
		break;
	case 2:
		mux_crl_get_cancel(&M);
		break;
	case 3:
		send_crl(1u + next_byte() * 23u);
		break;
	case 4:
		mux_crl_send_cancel(&M);
		crl_sending = false;
		break;
	case 5:
		(void)mux_roll(&M);
		break;
	case 6:
		(void)mux_renew_request(&M, renew_src, 1u + next_byte() * 8u);
		break;
	case 7:
		mux_renew_cancel(&M);
		break;
	default:
		break;
	}
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
	case 7:
		crl_work(op);
		break;
	default:
		break;
	}
}

static size_t prefix_hello(uint8_t *out, uint32_t caps)
{
	struct frame_hello h;
	uint8_t p[80];
	int n;

	memset(&h, 0, sizeof(h));
	h.version = FRAME_VERSION;
	h.max_payload = MAX_PAYLOAD;
	h.window = WINDOW;
	h.capabilities = caps;
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
	/* Bits 2-3 take capabilities away from ours, bits 4-5 give them to the peer's HELLO. */
	p.caps = ((flags >> 2) & 3u) ^ (FRAME_CAP_CRL | FRAME_CAP_ROLL);
	/* Bit 6 takes RENEW away from ours, bit 7 gives it to the peer's HELLO. */
	if (!(flags & 0x40))
		p.caps |= FRAME_CAP_RENEW;
	for (size_t i = 0; i < sizeof(renew_src); i++)
		renew_src[i] = (uint8_t)(i * 13 + 5);
	memset(slots, 0, sizeof(slots));
	for (size_t i = 0; i < sizeof(crl_src); i++)
		crl_src[i] = (uint8_t)(i * 31 + 7);
	crl_sending = false;
	crl_len = crl_off = 0;
	sink = NULL;
	sink_cap = 0;
	fatal_sent = false;
	memset(&shadow, 0, sizeof(shadow));
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
		size_t n = prefix_hello(hello, ((flags >> 4) & 3u) |
						       ((flags & 0x80) ? FRAME_CAP_RENEW : 0u));

		CHECK(feed(hello, n, &ev) == n);
		CHECK(ev.type == MUX_EV_UP);
		on_event(&ev);
	}
	while (off < size) {
		struct mux_event ev;
		size_t chunk = 1 + next_byte() % 64u, used;

		if (chunk > size - off)
			chunk = size - off;
		used = feed(data + off, chunk, &ev);
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
	/* The mux holds no pointer into the sink past here: M is set up afresh next run. */
	free(sink);
	free(renew_sink);
	renew_sink = NULL;
	renew_cap = 0;
	sink = NULL;
	return 0;
}
