/*
 * Sim: a slow local reader (docs/PROTOCOL.md section 6). b's forward has a
 * client that reads 1000 bytes and stops; behind a, the service's source
 * would write N bytes. Once the windows and buffers are full nothing moves:
 * the source has written exactly WINDOW + PORT_MEM_SOCK_BUF (a's end of its
 * connection holds one buffer, b's ring and the client's buffer the window:
 * b has consumed less than half a window, so it returned no credit), and
 * both nodes' status (SIGUSR1) shows the same bytes, one stream and the same
 * mbedTLS heap a minute later. Then the client reads PACE bytes every PERIOD
 * ms: it gets them in the very millisecond it asks (the pipeline stays
 * primed), the source stays exactly WINDOW + 2 * PORT_MEM_SOCK_BUF ahead of
 * it less the credit b has not returned yet (one WINDOW per half window
 * consumed), both nodes agree on every byte and no memory is taken.
 * Reading at full speed at last, the client gets the rest byte-exact in
 * that millisecond and the stream ends as done on both sides.
 */
#include "tests/sim/sim_test.h"

#define SRC "10.0.9.1:19"
#define FWD "10.0.9.2:9000"
#define WINDOW 16384
#define N (64u * WINDOW)
#define SEED 5
#define FIRST 1000 /* what the client reads before it stops */
#define PERIOD 10
#define PACE 2048
#define TICKS 100

static int a, b;
static struct sim_server src;
static struct sim_conn cli;

static bool both_up(void *ctx)
{
	(void)ctx;
	return sim_count(0, a, "session_up", NULL) == 1 && sim_count(0, b, "session_up", NULL) == 1;
}

static bool line_since(void *ctx)
{
	const unsigned *m = ctx;

	return sim_count(m[0], (int)m[1], "status", NULL) > 0;
}

static bool read_to_cap(void *ctx)
{
	const struct sim_conn *c = ctx;

	return c->received == c->rx_cap;
}

static bool eof(void *ctx)
{
	return ((const struct sim_conn *)ctx)->eof;
}

static bool streams_done(void *ctx)
{
	(void)ctx;
	return sim_count(0, -1, "stream_close", NULL) == 2 && sim_conn_ended(&src.c[0]);
}

/* What node i's status says (SIGUSR1), in the millisecond it is asked. */
struct status {
	uint64_t t, streams, streams_high, bytes_in, bytes_out, heap_used, mem_node;
};

static uint64_t field(const struct sim_line *l, const char *key)
{
	char v[32];

	sim_field(l, key, v, sizeof(v));
	sim_check(v[0] != '\0');
	return strtoull(v, NULL, 10);
}

static void status(int i, struct status *st)
{
	unsigned m[2] = {sim_mark(), (unsigned)i}, from = m[0];
	uint64_t t = sim_now();
	const struct sim_line *l;

	sim_signal((unsigned)i, PORT_SIG_USR1);
	sim_check(sim_run_until(line_since, m, t + 1) == 0);
	l = sim_expect(&from, i, "status", NULL);
	sim_check_eq(l->t_ms, t);
	st->t = l->t_ms;
	st->streams = field(l, "streams");
	st->streams_high = field(l, "streams_high");
	st->bytes_in = field(l, "bytes_in");
	st->bytes_out = field(l, "bytes_out");
	st->heap_used = field(l, "heap_used");
	st->mem_node = field(l, "mem_node");
}

static void stats(int i, struct tether_stats *st)
{
	tether_node_stats(sim_node((unsigned)i)->node, st);
}

static void test_slow_reader(void **state)
{
	struct status a0, b0, a1, b1;
	struct tether_stats sa, sb;
	uint64_t t, cap = FIRST;
	uint64_t owed = PORT_MEM_SOCK_BUF + FIRST; /* consumed by b, not credited */
	unsigned k;

	(void)state;
	a = sim_add("a", true);
	b = sim_add("b", false);
	sim_peer(a, b, false);
	sim_peer(b, a, true);
	sim_service(a, "src", SRC, b);
	sim_forward(b, FWD, a, "src");
	sim_cfg(a)->limits.stream_window = WINDOW;
	sim_cfg(b)->limits.stream_window = WINDOW;
	sim_check(sim_server_open(&src, SRC, SIM_SOURCE, SEED, N) == 0);
	sim_app_server(&src);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_until(both_up, NULL, 1000) == 0);

	/* The client reads FIRST bytes and stops; it keeps its write side open. */
	sim_check(sim_client_open(&cli, FWD, 0, 0, SEED) == 0);
	cli.no_shut = true;
	cli.rx_cap = FIRST;
	sim_app_conn(&cli);
	sim_check(sim_run_until(NULL, NULL, 100) == 0);
	sim_check_eq(cli.received, FIRST);
	sim_check_eq(src.n, 1);
	sim_check_eq(src.c[0].sent, WINDOW + PORT_MEM_SOCK_BUF);

	/* Both status reports, now and a minute later: the same bytes, nothing grown. */
	status(a, &a0);
	status(b, &b0);
	sim_check(sim_run_until(NULL, NULL, 60100) == 0);
	status(a, &a1);
	status(b, &b1);
	sim_check_eq(src.c[0].sent, WINDOW + PORT_MEM_SOCK_BUF);
	sim_check_eq(cli.received, FIRST);
	sim_check_eq(a0.bytes_out, WINDOW);
	sim_check_eq(b0.bytes_in, WINDOW);
	sim_check_eq(a0.bytes_in, 0);
	sim_check_eq(b0.bytes_out, 0);
	sim_check_eq(a1.bytes_out, a0.bytes_out);
	sim_check_eq(b1.bytes_in, b0.bytes_in);
	sim_check_eq(a1.bytes_in, a0.bytes_in);
	sim_check_eq(b1.bytes_out, b0.bytes_out);
	sim_check_eq(a1.streams, 1);
	sim_check_eq(b1.streams, 1);
	sim_check_eq(a1.heap_used, a0.heap_used);
	sim_check_eq(b1.heap_used, b0.heap_used);
	sim_check_eq(a1.mem_node, a0.mem_node);
	sim_check_eq(b1.mem_node, b0.mem_node);
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);

	/* A slow reader: PACE bytes every PERIOD ms, each in the millisecond it asks. */
	t = sim_now();
	for (k = 1; k <= TICKS; k++) {
		uint64_t ahead;

		sim_check(sim_run_until(NULL, NULL, t + k * PERIOD) == 0);
		sim_check_eq(sim_now(), t + k * PERIOD);
		/* Settled: a buffers nothing beyond its socket, and b has all a sent. */
		stats(a, &sa);
		stats(b, &sb);
		sim_check_eq(src.c[0].sent, sa.bytes_out + PORT_MEM_SOCK_BUF);
		sim_check_eq(sb.bytes_in, sa.bytes_out);
		/*
		 * The source is ahead by both buffers and the window, less what b
		 * consumed and has not returned yet: credit goes back in one
		 * WINDOW per half window consumed, so the lag cycles exactly.
		 */
		ahead = src.c[0].sent - cli.received;
		sim_check_eq(ahead, WINDOW + 2 * PORT_MEM_SOCK_BUF - owed);
		sim_check_eq(sa.streams_high, 1);
		sim_check_eq(sb.streams_high, 1);
		sim_check_eq(sa.heap_used, a0.heap_used);
		sim_check_eq(sa.mem_node, a0.mem_node);
		sim_check_eq(sb.mem_node, b0.mem_node);
		cap += PACE;
		owed += PACE; /* b refills the client's buffer from its ring */
		if (owed >= WINDOW / 2)
			owed = 0;
		sim_conn_read_to(&cli, cap);
		sim_check(sim_run_until(read_to_cap, &cli, t + k * PERIOD + 1) == 0);
		sim_check_eq(sim_now(), t + k * PERIOD);
		sim_check(!cli.bad && !cli.reset);
	}
	sim_check_eq(cli.received, FIRST + TICKS * PACE);
	sim_check(src.c[0].sent < N);

	/* Full speed: the rest arrives byte-exact in the same millisecond. */
	sim_check(sim_run_for(PERIOD) == 0);
	t = sim_now();
	sim_conn_read_to(&cli, 0);
	sim_check(sim_run_until(eof, &cli, t + 1000) == 0);
	sim_check_eq(cli.t_eof, t);
	sim_check(!cli.bad && !cli.reset);
	sim_check_eq(cli.received, N);
	sim_check_eq(src.c[0].sent, N);
	sim_conn_close(&cli, false);
	sim_check(sim_run_until(streams_done, NULL, t + 1000) == 0);
	sim_check(!src.c[0].reset);
	sim_check_eq(sim_count(0, a, "stream_close", "reason=done"), 1);
	sim_check_eq(sim_count(0, b, "stream_close", "reason=done"), 1);
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);
	status(a, &a1);
	status(b, &b1);
	sim_check_eq(a1.t, t);
	sim_check_eq(a1.bytes_out, N);
	sim_check_eq(b1.bytes_in, N);
	sim_check_eq(a1.streams, 0);
	sim_check_eq(b1.streams, 0);
	sim_check_eq(a1.streams_high, 1);
	sim_check_eq(b1.streams_high, 1);
	sim_check_eq(a1.mem_node, a0.mem_node);
	sim_check_eq(b1.mem_node, b0.mem_node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_slow_reader, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
