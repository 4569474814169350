/*
 * test_admit.c: what admission (core/admit.c) counts as one source: the same
 * IPv4 address, or the same IPv6 /64 however the text writes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/node_impl.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6_by_64),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests_name("admit", tests, NULL, NULL);
}
