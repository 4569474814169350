/*
 * Sim: graceful shutdown. SIGTERM (port_mem_raise) makes a node send GOAWAY
 * NORMAL and stop; its peer logs session_down naming "normal". Idle, the node
 * is done in the same millisecond. With a stream open it waits for the
 * stream: done the moment the stream completes, or at exactly the drain
 * deadline (TETHER_DRAIN_MS) with the stream reset, never truncated into a
 * clean end. A node that leaves with a longer drain of its own still ends a
 * draining session at the session's drain deadline ("drain deadline
 * passed"). Exit codes and real signals stay in integration.shutdown.
 */
#include "tests/sim/sim_test.h"

#define ECHO "10.0.9.1:7"
#define FWD "10.0.9.2:9000"
#define DRAIN_MS 5000 /* TETHER_DRAIN_MS, and tls.drain_s here */

static int a, b;
static struct sim_server echo;

static void setup_pair(void)
{
	sim_echo_pair(&a, &b, ECHO, FWD);
	sim_cfg(b)->reconnect_min_ms = 100;
	sim_cfg(b)->reconnect_max_ms = 1000;
	/* A session's own drain deadline (tls.drain_s) as long as the shutdown's. */
	sim_cfg(a)->tls.drain_s = DRAIN_MS / 1000;
	sim_cfg(b)->tls.drain_s = DRAIN_MS / 1000;
	sim_check(sim_server_open(&echo, ECHO, SIM_ECHO, 0, 0) == 0);
	sim_app_server(&echo);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_until(sim_both_up, (void *)1, 1000) == 0);
}

/* A stream that has echoed 1000 bytes and keeps its write side open. */
static void open_stream(struct sim_conn *c)
{
	sim_check(sim_client_open(c, FWD, 1000, 1, 1) == 0);
	c->no_shut = true;
	sim_app_conn(c);
	sim_check(sim_run_until(sim_conn_echoed, c, sim_now() + 1000) == 0);
}

static void b_down_normal(unsigned from, uint64_t t)
{
	const struct sim_line *l = sim_expect(&from, b, "session_down", NULL);
	char v[96];

	sim_check_eq(l->t_ms, t);
	sim_check(strstr(sim_field(l, "reason", v, sizeof(v)), "normal") != NULL);
}

static void test_sigterm_idle(void **state)
{
	unsigned from;

	(void)state;
	setup_pair();
	sim_check(sim_run_until(NULL, NULL, 100) == 0);
	from = sim_mark();
	sim_signal(a, PORT_SIG_TERM);
	sim_check(sim_run_until(sim_node_done, (void *)(uintptr_t)a, 10000) == 0);
	sim_check_eq(sim_node(a)->t_done, 100);
	sim_check_eq(sim_count(from, a, "shutdown", NULL), 1);
	b_down_normal(from, 100);
	/* b keeps redialing a node that is gone: no session comes up. */
	sim_check(sim_run_for(5000) == 0);
	sim_check_eq(sim_count(from, b, "session_up", NULL), 0);
	sim_check(sim_count(from, b, "handshake_fail", "reason=\"connection refused\"") > 0);
}

static void test_sigterm_stream_completes(void **state)
{
	static struct sim_conn c;
	unsigned from;
	uint64_t t;

	(void)state;
	setup_pair();
	open_stream(&c);
	sim_check(sim_run_until(NULL, NULL, 100) == 0);
	from = sim_mark();
	sim_signal(a, PORT_SIG_TERM);
	/* The stream finishes 1 s later, within the drain: a is done right then. */
	sim_check(sim_run_until(NULL, NULL, 1100) == 0);
	sim_check_eq(sim_node(a)->state, SIM_RUNNING);
	c.no_shut = false;
	sim_conn_more(&c, 1000);
	sim_check(sim_run_until(sim_conn_over, &c, 2000) == 0);
	sim_check(!c.reset && !c.bad);
	sim_check_eq(c.received, 2000);
	/* The draining session carries the last bytes and the close at once. */
	t = c.t_end;
	sim_check_eq(t, 1100);
	sim_check(sim_run_until(sim_node_done, (void *)(uintptr_t)a, 10000) == 0);
	sim_check_eq(sim_node(a)->t_done, t);
	b_down_normal(from, t);
	sim_check_eq(sim_count(0, -1, "stream_close", "reason=done"), 2);
}

static void test_sigterm_drain_deadline(void **state)
{
	static struct sim_conn c;
	unsigned from;

	(void)state;
	setup_pair();
	open_stream(&c);
	sim_check(sim_run_until(NULL, NULL, 100) == 0);
	from = sim_mark();
	sim_signal(a, PORT_SIG_TERM);
	/* The stream never finishes: reset at exactly the deadline, and a is done. */
	sim_check(sim_run_until(sim_node_done, (void *)(uintptr_t)a, 100 + 2 * DRAIN_MS) == 0);
	sim_check_eq(sim_node(a)->t_done, 100 + DRAIN_MS);
	sim_check(sim_run_for(10) == 0);
	sim_check(c.reset && !c.eof);
	sim_check_eq(c.t_end, 100 + DRAIN_MS);
	sim_check_eq(sim_count(from, -1, "stream_close", "reason=done"), 0);
	sim_check_eq(sim_count(from, b, "session_down", NULL), 1);
}

static void test_peer_drain_deadline(void **state)
{
	static struct sim_conn c;
	const struct sim_line *l;
	unsigned from;
	char v[64];

	(void)state;
	setup_pair();
	open_stream(&c);
	sim_check(sim_run_until(NULL, NULL, 100) == 0);
	from = sim_mark();
	/* b leaves with a longer drain: its session's own drain deadline ends it. */
	sim_shutdown(b, 3 * DRAIN_MS);
	sim_check(sim_run_until(sim_node_done, (void *)(uintptr_t)b, 100 + 4 * DRAIN_MS) == 0);
	sim_check(sim_run_for(10) == 0);
	l = sim_expect(&from, b, "session_down", NULL);
	sim_check_eq(l->t_ms, 100 + DRAIN_MS);
	sim_check(strcmp(sim_field(l, "reason", v, sizeof(v)), "drain deadline passed") == 0);
	sim_check_eq(sim_node(b)->t_done, 100 + DRAIN_MS);
	l = sim_expect(&from, a, "session_down", NULL);
	sim_check_eq(l->t_ms, 100 + DRAIN_MS);
	sim_check(c.reset);
	sim_check_eq(c.t_end, 100 + DRAIN_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sigterm_idle, sim_test_setup,
						sim_test_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_stream_completes, sim_test_setup,
						sim_test_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_drain_deadline, sim_test_setup,
						sim_test_teardown),
		cmocka_unit_test_setup_teardown(test_peer_drain_deadline, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
