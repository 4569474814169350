/*
 * sim_test.h: what every sim test program shares: cmocka, the driver, and
 * checks that print the simulation's log (with virtual times) when they fail.
 */
#ifndef TETHER_SIM_TEST_H
#define TETHER_SIM_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/sim/sim.h"
#include "tests/sim/sim_app.h"

static inline void sim_test_print(const char *line, size_t len)
{
	fwrite(line, 1, len, stderr);
}

/* cond, or the log so far, the driver's last error and a failed test. */
#define sim_check(cond)                                                                          \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			sim_dump(0, sim_test_print);                                             \
			fail_msg("%s:%d: %s (at %lu virtual ms; %s)", __FILE__, __LINE__, #cond, \
				 (unsigned long)sim_now(), sim_err);                             \
		}                                                                                \
	} while (0)

#define sim_check_eq(got, want)                                                               \
	do {                                                                                  \
		unsigned long long g_ = (unsigned long long)(got),                            \
				   w_ = (unsigned long long)(want);                           \
		if (g_ != w_) {                                                               \
			sim_dump(0, sim_test_print);                                          \
			fail_msg("%s:%d: %s is %llu, expected %s = %llu (at %lu virtual ms)", \
				 __FILE__, __LINE__, #got, g_, #want, w_,                     \
				 (unsigned long)sim_now());                                   \
		}                                                                             \
	} while (0)

/* A fresh world with the endpoints' stepping installed; SIM_ECHO=1 echoes the log. */
static inline int sim_test_setup(void **state)
{
	(void)state;
	if (sim_begin(1) != 0)
		return -1;
	sim_app_clear();
	sim_set_app(sim_app_run, NULL);
	if (getenv("SIM_ECHO") != NULL)
		sim_set_echo(sim_test_print);
	return 0;
}

static inline int sim_test_teardown(void **state)
{
	(void)state;
	sim_end();
	return 0;
}

/* The virtual time of the first line at or after *from by node with event (and match). */
static inline const struct sim_line *sim_expect(unsigned *from, int node, const char *event,
						const char *match)
{
	const struct sim_line *l = sim_find(from, node, event, match);

	if (l == NULL) {
		sim_dump(0, sim_test_print);
		fail_msg("no line event=%s%s%s from node %d (at %lu virtual ms)", event,
			 match != NULL ? " containing " : "", match != NULL ? match : "", node,
			 (unsigned long)sim_now());
	}
	return l;
}

/* ---- conditions for sim_run_until() */

/* The first two nodes added have each logged at least (uintptr_t)ctx session_up lines. */
static inline bool sim_both_up(void *ctx)
{
	unsigned want = (unsigned)(uintptr_t)ctx;

	return sim_count(0, 0, "session_up", NULL) >= want &&
	       sim_count(0, 1, "session_up", NULL) >= want;
}

/* Node (uintptr_t)ctx has stopped of its own accord. */
static inline bool sim_node_done(void *ctx)
{
	return sim_node((unsigned)(uintptr_t)ctx)->state == SIM_DONE;
}

/* The connection ctx has sent something and had all of it back (an echo). */
static inline bool sim_conn_echoed(void *ctx)
{
	const struct sim_conn *c = ctx;

	return c->sent > 0 && c->received == c->sent;
}

/* The connection ctx (struct sim_conn *) has ended. */
static inline bool sim_conn_over(void *ctx)
{
	return sim_conn_ended(ctx);
}

#endif
