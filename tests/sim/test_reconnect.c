/*
 * Sim: sessions come back (reconnect.min_ms 100, max_ms 1000).
 *
 * - kill -9 of the listener: the dialer sees the session end at that very
 *   moment, redials with exponential back-off and full jitter (README: after
 *   the k-th failed dial in a row the next waits a random time in
 *   [0, min(max_ms, min_ms x 2^k)]; a session that came up resets k), and is
 *   up again no later than one back-off after the listener is back;
 * - kill -9 of the dialer: the listener sees the session end at once, and the
 *   restarted dialer is up at the moment it starts;
 * - streams work after each, and each side ends with one live session.
 */
#include "tests/sim/sim_test.h"

#define ECHO "10.0.9.1:7"
#define FWD "10.0.9.2:9000"
#define MIN_MS 100
#define MAX_MS 1000

static int a, b;
static struct sim_server echo;
static struct sim_conn cli[4];

static void stream_works(unsigned i)
{
	sim_check(sim_client_open(&cli[i], FWD, 256 * 1024, 10 + i, 10 + i) == 0);
	sim_app_conn(&cli[i]);
	sim_check(sim_run_until(sim_conn_over, &cli[i], sim_now() + 10000) == 0);
	sim_check(!cli[i].reset && !cli[i].bad && cli[i].received == cli[i].to_send);
}

static uint64_t cap(unsigned k)
{
	uint64_t c = (uint64_t)MIN_MS << k;

	return c < MAX_MS ? c : MAX_MS;
}

static void test_kill_and_restart(void **state)
{
	const struct sim_line *l;
	uint64_t t_kill, t_back, t_prev;
	unsigned from, k, i, start_a, start_b;
	char v[64];

	(void)state;
	sim_echo_pair(&a, &b, ECHO, FWD);
	for (i = 0; i < 2; i++) {
		sim_cfg(i)->keepalive_interval_ms = 500;
		sim_cfg(i)->keepalive_timeout_ms = 2000;
		sim_cfg(i)->reconnect_min_ms = MIN_MS;
		sim_cfg(i)->reconnect_max_ms = MAX_MS;
	}
	sim_check(sim_server_open(&echo, ECHO, SIM_ECHO, 0, 0) == 0);
	sim_app_server(&echo);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_until(sim_both_up, (void *)1, 1000) == 0);
	stream_works(0);

	/* kill -9 a at 1000; it is back at 7000. */
	sim_check(sim_run_until(NULL, NULL, 1000) == 0);
	t_kill = sim_now();
	from = sim_mark();
	sim_crash(a);
	sim_check(sim_run_until(NULL, NULL, t_kill + 6000) == 0);
	t_back = sim_now();
	l = sim_expect(&from, b, "session_down", NULL);
	sim_check_eq(l->t_ms, t_kill);
	sim_check(sim_field(l, "reason", v, sizeof(v))[0] != '\0');
	/* Every redial while a is down is refused, each within its back-off window. */
	t_prev = t_kill;
	for (k = 0; (l = sim_find(&from, b, "handshake_fail", NULL)) != NULL; k++) {
		sim_check(strcmp(sim_field(l, "reason", v, sizeof(v)), "connection refused") == 0);
		sim_check(l->t_ms >= t_prev && l->t_ms - t_prev <= cap(k));
		t_prev = l->t_ms;
	}
	/* At least the doubling steps up to the cap, then one per second at most. */
	sim_check(k >= 5);
	from = start_a = sim_mark();
	sim_check(sim_start(a) == 0);
	sim_check(sim_run_until(sim_both_up, (void *)2, t_back + 2 * MAX_MS) == 0);
	l = sim_expect(&from, b, "session_up", NULL);
	sim_check(l->t_ms >= t_back && l->t_ms - t_prev <= cap(k));
	sim_check(strcmp(sim_field(l, "dir", v, sizeof(v)), "out") == 0);
	sim_check_eq(sim_count(from, b, "handshake_fail", NULL), 0);
	stream_works(1);

	/* kill -9 b: a sees it at once; b restarted is up at the moment it starts. */
	from = sim_mark();
	t_kill = sim_now();
	sim_crash(b);
	sim_check(sim_run_for(500) == 0);
	l = sim_expect(&from, a, "session_down", NULL);
	sim_check_eq(l->t_ms, t_kill);
	t_back = sim_now();
	start_b = sim_mark();
	sim_check(sim_start(b) == 0);
	sim_check(sim_run_until(sim_both_up, (void *)3, t_back + 1000) == 0);
	l = sim_expect(&from, b, "session_up", NULL);
	sim_check_eq(l->t_ms, t_back);
	stream_works(2);

	/* Since its last start, each side: session_up - session_down == 1. */
	sim_check(sim_run_for(10000) == 0);
	sim_check_eq(sim_count(start_a, a, "session_up", NULL) -
			     sim_count(start_a, a, "session_down", NULL),
		     1);
	sim_check_eq(sim_count(start_b, b, "session_up", NULL) -
			     sim_count(start_b, b, "session_down", NULL),
		     1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_and_restart, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
