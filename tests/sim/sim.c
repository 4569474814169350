/*
 * sim.c: tether nodes in one process on port/mem's virtual clock (sim.h).
 */
#include "tests/sim/sim.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/platform_time.h>
#include <mbedtls/platform_util.h>
#include <psa/crypto.h>

#include "base/err.h"
#include "pki/pki_crl.h"
#include "pki/pki_set.h"

#define URI_PREFIX "spiffe://sim.tether/"
#define CA_PATH "/ca.crt"

char sim_err[192];

static unsigned char pool[SIM_POOL] __attribute__((aligned(16)));

static struct {
	struct sim_node nodes[SIM_MAX_NODES];
	unsigned n_nodes;
	size_t pool_used; /* node regions, from the start of the pool */
	size_t heap_len;  /* mbedTLS heap, at the end of the pool; 0: none */
	bool crypto;
	struct port *app;
	sim_app_fn *app_fn;
	void *app_ctx;
	void (*echo)(const char *line, size_t len);
	unsigned n_lines; /* logged since sim_reset(); the newest SIM_LOG_LINES are kept */
	struct sim_line lines[SIM_LOG_LINES];
	bool ca_made;
	struct pki_set_ca ca;
	unsigned char ca_pem[SIM_CERT_MAX]; /* port/mem serves it from here */
} w;

static void fail_say(const char *what, const char *detail)
{
	snprintf(sim_err, sizeof(sim_err), "%s%s%s", what, detail[0] != '\0' ? ": " : "", detail);
}

/* ---- what the world reports: log lines and byte transfers ---- */

static int node_of(const struct port *p)
{
	unsigned i;

	for (i = 0; p != NULL && i < w.n_nodes; i++)
		if (w.nodes[i].port == p)
			return (int)i;
	return -1;
}

static void log_sink(void *ctx, struct port *p, const char *line, size_t len)
{
	struct sim_line *l = &w.lines[w.n_lines % SIM_LOG_LINES];
	int node = node_of(p);

	(void)ctx;
	if (node >= 0 && w.nodes[node].muted)
		return;
	if (len > sizeof(l->text) - 1)
		len = sizeof(l->text) - 1;
	l->t_ms = port_mem_now_ms();
	l->node = node;
	memcpy(l->text, line, len);
	l->text[len] = '\0';
	w.n_lines++;
	if (w.echo != NULL) {
		char buf[SIM_LINE_MAX + 48];
		int n = snprintf(buf, sizeof(buf), "[%lu %s] %s\n", (unsigned long)l->t_ms,
				 node >= 0 ? w.nodes[node].name : "-", l->text);

		if (n > 0)
			w.echo(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	}
}

static void tap(void *ctx, struct port *from, struct port *to, size_t len)
{
	int node = node_of(to);

	(void)ctx;
	(void)from;
	if (node >= 0) {
		w.nodes[node].rx_bytes += len;
		w.nodes[node].t_rx = port_mem_now_ms();
	}
}

/* The node stepping now: mbedTLS reads its wall clock (port_mem_fault_wall). */
static struct port *stepping;

/* mbedTLS's clock (MBEDTLS_PLATFORM_TIME_ALT): the world's virtual wall clock. */
static mbedtls_time_t sim_time(mbedtls_time_t *t)
{
	mbedtls_time_t now =
		(mbedtls_time_t)(stepping != NULL ? port_wall_s(stepping) : port_mem_wall_s());

	if (t != NULL)
		*t = now;
	return now;
}

/* ---- the world ---- */

int sim_reset(uint64_t seed)
{
	if (w.crypto || w.app != NULL)
		sim_end();
	memset(&w, 0, sizeof(w));
	sim_err[0] = '\0';
	port_mem_reset();
	port_mem_seed(seed);
	port_mem_fault_entropy(0);
	port_mem_set_log(log_sink, NULL);
	port_mem_set_tap(tap, NULL);
	pki_set_ca_init(&w.ca);
	if (port_open(&w.app, PORT_MEM_MAX_HANDLES) != 0) {
		fail_say("port_open", "app");
		return -1;
	}
	port_mem_set_label(w.app, "app");
	return 0;
}

int sim_crypto(size_t heap_len)
{
	if (heap_len > sizeof(pool) - w.pool_used) {
		fail_say("sim_crypto", "the heap does not fit the pool");
		return -1;
	}
	w.heap_len = heap_len;
	mbedtls_memory_buffer_alloc_init(pool + sizeof(pool) - heap_len, heap_len);
	mbedtls_platform_set_time(sim_time);
	if (psa_crypto_init() != PSA_SUCCESS) {
		fail_say("psa_crypto_init", "");
		return -1;
	}
	w.crypto = true;
	return 0;
}

int sim_begin(uint64_t seed)
{
	if (sim_reset(seed) != 0)
		return -1;
	return sim_crypto(SIM_HEAP);
}

static void node_stop(struct sim_node *s)
{
	if (s->node != NULL)
		tether_node_free(s->node);
	s->node = NULL;
	if (s->port != NULL)
		port_close(s->port);
	s->port = NULL;
}

void sim_end(void)
{
	unsigned i;

	for (i = 0; i < w.n_nodes; i++) {
		w.nodes[i].muted = true;
		node_stop(&w.nodes[i]);
	}
	port_close(w.app);
	w.app = NULL;
	pki_set_ca_free(&w.ca);
	if (w.crypto) {
		mbedtls_psa_crypto_free();
		mbedtls_memory_buffer_alloc_free();
		mbedtls_platform_set_time(time);
		w.crypto = false;
	}
	port_mem_set_tap(NULL, NULL);
	port_mem_reset();
	mbedtls_platform_zeroize(pool, sizeof(pool));
	for (i = 0; i < w.n_nodes; i++)
		mbedtls_platform_zeroize(w.nodes[i].key, sizeof(w.nodes[i].key));
}

size_t sim_pool_free(void)
{
	return sizeof(pool) - w.heap_len - w.pool_used;
}

/* ---- nodes and their configs ---- */

/* Copy src into dst (cap bytes), cut if need be: src may live in the same struct. */
static void set_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memmove(dst, src, n);
	dst[n] = '\0';
}

int sim_add(const char *name, bool listen)
{
	struct sim_node *s;
	struct tether_config *c;
	unsigned i = w.n_nodes;

	if (i >= SIM_MAX_NODES)
		return -1;
	s = &w.nodes[i];
	memset(s, 0, sizeof(*s));
	w.n_nodes++;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->uri, sizeof(s->uri), URI_PREFIX "%s", name);
	snprintf(s->crt_path, sizeof(s->crt_path), "/%.16s.crt", name);
	snprintf(s->key_path, sizeof(s->key_path), "/%.16s.key", name);
	snprintf(s->crl_path, sizeof(s->crl_path), "/%.16s.crl", name);
	if (listen)
		snprintf(s->addr, sizeof(s->addr), "10.0.0.%u:7443", i + 1);
	c = &s->cfg;
	config_defaults(c);
	set_str(c->node, sizeof(c->node), name);
	set_str(c->identity.cert, sizeof(c->identity.cert), s->crt_path);
	set_str(c->identity.key, sizeof(c->identity.key), s->key_path);
	set_str(c->identity.ca, sizeof(c->identity.ca), CA_PATH);
	set_str(c->listen, sizeof(c->listen), s->addr);
	if (c->limits.streams > SIM_MAX_STREAMS)
		c->limits.streams = SIM_MAX_STREAMS;
	return (int)i;
}

struct sim_node *sim_node(unsigned i)
{
	return i < w.n_nodes ? &w.nodes[i] : NULL;
}

struct tether_config *sim_cfg(unsigned i)
{
	return &w.nodes[i].cfg;
}

static int peer_index(unsigned i, unsigned j)
{
	const struct tether_config *c = &w.nodes[i].cfg;
	unsigned k;

	for (k = 0; k < c->n_peers; k++)
		if (strcmp(c->peers[k].name, w.nodes[j].name) == 0)
			return (int)k;
	return -1;
}

void sim_peer(unsigned i, unsigned j, bool dial)
{
	struct tether_config *c = &w.nodes[i].cfg;
	struct tether_peer_cfg *p;

	if (c->n_peers >= TETHER_MAX_PEERS)
		return;
	p = &c->peers[c->n_peers++];
	set_str(p->name, sizeof(p->name), w.nodes[j].name);
	set_str(p->id, sizeof(p->id), w.nodes[j].uri);
	if (dial)
		set_str(p->connect, sizeof(p->connect), w.nodes[j].addr);
}

void sim_service(unsigned i, const char *name, const char *target, unsigned j)
{
	struct tether_config *c = &w.nodes[i].cfg;
	struct tether_service_cfg *sv;
	int k = peer_index(i, j);

	if (c->n_services >= TETHER_MAX_SERVICES || k < 0)
		return;
	sv = &c->services[c->n_services++];
	snprintf(sv->name, sizeof(sv->name), "%s", name);
	snprintf(sv->target, sizeof(sv->target), "%s", target);
	sv->n_allow = 1;
	sv->allow[0] = (uint16_t)k;
}

void sim_echo_pair(int *a, int *b, const char *echo_addr, const char *fwd_addr)
{
	*a = sim_add("a", true);
	*b = sim_add("b", false);
	sim_peer((unsigned)*a, (unsigned)*b, false);
	sim_peer((unsigned)*b, (unsigned)*a, true);
	sim_service((unsigned)*a, "echo", echo_addr, (unsigned)*b);
	sim_forward((unsigned)*b, fwd_addr, (unsigned)*a, "echo");
}

void sim_forward(unsigned i, const char *listen, unsigned j, const char *service)
{
	struct tether_config *c = &w.nodes[i].cfg;
	struct tether_forward_cfg *f;
	int k = peer_index(i, j);

	if (c->n_forwards >= TETHER_MAX_FORWARDS || k < 0)
		return;
	f = &c->forwards[c->n_forwards++];
	snprintf(f->listen, sizeof(f->listen), "%s", listen);
	f->peer = (uint16_t)k;
	snprintf(f->service, sizeof(f->service), "%s", service);
}

/* ---- certificates, by tether's own code ---- */

/*
 * pki_set's callback: ctx is the node (NULL: the CA). port/mem serves borrowed
 * bytes, so each PEM is copied where it lives as long as the world: the node's
 * crt and key (wiped by sim_end()), the CA's ca_pem.
 */
static int put_file(void *ctx, const char *name, const char *kind, const unsigned char *pem,
		    size_t len)
{
	struct sim_node *s = ctx;
	unsigned char *keep = w.ca_pem;
	size_t cap = sizeof(w.ca_pem);
	const char *path = CA_PATH;
	unsigned mode = 0644;

	(void)name;
	if (s != NULL && strcmp(kind, "key") == 0) {
		keep = s->key;
		cap = sizeof(s->key);
		path = s->key_path;
		mode = 0600;
	} else if (s != NULL) {
		keep = s->crt;
		cap = sizeof(s->crt);
		path = s->crt_path;
	}
	if (len >= cap)
		return TETHER_ERR_TOO_BIG;
	memcpy(keep, pem, len + 1);
	return port_mem_file_add(path, keep, len, mode);
}

int sim_issue(unsigned i, int64_t not_before, int64_t not_after)
{
	struct sim_node *s = &w.nodes[i];

	if (!w.ca_made) {
		int64_t now = port_mem_wall_s();

		if (pki_set_ca_make(&w.ca, "tether sim CA", now - 3600, now + 3650 * 86400ll,
				    put_file, NULL) != 0) {
			fail_say("certificates", "the CA");
			return -1;
		}
		w.ca_made = true;
	}
	if (pki_set_issue(&w.ca, s->name, s->uri, not_before, not_after, put_file, s) != 0) {
		fail_say("certificates", s->name);
		return -1;
	}
	s->issued = true;
	return 0;
}

/* Node i's certificate as sim_start() would issue it, unless it has one. */
static int issue_default(unsigned i)
{
	int64_t now = port_mem_wall_s();

	return w.nodes[i].issued ? 0 : sim_issue(i, now - 3600, now + 30 * 86400);
}

int sim_crl(unsigned i, const uint8_t *num, size_t num_len, const unsigned *revoked, size_t n)
{
	struct sim_node *s = &w.nodes[i];
	struct pki_crl_entry e[SIM_MAX_NODES];
	mbedtls_x509_crt crt[SIM_MAX_NODES];
	struct pki_crl_spec spec;
	int64_t now = port_mem_wall_s();
	size_t k;
	int ret = 0;

	if (n > SIM_MAX_NODES || issue_default(i) != 0)
		return -1;
	for (k = 0; k < n; k++)
		mbedtls_x509_crt_init(&crt[k]);
	for (k = 0; k < n && ret == 0; k++) {
		const struct sim_node *r;

		if (revoked[k] >= w.n_nodes || issue_default(revoked[k]) != 0) {
			ret = -1;
			break;
		}
		r = &w.nodes[revoked[k]];
		if (mbedtls_x509_crt_parse(&crt[k], r->crt, strlen((const char *)r->crt) + 1) !=
		    0) {
			ret = -1;
			break;
		}
		e[k].serial = crt[k].serial.p;
		e[k].serial_len = crt[k].serial.len;
		e[k].revoked_at = now - 60;
	}
	if (ret == 0) {
		memset(&spec, 0, sizeof(spec));
		spec.this_update = now - 60;
		spec.next_update = now + 30 * 86400;
		spec.number = num;
		spec.number_len = num_len;
		spec.entries = e;
		spec.n_entries = n;
		if (pki_crl_write_pem(&spec, &w.ca.crt, &w.ca.key, s->crl, sizeof(s->crl)) != 0 ||
		    port_mem_file_add(s->crl_path, s->crl, strlen((const char *)s->crl), 0644) !=
			    0 ||
		    port_mem_file_writable(s->crl_path, s->crl, sizeof(s->crl)) != 0)
			ret = -1;
	}
	for (k = 0; k < n; k++)
		mbedtls_x509_crt_free(&crt[k]);
	if (ret != 0) {
		fail_say("sim_crl", s->name);
		return -1;
	}
	set_str(s->cfg.identity.crl[0], sizeof(s->cfg.identity.crl[0]), s->crl_path);
	s->cfg.identity.n_crl = 1;
	return 0;
}

int sim_reload(unsigned i)
{
	struct sim_node *s = &w.nodes[i];
	int rc;

	if (s->state != SIM_RUNNING || s->node == NULL) {
		fail_say("sim_reload", "the node is not running");
		return -1;
	}
	stepping = s->port;
	rc = tether_node_reload(s->node, &s->cfg, NULL);
	stepping = NULL;
	if (rc != 0) {
		snprintf(sim_err, sizeof(sim_err), "reload of %s: %s", s->name,
			 tether_node_reload_text(s->node));
		return -1;
	}
	return 0;
}

size_t sim_node_mem(unsigned i)
{
	return (tether_node_mem_size(&w.nodes[i].cfg) + 15u) & ~(size_t)15u;
}

int sim_start(unsigned i)
{
	struct sim_node *s = &w.nodes[i];
	const struct tether_config *c = &s->cfg;
	size_t need = sim_node_mem(i);
	unsigned handles = tether_node_handles(c);
	char err[160];
	int rc;

	if (issue_default(i) != 0)
		return -1;
	node_stop(s);
	if (s->mem == NULL || s->mem_len < need) {
		if (need > sim_pool_free()) {
			fail_say("sim_start", "the pool is too small for the node");
			return -1;
		}
		s->mem = pool + w.pool_used;
		s->mem_len = need;
		w.pool_used += need;
	}
	if (handles > PORT_MEM_MAX_HANDLES)
		handles = PORT_MEM_MAX_HANDLES;
	if (port_open(&s->port, handles) != 0) {
		fail_say("port_open", s->name);
		return -1;
	}
	port_mem_set_label(s->port, s->name);
	s->muted = false;
	s->frozen = false;
	s->state = SIM_RUNNING;
	s->rc = 1;
	stepping = s->port;
	rc = tether_node_init(&s->node, s->mem, s->mem_len, c, s->port, err, sizeof(err)) != 0 ||
	     tether_node_start(s->node, err, sizeof(err)) != 0;
	stepping = NULL;
	if (rc) {
		snprintf(sim_err, sizeof(sim_err), "node %s: %s", s->name, err);
		s->state = SIM_FAILED;
		node_stop(s);
		return -1;
	}
	return 0;
}

void sim_shutdown(unsigned i, uint32_t drain_ms)
{
	if (w.nodes[i].node != NULL)
		tether_node_shutdown(w.nodes[i].node, drain_ms);
}

void sim_signal(unsigned i, unsigned sig)
{
	port_mem_raise(w.nodes[i].port, sig);
}

void sim_crash(unsigned i)
{
	struct sim_node *s = &w.nodes[i];

	if (s->state != SIM_RUNNING)
		return;
	/* The port first: its connections end as the kernel ends a dead process's. */
	port_close(s->port);
	s->muted = true;
	if (s->node != NULL)
		tether_node_free(s->node);
	s->node = NULL;
	s->port = NULL;
	s->state = SIM_CRASHED;
	s->t_done = port_mem_now_ms();
}

void sim_freeze(unsigned i, bool frozen)
{
	w.nodes[i].frozen = frozen;
	port_mem_freeze(w.nodes[i].port, frozen);
}

struct port *sim_app_port(void)
{
	return w.app;
}

void sim_set_app(sim_app_fn *fn, void *ctx)
{
	w.app_fn = fn;
	w.app_ctx = ctx;
}

/* ---- driving the world ---- */

uint64_t sim_now(void)
{
	return port_mem_now_ms();
}

int sim_step(uint64_t until_ms)
{
	struct port_event ev[8];
	uint64_t now = port_mem_now_ms();
	unsigned i;
	int wait;

	/*
	 * The app port waits first: its wake time, until_ms, is the bound the
	 * clock may not pass (the wait may move the clock up to it if all is idle).
	 */
	if (until_ms == UINT64_MAX)
		wait = -1;
	else if (until_ms <= now)
		wait = 0;
	else
		wait = until_ms - now > 0x7fffffffu ? 0x7fffffff : (int)(until_ms - now);
	if (port_wait(w.app, wait, ev, 8) < 0)
		return -1;
	for (i = 0; i < w.n_nodes; i++) {
		struct sim_node *s = &w.nodes[i];

		if (s->state != SIM_RUNNING || s->frozen)
			continue;
		stepping = s->port;
		s->rc = tether_node_step(s->node, -1);
		stepping = NULL;
		if (s->rc > 0)
			continue;
		s->t_done = port_mem_now_ms();
		s->state = s->rc == 0 ? SIM_DONE : SIM_FAILED;
		/* Ended: it takes no further part in the world. */
		node_stop(s);
		if (s->rc < 0) {
			snprintf(sim_err, sizeof(sim_err), "node %s failed: %d", s->name, s->rc);
			return -1;
		}
	}
	if (w.app_fn != NULL && w.app_fn(w.app_ctx) < 0) {
		fail_say("the test's endpoints failed", "");
		return -1;
	}
	return 0;
}

int sim_run_until(bool (*done)(void *ctx), void *ctx, uint64_t limit_ms)
{
	unsigned long rounds = 0;

	for (;;) {
		if (done != NULL && done(ctx))
			return 0;
		if (port_mem_now_ms() >= limit_ms) {
			if (done == NULL)
				return 0;
			snprintf(sim_err, sizeof(sim_err), "not done by %lu virtual ms",
				 (unsigned long)limit_ms);
			return -1;
		}
		if (++rounds > SIM_MAX_ROUNDS) {
			snprintf(sim_err, sizeof(sim_err),
				 "no progress after %lu passes, %lu virtual ms", rounds,
				 (unsigned long)port_mem_now_ms());
			return -1;
		}
		if (sim_step(limit_ms) != 0)
			return -1;
	}
}

int sim_run_for(uint64_t ms)
{
	return sim_run_until(NULL, NULL, port_mem_now_ms() + ms);
}

/* ---- log lines ---- */

void sim_set_echo(void (*fn)(const char *line, size_t len))
{
	w.echo = fn;
}

unsigned sim_mark(void)
{
	return w.n_lines;
}

static bool has_event(const char *text, const char *event)
{
	const char *p = strstr(text, "event=");
	size_t n = strlen(event);

	if (p == NULL || (p != text && p[-1] != ' '))
		return false;
	p += 6;
	return strncmp(p, event, n) == 0 && (p[n] == ' ' || p[n] == '\0');
}

const struct sim_line *sim_find(unsigned *from, int node, const char *event, const char *match)
{
	unsigned k = *from;

	if (w.n_lines > SIM_LOG_LINES && k < w.n_lines - SIM_LOG_LINES)
		k = w.n_lines - SIM_LOG_LINES; /* older lines are gone */
	for (; k < w.n_lines; k++) {
		const struct sim_line *l = &w.lines[k % SIM_LOG_LINES];

		if ((node < 0 || l->node == node) && (event == NULL || has_event(l->text, event)) &&
		    (match == NULL || strstr(l->text, match) != NULL)) {
			*from = k + 1;
			return l;
		}
	}
	*from = k;
	return NULL;
}

unsigned sim_count(unsigned from, int node, const char *event, const char *match)
{
	unsigned n = 0;

	while (sim_find(&from, node, event, match) != NULL)
		n++;
	return n;
}

const char *sim_field(const struct sim_line *l, const char *key, char *out, size_t len)
{
	const char *p = l->text;
	size_t klen = strlen(key), n = 0;

	out[0] = '\0';
	for (;;) {
		p = strstr(p, key);
		if (p == NULL)
			return out;
		if ((p == l->text || p[-1] == ' ') && p[klen] == '=')
			break;
		p += klen;
	}
	p += klen + 1;
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (n + 1 < len)
				out[n++] = *p;
		}
	} else {
		for (; *p != '\0' && *p != ' '; p++)
			if (n + 1 < len)
				out[n++] = *p;
	}
	out[n] = '\0';
	return out;
}

void sim_dump(unsigned from, void (*fn)(const char *line, size_t len))
{
	const struct sim_line *l;

	while ((l = sim_find(&from, -1, NULL, NULL)) != NULL) {
		char buf[SIM_LINE_MAX + 48];
		int n = snprintf(buf, sizeof(buf), "[%lu %s] %s\n", (unsigned long)l->t_ms,
				 l->node >= 0 ? w.nodes[l->node].name : "-", l->text);

		if (n > 0)
			fn(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	}
}
