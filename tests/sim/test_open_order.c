/*
 * Sim regression: OPEN frames leave in stream-id order.
 *
 * The receiving node ends the whole session on an OPEN whose id is not above
 * the last one ("OPEN with a stream id out of sequence", docs/PROTOCOL.md),
 * resetting every stream on it. Two OPENs are owed in the same pass when two
 * forward connections are accepted while the session's output is blocked:
 * both must then go out lowest id first.
 *
 * How the test gets there: a's program is stopped (frozen) while a stream
 * pushes data towards it, so b's session output fills up and blocks; two more
 * clients connect to b's forward and are accepted in one pass; then a runs
 * again and reads everything.
 */
#include "tests/sim/sim_test.h"

#define ECHO "10.0.9.1:7"
#define FWD "10.0.9.2:9000"
#define BULK (256u * 1024u)

static int a, b;

static bool both_up(void *ctx)
{
	(void)ctx;
	return sim_count(0, a, "session_up", NULL) == 1 && sim_count(0, b, "session_up", NULL) == 1;
}

static bool all_ended(void *ctx)
{
	struct sim_conn *c = ctx;

	return sim_conn_ended(&c[0]) && sim_conn_ended(&c[1]) && sim_conn_ended(&c[2]);
}

static void test_two_opens_in_one_pass(void **state)
{
	static struct sim_server echo;
	static struct sim_conn cli[3];
	unsigned from, i;
	char v[32];

	(void)state;
	sim_echo_pair(&a, &b, ECHO, FWD);
	sim_check(sim_server_open(&echo, ECHO, SIM_ECHO, 0, 0) == 0);
	sim_app_server(&echo);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_until(both_up, NULL, 10000) == 0);

	/* a stops; stream 1 fills b's output towards it. */
	sim_freeze(a, true);
	sim_check(sim_client_open(&cli[0], FWD, BULK, 1, 1) == 0);
	sim_app_conn(&cli[0]);
	sim_check(sim_run_for(100) == 0);
	sim_check(cli[0].sent > 0 && cli[0].sent < BULK);
	/* Two connections in one pass: b accepts both before its output can move. */
	sim_check(sim_client_open(&cli[1], FWD, 1000, 2, 2) == 0);
	sim_check(sim_client_open(&cli[2], FWD, 1000, 3, 3) == 0);
	sim_app_conn(&cli[1]);
	sim_app_conn(&cli[2]);
	sim_check(sim_run_for(100) == 0);
	sim_check_eq(sim_count(0, b, "stream_open", NULL), 3);
	sim_freeze(a, false);

	sim_check(sim_run_until(all_ended, cli, sim_now() + 10000) == 0);
	for (i = 0; i < 3; i++) {
		sim_check(!cli[i].reset && !cli[i].bad);
		sim_check_eq(cli[i].received, cli[i].to_send);
	}
	/* One session throughout, and a opened the streams in id order. */
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);
	sim_check_eq(sim_count(0, -1, "session_up", NULL), 2);
	from = 0;
	for (i = 0; i < 3; i++) {
		const struct sim_line *l = sim_expect(&from, a, "stream_open", NULL);

		sim_check_eq(strtoul(sim_field(l, "stream", v, sizeof(v)), NULL, 10), 2 * i + 1);
	}
	sim_check(sim_run_for(10) == 0);
	sim_check_eq(sim_count(0, -1, "stream_close", "reason=done"), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_opens_in_one_pass, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
