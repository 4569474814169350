/*
 * mux.h: the session's frame engine, without I/O (docs/PROTOCOL.md).
 *
 * The mux owns what the protocol says about a session: HELLO, the streams'
 * frame state and windows, the order frames leave in, and the parse of what
 * arrives. It does no I/O and calls nobody up. Like BearSSL's engine it is
 * driven through buffer/ack pairs:
 *
 *   input:  p = mux_input_buf(m, &want); write up to want bytes of plaintext
 *           at p; mux_input_ack(m, got, &ev); handle ev; repeat.
 *   output: len = mux_output(m, buf, cap) assembles the owed frames into buf
 *           (one TLS record's worth); the driver hands them to TLS.
 *
 * Bytes of DATA from the peer land in the stream's receive ring (ring.h) with
 * no copy; bytes for the peer are pulled from the stream's local side by the
 * pull function given to mux_init(), straight into the output buffer, only as
 * far as the peer's window and the record allow. So the mux holds no data of
 * its own beyond one frame header and one control payload.
 *
 * The caller owns every struct mux_stream (they live in its pool); the mux
 * links the ones attached to it. A stream leaves the mux only through
 * mux_stream_detach(), never on its own, so a driver may keep pointers across
 * calls.
 */
#ifndef TETHER_MUX_H
#define TETHER_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"
#include "base/opts.h"
#include "core/ring.h"

struct mux_stream {
	struct mux_stream *next; /* the mux's list, in the order streams were attached */
	uint32_t id;
	unsigned owed;	      /* MUX_OWE_*: frames owed to the peer */
	bool readable;	      /* the local side may have bytes: pull when there is window */
	bool local_eof;	      /* the local side finished sending: CLOSE owed or sent */
	bool tx_closed;	      /* CLOSE sent */
	bool rx_closed;	      /* CLOSE received */
	bool held;	      /* no DATA pulled yet (the local side is not ready) */
	bool broken;	      /* the pull failed: the driver resets and detaches it */
	uint32_t send_window; /* bytes the peer still accepts */
	uint32_t recv_window; /* bytes we still let the peer send */
	uint32_t window_owed; /* consumed bytes not yet returned by WINDOW */
	uint64_t sent;
	uint64_t received;
	struct ring rx; /* bytes from the peer waiting for the local side */
	char service[FRAME_NAME_MAX + 1];
};

#define MUX_OWE_OPEN 0x01u
#define MUX_OWE_CLOSE 0x02u
#define MUX_OWE_WINDOW 0x04u

/* What a pull function returns besides a byte count (>0) or 0 (nothing now). */
#define MUX_PULL_EOF (-1)  /* the local side finished: CLOSE is owed */
#define MUX_PULL_FAIL (-2) /* the local side failed: the driver resets the stream */

/*
 * Read at most room bytes of st's local side into dst. MUST NOT call back
 * into the mux: a failing stream is marked (MUX_PULL_FAIL) and dealt with by
 * the driver after mux_output() returns.
 */
typedef long (*mux_pull_fn)(void *user, struct mux_stream *st, uint8_t *dst, size_t room);

enum mux_event_type {
	MUX_EV_NONE = 0,
	MUX_EV_UP,	     /* the peer's HELLO arrived and was valid */
	MUX_EV_OPEN,	     /* the peer opens stream id for service: attach or refuse */
	MUX_EV_DATA,	     /* len bytes landed in st's ring */
	MUX_EV_CLOSE,	     /* the peer finished sending on st */
	MUX_EV_RESET,	     /* the peer reset st with code */
	MUX_EV_WINDOW,	     /* st's send window grew */
	MUX_EV_STREAM_ERROR, /* st misused by the peer: the driver resets it with code */
	MUX_EV_PONG,	     /* the peer answered our PING */
	MUX_EV_GOAWAY,	     /* the peer said GOAWAY: draining (code drains) or end */
	MUX_EV_FATAL,	     /* we found a protocol error: GOAWAY code is owed, then end */
	MUX_EV_CRL_HAVE,     /* the peer announced its CRLs: m->peer_crls */
	MUX_EV_CRL_GET,	     /* the peer asks for our CRL of issuer m->crl_asked */
	MUX_EV_CRL,	     /* the CRL we asked for arrived whole: len bytes at the sink */
	MUX_EV_CRL_BAD,	     /* a CRL piece refused (text says why); the transfer is off */
	MUX_EV_ROLL,	     /* the peer asks us (the dialer) to roll the session */
	/*
	 * A RENEW_REQ or RENEW_ANS (code: its type) of len payload bytes begins:
	 * the driver gives it a sink with mux_renew_sink() now, or it is dropped.
	 */
	MUX_EV_RENEW_HEAD,
	MUX_EV_RENEW, /* the RENEW_REQ or RENEW_ANS (code) arrived whole in the sink: len bytes */
};

struct mux_event {
	enum mux_event_type type;
	struct mux_stream *st; /* DATA, CLOSE, RESET, WINDOW, STREAM_ERROR */
	uint32_t id;	       /* OPEN */
	uint32_t code;	       /* RESET, STREAM_ERROR, GOAWAY, FATAL */
	size_t len;	       /* DATA */
	const char *text;      /* OPEN: service; GOAWAY, FATAL, STREAM_ERROR: reason */
};

enum mux_state {
	MUX_HELLO = 0, /* waiting for the peer's HELLO */
	MUX_OPEN,      /* carrying streams */
	MUX_DRAINING,  /* GOAWAY sent or received: no new streams, open ones finish */
	MUX_FAILED,    /* a protocol error was found: input stops, only GOAWAY leaves */
};

enum mux_rx {
	MUX_RX_HEADER = 0,
	MUX_RX_CONTROL,
	MUX_RX_DATA,
	MUX_RX_DISCARD,
	MUX_RX_CRL_HEAD, /* a CRL piece's total and offset */
	MUX_RX_CRL_BODY, /* its bytes, into the sink */
	MUX_RX_RENEW	 /* a RENEW_REQ or RENEW_ANS payload, into the renew sink */
};

struct mux_reset {
	uint32_t stream;
	uint32_t code;
};

/* What this side announces in its HELLO and expects of the peer's. */
struct mux_params {
	const char *name;      /* our node name */
	const char *peer_name; /* the name the peer's certificate proved */
	uint32_t window;       /* initial window granted per stream (= ring size) */
	uint32_t max_payload;  /* largest payload we accept */
	bool odd_ids;	       /* we dialed: our stream ids are odd */
	uint32_t caps;	       /* FRAME_CAP_* announced in our HELLO */
};

struct mux {
	enum mux_state state;
	struct mux_params p;
	mux_pull_fn pull;
	void *user;
	bool hello_sent;
	bool hello_rx;
	bool goaway_sent; /* or owed */
	bool goaway_rx;
	uint32_t peer_max_payload;
	uint32_t peer_window;
	uint32_t peer_caps;

	struct mux_stream *streams;
	struct mux_stream *rr; /* round-robin cursor for DATA */
	uint32_t n_streams;
	uint32_t opens_owed;
	uint32_t next_id;      /* next id we open */
	bool ids_spent;	       /* next_id was our largest: we open no more */
	uint32_t last_peer_id; /* highest id the peer opened */

	/* Owed session frames. */
	bool owe_hello, owe_ping, owe_goaway;
	uint8_t ping_payload[8];
	/* One PONG per PING, oldest first; input pauses while the queue is full. */
	uint8_t pongs[TETHER_PONG_QUEUE][8];
	unsigned n_pongs;
	uint32_t goaway_code;
	const char *goaway_reason; /* static words, or the mux's own text */
	struct mux_reset resets[TETHER_RESET_QUEUE];
	unsigned n_resets;
	bool reset_lost; /* a RESET found the queue full: the session must end */
	/* A CLOSE left or a pull failed since the driver last looked (it clears this). */
	bool streams_changed;

	/* Input. */
	enum mux_rx rx;
	struct frame_header hdr;
	size_t rx_have;
	size_t rx_left;
	struct mux_stream *rx_stream;
	uint8_t rx_hdr[FRAME_HEADER_LEN];
	uint8_t rx_buf[FRAME_REASON_MAX + 8]; /* largest control payload: GOAWAY */
	char text[FRAME_REASON_MAX + 64];     /* an event's words */

	/* CRL exchange: only when both HELLOs announced FRAME_CAP_CRL. */
	bool owe_crl_have, owe_crl_get;
	bool owe_roll;
	uint8_t crl_have_len;
	uint8_t crl_have[1 + FRAME_CRL_HAVE_MAX * (FRAME_CRL_ISSUER_ID + 1 + FRAME_CRL_NUMBER_MAX)];
	uint8_t crl_get[FRAME_CRL_ISSUER_ID];
	const uint8_t *crl_out; /* a CRL leaving (MUST stay valid until sent or cancelled) */
	uint32_t crl_out_len, crl_out_off;
	uint8_t *crl_sink; /* where the CRL we asked for lands; NULL: not asking */
	uint32_t crl_sink_cap, crl_total, crl_got;
	struct frame_crl_have peer_crls[FRAME_CRL_HAVE_MAX]; /* its last CRL_HAVE */
	unsigned n_peer_crls;
	uint8_t crl_asked[FRAME_CRL_ISSUER_ID]; /* the issuer of the peer's last CRL_GET */

	/* Renewal: only when both HELLOs announced FRAME_CAP_RENEW. */
	const uint8_t *renew_req; /* a CSR leaving (MUST stay valid until sent or cancelled) */
	uint16_t renew_req_len;
	const uint8_t *renew_ans; /* an answer leaving: result byte and certificate */
	uint16_t renew_ans_len;
	const char *renew_refusal; /* a refusal leaving (static words), NULL if none */
	uint8_t *renew_sink;	   /* where the RENEW frame coming in lands; NULL: dropped */
	uint32_t renew_got;

	uint64_t bytes_in; /* DATA payload */
	uint64_t bytes_out;
};

/* Start a session's mux: HELLO is owed at once. */
void mux_init(struct mux *m, const struct mux_params *p, mux_pull_fn pull, void *user);

/*
 * Input. mux_input_buf() returns where the next bytes go and sets *want > 0,
 * or returns NULL with *want 0 when the mux takes no input now: it failed, or
 * refusals owed fill the RESET queue or PONGs owed the PONG queue (read again
 * once mux_input_full() is false, after mux_output()).
 * mux_input_ack() parses got bytes written there (got <= *want) and reports at
 * most one event in ev (MUX_EV_NONE when there is nothing to report).
 */
uint8_t *mux_input_buf(struct mux *m, size_t *want);
/* Answers owed fill a queue (RESETs or PONGs): input waits until they leave. */
bool mux_input_full(const struct mux *m);
void mux_input_ack(struct mux *m, size_t got, struct mux_event *ev);
/* Copy up to len bytes in, stopping after the first event. Returns bytes taken. */
size_t mux_input(struct mux *m, const uint8_t *p, size_t len, struct mux_event *ev);

/*
 * Output: the owed frames that fit in cap bytes (one record): session frames
 * first, then OPENs in id order, then each stream's WINDOW, DATA (round
 * robin, one frame per stream per lap) and CLOSE. Returns the bytes written;
 * 0 when nothing is owed.
 */
size_t mux_output(struct mux *m, uint8_t *out, size_t cap);

/* Streams. A stream MUST have a zeroed struct and a ring of p.window bytes. */
/*
 * Open a stream of ours to service; OPEN is owed. Returns its id, or 0 (st
 * untouched) when the session carries no new streams: not open, or every id
 * of our parity is spent.
 */
uint32_t mux_stream_open(struct mux *m, struct mux_stream *st, const char *service);
/* Accept the stream the peer opened (MUX_EV_OPEN). */
void mux_stream_accept(struct mux *m, struct mux_stream *st, uint32_t id, const char *service);
/* Refuse the stream the peer opened: RESET code is owed. */
void mux_refuse(struct mux *m, uint32_t id, uint32_t code);
/* n bytes of st's ring were delivered to the local side: window credit accrues. */
void mux_stream_consumed(struct mux *m, struct mux_stream *st, size_t n);
/* The local side has bytes (or EOF) to read. */
void mux_stream_readable(struct mux *m, struct mux_stream *st);
/* Take st out of the mux; code != 0 owes RESET code to the peer. */
void mux_stream_detach(struct mux *m, struct mux_stream *st, uint32_t code);
/* Both directions closed and the ring empty: the stream is done. */
bool mux_stream_done(const struct mux_stream *st);
struct mux_stream *mux_stream_find(const struct mux *m, uint32_t id);

/* Session frames. */
void mux_ping(struct mux *m, const uint8_t payload[8]);
/*
 * Say GOAWAY. A draining code (NORMAL, LIFETIME, DUPLICATE) lets open streams
 * finish; any other code stops input and owes nothing but the GOAWAY. A second
 * GOAWAY is not sent. Returns true if this call queued one. reason MUST stay
 * valid until the GOAWAY has left (static words); it is cut to
 * FRAME_REASON_MAX bytes on the wire.
 */
bool mux_goaway(struct mux *m, uint32_t code, const char *reason);

/*
 * CRL exchange (PROTOCOL.md section 12); each a no-op unless both HELLOs
 * announced FRAME_CAP_CRL. mux_crl_have: announce the CRLs we hold.
 * mux_crl_get: ask for the peer's CRL of issuer; it lands in sink (cap
 * bytes), which MUST stay valid until MUX_EV_CRL, MUX_EV_CRL_BAD or
 * mux_crl_get_cancel(). mux_crl_send: send der (len bytes), which MUST stay
 * valid until it has left or mux_crl_send_cancel(); one at a time.
 */
bool mux_crl_ok(const struct mux *m);
/* Ask the dialer to roll (FRAME_ROLL); false if the peer did not announce it. */
bool mux_roll(struct mux *m);
void mux_crl_have(struct mux *m, const struct frame_crl_have *h, unsigned n);
void mux_crl_get(struct mux *m, const uint8_t issuer[FRAME_CRL_ISSUER_ID], uint8_t *sink,
		 uint32_t cap);
void mux_crl_get_cancel(struct mux *m);
void mux_crl_send(struct mux *m, const uint8_t *der, uint32_t len);
void mux_crl_send_cancel(struct mux *m);

/*
 * Renewal (PROTOCOL.md section 13); each a no-op unless both HELLOs announced
 * FRAME_CAP_RENEW. mux_renew_request: send the CSR der (len bytes, at most
 * FRAME_RENEW_DER_MAX and within the peer's max frame), which MUST stay valid
 * until it has left or mux_renew_cancel(). mux_renew_answer: send p (len
 * bytes: the result byte and the certificate), valid until it has left
 * (mux_renew_answer_pending()) or the session ends. mux_renew_refuse: answer
 * with a refusal, reason static words. mux_renew_sink: during
 * MUX_EV_RENEW_HEAD only, where the payload goes (cap bytes, at least the
 * frame's length, valid until MUX_EV_RENEW or the session ends).
 */
bool mux_renew_ok(const struct mux *m);
bool mux_renew_request(struct mux *m, const uint8_t *der, size_t len);
void mux_renew_cancel(struct mux *m);
bool mux_renew_answer(struct mux *m, const uint8_t *p, size_t len);
void mux_renew_refuse(struct mux *m, const char *reason);
bool mux_renew_answer_pending(const struct mux *m);
void mux_renew_sink(struct mux *m, uint8_t *sink, size_t cap);

/* NORMAL, LIFETIME and DUPLICATE drain; every other code ends the session. */
bool mux_code_drains(uint32_t code);

#endif
