/*
 * sim_app.h: the test's own endpoints in a simulation (sim.h): servers behind
 * services (echo, sink, source) and clients of forwards, on the app port.
 *
 * Data is a xorshift32 pattern from a seed, checked byte by byte where it
 * arrives: a connection knows the seed of what it should receive, so every
 * transfer is checked byte-exact without storing it. Every endpoint does all
 * the work it can when stepped, then watches what it would act on next, so the
 * clock moves only when the endpoints are idle too (see sim_app_fn).
 */
#ifndef TETHER_SIM_APP_H
#define TETHER_SIM_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef SIM_APP_CONNS
#define SIM_APP_CONNS 16 /* connections one server accepts */
#endif
#ifndef SIM_APP_MAX
#define SIM_APP_MAX 80 /* servers plus clients sim_app_run() steps */
#endif

struct sim_conn {
	int h;		  /* on the app port; -1: none */
	bool connecting;  /* a dial not confirmed yet */
	bool stalled;	  /* reads nothing, as a client that stopped reading */
	uint64_t rx_cap;  /* reads no further than this many bytes in all; 0: no cap */
	bool echo;	  /* sends back what it receives */
	bool no_shut;	  /* keeps its write side open after to_send bytes */
	uint64_t to_send; /* pattern bytes to send, then shut the write side */
	uint64_t sent, received;
	uint32_t tx, rx;	    /* pattern generators: what to send, what should arrive */
	bool check_rx;		    /* compare what arrives with the rx pattern */
	bool shut, eof, reset, bad; /* bad: a byte differed from the pattern */
	int err;		    /* the port's error that ended it (RESET, REFUSED, ...) */
	uint64_t t_eof, t_end;	    /* virtual ms of EOF, and of EOF-and-shut or reset */
	size_t pend, pend_off;	    /* echo: received, not yet sent back */
	unsigned char buf[2048];
};

enum sim_role {
	SIM_ECHO = 1,
	SIM_SINK,
	SIM_SOURCE
};

struct sim_server {
	int l;
	enum sim_role role;
	uint32_t seed;	  /* SINK: of what arrives; SOURCE: of what it sends */
	uint64_t to_send; /* SOURCE: bytes per connection */
	bool gated;	  /* SINK: reads nothing until released */
	unsigned n;	  /* connections accepted */
	struct sim_conn c[SIM_APP_CONNS];
};

/* Listen at addr on the app port. 0 or <0. */
int sim_server_open(struct sim_server *s, const char *addr, enum sim_role role, uint32_t seed,
		    uint64_t to_send);
/* Dial addr; send n bytes of pattern(seed), then shut; expect pattern(rx_seed) back. */
int sim_client_open(struct sim_conn *c, const char *addr, uint64_t n, uint32_t seed,
		    uint32_t rx_seed);
/* Send more: n further pattern bytes (to_send grows). */
void sim_conn_more(struct sim_conn *c, uint64_t n);
/*
 * Read no further than total bytes received in all (a slow reader that the
 * test paces on the virtual clock); 0 lifts the cap. Reads at once.
 */
void sim_conn_read_to(struct sim_conn *c, uint64_t total);
void sim_conn_close(struct sim_conn *c, bool abort);
/* EOF in and write side shut (a clean end), or reset. */
bool sim_conn_ended(const struct sim_conn *c);

int sim_server_step(struct sim_server *s);
int sim_conn_step(struct sim_conn *c);

/*
 * The endpoints sim_app_run() steps each pass (install it with
 * sim_set_app(sim_app_run, NULL)); sim_app_clear() forgets them all.
 */
void sim_app_clear(void);
void sim_app_server(struct sim_server *s);
void sim_app_conn(struct sim_conn *c);
int sim_app_run(void *ctx);

#endif
