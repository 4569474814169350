/*
 * Sim: two nodes, a mutually authenticated TLS 1.3 session, data through a
 * forward both ways byte-exact, and a graceful shutdown of both: what the
 * cortex-m4 self-test checks, on the host under the sanitizers. With no
 * latency in the world, all of it takes no virtual time at all.
 */
#include "tests/sim/sim_test.h"

#define ECHO "10.0.9.1:7"
#define FWD "10.0.9.2:9000"

static int a, b;

static bool both_up(void *ctx)
{
	(void)ctx;
	return sim_count(0, a, "session_up", NULL) == 1 && sim_count(0, b, "session_up", NULL) == 1;
}

static void test_session_transfer_shutdown(void **state)
{
	static struct sim_server echo;
	static struct sim_conn cli;
	const struct sim_line *l;
	unsigned from = 0;
	char v[128];

	(void)state;
	sim_echo_pair(&a, &b, ECHO, FWD);
	sim_check(sim_server_open(&echo, ECHO, SIM_ECHO, 0, 0) == 0);
	sim_app_server(&echo);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_until(both_up, NULL, 60000) == 0);
	/* No latency: the dial, the handshake and the HELLOs take no virtual time. */
	sim_check_eq(sim_now(), 0);
	l = sim_expect(&from, b, "session_up", NULL);
	sim_check(strcmp(sim_field(l, "tls", v, sizeof(v)), "1.3") == 0);
	sim_check(strcmp(sim_field(l, "id", v, sizeof(v)), "spiffe://sim.tether/a") == 0);
	sim_check(strcmp(sim_field(l, "dir", v, sizeof(v)), "out") == 0);
	from = 0;
	l = sim_expect(&from, a, "session_up", NULL);
	sim_check(strcmp(sim_field(l, "id", v, sizeof(v)), "spiffe://sim.tether/b") == 0);
	sim_check(strcmp(sim_field(l, "dir", v, sizeof(v)), "in") == 0);

	/* Listeners are found by name. */
	{
		char addr[64];

		sim_check(tether_node_listen_addr(sim_node(b)->node, "a/echo", addr,
						  sizeof(addr)) == 0);
		sim_check(strcmp(addr, FWD) == 0);
		sim_check(tether_node_listen_addr(sim_node(a)->node, "sessions", addr,
						  sizeof(addr)) == 0);
		sim_check(tether_node_listen_addr(sim_node(b)->node, "a/nope", addr,
						  sizeof(addr)) == TETHER_ERR_INVALID);
		sim_check(tether_node_listen_addr(sim_node(b)->node, "sessions", addr,
						  sizeof(addr)) == TETHER_ERR_INVALID);
	}
	sim_check(sim_client_open(&cli, FWD, 1024 * 1024, 7, 7) == 0);
	sim_app_conn(&cli);
	sim_check(sim_run_until(sim_conn_over, &cli, 60000) == 0);
	sim_check(!cli.reset && !cli.bad);
	sim_check_eq(cli.sent, 1024 * 1024);
	sim_check_eq(cli.received, 1024 * 1024);
	sim_check_eq(sim_now(), 0);
	sim_check(sim_run_for(10) == 0);
	sim_check_eq(sim_count(0, -1, "stream_close", "reason=done"), 2);
	sim_check_eq(sim_count(0, -1, "stream_close", NULL), 2);

	/* The dialer leaves first (GOAWAY, drain), then the listener. */
	from = sim_mark();
	sim_shutdown(b, 2000);
	sim_check(sim_run_until(sim_node_done, (void *)(uintptr_t)b, 60000) == 0);
	sim_shutdown(a, 2000);
	sim_check(sim_run_until(sim_node_done, (void *)(uintptr_t)a, 60000) == 0);
	sim_check_eq(sim_node(a)->t_done, 10);
	sim_check_eq(sim_node(b)->t_done, 10);
	sim_check_eq(sim_count(0, -1, "handshake_fail", NULL), 0);
	sim_check_eq(sim_count(from, b, "session_down", "reason=\"shutting down\""), 1);
	sim_check_eq(sim_count(from, a, "session_down",
			       "reason=\"goaway from peer: normal: shutting down\""),
		     1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_transfer_shutdown, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
