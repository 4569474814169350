/*
 * test_admit.c: what admission (core/admit.c) counts as one source: the same
 * IPv4 address, or the same IPv6 /64 however the text writes it; and the
 * back-off table of sources whose handshakes failed (core/backoff.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "core/node_impl.h"

#define CAP 4
static struct backoff_entry mem[CAP];

static void table(struct backoff_table *t)
{
	backoff_init(t, mem, CAP);
}

static void test_ipv4(void **state)
{
	(void)state;
	assert_true(admit_same_source("10.0.0.1:1000", "10.0.0.1:2000"));
	assert_false(admit_same_source("10.0.0.1:1000", "10.0.0.2:1000"));
	assert_false(admit_same_source("10.0.0.1:1000", "10.0.0.10:1000"));
	assert_true(admit_same_source("127.0.0.1:5", "127.0.0.1:5"));
}

static void test_ipv6_by_64(void **state)
{
	(void)state;
	/* One /64, written every way. */
	assert_true(admit_same_source("[2001:db8:1:2:3:4:5:6]:7", "[2001:db8:1:2::9]:8"));
	assert_true(admit_same_source("[2001:db8:1:2::]:1", "[2001:0db8:0001:0002:ffff::1]:2"));
	assert_true(admit_same_source("[2001:db8::1]:1", "[2001:db8:0:0:1::2]:1"));
	assert_true(admit_same_source("[::1]:1", "[::]:2"));
	assert_true(admit_same_source("[fe80::1]:1", "[FE80::2]:1"));
	/* Another /64. */
	assert_false(admit_same_source("[2001:db8:1:2::1]:1", "[2001:db8:1:3::1]:1"));
	assert_false(admit_same_source("[2001:db8::1]:1", "[2001:db9::1]:1"));
	assert_false(admit_same_source("[1:2:3:4:5:6:7:8]:1", "[1:2:3::4:5:6:7]:1"));
	/* IPv4 and IPv6 are never one source. */
	assert_false(admit_same_source("[::ffff:a00:1]:1", "10.0.0.1:1"));
}

static void test_malformed(void **state)
{
	(void)state;
	/* What does not parse is compared as text: never merged with another address. */
	assert_false(admit_same_source("[1:::2]:1", "[1::3]:1"));
	assert_false(admit_same_source("[1:2:3:4:5:6:7:8:9]:1", "[1:2:3:4::]:1"));
	assert_false(admit_same_source("[12345::1]:1", "[1234::1]:1"));
	assert_false(admit_same_source("[1:]:1", "[1::]:1"));
	assert_true(admit_same_source("[1:::2]:1", "[1:::2]:7"));
}

static void test_backoff_growth(void **state)
{
	struct backoff_table t;
	uint64_t now = 5000, want = TETHER_BACKOFF_MIN_MS;
	unsigned k;

	(void)state;
	table(&t);
	assert_false(backoff_active(&t, "10.0.0.1:1", now));
	/* The first failure enters back-off; later ones in it do not again. */
	assert_true(backoff_fail(&t, "10.0.0.1:1000", now));
	assert_true(backoff_active(&t, "10.0.0.1:2000", now));
	assert_true(backoff_active(&t, "10.0.0.1:2000", now + TETHER_BACKOFF_MIN_MS - 1));
	assert_false(backoff_active(&t, "10.0.0.1:2000", now + TETHER_BACKOFF_MIN_MS));
	assert_false(backoff_active(&t, "10.0.0.2:1000", now));
	/* Each failure in a row doubles it, up to the cap. */
	for (k = 2; k <= 12; k++) {
		bool entered = backoff_fail(&t, "10.0.0.1:3", now);

		want = want * 2 > TETHER_BACKOFF_MAX_MS ? TETHER_BACKOFF_MAX_MS : want * 2;
		assert_false(entered);
		assert_int_equal(backoff_fails(&t, "10.0.0.1:9"), k);
		assert_true(backoff_active(&t, "10.0.0.1:9", now + want - 1));
		assert_false(backoff_active(&t, "10.0.0.1:9", now + want));
	}
	assert_int_equal(want, TETHER_BACKOFF_MAX_MS);
	/* After its back-off, a failure enters it again, longer still. */
	now += want;
	assert_true(backoff_fail(&t, "10.0.0.1:3", now));
	assert_int_equal(backoff_fails(&t, "10.0.0.1:9"), 13);
	assert_true(backoff_active(&t, "10.0.0.1:9", now + TETHER_BACKOFF_MAX_MS - 1));
	/* Quiet for the cap past its back-off: starts over at the minimum. */
	now += 2 * TETHER_BACKOFF_MAX_MS;
	assert_true(backoff_fail(&t, "10.0.0.1:3", now));
	assert_int_equal(backoff_fails(&t, "10.0.0.1:9"), 1);
	assert_false(backoff_active(&t, "10.0.0.1:9", now + TETHER_BACKOFF_MIN_MS));
}

static void test_backoff_cleared(void **state)
{
	struct backoff_table t;

	(void)state;
	table(&t);
	assert_true(backoff_fail(&t, "10.0.0.1:1", 100));
	assert_false(backoff_fail(&t, "10.0.0.1:1", 200));
	assert_true(backoff_fail(&t, "10.0.0.2:1", 200));
	/* A success from the source (any port) clears it, and only it. */
	backoff_ok(&t, "10.0.0.1:4444");
	assert_false(backoff_active(&t, "10.0.0.1:1", 300));
	assert_int_equal(backoff_fails(&t, "10.0.0.1:1"), 0);
	assert_true(backoff_active(&t, "10.0.0.2:1", 300));
	/* And the next failure starts from one. */
	assert_true(backoff_fail(&t, "10.0.0.1:1", 400));
	assert_int_equal(backoff_fails(&t, "10.0.0.1:1"), 1);
	backoff_ok(&t, "10.0.0.9:1"); /* unknown: nothing happens */
	assert_true(backoff_active(&t, "10.0.0.2:1", 300));
}

static void test_backoff_cap_and_eviction(void **state)
{
	struct backoff_table t;
	char a[32];
	unsigned i;

	(void)state;
	table(&t);
	/* Four sources fill it; the least recently failed gives way to a fifth. */
	assert_true(backoff_fail(&t, "10.0.0.1:1", 100));
	assert_true(backoff_fail(&t, "10.0.0.2:1", 200));
	assert_true(backoff_fail(&t, "10.0.0.3:1", 300));
	assert_true(backoff_fail(&t, "10.0.0.4:1", 400));
	assert_false(backoff_fail(&t, "10.0.0.1:1", 500)); /* 1 failed again: now 2 is oldest */
	assert_true(backoff_fail(&t, "10.0.0.5:1", 600));
	assert_int_equal(backoff_fails(&t, "10.0.0.2:1"), 0);
	assert_false(backoff_active(&t, "10.0.0.2:1", 600));
	assert_int_equal(backoff_fails(&t, "10.0.0.1:1"), 2);
	assert_true(backoff_active(&t, "10.0.0.3:1", 600));
	assert_true(backoff_active(&t, "10.0.0.5:1", 600));
	/* Never more than its entries, whatever comes. */
	for (i = 0; i < 100; i++) {
		snprintf(a, sizeof(a), "192.0.2.%u:80", i);
		assert_true(backoff_fail(&t, a, 1000 + i));
	}
	for (i = 0; i < 100; i++) {
		snprintf(a, sizeof(a), "192.0.2.%u:80", i);
		assert_int_equal(backoff_active(&t, a, 1100), i >= 100 - CAP);
	}
	/* No table (TETHER_BACKOFF_SOURCES 0): nothing is ever in back-off. */
	backoff_init(&t, NULL, 0);
	assert_false(backoff_fail(&t, "10.0.0.1:1", 1));
	assert_false(backoff_active(&t, "10.0.0.1:1", 1));
}

static void test_backoff_by_64(void **state)
{
	struct backoff_table t;

	(void)state;
	table(&t);
	assert_true(backoff_fail(&t, "[2001:db8:1:2::1]:443", 100));
	/* The whole /64 is one source, however it is written ... */
	assert_true(backoff_active(&t, "[2001:db8:1:2:ffff:1:2:3]:9", 100));
	assert_false(backoff_fail(&t, "[2001:0db8:0001:0002::7]:9", 100));
	assert_int_equal(backoff_fails(&t, "[2001:db8:1:2::]:1"), 2);
	/* ... another /64 is not, nor is IPv4. */
	assert_false(backoff_active(&t, "[2001:db8:1:3::1]:443", 100));
	assert_false(backoff_active(&t, "10.0.0.1:443", 100));
	/* A success from anywhere in the /64 clears it. */
	backoff_ok(&t, "[2001:db8:1:2::abcd]:5");
	assert_false(backoff_active(&t, "[2001:db8:1:2::1]:443", 100));
}

static void test_backoff_reasons(void **state)
{
	(void)state;
	assert_true(backoff_counts(REASON_TLS_ERROR));
	assert_true(backoff_counts(REASON_HANDSHAKE_TIMEOUT));
	assert_true(backoff_counts(REASON_UNKNOWN_CA));
	assert_true(backoff_counts(REASON_IDENTITY_NOT_ALLOWED));
	/* Ours, not the source's. */
	assert_false(backoff_counts(REASON_EVICTED));
	assert_false(backoff_counts(REASON_TLS_MEMORY));
	assert_false(backoff_counts(REASON_SHUTDOWN));
	assert_false(backoff_counts(REASON_RELOAD));
	assert_false(backoff_counts(REASON_DUPLICATE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6_by_64),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_backoff_growth),
		cmocka_unit_test(test_backoff_cleared),
		cmocka_unit_test(test_backoff_cap_and_eviction),
		cmocka_unit_test(test_backoff_by_64),
		cmocka_unit_test(test_backoff_reasons),
	};

	return cmocka_run_group_tests_name("admit", tests, NULL, NULL);
}
