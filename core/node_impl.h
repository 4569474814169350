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

#include "frame.h"
#include "log.h"
#include "node.h"
#include "opts.h"
#include "pool.h"
#include "session.h"
#include "stream.h"
#include "tls.h"

/* Every object registered with port_watch() starts with one of these tags. */
enum obj_kind {
	OBJ_LISTENER = 1,
	OBJ_SESSION,
	OBJ_STREAM
};

/* What a listener accepts. */
enum listener_kind {
	LISTEN_SESSIONS = 1, /* peer nodes: TLS sessions */
	LISTEN_FORWARD,	     /* local clients of a forward: streams to a peer's service */
};

struct listener {
	uint8_t kind; /* OBJ_LISTENER */
	enum listener_kind what;
	int h;
	unsigned forward;      /* LISTEN_FORWARD: index into cfg->forwards */
	uint64_t paused_until; /* ms: accept failed (out of fds); unwatched until then */
};

struct peer_state {
	struct session *session; /* the established (or draining) session */
	uint32_t attempt;	 /* failed dials since the last success */
	uint64_t next_dial;	 /* ms; 0 = now */
	bool dialing;		 /* a dialed session exists that is not up yet */
};

struct tether_node {
	const struct tether_config *cfg;
	struct port *port;
	struct log_sink log;
	struct arena arena;
	/*
	 * TLS profiles: the certificate, key, CA, CRL and both mbedTLS
	 * configurations that sessions are set up with. A session keeps the
	 * profile it was set up with for its whole life (mbedTLS points into it),
	 * so a new profile is loaded into the other slot, becomes current for new
	 * handshakes, and the old one is freed when its last session ends
	 * (node_profile_load, session_end). tls_generation counts loads; each
	 * session records the one it uses.
	 */
	struct tls_ctx *tls; /* current: &profiles[cur_profile] */
	unsigned cur_profile;
	unsigned tls_generation;
	struct tls_ctx profiles[2];
	unsigned profile_users[2];
	struct pool sessions;
	struct pool streams;
	struct peer_state *peers;
	struct listener *listeners; /* [0] = sessions, [1 + i] = forwards[i] */
	unsigned n_listeners;
	unsigned char *scratch; /* file buffer, TETHER_FILE_MAX */
	struct port_event *events;
	unsigned n_events;
	unsigned handshakes;  /* in progress now */
	struct session *all;  /* live sessions */
	struct session *pump; /* sessions to pump once the current event is handled */
	struct session *dead_sessions;
	struct stream *dead_streams;
	bool started;
	bool stopping;
	unsigned requests; /* TETHER_REQ_* for the caller of tether_node_step() */
	uint64_t stop_deadline;
	uint64_t now;
	struct tether_stats st;
	/* Frame assembly for whichever session is pumping (see session.out_pending). */
	size_t out_len;
	uint8_t out[TETHER_RECORD_SIZE];
};

/*
 * node_profile_load: load cfg's identity into the free profile slot and make
 * it current for new sessions. Fails (TETHER_ERR_INUSE, a sentence in err)
 * while sessions still use the previous-but-one profile, and with the
 * loader's error for unusable material; the current profile stays then.
 */
int node_profile_load(struct tether_node *n, const struct tether_config *cfg, char *err,
		      size_t err_len);
/* A session let go of profile p: the last user of a replaced profile frees it. */
void node_profile_release(struct tether_node *n, unsigned p);

/* listener.c */
int listeners_open(struct tether_node *n, char *err, size_t err_len);
void listeners_close(struct tether_node *n);
/* Watch again the listeners whose rest after a failed accept is over; *next: the earliest due. */
void listeners_resume(struct tether_node *n, uint64_t *next);
void listener_event(struct tether_node *n, struct listener *ls);

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
