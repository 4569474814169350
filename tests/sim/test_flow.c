/*
 * Sim: per-stream flow control (docs/PROTOCOL.md section 6). A stream
 * whose local reader reads nothing (a gated sink behind a) stops its writer,
 * the client of b's forward, at exactly what the windows and buffers hold:
 *
 *   WINDOW granted by a (all of it sent by b: PORT_MEM_SOCK_BUF of it sit in
 *   the sink's receive buffer, the rest in a's ring; a returns no credit,
 *   as it has consumed less than half a window), plus PORT_MEM_SOCK_BUF in
 *   b's end of the client's connection.
 *
 * It stays there for as long as the reader waits, with nothing reset and no
 * memory taken. Meanwhile three echo streams on the same session complete
 * byte-exact, in the same virtual millisecond they were opened. Once the
 * reader reads again, every byte arrives intact in that same millisecond
 * too, and every stream ends as done on the one session.
 */
#include "tests/sim/sim_test.h"

#define SINK "10.0.9.1:9"
#define ECHO "10.0.9.1:7"
#define FWD_GATED "10.0.9.2:9000"
#define FWD_ECHO "10.0.9.2:9001"
#define WINDOW 16384
#define STALLED (64u * WINDOW) /* bytes the client of the gated stream sends */
#define N_ECHO 3
#define ECHOED (16u * WINDOW) /* bytes each echo stream carries */

static int a, b;

static bool both_up(void *ctx)
{
	(void)ctx;
	return sim_count(0, a, "session_up", NULL) == 1 && sim_count(0, b, "session_up", NULL) == 1;
}

static bool all_ended(void *ctx)
{
	struct sim_conn *c = ctx;
	unsigned i;

	for (i = 0; i < N_ECHO; i++)
		if (!sim_conn_ended(&c[i]))
			return false;
	return true;
}

static bool conns_ended(void *ctx)
{
	struct sim_conn **c = ctx;

	return sim_conn_ended(c[0]) && sim_conn_ended(c[1]);
}

static void stats(int i, struct tether_stats *st)
{
	tether_node_stats(sim_node((unsigned)i)->node, st);
}

static void test_stalled_stream_blocks_nothing_else(void **state)
{
	static struct sim_server sink, echo;
	static struct sim_conn gated, cli[N_ECHO];
	struct sim_conn *pair[2] = {&gated, NULL};
	struct tether_stats sa0, sb0, sa, sb;
	uint64_t t;
	unsigned i;

	(void)state;
	a = sim_add("a", true);
	b = sim_add("b", false);
	sim_peer(a, b, false);
	sim_peer(b, a, true);
	sim_service(a, "gated", SINK, b);
	sim_service(a, "echo", ECHO, b);
	sim_forward(b, FWD_GATED, a, "gated");
	sim_forward(b, FWD_ECHO, a, "echo");
	sim_cfg(a)->limits.stream_window = WINDOW;
	sim_cfg(b)->limits.stream_window = WINDOW;
	sim_check(sim_server_open(&sink, SINK, SIM_SINK, 21, 0) == 0);
	sink.gated = true;
	sim_app_server(&sink);
	sim_check(sim_server_open(&echo, ECHO, SIM_ECHO, 0, 0) == 0);
	sim_app_server(&echo);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_until(both_up, NULL, 1000) == 0);
	sim_check_eq(sim_now(), 0);

	/* The writer stops at the window plus one socket buffer, at once. */
	sim_check(sim_client_open(&gated, FWD_GATED, STALLED, 21, 0) == 0);
	sim_app_conn(&gated);
	sim_check(sim_run_until(NULL, NULL, 100) == 0);
	sim_check_eq(sink.n, 1);
	sim_check_eq(sink.c[0].received, 0);
	sim_check_eq(gated.sent, WINDOW + PORT_MEM_SOCK_BUF);
	stats(a, &sa0);
	stats(b, &sb0);
	sim_check_eq(sb0.bytes_out, WINDOW);
	sim_check_eq(sa0.bytes_in, WINDOW);
	sim_check_eq(sa0.streams_open, 1);
	sim_check_eq(sb0.streams_open, 1);

	/* It stays there for a minute (keepalives come and go), nothing reset or grown. */
	sim_check(sim_run_until(NULL, NULL, 60000) == 0);
	sim_check_eq(gated.sent, WINDOW + PORT_MEM_SOCK_BUF);
	sim_check_eq(sink.c[0].received, 0);
	sim_check(!gated.reset && !sink.c[0].reset);
	stats(a, &sa);
	stats(b, &sb);
	sim_check_eq(sb.bytes_out, WINDOW);
	sim_check_eq(sa.bytes_in, WINDOW);
	sim_check_eq(sa.mem_node, sa0.mem_node);
	sim_check_eq(sb.mem_node, sb0.mem_node);
	sim_check_eq(sa.heap_used, sa0.heap_used);

	/* Other streams on the same session flow, byte-exact, in the same millisecond. */
	t = sim_now();
	for (i = 0; i < N_ECHO; i++) {
		sim_check(sim_client_open(&cli[i], FWD_ECHO, ECHOED, 30 + i, 30 + i) == 0);
		sim_app_conn(&cli[i]);
	}
	sim_check(sim_run_until(all_ended, cli, t + 1000) == 0);
	for (i = 0; i < N_ECHO; i++) {
		sim_check(!cli[i].reset && !cli[i].bad);
		sim_check_eq(cli[i].sent, ECHOED);
		sim_check_eq(cli[i].received, ECHOED);
		sim_check_eq(cli[i].t_end, t);
	}
	/* ... while the stalled one did not move. */
	sim_check_eq(gated.sent, WINDOW + PORT_MEM_SOCK_BUF);
	sim_check_eq(sink.c[0].received, 0);
	stats(a, &sa);
	stats(b, &sb);
	sim_check_eq(sb.bytes_out, WINDOW + N_ECHO * ECHOED);
	sim_check_eq(sa.bytes_in, WINDOW + N_ECHO * ECHOED);
	sim_check_eq(sa.bytes_out, N_ECHO * ECHOED);
	sim_check_eq(sb.bytes_in, N_ECHO * ECHOED);
	sim_check_eq(sa.streams_high, 1 + N_ECHO);
	sim_check_eq(sb.streams_high, 1 + N_ECHO);
	sim_check_eq(sa.mem_node, sa0.mem_node);
	sim_check_eq(sb.mem_node, sb0.mem_node);

	/* The reader comes back: everything arrives intact, in the same millisecond. */
	sim_check(sim_run_for(1000) == 0);
	t = sim_now();
	sink.gated = false;
	sim_check(sim_server_step(&sink) == 0); /* reads now, before the clock may move */
	pair[1] = &sink.c[0];
	sim_check(sim_run_until(conns_ended, pair, t + 1000) == 0);
	sim_check(!gated.reset && gated.eof && gated.shut);
	sim_check_eq(gated.sent, STALLED);
	sim_check(!sink.c[0].reset && !sink.c[0].bad && sink.c[0].eof);
	sim_check_eq(sink.c[0].received, STALLED);
	sim_check_eq(sink.c[0].t_end, t);
	sim_check_eq(gated.t_end, t);
	sim_check(sim_run_for(10) == 0);

	/* Every stream ended as done, on one session that stayed up. */
	sim_check_eq(sim_count(0, -1, "stream_close", NULL), 2 * (1 + N_ECHO));
	sim_check_eq(sim_count(0, -1, "stream_close", "reason=done"), 2 * (1 + N_ECHO));
	sim_check_eq(sim_count(0, a, "session_up", NULL), 1);
	sim_check_eq(sim_count(0, b, "session_up", NULL), 1);
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);
	stats(a, &sa);
	stats(b, &sb);
	sim_check_eq(sa.bytes_in, STALLED + N_ECHO * ECHOED);
	sim_check_eq(sb.bytes_out, STALLED + N_ECHO * ECHOED);
	sim_check_eq(sa.streams_open, 0);
	sim_check_eq(sb.streams_open, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stalled_stream_blocks_nothing_else,
						sim_test_setup, sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
