/*
 * Sim: validate-then-swap (core/reload.c), as a table. a (the acceptor, with
 * the echo service) and b (the dialer, with a forward) are up with a stream
 * open; a is reloaded with each config of the table in turn. A refused reload
 * changes nothing: its words name what is wrong, the session and the stream
 * carry on, a keeps its config. An accepted one says what changed; removing b
 * closes b's session ("no longer allowed") and dropping b from the service's
 * allow resets b's stream to it ("forbidden"), while the session stays.
 */
#include "tests/sim/sim_test.h"

#include "base/log_level.h"
#include "core/node.h"

#define ECHO "10.0.9.1:7"
#define FWD "10.0.9.2:9000"

static int a, b;
static struct sim_server echo;
static struct tether_config next[2]; /* the config a runs on after an accepted reload */
static unsigned cur;		     /* next[cur] is in use once one was accepted */
static unsigned char loose_key[PKI_KEY_PEM_MAX];

enum change {
	SAME,
	LISTEN,
	LIMITS,
	USER,
	FORWARDS,
	CERT_MISSING,
	KEY_OTHER,
	KEY_LOOSE,
	CA_GARBAGE,
	CRL_GARBAGE,
	LOG_DEBUG,
	KEEPALIVE,
};

struct row {
	enum change change;
	int want;	  /* 0 or TETHER_ERR_CONFIG */
	const char *text; /* in the reload's words */
};

static const struct row table[] = {
	{SAME, 0, "nothing changed"},
	{LISTEN, TETHER_ERR_CONFIG, "listen: changed; needs a restart"},
	{LIMITS, TETHER_ERR_CONFIG, "limits: changed; needs a restart"},
	{USER, TETHER_ERR_CONFIG, "user: changed; needs a restart"},
	{FORWARDS, TETHER_ERR_CONFIG, "forwards: changed; needs a restart"},
	{CERT_MISSING, TETHER_ERR_CONFIG, "identity.cert: /nowhere.crt: cannot read file"},
	{KEY_OTHER, TETHER_ERR_CONFIG, "does not match identity.cert"},
	{KEY_LOOSE, TETHER_ERR_CONFIG, "accessible by group or others"},
	{CA_GARBAGE, TETHER_ERR_CONFIG, "identity.ca: /garbage"},
	{CRL_GARBAGE, TETHER_ERR_CONFIG, "identity.crl: /garbage"},
	{LOG_DEBUG, 0, "changed: log"},
	{KEEPALIVE, 0, "changed: keepalive"},
};

static void make(struct tether_config *c, enum change ch)
{
	*c = *sim_cfg(a);
	switch (ch) {
	case SAME:
		break;
	case LISTEN:
		snprintf(c->listen, sizeof(c->listen), "10.0.0.1:7444");
		break;
	case LIMITS:
		c->limits.streams++;
		break;
	case USER:
		snprintf(c->user, sizeof(c->user), "nobody");
		break;
	case FORWARDS:
		c->n_forwards = 1;
		snprintf(c->forwards[0].listen, sizeof(c->forwards[0].listen), "10.0.9.3:9000");
		c->forwards[0].peer = 0;
		snprintf(c->forwards[0].service, sizeof(c->forwards[0].service), "echo");
		break;
	case CERT_MISSING:
		snprintf(c->identity.cert, sizeof(c->identity.cert), "/nowhere.crt");
		break;
	case KEY_OTHER:
		snprintf(c->identity.key, sizeof(c->identity.key), "%s", sim_node(b)->key_path);
		break;
	case KEY_LOOSE:
		snprintf(c->identity.key, sizeof(c->identity.key), "/loose.key");
		break;
	case CA_GARBAGE:
		snprintf(c->identity.ca, sizeof(c->identity.ca), "/garbage");
		break;
	case CRL_GARBAGE:
		c->identity.n_crl = 1;
		snprintf(c->identity.crl[0], sizeof(c->identity.crl[0]), "/garbage");
		break;
	case LOG_DEBUG:
		c->log_level = PORT_LOG_DEBUG;
		break;
	case KEEPALIVE:
		c->keepalive_interval_ms += 1000;
		c->keepalive_timeout_ms += 3000;
		break;
	}
}

static void setup(struct sim_conn *c)
{
	sim_echo_pair(&a, &b, ECHO, FWD);
	sim_check(sim_server_open(&echo, ECHO, SIM_ECHO, 0, 0) == 0);
	sim_app_server(&echo);
	sim_check(sim_start(a) == 0 && sim_start(b) == 0);
	sim_check(sim_run_until(sim_both_up, (void *)1, 1000) == 0);
	/* a's key again, but readable by others */
	memcpy(loose_key, sim_node(a)->key, sizeof(loose_key));
	sim_check(port_mem_file_add("/loose.key", loose_key, strlen((char *)loose_key), 0644) == 0);
	sim_check(port_mem_file_add("/garbage", "not a certificate\n", 18, 0644) == 0);
	sim_check(sim_client_open(c, FWD, 1000, 1, 1) == 0);
	c->no_shut = true;
	sim_app_conn(c);
	sim_check(sim_run_until(sim_conn_echoed, c, sim_now() + 1000) == 0);
	cur = 0;
}

/* The stream opened before carries 1000 bytes more, both ways. */
static void stream_alive(struct sim_conn *c)
{
	size_t before = c->received;

	sim_conn_more(c, 1000);
	sim_check(sim_run_until(sim_conn_echoed, c, sim_now() + 1000) == 0);
	sim_check_eq(c->received, before + 1000);
	sim_check(!c->reset);
}

static void test_table(void **state)
{
	static struct sim_conn c;
	struct tether_node *n;
	unsigned i, ok = 0, failed = 0;

	(void)state;
	setup(&c);
	n = sim_node(a)->node;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct row *r = &table[i];
		unsigned spare = cur ^ 1u, mark = sim_mark();
		struct tether_stats st;
		int ret;

		make(&next[spare], r->change);
		ret = tether_node_reload(n, &next[spare], NULL);
		if (ret != r->want || strstr(tether_node_reload_text(n), r->text) == NULL)
			fail_msg("row %u: got %d \"%s\", want %d with \"%s\"", i, ret,
				 tether_node_reload_text(n), r->want, r->text);
		if (ret == 0) {
			ok++;
			/* a runs on next[spare] now; the next row starts from it. */
			*sim_cfg(a) = next[spare];
			cur = spare;
			sim_check(sim_find(&mark, a, "reload", "result=ok") != NULL);
		} else {
			failed++;
			sim_check(sim_find(&mark, a, "reload", "result=failed") != NULL);
			sim_check(sim_find(&mark, a, "reload_problem", r->text) != NULL);
		}
		tether_node_stats(n, &st);
		sim_check_eq(st.reloads_ok, ok);
		sim_check_eq(st.reloads_failed, failed);
		/* Whatever the outcome, nobody noticed. */
		sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);
		stream_alive(&c);
	}
}

/* Policy: b dropped from the service's allow, then from the peers. */
static void test_policy(void **state)
{
	static struct sim_conn c;
	struct tether_node *n;
	unsigned mark;

	(void)state;
	setup(&c);
	n = sim_node(a)->node;

	make(&next[1], SAME);
	next[1].services[0].n_allow = 0;
	mark = sim_mark();
	sim_check(tether_node_reload(n, &next[1], NULL) == 0);
	sim_check(strstr(tether_node_reload_text(n), "changed: services") != NULL);
	sim_check(sim_run_until(sim_conn_over, &c, sim_now() + 1000) == 0);
	sim_check(c.reset);
	sim_check(sim_find(&mark, a, "stream_close", "reason=\"forbidden after reload\"") != NULL);
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);

	make(&next[0], SAME);
	next[0].services[0].n_allow = 0;
	next[0].n_peers = 0;
	mark = sim_mark();
	sim_check(tether_node_reload(n, &next[0], NULL) == 0);
	sim_check(strstr(tether_node_reload_text(n), "changed: peers -b") != NULL);
	sim_check(sim_run_for(100) == 0);
	sim_check(sim_find(&mark, a, "session_down",
			   "reason=\"no longer allowed: peer removed from the config\"") != NULL);
	/* b dials again and is refused: not a configured peer any more. */
	sim_check(sim_run_for(2000) == 0);
	sim_check(sim_count(mark, a, "handshake_fail", "reason=\"identity not allowed\"") >= 1);
	sim_check_eq(sim_count(mark, a, "session_up", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_table, sim_test_setup, sim_test_teardown),
		cmocka_unit_test_setup_teardown(test_policy, sim_test_setup, sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
