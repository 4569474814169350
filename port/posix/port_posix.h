/*
 * port_posix.h: shared by the files of port/posix only; never included by
 * core/. Holds the per-node state and the handle table the poller and the
 * TCP code both work on.
 *
 * A handle is an index into the table, not the fd: max_handles then bounds
 * exactly what one node may hold, whatever else the process has open, and
 * several ports can live side by side.
 */
#ifndef TETHER_PORT_POSIX_H
#define TETHER_PORT_POSIX_H

#include <sys/socket.h>
#include <sys/un.h>

#include "base/opts.h"
#include "port/port.h"

/*
 * TETHER_PORT_POLL=1 (board.h or -D) builds the poll() backend only, for
 * systems without epoll. Otherwise epoll is used, and poll() is kept as the
 * fallback when epoll_create1 reports ENOSYS or the environment variable
 * TETHER_PORT_POLL=1 is set when port_open() runs.
 */
#ifndef TETHER_PORT_POLL
#define TETHER_PORT_POLL 0
#endif

struct pollfd;
struct epoll_event;

struct port_handle {
	int fd;		 /* -1: the slot is free */
	unsigned events; /* PORT_READ | PORT_WRITE being watched */
	void *tag;	 /* reported with the handle's events */
	int in_epoll;	 /* the fd is in the epoll set (watched for something) */
	int connect_err; /* a failed connect's TETHER_ERR_*, kept once read */
	int next_free;	 /* free list link, -1 ends it */
};

/*
 * Service manager notification (notify.c), from the environment at
 * port_open(). addr_len 0 means nobody asked to be told; addr_err then says
 * whether $NOTIFY_SOCKET was set to a name the port cannot use. The socket is
 * made on the first send.
 */
struct port_notify_state {
	int fd;			 /* datagram socket, -1 until the first send */
	int addr_err;		 /* TETHER_ERR_ADDR: $NOTIFY_SOCKET unusable; else 0 */
	socklen_t addr_len;	 /* bytes of addr in use; 0: not configured */
	struct sockaddr_un addr; /* the manager's socket */
	uint64_t watchdog_usec;	 /* 0: no watchdog */
};

struct port {
	int use_poll;		/* 1: poll() backend, 0: epoll */
	int epfd;		/* epoll instance, -1 with poll() */
	unsigned max;		/* size of the handle table */
	unsigned high;		/* handles in use are all below this */
	int free_head;		/* first free slot, -1 if none */
	struct port_handle *h;	/* max entries */
	struct pollfd *pfd;	/* poll(): [0] the signal pipe, [1 + h] handle h */
	unsigned poll_start;	/* poll(): where the next scan of ready handles starts */
	struct epoll_event *ev; /* epoll: max + 1 entries for epoll_wait */
	struct port_notify_state notify;
};

/*
 * port_handle_new: take a free slot for fd (unwatched, tag NULL). Returns the
 * handle, or TETHER_ERR_NOMEM when the table is full (fd is left open; the
 * caller closes it).
 */
int port_handle_new(struct port *p, int fd);

/* port_handle_fd: the fd behind h, or -1 if h is not an open handle. */
int port_handle_fd(struct port *p, int h);

/* port_handle_get: the record of an open handle h, NULL if there is none. */
struct port_handle *port_handle_get(struct port *p, int h);

/*
 * port_handle_release: stop watching h and free its slot. The fd is not
 * closed here: the caller may still set options on it (SO_LINGER) before
 * close(). Returns the fd, or -1 if h was not open.
 */
int port_handle_release(struct port *p, int h);

/*
 * port_signals_setup: install the process's signal handlers and self-pipe
 * once (the first port to open does it; later calls only return the pipe).
 * Returns the read end of the pipe, or a TETHER_ERR_* code.
 */
int port_signals_setup(void);

/* port_signals_drain: empty the self-pipe after it woke a wait. */
void port_signals_drain(void);

/*
 * port_notify_open: read $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID into
 * st (never fails: a bad value means "not configured", reported by the first
 * port_notify). port_notify_close: release the socket; harmless when unused.
 */
void port_notify_open(struct port_notify_state *st);
void port_notify_close(struct port_notify_state *st);

/* port_backend_name: "epoll" or "poll", for logs and tests. */
const char *port_backend_name(const struct port *p);

#endif
