/*
 * fuzz_endpoint.c: libFuzzer target for the metrics endpoint as the node
 * serves it (core/metrics.c over core/http.c): a real node on the simulation
 * port (tests/sim), its metrics listener, and clients that send the input.
 *
 * The first byte says how many clients connect at once (1 + bits 0-2, up to
 * 5, one more than the node's request slots, so newcomers evict) and whether
 * they half-close after sending (bit 3). The rest is split: the last quarter
 * is a script of chunk sizes, the remainder is the request bytes, which each
 * client sends in turn, a chunk at a time, the node stepping between chunks.
 * Then the world runs until every client is closed or past the node's
 * request deadline.
 *
 * Checked besides "no crash, no sanitizer report": the node never fails a
 * step; whatever answer a client gets is one whole HTTP response (status
 * line, headers ending in an empty line, a Content-Length equal to the body
 * that follows, none for HEAD) whose status is the verdict http_parse()
 * gives the request bytes (or 500 when the metrics do not fit); a single
 * client whose request was complete always gets its answer; afterwards every
 * request slot of the node is free again. The node's answer closes its side
 * (FIN); a client closes its own when it sees that, as curl does.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/http.h"
#include "core/node_impl.h"
#include "port/mem/port_mem.h"
#include "tests/fuzz/fuzz.h"
#include "tests/sim/sim.h"

#define ADDR "10.0.0.1:9100"
#define CLIENTS 5
#define ANSWER_MAX (64u * 1024u)

struct client {
	int h;
	bool open;
	bool done_sending;
	size_t sent;
	size_t got;
	uint8_t answer[ANSWER_MAX];
};

static struct client cl[CLIENTS];
static int node = -1;
static const uint8_t *script;
static size_t script_len, script_off;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(sim_begin(1) == 0);
	node = sim_add("a", false);
	CHECK(node >= 0);
	snprintf(sim_cfg((unsigned)node)->metrics, sizeof(sim_cfg(0)->metrics), "%s", ADDR);
	CHECK(sim_start((unsigned)node) == 0);
	return 0;
}

static uint8_t next_byte(void)
{
	return script_off < script_len ? script[script_off++] : 0;
}

/* Read what the node sent c; at its end (or a reset) c is closed. */
static void take(struct client *c)
{
	struct port *app = sim_app_port();

	while (c->open) {
		uint8_t buf[4096];
		long r = port_tcp_recv(app, c->h, buf, sizeof(buf));

		if (r == 0)
			return;
		if (r < 0) {
			port_tcp_close(app, c->h, 0);
			c->open = false;
			return;
		}
		CHECK(c->got + (size_t)r <= ANSWER_MAX);
		memcpy(c->answer + c->got, buf, (size_t)r);
		c->got += (size_t)r;
	}
}

/* The answer c got must be one whole response to req (len bytes). */
static void judge(const struct client *c, const uint8_t *req, size_t len, bool alone)
{
	enum http_verdict v = http_parse((const char *)req, len, TETHER_METRICS_REQUEST);
	const char *a = (const char *)c->answer, *end, *cl_hdr;
	char want[64];
	unsigned long body;

	if (len > TETHER_METRICS_REQUEST)
		v = http_parse((const char *)req, TETHER_METRICS_REQUEST, TETHER_METRICS_REQUEST);
	if (c->got == 0) {
		/* No answer: only to a request never complete, or one evicted among several. */
		CHECK(v == HTTP_MORE || !alone);
		return;
	}
	CHECK(v != HTTP_MORE);
	snprintf(want, sizeof(want), "HTTP/1.1 %s\r\n", http_status(v));
	CHECK(c->got < ANSWER_MAX);
	((struct client *)c)->answer[c->got] = '\0';
	CHECK(strncmp(a, want, strlen(want)) == 0 ||
	      strncmp(a, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
	end = strstr(a, "\r\n\r\n");
	CHECK(end != NULL);
	end += 4;
	cl_hdr = strstr(a, "\r\nContent-Length: ");
	CHECK(cl_hdr != NULL && cl_hdr < end);
	body = strtoul(cl_hdr + 18, NULL, 10);
	if (v == HTTP_OK_HEAD)
		CHECK((size_t)(end - a) == c->got);
	else
		CHECK((size_t)(end - a) + body == c->got);
}

static void step(void)
{
	CHECK(sim_run_for(1 + next_byte() % 8u) == 0);
	for (unsigned i = 0; i < CLIENTS; i++)
		take(&cl[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct port *app = sim_app_port();
	struct tether_node *n;
	unsigned k, i, busy, round;
	bool half;
	uint64_t until;

	if (size < 1 || size > 4096)
		return 0;
	k = 1 + (data[0] & 7u) % CLIENTS;
	half = (data[0] & 8u) != 0;
	script = data + 1;
	script_len = (size - 1) / 4;
	script_off = 0;
	data += 1 + script_len;
	size -= 1 + script_len;

	memset(cl, 0, sizeof(cl));
	for (i = 0; i < k; i++) {
		CHECK(port_tcp_connect(app, ADDR, &cl[i].h) == 0);
		cl[i].open = true;
	}
	step();
	/* Each client sends the request a chunk at a time, in turn. */
	for (busy = k, round = 0; busy > 0 && round < 4096; round++) {
		busy = 0;
		for (i = 0; i < k; i++) {
			struct client *c = &cl[i];
			size_t chunk = 1 + next_byte() % 128u;
			long r;

			if (!c->open || c->done_sending)
				continue;
			if (chunk > size - c->sent)
				chunk = size - c->sent;
			r = chunk > 0 ? port_tcp_send(app, c->h, data + c->sent, chunk) : 0;
			if (r < 0) {
				c->done_sending =
					true; /* closed by the node: it answered or gave up */
				continue;
			}
			if (r == 0)
				continue; /* its buffer is full: the node reads when it wants */
			c->sent += (size_t)r;
			if (c->sent == size) {
				c->done_sending = true;
				if (half)
					(void)port_tcp_shutdown(app, c->h);
			}
			busy++;
		}
		step();
	}
	/* Run past the node's deadline: every request is answered or refused by then. */
	until = sim_now() + TETHER_METRICS_DEADLINE_MS + 100;
	while (sim_now() < until) {
		bool any = false;

		step();
		for (i = 0; i < k; i++)
			any = any || cl[i].open;
		if (!any)
			break;
	}
	for (i = 0; i < k; i++) {
		judge(&cl[i], data, cl[i].sent, k == 1);
		if (cl[i].open)
			port_tcp_close(app, cl[i].h, 1);
	}
	/* Let the node see the closes and end its side; then no slot may be left. */
	CHECK(sim_run_for(TETHER_METRICS_DEADLINE_MS + 100) == 0);
	n = sim_node((unsigned)node)->node;
	CHECK(n != NULL && n->mconns != NULL);
	for (i = 0; i < TETHER_METRICS_CONNS; i++)
		CHECK(n->mconns[i].state == MC_FREE);
	return 0;
}
