/*
 * selftest.c: the cortex-m4 board's self-test image.
 *
 * Two tether nodes live in this one program on the in-memory port, driven by
 * the simulation driver the host's sim tests use (tests/sim/sim.c): "a"
 * listens and exports the service "echo", whose target is an echo server run
 * here; "b" dials a and forwards a local listener to a's echo. The driver
 * makes a CA and both nodes' certificates with pki/pki.c and both configs in
 * code (no JSON, no files) and runs the nodes on the virtual clock; the test
 * pushes SELFTEST_BYTES through b's forward and checks that the same bytes
 * come back. Both sessions must be mutually authenticated TLS 1.3; no
 * handshake may fail; both nodes must shut down gracefully; nothing may call
 * the C library's allocator.
 *
 * The verdict is the exit status (board_exit): 0 pass, else the stage that
 * failed: 1 set-up, 2 handshake, 3 transfer, 4 shutdown (5: a CPU fault).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/version.h>

#include "boards/cortex-m4/board_io.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_app.h"

#ifndef SELFTEST_BYTES
#define SELFTEST_BYTES (64u * 1024u)
#endif
#define STAGE_MS 60000u /* virtual time a stage may take */

enum {
	FAIL_SETUP = 1,
	FAIL_HANDSHAKE,
	FAIL_TRANSFER,
	FAIL_SHUTDOWN
};

#define ADDR_ECHO "10.0.0.1:7"
#define ADDR_FWD "10.0.0.2:9000"

static struct sim_server echo;
static struct sim_conn cli;
static int a, b;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	board_write(buf, (size_t)n);
}

static void fail(int code, const char *why)
{
	say("selftest: FAIL (%s; %s)", why, sim_err);
	board_exit(code);
}

static void stage(bool (*done)(void *), void *ctx, int code, const char *what)
{
	if (sim_run_until(done, ctx, sim_now() + STAGE_MS) != 0)
		fail(code, what);
}

static bool both_up(void *ctx)
{
	(void)ctx;
	return sim_count(0, a, "session_up", NULL) > 0 && sim_count(0, b, "session_up", NULL) > 0;
}

static bool transfer_done(void *ctx)
{
	(void)ctx;
	return sim_conn_ended(&cli) && sim_count(0, -1, "stream_close", NULL) == 2;
}

static bool node_done(void *ctx)
{
	return sim_node((unsigned)(uintptr_t)ctx)->state == SIM_DONE;
}

/* mbedTLS heap in use now, allocator headers included (0 without MBEDTLS_MEMORY_DEBUG). */
static size_t heap_now(void)
{
	size_t used = 0, blocks = 0;

#if defined(MBEDTLS_MEMORY_DEBUG)
	mbedtls_memory_buffer_alloc_cur_get(&used, &blocks);
#endif
	return used + blocks * 8 * sizeof(void *);
}

static bool session_up_ok(int node, const char *peer_uri)
{
	unsigned from = 0;
	const struct sim_line *l = sim_find(&from, node, "session_up", NULL);
	char v[64];

	return l != NULL && strcmp(sim_field(l, "tls", v, sizeof(v)), "1.3") == 0 &&
	       strcmp(sim_field(l, "id", v, sizeof(v)), peer_uri) == 0;
}

int main(void)
{
	struct tether_stats st;
	size_t heap_len, heap_started, heap_up;
	char suite[48];
	unsigned from = 0;

	say("selftest: tether on board %s, mbedTLS %s, %u KiB through a forward", TETHER_BOARD_NAME,
	    MBEDTLS_VERSION_STRING, SELFTEST_BYTES / 1024u);
	if (sim_reset(0) != 0)
		fail(FAIL_SETUP, "world");
	sim_set_echo(board_write);
	sim_echo_pair(&a, &b, ADDR_ECHO, ADDR_FWD);
	/* All that is left after the node regions is mbedTLS's heap. */
	heap_len = sim_pool_free() - sim_node_mem(a) - sim_node_mem(b);
	if (heap_len < tether_tls_heap_size(sim_cfg(a)) + tether_tls_heap_size(sim_cfg(b))) {
		say("selftest: the pool has %u bytes free; the nodes need %u + %u and the TLS heap "
		    "%u",
		    (unsigned)sim_pool_free(), (unsigned)sim_node_mem(a), (unsigned)sim_node_mem(b),
		    (unsigned)(tether_tls_heap_size(sim_cfg(a)) +
			       tether_tls_heap_size(sim_cfg(b))));
		fail(FAIL_SETUP, "pool too small");
	}
	if (sim_crypto(heap_len) != 0 || sim_server_open(&echo, ADDR_ECHO, SIM_ECHO, 0, 0) != 0)
		fail(FAIL_SETUP, "set-up");
	sim_app_clear();
	sim_app_server(&echo);
	sim_set_app(sim_app_run, NULL);
	if (sim_start(a) != 0 || sim_start(b) != 0)
		fail(FAIL_SETUP, "node start");
	say("selftest: CA and node certificates made (ECDSA P-256); %s, %s", sim_node(a)->uri,
	    sim_node(b)->uri);
#if defined(MBEDTLS_MEMORY_DEBUG)
	mbedtls_memory_buffer_alloc_max_reset();
#endif

	heap_started = heap_now();
	stage(both_up, NULL, FAIL_HANDSHAKE, "handshake");
	heap_up = heap_now();
	if (!session_up_ok(a, sim_node(b)->uri) || !session_up_ok(b, sim_node(a)->uri) ||
	    sim_count(0, -1, "handshake_fail", NULL) != 0)
		fail(FAIL_HANDSHAKE, "session not TLS 1.3 with the expected peer identity");
	sim_field(sim_find(&from, b, "session_up", NULL), "suite", suite, sizeof(suite));
	say("selftest: mutual TLS 1.3 session up (%s) after %lu virtual ms", suite,
	    (unsigned long)sim_now());

	if (sim_client_open(&cli, ADDR_FWD, SELFTEST_BYTES, 0x2545f491u, 0x2545f491u) != 0)
		fail(FAIL_TRANSFER, "connect to the forward");
	sim_app_conn(&cli);
	stage(transfer_done, NULL, FAIL_TRANSFER, "transfer");
	say("selftest: sent %lu bytes, received %lu back, %s", (unsigned long)cli.sent,
	    (unsigned long)cli.received, cli.bad ? "DIFFERENT" : "identical");
	if (cli.reset || cli.bad || cli.sent != SELFTEST_BYTES || cli.received != cli.sent)
		fail(FAIL_TRANSFER, "echoed data differs");
	if (sim_count(0, -1, "stream_close", "reason=done") != 2)
		fail(FAIL_TRANSFER, "a stream did not end cleanly");

	tether_node_stats(sim_node(a)->node, &st);
	/* The dialer leaves first (GOAWAY, drain), then the listener. */
	from = sim_mark();
	sim_shutdown(b, 2000);
	stage(node_done, (void *)(uintptr_t)b, FAIL_SHUTDOWN, "shutdown of b");
	sim_shutdown(a, 2000);
	stage(node_done, (void *)(uintptr_t)a, FAIL_SHUTDOWN, "shutdown of a");
	if (sim_count(from, -1, "session_down", NULL) != 2 ||
	    sim_count(from, b, "session_down", "reason=\"shutting down\"") != 1 ||
	    sim_count(from, a, "session_down",
		      "reason=\"goaway from peer: normal: shutting down\"") != 1)
		fail(FAIL_SHUTDOWN, "a session ended for another reason than the shutdown");

	say("selftest: memory: node regions a %u + b %u bytes; mbedTLS heap %u bytes: %u in use "
	    "with both nodes started, %u with the session up, peak %u",
	    (unsigned)sim_node_mem(a), (unsigned)sim_node_mem(b), (unsigned)heap_len,
	    (unsigned)heap_started, (unsigned)heap_up, (unsigned)st.heap_peak);
	/* Both nodes share one mbedTLS heap: the per-session figures in their logs overlap. */
	say("selftest: memory: one established session per node: %u bytes of heap each, and a "
	    "session slot of %u bytes",
	    (unsigned)((heap_up - heap_started) / 2), (unsigned)st.session_struct);
	say("selftest: stack peak %u of %u bytes; C library heap calls: %lu",
	    (unsigned)board_stack_peak(), (unsigned)board_stack_size(), board_c_heap_calls());
	if (board_c_heap_calls() != 0)
		fail(FAIL_SHUTDOWN, "something called the C library's allocator");
	say("selftest: PASS (%u log lines, %lu virtual ms)", sim_mark(), (unsigned long)sim_now());
	sim_end();
	board_exit(0);
}
