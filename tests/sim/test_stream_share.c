/*
 * Sim regression (issue 11, item 2): one listed peer cannot take every stream
 * slot of a node.
 *
 * Node a exports "echo" to two peers, b and c, and has 8 stream slots. b
 * opens idle streams to it and holds them; then c opens streams of its own.
 * Before limits.streams_per_session, b's held streams took all 8 slots and
 * c's were refused ("no stream slots"). Now b stops at its cap (refused with
 * RESET NO_RESOURCES, "session stream cap reached" in a's log) and c's
 * streams carry their bytes as if b were not there.
 */
#include "core/stream.h"
#include "tests/sim/sim_test.h"

#define ECHO "10.0.9.1:7"
#define FWD_B "10.0.9.2:9000"
#define FWD_C "10.0.9.3:9000"
#define SLOTS 8
#define HOG 8	       /* idle streams b tries to hold */
#define ECHO_LEN 3000u /* bytes each of c's streams sends and gets back */

static int a, b, c;

static bool all_up(void *ctx)
{
	(void)ctx;
	return sim_count(0, a, "session_up", NULL) == 2 &&
	       sim_count(0, b, "session_up", NULL) == 1 && sim_count(0, c, "session_up", NULL) == 1;
}

struct conns {
	struct sim_conn *c;
	unsigned n;
};

static bool conns_ended(void *ctx)
{
	const struct conns *cs = ctx;
	unsigned i;

	for (i = 0; i < cs->n; i++)
		if (!sim_conn_ended(&cs->c[i]))
			return false;
	return true;
}

/* a listens and exports echo to b and c; each dials a and forwards to it. */
static void world(uint32_t per_session)
{
	struct tether_service_cfg *sv;

	a = sim_add("a", true);
	b = sim_add("b", false);
	c = sim_add("c", false);
	sim_peer(a, b, false);
	sim_peer(a, c, false);
	sim_peer(b, a, true);
	sim_peer(c, a, true);
	sim_service(a, "echo", ECHO, b);
	sv = &sim_cfg(a)->services[0];
	sv->allow[sv->n_allow++] = 1; /* c, a's second peer */
	sim_forward(b, FWD_B, a, "echo");
	sim_forward(c, FWD_C, a, "echo");
	sim_cfg(a)->limits.streams = SLOTS;
	sim_cfg(a)->limits.streams_per_session = per_session;
}

/*
 * b opens HOG idle streams and holds them; then c opens want streams that
 * each echo ECHO_LEN bytes. b must get exactly cap streams, c all of its own.
 */
static void compete(unsigned cap, unsigned want)
{
	static struct sim_server echo;
	static struct sim_conn hog[HOG], cli[SLOTS];
	struct conns cs = {cli, want};
	unsigned i, mark;

	sim_check_eq(stream_session_cap(sim_cfg(a)), cap);
	sim_check(sim_server_open(&echo, ECHO, SIM_ECHO, 0, 0) == 0);
	sim_app_server(&echo);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0 && sim_start(c) == 0);
	sim_check(sim_run_until(all_up, NULL, 10000) == 0);

	/* b's idle streams: they send nothing and never close. */
	for (i = 0; i < HOG; i++) {
		sim_check(sim_client_open(&hog[i], FWD_B, 0, 100 + i, 100 + i) == 0);
		hog[i].no_shut = true;
		sim_app_conn(&hog[i]);
	}
	sim_check(sim_run_for(500) == 0);
	sim_check_eq(sim_count(0, a, "stream_open", "peer=b"), cap);
	sim_check_eq(sim_count(0, a, "stream_refused", "reason=\"session stream cap reached\""),
		     HOG - cap);
	sim_check_eq(sim_count(0, a, "stream_refused", "no stream slots"), 0);
	for (i = 0; i < HOG; i++)
		sim_check(i < cap ? !sim_conn_ended(&hog[i]) : hog[i].reset);

	/* c's streams, while b holds its share. */
	mark = sim_mark();
	for (i = 0; i < want; i++) {
		sim_check(sim_client_open(&cli[i], FWD_C, ECHO_LEN, 200 + i, 200 + i) == 0);
		cli[i].no_shut = true; /* held open until every one of them is up */
		sim_app_conn(&cli[i]);
	}
	sim_check(sim_run_for(500) == 0);
	sim_check_eq(sim_count(mark, a, "stream_open", "peer=c"), want);
	sim_check_eq(sim_count(mark, a, "stream_refused", NULL), 0);
	for (i = 0; i < want; i++) {
		cli[i].no_shut = false;
		sim_conn_more(&cli[i], 0);
	}
	sim_check(sim_run_until(conns_ended, &cs, sim_now() + 10000) == 0);
	for (i = 0; i < want; i++) {
		sim_check(!cli[i].reset && !cli[i].bad);
		sim_check_eq(cli[i].received, ECHO_LEN);
	}
	/* b's held streams are still there, and both sessions stayed up. */
	for (i = 0; i < cap; i++)
		sim_check(!sim_conn_ended(&hog[i]));
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);
}

/* The default rule: 8 slots / min(16 sessions, 2 peers + 1) = 2 per session. */
static void test_default_share(void **state)
{
	(void)state;
	world(0);
	compete(2, 2);
}

/* An explicit cap of half the slots: b holds 4, c still gets 4. */
static void test_explicit_share(void **state)
{
	(void)state;
	world(4);
	compete(4, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_share, sim_test_setup,
						sim_test_teardown),
		cmocka_unit_test_setup_teardown(test_explicit_share, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
