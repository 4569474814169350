/*
 * Sim: revocation through the mesh (project issue 7, docs/PROTOCOL.md
 * section 12). Four nodes, each with its own CRL file (CRL number 1, empty):
 *
 *        x
 *      /   \
 *     a --- b --- c        b dials a, c dials b, x dials a and c
 *
 * a is given CRL number 2, revoking x, and reloads: a closes its session
 * with x at once; b hears of number 2 from a, fetches it, checks it, stores
 * it over its file and applies it; then c, two hops from a, does the same
 * from b and closes its session with x. x cannot come back to either. An
 * older CRL (number 1) announced later changes nothing, and c's file holds
 * the CRL a was given, byte for byte once parsed.
 */
#include "tests/sim/sim_test.h"

#include <mbedtls/x509_crl.h>

#include "core/crlmesh.h"

static const uint8_t ONE[] = {1}, TWO[] = {2};
static int a, b, c, x;

static bool all_up(void *ctx)
{
	(void)ctx;
	/* Four sessions, each logged on both ends. */
	return sim_count(0, a, "session_up", NULL) >= 2 &&
	       sim_count(0, b, "session_up", NULL) >= 2 &&
	       sim_count(0, c, "session_up", NULL) >= 2 && sim_count(0, x, "session_up", NULL) >= 2;
}

struct wait_line {
	unsigned from;
	int node;
	const char *event, *match;
	unsigned n;
};

static bool seen(void *ctx)
{
	const struct wait_line *wl = ctx;

	return sim_count(wl->from, wl->node, wl->event, wl->match) >= wl->n;
}

/* Run until node logged n lines of event (containing match) since from; fail past limit. */
static void wait_for(unsigned from, int node, const char *event, const char *match, unsigned n,
		     uint64_t limit)
{
	struct wait_line wl = {from, node, event, match, n};

	sim_check(sim_run_until(seen, &wl, limit) == 0);
}

/* The CRL number node i's file holds now, read through its port; -1 if unreadable. */
static int file_number(int i, unsigned char *buf, size_t cap, size_t *len)
{
	mbedtls_x509_crl crl;
	uint8_t num[CRL_NUMBER_MAX];
	size_t num_len = 0;
	int ret = -1;

	if (port_read_file(sim_node((unsigned)i)->port, sim_node((unsigned)i)->crl_path, buf, cap,
			   len) != 0)
		return -1;
	mbedtls_x509_crl_init(&crl);
	if (mbedtls_x509_crl_parse(&crl, buf, *len + 1) == 0 && crl.next == NULL &&
	    crl_number(&crl, num, &num_len) == 0)
		ret = num_len == 0 ? 0 : num_len == 1 ? num[0] : 256;
	mbedtls_x509_crl_free(&crl);
	return ret;
}

/* Does node i's CRL file revoke node r's certificate? */
static bool file_revokes(int i, int r)
{
	static unsigned char buf[SIM_CRL_MAX];
	mbedtls_x509_crl crl;
	mbedtls_x509_crt crt;
	const mbedtls_x509_crl_entry *e;
	const struct sim_node *rn = sim_node((unsigned)r);
	size_t len;
	bool found = false;

	sim_check(port_read_file(sim_node((unsigned)i)->port, sim_node((unsigned)i)->crl_path, buf,
				 sizeof(buf), &len) == 0);
	mbedtls_x509_crl_init(&crl);
	mbedtls_x509_crt_init(&crt);
	sim_check(mbedtls_x509_crl_parse(&crl, buf, len + 1) == 0);
	sim_check(mbedtls_x509_crt_parse(&crt, rn->crt, strlen((const char *)rn->crt) + 1) == 0);
	for (e = &crl.entry; e != NULL && e->raw.p != NULL; e = e->next)
		if (e->serial.len == crt.serial.len &&
		    memcmp(e->serial.p, crt.serial.p, crt.serial.len) == 0)
			found = true;
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crl_free(&crl);
	return found;
}

static void setup_mesh(void)
{
	a = sim_add("a", true);
	b = sim_add("b", true);
	c = sim_add("c", true);
	x = sim_add("x", false);
	sim_check(a >= 0 && b >= 0 && c >= 0 && x >= 0);
	sim_peer(a, b, false);
	sim_peer(a, x, false);
	sim_peer(b, a, true);
	sim_peer(b, c, false);
	sim_peer(c, b, true);
	sim_peer(c, x, false);
	sim_peer(x, a, true);
	sim_peer(x, c, true);
	sim_cfg(x)->reconnect_min_ms = 100;
	sim_cfg(x)->reconnect_max_ms = 100;
	for (int i = 0; i < 4; i++)
		sim_check(sim_crl((unsigned)i, ONE, 1, NULL, 0) == 0);
	for (int i = 0; i < 4; i++)
		sim_check(sim_start((unsigned)i) == 0);
	sim_check(sim_run_until(all_up, NULL, 2000) == 0);
	/* Everybody holds number 1: nothing to fetch. */
	sim_check(sim_run_for(1000) == 0);
	sim_check_eq(sim_count(0, -1, "crl_received", NULL), 0);
	sim_check_eq(sim_count(0, -1, "session_down", NULL), 0);
}

static void test_revocation_spreads(void **state)
{
	static unsigned char buf[SIM_CRL_MAX], given[SIM_CRL_MAX];
	const struct sim_line *l, *lb, *lc;
	unsigned from, mark, after;
	uint64_t t0;
	size_t len, given_len;
	char v[96];
	unsigned revoked;

	(void)state;
	setup_mesh();
	sim_check_eq(file_number(c, buf, sizeof(buf), &len), 1);
	sim_check(!file_revokes(c, x));

	/* a is given number 2, revoking x, and reloads. */
	revoked = (unsigned)x;
	sim_check(sim_crl((unsigned)a, TWO, 1, &revoked, 1) == 0);
	given_len = strlen((const char *)sim_node((unsigned)a)->crl);
	memcpy(given, sim_node((unsigned)a)->crl, given_len);
	mark = sim_mark();
	t0 = sim_now();
	sim_check(sim_reload((unsigned)a) == 0);
	/* a closes its session with x at once: in the reload itself. */
	from = mark;
	l = sim_expect(&from, a, "session_down", "peer=x");
	sim_check_eq(l->t_ms, t0);
	sim_check(strcmp(sim_field(l, "reason", v, sizeof(v)), "certificate revoked") == 0);

	/* b stores it (from a), then c (from b), and c closes its session with x. */
	wait_for(mark, c, "session_down", "peer=x", 1, t0 + 5000);
	from = mark;
	lb = sim_expect(&from, b, "crl_received", NULL);
	sim_check(strcmp(sim_field(lb, "result", v, sizeof(v)), "stored") == 0);
	sim_check(strcmp(sim_field(lb, "peer", v, sizeof(v)), "a") == 0);
	sim_check(strcmp(sim_field(lb, "number", v, sizeof(v)), "0x02") == 0);
	from = mark;
	lc = sim_expect(&from, c, "crl_received", NULL);
	sim_check(strcmp(sim_field(lc, "result", v, sizeof(v)), "stored") == 0);
	sim_check(strcmp(sim_field(lc, "peer", v, sizeof(v)), "b") == 0);
	sim_check(strcmp(sim_field(lc, "number", v, sizeof(v)), "0x02") == 0);
	sim_check(lb->t_ms <= lc->t_ms);
	from = mark;
	l = sim_expect(&from, c, "session_down", "peer=x");
	sim_check(strcmp(sim_field(l, "reason", v, sizeof(v)), "certificate revoked") == 0);
	sim_check(l->t_ms >= lc->t_ms && l->t_ms <= t0 + 3000);
	/* Applied as reloads: b and c each logged one. */
	sim_check(sim_count(mark, b, "reload", NULL) >= 1);
	sim_check(sim_count(mark, c, "reload", NULL) >= 1);
	/* x's sessions with both are gone (x saw them end too); a-b and b-c are untouched. */
	sim_check_eq(sim_count(mark, a, "session_down", NULL), 1);
	sim_check_eq(sim_count(mark, b, "session_down", NULL), 0);
	sim_check_eq(sim_count(mark, c, "session_down", NULL), 1);
	sim_check_eq(sim_count(mark, x, "session_down", NULL), 2);
	sim_check_eq(sim_count(mark, -1, "crl_received", "result=refused"), 0);

	/* Every file of the chain holds number 2 revoking x; c's is the very CRL a was given. */
	sim_check_eq(file_number(b, buf, sizeof(buf), &len), 2);
	sim_check_eq(file_number(c, buf, sizeof(buf), &len), 2);
	sim_check(file_revokes(b, x) && file_revokes(c, x));
	sim_check(!file_revokes(c, b));
	{
		mbedtls_x509_crl mine, theirs;

		mbedtls_x509_crl_init(&mine);
		mbedtls_x509_crl_init(&theirs);
		sim_check(mbedtls_x509_crl_parse(&mine, given, given_len + 1) == 0);
		sim_check(mbedtls_x509_crl_parse(&theirs, buf, len + 1) == 0);
		sim_check_eq(theirs.raw.len, mine.raw.len);
		sim_check(memcmp(theirs.raw.p, mine.raw.p, mine.raw.len) == 0);
		mbedtls_x509_crl_free(&mine);
		mbedtls_x509_crl_free(&theirs);
	}
	/* x's own file is not touched (nobody talks to it any more). */
	sim_check_eq(file_number(x, buf, sizeof(buf), &len), 1);

	/* x cannot come back: a and c refuse its handshakes, revoked. */
	after = sim_mark();
	wait_for(after, a, "handshake_fail", "reason=\"certificate revoked\"", 2, sim_now() + 3000);
	wait_for(after, c, "handshake_fail", "reason=\"certificate revoked\"", 2, sim_now() + 3000);
	sim_check(sim_run_for(2000) == 0);
	sim_check_eq(sim_count(after, -1, "session_up", NULL), 0);
	from = after;
	l = sim_expect(&from, a, "handshake_fail", NULL);
	sim_check(strcmp(sim_field(l, "id", v, sizeof(v)), "spiffe://sim.tether/x") == 0);

	/* An older CRL announced later changes nothing: b goes back to number 1 and reloads. */
	mark = sim_mark();
	sim_check(sim_crl((unsigned)b, ONE, 1, NULL, 0) == 0);
	sim_check(sim_reload((unsigned)b) == 0);
	/* a and c hear number 1 from b and keep theirs; b takes number 2 back from a or c. */
	wait_for(mark, b, "crl_received", "result=stored", 1, sim_now() + 3000);
	sim_check(sim_run_for(2000) == 0);
	sim_check_eq(sim_count(mark, a, "crl_received", NULL), 0);
	sim_check_eq(sim_count(mark, c, "crl_received", NULL), 0);
	sim_check_eq(sim_count(mark, -1, "crl_received", "result=refused"), 0);
	sim_check_eq(sim_count(mark, b, "crl_received", NULL), 1);
	sim_check_eq(file_number(a, buf, sizeof(buf), &len), 2);
	sim_check_eq(file_number(c, buf, sizeof(buf), &len), 2);
	sim_check_eq(file_number(b, buf, sizeof(buf), &len), 2);
	sim_check_eq(sim_count(mark, -1, "session_up", NULL), 0);
	/* No session of a, b or c ended (x keeps trying and failing, which is its own). */
	sim_check_eq(sim_count(mark, a, "session_down", NULL), 0);
	sim_check_eq(sim_count(mark, b, "session_down", NULL), 0);
	sim_check_eq(sim_count(mark, c, "session_down", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_revocation_spreads, sim_test_setup,
						sim_test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
