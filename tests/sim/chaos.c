/*
 * Sim: seeded fault schedules over 3 to 10 nodes (CTest "sim.chaos").
 *
 * Each seed draws, from one generator (port_mem_rng), a fleet (a ring of
 * nodes with random chords, each link dialed by one side, every node
 * exporting an echo service to its peers and forwarding to each peer's), and
 * a schedule of steps: streams of pattern data through the forwards, reloads,
 * and faults (partitions and heals, delays, resets after N bytes, slow
 * readers, refused and black-holed dials, kill -9 and restart on the same
 * files, SIGSTOP, wall clock jumps and skew, monotonic jumps, entropy
 * failure). After every step the invariants are checked:
 *
 * - every byte a client gets back is the byte it sent (keyed pattern), and a
 *   stream that ends cleanly has carried every byte: otherwise it was reset
 *   (a client of a node killed with -9 may see a FIN: the kernel's, not
 *   tether's, and is exempt from the length check, never from the content);
 * - every session_up names a configured peer with its verified URI, and a
 *   dialed session is with the address of that peer;
 * - no node fails, and the C allocator is not called after start-up.
 *
 * At the end every fault is healed, killed nodes restarted: every configured
 * session must be up on both sides within the recovery bound (keepalive
 * timeout + two handshake timeouts + the largest back-off + 1 s), every
 * stream must end, and once idle every node has no stream open and the
 * mbedTLS heap is back to what it held with the same sessions up before the
 * faults.
 *
 *   sim_chaos [first_seed [count]]   seeds first_seed .. first_seed+count-1
 *   TETHER_SIM_SEED=n sim_chaos      seed n alone, with its log on stderr
 *   TETHER_CHAOS_PROGRESS=n          a summary line every n seeds
 *   TETHER_CHAOS_MAX_FAILED=n        stop after n failed seeds (5)
 *   TETHER_CHAOS_UNTIL=t             start no seed after Unix time t (tools/soak.sh)
 *
 * A violation prints the seed, what broke, the log around it, and the
 * command that replays it; the exit status is then 1. The summary says
 * seeds, steps, faults, streams and CPU seconds.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <psa/crypto.h>

#include "core/node.h"
#include "core/tls.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_app.h"

#define MAX_N 10
#define CHAOS_HEAP (8u * 1024u * 1024u)
#define MAX_EDGES 16
#define MAX_CLIENTS 56 /* SIM_APP_MAX less the echo servers */
#define PER_TARGET 14  /* streams into one echo server (SIM_APP_CONNS) */

#define KA_INTERVAL 500
#define KA_TIMEOUT 2000
#define HS_TIMEOUT 2000
#define RC_MIN 100
#define RC_MAX 1000
#define RECOVERY (KA_TIMEOUT + 2 * HS_TIMEOUT + RC_MAX + 1000)

/* ---- the C allocator, counted (linked with --wrap) ---- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static unsigned long allocs;

void *__wrap_malloc(size_t size)
{
	allocs++;
	return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	allocs++;
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	allocs++;
	return __real_realloc(p, size);
}

/* ---- one seed's world ---- */

struct edge {
	unsigned a, b; /* a dials b */
};

struct client {
	unsigned via, to; /* forwarded by node via to node to's echo */
	bool exempt;	  /* via was killed while it ran: its FIN may be the kernel's */
	bool checked;
};

static struct {
	uint64_t seed;
	struct port_mem_rng rng;
	unsigned n, n_edges;
	struct edge e[MAX_EDGES];
	struct sim_server echo[MAX_N];
	struct sim_conn conn[MAX_CLIENTS];
	struct client cl[MAX_CLIENTS];
	unsigned n_cl, per_target[MAX_N];
	/* faults that hold, by node, re-applied to a restarted node's new port */
	bool cut[MAX_N][MAX_N];
	uint32_t delay[MAX_N][MAX_N];
	uint32_t slow[MAX_N];
	uint8_t dial[MAX_N];
	int64_t wall[MAX_N];
	bool crashed[MAX_N], frozen[MAX_N], entropy;
	/* sessions by the log: up - down since each node's start */
	int live[MAX_N];
	char violation[512];
	unsigned faults, steps, reloads, kills;
	bool verbose;
} c;

static unsigned total_whole, total_reset; /* streams that carried every byte, or were reset */
static unsigned total_seeds, total_steps, total_faults, total_streams, total_kills, total_reloads;

/* The first violation of the seed, in words; later ones are its consequences. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	if (c.violation[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c.violation, sizeof(c.violation), fmt, ap);
	va_end(ap);
}

static int node_by_name(const char *name)
{
	unsigned i;

	for (i = 0; i < c.n; i++)
		if (strcmp(sim_node(i)->name, name) == 0)
			return (int)i;
	return -1;
}

static bool configured_peer(unsigned i, const char *peer, const char *id)
{
	const struct tether_config *cfg = sim_cfg(i);
	unsigned k;

	for (k = 0; k < cfg->n_peers; k++)
		if (strcmp(cfg->peers[k].name, peer) == 0 && strcmp(cfg->peers[k].id, id) == 0)
			return true;
	return false;
}

/* A field of a raw log line ("key=value" or key="value"), into out. */
static void field(const char *text, const char *key, char *out, size_t len)
{
	struct sim_line l;
	size_t n = strlen(text);

	if (n >= sizeof(l.text))
		n = sizeof(l.text) - 1;
	memcpy(l.text, text, n);
	l.text[n] = '\0';
	sim_field(&l, key, out, len);
}

/* Every line as it is logged: "[t name] text". Sessions are judged here. */
static void watch_line(const char *line, size_t len)
{
	char name[32], text[SIM_LINE_MAX], peer[64], id[128], addr[64], dir[8];
	const char *sp, *rb;
	int i, j;

	if (c.verbose)
		fwrite(line, 1, len, stderr);
	sp = memchr(line, ' ', len);
	rb = memchr(line, ']', len);
	if (sp == NULL || rb == NULL || rb < sp || (size_t)(rb - sp) > sizeof(name))
		return;
	memcpy(name, sp + 1, (size_t)(rb - sp - 1));
	name[rb - sp - 1] = '\0';
	i = node_by_name(name);
	if (i < 0)
		return;
	len -= (size_t)(rb + 2 - line);
	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	memcpy(text, rb + 2, len);
	text[len] = '\0';
	if (strstr(text, "event=session_up ") != NULL) {
		field(text, "peer", peer, sizeof(peer));
		field(text, "id", id, sizeof(id));
		field(text, "addr", addr, sizeof(addr));
		field(text, "dir", dir, sizeof(dir));
		j = node_by_name(peer);
		if (j < 0 || !configured_peer((unsigned)i, peer, id) ||
		    strcmp(id, sim_node((unsigned)j)->uri) != 0)
			say("session with an unverified or unlisted peer: %s: %s", name, text);
		else if (strcmp(dir, "out") == 0 && strcmp(addr, sim_node((unsigned)j)->addr) != 0)
			say("dialed session names another peer's address: %s: %s", name, text);
		c.live[i]++;
	} else if (strstr(text, "event=session_down ") != NULL && strstr(text, " up_s=") != NULL) {
		c.live[i]--; /* one that was up (a TLS session refused at HELLO has no up_s) */
	} else if (strstr(text, "level=error") != NULL && strstr(text, "event=entropy") == NULL) {
		/* Errors are judged by the invariants; a few are expected of faults. */
	}
}

static uint32_t draw(uint32_t n)
{
	return port_mem_rng_below(&c.rng, n);
}

static struct port *port_of(unsigned i)
{
	return sim_node(i)->port;
}

/* Push the faults that hold for node i to its port (after a restart too). */
static void apply(unsigned i)
{
	unsigned j;

	if (port_of(i) == NULL)
		return;
	for (j = 0; j < c.n; j++) {
		if (j == i || port_of(j) == NULL)
			continue;
		port_mem_fault_cut(port_of(i), port_of(j), c.cut[i][j]);
		port_mem_fault_delay(port_of(i), port_of(j), c.delay[i][j]);
		port_mem_fault_delay(port_of(j), port_of(i), c.delay[j][i]);
	}
	port_mem_fault_slow_reader(port_of(i), c.slow[i]);
	port_mem_fault_dial(port_of(i), (enum port_mem_dial_fault)c.dial[i]);
	port_mem_fault_wall(port_of(i), c.wall[i]);
}

static void configure(void)
{
	unsigned i, k, chords;

	c.n = 3 + draw(MAX_N - 2);
	for (i = 0; i < c.n; i++) {
		char name[16];
		struct tether_config *cfg;

		snprintf(name, sizeof(name), "n%u", i);
		sim_add(name, true);
		cfg = sim_cfg(i);
		cfg->keepalive_interval_ms = KA_INTERVAL;
		cfg->keepalive_timeout_ms = KA_TIMEOUT;
		cfg->tls.handshake_timeout_ms = HS_TIMEOUT;
		cfg->reconnect_min_ms = RC_MIN;
		cfg->reconnect_max_ms = RC_MAX;
		cfg->limits.streams = 24;
		cfg->limits.stream_window = 16384;
		cfg->limits.sessions = 8;
	}
	/* A ring, then chords; each link dialed by one side. */
	for (i = 0; i < c.n && (c.n > 3 || i < 3); i++) {
		c.e[c.n_edges].a = i;
		c.e[c.n_edges].b = (i + 1) % c.n;
		c.n_edges++;
	}
	chords = draw(c.n / 2 + 1);
	for (k = 0; k < chords && c.n_edges < MAX_EDGES; k++) {
		unsigned a = draw(c.n), b = draw(c.n), m;
		bool dup = a == b;

		for (m = 0; m < c.n_edges && !dup; m++)
			dup = (c.e[m].a == a && c.e[m].b == b) || (c.e[m].a == b && c.e[m].b == a);
		if (dup)
			continue;
		c.e[c.n_edges].a = a;
		c.e[c.n_edges].b = b;
		c.n_edges++;
	}
	for (k = 0; k < c.n_edges; k++) {
		if (draw(2)) {
			unsigned t = c.e[k].a;

			c.e[k].a = c.e[k].b;
			c.e[k].b = t;
		}
		sim_peer(c.e[k].a, c.e[k].b, true);
		sim_peer(c.e[k].b, c.e[k].a, false);
	}
	/* Each node's echo, allowed to all its peers; a forward to each peer's. */
	for (i = 0; i < c.n; i++) {
		struct tether_config *cfg = sim_cfg(i);
		struct tether_service_cfg *sv = &cfg->services[cfg->n_services++];
		char target[32];

		snprintf(sv->name, sizeof(sv->name), "echo");
		snprintf(target, sizeof(target), "10.1.%u.1:7", i);
		snprintf(sv->target, sizeof(sv->target), "%s", target);
		sv->n_allow = cfg->n_peers;
		for (k = 0; k < cfg->n_peers; k++)
			sv->allow[k] = (uint16_t)k;
		sim_server_open(&c.echo[i], target, SIM_ECHO, 0, 0);
		sim_app_server(&c.echo[i]);
	}
	for (i = 0; i < c.n; i++) {
		const struct tether_config *cfg = sim_cfg(i);
		unsigned n_peers = cfg->n_peers;

		for (k = 0; k < n_peers; k++) {
			char listen[32];
			int j = node_by_name(cfg->peers[k].name);

			snprintf(listen, sizeof(listen), "10.2.%u.%d:9000", i, j);
			sim_forward(i, listen, (unsigned)j, "echo");
		}
	}
}

static bool linked(unsigned i, unsigned j)
{
	unsigned k;

	for (k = 0; k < c.n_edges; k++)
		if ((c.e[k].a == i && c.e[k].b == j) || (c.e[k].a == j && c.e[k].b == i))
			return true;
	return false;
}

static void open_stream(void)
{
	unsigned k = draw(c.n_edges), via, to;
	struct sim_conn *cn;
	char addr[32];
	uint32_t key;

	if (c.n_cl >= MAX_CLIENTS)
		return;
	via = draw(2) ? c.e[k].a : c.e[k].b;
	to = via == c.e[k].a ? c.e[k].b : c.e[k].a;
	if (c.per_target[to] >= PER_TARGET)
		return;
	c.per_target[to]++;
	cn = &c.conn[c.n_cl];
	c.cl[c.n_cl].via = via;
	c.cl[c.n_cl].to = to;
	c.n_cl++;
	total_streams++;
	snprintf(addr, sizeof(addr), "10.2.%u.%u:9000", via, to);
	key = (uint32_t)port_mem_rng_next(&c.rng) | 1u;
	if (sim_client_open(cn, addr, 1 + draw(draw(4) == 0 ? 256 * 1024 : 16 * 1024), key, key) !=
	    0) {
		say("cannot dial the forward %s", addr);
		return;
	}
	sim_app_conn(cn);
}

/* The per-stream invariant; final: every stream must have ended. */
static void check_streams(bool final)
{
	unsigned k;

	for (k = 0; k < c.n_cl; k++) {
		const struct sim_conn *cn = &c.conn[k];
		char what[96];

		snprintf(what, sizeof(what), "stream %u (n%u to n%u's echo)", k, c.cl[k].via,
			 c.cl[k].to);
		if (cn->bad)
			say("%s: a byte differed from what was sent%s", what, "");
		else if (cn->received > cn->sent)
			say("%s: more bytes came back than were sent%s", what, "");
		else if (sim_conn_ended(cn) && !cn->reset && cn->received != cn->to_send &&
			 !c.cl[k].exempt)
			say("%s: ended cleanly without all its bytes (silent truncation)%s", what,
			    "");
		else if (final && !sim_conn_ended(cn))
			say("%s: never ended after the faults healed%s", what, "");
	}
}

static void check_step(void)
{
	unsigned i;

	check_streams(false);
	for (i = 0; i < c.n; i++) {
		const struct sim_node *s = sim_node(i);

		if (s->state == SIM_FAILED)
			say("node %s failed: %s", s->name, sim_err);
	}
}

/* A fault, or a stream, or a reload: one step of the schedule. */
static void act(void)
{
	unsigned i = draw(c.n), j = draw(c.n), r = draw(100);
	struct sim_node *s = sim_node(i);

	if (r < 30) {
		unsigned k, n = 1 + draw(4);

		for (k = 0; k < n; k++)
			open_stream();
		return;
	}
	c.faults++;
	if (r < 38) {
		/* partition a link (or heal it) */
		if (i != j && linked(i, j)) {
			c.cut[i][j] = c.cut[j][i] = !c.cut[i][j];
			apply(i);
		}
	} else if (r < 44) {
		c.delay[i][j] = i != j && draw(2) ? 1 + draw(400) : 0;
		apply(i);
	} else if (r < 50) {
		if (i != j && port_of(i) != NULL && port_of(j) != NULL)
			port_mem_fault_reset_after(port_of(i), port_of(j), 1 + draw(20000));
	} else if (r < 55) {
		c.slow[i] = c.slow[i] == 0 ? 1 + draw(2048) : 0;
		apply(i);
	} else if (r < 61) {
		c.dial[i] = (uint8_t)draw(3);
		apply(i);
	} else if (r < 68) {
		/* kill -9, or start again on the same files */
		if (s->state == SIM_RUNNING && !c.frozen[i]) {
			unsigned k;

			for (k = 0; k < c.n_cl; k++)
				if (c.cl[k].via == i && !sim_conn_ended(&c.conn[k]))
					c.cl[k].exempt = true;
			sim_crash(i);
			c.crashed[i] = true;
			c.live[i] = 0;
			c.kills++;
		} else if (c.crashed[i]) {
			c.live[i] = 0;
			if (sim_start(i) != 0)
				say("restart of %s failed: %s", s->name, sim_err);
			c.crashed[i] = false;
			apply(i);
		}
	} else if (r < 72) {
		if (s->state == SIM_RUNNING) {
			c.frozen[i] = !c.frozen[i];
			sim_freeze(i, c.frozen[i]);
		}
	} else if (r < 80) {
		/* wall clock: skew within the certificates' slack, or a big jump */
		static const int64_t big[] = {-2 * 86400, 31 * 86400, -3 * 3600};

		c.wall[i] = draw(5) == 0 ? big[draw(3)] : (int64_t)draw(3600) - 1800;
		apply(i);
	} else if (r < 83) {
		port_mem_advance(1 + draw(5000)); /* a suspended machine's monotonic jump */
	} else if (r < 86) {
		c.entropy = !c.entropy;
		port_mem_fault_entropy(c.entropy);
	} else {
		/* reload: the same config, or new keepalive timing (a change it takes live) */
		if (s->state == SIM_RUNNING && !c.frozen[i]) {
			struct tether_config *cfg = sim_cfg(i);

			if (draw(2)) {
				cfg->keepalive_interval_ms = KA_INTERVAL - 100 + draw(200);
				cfg->keepalive_timeout_ms = KA_TIMEOUT - 200 + draw(200);
			}
			c.reloads++;
			/* Refused only when its clock put its own certificate out of date. */
			if (sim_reload(i) != 0 &&
			    ((c.wall[i] > -3600 && c.wall[i] < 29 * 86400) ||
			     (strstr(sim_err, "certificate expired") == NULL &&
			      strstr(sim_err, "not yet valid") == NULL)))
				say("reload refused: %s", sim_err);
		}
	}
}

static void heal_all(void)
{
	unsigned i;

	memset(c.cut, 0, sizeof(c.cut));
	memset(c.delay, 0, sizeof(c.delay));
	memset(c.slow, 0, sizeof(c.slow));
	memset(c.dial, 0, sizeof(c.dial));
	memset(c.wall, 0, sizeof(c.wall));
	c.entropy = false;
	port_mem_fault_entropy(0);
	for (i = 0; i < c.n; i++) {
		if (c.frozen[i]) {
			c.frozen[i] = false;
			sim_freeze(i, false);
		}
		port_mem_fault_clear(port_of(i));
		if (c.crashed[i]) {
			c.live[i] = 0;
			if (sim_start(i) != 0)
				say("restart of %s failed: %s", sim_node(i)->name, sim_err);
			c.crashed[i] = false;
		}
	}
}

/* Node i's sessions up, by its own count; it must agree with its log's. */
static int sessions_up(unsigned i)
{
	struct tether_stats st;

	if (sim_node(i)->node == NULL)
		return 0;
	tether_node_stats(sim_node(i)->node, &st);
	if ((int)st.sessions_up != c.live[i])
		say("n%u counts %u sessions up, its log %d", i, st.sessions_up, c.live[i]);
	return (int)st.sessions_up;
}

static bool all_up(void *ctx)
{
	unsigned i;

	(void)ctx;
	for (i = 0; i < c.n; i++)
		if (sessions_up(i) != (int)sim_cfg(i)->n_peers)
			return false;
	return true;
}

static bool streams_over(void *ctx)
{
	unsigned k;

	(void)ctx;
	for (k = 0; k < c.n_cl; k++)
		if (!sim_conn_ended(&c.conn[k]))
			return false;
	return true;
}

/* Every node's open streams. */
static unsigned streams_open(void)
{
	struct tether_stats st;
	unsigned i, n = 0;

	for (i = 0; i < c.n; i++) {
		if (sim_node(i)->node == NULL)
			continue;
		tether_node_stats(sim_node(i)->node, &st);
		n += st.streams_open;
	}
	return n;
}

/*
 * PSA's dynamic key store grows its slot slices as keys are made at once and
 * keeps them until PSA is freed: fill it with more keys than a run holds at
 * once, and free them, before the heap's baseline is taken.
 */
static int warm_key_store(void)
{
	static const uint8_t raw[16];
	psa_key_attributes_t at = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id[256];
	psa_status_t st = PSA_SUCCESS;
	unsigned k, n;

	psa_set_key_type(&at, PSA_KEY_TYPE_RAW_DATA);
	for (n = 0; n < 256; n++)
		if ((st = psa_import_key(&at, raw, sizeof(raw), &id[n])) != PSA_SUCCESS)
			break;
	for (k = 0; k < n; k++)
		psa_destroy_key(id[k]);
	/* A board's static key store (MBEDTLS_PSA_KEY_SLOT_COUNT) fills first: full is the aim. */
	return n == 256 || (n > 0 && st == PSA_ERROR_INSUFFICIENT_MEMORY) ? 0 : -1;
}

static bool all_done(void *ctx)
{
	unsigned i;

	(void)ctx;
	for (i = 0; i < c.n; i++)
		if (sim_node(i)->state == SIM_RUNNING)
			return false;
	return true;
}

static void print(const char *line, size_t len)
{
	fwrite(line, 1, len, stderr);
}

/* One seed; 0 when every invariant held. */
static int run_seed(uint64_t seed)
{
	unsigned i, n_steps, open0;
	size_t heap0, heap1;
	unsigned long allocs0;
	uint64_t t_heal;

	memset(&c, 0, sizeof(c));
	c.seed = seed;
	c.verbose = getenv("TETHER_SIM_SEED") != NULL;
	port_mem_rng_seed(&c.rng, seed);
	if (sim_reset(seed) != 0 || sim_crypto(CHAOS_HEAP) != 0) {
		fprintf(stderr, "seed %" PRIu64 ": set-up: %s\n", seed, sim_err);
		return -1;
	}
	sim_app_clear();
	sim_set_app(sim_app_run, NULL);
	sim_set_echo(watch_line);
	configure();
	/* Certificates first: the heap then holds the CA, and no node. */
	for (i = 0; i < c.n && c.violation[0] == '\0'; i++)
		if (sim_issue(i, port_mem_wall_s() - 3600, port_mem_wall_s() + 30 * 86400) != 0)
			say("certificates: %s", sim_err);
	if (warm_key_store() != 0)
		say("cannot fill the key store%s", "");
	heap0 = tls_heap_in_use();
	for (i = 0; i < c.n && c.violation[0] == '\0'; i++)
		if (sim_start(i) != 0)
			say("start: %s", sim_err);
	allocs0 = allocs;
	if (c.violation[0] == '\0' && sim_run_until(all_up, NULL, sim_now() + RECOVERY) != 0)
		say("the fleet did not come up: %s", sim_err);

	n_steps = 8 + draw(20);
	for (c.steps = 0; c.steps < n_steps && c.violation[0] == '\0'; c.steps++) {
		act();
		if (sim_run_for(20 + draw(1500)) != 0)
			say("step: %s", sim_err);
		check_step();
	}

	/* Heal: everything must come back within the bound, every stream end. */
	heal_all();
	t_heal = sim_now();
	if (c.violation[0] == '\0' && sim_run_until(all_up, NULL, t_heal + RECOVERY) != 0) {
		char who[128] = "";
		size_t at = 0;

		for (i = 0; i < c.n && at < sizeof(who) - 24; i++)
			if (sessions_up(i) != (int)sim_cfg(i)->n_peers)
				at += (size_t)snprintf(who + at, sizeof(who) - at, " n%u %d/%u", i,
						       sessions_up(i), sim_cfg(i)->n_peers);
		say("sessions did not recover within %lu ms after the heal (up/peers:%s)",
		    (unsigned long)RECOVERY, who);
	}
	if (c.violation[0] == '\0' &&
	    sim_run_until(streams_over, NULL, sim_now() + 4 * RECOVERY) != 0)
		check_streams(true);
	if (c.violation[0] == '\0') {
		check_streams(true);
		/* idle: no stream open, the heap as it was with the same sessions */
		if (sim_run_for(KA_INTERVAL * 3) != 0)
			say("idle run: %s", sim_err);
		open0 = streams_open();
		if (open0 != 0)
			say("%u streams still open when idle", open0);
	}
	/* Every node stopped: the mbedTLS heap holds what it held before they started. */
	for (i = 0; i < c.n && c.violation[0] == '\0'; i++)
		sim_shutdown(i, 0);
	if (c.violation[0] == '\0' && sim_run_until(all_done, NULL, sim_now() + 10000) != 0)
		say("the nodes did not stop: %s", sim_err);
	heap1 = tls_heap_in_use();
	if (c.violation[0] == '\0' && heap1 != heap0)
		say("the TLS heap holds %zu bytes after every node stopped, %zu before they "
		    "started",
		    heap1, heap0);
	if (c.violation[0] == '\0' && allocs != allocs0)
		say("the C allocator was called %lu times after start-up", allocs - allocs0);

	for (i = 0; i < c.n_cl; i++) {
		total_whole += !c.conn[i].reset && c.conn[i].received == c.conn[i].to_send;
		total_reset += c.conn[i].reset;
	}
	total_seeds++;
	total_steps += c.steps;
	total_faults += c.faults;
	total_kills += c.kills;
	total_reloads += c.reloads;
	if (c.violation[0] != '\0') {
		sim_set_echo(NULL);
		if (!c.verbose)
			sim_dump(sim_mark() > 200 ? sim_mark() - 200 : 0, print);
		fprintf(stderr,
			"VIOLATION seed %" PRIu64 " (%u nodes, step %u, %lu virtual ms): %s\n"
			"replay: TETHER_SIM_SEED=%" PRIu64 " %s\n",
			seed, c.n, c.steps, (unsigned long)sim_now(), c.violation, seed,
			"tests/sim_chaos");
	}
	sim_set_echo(NULL);
	sim_end();
	return c.violation[0] != '\0' ? 1 : 0;
}

static void summary(uint64_t first, unsigned failed, clock_t t0, const char *note)
{
	double cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;

	printf("chaos: %u seeds from %" PRIu64 ", %u failed; %u steps, %u faults "
	       "(%u kills), %u reloads, %u streams (%u whole, %u reset); %.1f s CPU, "
	       "%.2f seeds/s CPU%s%s\n",
	       total_seeds, first, failed, total_steps, total_faults, total_kills, total_reloads,
	       total_streams, total_whole, total_reset, cpu, cpu > 0 ? total_seeds / cpu : 0.0,
	       note[0] != '\0' ? "; " : "", note);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *one = getenv("TETHER_SIM_SEED");
	uint64_t first = 1, count = 200, k;
	unsigned long max_failed = 5, progress = 0;
	time_t until = 0;
	unsigned failed = 0;
	clock_t t0 = clock();

	if (one != NULL) {
		first = strtoull(one, NULL, 0);
		count = 1;
	} else {
		if (argc > 1)
			first = strtoull(argv[1], NULL, 0);
		if (argc > 2)
			count = strtoull(argv[2], NULL, 0);
	}
	if (getenv("TETHER_CHAOS_MAX_FAILED") != NULL)
		max_failed = strtoul(getenv("TETHER_CHAOS_MAX_FAILED"), NULL, 0);
	if (getenv("TETHER_CHAOS_PROGRESS") != NULL)
		progress = strtoul(getenv("TETHER_CHAOS_PROGRESS"), NULL, 0);
	if (getenv("TETHER_CHAOS_UNTIL") != NULL)
		until = (time_t)strtoll(getenv("TETHER_CHAOS_UNTIL"), NULL, 0);
	for (k = 0; k < count && (until == 0 || time(NULL) < until); k++) {
		if (run_seed(first + k) != 0)
			failed++;
		if (failed >= max_failed)
			break;
		if (progress > 0 && (k + 1) % progress == 0 && k + 1 < count)
			summary(first, failed, t0, "so far");
	}
	summary(first, failed, t0, "");
	return failed != 0 ? 1 : 0;
}
