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
	SK_SYN,	    /* a black-holed dial: never completes (the dialer's timeout ends it) */
};

/* One end of a connection; buf holds what the other end sent and we did not read. */
struct mem_sock {
	uint8_t state;	  /* enum mem_sock_state */
	uint8_t closed;	  /* its owner released it; freed once the other end is too */
	uint8_t tx_shut;  /* we sent FIN */
	uint8_t fin_in;	  /* the other end sent FIN: EOF once buf is empty */
	uint8_t rst_in;	  /* the other end reset: every call reports it */
	uint8_t held_fin; /* the other end sent FIN across a cut link: delivered at the heal */
	uint8_t held_rst; /* the same for a reset */
	int8_t port;	  /* index of the port that holds it, or will once it is accepted */
	int16_t peer;	  /* the other end, -1 if none (refused, or it was never accepted) */
	uint32_t held;	  /* the newest held bytes of buf: readable from ready_at (a delay) */
	uint64_t ready_at;
	char local[PORT_MEM_ADDR_MAX];
	char remote[PORT_MEM_ADDR_MAX];
	uint32_t head, len;
	uint8_t buf[PORT_MEM_SOCK_BUF];
};

struct mem_listener {
	char addr[PORT_MEM_ADDR_MAX]; /* "" = free */
	int8_t port;		      /* index of the port that listens */
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
	/* Faults (port_mem.h), all cleared by port_open(). */
	int64_t wall_off;    /* port_mem_fault_wall(): added to its wall clock */
	uint8_t dial_fault;  /* enum port_mem_dial_fault for dials to its listeners */
	uint32_t read_quota; /* port_mem_fault_slow_reader(): bytes per epoch, 0 = no limit */
	uint32_t tokens;     /* what it may still read in epoch tok_epoch */
	uint64_t tok_epoch;
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

/* Faults on the way from one port to another (port_mem.h). */
struct mem_link {
	uint8_t cut;	   /* partitioned (both ways) */
	uint8_t rst_armed; /* reset after rst_left more bytes */
	uint32_t delay_ms;
	uint64_t rst_left;
};

/* A slow reader's quota is per epoch of this many ms. */
#define MEM_READ_EPOCH_MS 10u

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
	struct mem_link links[PORT_MEM_MAX_PORTS][PORT_MEM_MAX_PORTS]; /* [from][to] */
};

extern struct mem_world port_mem_world;

/* net.c */
/* Readiness of handle e as PORT_* bits, before masking by what is watched. */
unsigned mem_handle_ready(const struct mem_handle *e);
/* Release what e refers to (abort: reset a connection) and free e. */
void mem_handle_close(struct mem_handle *e, int abort);
/* The earliest time after now when held bytes become readable; MEM_NEVER if none. */
uint64_t mem_net_next_due(void);
/* Deliver the FINs and resets a cut between ports a and b held back. */
void mem_net_heal(int a, int b);
/* What port q may read now (a slow reader's quota; UINT32_MAX: no limit). */
uint32_t mem_read_tokens(const struct port *q);

/* poller.c */
/* The open handle h of p, NULL if there is none. */
struct mem_handle *mem_handle_get(struct port *p, int h);
/* Take a free handle for kind/idx; the handle, or TETHER_ERR_NOMEM. */
int mem_handle_new(struct port *p, uint8_t kind, int16_t idx);

/* Zero len bytes in a way the compiler keeps (buffers may have held secrets). */
void mem_wipe(void *buf, size_t len);

#endif
