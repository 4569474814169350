/*
 * mux.c: the session's frame engine (mux.h), without I/O.
 *
 * Checks are made in the order docs/PROTOCOL.md gives them, so both ends of a
 * session agree on the fault and its GOAWAY code.
 */
#include <stdio.h>
#include <string.h>

#include "core/mux.h"

bool mux_code_drains(uint32_t code)
{
	return code == FRAME_GOAWAY_NORMAL || code == FRAME_GOAWAY_LIFETIME ||
	       code == FRAME_GOAWAY_DUPLICATE;
}

void mux_init(struct mux *m, const struct mux_params *p, mux_pull_fn pull, void *user)
{
	memset(m, 0, sizeof(*m));
	m->p = *p;
	m->pull = pull;
	m->user = user;
	m->next_id = p->odd_ids ? 1 : 2;
	m->owe_hello = true;
	m->state = MUX_HELLO;
}

/* ---- streams */

static void attach(struct mux *m, struct mux_stream *st, uint32_t id, const char *service)
{
	struct mux_stream **pp = &m->streams;

	st->id = id;
	st->next = NULL;
	st->send_window = m->peer_window;
	st->recv_window = m->p.window;
	snprintf(st->service, sizeof(st->service), "%s", service);
	/* At the tail: the list stays in the order ids were taken. */
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = st;
	m->n_streams++;
}

uint32_t mux_stream_open(struct mux *m, struct mux_stream *st, const char *service)
{
	uint32_t id;

	if (m->state != MUX_OPEN || m->ids_spent)
		return 0;
	id = m->next_id;
	/* The largest id of our parity ends the session's supply (PROTOCOL.md). */
	if (id > UINT32_MAX - 2)
		m->ids_spent = true;
	else
		m->next_id += 2;
	attach(m, st, id, service);
	st->owed |= MUX_OWE_OPEN;
	m->opens_owed++;
	return id;
}

void mux_stream_accept(struct mux *m, struct mux_stream *st, uint32_t id, const char *service)
{
	attach(m, st, id, service);
}

struct mux_stream *mux_stream_find(const struct mux *m, uint32_t id)
{
	struct mux_stream *st;

	for (st = m->streams; st != NULL; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

static void queue_reset(struct mux *m, uint32_t id, uint32_t code)
{
	if (m->state == MUX_FAILED)
		return;
	if (m->n_resets >= TETHER_RESET_QUEUE) {
		/*
		 * Input stops before refusals fill the queue, but local failures
		 * (targets refusing, clients resetting) fill it too while the
		 * output is blocked. A RESET dropped would leave the peer's stream
		 * open for ever: the driver ends the session instead.
		 */
		m->reset_lost = true;
		return;
	}
	m->resets[m->n_resets].stream = id;
	m->resets[m->n_resets].code = code;
	m->n_resets++;
}

void mux_refuse(struct mux *m, uint32_t id, uint32_t code)
{
	queue_reset(m, id, code);
}

void mux_stream_detach(struct mux *m, struct mux_stream *st, uint32_t code)
{
	struct mux_stream **pp;

	for (pp = &m->streams; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			m->n_streams--;
			break;
		}
	}
	if (m->rr == st)
		m->rr = st->next;
	if (m->rx_stream == st) {
		m->rx_stream = NULL;
		if (m->rx == MUX_RX_DATA)
			m->rx = MUX_RX_DISCARD;
	}
	if (st->owed & MUX_OWE_OPEN) {
		/* The peer never heard of it: a RESET would name an unknown stream. */
		m->opens_owed--;
		code = 0;
	}
	st->owed = 0;
	st->next = NULL;
	if (code != 0)
		queue_reset(m, st->id, code);
}

void mux_stream_consumed(struct mux *m, struct mux_stream *st, size_t n)
{
	(void)m;
	ring_consume(&st->rx, n);
	st->window_owed += (uint32_t)n;
	/* Return credit in large steps: one WINDOW per half window consumed. */
	if (st->window_owed >= st->rx.cap / 2 && !st->rx_closed)
		st->owed |= MUX_OWE_WINDOW;
}

void mux_stream_readable(struct mux *m, struct mux_stream *st)
{
	(void)m;
	st->readable = true;
}

bool mux_stream_done(const struct mux_stream *st)
{
	return st->tx_closed && st->rx_closed && ring_used(&st->rx) == 0;
}

/* ---- session frames */

void mux_ping(struct mux *m, const uint8_t payload[8])
{
	memcpy(m->ping_payload, payload, 8);
	m->owe_ping = true;
}

bool mux_goaway(struct mux *m, uint32_t code, const char *reason)
{
	/* One goodbye per session, ours or the peer's. */
	if (m->goaway_sent || m->goaway_rx)
		return false;
	m->goaway_sent = true;
	m->owe_goaway = true;
	m->goaway_code = code;
	m->goaway_reason = reason;
	if (mux_code_drains(code)) {
		m->state = MUX_DRAINING;
		return true;
	}
	/* An error: nothing but the GOAWAY leaves, nothing more is read. */
	m->state = MUX_FAILED;
	m->owe_hello = m->owe_ping = false;
	m->n_pongs = 0;
	m->n_resets = 0;
	return true;
}

/* ---- output */

struct out {
	uint8_t *buf;
	size_t cap;
	size_t len;
};

/* Append one frame; false if it does not fit (it stays owed). */
static bool put(struct out *o, uint8_t type, uint32_t id, const void *p, size_t len)
{
	int r;

	if (o->len + FRAME_HEADER_LEN + len > o->cap)
		return false;
	r = frame_build(o->buf + o->len, o->cap - o->len, type, id, p, len);
	if (r < 0)
		return false;
	o->len += (size_t)r;
	return true;
}

static bool put_u32(struct out *o, uint8_t type, uint32_t id, uint32_t v)
{
	uint8_t b[4];

	frame_u32_encode(v, b);
	return put(o, type, id, b, 4);
}

/* CRL_HAVE, CRL_GET, and one piece of a CRL leaving; false when the buffer filled. */
static bool out_crl(struct mux *m, struct out *o)
{
	size_t room, n;
	uint8_t *f;

	if (m->state != MUX_OPEN && m->state != MUX_DRAINING)
		return true;
	if (m->owe_roll) {
		if (!put(o, FRAME_ROLL, 0, NULL, 0))
			return false;
		m->owe_roll = false;
	}
	if (m->renew_req != NULL) {
		if (!put(o, FRAME_RENEW_REQ, 0, m->renew_req, m->renew_req_len))
			return false;
		m->renew_req = NULL;
	}
	if (m->renew_ans != NULL) {
		if (!put(o, FRAME_RENEW_ANS, 0, m->renew_ans, m->renew_ans_len))
			return false;
		m->renew_ans = NULL;
	}
	if (m->renew_refusal != NULL) {
		uint8_t r[1 + FRAME_REASON_MAX];
		size_t n = strlen(m->renew_refusal);

		if (n > FRAME_REASON_MAX)
			n = FRAME_REASON_MAX;
		r[0] = FRAME_RENEW_REFUSED;
		memcpy(r + 1, m->renew_refusal, n);
		if (!put(o, FRAME_RENEW_ANS, 0, r, 1 + n))
			return false;
		m->renew_refusal = NULL;
	}
	if (m->owe_crl_have) {
		if (!put(o, FRAME_CRL_HAVE, 0, m->crl_have, m->crl_have_len))
			return false;
		m->owe_crl_have = false;
	}
	if (m->owe_crl_get) {
		if (!put(o, FRAME_CRL_GET, 0, m->crl_get, sizeof(m->crl_get)))
			return false;
		m->owe_crl_get = false;
	}
	if (m->crl_out == NULL || m->crl_out_off >= m->crl_out_len)
		return true;
	room = o->cap - o->len;
	if (room < FRAME_HEADER_LEN + FRAME_CRL_PIECE_HEAD + 256)
		return o->len == 0 ? true : false;
	n = room - FRAME_HEADER_LEN - FRAME_CRL_PIECE_HEAD;
	if (n > m->peer_max_payload - FRAME_CRL_PIECE_HEAD)
		n = m->peer_max_payload - FRAME_CRL_PIECE_HEAD;
	if (n > m->crl_out_len - m->crl_out_off)
		n = m->crl_out_len - m->crl_out_off;
	f = o->buf + o->len + FRAME_HEADER_LEN;
	frame_u32_encode(m->crl_out_len, f);
	frame_u32_encode(m->crl_out_off, f + 4);
	memcpy(f + FRAME_CRL_PIECE_HEAD, m->crl_out + m->crl_out_off, n);
	(void)frame_build(o->buf + o->len, o->cap - o->len, FRAME_CRL, 0, NULL,
			  FRAME_CRL_PIECE_HEAD + n);
	o->len += FRAME_HEADER_LEN + FRAME_CRL_PIECE_HEAD + n;
	m->crl_out_off += (uint32_t)n;
	if (m->crl_out_off >= m->crl_out_len)
		m->crl_out = NULL;
	return true;
}

/* Owed frames of the session itself; false when the buffer filled. */
static bool out_session(struct mux *m, struct out *o)
{
	uint8_t tmp[FRAME_REASON_MAX + 8];
	int len;

	if (m->owe_hello) {
		struct frame_hello h;

		memset(&h, 0, sizeof(h));
		h.version = FRAME_VERSION;
		h.max_payload = (uint16_t)m->p.max_payload;
		h.window = m->p.window;
		h.capabilities = m->p.caps;
		snprintf(h.name, sizeof(h.name), "%s", m->p.name);
		len = frame_hello_encode(&h, tmp, sizeof(tmp));
		if (len < 0 || !put(o, FRAME_HELLO, 0, tmp, (size_t)len))
			return false;
		m->owe_hello = false;
		m->hello_sent = true;
	}
	if (m->owe_goaway) {
		len = frame_goaway_encode(m->goaway_code, m->goaway_reason, tmp, sizeof(tmp));
		if (len < 0 || !put(o, FRAME_GOAWAY, 0, tmp, (size_t)len))
			return false;
		m->owe_goaway = false;
	}
	while (m->n_pongs > 0) {
		/* Oldest first: the answers leave in the order the PINGs came. */
		if (!put(o, FRAME_PONG, 0, m->pongs[0], 8))
			return false;
		m->n_pongs--;
		memmove(m->pongs[0], m->pongs[1], (size_t)m->n_pongs * 8);
	}
	if (m->owe_ping) {
		if (!put(o, FRAME_PING, 0, m->ping_payload, 8))
			return false;
		m->owe_ping = false;
	}
	while (m->n_resets > 0) {
		struct mux_reset *e = &m->resets[m->n_resets - 1];

		if (!put_u32(o, FRAME_RESET, e->stream, e->code))
			return false;
		m->n_resets--;
	}
	return out_crl(m, o);
}

/* Owed OPENs, oldest first: the peer requires ids in increasing order. */
static bool out_opens(struct mux *m, struct out *o)
{
	uint8_t tmp[FRAME_NAME_MAX + 2];
	struct mux_stream *st;
	int len;

	for (st = m->streams; st != NULL && m->opens_owed > 0; st = st->next) {
		if (!(st->owed & MUX_OWE_OPEN))
			continue;
		len = frame_open_encode(st->service, tmp, sizeof(tmp));
		if (len < 0 || !put(o, FRAME_OPEN, st->id, tmp, (size_t)len))
			return false;
		st->owed &= ~MUX_OWE_OPEN;
		m->opens_owed--;
	}
	return true;
}

/*
 * One stream's WINDOW, at most one DATA frame, and its CLOSE. Returns 1 if it
 * produced something, 0 if nothing, -1 when the buffer is full.
 */
static int out_stream(struct mux *m, struct out *o, struct mux_stream *st)
{
	int did = 0;

	if (st->broken)
		return 0;
	if (st->owed & MUX_OWE_WINDOW) {
		if (!put_u32(o, FRAME_WINDOW, st->id, st->window_owed))
			return -1;
		st->recv_window += st->window_owed;
		st->window_owed = 0;
		st->owed &= ~MUX_OWE_WINDOW;
		did = 1;
	}
	if (st->readable && !st->local_eof && !st->tx_closed && st->send_window > 0 && !st->held) {
		size_t room = o->cap - o->len;
		long r;

		/* Not worth a frame: the next record takes it whole. */
		if (room < FRAME_HEADER_LEN + 256 && o->len > 0)
			return -1;
		if (room <= FRAME_HEADER_LEN)
			return -1;
		room -= FRAME_HEADER_LEN;
		if (room > st->send_window)
			room = st->send_window;
		if (room > m->peer_max_payload)
			room = m->peer_max_payload;
		r = m->pull(m->user, st, o->buf + o->len + FRAME_HEADER_LEN, room);
		if (r > 0) {
			(void)frame_build(o->buf + o->len, o->cap - o->len, FRAME_DATA, st->id,
					  NULL, (size_t)r);
			o->len += FRAME_HEADER_LEN + (size_t)r;
			st->send_window -= (uint32_t)r;
			st->sent += (uint64_t)r;
			m->bytes_out += (uint64_t)r;
			did = 1;
		} else if (r == 0) {
			st->readable = false;
		} else if (r == MUX_PULL_EOF) {
			st->local_eof = true;
			st->readable = false;
			st->owed |= MUX_OWE_CLOSE;
		} else {
			st->broken = true;
			st->readable = false;
			m->streams_changed = true;
			return did;
		}
	}
	if (st->owed & MUX_OWE_CLOSE) {
		if (!put(o, FRAME_CLOSE, st->id, NULL, 0))
			return -1;
		st->owed &= ~MUX_OWE_CLOSE;
		st->tx_closed = true;
		m->streams_changed = true;
		did = 1;
	}
	return did;
}

size_t mux_output(struct mux *m, uint8_t *out, size_t cap)
{
	struct out o = {out, cap, 0};
	bool progress = true;

	if (!out_session(m, &o))
		return o.len;
	if ((m->state != MUX_OPEN && m->state != MUX_DRAINING) || m->owe_goaway)
		return o.len;
	if (!out_opens(m, &o))
		return o.len;
	while (progress) {
		/* One lap over the streams from the round-robin cursor, one DATA frame each. */
		uint32_t lap = m->n_streams;
		struct mux_stream *st = m->rr != NULL ? m->rr : m->streams;

		progress = false;
		while (lap-- > 0 && st != NULL) {
			struct mux_stream *next = st->next != NULL ? st->next : m->streams;
			int r = out_stream(m, &o, st);

			if (r < 0) {
				m->rr = st;
				return o.len;
			}
			if (r > 0)
				progress = true;
			st = next;
		}
		m->rr = st;
	}
	return o.len;
}

bool mux_crl_ok(const struct mux *m)
{
	return (m->p.caps & FRAME_CAP_CRL) && (m->peer_caps & FRAME_CAP_CRL) && m->hello_rx &&
	       (m->state == MUX_OPEN || m->state == MUX_DRAINING);
}

bool mux_roll(struct mux *m)
{
	if (!(m->p.caps & FRAME_CAP_ROLL) || !(m->peer_caps & FRAME_CAP_ROLL) || !m->hello_rx ||
	    m->state != MUX_OPEN)
		return false;
	m->owe_roll = true;
	return true;
}

void mux_crl_have(struct mux *m, const struct frame_crl_have *h, unsigned n)
{
	int len;

	if (!mux_crl_ok(m))
		return;
	len = frame_crl_have_encode(h, n, m->crl_have, sizeof(m->crl_have));
	if (len <= 0)
		return;
	m->crl_have_len = (uint8_t)len;
	m->owe_crl_have = true;
}

void mux_crl_get(struct mux *m, const uint8_t issuer[FRAME_CRL_ISSUER_ID], uint8_t *sink,
		 uint32_t cap)
{
	if (!mux_crl_ok(m))
		return;
	memcpy(m->crl_get, issuer, sizeof(m->crl_get));
	m->owe_crl_get = true;
	/* A piece of an earlier ask on its way in lands nowhere, not in this sink. */
	if (m->rx == MUX_RX_CRL_BODY)
		m->rx = MUX_RX_DISCARD;
	m->crl_sink = sink;
	m->crl_sink_cap = cap;
	m->crl_total = 0;
	m->crl_got = 0;
}

void mux_crl_get_cancel(struct mux *m)
{
	m->crl_sink = NULL;
	m->owe_crl_get = false;
	/* A piece on its way in still lands nowhere. */
	if (m->rx == MUX_RX_CRL_BODY)
		m->rx = MUX_RX_DISCARD;
}

void mux_crl_send(struct mux *m, const uint8_t *der, uint32_t len)
{
	if (!mux_crl_ok(m) || der == NULL || len == 0)
		return;
	m->crl_out = der;
	m->crl_out_len = len;
	m->crl_out_off = 0;
}

void mux_crl_send_cancel(struct mux *m)
{
	m->crl_out = NULL;
}

bool mux_renew_ok(const struct mux *m)
{
	return (m->p.caps & FRAME_CAP_RENEW) && (m->peer_caps & FRAME_CAP_RENEW) && m->hello_rx &&
	       (m->state == MUX_OPEN || m->state == MUX_DRAINING);
}

bool mux_renew_request(struct mux *m, const uint8_t *der, size_t len)
{
	if (!mux_renew_ok(m) || der == NULL || len == 0 || len > FRAME_RENEW_DER_MAX ||
	    len > m->peer_max_payload)
		return false;
	m->renew_req = der;
	m->renew_req_len = (uint16_t)len;
	return true;
}

void mux_renew_cancel(struct mux *m)
{
	m->renew_req = NULL;
}

bool mux_renew_answer(struct mux *m, const uint8_t *p, size_t len)
{
	if (!mux_renew_ok(m) || p == NULL || len < 2 || len > 1 + FRAME_RENEW_DER_MAX ||
	    len > m->peer_max_payload)
		return false;
	m->renew_ans = p;
	m->renew_ans_len = (uint16_t)len;
	return true;
}

void mux_renew_refuse(struct mux *m, const char *reason)
{
	if (mux_renew_ok(m) && reason != NULL && reason[0] != '\0')
		m->renew_refusal = reason;
}

bool mux_renew_answer_pending(const struct mux *m)
{
	return m->renew_ans != NULL;
}

void mux_renew_sink(struct mux *m, uint8_t *sink, size_t cap)
{
	if (m->rx == MUX_RX_RENEW && m->renew_got == 0 && sink != NULL && cap >= m->rx_left)
		m->renew_sink = sink;
}

/* ---- input */

/* Ids the peer opens have the parity of its role; ours the other. */
static bool id_is_peers(const struct mux *m, uint32_t id)
{
	return (id & 1u) == (m->p.odd_ids ? 0u : 1u);
}

/* An id that was used once and is gone now (frames for it may still arrive). */
static bool id_was_used(const struct mux *m, uint32_t id)
{
	if (id_is_peers(m, id))
		return id <= m->last_peer_id;
	return id < m->next_id || (m->ids_spent && id == m->next_id);
}

/* A protocol error: GOAWAY code is owed, input stops, the driver ends the session. */
static void fail(struct mux *m, uint32_t code, const char *reason, bool prefix,
		 struct mux_event *ev)
{
	if (prefix)
		snprintf(m->text, sizeof(m->text), "protocol error: %s", reason);
	else if (reason != m->text)
		snprintf(m->text, sizeof(m->text), "%s", reason);
	if (!mux_goaway(m, code, m->text)) {
		/* A goodbye was said or heard already: nothing more leaves. */
		m->owe_goaway = false;
		m->owe_hello = m->owe_ping = false;
		m->n_pongs = 0;
		m->n_resets = 0;
	}
	m->state = MUX_FAILED;
	ev->type = MUX_EV_FATAL;
	ev->code = code;
	ev->text = m->text;
}

/* The stream a frame names, NULL if gone (ignore it); an unused id fails the session. */
static struct mux_stream *frame_stream(struct mux *m, struct mux_event *ev)
{
	struct mux_stream *st = mux_stream_find(m, m->hdr.stream);

	if (st == NULL && !id_was_used(m, m->hdr.stream))
		fail(m, FRAME_GOAWAY_PROTOCOL, "frame for a stream never opened", true, ev);
	return st;
}

static void on_hello(struct mux *m, struct mux_event *ev)
{
	struct frame_hello h;
	const char *why;

	/* The version comes first: a HELLO of another version may be laid out otherwise. */
	if (frame_hello_decode(m->rx_buf, m->hdr.length, &h, &why) != 0 &&
	    h.version == FRAME_VERSION) {
		fail(m, FRAME_GOAWAY_PROTOCOL, why, true, ev);
		return;
	}
	if (h.version != FRAME_VERSION) {
		fail(m, FRAME_GOAWAY_VERSION, "unsupported protocol version", true, ev);
		return;
	}
	if (strcmp(h.name, m->p.peer_name) != 0) {
		snprintf(m->text, sizeof(m->text),
			 "identity mismatch: hello names %s, the certificate is peer %s", h.name,
			 m->p.peer_name);
		fail(m, FRAME_GOAWAY_IDENTITY, m->text, false, ev);
		return;
	}
	m->hello_rx = true;
	m->peer_max_payload = h.max_payload;
	m->peer_window = h.window;
	m->peer_caps = h.capabilities;
	/* A GOAWAY already sent (shutdown while waiting for this HELLO) still holds. */
	if (m->state == MUX_HELLO)
		m->state = MUX_OPEN;
	ev->type = MUX_EV_UP;
}

static void on_open(struct mux *m, struct mux_event *ev)
{
	uint32_t id = m->hdr.stream;
	const char *why;

	if (!id_is_peers(m, id) || id <= m->last_peer_id) {
		fail(m, FRAME_GOAWAY_PROTOCOL, "OPEN with a stream id out of sequence", true, ev);
		return;
	}
	m->last_peer_id = id;
	if (frame_open_decode(m->rx_buf, m->hdr.length, m->text, &why) != 0) {
		fail(m, FRAME_GOAWAY_PROTOCOL, why, true, ev);
		return;
	}
	ev->type = MUX_EV_OPEN;
	ev->id = id;
	ev->text = m->text;
}

static void on_goaway(struct mux *m, struct mux_event *ev)
{
	char reason[FRAME_REASON_MAX + 1];
	const char *why, *name;
	uint32_t code;
	size_t nl;
	int named;

	if (frame_goaway_decode(m->rx_buf, m->hdr.length, &code, reason, &why) != 0) {
		fail(m, FRAME_GOAWAY_PROTOCOL, why, true, ev);
		return;
	}
	/* "protocol error: ..." already names its code: do not say it twice. */
	name = frame_goaway_name(code);
	nl = strlen(name);
	named = strncmp(reason, name, nl) == 0 && (reason[nl] == ':' || reason[nl] == '\0');
	snprintf(m->text, sizeof(m->text), "goaway from peer: %s%s%s", named ? "" : name,
		 named || reason[0] == '\0' ? "" : ": ", reason);
	m->goaway_rx = true;
	if (mux_code_drains(code)) {
		if (m->state == MUX_HELLO || m->state == MUX_OPEN)
			m->state = MUX_DRAINING;
	} else {
		m->state = MUX_FAILED;
	}
	ev->type = MUX_EV_GOAWAY;
	ev->code = code;
	ev->text = m->text;
}

static void on_control(struct mux *m, struct mux_event *ev)
{
	const uint8_t *p = m->rx_buf;
	struct mux_stream *st;
	const char *why;
	int code;

	switch (m->hdr.type) {
	case FRAME_HELLO:
		on_hello(m, ev);
		return;
	case FRAME_OPEN:
		on_open(m, ev);
		return;
	case FRAME_WINDOW: {
		uint32_t v = frame_u32_decode(p), w = 0;

		st = frame_stream(m, ev);
		if (ev->type != MUX_EV_NONE)
			return;
		/* A stream that just ended: check the increment all the same. */
		if (frame_window_add(st != NULL ? &st->send_window : &w, v, &why, &code) != 0) {
			fail(m, (uint32_t)code, why, true, ev);
			return;
		}
		if (st != NULL) {
			ev->type = MUX_EV_WINDOW;
			ev->st = st;
		}
		return;
	}
	case FRAME_CLOSE:
		st = frame_stream(m, ev);
		if (st == NULL)
			return;
		ev->st = st;
		if (st->rx_closed) {
			ev->type = MUX_EV_STREAM_ERROR;
			ev->code = FRAME_RESET_STREAM_ERROR;
			ev->text = "second close from peer";
			return;
		}
		st->rx_closed = true;
		ev->type = MUX_EV_CLOSE;
		return;
	case FRAME_RESET:
		st = frame_stream(m, ev);
		if (st == NULL)
			return;
		ev->type = MUX_EV_RESET;
		ev->st = st;
		ev->code = frame_u32_decode(p);
		return;
	case FRAME_PING:
		/* Room is certain: input stops at a frame boundary while the queue is full. */
		if (m->n_pongs < TETHER_PONG_QUEUE)
			memcpy(m->pongs[m->n_pongs++], p, 8);
		return;
	case FRAME_PONG:
		ev->type = MUX_EV_PONG;
		return;
	case FRAME_GOAWAY:
		on_goaway(m, ev);
		return;
	case FRAME_CRL_HAVE:
		if (frame_crl_have_decode(p, m->hdr.length, m->peer_crls, &m->n_peer_crls, &why) !=
		    0) {
			fail(m, FRAME_GOAWAY_PROTOCOL, why, true, ev);
			return;
		}
		ev->type = MUX_EV_CRL_HAVE;
		return;
	case FRAME_CRL_GET:
		memcpy(m->crl_asked, p, sizeof(m->crl_asked));
		ev->type = MUX_EV_CRL_GET;
		return;
	case FRAME_ROLL:
		ev->type = MUX_EV_ROLL;
		return;
	}
}

/* A CRL piece's head read: take its bytes into the sink, or refuse it. */
static void on_crl_head(struct mux *m, struct mux_event *ev)
{
	uint32_t total = frame_u32_decode(m->rx_buf), off = frame_u32_decode(m->rx_buf + 4);
	const char *bad = NULL;

	m->rx_have = 0;
	m->rx = MUX_RX_DISCARD;
	if (m->crl_sink == NULL)
		return; /* not asked for (or given up on): dropped, the session is fine */
	if (total == 0 || total > m->crl_sink_cap)
		bad = "CRL too big";
	else if (m->crl_got == 0 && off == 0)
		m->crl_total = total;
	if (bad == NULL &&
	    (total != m->crl_total || off != m->crl_got || m->rx_left > m->crl_total - m->crl_got))
		bad = "CRL pieces out of order";
	if (bad != NULL) {
		m->crl_sink = NULL;
		ev->type = MUX_EV_CRL_BAD;
		ev->text = bad;
		return;
	}
	m->rx = MUX_RX_CRL_BODY;
}

static void on_header(struct mux *m, struct mux_event *ev)
{
	struct mux_stream *st;
	const char *why;
	int code;

	m->rx_have = 0;
	if (frame_header_decode(m->rx_hdr, m->p.max_payload, &m->hdr, &why, &code) != 0) {
		fail(m, (uint32_t)code, why, true, ev);
		return;
	}
	if (!m->hello_rx && m->hdr.type != FRAME_HELLO && m->hdr.type != FRAME_GOAWAY) {
		fail(m, FRAME_GOAWAY_PROTOCOL, "first frame is not HELLO", true, ev);
		return;
	}
	if (m->hello_rx && m->hdr.type == FRAME_HELLO) {
		fail(m, FRAME_GOAWAY_PROTOCOL, "second HELLO", true, ev);
		return;
	}
	m->rx_left = m->hdr.length;
	if (m->hdr.type >= FRAME_CRL_HAVE && m->hdr.type <= FRAME_CRL &&
	    (!(m->p.caps & FRAME_CAP_CRL) || !(m->peer_caps & FRAME_CAP_CRL))) {
		fail(m, FRAME_GOAWAY_PROTOCOL, "CRL frame not announced in HELLO", true, ev);
		return;
	}
	if (m->hdr.type == FRAME_ROLL &&
	    (!(m->p.caps & FRAME_CAP_ROLL) || !(m->peer_caps & FRAME_CAP_ROLL))) {
		fail(m, FRAME_GOAWAY_PROTOCOL, "ROLL not announced in HELLO", true, ev);
		return;
	}
	if ((m->hdr.type == FRAME_RENEW_REQ || m->hdr.type == FRAME_RENEW_ANS) &&
	    (!(m->p.caps & FRAME_CAP_RENEW) || !(m->peer_caps & FRAME_CAP_RENEW))) {
		fail(m, FRAME_GOAWAY_PROTOCOL, "RENEW frame not announced in HELLO", true, ev);
		return;
	}
	if (m->hdr.type == FRAME_CRL) {
		m->rx = MUX_RX_CRL_HEAD;
		return;
	}
	if (m->hdr.type == FRAME_RENEW_REQ || m->hdr.type == FRAME_RENEW_ANS) {
		/* The driver says where it goes (mux_renew_sink()) while it hears of it. */
		m->rx = MUX_RX_RENEW;
		m->renew_sink = NULL;
		m->renew_got = 0;
		ev->type = MUX_EV_RENEW_HEAD;
		ev->code = m->hdr.type;
		ev->len = m->rx_left;
		return;
	}
	if (m->hdr.type != FRAME_DATA) {
		m->rx = MUX_RX_CONTROL;
		if (m->rx_left == 0) {
			m->rx = MUX_RX_HEADER;
			on_control(m, ev);
		}
		return;
	}
	m->rx = m->rx_left > 0 ? MUX_RX_DISCARD : MUX_RX_HEADER;
	st = frame_stream(m, ev);
	if (st == NULL)
		return;
	if (m->hdr.length > st->recv_window) {
		fail(m, FRAME_GOAWAY_FLOW, "DATA beyond the stream's window", true, ev);
		return;
	}
	st->recv_window -= m->hdr.length;
	if (st->rx_closed) {
		/* DATA after CLOSE: this stream is broken, the session is not. */
		ev->type = MUX_EV_STREAM_ERROR;
		ev->st = st;
		ev->code = FRAME_RESET_STREAM_ERROR;
		ev->text = "data after close";
		return;
	}
	if (m->rx_left > 0) {
		m->rx = MUX_RX_DATA;
		m->rx_stream = st;
	}
}

uint8_t *mux_input_buf(struct mux *m, size_t *want)
{
	uint8_t *p;

	*want = 0;
	if (m->state == MUX_FAILED)
		return NULL;
	switch (m->rx) {
	case MUX_RX_HEADER:
		/* Refusals or PONGs owed pile up: read on once they are sent. */
		if (m->rx_have == 0 && mux_input_full(m))
			return NULL;
		*want = FRAME_HEADER_LEN - m->rx_have;
		return m->rx_hdr + m->rx_have;
	case MUX_RX_CONTROL:
		*want = m->rx_left;
		return m->rx_buf + m->rx_have;
	case MUX_RX_DATA:
		/* The ring always has room for the window it granted. */
		p = ring_write_span(&m->rx_stream->rx, want);
		if (*want > m->rx_left)
			*want = m->rx_left;
		return *want > 0 ? p : NULL;
	case MUX_RX_DISCARD:
		*want = m->rx_left < sizeof(m->rx_buf) ? m->rx_left : sizeof(m->rx_buf);
		return m->rx_buf;
	case MUX_RX_CRL_HEAD:
		*want = FRAME_CRL_PIECE_HEAD - m->rx_have;
		return m->rx_buf + m->rx_have;
	case MUX_RX_CRL_BODY:
		*want = m->rx_left;
		return m->crl_sink + m->crl_got;
	case MUX_RX_RENEW:
		if (m->renew_sink == NULL) {
			/* Nobody took it: dropped, the session is fine. */
			m->rx = MUX_RX_DISCARD;
			*want = m->rx_left < sizeof(m->rx_buf) ? m->rx_left : sizeof(m->rx_buf);
			return m->rx_buf;
		}
		*want = m->rx_left;
		return m->renew_sink + m->renew_got;
	}
	return NULL;
}

bool mux_input_full(const struct mux *m)
{
	return m->n_resets >= TETHER_RESET_QUEUE || m->n_pongs >= TETHER_PONG_QUEUE;
}

void mux_input_ack(struct mux *m, size_t got, struct mux_event *ev)
{
	struct mux_stream *st;

	memset(ev, 0, sizeof(*ev));
	if (got == 0 || m->state == MUX_FAILED)
		return;
	switch (m->rx) {
	case MUX_RX_HEADER:
		m->rx_have += got;
		if (m->rx_have == FRAME_HEADER_LEN)
			on_header(m, ev);
		return;
	case MUX_RX_CONTROL:
		m->rx_have += got;
		m->rx_left -= got;
		if (m->rx_left == 0) {
			m->rx = MUX_RX_HEADER;
			m->rx_have = 0;
			on_control(m, ev);
		}
		return;
	case MUX_RX_DATA:
		st = m->rx_stream;
		ring_commit(&st->rx, got);
		st->received += got;
		m->bytes_in += got;
		m->rx_left -= got;
		if (m->rx_left == 0) {
			m->rx = MUX_RX_HEADER;
			m->rx_stream = NULL;
		}
		ev->type = MUX_EV_DATA;
		ev->st = st;
		ev->len = got;
		return;
	case MUX_RX_DISCARD:
		m->rx_left -= got;
		if (m->rx_left == 0)
			m->rx = MUX_RX_HEADER;
		return;
	case MUX_RX_CRL_HEAD:
		m->rx_have += got;
		m->rx_left -= got;
		if (m->rx_have == FRAME_CRL_PIECE_HEAD)
			on_crl_head(m, ev);
		if (m->rx_left == 0 && m->rx != MUX_RX_HEADER) {
			m->rx = MUX_RX_HEADER;
			m->rx_have = 0;
		}
		return;
	case MUX_RX_CRL_BODY:
		m->crl_got += (uint32_t)got;
		m->rx_left -= got;
		if (m->rx_left == 0)
			m->rx = MUX_RX_HEADER;
		if (m->crl_got == m->crl_total && m->rx_left == 0) {
			m->crl_sink = NULL;
			ev->type = MUX_EV_CRL;
			ev->len = m->crl_total;
		}
		return;
	case MUX_RX_RENEW:
		m->renew_got += (uint32_t)got;
		m->rx_left -= got;
		if (m->rx_left == 0) {
			m->rx = MUX_RX_HEADER;
			m->renew_sink = NULL;
			ev->type = MUX_EV_RENEW;
			ev->code = m->hdr.type;
			ev->len = m->renew_got;
		}
		return;
	}
}

size_t mux_input(struct mux *m, const uint8_t *p, size_t len, struct mux_event *ev)
{
	size_t off = 0;

	memset(ev, 0, sizeof(*ev));
	while (off < len) {
		size_t want;
		uint8_t *dst = mux_input_buf(m, &want);

		if (dst == NULL)
			break;
		if (want > len - off)
			want = len - off;
		memcpy(dst, p + off, want);
		off += want;
		mux_input_ack(m, want, ev);
		if (ev->type != MUX_EV_NONE)
			break;
	}
	return off;
}
