/*
 * Sim: certificate validity follows the virtual clock. mbedTLS's time is the
 * world's wall clock (sim.c sets it with mbedtls_platform_set_time), which the
 * test starts at a date of its choosing. b's certificate expires at T; a
 * accepts b's handshakes up to T and refuses the first one after it with the
 * documented reason "certificate expired" (core/tls.c tls_fail_reason). b
 * runs on across T (a node that would not start with an expired certificate
 * keeps running with one, and says so); a is restarted to make b dial again.
 */
#include "tests/sim/sim_test.h"

#define WALL0 1790000000ll /* 2026-09-20: any date works */
#define LIFE_S 100	   /* b's certificate: valid for 100 s of virtual time */

static int a, b;

static bool b_up(void *ctx)
{
	unsigned want = (unsigned)(uintptr_t)ctx;

	return sim_count(0, a, "session_up", NULL) >= want &&
	       sim_count(0, b, "session_up", NULL) >= want;
}

static bool a_refused(void *ctx)
{
	(void)ctx;
	return sim_count(0, a, "handshake_fail", NULL) > 0;
}

/* kill -9 a at virtual time t and start it again: b dials a fresh handshake within 10 ms. */
static unsigned restart_a_at(uint64_t t)
{
	unsigned mark;

	sim_check(sim_run_until(NULL, NULL, t) == 0);
	sim_crash(a);
	mark = sim_mark();
	sim_check(sim_start(a) == 0);
	return mark;
}

static void test_expired_peer_refused(void **state)
{
	const struct sim_line *l;
	unsigned from;
	char v[64];

	(void)state;
	port_mem_set_wall_start(WALL0);
	a = sim_add("a", true);
	b = sim_add("b", false);
	sim_peer(a, b, false);
	sim_peer(b, a, true);
	sim_cfg(b)->reconnect_min_ms = 10;
	sim_cfg(b)->reconnect_max_ms = 10;
	/* valid_to is inclusive, to the second: expired once the clock is past it. */
	sim_check(sim_issue(b, WALL0 - 3600, WALL0 + LIFE_S) == 0);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_until(b_up, (void *)1, 1000) == 0);
	sim_check_eq(port_mem_wall_s(), WALL0);

	/* At T itself (wall WALL0 + 100 s, to the second) b's handshake is still accepted. */
	from = restart_a_at((uint64_t)LIFE_S * 1000);
	sim_check(sim_run_until(b_up, (void *)2, sim_now() + 1000) == 0);
	l = sim_expect(&from, a, "session_up", NULL);
	sim_check(l->t_ms >= (uint64_t)LIFE_S * 1000 && l->t_ms <= (uint64_t)LIFE_S * 1000 + 10);
	sim_check_eq(sim_count(0, a, "handshake_fail", NULL), 0);

	/* One second later it has expired: a refuses, and says why. */
	from = restart_a_at((uint64_t)(LIFE_S + 1) * 1000);
	sim_check(sim_run_until(a_refused, NULL, sim_now() + 1000) == 0);
	l = sim_expect(&from, a, "handshake_fail", NULL);
	sim_check(l->t_ms >= (uint64_t)(LIFE_S + 1) * 1000 &&
		  l->t_ms <= (uint64_t)(LIFE_S + 1) * 1000 + 10);
	sim_check(strcmp(sim_field(l, "reason", v, sizeof(v)), "certificate expired") == 0);
	sim_check(strcmp(sim_field(l, "id", v, sizeof(v)), "spiffe://sim.tether/b") == 0);
	sim_check(sim_run_for(5000) == 0);
	sim_check_eq(sim_count(from, -1, "session_up", NULL), 0);
	sim_check(sim_count(from, a, "handshake_fail", "reason=\"certificate expired\"") >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_expired_peer_refused, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
