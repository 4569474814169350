/*
 * node_impl.h: the node's internals, shared by node.c (dispatch, listeners,
 * peers, timers), session.c (one TLS session and its frames) and stream.c
 * (one forwarded TCP connection). Not for use outside core/.
 */
#ifndef TETHER_NODE_IMPL_H
#define TETHER_NODE_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <mbedtls/ssl.h>

#include "core/frame.h"
#include "core/log.h"
#include "core/node.h"
#include "base/opts.h"
#include "core/pool.h"
#include "core/tls.h"

/* Every object registered with port_watch() starts with one of these tags. */
enum obj_kind {
	OBJ_LISTENER = 1,
	OBJ_SESSION,
	OBJ_STREAM
};

struct listener {
	uint8_t kind; /* OBJ_LISTENER */
	int h;
	int forward; /* -1: the node's session listener, else index into cfg->forwards */
	struct tether_node *node;
	uint64_t paused_until; /* ms: accept failed (out of fds); unwatched until then */
};

enum session_state {
	SS_CONNECTING = 1, /* TCP connect under way (dialer) */
	SS_HANDSHAKE,	   /* TLS handshake */
	SS_HELLO,	   /* TLS up, HELLO sent or due, waiting for the peer's */
	SS_OPEN,	   /* carrying streams */
	SS_DRAINING,	   /* GOAWAY sent or received: no new streams, open ones finish */
};

/* Frames owed to the peer, emitted when the output buffer has room. */
#define SF_HELLO 0x01u
#define SF_PING 0x02u
#define SF_PONG 0x04u
#define SF_GOAWAY 0x08u

/* What the inbound frame parser is reading. */
enum rx_state {
	RX_HEADER = 0,
	RX_CONTROL,
	RX_DATA,
	RX_DISCARD
};

struct reset_entry {
	uint32_t stream;
	uint32_t code;
};

struct stream;

struct session {
	uint8_t kind; /* OBJ_SESSION */
	struct tether_node *node;
	enum session_state state;
	int h;	     /* TCP handle */
	bool dialed; /* we dialed it: our stream ids are odd */
	bool tls_up; /* handshake finished */
	bool hello_rx;
	bool counted_handshake; /* holds one of limits.handshakes */
	bool ending;		/* session_end() is running */
	bool want_write;	/* TLS output blocked: watch for PORT_WRITE */
	bool rx_paused;		/* reset queue full: stop reading until it drains */
	bool reset_lost;	/* a RESET found the queue full: the session must end */
	bool peer_duplicate;	/* ... DUPLICATE: the session it keeps is on its way */
	bool dead;		/* ended; released at the end of the node's step */
	int io_err;		/* TETHER_ERR_* the transport last reported */
	int peer;		/* configured peer index, -1 while unknown */
	char addr[TETHER_ADDR_MAX];
	uint64_t t_start;   /* ms: TCP connect/accept */
	uint64_t t_up;	    /* ms: HELLO exchanged */
	uint64_t t_rx;	    /* ms: last bytes received */
	uint64_t t_ping;    /* ms: last PING sent, 0 if none outstanding */
	uint64_t t_drain;   /* ms: drain deadline when DRAINING */
	size_t heap_before; /* heap in use when the handshake started */
	size_t heap_peak;   /* peak over heap_before seen during the handshake */

	mbedtls_ssl_context ssl;
	struct tls_verify verify;

	/* Peer's HELLO. */
	uint32_t peer_max_payload;
	uint32_t peer_window;

	/* Streams on this session; ids. */
	struct stream *streams;
	struct stream *rr;     /* round-robin cursor for sending */
	uint32_t next_id;      /* next id we open */
	uint32_t last_peer_id; /* highest id the peer opened */
	uint32_t n_streams;

	/* Output: frames are assembled here, one TLS record at a time. */
	unsigned flags; /* SF_* owed */
	uint8_t ping_payload[8];
	uint8_t pong_payload[8];
	uint32_t goaway_code;
	char goaway_reason[FRAME_REASON_MAX + 1];
	struct reset_entry resets[TETHER_RESET_QUEUE];
	unsigned n_resets;
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

	/* Input: header, then control payload or DATA straight into a stream. */
	enum rx_state rx;
	struct frame_header hdr;
	size_t rx_have;
	size_t rx_left;
	struct stream *rx_stream;
	uint8_t rx_hdr[FRAME_HEADER_LEN];
	uint8_t rx_buf[FRAME_REASON_MAX + 8]; /* largest control payload: GOAWAY */

	uint64_t bytes_in;
	uint64_t bytes_out;
	struct session *prev_all, *next_all; /* node's list of live sessions */
	struct session *next_dead;
};

/* Stream flags: what is owed to the peer. */
#define STF_OPEN 0x01u
#define STF_CLOSE 0x02u
#define STF_WINDOW 0x04u
#define STF_RESET 0x08u

struct stream {
	uint8_t kind; /* OBJ_STREAM */
	struct session *s;
	struct stream *next;
	uint32_t id;
	int h;	     /* local TCP handle, -1 once closed */
	int service; /* index into cfg->services (accepting side), -1 if ours */
	char service_name[FRAME_NAME_MAX + 1];
	bool outbound;	 /* we opened it (a forward) */
	bool connecting; /* local connect to the service's target under way */
	bool rd_ready;	 /* local socket may have data (readable seen) */
	bool local_eof;	 /* local side finished sending */
	bool tx_closed;	 /* CLOSE sent */
	bool rx_closed;	 /* CLOSE received */
	bool local_shut; /* local write side shut down after rx_closed */
	bool dead;	 /* ended; released at the end of the node's step */
	struct stream *next_dead;
	unsigned flags; /* STF_* owed */
	uint32_t reset_code;
	uint32_t send_window; /* bytes the peer still accepts */
	uint32_t window_owed; /* consumed bytes not yet returned by WINDOW */
	uint32_t recv_window; /* bytes we still let the peer send */
	uint64_t sent;
	uint64_t received;
	/* Receive ring: bytes from the peer waiting for the local socket. */
	uint32_t cap;
	uint32_t head;
	uint32_t len;
	uint8_t *buf;
};

struct peer_state {
	struct session *session; /* the established (or draining) session */
	uint32_t attempt;	 /* failed dials since the last success */
	uint64_t next_dial;	 /* ms; 0 = now */
	bool dialing;		 /* a dialed session exists that is not up yet */
	int64_t not_after;	 /* last seen certificate expiry */
};

struct tether_node {
	const struct tether_config *cfg;
	struct port *port;
	struct log_sink log;
	struct arena arena;
	struct tls_ctx tls;
	struct pool sessions;
	struct pool streams;
	struct peer_state *peers;
	struct listener *listeners; /* [0] = sessions, [1 + i] = forwards[i] */
	unsigned n_listeners;
	unsigned char *scratch; /* file buffer, TETHER_FILE_MAX */
	struct port_event *events;
	unsigned n_events;
	unsigned handshakes; /* in progress now */
	struct session *all; /* live sessions */
	struct session *dead_sessions;
	struct stream *dead_streams;
	bool started;
	bool stopping;
	uint64_t stop_deadline;
	uint64_t now;
	struct tether_stats st;
	/* Frame assembly for whichever session is pumping (see session.out_pending). */
	size_t out_len;
	size_t out_cap;
	uint8_t out[TETHER_RECORD_SIZE];
};

/* session.c */
struct session *session_dial(struct tether_node *n, int peer);
struct session *session_accept(struct tether_node *n, int h, const char *addr);
void session_event(struct session *s, unsigned events);
/* Tear down: log reason, reset every stream, free the slot. */
void session_end(struct session *s, const char *reason);
/* Begin GOAWAY with code/reason, then drain (NORMAL/LIFETIME/DUPLICATE) or end. */
void session_goaway(struct session *s, uint32_t code, const char *reason);
void session_timers(struct session *s, uint64_t now, uint64_t *next);
/* Push owed frames and stream data into TLS as far as it goes. */
void session_pump(struct session *s);
void session_update_watch(struct session *s);
const char *session_peer_name(const struct session *s);

/* stream.c */
struct stream *stream_new(struct session *s, int h, bool outbound);
void stream_event(struct stream *st, unsigned events);
/* Deliver DATA already placed in the ring (after rx into ring). */
void stream_delivered(struct stream *st);
void stream_on_close(struct stream *st);
void stream_on_reset(struct stream *st, uint32_t code);
void stream_on_window(struct stream *st, uint32_t inc);
/* End the stream: abort != 0 resets the local socket; reason for the log. */
void stream_end(struct stream *st, bool abort, const char *reason);
/* End with RST locally and a RESET with code owed to the peer (code 0: it already knows). */
void stream_fail(struct stream *st, uint32_t code, const char *reason);
/* Fill up to room bytes at dst from the local socket: >0 read, 0 none, <0 EOF/error handled. */
long stream_read_local(struct stream *st, uint8_t *dst, size_t room);
void stream_update_watch(struct stream *st);
struct stream *stream_find(struct session *s, uint32_t id);
void stream_open_service(struct session *s, uint32_t id, const char *service);

/* node.c */
void node_session_up(struct tether_node *n, struct session *s);
void node_session_gone(struct tether_node *n, struct session *s, bool was_up);
uint32_t node_random(struct tether_node *n, uint32_t below);
/* A pool was full: count it and say so (the new work is refused, nothing else). */
void node_pool_exhausted(struct tether_node *n, const char *pool, const char *peer,
			 const char *addr);
size_t node_heap_in_use(void);

#endif
