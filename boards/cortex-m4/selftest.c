/*
 * selftest.c: the cortex-m4 board's self-test image.
 *
 * Two tether nodes live in this one program, on the in-memory port
 * (port/mem): "a" listens and exports the service "echo", whose target is an
 * echo server run here; "b" dials a and forwards a local listener to a's echo.
 * The test makes a CA and both nodes' certificates with core/pki.c, builds
 * both configs in code (no JSON, no files), runs the nodes step by step on
 * the virtual clock, then pushes SELFTEST_BYTES through b's forward and
 * checks that the same bytes (SHA-256) come back. Both sessions must be
 * mutually authenticated TLS 1.3; no handshake may fail; both nodes must shut
 * down gracefully; nothing may call the C library's allocator.
 *
 * The verdict is the exit status (board_exit): 0 pass, else the stage that
 * failed: 1 set-up, 2 handshake, 3 transfer, 4 shutdown (5: a CPU fault).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "boards/cortex-m4/board_io.h"
#include "config/config.h"
#include "core/log.h"
#include "core/node.h"
#include "pki/pki.h"
#include "port/mem/port_mem.h"

#ifndef SELFTEST_BYTES
#define SELFTEST_BYTES (64u * 1024u)
#endif
/*
 * Node regions (tether_node_mem_size(), about 28 KB each with this board's
 * limits) and the mbedTLS heap (tether_tls_heap_size() per node, from the
 * board's TETHER_HEAP_* knobs), carved from one static pool.
 */
#ifndef SELFTEST_POOL
#define SELFTEST_POOL (140u * 1024u)
#endif
/* Virtual time and loop rounds a stage may take before it counts as stuck. */
#define STAGE_MS 60000u
#define STAGE_ROUNDS 200000ul

enum {
	FAIL_SETUP = 1,
	FAIL_HANDSHAKE,
	FAIL_TRANSFER,
	FAIL_SHUTDOWN
};

#define ADDR_A "10.0.0.1:7443"
#define ADDR_ECHO "10.0.0.1:7"
#define ADDR_FWD "10.0.0.2:9000"
#define URI_A "spiffe://selftest.tether/a"
#define URI_B "spiffe://selftest.tether/b"

/* What the log sink saw, per node (0 = a, 1 = b). */
struct seen {
	int session_up;
	int tls13;
	int id_ok;
	int handshake_fail;
	int stream_done;
	int stream_bad;
	int session_down_bad; /* ended for another reason than the graceful shutdown */
	char suite[48];
};

static struct seen seen[2];
static unsigned long log_lines;

static unsigned char pool[SELFTEST_POOL] __attribute__((aligned(16)));
static struct tether_config cfg[2];
static struct port *port_node[2], *port_app;
static struct tether_node *node[2];
static int node_done[2];

/* Certificates and keys, made at run time; the port's file table borrows them. */
static unsigned char ca_pem[1024], crt_pem[2][1024], key_pem[2][PKI_KEY_PEM_MAX];

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
	say("selftest: FAIL (%s)", why);
	board_exit(code);
}

static void log_sink(void *ctx, struct port *p, const char *line, size_t len)
{
	char buf[600], v[64];
	const char *label = port_mem_label(p);
	struct seen *s = NULL;
	size_t n;

	(void)ctx;
	log_lines++;
	n = (size_t)snprintf(buf, sizeof(buf), "[%s] ", label[0] != '\0' ? label : "-");
	if (len > sizeof(buf) - n - 2)
		len = sizeof(buf) - n - 2;
	memcpy(buf + n, line, len);
	n += len;
	buf[n] = '\0';
	board_write(buf, n);
	board_write("\n", 1);

	if (p == port_node[0])
		s = &seen[0];
	else if (p == port_node[1])
		s = &seen[1];
	if (s == NULL)
		return;
	if (strstr(buf, " event=session_up ") != NULL) {
		s->session_up++;
		s->tls13 = strcmp(log_field(buf, "tls", v, sizeof(v)), "1.3") == 0;
		s->id_ok = strcmp(log_field(buf, "id", v, sizeof(v)),
				  s == &seen[0] ? URI_B : URI_A) == 0;
		log_field(buf, "suite", s->suite, sizeof(s->suite));
	} else if (strstr(buf, " event=handshake_fail ") != NULL) {
		s->handshake_fail++;
	} else if (strstr(buf, " event=session_down ") != NULL) {
		if (strstr(buf, " reason=\"shutting down\"") == NULL &&
		    strstr(buf, " reason=\"goaway from peer: normal: shutting down\"") == NULL)
			s->session_down_bad++;
	} else if (strstr(buf, " event=stream_close ") != NULL) {
		if (strstr(buf, " reason=done") != NULL)
			s->stream_done++;
		else
			s->stream_bad++;
	}
}

/* ---- PKI: a CA and one certificate per node, by tether's own code ---- */

static int make_pki(void)
{
	static const char *const names[2] = {"a", "b"};
	static const char *const uris[2] = {URI_A, URI_B};
	mbedtls_pk_context ca_key, key;
	mbedtls_x509_crt ca;
	struct pki_cert_spec spec;
	int64_t now = port_mem_wall_s();
	int i, ret = -1;

	mbedtls_pk_init(&ca_key);
	mbedtls_x509_crt_init(&ca);
	memset(&spec, 0, sizeof(spec));
	spec.cn = "tether selftest CA";
	spec.is_ca = 1;
	spec.not_before = now - 3600;
	spec.not_after = now + 30 * 86400;
	if (pki_key_generate(&ca_key) != 0 ||
	    pki_cert_write_pem(&spec, &ca_key, NULL, &ca_key, ca_pem, sizeof(ca_pem)) != 0 ||
	    mbedtls_x509_crt_parse(&ca, ca_pem, strlen((char *)ca_pem) + 1) != 0)
		goto out;
	for (i = 0; i < 2; i++) {
		mbedtls_pk_init(&key);
		spec.cn = names[i];
		spec.uri_san = uris[i];
		spec.is_ca = 0;
		ret = pki_key_generate(&key);
		if (ret == 0)
			ret = pki_key_write_pem(&key, key_pem[i], sizeof(key_pem[i]));
		if (ret == 0)
			ret = pki_cert_write_pem(&spec, &key, &ca, &ca_key, crt_pem[i],
						 sizeof(crt_pem[i]));
		mbedtls_pk_free(&key);
		if (ret != 0)
			goto out;
	}
	ret = 0;
	if (port_mem_file_add("/ca.crt", ca_pem, strlen((char *)ca_pem), 0644) != 0 ||
	    port_mem_file_add("/a.crt", crt_pem[0], strlen((char *)crt_pem[0]), 0644) != 0 ||
	    port_mem_file_add("/a.key", key_pem[0], strlen((char *)key_pem[0]), 0600) != 0 ||
	    port_mem_file_add("/b.crt", crt_pem[1], strlen((char *)crt_pem[1]), 0644) != 0 ||
	    port_mem_file_add("/b.key", key_pem[1], strlen((char *)key_pem[1]), 0600) != 0)
		ret = -1;
out:
	mbedtls_pk_free(&ca_key);
	mbedtls_x509_crt_free(&ca);
	return ret;
}

/* ---- configs, in code (what config_parse() would make of two small JSON files) ---- */

static void make_configs(void)
{
	struct tether_config *a = &cfg[0], *b = &cfg[1];

	config_defaults(a);
	snprintf(a->node, sizeof(a->node), "a");
	snprintf(a->identity.cert, sizeof(a->identity.cert), "/a.crt");
	snprintf(a->identity.key, sizeof(a->identity.key), "/a.key");
	snprintf(a->identity.ca, sizeof(a->identity.ca), "/ca.crt");
	snprintf(a->listen, sizeof(a->listen), ADDR_A);
	a->n_peers = 1;
	snprintf(a->peers[0].name, sizeof(a->peers[0].name), "b");
	snprintf(a->peers[0].id, sizeof(a->peers[0].id), URI_B);
	a->n_services = 1;
	snprintf(a->services[0].name, sizeof(a->services[0].name), "echo");
	snprintf(a->services[0].target, sizeof(a->services[0].target), ADDR_ECHO);
	a->services[0].n_allow = 1;
	a->services[0].allow[0] = 0;

	config_defaults(b);
	snprintf(b->node, sizeof(b->node), "b");
	snprintf(b->identity.cert, sizeof(b->identity.cert), "/b.crt");
	snprintf(b->identity.key, sizeof(b->identity.key), "/b.key");
	snprintf(b->identity.ca, sizeof(b->identity.ca), "/ca.crt");
	b->n_peers = 1;
	snprintf(b->peers[0].name, sizeof(b->peers[0].name), "a");
	snprintf(b->peers[0].connect, sizeof(b->peers[0].connect), ADDR_A);
	snprintf(b->peers[0].id, sizeof(b->peers[0].id), URI_A);
	b->n_forwards = 1;
	snprintf(b->forwards[0].listen, sizeof(b->forwards[0].listen), ADDR_FWD);
	b->forwards[0].peer = 0;
	snprintf(b->forwards[0].service, sizeof(b->forwards[0].service), "echo");
}

/* ---- the program's own endpoints: an echo server and a client ---- */

struct app {
	int echo_l, echo_h, cli_h;
	int echo_eof, echo_shut, cli_connected, cli_shut, cli_eof;
	size_t echo_len, echo_off;
	unsigned char echo_buf[1024];
	size_t sent, received;
	uint32_t x; /* xorshift32 state of the data sent */
	mbedtls_sha256_context h_sent, h_got;
};

static struct app app;

static void app_watch(void)
{
	if (app.echo_h >= 0)
		port_watch(port_app, app.echo_h,
			   (app.echo_len == 0 && !app.echo_eof ? PORT_READ : 0) |
				   (app.echo_len > 0 ? PORT_WRITE : 0),
			   &app.echo_h);
	if (app.cli_h >= 0)
		port_watch(port_app, app.cli_h,
			   (app.cli_eof ? 0 : PORT_READ) |
				   (!app.cli_connected || !app.cli_shut ? PORT_WRITE : 0),
			   &app.cli_h);
}

static int echo_step(void)
{
	long r;
	int h;

	if (app.echo_h < 0 && port_tcp_accept(port_app, app.echo_l, &h, NULL, 0) == 1) {
		app.echo_h = h;
	}
	if (app.echo_h < 0)
		return 0;
	if (app.echo_len == 0 && !app.echo_eof) {
		r = port_tcp_recv(port_app, app.echo_h, app.echo_buf, sizeof(app.echo_buf));
		if (r == TETHER_ERR_CLOSED)
			app.echo_eof = 1;
		else if (r < 0)
			return -1;
		else if (r > 0) {
			app.echo_len = (size_t)r;
			app.echo_off = 0;
		}
	}
	while (app.echo_len > 0) {
		r = port_tcp_send(port_app, app.echo_h, app.echo_buf + app.echo_off, app.echo_len);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		app.echo_off += (size_t)r;
		app.echo_len -= (size_t)r;
	}
	if (app.echo_eof && app.echo_len == 0 && !app.echo_shut) {
		port_tcp_shutdown(port_app, app.echo_h);
		app.echo_shut = 1;
	}
	return 0;
}

static int client_step(void)
{
	unsigned char buf[512];
	long r;

	if (app.cli_h < 0)
		return 0;
	if (!app.cli_connected) {
		if (port_tcp_connect_result(port_app, app.cli_h) != 0)
			return -1;
		app.cli_connected = 1;
	}
	while (app.sent < SELFTEST_BYTES) {
		size_t i, n = SELFTEST_BYTES - app.sent;
		uint32_t x = app.x;

		if (n > sizeof(buf))
			n = sizeof(buf);
		for (i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (unsigned char)x;
		}
		r = port_tcp_send(port_app, app.cli_h, buf, n);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		/* Keep the generator in step with what was actually taken. */
		for (i = 0, x = app.x; i < (size_t)r; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		app.x = x;
		mbedtls_sha256_update(&app.h_sent, buf, (size_t)r);
		app.sent += (size_t)r;
	}
	if (app.sent == SELFTEST_BYTES && !app.cli_shut) {
		port_tcp_shutdown(port_app, app.cli_h);
		app.cli_shut = 1;
	}
	while (!app.cli_eof) {
		r = port_tcp_recv(port_app, app.cli_h, buf, sizeof(buf));
		if (r == TETHER_ERR_CLOSED) {
			app.cli_eof = 1;
			break;
		}
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		mbedtls_sha256_update(&app.h_got, buf, (size_t)r);
		app.received += (size_t)r;
	}
	return 0;
}

static int app_step(void)
{
	struct port_event ev[4];

	if (port_wait(port_app, -1, ev, 4) < 0 || echo_step() < 0 || client_step() < 0)
		return -1;
	app_watch();
	return 0;
}

/* ---- driving the world ---- */

static int both_up(void)
{
	return seen[0].session_up > 0 && seen[1].session_up > 0;
}

static int transfer_done(void)
{
	return app.cli_eof && app.echo_shut;
}

static int streams_closed(void)
{
	return seen[0].stream_done + seen[0].stream_bad > 0 &&
	       seen[1].stream_done + seen[1].stream_bad > 0;
}

static int a_done(void)
{
	return node_done[0];
}

static int b_done(void)
{
	return node_done[1];
}

static void run_until(int (*done)(void), int code, const char *what)
{
	uint64_t deadline = port_mem_now_ms() + STAGE_MS;
	unsigned long rounds = 0;
	int i;

	while (!done()) {
		if (port_mem_now_ms() > deadline || ++rounds > STAGE_ROUNDS) {
			say("selftest: %s: no progress after %lu rounds, %lu virtual ms", what,
			    rounds, (unsigned long)port_mem_now_ms());
			fail(code, what);
		}
		for (i = 0; i < 2; i++) {
			int r;

			if (node_done[i])
				continue;
			r = tether_node_step(node[i], -1);
			if (r < 0)
				fail(code, "a node failed");
			if (r == 0) {
				/* Shut down: it takes no further part in the world. */
				tether_node_free(node[i]);
				port_close(port_node[i]);
				port_node[i] = NULL;
				node_done[i] = 1;
			}
		}
		if (app_step() != 0)
			fail(code, "the application's connections failed");
	}
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

static void hex32(const unsigned char *h, char *out)
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

int main(void)
{
	static const char *const labels[2] = {"a", "b"};
	unsigned char sum_sent[32], sum_got[32];
	char hs[65], hg[65], err[160];
	struct tether_stats st[2];
	size_t mem[2], off = 0, heap_len, heap_started, heap_up;
	uint64_t t_up;
	int i;

	port_mem_set_log(log_sink, NULL);
	say("selftest: tether on board %s, mbedTLS %s, %u KiB through a forward", TETHER_BOARD_NAME,
	    MBEDTLS_VERSION_STRING, SELFTEST_BYTES / 1024u);

	make_configs();
	for (i = 0; i < 2; i++) {
		mem[i] = (tether_node_mem_size(&cfg[i]) + 15u) & ~(size_t)15u;
		off += mem[i];
	}
	heap_len = tether_tls_heap_size(&cfg[0]) + tether_tls_heap_size(&cfg[1]);
	if (off + heap_len > sizeof(pool)) {
		say("selftest: the pool holds %u bytes; the nodes need %u and the TLS heap %u",
		    (unsigned)sizeof(pool), (unsigned)off, (unsigned)heap_len);
		fail(FAIL_SETUP, "pool too small");
	}
	/* All that is left after the node regions is mbedTLS's heap (at least heap_len). */
	heap_len = sizeof(pool) - off;
	mbedtls_memory_buffer_alloc_init(pool + off, heap_len);
	if (psa_crypto_init() != PSA_SUCCESS)
		fail(FAIL_SETUP, "psa_crypto_init");
	if (make_pki() != 0)
		fail(FAIL_SETUP, "certificate generation");
	say("selftest: CA and node certificates made (ECDSA P-256); %s, %s", URI_A, URI_B);
#if defined(MBEDTLS_MEMORY_DEBUG)
	mbedtls_memory_buffer_alloc_max_reset();
#endif

	if (port_open(&port_app, 8) != 0)
		fail(FAIL_SETUP, "port_open");
	port_mem_set_label(port_app, "app");
	app.echo_h = app.cli_h = -1;
	app.x = 0x2545f491u;
	mbedtls_sha256_init(&app.h_sent);
	mbedtls_sha256_init(&app.h_got);
	mbedtls_sha256_starts(&app.h_sent, 0);
	mbedtls_sha256_starts(&app.h_got, 0);
	if (port_tcp_listen(port_app, ADDR_ECHO, &app.echo_l) != 0)
		fail(FAIL_SETUP, "echo listener");
	port_watch(port_app, app.echo_l, PORT_READ, &app.echo_l);

	off = 0;
	for (i = 0; i < 2; i++) {
		const struct tether_config *c = &cfg[i];

		if (port_open(&port_node[i],
			      c->limits.sessions + 2 * c->limits.streams + c->n_forwards + 8) != 0)
			fail(FAIL_SETUP, "port_open");
		port_mem_set_label(port_node[i], labels[i]);
		if (tether_node_init(&node[i], pool + off, mem[i], c, port_node[i], err,
				     sizeof(err)) != 0 ||
		    tether_node_start(node[i], err, sizeof(err)) != 0) {
			say("selftest: node %s: %s", labels[i], err);
			fail(FAIL_SETUP, "node start");
		}
		off += mem[i];
	}

	heap_started = heap_now();
	run_until(both_up, FAIL_HANDSHAKE, "handshake");
	heap_up = heap_now();
	t_up = port_mem_now_ms();
	for (i = 0; i < 2; i++) {
		if (!seen[i].tls13 || !seen[i].id_ok || seen[i].handshake_fail != 0)
			fail(FAIL_HANDSHAKE, "session not TLS 1.3 with the expected peer identity");
	}
	say("selftest: mutual TLS 1.3 session up (%s) after %lu virtual ms", seen[1].suite,
	    (unsigned long)t_up);

	if (port_tcp_connect(port_app, ADDR_FWD, &app.cli_h) != 0)
		fail(FAIL_TRANSFER, "connect to the forward");
	app_watch();
	run_until(transfer_done, FAIL_TRANSFER, "transfer");
	run_until(streams_closed, FAIL_TRANSFER, "stream close");
	mbedtls_sha256_finish(&app.h_sent, sum_sent);
	mbedtls_sha256_finish(&app.h_got, sum_got);
	hex32(sum_sent, hs);
	hex32(sum_got, hg);
	say("selftest: sent     %u bytes, sha256 %s", (unsigned)app.sent, hs);
	say("selftest: received %u bytes, sha256 %s", (unsigned)app.received, hg);
	if (app.sent != SELFTEST_BYTES || app.received != app.sent || strcmp(hs, hg) != 0)
		fail(FAIL_TRANSFER, "echoed data differs");
	if (seen[0].stream_bad != 0 || seen[1].stream_bad != 0)
		fail(FAIL_TRANSFER, "a stream did not end cleanly");
	port_tcp_close(port_app, app.cli_h, 0);
	port_tcp_close(port_app, app.echo_h, 0);
	app.cli_h = app.echo_h = -1;

	for (i = 0; i < 2; i++)
		tether_node_stats(node[i], &st[i]);
	/* The dialer leaves first (GOAWAY, drain), then the listener. */
	tether_node_shutdown(node[1], 2000);
	run_until(b_done, FAIL_SHUTDOWN, "shutdown of b");
	tether_node_shutdown(node[0], 2000);
	run_until(a_done, FAIL_SHUTDOWN, "shutdown of a");
	port_close(port_app);
	if (seen[0].session_down_bad != 0 || seen[1].session_down_bad != 0)
		fail(FAIL_SHUTDOWN, "a session ended for another reason than the shutdown");

	say("selftest: memory: node regions a %u + b %u bytes; mbedTLS heap %u bytes: %u in use "
	    "with both nodes started, %u with the session up, peak %u",
	    (unsigned)mem[0], (unsigned)mem[1], (unsigned)heap_len, (unsigned)heap_started,
	    (unsigned)heap_up, (unsigned)st[0].heap_peak);
	/* Both nodes share one mbedTLS heap: the per-session figures in their logs overlap. */
	say("selftest: memory: one established session per node: %u bytes of heap each, and a "
	    "session slot of %u bytes",
	    (unsigned)((heap_up - heap_started) / 2), (unsigned)st[0].session_struct);
	say("selftest: stack peak %u of %u bytes; C library heap calls: %lu",
	    (unsigned)board_stack_peak(), (unsigned)board_stack_size(), board_c_heap_calls());
	if (board_c_heap_calls() != 0)
		fail(FAIL_SHUTDOWN, "something called the C library's allocator");
	mbedtls_psa_crypto_free();
	mbedtls_memory_buffer_alloc_free();
	mbedtls_platform_zeroize(pool, sizeof(pool));
	say("selftest: PASS (%lu log lines, %lu virtual ms)", log_lines,
	    (unsigned long)port_mem_now_ms());
	board_exit(0);
}
