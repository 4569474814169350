/*
 * mem_impl.h: the in-memory world, shared by the files of port/mem only.
 *
 * Everything is in one static struct mem_world (no malloc). Sockets and
 * listeners live in world-wide tables because either end of a connection may
 * belong to any port; a port's handles only point into them.
 */
#ifndef TETHER_PORT_MEM_IMPL_H
#define TETHER_PORT_MEM_IMPL_H

#include <stdbool.h>

#include "port/mem/port_mem.h"

#define MEM_NEVER UINT64_MAX

enum mem_sock_state {
	SK_FREE = 0,
	SK_OPEN,    /* connected (a dialer's end, or a queued or accepted far end) */
	SK_REFUSED, /* a dial nobody answered: connect_result says so */
};

/* One end of a connection; buf holds what the other end sent and we did not read. */
struct mem_sock {
	uint8_t state;	 /* enum mem_sock_state */
	uint8_t closed;	 /* its owner released it; freed once the other end is too */
	uint8_t tx_shut; /* we sent FIN */
	uint8_t fin_in;	 /* the other end sent FIN: EOF once buf is empty */
	uint8_t rst_in;	 /* the other end reset: every call reports it */
	int16_t peer;	 /* the other end, -1 if none (refused, or it was never accepted) */
	char local[PORT_MEM_ADDR_MAX];
	char remote[PORT_MEM_ADDR_MAX];
	uint32_t head, len;
	uint8_t buf[PORT_MEM_SOCK_BUF];
};

struct mem_listener {
	char addr[PORT_MEM_ADDR_MAX]; /* "" = free */
	uint8_t n_pending;
	int16_t pending[PORT_MEM_BACKLOG]; /* accepted in this order */
};

enum mem_handle_kind {
	MH_FREE = 0,
	MH_SOCK,
	MH_LISTEN
};

struct mem_handle {
	uint8_t kind;
	int16_t idx;	 /* into socks[] or listeners[] */
	unsigned events; /* watched: PORT_READ | PORT_WRITE */
	void *tag;
};

struct port {
	uint8_t in_use;
	char label[16];
	unsigned max;	  /* handles this port may hold */
	unsigned scan;	  /* the next wait starts here, so no handle starves */
	unsigned sig;	  /* PORT_SIG_* raised, not yet taken */
	uint8_t frozen;	  /* port_mem_freeze(): ignored by the idle rule */
	uint64_t wake_at; /* ms the last empty wait asked to sleep until; MEM_NEVER */
	struct mem_handle h[PORT_MEM_MAX_HANDLES];
};

struct mem_file {
	char path[PORT_MEM_PATH_MAX]; /* "" = free */
	const void *data;
	size_t len;
	unsigned mode;
	unsigned char *wbuf; /* port_mem_file_writable(): writes land here */
	size_t wcap;
	bool absent; /* renamed away: its slot (and write buffer) waits for the next write */
};

struct mem_world {
	uint64_t now_ms;
	int64_t wall_shift; /* port_mem_set_wall_start() - PORT_MEM_WALL_START (0: zeroed storage) */
	uint32_t next_eport; /* next ephemeral port number handed to a dialer */
	port_mem_log_fn *log_fn;
	void *log_ctx;
	port_mem_tap_fn *tap_fn;
	void *tap_ctx;
	struct port ports[PORT_MEM_MAX_PORTS];
	struct mem_listener listeners[PORT_MEM_MAX_LISTENERS];
	struct mem_sock socks[PORT_MEM_MAX_SOCKETS];
	struct mem_file files[PORT_MEM_MAX_FILES];
};

extern struct mem_world port_mem_world;

/* net.c */
/* Readiness of handle e as PORT_* bits, before masking by what is watched. */
unsigned mem_handle_ready(const struct mem_handle *e);
/* Release what e refers to (abort: reset a connection) and free e. */
void mem_handle_close(struct mem_handle *e, int abort);

/* poller.c */
/* The open handle h of p, NULL if there is none. */
struct mem_handle *mem_handle_get(struct port *p, int h);
/* Take a free handle for kind/idx; the handle, or TETHER_ERR_NOMEM. */
int mem_handle_new(struct port *p, uint8_t kind, int16_t idx);

/* Zero len bytes in a way the compiler keeps (buffers may have held secrets). */
void mem_wipe(void *buf, size_t len);

#endif
