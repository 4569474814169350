/*
 * session.h: one mutually authenticated TLS connection to a peer node: the
 * driver that couples the frame engine (mux.h) to mbedTLS and the port.
 * Private to core/.
 *
 * A session never calls the node: it records what the node must act on
 * (came_up; its death is seen when the node releases it) and the node's
 * dispatcher acts after each event. Streams ask for output by joining the
 * node's pump list (session_want_pump), which the dispatcher drains.
 */
#ifndef TETHER_SESSION_H
#define TETHER_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include <mbedtls/ssl.h>

#include "core/mux.h"
#include "core/reason.h"
#include "core/tls.h"

struct tether_node;
struct stream;

enum session_state {
	SS_CONNECTING = 1, /* TCP connect under way (dialer) */
	SS_HANDSHAKE,	   /* TLS handshake */
	SS_MUX,		   /* TLS up: the mux says HELLO, OPEN, DRAINING or FAILED */
	SS_CLOSED,	   /* ended; released at the end of the node's step */
};

struct session {
	uint8_t kind; /* OBJ_SESSION */
	struct tether_node *node;
	enum session_state state;
	int h;			/* TCP handle */
	bool dialed;		/* we dialed it: our stream ids are odd */
	bool tls_up;		/* handshake finished */
	bool counted_handshake; /* holds one of limits.handshakes */
	bool want_write;	/* TLS output blocked: watch for PORT_WRITE */
	bool rx_paused;		/* the mux takes no input until output drains */
	bool peer_duplicate;	/* GOAWAY DUPLICATE received: the session it keeps is on its way */
	/*
	 * Not REASON_NONE: we dialed it and want it replaced (lifetime reached,
	 * own certificate rotated): the node dials a new session while this one
	 * carries on, and drains this one when the new one is up (make before
	 * break, docs/PROTOCOL.md section 7).
	 */
	enum tether_reason roll_why;
	bool crl_skip;	 /* a CRL from this peer failed: not asked again until it announces anew */
	bool roll_asked; /* we (the acceptor) sent ROLL: the dialer dials a successor */
	bool crl_resend; /* a CRL it asked for was cut off by a reload: send it again */
	bool came_up;	 /* HELLO exchanged; the node has not acted on it yet */
	bool in_pump;	 /* on the node's pump list */
	bool flush_owed; /* a stream got DATA in this read pass (stream_flush_owed) */
	bool in_small;	 /* the input buffer holds TETHER_RECORD_SIZE records (tls_resize_input) */
	int io_err;	 /* TETHER_ERR_* the transport last reported */
	int peer;	 /* configured peer index, -1 while unknown */
	char addr[TETHER_ADDR_MAX];
	uint64_t t_start;   /* ms: TCP connect/accept */
	uint64_t t_up;	    /* ms: HELLO exchanged */
	uint64_t t_rx;	    /* ms: last bytes received */
	uint64_t t_ping;    /* ms: last PING sent, 0 if none outstanding */
	uint64_t t_drain;   /* ms: drain deadline when draining */
	size_t heap_before; /* heap in use when the handshake started */
	size_t heap_peak;   /* peak over heap_before seen during the handshake */
	/* Why a draining session will end when its streams are done. */
	enum tether_reason drain_reason;
	char drain_text[FRAME_REASON_MAX + 64];

	mbedtls_ssl_context ssl;
	struct tls_verify verify;
	struct mux mux;
	/*
	 * mbedTLS holds an encrypted record it could not flush: ours, after
	 * mbedtls_ssl_write() returned WANT_WRITE, or an alert it wrote itself
	 * while reading (TLS 1.2 refusing renegotiation). Any write flushes that
	 * record instead of taking new bytes, so it is finished with a zero-length
	 * write before anything else; our bytes are never read again, which is why
	 * frames are assembled in the node's shared buffer rather than a
	 * per-session copy (4 KB saved per session).
	 */
	bool out_pending;

	struct session *prev_all, *next_all; /* node's list of live sessions */
	struct session *next_pump;
	struct session *next_dead;
};

struct session *session_dial(struct tether_node *n, int peer);
/* An arrival that spoke (admit.c) starts its handshake; t_accept: when it was accepted. */
struct session *session_accept(struct tether_node *n, int h, const char *addr, uint64_t t_accept);
void session_event(struct session *s, unsigned events);
/* Tear down: count and log the reason (detail: more precise words, or NULL), reset every stream. */
void session_end(struct session *s, enum tether_reason why, const char *detail);
/* Say GOAWAY with code; draining codes let streams finish, others end the session. */
void session_goaway(struct session *s, uint32_t code, enum tether_reason why);
/* The same, with more precise words than the reason's (NULL: the reason's). */
void session_goaway_because(struct session *s, uint32_t code, enum tether_reason why,
			    const char *detail);
void session_timers(struct session *s, uint64_t now, uint64_t *next);
/* Push owed frames and stream data into TLS as far as it goes. */
void session_pump(struct session *s);
/*
 * Send the records the node's gather buffer holds for whichever session
 * gathered them (TETHER_IO_BATCH): the dispatcher calls it after each event,
 * for records written outside a pump. A transport failure ends that session.
 */
void session_flush_all(struct tether_node *n);
/* Ask the node's dispatcher to pump s once the current event is handled. */
void session_want_pump(struct session *s);
void session_update_watch(struct session *s);
const char *session_peer_name(const struct session *s);
/* Carrying streams (HELLO exchanged, no GOAWAY either way, not ended). */
bool session_is_open(const struct session *s);
bool session_is_draining(const struct session *s);

/* HELLO was exchanged (the session came up), whether or not it has ended since. */
static inline bool session_was_up(const struct session *s)
{
	return s->tls_up && s->mux.hello_rx;
}

#endif
