/*
 * node_impl.h: the node itself, shared by node.c (life cycle, dispatch,
 * listeners, peers, timers, layout) and the session and stream drivers,
 * which read its settings, port, log, pools and counters. Not for use
 * outside core/.
 */
#ifndef TETHER_NODE_IMPL_H
#define TETHER_NODE_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/opts.h"
#include "core/backoff.h"
#include "core/edge.h"
#include "core/frame.h"
#include "core/log.h"
#include "core/node.h"
#include "core/pool.h"
#include "core/renew.h"
#include "core/session.h"
#include "core/stream.h"
#include "core/tls.h"

/* Every object registered with port_watch() starts with one of these tags. */
enum obj_kind {
	OBJ_LISTENER = 1,
	OBJ_SESSION,
	OBJ_STREAM,
	OBJ_METRICS,
	OBJ_ARRIVAL,
	OBJ_EDGE
};

/* What a listener accepts. */
enum listener_kind {
	LISTEN_SESSIONS = 1, /* peer nodes: TLS sessions */
	LISTEN_FORWARD,	     /* local clients of a forward: streams to a peer's service */
	LISTEN_METRICS,	     /* Prometheus scrapers: GET /metrics */
	LISTEN_STATUS,	     /* the status socket: `tether status`, `tether reload` */
	LISTEN_EDGE,	     /* an edge route's clients (edge.c) */
};

struct listener {
	uint8_t kind; /* OBJ_LISTENER */
	enum listener_kind what;
	int h;
	unsigned forward; /* LISTEN_FORWARD: index into cfg->forwards; LISTEN_EDGE: cfg->edges */
	uint64_t paused_until; /* ms: accept failed (out of fds); unwatched until then */
};

struct peer_state {
	struct session *session; /* the established (or draining) session */
	uint32_t attempt;	 /* failed dials since the last success */
	uint64_t next_dial;	 /* ms; 0 = now */
	struct session *dialer;	 /* our dial under way (not up yet), NULL if none */
	uint64_t bytes_in;	 /* stream payload of its ended sessions */
	uint64_t bytes_out;
	uint64_t t_change;   /* ms: its session came up or went down */
	uint64_t renew_tat;  /* ms: the issuer's rate limit for this peer (renew.c) */
	char last_error[96]; /* why its last session or dial ended, "" if none (session_end) */
};

/* A connection accepted on the session listener that has no session yet (admit.c). */
struct arrival {
	uint8_t kind; /* OBJ_ARRIVAL */
	bool spoke;   /* its first bytes arrived: it waits for a handshake slot */
	int h;	      /* -1: free; -2: gone this step, free at its end */
	uint64_t seq; /* accept order */
	uint64_t t_accept;
	char addr[TETHER_ADDR_MAX];
};

/* One scraper's connection to the metrics endpoint (metrics.c). */
enum mconn_state {
	MC_FREE = 0,
	MC_READING, /* the request is arriving */
	MC_WAITING, /* judged; waits for the response buffer */
	MC_WRITING, /* the response is leaving */
	MC_CLOSING, /* sent and shut down for writing: reads to EOF, then closes */
	MC_RELOAD,  /* a reload request waits for the loop's owner to answer it */
	MC_RENEW,   /* a renew request waits for the renewal's outcome */
};

/* Refusals the issuer counts, by kind (the metric's reason label). */
enum renew_refusal {
	RF_NOT_ISSUER = 0,
	RF_NOT_ALLOWED,
	RF_RATE_LIMITED,
	RF_BUSY,
	RF_IDENTITY,
	RF_INVALID,
	RF_COUNT
};

enum renew_phase {
	RN_IDLE = 0,
	RN_WAITING, /* the CSR is out: the issuer's answer is awaited */
	RN_APPLY,   /* the files are written: a reload applies them once the event is over */
};

/* Renewal through the mesh (renew.c): the issuer's side and the renewing node's. */
struct renew_state {
	/* The issuer: its material (a reload loads the spare slot), one request in, one answer out. */
	struct issuer_material iss[2];
	unsigned iss_cur;
	uint8_t *iss_in;	     /* FRAME_RENEW_DER_MAX bytes; NULL: this node issues nothing */
	uint8_t *iss_out;	     /* 1 + FRAME_RENEW_DER_MAX bytes */
	struct session *iss_in_from; /* the session whose request is coming into iss_in */
	struct session *iss_out_to;  /* the session the answer in iss_out is leaving on */
	uint64_t issued;
	uint64_t refused[RF_COUNT];
	/* The renewing node. */
	uint8_t *csr;		/* FRAME_RENEW_DER_MAX bytes; NULL: no "renew" */
	uint8_t *ans;		/* 1 + FRAME_RENEW_DER_MAX bytes */
	mbedtls_pk_context key; /* the fresh key of the renewal under way */
	bool has_key;
	bool asked; /* `tether renew` waits for the next outcome */
	bool want; /* `tether renew` asked, and no renewal succeeded since: retried until one does */
	enum renew_phase phase;
	struct session *via; /* RN_WAITING: the session to the issuer (NULL: it ended, resend) */
	uint16_t csr_len;
	uint8_t roll_wait; /* half-seconds waited for a rolled session's successor */
	uint64_t deadline; /* ms: RN_WAITING gives up then */
	int64_t due;	   /* wall s: the next attempt */
	int64_t rule_due;  /* wall s: when the certificate is due by the rule (with its jitter) */
	uint32_t jitter_s; /* how much earlier than the rule this certificate renews */
	uint32_t attempt;  /* failures in a row */
	int64_t last_ok, last_fail, next_not_after; /* wall s; 0 = never */
	uint64_t ok, failed;
	char last_error[200];
	char answer[320]; /* what `tether renew` clients get */
};

struct mconn {
	uint8_t kind; /* OBJ_METRICS */
	enum mconn_state state;
	bool local; /* the status socket's one-line requests, not HTTP */
	int h;
	int verdict;	   /* enum http_verdict */
	uint64_t seq;	   /* accept order: the oldest reading one is evicted first */
	uint64_t deadline; /* ms: the whole exchange must be over by then */
	size_t have;
	size_t out_off; /* MC_WRITING: the response leaving, in the node's buffer */
	size_t out_end;
	char req[TETHER_METRICS_REQUEST];
};

struct tether_node {
	const struct tether_config *cfg;
	struct port *port;
	struct log_sink log;
	struct arena arena;
	struct tls_ctx tls; /* the identity handshakes use, and the one being reloaded */
	struct pool sessions;
	struct pool streams;
	struct peer_state *peers;	/* cfg->peers[i]'s state is peers[i] */
	struct peer_state *peers_spare; /* a reload remaps into it, then the two swap */
	/* [0] = sessions, [1 + i] = forwards[i], then edges, then metrics, then the status socket */
	struct listener *listeners;
	unsigned n_listeners;
	unsigned char *scratch; /* file buffer, TETHER_FILE_MAX */
	struct port_event *events;
	unsigned n_events;
	unsigned handshakes;	  /* in progress now: hs_dial + hs_accept */
	unsigned hs_dial;	  /* of them dialed by us: at most limits.handshakes */
	unsigned hs_accept;	  /* of them accepted: at most limits.handshakes (admit.c) */
	struct arrival *arrivals; /* cap_arrivals of them */
	unsigned cap_arrivals, n_arrivals;
	uint64_t arrival_seq;
	/* Sources whose handshakes failed recently (backoff.c), both listeners'. */
	struct backoff_table backoff;
	uint64_t backoff_logged;   /* ms: the last "handshake_backoff" line */
	uint64_t backoff_unlogged; /* sources that entered back-off since, not logged */

	struct session *all;  /* live sessions */
	struct session *pump; /* sessions to pump once the current event is handled */
	struct session *dead_sessions;
	struct stream *dead_streams;
	/* Edge routes (edge.c): their configurations, one pool of connections. */
	struct edge_route *edge_routes; /* cfg->n_edges of them */
	struct pool edges;
	unsigned edge_hs; /* edge handshakes under way: at most limits.handshakes */
	uint64_t edge_seq;
	uint64_t edge_hs_started; /* edge handshakes ever started */
	struct edge_conn *dead_edges;
	bool stopping;
	unsigned requests; /* TETHER_REQ_* for the caller of tether_node_step() */
	uint64_t stop_deadline;
	uint64_t now;
	uint64_t t_started; /* ms: tether_node_start() */
	uint64_t t_expiry;  /* ms: the next expiry sweep (expiry.c) */
	char *start_err;    /* tether_node_start()'s err while it runs */
	size_t start_err_len;
	struct tether_stats st;
	/* The metrics endpoint: a few request slots, one response buffer. */
	struct mconn *mconns; /* TETHER_METRICS_CONNS of them; NULL without `metrics` */
	char *mtext;
	size_t mtext_cap;
	int mwriter;   /* the slot whose response is leaving, -1 if none */
	uint64_t mseq; /* accepts so far: orders the slots (a clock can tie) */
	/* Revocation through the mesh (crlmesh.c): one transfer in at a time. */
	uint8_t *crl_buf;	  /* TETHER_CRL_MAX bytes; NULL: this node takes none */
	struct session *crl_from; /* the session a CRL is coming from, NULL if none */
	uint8_t crl_issuer[FRAME_CRL_ISSUER_ID];
	uint64_t crl_deadline;
	bool crl_apply; /* a CRL was stored: reload to apply it once the event is over */
	/* The last reload's changes or problems, one per line (reload.c). */
	char reload_text[TETHER_RELOAD_TEXT];
	char reload_answer[TETHER_RELOAD_TEXT]; /* what the waiting `tether reload` clients get */
	bool reload_quiet; /* this reload is the node's own (a CRL from a peer): nobody asked */
#if TETHER_IO_BATCH > 0
	/*
	 * Batched I/O (session.c): one session at a time has bytes read ahead in
	 * rx (rx_owner, rx_off..rx_len) or records gathered in tx waiting for
	 * one send (tx_owner, tx_off..tx_len); the others meanwhile read and
	 * write their sockets directly. Never more than one session's bytes.
	 */
	struct session *rx_owner, *tx_owner;
	uint8_t *rx, *tx; /* TETHER_IO_BATCH bytes each, reserved untouched */
	size_t rx_off, rx_len, tx_off, tx_len;
	/* The same on the local side (stream.c): one stream's bytes read ahead. */
	struct stream *pl_owner;
	uint8_t *pl;
	size_t pl_off, pl_len;
#endif
#if TETHER_RENEW
	struct renew_state rn;
#endif
	/* Frame assembly for whichever session is pumping (see session.out_pending). */
	size_t out_len;
	uint8_t out[TETHER_RECORD_SIZE];
};

/* status.c: what status and metrics say of one configured peer, from the same counters. */
struct peer_view {
	const char *name;
	bool up;
	const struct session *s; /* the open session, if up */
	uint64_t sent, received;
	uint32_t streams;
	int64_t cert_left_s;  /* the peer certificate's seconds left, if up */
	uint64_t since_ms;    /* how long it has been up, or down */
	int64_t next_dial_ms; /* -1: none due (connected, dialing, or never dialed) */
};

/* Peer i as of now; wall: the wall clock in seconds (certificate times). */
void peer_view(const struct tether_node *n, unsigned i, int64_t wall, struct peer_view *v);

/* admit.c: the session listener's connections before their first bytes. */
unsigned admit_capacity(const struct tether_config *cfg);
/* Two "host:port" from one source: the same IPv4 address, or the same IPv6 /64. */
bool admit_same_source(const char *a, const char *b);
void admit_accept(struct tether_node *n, int h, const char *addr);
void admit_event(struct tether_node *n, struct arrival *v, unsigned events);
/* Handshake slots may have freed: start the waiting arrivals that may. */
void admit_more(struct tether_node *n);
void admit_timers(struct tether_node *n, uint64_t *next);
void admit_close_all(struct tether_node *n);
/* The slots whose connections went in this step are free again. */
void admit_step_end(struct tether_node *n);

/*
 * backoff.c: a handshake accepted from addr (session listener or edge) ended
 * unestablished for why, or came up. Only failures that are the source's
 * count (backoff_counts); our own dials never come here.
 */
#if TETHER_HS_BACKOFF
void backoff_note_fail(struct tether_node *n, const char *addr, enum tether_reason why);
void backoff_note_ok(struct tether_node *n, const char *addr);
/* Is addr's source deprioritised now? */
bool backoff_now(const struct tether_node *n, const char *addr);
#else
static inline void backoff_note_fail(struct tether_node *n, const char *addr,
				     enum tether_reason why)
{
	(void)n;
	(void)addr;
	(void)why;
}
static inline void backoff_note_ok(struct tether_node *n, const char *addr)
{
	(void)n;
	(void)addr;
}
static inline bool backoff_now(const struct tether_node *n, const char *addr)
{
	(void)n;
	(void)addr;
	return false;
}
#endif

/* expiry.c: log what expires within identity.warn_days, or has. */
void expiry_sweep(struct tether_node *n);
void expiry_peer(struct tether_node *n, const struct session *s);

/* crlmesh.c */
#if TETHER_CRL_MESH
void crl_announce(struct tether_node *n, struct session *s);
void crl_announce_all(struct tether_node *n);
void crl_consider(struct tether_node *n);
void crl_on_get(struct tether_node *n, struct session *s);
void crl_on_bad(struct tether_node *n, struct session *s, const char *why);
void crl_on_complete(struct tether_node *n, struct session *s, size_t len);
void crl_session_gone(struct tether_node *n, struct session *s);
/* Before the identity whose CRLs are leaving is freed. */
void crl_cancel_sends(struct tether_node *n);
/* After a reload, committed or not: answer again the asks whose sends were cancelled. */
void crl_resend(struct tether_node *n);
/* The peer announced its CRLs (CRL_HAVE). */
void crl_on_have(struct tether_node *n, struct session *s);
void crl_timers(struct tether_node *n, uint64_t *next);
#else
/* Built without it (TETHER_CRL_MESH=0): HELLO does not announce FRAME_CAP_CRL,
 * so no CRL frame comes or goes; nothing to do. */
static inline void crl_nothing(struct tether_node *n, const void *x)
{
	(void)n;
	(void)x;
}
#define crl_announce(n, s) crl_nothing(n, s)
#define crl_announce_all(n) crl_nothing(n, NULL)
#define crl_consider(n) crl_nothing(n, NULL)
#define crl_on_get(n, s) crl_nothing(n, s)
#define crl_on_bad(n, s, why) crl_nothing(n, why)
#define crl_on_complete(n, s, len) crl_nothing(n, s)
#define crl_session_gone(n, s) crl_nothing(n, s)
#define crl_cancel_sends(n) crl_nothing(n, NULL)
#define crl_resend(n) crl_nothing(n, NULL)
#define crl_on_have(n, s) crl_nothing(n, s)
#define crl_timers(n, next) crl_nothing(n, next)
#endif

/* renew.c */
#if TETHER_RENEW
/* Lay out and load at start: the issuer's buffers and material, the renewing node's buffers. */
size_t renew_buffer_size(const struct tether_config *cfg);
void renew_init(struct tether_node *n, uint8_t *buf);
int renew_start(struct tether_node *n, char *err, size_t err_len);
void renew_free(struct tether_node *n);
/* Reload: load the issuer's material for next into the spare slot (problems said), then commit. */
unsigned renew_reload_check(struct tether_node *n, const struct tether_config *next,
			    const mbedtls_x509_crt *ca,
			    void (*say)(void *ctx, const char *path, const char *what), void *ctx);
void renew_reload_commit(struct tether_node *n, bool own_changed);
void renew_reload_abort(struct tether_node *n);
/* A RENEW frame begins (MUX_EV_RENEW_HEAD) or arrived whole (MUX_EV_RENEW). */
void renew_on_head(struct tether_node *n, struct session *s, unsigned type, size_t len);
void renew_on_frame(struct tether_node *n, struct session *s, unsigned type, size_t len);
void renew_session_gone(struct tether_node *n, struct session *s);
/* A session came up: after failures, a renewal through its peer is tried at once. */
void renew_session_up(struct tether_node *n, struct session *s);
void renew_timers(struct tether_node *n, uint64_t *next);
/* After the events of a step: apply renewed files by a reload. */
void renew_apply(struct tether_node *n);
/* `tether renew`: renew now; false if this node has no "renew". */
bool renew_ask(struct tether_node *n);
/* Its part of the metrics, the status JSON (a member, after a comma) and the table; now: wall s. */
struct prom;
struct textbuf;
void renew_metrics(const struct tether_node *n, struct prom *p, int64_t now);
void renew_status_json(const struct tether_node *n, struct textbuf *t, int64_t now);
void renew_status_table(const struct tether_node *n, struct textbuf *t, int64_t now);
#else
static inline void renew_nothing(struct tether_node *n, const void *x)
{
	(void)n;
	(void)x;
}
#define renew_buffer_size(cfg) ((void)(cfg), (size_t)0)
#define renew_init(n, buf) renew_nothing(n, buf)
#define renew_start(n, err, len) ((void)(n), (void)(err), (void)(len), 0)
#define renew_free(n) renew_nothing(n, NULL)
#define renew_reload_check(n, next, ca, say, ctx) ((void)(n), (void)(next), (void)(ctx), 0u)
#define renew_reload_commit(n, own) renew_nothing(n, NULL)
#define renew_reload_abort(n) renew_nothing(n, NULL)
#define renew_on_head(n, s, type, len) renew_nothing(n, s)
#define renew_on_frame(n, s, type, len) renew_nothing(n, s)
#define renew_session_gone(n, s) renew_nothing(n, s)
#define renew_session_up(n, s) renew_nothing(n, s)
#define renew_timers(n, next) renew_nothing(n, next)
#define renew_apply(n) renew_nothing(n, NULL)
#define renew_ask(n) ((void)(n), false)
#define renew_metrics(n, p, now) renew_nothing(n, p)
#define renew_status_json(n, t, now) renew_nothing(n, t)
#define renew_status_table(n, t, now) renew_nothing(n, t)
#endif

/* listener.c */
int listeners_open(struct tether_node *n, char *err, size_t err_len);
void listeners_close(struct tether_node *n);
/* Watch again the listeners whose rest after a failed accept is over; *next: the earliest due. */
void listeners_resume(struct tether_node *n, uint64_t *next);
void listener_event(struct tether_node *n, struct listener *ls);

/* metrics.c */
#if TETHER_METRICS
/* Bytes of the response buffer the endpoint needs for cfg (0 without one). */
size_t metrics_buffer_size(const struct tether_config *cfg);
/* A connection to the metrics endpoint (local: to the status socket). */
void metrics_accept(struct tether_node *n, int h, bool local);
void metrics_event(struct tether_node *n, struct mconn *c, unsigned events);
/* Close exchanges past their deadline; *next: the earliest deadline left. */
void metrics_timers(struct tether_node *n, uint64_t *next);
void metrics_close_all(struct tether_node *n);
/* Count the reload, and answer the `tether reload` clients waiting (unless quiet). */
void node_reload_answer(struct tether_node *n, bool ok);
/* A renewal ended: answer the `tether renew` clients waiting (n->rn.answer). */
void node_renew_answer(struct tether_node *n, bool ok);
#else
/* Built without them (TETHER_METRICS=0): listeners_open() refuses a config
 * with metrics or status, so no connection of theirs ever comes. */
static inline void metrics_nothing(struct tether_node *n, const void *x)
{
	(void)n;
	(void)x;
}
#define metrics_buffer_size(cfg) ((void)(cfg), (size_t)0)
#define metrics_accept(n, h, local) metrics_nothing(n, NULL)
#define metrics_event(n, c, events) metrics_nothing(n, c)
#define metrics_timers(n, next) metrics_nothing(n, next)
#define metrics_close_all(n) metrics_nothing(n, NULL)
#define node_reload_answer(n, ok) metrics_nothing(n, NULL)
#define node_renew_answer(n, ok) metrics_nothing(n, NULL)
#endif

/* peer.c */
/* s exchanged HELLO: apply the one-session-per-pair rule. */
void peer_session_up(struct tether_node *n, struct session *s);
/* s ended and is being released: schedule the next dial to its peer. */
void peer_session_gone(struct tether_node *n, struct session *s);
/* Dial the peers that are due; *next: the earliest later dial. */
void peers_dial_due(struct tether_node *n, uint64_t *next);

/* Bytes before a stream slot's ring: the struct, rounded up to 16. */
static inline size_t node_stream_header(void)
{
	return (sizeof(struct stream) + 15u) & ~(size_t)15u;
}

/* Give a stream slot back, wiping its struct and the part of its ring that held data. */
void stream_release_io(struct tether_node *n, struct stream *st);
static inline void node_stream_put(struct tether_node *n, struct stream *st)
{
	stream_release_io(n, st);
	pool_put_part(&n->streams, st, node_stream_header() + ring_touched(&st->m.rx));
}

/* A pool was full: count it and say so (the new work is refused, nothing else). */
static inline void node_pool_exhausted(struct tether_node *n, const char *pool, const char *peer,
				       const char *addr)
{
	struct log_line l;

	n->st.pool_exhausted++;
	log_begin(&l, &n->log, PORT_LOG_WARN, "pool_exhausted");
	log_str(&l, "pool", pool);
	if (peer != NULL)
		log_str(&l, "peer", peer);
	if (addr != NULL)
		log_str(&l, "addr", addr);
	log_end(&l);
}

#endif
