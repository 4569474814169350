/*
 * Sim: both nodes dial each other (docs/PROTOCOL.md, one session per pair).
 * The duplicate each side ends may come up and be ended in one read (HELLO
 * and GOAWAY DUPLICATE together); the node must still count the dial as
 * done, or it never dials that peer again. Here the survivor then dies and
 * the peer returns as a listener only: b must dial it and get a session.
 */
#include "tests/sim/sim_test.h"

static int a, b;

static bool ups(void *ctx)
{
	unsigned want = (unsigned)(uintptr_t)ctx;

	return sim_count(0, b, "session_up", NULL) >= want;
}

static void test_dual_dial_redial(void **state)
{
	unsigned i, ups_b;

	(void)state;
	a = sim_add("a", true);
	b = sim_add("b", true);
	sim_peer(a, b, true);
	sim_peer(b, a, true);
	for (i = 0; i < 2; i++) {
		sim_cfg(i)->reconnect_min_ms = 100;
		sim_cfg(i)->reconnect_max_ms = 1000;
		sim_cfg(i)->keepalive_interval_ms = 500;
		sim_cfg(i)->keepalive_timeout_ms = 2000;
	}
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_for(3000) == 0);
	sim_check_eq(sim_count(0, -1, "session_down", "duplicate"), 2);
	ups_b = sim_count(0, b, "session_up", NULL);
	/* a comes back as a listener only: b must dial it. */
	sim_crash(a);
	sim_check(sim_run_for(100) == 0);
	sim_cfg(a)->peers[0].connect[0] = '\0';
	sim_check(sim_start(a) == 0);
	sim_check(sim_run_until(ups, (void *)(uintptr_t)(ups_b + 1), sim_now() + 10000) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dual_dial_redial, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
