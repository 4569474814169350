/*
 * Sim: keepalive (docs/PROTOCOL.md). A peer whose program stops (SIGSTOP,
 * here a frozen port) is declared dead at exactly the moment its last bytes
 * arrived plus keepalive.timeout_ms; while it only idles, PINGs keep the
 * session up indefinitely. After it runs again a working session returns and
 * each side ends with exactly one live session.
 */
#include "tests/sim/sim_test.h"

#define ECHO "10.0.9.1:7"
#define FWD "10.0.9.2:9000"
#define INTERVAL 500
#define TIMEOUT 2000

static int a, b;

static bool b_down(void *ctx)
{
	(void)ctx;
	return sim_count(0, b, "session_down", NULL) > 0;
}

static void test_frozen_peer(void **state)
{
	static struct sim_server echo;
	static struct sim_conn cli;
	const struct sim_line *l;
	uint64_t t_rx, t_freeze = 10250;
	unsigned from = 0, i;
	char v[64];

	(void)state;
	sim_echo_pair(&a, &b, ECHO, FWD);
	for (i = 0; i < 2; i++) {
		sim_cfg(i)->keepalive_interval_ms = INTERVAL;
		sim_cfg(i)->keepalive_timeout_ms = TIMEOUT;
		sim_cfg(i)->reconnect_min_ms = 100;
		sim_cfg(i)->reconnect_max_ms = 1000;
	}
	sim_check(sim_server_open(&echo, ECHO, SIM_ECHO, 0, 0) == 0);
	sim_app_server(&echo);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_until(sim_both_up, (void *)1, 1000) == 0);

	/* Idle for 20 timeouts: PINGs keep it up, and they come every interval. */
	sim_check(sim_run_until(NULL, NULL, t_freeze) == 0);
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);
	sim_check(sim_node(b)->t_rx + INTERVAL >= t_freeze);

	/* a stops: b hears nothing more from it. */
	sim_freeze(a, true);
	t_rx = sim_node(b)->t_rx;
	sim_check(sim_run_until(b_down, NULL, t_freeze + 2 * TIMEOUT) == 0);
	sim_check_eq(sim_node(b)->t_rx, t_rx);
	l = sim_expect(&from, b, "session_down", NULL);
	sim_check_eq(l->t_ms, t_rx + TIMEOUT);
	sim_check(strcmp(sim_field(l, "reason", v, sizeof(v)), "keepalive timeout") == 0);

	/* a runs again with a stale session: one way or another a working one returns. */
	sim_check(sim_run_for(100) == 0);
	sim_freeze(a, false);
	sim_check(sim_run_until(sim_both_up, (void *)2, sim_now() + 30000) == 0);
	sim_check(sim_client_open(&cli, FWD, 64 * 1024, 4, 4) == 0);
	sim_app_conn(&cli);
	sim_check(sim_run_until(sim_conn_over, &cli, sim_now() + 10000) == 0);
	sim_check(!cli.reset && !cli.bad && cli.received == cli.to_send);
	/* Each side: exactly one live session (ups - downs == 1). */
	sim_check(sim_run_for(5 * TIMEOUT) == 0);
	sim_check_eq(sim_count(0, a, "session_up", NULL) - sim_count(0, a, "session_down", NULL),
		     1);
	sim_check_eq(sim_count(0, b, "session_up", NULL) - sim_count(0, b, "session_down", NULL),
		     1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_frozen_peer, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
