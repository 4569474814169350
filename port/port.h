/*
 * port.h: everything tether needs from the platform, and nothing more.
 *
 * core/ reaches the OS only through these functions. A board links exactly one
 * implementation: port/posix (Linux: epoll, poll fallback) or a simulated
 * network (many nodes in one process, virtual clock). One struct port serves
 * one node; several may live in one process.
 *
 * Contract shared by every byte-moving call (as in coreMQTT's transport
 * interface): >0 bytes moved, 0 would block (retry after readiness), <0 a
 * TETHER_ERR_* code. Receiving the remote's orderly close returns
 * TETHER_ERR_CLOSED. OS error codes never leave the port: they are translated
 * to TETHER_ERR_* inside it.
 *
 * Handles are small non-negative ints chosen by the port; -1 means "none".
 * Addresses are "host:port" strings, "[v6]:port" for IPv6. A port MAY refuse
 * host names (TETHER_ERR_ADDR) where it has no resolver.
 */
#ifndef TETHER_PORT_H
#define TETHER_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct port;

/* Readiness bits, for port_watch() and struct port_event. */
#define PORT_READ 0x1u
#define PORT_WRITE 0x2u
#define PORT_ERROR 0x4u /* hang-up or error; the next call on the handle reports it */

/* Signal bits returned by port_signals(). */
#define PORT_SIG_TERM 0x1u /* SIGTERM or SIGINT: shut down gracefully */
#define PORT_SIG_HUP 0x2u  /* reload */
#define PORT_SIG_USR1 0x4u /* dump status to the log */

struct port_event {
	void *tag;	 /* the tag given to port_watch() for this handle */
	unsigned events; /* PORT_READ | PORT_WRITE | PORT_ERROR */
};

/*
 * port_open: make a port able to hold max_handles open handles at once.
 * May allocate (start-up only). On success *out is set and 0 returned.
 * port_close(NULL) is harmless; port_close releases all handles.
 */
int port_open(struct port **out, unsigned max_handles);
void port_close(struct port *p);

/* Monotonic milliseconds, arbitrary origin, never goes back. */
uint64_t port_now_ms(struct port *p);
/* Wall clock, seconds since 1970-01-01 UTC. */
int64_t port_wall_s(struct port *p);

/*
 * port_entropy: fill buf with len bytes from the platform's cryptographic
 * source. 0 on success, <0 on failure (callers MUST treat failure as fatal).
 * This is the single function a board replaces for a hardware RNG.
 */
int port_entropy(struct port *p, unsigned char *buf, size_t len);

/*
 * port_tcp_listen: bind and listen on addr (port 0 picks a free port; see
 * port_local_addr). SO_REUSEADDR is set. Non-blocking.
 */
int port_tcp_listen(struct port *p, const char *addr, int *out);

/*
 * port_unix_listen: listen on a Unix stream socket at path, created with
 * mode (e.g. 0660). A socket file that nobody answers on (a crashed run's) is
 * replaced; one that answers is TETHER_ERR_INUSE; anything else at path
 * (a file, a directory) is never touched: TETHER_ERR_FILE. Connections are taken with
 * port_tcp_accept() and used like TCP ones. Ports without local sockets
 * return TETHER_ERR_INVALID.
 */
int port_unix_listen(struct port *p, const char *path, unsigned mode, int *out);

/*
 * port_tcp_accept: accept one connection from listener lh. Returns 1 and sets
 * *out (and peer, "ip:port", if peer != NULL) on success, 0 if none is
 * pending, <0 on error. The new handle is non-blocking with TCP_NODELAY.
 */
int port_tcp_accept(struct port *p, int lh, int *out, char *peer, size_t peer_len);

/*
 * port_tcp_connect: start a non-blocking connect to addr. Returns 0 with *out
 * set when the connect is under way (or done); completion is signalled by
 * PORT_WRITE readiness, after which port_tcp_connect_result() tells the
 * outcome. <0 if it failed at once. TCP_NODELAY is set.
 */
int port_tcp_connect(struct port *p, const char *addr, int *out);
/* 0 connected, <0 the reason it failed (TETHER_ERR_REFUSED, ...). */
int port_tcp_connect_result(struct port *p, int h);

/* Byte contract above. send never raises SIGPIPE. */
long port_tcp_send(struct port *p, int h, const void *buf, size_t len);
long port_tcp_recv(struct port *p, int h, void *buf, size_t len);

/* Half-close: no more data will be sent on h (FIN). Reading stays open. */
int port_tcp_shutdown(struct port *p, int h);

/*
 * port_tcp_close: release h. If abort != 0 the connection is reset (RST, so
 * the remote application sees an error, not an orderly end of data).
 * Closing -1 is harmless. The handle's watch is removed.
 */
void port_tcp_close(struct port *p, int h, int abort);

/* "ip:port" of the local end of h (useful after listening on port 0). */
int port_local_addr(struct port *p, int h, char *buf, size_t len);

/*
 * port_watch: set the readiness h is watched for (PORT_READ|PORT_WRITE, 0 for
 * none) and the tag reported with its events. Level-triggered: an event
 * repeats while the condition holds. Calling again replaces both.
 */
int port_watch(struct port *p, int h, unsigned events, void *tag);

/*
 * port_wait: wait up to timeout_ms (0 polls, <0 waits forever) for readiness
 * on watched handles; fills up to max events. Returns the count (0 on timeout
 * or when a signal arrived), <0 on failure.
 */
int port_wait(struct port *p, int timeout_ms, struct port_event *ev, int max);

/* Signals that arrived since the last call, as PORT_SIG_* bits; clears them. */
unsigned port_signals(struct port *p);

/*
 * port_read_file: read the whole file at path into buf (cap bytes). Sets
 * *len. TETHER_ERR_FILE if it cannot be read, TETHER_ERR_TOO_BIG if larger
 * than cap - 1; buf is NUL-terminated on success (PEM parsers need that).
 */
int port_read_file(struct port *p, const char *path, unsigned char *buf, size_t cap, size_t *len);

/*
 * port_file_private: 0 if the file at path is not readable or writable by
 * group or others, TETHER_ERR_PERM if it is, TETHER_ERR_FILE if it cannot be
 * examined. Private keys MUST pass this.
 */
int port_file_private(struct port *p, const char *path);

/*
 * port_write_file: replace the file at path with data (len bytes), atomically:
 * a reader sees the old file or the new one, never a mix, and after a crash
 * one of the two (written beside it as path + ".tmp", flushed, renamed, the
 * folder flushed). mode for a new file. 0, or TETHER_ERR_FILE.
 */
int port_write_file(struct port *p, const char *path, const void *data, size_t len, unsigned mode);

/*
 * port_rename: move the file at from over the one at to, atomically (a reader
 * sees the old file at to or the new one), and flush the folder so that the
 * move survives a crash. 0, or TETHER_ERR_FILE (nothing moved).
 */
int port_rename(struct port *p, const char *from, const char *to);

/* Write one log line (no trailing newline in line); the port adds it. */
void port_log_write(struct port *p, const char *line, size_t len);

/*
 * Service manager notification: systemd's sd_notify protocol, written from
 * its documentation (sd_notify(3)), without libsystemd. The port reads
 * $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID once, in port_open(); a
 * port without a service manager (port/mem) tells nobody and has no watchdog.
 *
 * port_notify: send state, one or more newline-separated assignments such as
 * "READY=1", "STOPPING=1" or "WATCHDOG=1", as one datagram to the socket
 * $NOTIFY_SOCKET names (a path, or an abstract name when it starts with '@').
 * state MUST NOT be NULL or empty. Never blocks: a manager whose queue is full
 * misses the message. Returns 0 when sent, and 0 when no manager asked to be
 * told ($NOTIFY_SOCKET unset or empty); <0 a TETHER_ERR_* when it could not be
 * sent: TETHER_ERR_ADDR (no such socket, or a name the port cannot use),
 * TETHER_ERR_REFUSED (nobody bound to it), TETHER_ERR_PERM, TETHER_ERR_IO.
 * The caller decides what a failure means; the agent logs it and goes on.
 */
int port_notify(struct port *p, const char *state);

/*
 * port_watchdog_usec: how often the service manager wants "WATCHDOG=1", in
 * microseconds ($WATCHDOG_USEC), or 0 for no watchdog: unset, not a positive
 * number, or $WATCHDOG_PID set to a process other than this one. The agent
 * pings at half this interval, as sd_watchdog_enabled(3) advises.
 */
uint64_t port_watchdog_usec(struct port *p);

#endif
