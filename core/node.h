/*
 * node.h: one running tether node.
 *
 * All run-time state hangs off one struct tether_node, carved from a single
 * region the caller provides (sized by tether_node_mem_size()), so several
 * nodes can live in one process. mbedTLS allocates from its own heap region
 * (tether_tls_heap_size()), set up once per process with
 * mbedtls_memory_buffer_alloc_init() before tether_node_start(). After
 * tether_node_start() returns, the node allocates nothing.
 *
 * Life cycle:
 *   tether_node_init -> tether_node_start -> tether_node_step ... ->
 *   tether_node_free. The caller owns the loop (tether_node_requests).
 */
#ifndef TETHER_NODE_H
#define TETHER_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/reason.h"
#include "core/settings.h"
#include "port/port.h"

struct tether_node;

/* Counters and gauges for status and the demo's report. */
struct tether_stats {
	uint32_t sessions_up;	/* established (HELLO exchanged) */
	uint32_t sessions_high; /* high-water mark of session slots */
	uint32_t sessions_cap;
	uint32_t streams_open;
	uint32_t streams_high;
	uint32_t streams_cap;
	uint32_t handshakes_high;
	uint64_t handshakes_ok;
	uint64_t handshakes_failed;
	uint64_t streams_refused;
	uint64_t pool_exhausted;    /* refusals because a pool was full */
	uint64_t bytes_in;	    /* stream payload received from peers */
	uint64_t bytes_out;	    /* stream payload sent to peers */
	size_t mem_node;	    /* bytes of the node's region in use */
	size_t heap_size;	    /* mbedTLS heap region */
	size_t heap_used;	    /* bytes in use now, headers included */
	size_t heap_peak;	    /* peak since start, headers included (upper bound) */
	size_t session_struct;	    /* sizeof one session slot */
	size_t session_heap_last;   /* mbedTLS heap held by the last established session */
	size_t handshake_peak_last; /* heap peak during the last handshake, over its start */
	/* Teardowns by reason (reason.h), counted where they happen. */
	uint64_t sessions_ended[REASON_COUNT];	   /* established sessions */
	uint64_t handshakes_refused[REASON_COUNT]; /* handshakes that failed */
	uint64_t streams_ended[REASON_COUNT];	   /* streams, refused ones included */
	uint64_t metrics_requests;		   /* answered on the metrics endpoint */
	uint64_t metrics_refused;		   /* dropped or answered with an error there */
	uint64_t reloads_ok; /* reloads asked for (SIGHUP, `tether reload`), by outcome */
	uint64_t reloads_failed;
	uint64_t crls_stale;	   /* expiry sweeps that found a CRL past its next update */
	uint64_t crls_received;	   /* CRLs from peers stored and applied */
	uint64_t crls_refused;	   /* CRLs from peers refused (forged, older, too big, ...) */
	uint64_t arrivals_dropped; /* accepted connections closed before their handshake */
	uint64_t backoffs;	   /* sources that entered back-off after a failed handshake */
	/* Edge routes: connections of every route together. */
	uint32_t edges_open;
	uint32_t edges_high;
	uint32_t edges_cap;
	uint64_t edge_handshakes_ok;
	uint64_t edge_handshakes_failed; /* refused, evicted or timed out (also in handshakes_*) */
	uint64_t edge_bytes_in;		 /* from the TLS side */
	uint64_t edge_bytes_out;	 /* to the TLS side */
	size_t edge_heap_last;		 /* mbedTLS heap held by the last edge connection up */
	size_t edge_handshake_peak_last; /* heap peak during its handshake, over its start */
	uint64_t edges_ended[REASON_COUNT]; /* connections that were up, by reason */
};

/*
 * What tether_node_requests() reports: asked of the node by a signal, or
 * news the loop's owner passes on (to the service manager).
 */
#define TETHER_REQ_RELOAD 0x01u	  /* SIGHUP: reload the config and identity */
#define TETHER_REQ_STOPPING 0x02u /* a graceful shutdown began (reported once) */

/* Bytes of the region tether_node_init() needs for cfg. */
size_t tether_node_mem_size(const struct tether_config *cfg);

/*
 * Port handles a node needs for cfg's limits: every session, every stream's
 * local connection (twice: one may be closing while its slot is reused), the
 * listeners, and a margin for connections accepted only to be refused.
 */
unsigned tether_node_handles(const struct tether_config *cfg);

/* Bytes the mbedTLS heap needs for cfg's limits (sessions, handshakes, certificates). */
size_t tether_tls_heap_size(const struct tether_config *cfg);

/*
 * tether_node_init: lay out the node in mem (mem_len >= tether_node_mem_size).
 * cfg and port MUST outlive the node. No I/O yet. Returns 0 or <0 with a
 * sentence in err.
 */
int tether_node_init(struct tether_node **out, void *mem, size_t mem_len,
		     const struct tether_config *cfg, struct port *port, char *err, size_t err_len);

/*
 * tether_node_start: load certificates and keys, open the listeners, schedule
 * the dials. Returns 0 or <0 with a sentence in err (which file, which address):
 * TETHER_ERR_CONFIG when the certificate, key, CA or CRL cannot be used, the
 * port's error when a listener cannot be opened.
 */
int tether_node_start(struct tether_node *n, char *err, size_t err_len);

/*
 * tether_node_step: wait up to max_wait_ms for I/O (less if a timer is due),
 * handle it, run timers and signals. Returns 1 while running, 0 once a
 * graceful shutdown has completed, <0 on a fatal failure.
 */
int tether_node_step(struct tether_node *n, int max_wait_ms);

/*
 * tether_node_reload: switch n to next, a config the loader accepted, with
 * the certificate, key, CA and CRLs it names; or, with next NULL, report that
 * the loader refused it (problems: its words, one problem per line).
 * Everything is checked before anything changes: what needs a restart
 * (node, listen, limits, user, status, metrics, forwards), the identity as
 * `tether check` checks it. Then handshakes under way end, live sessions and
 * streams are judged again by the new CA, CRLs, peers and allow lists (what
 * fails is closed with its reason), and a new own certificate rolls the
 * sessions make-before-break. Logs event=reload, counts it, and answers the
 * `tether reload` clients waiting. Returns 0: next is in use and MUST outlive
 * the node or the next successful reload; or TETHER_ERR_CONFIG: nothing
 * changed (next may be reused).
 */
#if TETHER_RELOAD
int tether_node_reload(struct tether_node *n, const struct tether_config *next,
		       const char *problems);
#else
/* Built without it (TETHER_RELOAD=0): nothing changes; restart the agent instead. */
static inline int tether_node_reload(struct tether_node *n, const struct tether_config *next,
				     const char *problems)
{
	(void)n;
	(void)next;
	(void)problems;
	return TETHER_ERR_CONFIG;
}
#endif

/* The words of the last reload: what changed, or every problem (one per line). */
const char *tether_node_reload_text(const struct tether_node *n);

/*
 * tether_node_requests: the requests (TETHER_REQ_*) that arrived since the
 * last call, which the node leaves to its caller (the loop's owner), cleared.
 */
unsigned tether_node_requests(struct tether_node *n);

/*
 * tether_node_shutdown: begin a graceful shutdown: stop listening, GOAWAY to
 * every peer, let open streams drain for at most drain_ms, then stop.
 */
void tether_node_shutdown(struct tether_node *n, uint32_t drain_ms);

void tether_node_stats(const struct tether_node *n, struct tether_stats *st);

/*
 * tether_node_status_json / _table: the node's status (node, uptime, its
 * certificate, every configured peer with its session, bytes, streams, last
 * error and next dial, pools, handshakes by reason) as one JSON document, or
 * as a table for people, into buf (cap bytes, NUL terminated). Return the
 * length, or 0 if it does not fit.
 */
size_t tether_node_status_json(struct tether_node *n, char *buf, size_t cap);
size_t tether_node_status_table(struct tether_node *n, char *buf, size_t cap);

/*
 * tether_node_metrics: the node's counters in the Prometheus text format
 * (0.0.4) into buf (cap bytes, NUL terminated). Returns the length, or 0 if
 * it does not fit.
 */
size_t tether_node_metrics(struct tether_node *n, char *buf, size_t cap);

/* Log one status line per session and the node's counters (SIGUSR1). */
void tether_node_log_status(struct tether_node *n);

/*
 * tether_node_listen_addr: the address a listener is bound to (with the port
 * the OS chose for port 0), by name: "sessions" for the session listener,
 * "PEER/SERVICE" for the forward to that peer's service, "metrics" for the
 * Prometheus endpoint. Returns 0, or
 * TETHER_ERR_INVALID when no such listener is open.
 */
int tether_node_listen_addr(struct tether_node *n, const char *name, char *buf, size_t len);

/* Close everything without goodbyes, wipe secrets. NULL is harmless. */
void tether_node_free(struct tether_node *n);

#endif
