/*
 * sim.h: a driver for tether nodes in one process on the in-memory port
 * (port/mem): a virtual clock that moves only when every node is idle, so a
 * run is deterministic down to the keys (fixed-seed test entropy) and timers
 * fire at exact virtual milliseconds, with no sleeps.
 *
 * The driver owns up to SIM_MAX_NODES nodes, each with its config (made in
 * code from config_defaults()), its certificate (made by pki/pki_set.c, from one
 * CA), its port and its memory; the log lines of every node, stamped with the
 * virtual time; and one more port, the "app" port, for the test's own
 * endpoints (clients, servers of services). mbedTLS's clock (X.509 validity)
 * is the world's virtual wall clock while the simulation runs.
 *
 * Typical use:
 *   sim_begin(seed);
 *   a = sim_add("a", true); b = sim_add("b", false);
 *   sim_peer(a, b, false); sim_peer(b, a, true);
 *   ... tune sim_cfg(a) ...
 *   sim_start(a); sim_start(b);
 *   sim_run_until(both_up, NULL, 10000);
 *   ...
 *   sim_end();
 *
 * Nothing here allocates from the C heap or does I/O of its own: the host
 * tests and the cortex-m4 self-test image share it. Not thread-safe.
 */
#ifndef TETHER_SIM_H
#define TETHER_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/node.h"
#include "pki/pki.h"
#include "port/mem/port_mem.h"

#ifndef SIM_MAX_NODES
#define SIM_MAX_NODES 4
#endif
/* Node regions and the mbedTLS heap are carved from one static pool. */
#ifndef SIM_POOL
#define SIM_POOL (24u * 1024u * 1024u)
#endif
/* The mbedTLS heap sim_begin() takes from the end of the pool. */
#ifndef SIM_HEAP
#define SIM_HEAP (4u * 1024u * 1024u)
#endif
/* A node's streams are clamped to this (the defaults of a host cost 17 MB a node). */
#ifndef SIM_MAX_STREAMS
#define SIM_MAX_STREAMS 72
#endif
/* Log lines kept (the newest), and the longest kept line. */
#ifndef SIM_LOG_LINES
#define SIM_LOG_LINES 256
#endif
#ifndef SIM_LINE_MAX
#define SIM_LINE_MAX 320
#endif
/* Passes sim_run_until() makes before it calls a run stuck. */
#ifndef SIM_MAX_ROUNDS
#define SIM_MAX_ROUNDS 2000000ul
#endif

#define SIM_CERT_MAX 1024
/* A node's CRL file (PEM): what sim_crl() writes and a CRL from a peer may replace. */
#ifndef SIM_CRL_MAX
#define SIM_CRL_MAX 2048
#endif

/* One log line: when, from which node (-1: the app, the test entropy, ...). */
struct sim_line {
	uint64_t t_ms;
	int node;
	char text[SIM_LINE_MAX];
};

enum sim_state {
	SIM_ADDED = 0, /* configured, not started */
	SIM_RUNNING,
	SIM_DONE,    /* tether_node_step() returned 0: a graceful shutdown completed */
	SIM_CRASHED, /* sim_crash() */
	SIM_FAILED,  /* tether_node_step() returned < 0 */
};

struct sim_node {
	char name[TETHER_NAME_MAX];
	char uri[TETHER_ID_MAX];
	char addr[48]; /* where it listens for sessions, "" if it does not */
	struct tether_config cfg;
	enum sim_state state;
	bool frozen;
	bool muted;	 /* its lines are dropped (a crashed node's teardown) */
	uint64_t t_done; /* virtual ms of its state change to DONE, CRASHED or FAILED */
	int rc;		 /* what its last step returned */
	struct port *port;
	struct tether_node *node;
	unsigned char *mem;
	size_t mem_len;
	bool issued; /* has a certificate */
	unsigned char crt[SIM_CERT_MAX];
	unsigned char key[PKI_KEY_PEM_MAX];
	char crt_path[24], key_path[24];
	unsigned char crl[SIM_CRL_MAX]; /* its CRL file's bytes, once sim_crl() made one */
	char crl_path[24];		/* where sim_crl() puts it */
	/* From the tap: bytes this node's port received, and when it last did. */
	uint64_t rx_bytes, t_rx;
};

/*
 * What the test's own endpoints do once per pass, after every node stepped.
 * They MUST do all the work they can (non-blocking calls until 0), then watch
 * on the app port exactly what they would act on next: the clock moves only
 * when nothing watched anywhere is ready. The app port's events are not
 * handed over (the endpoints poll). <0 fails the run.
 */
typedef int sim_app_fn(void *ctx);

/* Text of the last failure (set-up, node start, a stuck run). */
extern char sim_err[192];

/*
 * sim_reset: a new, empty world (port_mem_reset(), the entropy seeded with
 * seed), no nodes, no lines, the app port open. sim_crypto() then sets up
 * mbedTLS. sim_begin() is both, with a SIM_HEAP heap. 0 or <0.
 */
int sim_reset(uint64_t seed);
int sim_crypto(size_t heap_len);
int sim_begin(uint64_t seed);
/* Stop and free every node, close every port, free mbedTLS, wipe the pool. */
void sim_end(void);

/* Bytes of the pool still free for node regions (after the heap). */
size_t sim_pool_free(void);

/*
 * sim_add: a node named name (also its peer name and the last part of its
 * URI SAN, spiffe://sim.tether/<name>), listening on "10.0.0.<i+1>:7443" if
 * listen. Its config starts from config_defaults(), streams clamped to
 * SIM_MAX_STREAMS. Returns its index, <0 when SIM_MAX_NODES are taken.
 */
int sim_add(const char *name, bool listen);
struct sim_node *sim_node(unsigned i);
struct tether_config *sim_cfg(unsigned i);
/* Node i names node j as a peer (by its URI); dial: with j's address to connect to. */
void sim_peer(unsigned i, unsigned j, bool dial);
/* Node i exports service name at target, allowed to node j (one of i's peers). */
void sim_service(unsigned i, const char *name, const char *target, unsigned j);
/* Node i forwards listen to service on peer j. */
void sim_forward(unsigned i, const char *listen, unsigned j, const char *service);
/*
 * The pair most tests use: node "a" listens and exports "echo" (target
 * echo_addr) to node "b", which dials a and forwards fwd_addr to it. Sets *a
 * and *b to their indexes.
 */
void sim_echo_pair(int *a, int *b, const char *echo_addr, const char *fwd_addr);

/*
 * sim_issue: (re)issue node i's certificate, valid [not_before, not_after]
 * (Unix seconds). sim_start() issues one valid from an hour before to 30
 * days after the current virtual wall clock if none was issued. The CA is
 * made at the first issue, valid an hour before to 10 years after. 0 or <0.
 */
int sim_issue(unsigned i, int64_t not_before, int64_t not_after);

/*
 * sim_crl: give node i a CRL file, /<name>.crl, named in its identity.crl:
 * a CRL of the sim CA with CRL number num (num_len octets, big-endian),
 * revoking the certificates of the n nodes in revoked (each issued first, as
 * sim_start() would, if it has no certificate yet; so is node i, which makes
 * the CA). The file is writable (port_write_file), so a CRL a peer sends may
 * replace it, in the node's crl buffer. A running node sees it at its next
 * sim_reload(). 0 or <0.
 */
int sim_crl(unsigned i, const uint8_t *num, size_t num_len, const unsigned *revoked, size_t n);

/* sim_reload: tether_node_reload() of node i with its own config, as SIGHUP would. */
int sim_reload(unsigned i);

/*
 * sim_start: open node i's port, lay out and start the node (again after it
 * ended: a restart). 0, or <0 with the node's sentence in sim_err.
 */
int sim_start(unsigned i);
/* Bytes node i's region needs (tether_node_mem_size of its config, rounded). */
size_t sim_node_mem(unsigned i);

/* tether_node_shutdown(); the node is DONE when its step returns 0. */
void sim_shutdown(unsigned i, uint32_t drain_ms);
/* Deliver PORT_SIG_* bits to node i (SIGTERM, SIGUSR1). */
void sim_signal(unsigned i, unsigned sig);
/*
 * sim_crash: kill -9. Its connections close as a dead process's do (FIN, or a
 * reset with unread data), with no goodbye; its lines from now on are dropped.
 */
void sim_crash(unsigned i);
/* SIGSTOP (frozen) and SIGCONT: see port_mem_freeze(). */
void sim_freeze(unsigned i, bool frozen);

/* The test's endpoints: their port, and what runs each pass (NULL: nothing). */
struct port *sim_app_port(void);
void sim_set_app(sim_app_fn *fn, void *ctx);

/* One pass: every running, unfrozen node steps once, then the app. 0 or <0. */
int sim_step(uint64_t until_ms);
/*
 * sim_run_until: passes until done(ctx) is true (0), or until the virtual
 * clock would pass the absolute time limit_ms, a node fails, or the app
 * fails (<0, sim_err says which). The clock never passes limit_ms: a test may
 * stop at an exact virtual time with done == NULL (then it returns 0 there).
 * done is checked between passes, and a node's step may move the clock on
 * after what done waits for happened: the exact time of an event is its log
 * line's t_ms.
 */
int sim_run_until(bool (*done)(void *ctx), void *ctx, uint64_t limit_ms);
/* sim_run_until(NULL, NULL, now + ms): let the world run for ms. */
int sim_run_for(uint64_t ms);
uint64_t sim_now(void);

/* ---- log lines ---- */

/* Where lines also go as they are logged (a console), NULL for nowhere. */
void sim_set_echo(void (*fn)(const char *line, size_t len));
/* Count of lines logged since sim_reset(): a mark for the queries below. */
unsigned sim_mark(void);
/*
 * sim_find: the first kept line at or after *from from node (-1: any) whose
 * event is event (NULL: any) and that contains match (NULL: any); *from moves
 * past it. NULL if there is none.
 */
const struct sim_line *sim_find(unsigned *from, int node, const char *event, const char *match);
unsigned sim_count(unsigned from, int node, const char *event, const char *match);
/* A field of a line, quoted values whole and unescaped; "" when absent. Returns out. */
const char *sim_field(const struct sim_line *l, const char *key, char *out, size_t len);
/* Call fn with every kept line since from, as "[t ms] [node] text". */
void sim_dump(unsigned from, void (*fn)(const char *line, size_t len));

#endif
