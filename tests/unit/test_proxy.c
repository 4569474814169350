/*
 * test_proxy.c: the PROXY v2 header (core/proxy.c) against headers written
 * out byte by byte from haproxy's proxy-protocol.txt, section 2.2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/proxy.h"

#define SIG 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A

static void test_ipv4_all_tlvs(void **state)
{
	static const uint8_t spki[32] = {1,  2,	 3,  4,	 5,  6,	 7,  8,	 9,  10, 11,
					 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
					 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
	const struct proxy_info pi = {.src = "127.0.0.1:12345",
				      .dst = "10.0.0.2:8443",
				      .tls_version = "TLSv1.3",
				      .cn = "ops",
				      .cipher = "X",
				      .id = "spiffe://p/ops",
				      .spki = spki,
				      .peer = NULL};
	static const uint8_t want[] = {SIG,
				       0x21,
				       0x11,
				       0x00,
				       12 + 3 + 5 + 10 + 6 + 4 + 3 + 14 + 3 + 32,
				       127,
				       0,
				       0,
				       1, /* source address */
				       10,
				       0,
				       0,
				       2, /* destination address */
				       0x30,
				       0x39, /* 12345 */
				       0x20,
				       0xFB, /* 8443 */
				       0x20,
				       0x00,
				       5 + 10 + 6 + 4, /* PP2_TYPE_SSL */
				       0x03,
				       0,
				       0,
				       0,
				       0, /* client SSL|CERT_CONN, verify 0 */
				       0x21,
				       0x00,
				       7,
				       'T',
				       'L',
				       'S',
				       'v',
				       '1',
				       '.',
				       '3', /* SSL_VERSION */
				       0x22,
				       0x00,
				       3,
				       'o',
				       'p',
				       's', /* SSL_CN */
				       0x23,
				       0x00,
				       1,
				       'X', /* SSL_CIPHER */
				       0xE0,
				       0x00,
				       14,
				       's',
				       'p',
				       'i',
				       'f',
				       'f',
				       'e',
				       ':',
				       '/',
				       '/',
				       'p',
				       '/',
				       'o',
				       'p',
				       's',
				       0xE1,
				       0x00,
				       32,
				       1,
				       2,
				       3,
				       4,
				       5,
				       6,
				       7,
				       8,
				       9,
				       10,
				       11,
				       12,
				       13,
				       14,
				       15,
				       16,
				       17,
				       18,
				       19,
				       20,
				       21,
				       22,
				       23,
				       24,
				       25,
				       26,
				       27,
				       28,
				       29,
				       30,
				       31,
				       32};
	uint8_t buf[512];
	size_t n;

	(void)state;
	n = proxy_v2_write(&pi, buf, sizeof(buf));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* Exactly big enough fits; one byte less does not. */
	assert_int_equal(proxy_v2_write(&pi, buf, sizeof(want)), sizeof(want));
	assert_int_equal(proxy_v2_write(&pi, buf, sizeof(want) - 1), 0);
}

static void test_ipv6_and_peer(void **state)
{
	const struct proxy_info pi = {
		.src = "[2001:db8::1]:443", .dst = "[::1]:7", .peer = "core-01"};
	static const uint8_t want[] = {SIG,  0x21, 0x21, 0x00, 36 + 3 + 7, 0x20, 0x01, 0x0d,
				       0xb8, 0,	   0,	 0,    0,	   0,	 0,    0,
				       0,    0,	   0,	 0,    1, /* 2001:db8::1 */
				       0,    0,	   0,	 0,    0,	   0,	 0,    0,
				       0,    0,	   0,	 0,    0,	   0,	 0,    1, /* ::1 */
				       0x01, 0xBB, 0x00, 0x07, 0xE2,	   0x00, 7,    'c',
				       'o',  'r',  'e',	 '-',  '0',	   '1'};
	uint8_t buf[256];

	(void)state;
	assert_int_equal(proxy_v2_write(&pi, buf, sizeof(buf)), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_ipv6_forms(void **state)
{
	static const struct {
		const char *addr;
		uint8_t bytes[16];
	} cases[] = {
		{"[1:2:3:4:5:6:7:8]:1", {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}},
		{"[1::]:1", {0, 1}},
		{"[::]:1", {0}},
		{"[fe80::a:b]:1", {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0x0b}},
		{"[1:2:3::6:7:8]:1", {0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 6, 0, 7, 0, 8}},
	};
	uint8_t buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct proxy_info pi = {.src = cases[i].addr, .dst = "[::1]:2"};

		assert_int_equal(proxy_v2_write(&pi, buf, sizeof(buf)), 16 + 36);
		assert_int_equal(buf[13], 0x21);
		assert_memory_equal(buf + 16, cases[i].bytes, 16);
	}
}

/* Anything but two literals of one family: UNSPEC, no addresses, TLVs all the same. */
static void test_unspec(void **state)
{
	static const char *const bad[] = {"[::1]:1", /* the other side is IPv4: families differ */
					  "1.2.3:4",
					  "256.1.1.1:1",
					  "1.2.3.4.5:1",
					  "1.2.3.4",
					  "1.2.3.4:65536",
					  "[1::2::3]:1",
					  "[1:2:3:4:5:6:7:8:9]:1",
					  "[1:2:3:4:5:6:7]:1",
					  "[::1]",
					  "host:1",
					  "",
					  NULL};
	uint8_t buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct proxy_info pi = {.src = bad[i], .dst = "127.0.0.1:1", .id = "x"};
		static const uint8_t want[] = {SIG, 0x21, 0x00, 0x00, 4, 0xE0, 0x00, 1, 'x'};

		assert_int_equal(proxy_v2_write(&pi, buf, sizeof(buf)), sizeof(want));
		assert_memory_equal(buf, want, sizeof(want));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_all_tlvs),
		cmocka_unit_test(test_ipv6_and_peer),
		cmocka_unit_test(test_ipv6_forms),
		cmocka_unit_test(test_unspec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
