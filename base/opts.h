/*
 * opts.h: compile-time knobs. The board's header comes first and may set any
 * of these; the defaults below fill in the rest; check.h then rejects
 * impossible combinations with #error (as lwIP's opt.h and mbedTLS's
 * check_config.h do).
 */
#ifndef TETHER_OPTS_H
#define TETHER_OPTS_H

#include "board.h" /* boards/<board>/board.h, found through the include path */

#ifndef TETHER_BOARD_NAME
#define TETHER_BOARD_NAME "unknown"
#endif

/*
 * Features a small board may leave out (1: built in, 0: left out). CMake sets
 * them from its options of the same names (README, "Build-time switches");
 * without CMake every feature is in.
 *   TETHER_METRICS   the metrics endpoint and the status socket (`tether
 *                    status`, `tether reload`): core/metrics.c, statusdoc.c,
 *                    prom.c, http.c
 *   TETHER_RELOAD    reloading config and identity (SIGHUP, `tether reload`,
 *                    reload.watch_s): core/reload.c, cli/watch.c
 *   TETHER_CRL_MESH  CRLs passed between nodes (HELLO capability CRL):
 *                    core/crlmesh.c; needs TETHER_RELOAD (a CRL is applied
 *                    as a reload)
 *   TETHER_RENEW     certificate renewal through the mesh ("issuer",
 *                    "renew", `tether renew`, HELLO capability RENEW):
 *                    core/renew.c, core/issue.c; needs TETHER_RELOAD (a
 *                    renewed certificate is applied as a reload)
 *   TETHER_DEMO      `tether demo`: cli/cmd_demo.c
 *   TETHER_EDGES     edge routes (tls-in, tls-out, PROXY v2): core/edge.c,
 *                    core/proxy.c; raises mbedTLS's input records to 16 KB
 *   TETHER_HS_BACKOFF back-off of sources whose handshakes failed:
 *                    core/backoff.c (without it no source is deprioritised)
 */
#ifndef TETHER_METRICS
#define TETHER_METRICS 1
#endif
#ifndef TETHER_RELOAD
#define TETHER_RELOAD 1
#endif
#ifndef TETHER_CRL_MESH
#define TETHER_CRL_MESH 1
#endif
#ifndef TETHER_RENEW
#define TETHER_RENEW 1
#endif
#ifndef TETHER_DEMO
#define TETHER_DEMO 1
#endif
#ifndef TETHER_EDGES
#define TETHER_EDGES 1
#endif
#ifndef TETHER_HS_BACKOFF
#define TETHER_HS_BACKOFF 1
#endif

/*
 * Batched I/O between nodes: bytes of the node's one read-ahead buffer and of
 * its one gather buffer (each), so one recv brings many TLS records and the
 * records one pump produces leave in one send. 0 builds it out (a record
 * header and its body are then two recvs, each record one send).
 */
#ifndef TETHER_IO_BATCH
#define TETHER_IO_BATCH 65536
#endif

/* TLS record payload between tether nodes, each way (mbedTLS IN/OUT_CONTENT_LEN). */
#ifndef TETHER_RECORD_SIZE
#define TETHER_RECORD_SIZE 4096
#endif

/* Defaults for the config's "limits". */
#ifndef TETHER_DEFAULT_SESSIONS
#define TETHER_DEFAULT_SESSIONS 16
#endif
#ifndef TETHER_DEFAULT_STREAMS
#define TETHER_DEFAULT_STREAMS 256
#endif
#ifndef TETHER_DEFAULT_STREAM_WINDOW
#define TETHER_DEFAULT_STREAM_WINDOW 65536
#endif
#ifndef TETHER_DEFAULT_HANDSHAKES
#define TETHER_DEFAULT_HANDSHAKES 4
#endif
#ifndef TETHER_DEFAULT_EDGE_CONNECTIONS
#define TETHER_DEFAULT_EDGE_CONNECTIONS 32
#endif
#ifndef TETHER_MAX_EDGE_CONNECTIONS
#define TETHER_MAX_EDGE_CONNECTIONS 1024
#endif
/*
 * An edge connection's TLS state (mbedTLS heap): foreign stacks send 16 KB
 * records, so its input buffer alone is 16.4 KB (docs/DESIGN.md, "Edge
 * routes"). TETHER_EDGE_HEAP is its budget, handshake peak included, and
 * what the heap reserves per limits.edge_connections; a test enforces it.
 */
#ifndef TETHER_EDGE_HEAP
#define TETHER_EDGE_HEAP (40u * 1024u)
#endif
/* Plaintext bytes an edge connection holds each way (in its pool slot). */
#ifndef TETHER_EDGE_BUF
#define TETHER_EDGE_BUF 4096
#endif

/* Defaults for "tls", "keepalive" and "reconnect". */
#ifndef TETHER_DEFAULT_HANDSHAKE_TIMEOUT_MS
#define TETHER_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000
#endif
#ifndef TETHER_DEFAULT_DRAIN_S
#define TETHER_DEFAULT_DRAIN_S 3600 /* a replaced session carries its streams this long */
#endif
#ifndef TETHER_DEFAULT_WARN_DAYS
#define TETHER_DEFAULT_WARN_DAYS 30
#endif
#ifndef TETHER_DEFAULT_RELOAD_WATCH_S
#define TETHER_DEFAULT_RELOAD_WATCH_S 60
#endif
#ifndef TETHER_DEFAULT_SESSION_LIFETIME_S
#define TETHER_DEFAULT_SESSION_LIFETIME_S 86400
#endif
#ifndef TETHER_DEFAULT_KEEPALIVE_INTERVAL_MS
#define TETHER_DEFAULT_KEEPALIVE_INTERVAL_MS 15000
#endif
#ifndef TETHER_DEFAULT_KEEPALIVE_TIMEOUT_MS
#define TETHER_DEFAULT_KEEPALIVE_TIMEOUT_MS 45000
#endif
#ifndef TETHER_DEFAULT_RECONNECT_MIN_MS
#define TETHER_DEFAULT_RECONNECT_MIN_MS 250
#endif
#ifndef TETHER_DEFAULT_RECONNECT_MAX_MS
#define TETHER_DEFAULT_RECONNECT_MAX_MS 30000
#endif

/* Largest certificate, key, CA bundle or CRL file read. */
#ifndef TETHER_FILE_MAX
#define TETHER_FILE_MAX 65536
#endif

/* Graceful shutdown: how long open streams may drain after GOAWAY. */
#ifndef TETHER_DRAIN_MS
#define TETHER_DRAIN_MS 5000
#endif

/* Refused streams whose RESET waits for room in a session's output. */
/* Metrics endpoint: concurrent scraper connections, request bytes, ms for a whole exchange. */
#ifndef TETHER_METRICS_CONNS
#define TETHER_METRICS_CONNS 4
#endif
/* Admission (core/admit.c): connections accepted before their first bytes. */
#ifndef TETHER_ARRIVALS_PER_HANDSHAKE
#define TETHER_ARRIVALS_PER_HANDSHAKE 8 /* waiting slots per limits.handshakes, + 8 */
#endif
#ifndef TETHER_ARRIVALS_MAX
#define TETHER_ARRIVALS_MAX 64
#endif
#ifndef TETHER_ARRIVALS_PER_SOURCE
#define TETHER_ARRIVALS_PER_SOURCE 4 /* silent connections one address may hold */
#endif
#ifndef TETHER_STALL_MS
#define TETHER_STALL_MS 1000 /* an accepted handshake silent this long yields to a waiting one */
#endif
#ifndef TETHER_FIRST_BYTE_MS
#define TETHER_FIRST_BYTE_MS 2000 /* an accepted connection must speak within this */
#endif
/*
 * Back-off after failed handshakes (core/backoff.c): sources remembered
 * (0: none, the feature is built out), and how long one is deprioritised:
 * TETHER_BACKOFF_MIN_MS after a failure, doubling with each further one in
 * a row up to TETHER_BACKOFF_MAX_MS. At most one log line per
 * TETHER_BACKOFF_LOG_MS says a source entered back-off.
 */
#ifndef TETHER_BACKOFF_SOURCES
#define TETHER_BACKOFF_SOURCES 32
#endif
#ifndef TETHER_BACKOFF_MIN_MS
#define TETHER_BACKOFF_MIN_MS 1000
#endif
#ifndef TETHER_BACKOFF_MAX_MS
#define TETHER_BACKOFF_MAX_MS 60000
#endif
#ifndef TETHER_BACKOFF_LOG_MS
#define TETHER_BACKOFF_LOG_MS 10000
#endif
#ifndef TETHER_CRL_MAX
#define TETHER_CRL_MAX 16384 /* largest CRL taken from a peer (DER), ~400 entries */
#endif
/* mbedTLS heap one parsed CRL of TETHER_CRL_MAX takes: its DER, and ~170 B an entry. */
#ifndef TETHER_CRL_HEAP
#define TETHER_CRL_HEAP (TETHER_CRL_MAX * 5)
#endif
/*
 * Renewal through the mesh: the issuer's rate limit per peer, a burst of
 * TETHER_RENEW_BURST, then one every TETHER_RENEW_RATE_S seconds. (The CSR
 * and certificate bounds are the protocol's: FRAME_RENEW_DER_MAX.)
 */
#ifndef TETHER_RENEW_BURST
#define TETHER_RENEW_BURST 4
#endif
#ifndef TETHER_RENEW_RATE_S
#define TETHER_RENEW_RATE_S 900
#endif
/* mbedTLS heap a renewal or an issuance takes at most (a key, a CSR or certificate, parsed). */
#ifndef TETHER_RENEW_HEAP
#define TETHER_RENEW_HEAP (24u * 1024u)
#endif
#ifndef TETHER_DEFAULT_ISSUE_DAYS
#define TETHER_DEFAULT_ISSUE_DAYS 30
#endif

#ifndef TETHER_RELOAD_TEXT
#if TETHER_RELOAD
#define TETHER_RELOAD_TEXT 2048 /* what a reload changed, or its problems */
#else
#define TETHER_RELOAD_TEXT 64
#endif
#endif
#ifndef TETHER_METRICS_REQUEST
#define TETHER_METRICS_REQUEST 1024
#endif
#ifndef TETHER_METRICS_DEADLINE_MS
#define TETHER_METRICS_DEADLINE_MS 2000
#endif

#ifndef TETHER_RESET_QUEUE
#define TETHER_RESET_QUEUE 16
#endif
/* PONGs a session owes at most; with this many owed it reads on once they left. */
#ifndef TETHER_PONG_QUEUE
#define TETHER_PONG_QUEUE 4
#endif

/*
 * mbedTLS heap region: a base for the node's own certificate, key, CA bundle,
 * CRL and PSA state, plus per session slot (an established session holds
 * about 13 KB of TLS state with 4 KB records) and per concurrent handshake
 * (about 5 KB more at the peak), with room for fragmentation.
 */
#ifndef TETHER_HEAP_PER_SESSION
#define TETHER_HEAP_PER_SESSION (16u * 1024u)
#endif
#ifndef TETHER_HEAP_PER_HANDSHAKE
#define TETHER_HEAP_PER_HANDSHAKE (8u * 1024u)
#endif
/* Edge routes: a handshake's input buffer is 16 KB, not TETHER_RECORD_SIZE. */
#ifndef TETHER_HEAP_HANDSHAKE_INPUT
#if TETHER_EDGES
#define TETHER_HEAP_HANDSHAKE_INPUT (16384u - TETHER_RECORD_SIZE)
#else
#define TETHER_HEAP_HANDSHAKE_INPUT 0u
#endif
#endif
#ifndef TETHER_HEAP_BASE
#define TETHER_HEAP_BASE (64u * 1024u)
#endif

/* Hard ceilings on what a config may ask for. */
#ifndef TETHER_MAX_SESSIONS
#define TETHER_MAX_SESSIONS 1024
#endif
#ifndef TETHER_MAX_STREAMS
#define TETHER_MAX_STREAMS 65536
#endif
#ifndef TETHER_MIN_STREAM_WINDOW
#define TETHER_MIN_STREAM_WINDOW 4096
#endif
#ifndef TETHER_MAX_STREAM_WINDOW
#define TETHER_MAX_STREAM_WINDOW (16u * 1024u * 1024u)
#endif

#include "base/check.h"

#endif
