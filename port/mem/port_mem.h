/*
 * port_mem.h: the in-memory port (no OS): what a program using it sets up
 * beyond port/port.h.
 *
 * One process-wide world holds everything port.h needs without an OS or
 * malloc: a virtual clock, an in-process network of TCP-like byte pipes, a
 * table of files, and the log sink. Every struct port opened in the process
 * lives in that world, so several nodes (and the program's own endpoints) can
 * talk to each other through it. All storage is static, sized by the
 * PORT_MEM_* knobs below (a board may set them in its board.h).
 *
 * Network: port_tcp_listen(addr) registers addr ("host:port", exact string;
 * a host of 0.0.0.0 or [::] takes any host with that port) in a world-wide
 * table; port_tcp_connect(addr) makes a connected pair at once and queues the
 * far end on the listener (TETHER_ERR_REFUSED through
 * port_tcp_connect_result() when nobody listens or the backlog is full). Each
 * end buffers at most PORT_MEM_SOCK_BUF bytes the other sent it: a full buffer
 * makes send return 0 (would block), as a full TCP window does. A FIN
 * (shutdown, or close with nothing unread) reaches the reader after the
 * buffered bytes (TETHER_ERR_CLOSED); a reset (close with abort, or close with
 * unread bytes, as Linux does) discards them and every later call says
 * TETHER_ERR_RESET. Readiness is computed from the buffers, level-triggered.
 *
 * Clock: virtual milliseconds that move only when the world is idle.
 * port_wait() never blocks; a wait that finds nothing ready records when its
 * port wants to wake (now + timeout; never for a negative timeout). Once no
 * watched handle of any open port is ready and every open port has waited,
 * the clock jumps to the earliest of those wake times, so timers fire in a
 * deterministic order. A port that is open but never waits holds the clock
 * still: every user of the world must call port_wait() in its loop.
 *
 * Not thread-safe: one thread drives the whole world.
 */
#ifndef TETHER_PORT_MEM_H
#define TETHER_PORT_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "base/opts.h"
#include "port/port.h"

/* Ports open at once (each node is one, and so is the program's own endpoints). */
#ifndef PORT_MEM_MAX_PORTS
#define PORT_MEM_MAX_PORTS 4
#endif
/* Handles one port may hold; port_open() refuses a larger max_handles. */
#ifndef PORT_MEM_MAX_HANDLES
#define PORT_MEM_MAX_HANDLES 32
#endif
/* Connection ends in the whole world (a connection has two). */
#ifndef PORT_MEM_MAX_SOCKETS
#define PORT_MEM_MAX_SOCKETS 16
#endif
/* Receive buffer of each end, bytes: the most one side can send ahead. */
#ifndef PORT_MEM_SOCK_BUF
#define PORT_MEM_SOCK_BUF 4096
#endif
#ifndef PORT_MEM_MAX_LISTENERS
#define PORT_MEM_MAX_LISTENERS 8
#endif
/* Connections a listener queues before refusing more. */
#ifndef PORT_MEM_BACKLOG
#define PORT_MEM_BACKLOG 4
#endif
/* Longest address a listener or socket keeps, with its NUL. */
#ifndef PORT_MEM_ADDR_MAX
#define PORT_MEM_ADDR_MAX 48
#endif
#ifndef PORT_MEM_MAX_FILES
#define PORT_MEM_MAX_FILES 8
#endif
#ifndef PORT_MEM_PATH_MAX
#define PORT_MEM_PATH_MAX 32
#endif
/*
 * Wall clock at virtual time 0, Unix seconds, unless port_mem_set_wall_start()
 * says otherwise: a fixed, plausible date (2025-06-01T00:00:00Z), so
 * certificates made at run time are valid.
 */
#ifndef PORT_MEM_WALL_START
#define PORT_MEM_WALL_START 1748736000
#endif

/* Log sink: called for every port_log_write(); p is the writing port (may be NULL). */
typedef void port_mem_log_fn(void *ctx, struct port *p, const char *line, size_t len);

/*
 * Tap: called for every port_tcp_send() that moved len > 0 bytes, from the
 * sending port to the port holding the other end (NULL while that end waits
 * on a listener's queue). Bytes sent are readable at once: with no latency in
 * this world, the tap tells a test when a reader last got data.
 */
typedef void port_mem_tap_fn(void *ctx, struct port *from, struct port *to, size_t len);

/*
 * port_mem_reset: empty the world (clock back to 0, wall clock start back to
 * PORT_MEM_WALL_START, no listeners, sockets or files; the log sink, the tap
 * and the entropy seed stay). Every port MUST be closed.
 */
void port_mem_reset(void);

/* Virtual clock: milliseconds since the world started, and the wall clock. */
uint64_t port_mem_now_ms(void);
int64_t port_mem_wall_s(void);
/*
 * The wall clock at virtual time 0, Unix seconds (PORT_MEM_WALL_START until
 * set; port_mem_reset() restores that). A simulation picks its own date, e.g.
 * to see certificates expire on the virtual clock.
 */
void port_mem_set_wall_start(int64_t unix_s);
/* Move the clock forward by ms at once (for tests; timers then fire). */
void port_mem_advance(uint64_t ms);

/*
 * port_mem_file_add: serve data (len bytes, borrowed: it MUST outlive its
 * reads) at path for port_read_file(). mode is what port_file_private()
 * checks (0600 passes, 0644 does not). Adding an existing path replaces it.
 * 0, TETHER_ERR_NOMEM when the table is full, TETHER_ERR_INVALID for a path
 * longer than PORT_MEM_PATH_MAX - 1.
 */
int port_mem_file_add(const char *path, const void *data, size_t len, unsigned mode);

/*
 * port_mem_file_writable: let port_write_file() replace the file at path
 * (added first), into buf (cap bytes, borrowed); without it the file is
 * read-only and a write fails with TETHER_ERR_FILE.
 */
int port_mem_file_writable(const char *path, unsigned char *buf, size_t cap);

/* Where log lines go; NULL drops them. ctx is passed back. */
void port_mem_set_log(port_mem_log_fn *fn, void *ctx);

/* A short name for p (for the log sink to tell nodes apart); copied. */
void port_mem_set_label(struct port *p, const char *label);
const char *port_mem_label(const struct port *p);

/* Deliver PORT_SIG_* bits to p: port_signals() returns them once. */
void port_mem_raise(struct port *p, unsigned sig);

/*
 * Test hooks (simulations only; a board never calls them).
 *
 * port_mem_freeze: p's program is stopped (SIGSTOP) while frozen is non-zero:
 * it MUST NOT be driven meanwhile, and the idle rule ignores it (its ready
 * handles and its wake time), so the clock moves on for the others. Its
 * connections stay: what others send it waits in its buffers (until they are
 * full), dials to its listeners queue up to PORT_MEM_BACKLOG. Thawed, it is
 * due at once. NULL or a closed port is ignored.
 *
 * port_mem_set_tap: every byte transfer goes to fn (see port_mem_tap_fn);
 * NULL stops it. ctx is passed back. Kept by port_mem_reset().
 */
void port_mem_freeze(struct port *p, int frozen);
void port_mem_set_tap(port_mem_tap_fn *fn, void *ctx);

/*
 * Faults (simulations only; a board never calls them). A fault belongs to
 * the ports it names: port_open() starts a port with none (a restarted
 * process is a new port, so a simulation applies again what still holds for
 * it). Every fault is deterministic: a schedule drawn from one seed (struct
 * port_mem_rng) replays exactly.
 *
 * port_mem_fault_cut: partition (cut != 0) or heal the link between a and b,
 * both ways. Across a cut nothing moves: sends return 0 and their handles are
 * not writable (bytes wait, as in a send buffer), a FIN or a reset is held
 * and delivered at the heal (as a retransmitted one would be), and a new
 * dial from one to the other's listener is black-holed. Bytes already in a
 * receiver's buffer stay readable.
 *
 * port_mem_fault_delay: bytes sent from `from` to `to` become readable ms
 * later (0: at once). Order is kept: bytes sent while earlier ones are still
 * held join them and are released with them.
 *
 * port_mem_fault_reset_after: the next connection from `from` to `to` that
 * sends makes the link reset it once bytes more have gone (one shot; both
 * ends see TETHER_ERR_RESET, unread bytes are lost, as with a middlebox's
 * RST). 0 disarms it.
 *
 * port_mem_fault_slow_reader: p reads at most bytes_per_10ms bytes in each
 * 10 ms of the virtual clock, over all its connections (0: no limit); what
 * it cannot read yet is not reported readable, and the clock wakes it at the
 * next 10 ms.
 *
 * port_mem_fault_dial: dials to p's listeners are answered as usual, refused
 * (a reset answers the SYN) or black-holed (the dial never completes: never
 * writable, never readable; the dialer's own timeout has to end it).
 *
 * port_mem_fault_wall: p's wall clock (port_wall_s) is the world's plus
 * offset_s: a clock set back or forward (a jump is a change of the offset)
 * and skew between nodes. The monotonic clock is the world's, never goes
 * back and moves for every port alike (port_mem_advance jumps it forward).
 *
 * port_mem_fault_entropy: the test entropy source fails (fail != 0) until
 * called again with 0: port_entropy() and mbedtls_hardware_poll() return
 * errors and draw nothing (PSA's generator sees it at its next reseed).
 *
 * port_mem_fault_clear: every fault on p and its links is lifted (held FINs
 * and resets are delivered). The entropy fault is world-wide: not this one.
 *
 * 0, or TETHER_ERR_INVALID for a port that is not open (or a == b).
 */
struct port_mem_rng {
	uint64_t s;
};
void port_mem_rng_seed(struct port_mem_rng *r, uint64_t seed);
uint64_t port_mem_rng_next(struct port_mem_rng *r);
/* Uniform in [0, n); 0 for n == 0. */
uint32_t port_mem_rng_below(struct port_mem_rng *r, uint32_t n);

enum port_mem_dial_fault {
	PORT_MEM_DIAL_NORMAL = 0,
	PORT_MEM_DIAL_REFUSE,
	PORT_MEM_DIAL_BLACKHOLE,
};

int port_mem_fault_cut(struct port *a, struct port *b, int cut);
int port_mem_fault_delay(struct port *from, struct port *to, uint32_t ms);
int port_mem_fault_reset_after(struct port *from, struct port *to, uint64_t bytes);
int port_mem_fault_slow_reader(struct port *p, uint32_t bytes_per_10ms);
int port_mem_fault_dial(struct port *p, enum port_mem_dial_fault mode);
int port_mem_fault_wall(struct port *p, int64_t offset_s);
void port_mem_fault_entropy(int fail);
void port_mem_fault_clear(struct port *p);

/*
 * port_mem_seed: restart the test-only entropy source (entropy_test.c) from
 * seed, so a simulation can be replayed. Absent when a board links a real RNG.
 */
void port_mem_seed(uint64_t seed);

#endif
