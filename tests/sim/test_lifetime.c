/*
 * Sim: session lifetime (docs/PROTOCOL.md section 7), make before break.
 * When b's session reaches tls.session_lifetime_s (2 s), b (the dialer)
 * dials a new session while the old one carries on; once the new one is up
 * the old one gets GOAWAY LIFETIME and drains:
 * - the new session is up at exactly t_up + lifetime, with a stream open on
 *   the old one, and a new stream goes to it at once;
 * - a stream still open when the drain deadline (tls.drain_s, 5 s here)
 *   passes is reset then, exactly, with the old session ("drain deadline
 *   passed"): never ended as if it had completed.
 */
#include "tests/sim/sim_test.h"

#define ECHO "10.0.9.1:7"
#define FWD "10.0.9.2:9000"
#define LIFETIME_MS 2000
#define DRAIN_MS 5000 /* tls.drain_s */

static int a, b;
static struct sim_server echo;

static bool got_all(void *ctx)
{
	const struct sim_conn *c = ctx;

	return c->received == c->to_send;
}

static void setup_pair(void)
{
	sim_echo_pair(&a, &b, ECHO, FWD);
	sim_cfg(b)->tls.session_lifetime_s = LIFETIME_MS / 1000;
	sim_cfg(a)->tls.drain_s = DRAIN_MS / 1000;
	sim_cfg(b)->tls.drain_s = DRAIN_MS / 1000;
	sim_check(sim_server_open(&echo, ECHO, SIM_ECHO, 0, 0) == 0);
	sim_app_server(&echo);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_until(sim_both_up, (void *)1, 1000) == 0);
	sim_check_eq(sim_now(), 0);
}

/* A stream open across the rotation, holding its write side open. */
static void open_old(struct sim_conn *c)
{
	sim_check(sim_client_open(c, FWD, 1000, 1, 1) == 0);
	c->no_shut = true;
	sim_app_conn(c);
	sim_check(sim_run_until(sim_conn_echoed, c, 1000) == 0);
	sim_check_eq(c->received, 1000);
}

static void test_rotation(void **state)
{
	static struct sim_conn old, fresh;
	const struct sim_line *l;
	unsigned from = 0;
	char v[96];

	(void)state;
	setup_pair();
	open_old(&old);
	sim_check(sim_run_until(sim_both_up, (void *)2, LIFETIME_MS + 1000) == 0);
	/* Rotation at exactly t_up + lifetime: the new session is up at once. */
	l = sim_expect(&from, b, "session_up", NULL);
	l = sim_expect(&from, b, "session_up", NULL);
	sim_check_eq(l->t_ms, LIFETIME_MS);
	sim_check(strcmp(sim_field(l, "dir", v, sizeof(v)), "out") == 0);
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);

	/* A new stream goes to the new session while the old one drains. */
	sim_check(sim_client_open(&fresh, FWD, 64 * 1024, 3, 3) == 0);
	sim_app_conn(&fresh);
	sim_check(sim_run_until(sim_conn_over, &fresh, sim_now() + 1000) == 0);
	sim_check(!fresh.reset && !fresh.bad && fresh.received == fresh.to_send);
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);

	/* The old stream still carries data both ways while its session drains. */
	sim_conn_more(&old, 5000);
	sim_check(sim_run_until(got_all, &old, sim_now() + 100) == 0);
	sim_check_eq(old.received, 6000);
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);
}

static void test_drain_deadline(void **state)
{
	static struct sim_conn old;
	const struct sim_line *l;
	unsigned from = 0;
	char v[96];

	(void)state;
	setup_pair();
	open_old(&old);
	/* The old stream never finishes: the drain deadline ends it and its session. */
	sim_check(sim_run_until(sim_conn_over, &old, LIFETIME_MS + DRAIN_MS + 1000) == 0);
	sim_check(old.reset);
	sim_check_eq(old.t_end, LIFETIME_MS + DRAIN_MS);
	l = sim_expect(&from, b, "session_down", "reason=\"drain deadline passed\"");
	sim_check_eq(l->t_ms, LIFETIME_MS + DRAIN_MS);
	sim_check_eq(sim_count(0, b, "session_down", "reason=\"drain deadline passed\""), 1);
	sim_check(sim_field(l, "reason", v, sizeof(v))[0] != '\0');
	sim_check_eq(sim_count(0, -1, "stream_close", "reason=done"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rotation, sim_test_setup, sim_test_teardown),
		cmocka_unit_test_setup_teardown(test_drain_deadline, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
