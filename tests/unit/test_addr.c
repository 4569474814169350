/*
 * test_addr.c: core/addr.c, the one parser of IP addresses in text, against
 * known answers and against the C library's inet_pton() as an independent
 * implementation over many generated strings (valid, nearly valid and
 * broken).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "core/addr.h"

static void test_v4_answers(void **state)
{
	uint8_t out[4];

	(void)state;
	assert_true(addr_v4("10.0.0.1", 8, out));
	assert_memory_equal(out, "\x0a\x00\x00\x01", 4);
	assert_true(addr_v4("255.255.255.255", 15, out));
	assert_memory_equal(out, "\xff\xff\xff\xff", 4);
	assert_true(addr_v4("1.2.3.4x", 7, NULL)); /* only n bytes count */
	assert_false(addr_v4("256.0.0.1", 9, out));
	assert_false(addr_v4("01.2.3.4", 8, out));
	assert_false(addr_v4("1.2.3", 5, out));
	assert_false(addr_v4("1.2.3.4.5", 9, out));
	assert_false(addr_v4("1..3.4", 6, out));
	assert_false(addr_v4("", 0, out));
	assert_false(addr_v4("1.2.3.", 6, out));
	assert_false(addr_v4("1234.2.3.4", 10, out));
}

static void test_v6_answers(void **state)
{
	static const uint8_t loop[16] = {[15] = 1};
	static const uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1};
	static const uint8_t doc[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	uint8_t out[16];

	(void)state;
	assert_true(addr_v6("::1", 3, out));
	assert_memory_equal(out, loop, 16);
	assert_true(addr_v6("::ffff:127.0.0.1", 16, out));
	assert_memory_equal(out, mapped, 16);
	assert_true(addr_v6("2001:db8::1", 11, out));
	assert_memory_equal(out, doc, 16);
	assert_true(addr_v6("2001:DB8:0:0:0:0:0:1", 20, out));
	assert_memory_equal(out, doc, 16);
	assert_true(addr_v6("::", 2, out));
	assert_false(addr_v6(":", 1, out));
	assert_false(addr_v6(":::", 3, out));
	assert_false(addr_v6("1::2::3", 7, out));
	assert_false(addr_v6("1:2:3:4:5:6:7:8:9", 17, out));
	assert_false(addr_v6("1:2:3:4:5:6:7::8", 16, out));
	assert_false(addr_v6("12345::", 7, out));
	assert_false(addr_v6("1:", 2, out));
	assert_false(addr_v6("fe80::1%eth0", 12, out));
	assert_false(addr_v6("1:2:3:4:5:6:7:1.2.3.4", 21, out));
	assert_true(addr_v6("1:2:3:4:5:6:1.2.3.4", 19, out));
}

/* A deterministic generator (xorshift), so a failure names its string. */
static uint64_t rng = 0x9e3779b97f4a7c15u;

static unsigned next(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Strings near the grammar: pieces of addresses, glued at random. */
static size_t gen(char *s, size_t cap)
{
	static const char *const piece[] = {
		"0",	   "1",		"255", "256",  "01",	  "ffff", "FFFF",
		"abcd",	   "12345",	"db8", "2001", "::",	  ":",	  ".",
		"1.2.3.4", "127.0.0.1", "g",   "",     "0.0.0.0", "%",	  "x"};
	size_t len = 0, k = 1 + next(10);

	while (k-- > 0) {
		const char *p = piece[next(sizeof(piece) / sizeof(piece[0]))];
		size_t pl = strlen(p);

		if (len + pl + 1 >= cap)
			break;
		memcpy(s + len, p, pl);
		len += pl;
		if (next(3) == 0 && len + 1 < cap)
			s[len++] = next(2) ? ':' : '.';
	}
	s[len] = '\0';
	return len;
}

static void test_against_inet_pton(void **state)
{
	unsigned i, valid4 = 0, valid6 = 0;

	(void)state;
	for (i = 0; i < 200000; i++) {
		char s[64];
		uint8_t ours[16], libc[16];
		size_t n = gen(s, sizeof(s));
		bool ok4 = addr_v4(s, n, ours);
		bool lc4 = inet_pton(AF_INET, s, libc) == 1;

		if (ok4 != lc4)
			fail_msg("\"%s\": addr_v4 %d, inet_pton %d", s, ok4, lc4);
		if (ok4) {
			assert_memory_equal(ours, libc, 4);
			valid4++;
		}
		bool ok6 = addr_v6(s, n, ours);
		bool lc6 = inet_pton(AF_INET6, s, libc) == 1;

		if (ok6 != lc6)
			fail_msg("\"%s\": addr_v6 %d, inet_pton %d", s, ok6, lc6);
		if (ok6) {
			assert_memory_equal(ours, libc, 16);
			valid6++;
		}
	}
	/* The generator must reach both grammars, or the comparison says little. */
	assert_true(valid4 > 100);
	assert_true(valid6 > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_answers),
		cmocka_unit_test(test_v6_answers),
		cmocka_unit_test(test_against_inet_pton),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
