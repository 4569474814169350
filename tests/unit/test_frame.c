/*
 * test_frame.c: the frame codec against docs/PROTOCOL.md: every type round
 * trips, every malformed case is refused with the right GOAWAY code and
 * reason, and the example exchange of the document is what the encoder writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "core/frame.h"

#define MAX_PAYLOAD 4088u /* what tether announces: 4096-byte records - header */

/* ---------- test utilities ---------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	fail_msg("bad hex character '%c'", c);
	return 0; /* not reached: fail_msg() jumps out */
}

/* Parse "01 ab ..." (spaces and newlines ignored) into out; returns the byte count. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int half = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == '\n')
			continue;
		v = hexval(*s);
		if (half < 0) {
			half = v;
			continue;
		}
		assert_true(n < cap);
		out[n++] = (uint8_t)(half << 4 | v);
		half = -1;
	}
	assert_int_equal(half, -1);
	return n;
}

static void put_header(uint8_t *out, uint8_t type, uint8_t flags, uint16_t len, uint32_t stream)
{
	struct frame_header h = {.type = type, .flags = flags, .length = len, .stream = stream};

	frame_header_encode(&h, out);
}

/* Decode a header built from fields; returns the result, why and code through pointers. */
static int try_header(uint8_t type, uint8_t flags, uint16_t len, uint32_t stream, uint32_t max,
		      const char **why, int *code)
{
	uint8_t b[FRAME_HEADER_LEN];
	struct frame_header h;

	put_header(b, type, flags, len, stream);
	*why = NULL;
	*code = -1;
	return frame_header_decode(b, max, &h, why, code);
}

static void expect_header_ok(uint8_t type, uint16_t len, uint32_t stream, uint32_t max)
{
	const char *why;
	int code;

	assert_int_equal(try_header(type, 0, len, stream, max, &why, &code), 0);
}

static void expect_header_bad(uint8_t type, uint8_t flags, uint16_t len, uint32_t stream,
			      uint32_t max, int want_code, const char *want_why)
{
	const char *why;
	int code;

	assert_int_equal(try_header(type, flags, len, stream, max, &why, &code),
			 TETHER_ERR_PROTOCOL);
	assert_int_equal(code, want_code);
	assert_non_null(why);
	assert_string_equal(why, want_why);
}

static struct frame_hello hello_of(const char *name)
{
	struct frame_hello h = {
		.version = FRAME_VERSION,
		.max_payload = MAX_PAYLOAD,
		.window = 65536,
		.capabilities = 0,
	};

	snprintf(h.name, sizeof(h.name), "%s", name);
	return h;
}

/* A valid HELLO payload for name, built by hand (independently of the encoder). */
static size_t hello_bytes(uint8_t *p, const char *name)
{
	size_t n = strlen(name);

	memcpy(p, "\x01\x00\x0f\xf8\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	p[12] = (uint8_t)n;
	memcpy(p + 13, name, n);
	return 13 + n;
}

static void expect_hello_bad(const uint8_t *p, size_t len, const char *want_why)
{
	struct frame_hello h;
	const char *why = NULL;

	assert_int_equal(frame_hello_decode(p, len, &h, &why), TETHER_ERR_PROTOCOL);
	assert_non_null(why);
	assert_string_equal(why, want_why);
}

static void expect_open_bad(const uint8_t *p, size_t len, const char *want_why)
{
	char svc[FRAME_NAME_MAX + 1];
	const char *why = NULL;

	assert_int_equal(frame_open_decode(p, len, svc, &why), TETHER_ERR_PROTOCOL);
	assert_string_equal(why, want_why);
	assert_string_equal(svc, "");
}

/* ---------- header ---------- */

static void test_header_roundtrip(void **state)
{
	static const struct frame_header cases[] = {
		{FRAME_HELLO, 0, 14, 0},      {FRAME_HELLO, 0, 76, 0},
		{FRAME_OPEN, 0, 2, 1},	      {FRAME_OPEN, 0, 64, 0xfffffffe},
		{FRAME_DATA, 0, 1, 3},	      {FRAME_DATA, 0, MAX_PAYLOAD, 0xffffffff},
		{FRAME_WINDOW, 0, 4, 2},      {FRAME_CLOSE, 0, 0, 7},
		{FRAME_RESET, 0, 4, 0x10000}, {FRAME_PING, 0, 8, 0},
		{FRAME_PONG, 0, 8, 0},	      {FRAME_GOAWAY, 0, 4, 0},
		{FRAME_GOAWAY, 0, 204, 0},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[FRAME_HEADER_LEN];
		struct frame_header h;
		const char *why = "untouched";
		int code = -1;

		frame_header_encode(&cases[i], b);
		assert_int_equal(frame_header_decode(b, MAX_PAYLOAD, &h, &why, &code), 0);
		assert_int_equal(h.type, cases[i].type);
		assert_int_equal(h.flags, 0);
		assert_int_equal(h.length, cases[i].length);
		assert_int_equal(h.stream, cases[i].stream);
	}
}

static void test_header_byte_order(void **state)
{
	struct frame_header h = {.type = FRAME_DATA, .length = 0x0102, .stream = 0x0a0b0c0d};
	uint8_t b[FRAME_HEADER_LEN];
	(void)state;

	frame_header_encode(&h, b);
	assert_memory_equal(b, "\x02\x00\x01\x02\x0a\x0b\x0c\x0d", 8);
}

static void test_header_unknown_type(void **state)
{
	(void)state;
	for (unsigned t = 0xf; t <= 0xff; t++)
		expect_header_bad((uint8_t)t, 0, 0, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
				  "unknown frame type");
	/* The type is checked first, before flags, size and stream. */
	expect_header_bad(0xf, 0xff, 0xffff, 1, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "unknown frame type");
}

static void test_header_flags(void **state)
{
	(void)state;
	for (unsigned t = FRAME_HELLO; t <= FRAME_GOAWAY; t++)
		for (unsigned bit = 0; bit < 8; bit++)
			expect_header_bad((uint8_t)t, (uint8_t)(1u << bit), 8, 0, MAX_PAYLOAD,
					  FRAME_GOAWAY_PROTOCOL, "nonzero flags");
	/* Flags come before size. */
	expect_header_bad(FRAME_DATA, 1, 0xffff, 1, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "nonzero flags");
}

static void test_header_frame_size(void **state)
{
	(void)state;
	expect_header_ok(FRAME_DATA, MAX_PAYLOAD, 1, MAX_PAYLOAD);
	expect_header_bad(FRAME_DATA, 0, MAX_PAYLOAD + 1, 1, MAX_PAYLOAD, FRAME_GOAWAY_FRAME_SIZE,
			  "frame too large");
	expect_header_bad(FRAME_DATA, 0, 0xffff, 1, MAX_PAYLOAD, FRAME_GOAWAY_FRAME_SIZE,
			  "frame too large");
	expect_header_ok(FRAME_DATA, 0xffff, 1, 0xffff);
	expect_header_ok(FRAME_DATA, 1024, 1, FRAME_MIN_MAX_PAYLOAD);
	expect_header_bad(FRAME_DATA, 0, 1025, 1, FRAME_MIN_MAX_PAYLOAD, FRAME_GOAWAY_FRAME_SIZE,
			  "frame too large");
	/* Over the announced maximum is FRAME_SIZE whatever the type's own bounds. */
	expect_header_bad(FRAME_HELLO, 0, MAX_PAYLOAD + 1, 0, MAX_PAYLOAD, FRAME_GOAWAY_FRAME_SIZE,
			  "frame too large");
	/* ...and is checked before the stream id. */
	expect_header_bad(FRAME_DATA, 0, MAX_PAYLOAD + 1, 0, MAX_PAYLOAD, FRAME_GOAWAY_FRAME_SIZE,
			  "frame too large");
	/* Within the maximum but over the type's bound is PROTOCOL. */
	expect_header_bad(FRAME_GOAWAY, 0, 205, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "bad GOAWAY length");
}

static void test_header_type_bounds(void **state)
{
	static const struct {
		uint8_t type;
		uint16_t min, max;
		uint32_t stream;
		const char *why;
	} b[] = {
		{FRAME_HELLO, 14, 76, 0, "bad HELLO length"},
		{FRAME_OPEN, 2, 64, 1, "bad OPEN length"},
		{FRAME_WINDOW, 4, 4, 1, "bad WINDOW length"},
		{FRAME_CLOSE, 0, 0, 1, "CLOSE with a payload"},
		{FRAME_RESET, 4, 4, 1, "bad RESET length"},
		{FRAME_PING, 8, 8, 0, "bad PING length"},
		{FRAME_PONG, 8, 8, 0, "bad PONG length"},
		{FRAME_GOAWAY, 4, 204, 0, "bad GOAWAY length"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		expect_header_ok(b[i].type, b[i].min, b[i].stream, MAX_PAYLOAD);
		expect_header_ok(b[i].type, b[i].max, b[i].stream, MAX_PAYLOAD);
		if (b[i].min > 0)
			expect_header_bad(b[i].type, 0, b[i].min - 1, b[i].stream, MAX_PAYLOAD,
					  FRAME_GOAWAY_PROTOCOL, b[i].why);
		expect_header_bad(b[i].type, 0, b[i].max + 1, b[i].stream, MAX_PAYLOAD,
				  FRAME_GOAWAY_PROTOCOL, b[i].why);
		expect_header_bad(b[i].type, 0, 1000, b[i].stream, MAX_PAYLOAD,
				  FRAME_GOAWAY_PROTOCOL, b[i].why);
	}
	expect_header_ok(FRAME_DATA, 1, 1, MAX_PAYLOAD);
	expect_header_bad(FRAME_DATA, 0, 0, 1, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL, "empty DATA");
	/* The length bound is checked before the stream id. */
	expect_header_bad(FRAME_PING, 0, 7, 1, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "bad PING length");
}

static void test_header_stream_rules(void **state)
{
	static const struct {
		uint8_t type;
		uint16_t len;
		int zero; /* 1: stream 0 required */
		const char *why;
	} r[] = {
		{FRAME_HELLO, 14, 1, "HELLO on a non-zero stream"},
		{FRAME_OPEN, 2, 0, "OPEN on stream 0"},
		{FRAME_DATA, 1, 0, "DATA on stream 0"},
		{FRAME_WINDOW, 4, 0, "WINDOW on stream 0"},
		{FRAME_CLOSE, 0, 0, "CLOSE on stream 0"},
		{FRAME_RESET, 4, 0, "RESET on stream 0"},
		{FRAME_PING, 8, 1, "PING on a non-zero stream"},
		{FRAME_PONG, 8, 1, "PONG on a non-zero stream"},
		{FRAME_GOAWAY, 4, 1, "GOAWAY on a non-zero stream"},
	};
	static const uint32_t nonzero[] = {1, 2, 0x80000000u, 0xffffffffu};
	(void)state;

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		if (r[i].zero) {
			expect_header_ok(r[i].type, r[i].len, 0, MAX_PAYLOAD);
			for (size_t j = 0; j < 4; j++)
				expect_header_bad(r[i].type, 0, r[i].len, nonzero[j], MAX_PAYLOAD,
						  FRAME_GOAWAY_PROTOCOL, r[i].why);
		} else {
			for (size_t j = 0; j < 4; j++)
				expect_header_ok(r[i].type, r[i].len, nonzero[j], MAX_PAYLOAD);
			expect_header_bad(r[i].type, 0, r[i].len, 0, MAX_PAYLOAD,
					  FRAME_GOAWAY_PROTOCOL, r[i].why);
		}
	}
}

static void test_header_null_out_params(void **state)
{
	uint8_t b[FRAME_HEADER_LEN];
	struct frame_header h;
	(void)state;

	put_header(b, 0x42, 0, 0, 0);
	assert_int_equal(frame_header_decode(b, MAX_PAYLOAD, &h, NULL, NULL), TETHER_ERR_PROTOCOL);
	put_header(b, FRAME_DATA, 0, 5000, 1);
	assert_int_equal(frame_header_decode(b, MAX_PAYLOAD, &h, NULL, NULL), TETHER_ERR_PROTOCOL);
	put_header(b, FRAME_DATA, 0, 5, 1);
	assert_int_equal(frame_header_decode(b, MAX_PAYLOAD, &h, NULL, NULL), 0);
}

/*
 * Every type byte, both flag states, lengths around every bound and both kinds
 * of stream id, against an oracle written from the PROTOCOL.md tables.
 */
static void test_header_exhaustive(void **state)
{
	static const uint16_t lens[] = {0,   1,	   2,	 3,    4,    5,	   7,	 8,	 9,	13,
					14,  15,   63,	 64,   65,   75,   76,	 77,	 203,	204,
					205, 1023, 1024, 1025, 4087, 4088, 4089, 0xfffe, 0xffff};
	static const uint32_t maxes[] = {1024, 4088, 0xffff};
	(void)state;

	for (unsigned t = 0; t < 256; t++)
		for (unsigned f = 0; f < 2; f++)
			for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
				for (unsigned s = 0; s < 2; s++)
					for (size_t mi = 0; mi < 3; mi++) {
						unsigned len = lens[li], max = maxes[mi];
						int want = FRAME_GOAWAY_NORMAL; /* = accept */
						unsigned lo = 0, hi = 0, zero = 0;
						const char *why;
						int code, rc;

						switch (t) {
						case 0:
							lo = 14, hi = 76, zero = 1;
							break;
						case 1:
							lo = 2, hi = 64;
							break;
						case 2:
							lo = 1, hi = 0xffff;
							break;
						case 3:
							lo = hi = 4;
							break;
						case 4:
							lo = hi = 0;
							break;
						case 5:
							lo = hi = 4;
							break;
						case 6:
						case 7:
							lo = hi = 8, zero = 1;
							break;
						case 8:
							lo = 4, hi = 204, zero = 1;
							break;
						case 9: /* CRL_HAVE: count + 4 x 29 */
							lo = 1, hi = 117, zero = 1;
							break;
						case 10: /* CRL_GET: an issuer id */
							lo = hi = 8, zero = 1;
							break;
						case 11: /* CRL: total, offset, bytes */
							lo = 9, hi = 0xffff, zero = 1;
							break;
						case 12: /* ROLL */
							lo = hi = 0, zero = 1;
							break;
						case 13: /* RENEW_REQ: a CSR */
							lo = 1, hi = 2048, zero = 1;
							break;
						case 14: /* RENEW_ANS: result, then bytes */
							lo = 2, hi = 2049, zero = 1;
							break;
						}
						if (t > 14 || f)
							want = FRAME_GOAWAY_PROTOCOL;
						else if (len > max)
							want = FRAME_GOAWAY_FRAME_SIZE;
						else if (len < lo || len > hi || (s == 0) != zero)
							want = FRAME_GOAWAY_PROTOCOL;

						rc = try_header((uint8_t)t, (uint8_t)f,
								(uint16_t)len, s ? 0x12345679u : 0,
								max, &why, &code);
						if (want == FRAME_GOAWAY_NORMAL) {
							assert_int_equal(rc, 0);
						} else {
							assert_int_equal(rc, TETHER_ERR_PROTOCOL);
							assert_int_equal(code, want);
							assert_non_null(why);
						}
					}
}

/* ---------- HELLO ---------- */

static void test_hello_roundtrip(void **state)
{
	static const char name63[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.";
	struct frame_hello cases[5];
	(void)state;

	cases[0] = hello_of("gw-01");
	cases[1] = hello_of("x");
	cases[2] = hello_of(name63);
	cases[2].window = FRAME_MAX_WINDOW;
	cases[2].max_payload = 0xffff;
	cases[3] = hello_of("a_b-c.d");
	cases[3].window = FRAME_MIN_WINDOW;
	cases[3].max_payload = FRAME_MIN_MAX_PAYLOAD;
	cases[3].capabilities = 0xdeadbeef; /* unknown bits are carried, not refused */
	cases[4] = hello_of("v2-peer");
	cases[4].version = 2; /* the codec reports the version; the caller judges it */

	assert_int_equal(strlen(name63), 63);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[128];
		struct frame_hello out;
		const char *why = NULL;
		size_t nl = strlen(cases[i].name);
		int n = frame_hello_encode(&cases[i], buf, sizeof(buf));

		assert_int_equal(n, 13 + nl);
		assert_int_equal(buf[1], 0); /* reserved */
		assert_int_equal(buf[12], nl);
		assert_int_equal(frame_hello_decode(buf, (size_t)n, &out, &why), 0);
		assert_int_equal(out.version, cases[i].version);
		assert_int_equal(out.max_payload, cases[i].max_payload);
		assert_int_equal(out.window, cases[i].window);
		assert_int_equal(out.capabilities, cases[i].capabilities);
		assert_string_equal(out.name, cases[i].name);
		/* The exact buffer size is enough, one byte less is not. */
		assert_int_equal(frame_hello_encode(&cases[i], buf, (size_t)n), n);
		assert_int_equal(frame_hello_encode(&cases[i], buf, (size_t)n - 1),
				 TETHER_ERR_TOO_BIG);
	}
}

static void test_hello_encode_invalid(void **state)
{
	static const char *const bad_names[] = {"",	 "gw 01",	"gw/01",     "gw:01",
						"gw@01", "caf\xc3\xa9", "tab\there", "a+b"};
	uint8_t buf[128];
	struct frame_hello h;
	(void)state;

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		h = hello_of(bad_names[i]);
		assert_int_equal(frame_hello_encode(&h, buf, sizeof(buf)), TETHER_ERR_INVALID);
	}
	h = hello_of("ok");
	memset(h.name, 'a', sizeof(h.name)); /* 64 chars and no NUL: too long */
	assert_int_equal(frame_hello_encode(&h, buf, sizeof(buf)), TETHER_ERR_INVALID);

	h = hello_of("ok");
	h.max_payload = FRAME_MIN_MAX_PAYLOAD - 1;
	assert_int_equal(frame_hello_encode(&h, buf, sizeof(buf)), TETHER_ERR_INVALID);
	h = hello_of("ok");
	h.window = FRAME_MIN_WINDOW - 1;
	assert_int_equal(frame_hello_encode(&h, buf, sizeof(buf)), TETHER_ERR_INVALID);
	h.window = FRAME_MAX_WINDOW + 1;
	assert_int_equal(frame_hello_encode(&h, buf, sizeof(buf)), TETHER_ERR_INVALID);
	h.window = 0xffffffff;
	assert_int_equal(frame_hello_encode(&h, buf, sizeof(buf)), TETHER_ERR_INVALID);

	h = hello_of("ok");
	assert_int_equal(frame_hello_encode(&h, NULL, 0), TETHER_ERR_TOO_BIG);
}

static void test_hello_decode_structure(void **state)
{
	uint8_t p[128];
	size_t n;
	struct frame_hello h;
	const char *why;
	(void)state;

	n = hello_bytes(p, "gw-01");
	expect_hello_bad(p, 0, "bad HELLO length");
	expect_hello_bad(p, 13, "bad HELLO length");
	memset(p + 13, 'a', 64);
	p[12] = 64;
	expect_hello_bad(p, 77, "bad HELLO length");

	/* name_len disagreeing with the length, both ways, and name_len 0. */
	n = hello_bytes(p, "gw-01");
	p[12] = 6;
	expect_hello_bad(p, n, "HELLO length does not match its name");
	p[12] = 4;
	expect_hello_bad(p, n, "HELLO length does not match its name");
	n = hello_bytes(p, "g");
	p[12] = 0;
	expect_hello_bad(p, n, "HELLO length does not match its name");
	p[12] = 0xff;
	expect_hello_bad(p, n, "HELLO length does not match its name");

	/* The version is reported even when the rest does not parse. */
	n = hello_bytes(p, "gw-01");
	p[0] = 2;
	p[12] = 9;
	why = NULL;
	assert_int_equal(frame_hello_decode(p, n, &h, &why), TETHER_ERR_PROTOCOL);
	assert_int_equal(h.version, 2);
	assert_string_equal(h.name, "");
	assert_int_equal(frame_hello_decode(p, 1, &h, NULL), TETHER_ERR_PROTOCOL);
	assert_int_equal(h.version, 2);
}

static void test_hello_decode_names(void **state)
{
	static const uint8_t bad[] = {' ',  '/',  ':',	'@',  '+',  0,
				      0x7f, 0x80, 0xff, '\n', '\\', '*'};
	uint8_t p[128];
	size_t n;
	(void)state;

	for (size_t i = 0; i < sizeof(bad); i++) {
		n = hello_bytes(p, "gw-01");
		p[13 + 2] = bad[i];
		expect_hello_bad(p, n, "bad HELLO name");
		n = hello_bytes(p, "x");
		p[13] = bad[i];
		expect_hello_bad(p, n, "bad HELLO name");
	}
}

static void test_hello_decode_fields(void **state)
{
	uint8_t p[128];
	size_t n;
	struct frame_hello h;
	(void)state;

	n = hello_bytes(p, "core-01");
	p[2] = 0x03, p[3] = 0xff; /* 1023 */
	expect_hello_bad(p, n, "HELLO max_payload below 1024");
	p[2] = 0, p[3] = 0;
	expect_hello_bad(p, n, "HELLO max_payload below 1024");
	p[2] = 0x04, p[3] = 0x00; /* 1024 */
	assert_int_equal(frame_hello_decode(p, n, &h, NULL), 0);
	assert_int_equal(h.max_payload, 1024);

	n = hello_bytes(p, "core-01");
	memcpy(p + 4, "\x00\x00\x0f\xff", 4); /* 4095 */
	expect_hello_bad(p, n, "HELLO window out of range");
	memcpy(p + 4, "\x00\x00\x00\x00", 4);
	expect_hello_bad(p, n, "HELLO window out of range");
	memcpy(p + 4, "\x80\x00\x00\x00", 4);
	expect_hello_bad(p, n, "HELLO window out of range");
	memcpy(p + 4, "\xff\xff\xff\xff", 4);
	expect_hello_bad(p, n, "HELLO window out of range");
	memcpy(p + 4, "\x7f\xff\xff\xff", 4);
	assert_int_equal(frame_hello_decode(p, n, &h, NULL), 0);
	assert_int_equal(h.window, FRAME_MAX_WINDOW);
	memcpy(p + 4, "\x00\x00\x10\x00", 4);
	assert_int_equal(frame_hello_decode(p, n, &h, NULL), 0);
	assert_int_equal(h.window, FRAME_MIN_WINDOW);

	/* Reserved is ignored; capability bits are reported as received. */
	n = hello_bytes(p, "core-01");
	p[1] = 0xa5;
	memcpy(p + 8, "\x80\x00\x00\x01", 4);
	assert_int_equal(frame_hello_decode(p, n, &h, NULL), 0);
	assert_int_equal(h.capabilities, 0x80000001u);
	assert_string_equal(h.name, "core-01");
}

/* ---------- OPEN ---------- */

static void test_open_roundtrip(void **state)
{
	static const char *const names[] = {
		"m", "modbus", "a.b_c-D9",
		"012345678901234567890123456789012345678901234567890123456789012"};
	(void)state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t buf[80];
		char svc[FRAME_NAME_MAX + 1];
		size_t nl = strlen(names[i]);
		int n = frame_open_encode(names[i], buf, sizeof(buf));

		assert_int_equal(n, 1 + nl);
		assert_int_equal(buf[0], nl);
		assert_int_equal(frame_open_decode(buf, (size_t)n, svc, NULL), 0);
		assert_string_equal(svc, names[i]);
		assert_int_equal(frame_open_encode(names[i], buf, (size_t)n), n);
		assert_int_equal(frame_open_encode(names[i], buf, (size_t)n - 1),
				 TETHER_ERR_TOO_BIG);
	}
}

static void test_open_malformed(void **state)
{
	char long_name[80];
	uint8_t p[80];
	(void)state;

	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	assert_int_equal(frame_open_encode(NULL, p, sizeof(p)), TETHER_ERR_INVALID);
	assert_int_equal(frame_open_encode("", p, sizeof(p)), TETHER_ERR_INVALID);
	assert_int_equal(frame_open_encode(long_name, p, sizeof(p)), TETHER_ERR_INVALID);
	assert_int_equal(frame_open_encode("my service", p, sizeof(p)), TETHER_ERR_INVALID);
	assert_int_equal(frame_open_encode("svc/1", p, sizeof(p)), TETHER_ERR_INVALID);

	memcpy(p,
	       "\x04"
	       "echo",
	       5);
	expect_open_bad(p, 0, "bad OPEN length");
	expect_open_bad(p, 1, "bad OPEN length");
	p[0] = 64;
	memset(p + 1, 'a', 64);
	expect_open_bad(p, 65, "bad OPEN length");

	memcpy(p,
	       "\x03"
	       "echo",
	       5);
	expect_open_bad(p, 5, "OPEN length does not match its service name");
	memcpy(p,
	       "\x05"
	       "echo",
	       5);
	expect_open_bad(p, 5, "OPEN length does not match its service name");
	memcpy(p,
	       "\x00"
	       "e",
	       2);
	expect_open_bad(p, 2, "OPEN length does not match its service name");

	memcpy(p,
	       "\x04"
	       "ec o",
	       5);
	expect_open_bad(p, 5, "bad OPEN service name");
	memcpy(p,
	       "\x04"
	       "ec\0o",
	       5);
	expect_open_bad(p, 5, "bad OPEN service name");
	memcpy(p,
	       "\x04"
	       "ec\xffo",
	       5);
	expect_open_bad(p, 5, "bad OPEN service name");
}

/* ---------- u32 payloads (WINDOW, RESET) and frame_window_add ---------- */

static void test_u32(void **state)
{
	static const uint32_t v[] = {0, 1, 5, 0x7fffffff, 0x80000000, 0xffffffff, 0x01020304};
	uint8_t b[4];
	(void)state;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		frame_u32_encode(v[i], b);
		assert_int_equal(frame_u32_decode(b), v[i]);
	}
	frame_u32_encode(0x01020304, b);
	assert_memory_equal(b, "\x01\x02\x03\x04", 4);
}

static void test_window_add(void **state)
{
	uint32_t w = 65536;
	const char *why = NULL;
	int code = -1;
	(void)state;

	assert_int_equal(frame_window_add(&w, 0, &why, &code), TETHER_ERR_PROTOCOL);
	assert_int_equal(code, FRAME_GOAWAY_PROTOCOL);
	assert_string_equal(why, "bad WINDOW increment");
	assert_int_equal(w, 65536);
	assert_int_equal(frame_window_add(&w, 0x80000000u, &why, &code), TETHER_ERR_PROTOCOL);
	assert_int_equal(code, FRAME_GOAWAY_PROTOCOL);
	assert_int_equal(frame_window_add(&w, 0xffffffffu, NULL, NULL), TETHER_ERR_PROTOCOL);

	assert_int_equal(frame_window_add(&w, 1, &why, &code), 0);
	assert_int_equal(w, 65537);
	w = 0;
	assert_int_equal(frame_window_add(&w, FRAME_MAX_WINDOW, &why, &code), 0);
	assert_int_equal(w, FRAME_MAX_WINDOW);
	assert_int_equal(frame_window_add(&w, 1, &why, &code), TETHER_ERR_PROTOCOL);
	assert_int_equal(code, FRAME_GOAWAY_FLOW);
	assert_string_equal(why, "window over 2^31-1");
	assert_int_equal(w, FRAME_MAX_WINDOW);

	w = 65536;
	assert_int_equal(frame_window_add(&w, FRAME_MAX_WINDOW - 65536, NULL, NULL), 0);
	w = 65536;
	assert_int_equal(frame_window_add(&w, FRAME_MAX_WINDOW - 65535, NULL, &code),
			 TETHER_ERR_PROTOCOL);
	assert_int_equal(code, FRAME_GOAWAY_FLOW);
	assert_int_equal(w, 65536);
}

/* ---------- GOAWAY ---------- */

static void test_goaway_roundtrip(void **state)
{
	char r200[FRAME_REASON_MAX + 1];
	uint8_t buf[256];
	char reason[FRAME_REASON_MAX + 1];
	uint32_t code;
	int n;
	(void)state;

	for (uint32_t c = 0; c <= 10; c++) {
		n = frame_goaway_encode(c, "protocol error: bad OPEN length", buf, sizeof(buf));
		assert_int_equal(n, 4 + 31);
		assert_int_equal(frame_goaway_decode(buf, (size_t)n, &code, reason, NULL), 0);
		assert_int_equal(code, c);
		assert_string_equal(reason, "protocol error: bad OPEN length");
	}
	n = frame_goaway_encode(0xffffffffu, "", buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_int_equal(frame_goaway_decode(buf, 4, &code, reason, NULL), 0);
	assert_int_equal(code, 0xffffffffu);
	assert_string_equal(reason, "");

	n = frame_goaway_encode(FRAME_GOAWAY_NORMAL, NULL, buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "\0\0\0\0", 4);

	for (int i = 0; i < FRAME_REASON_MAX; i++)
		r200[i] = (char)(0x20 + i % 95); /* every printable byte */
	r200[FRAME_REASON_MAX] = '\0';
	n = frame_goaway_encode(FRAME_GOAWAY_INTERNAL, r200, buf, sizeof(buf));
	assert_int_equal(n, 204);
	assert_int_equal(frame_goaway_decode(buf, 204, &code, reason, NULL), 0);
	assert_string_equal(reason, r200);
	assert_int_equal(frame_goaway_encode(FRAME_GOAWAY_INTERNAL, r200, buf, 203),
			 TETHER_ERR_TOO_BIG);
	assert_int_equal(frame_goaway_encode(0, "", buf, 3), TETHER_ERR_TOO_BIG);
}

static void test_goaway_encode_sanitizes(void **state)
{
	char long_reason[300];
	uint8_t buf[300];
	char reason[FRAME_REASON_MAX + 1];
	uint32_t code;
	int n;
	(void)state;

	/* Too long: cut at 200 bytes, never refused (the GOAWAY must go out). */
	memset(long_reason, 'x', sizeof(long_reason) - 1);
	long_reason[sizeof(long_reason) - 1] = '\0';
	n = frame_goaway_encode(FRAME_GOAWAY_PROTOCOL, long_reason, buf, sizeof(buf));
	assert_int_equal(n, 204);
	assert_int_equal(frame_goaway_decode(buf, (size_t)n, &code, reason, NULL), 0);
	assert_int_equal(strlen(reason), 200);

	/* Unprintable bytes go out as '?'. */
	n = frame_goaway_encode(1,
				"a\tb\nc\x7f"
				"d\x80",
				buf, sizeof(buf));
	assert_int_equal(n, 4 + 8);
	assert_memory_equal(buf + 4, "a?b?c?d?", 8);
}

static void test_goaway_decode_malformed(void **state)
{
	uint8_t p[256];
	char reason[FRAME_REASON_MAX + 1];
	uint32_t code;
	const char *why;
	(void)state;

	memset(p, 'r', sizeof(p));
	memcpy(p, "\0\0\0\1", 4);
	for (size_t len = 0; len < 4; len++) {
		why = NULL;
		assert_int_equal(frame_goaway_decode(p, len, &code, reason, &why),
				 TETHER_ERR_PROTOCOL);
		assert_string_equal(why, "bad GOAWAY length");
		assert_string_equal(reason, "");
	}
	assert_int_equal(frame_goaway_decode(p, 205, &code, reason, &why), TETHER_ERR_PROTOCOL);
	assert_string_equal(why, "bad GOAWAY length");
	assert_int_equal(frame_goaway_decode(p, 204, &code, reason, &why), 0);
	assert_int_equal(code, 1);
	assert_int_equal(strlen(reason), 200);

	/* Non-printable reasons are not an error: the receiver replaces the bytes. */
	memcpy(p + 4, "ok\0\x1f\x7f\x80\xff\n\r~ ", 11);
	assert_int_equal(frame_goaway_decode(p, 15, &code, reason, &why), 0);
	assert_string_equal(reason, "ok???????~ ");
}

/* ---------- CRL_HAVE ---------- */

static struct frame_crl_have crl_entry(uint8_t tag, const uint8_t *num, uint8_t len)
{
	struct frame_crl_have e;

	memset(&e, 0, sizeof(e));
	for (unsigned i = 0; i < FRAME_CRL_ISSUER_ID; i++)
		e.issuer[i] = (uint8_t)(tag + i);
	e.number_len = len;
	if (len > 0)
		memcpy(e.number, num, len);
	return e;
}

static void expect_crl_have_bad(const uint8_t *p, size_t len, const char *want_why)
{
	struct frame_crl_have h[FRAME_CRL_HAVE_MAX];
	unsigned n = 99;
	const char *why = NULL;

	assert_int_equal(frame_crl_have_decode(p, len, h, &n, &why), TETHER_ERR_PROTOCOL);
	assert_non_null(why);
	assert_string_equal(why, want_why);
	assert_int_equal(n, 0);
}

static void test_crl_have_roundtrip(void **state)
{
	static const uint8_t n1[] = {0x01};
	static const uint8_t n2[] = {0x80, 0x00};
	static const uint8_t n20[20] = {0x7f, 1,  2,  3,  4,  5,  6,  7,  8,  9,
					10,   11, 12, 13, 14, 15, 16, 17, 18, 19};
	struct frame_crl_have in[FRAME_CRL_HAVE_MAX], out[FRAME_CRL_HAVE_MAX];
	uint8_t buf[256];
	unsigned n;
	const char *why;
	int len;
	(void)state;

	in[0] = crl_entry(0x10, n1, 1);
	in[1] = crl_entry(0x20, NULL, 0); /* the number zero */
	in[2] = crl_entry(0x30, n20, 20);
	in[3] = crl_entry(0x40, n2, 2);

	for (unsigned count = 0; count <= FRAME_CRL_HAVE_MAX; count++) {
		size_t want = 1;

		for (unsigned i = 0; i < count; i++)
			want += FRAME_CRL_ISSUER_ID + 1u + in[i].number_len;
		len = frame_crl_have_encode(in, count, buf, sizeof(buf));
		assert_int_equal(len, (int)want);
		assert_int_equal(buf[0], count);
		memset(out, 0xee, sizeof(out));
		why = NULL;
		n = 99;
		assert_int_equal(frame_crl_have_decode(buf, (size_t)len, out, &n, &why), 0);
		assert_int_equal(n, count);
		for (unsigned i = 0; i < count; i++) {
			assert_memory_equal(out[i].issuer, in[i].issuer, FRAME_CRL_ISSUER_ID);
			assert_int_equal(out[i].number_len, in[i].number_len);
			assert_memory_equal(out[i].number, in[i].number, in[i].number_len);
		}
		/* Through a frame header too: the length fits the type's bounds. */
		{
			uint8_t f[FRAME_HEADER_LEN + 256];
			struct frame_header h;
			int code;
			int fl = frame_build(f, sizeof(f), FRAME_CRL_HAVE, 0, buf, (size_t)len);

			assert_int_equal(fl, FRAME_HEADER_LEN + len);
			assert_int_equal(frame_header_decode(f, MAX_PAYLOAD, &h, &why, &code), 0);
			assert_int_equal(h.type, FRAME_CRL_HAVE);
			assert_int_equal(h.length, len);
		}
	}

	/* The wire form of one entry, by hand: issuer id, length, number. */
	len = frame_crl_have_encode(in, 1, buf, sizeof(buf));
	assert_int_equal(len, 11);
	{
		static const uint8_t want[] = {0x01, 0x10, 0x11, 0x12, 0x13, 0x14,
					       0x15, 0x16, 0x17, 0x01, 0x01};
		assert_memory_equal(buf, want, sizeof(want));
	}

	/* The largest CRL_HAVE: four entries of 20-octet numbers = the header's maximum. */
	for (unsigned i = 0; i < FRAME_CRL_HAVE_MAX; i++)
		in[i] = crl_entry((uint8_t)(i * 16), n20, 20);
	len = frame_crl_have_encode(in, FRAME_CRL_HAVE_MAX, buf, sizeof(buf));
	assert_int_equal(len, 1 + 4 * 29);
	assert_int_equal(frame_crl_have_decode(buf, (size_t)len, out, &n, &why), 0);
	assert_int_equal(n, 4);
	expect_header_ok(FRAME_CRL_HAVE, (uint16_t)len, 0, MAX_PAYLOAD);
	expect_header_bad(FRAME_CRL_HAVE, 0, (uint16_t)(len + 1), 0, MAX_PAYLOAD,
			  FRAME_GOAWAY_PROTOCOL, "bad CRL_HAVE length");
}

static void test_crl_have_encode_invalid(void **state)
{
	static const uint8_t lead0[] = {0x00, 0x01};
	static const uint8_t n1[] = {0x05};
	struct frame_crl_have in[FRAME_CRL_HAVE_MAX + 1];
	uint8_t buf[256];
	(void)state;

	for (unsigned i = 0; i <= FRAME_CRL_HAVE_MAX; i++)
		in[i] = crl_entry((uint8_t)i, n1, 1);
	/* More than four entries. */
	assert_int_equal(frame_crl_have_encode(in, FRAME_CRL_HAVE_MAX + 1, buf, sizeof(buf)),
			 TETHER_ERR_INVALID);
	/* Entries promised but none given. */
	assert_int_equal(frame_crl_have_encode(NULL, 1, buf, sizeof(buf)), TETHER_ERR_INVALID);
	/* No entries: just the count. */
	assert_int_equal(frame_crl_have_encode(NULL, 0, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 0);
	/* A number over 20 octets. */
	in[1].number_len = FRAME_CRL_NUMBER_MAX + 1;
	assert_int_equal(frame_crl_have_encode(in, 2, buf, sizeof(buf)), TETHER_ERR_INVALID);
	/* A number with a leading zero octet. */
	in[1] = crl_entry(1, lead0, 2);
	assert_int_equal(frame_crl_have_encode(in, 2, buf, sizeof(buf)), TETHER_ERR_INVALID);
	/* Too small an output buffer: one byte short, and none at all. */
	in[1] = crl_entry(1, n1, 1);
	assert_int_equal(frame_crl_have_encode(in, 2, buf, 20), TETHER_ERR_TOO_BIG);
	assert_int_equal(frame_crl_have_encode(in, 2, buf, 21), 21);
	assert_int_equal(frame_crl_have_encode(in, 2, NULL, 0), TETHER_ERR_TOO_BIG);
}

static void test_crl_have_decode_malformed(void **state)
{
	uint8_t p[256];
	struct frame_crl_have h[FRAME_CRL_HAVE_MAX];
	unsigned n;
	const char *why;
	(void)state;

	/* Empty payload, and longer than four full entries. */
	memset(p, 0, sizeof(p));
	expect_crl_have_bad(p, 0, "bad CRL_HAVE length");
	p[0] = 4;
	expect_crl_have_bad(p, 1 + 4 * 29 + 1, "bad CRL_HAVE length");

	/* A count over four, even with room for the entries. */
	memset(p, 0, sizeof(p));
	for (unsigned c = 5; c < 256; c += 50) {
		p[0] = (uint8_t)c;
		expect_crl_have_bad(p, 1 + 4 * 9, "CRL_HAVE with too many entries");
	}
	p[0] = 0xff;
	expect_crl_have_bad(p, 1, "CRL_HAVE with too many entries");

	/* Count zero: exactly one byte. */
	p[0] = 0;
	n = 99;
	assert_int_equal(frame_crl_have_decode(p, 1, h, &n, &why), 0);
	assert_int_equal(n, 0);
	expect_crl_have_bad(p, 2, "CRL_HAVE length does not match its entries");

	/* One entry, number 0x0102. */
	memset(p, 0xa5, sizeof(p));
	p[0] = 1;
	p[9] = 2;
	p[10] = 0x01;
	p[11] = 0x02;
	assert_int_equal(frame_crl_have_decode(p, 12, h, &n, &why), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].number_len, 2);
	/* Cut short: inside the issuer id, at the length byte, inside the number. */
	for (size_t len = 1; len < 12; len++)
		expect_crl_have_bad(p, len, "CRL_HAVE cut short");
	/* Trailing bytes after the entries. */
	expect_crl_have_bad(p, 13, "CRL_HAVE length does not match its entries");
	expect_crl_have_bad(p, 40, "CRL_HAVE length does not match its entries");
	/* Two entries announced, one present. */
	p[0] = 2;
	expect_crl_have_bad(p, 12, "CRL_HAVE cut short");
	p[0] = 1;

	/* A number longer than 20 octets (21 and 255), with the bytes present. */
	p[9] = 21;
	expect_crl_have_bad(p, 10 + 21, "CRL_HAVE number longer than 20 octets");
	p[9] = 255;
	expect_crl_have_bad(p, 117, "CRL_HAVE number longer than 20 octets");
	/* Exactly 20 is fine. */
	p[9] = 20;
	p[10] = 0x01;
	assert_int_equal(frame_crl_have_decode(p, 30, h, &n, &why), 0);
	assert_int_equal(h[0].number_len, 20);

	/* A leading zero octet: 00 01, and a lone 00 (zero is written as length 0). */
	p[9] = 2;
	p[10] = 0x00;
	p[11] = 0x01;
	expect_crl_have_bad(p, 12, "CRL_HAVE number with a leading zero");
	p[9] = 1;
	expect_crl_have_bad(p, 11, "CRL_HAVE number with a leading zero");
	/* Number zero, length 0. */
	p[9] = 0;
	assert_int_equal(frame_crl_have_decode(p, 10, h, &n, &why), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].number_len, 0);

	/* A bad second entry fails the whole frame: nothing is reported. */
	p[0] = 2;
	p[9] = 0;
	memset(p + 10, 0x11, 8);
	p[18] = 1;
	p[19] = 0x00;
	expect_crl_have_bad(p, 20, "CRL_HAVE number with a leading zero");
	p[19] = 0x09;
	assert_int_equal(frame_crl_have_decode(p, 20, h, &n, &why), 0);
	assert_int_equal(n, 2);
	assert_int_equal(h[1].number[0], 9);
}

static void test_crl_get_roll_headers(void **state)
{
	(void)state;
	/* CRL_GET: exactly an issuer id, on stream 0. */
	expect_header_ok(FRAME_CRL_GET, FRAME_CRL_ISSUER_ID, 0, MAX_PAYLOAD);
	expect_header_bad(FRAME_CRL_GET, 0, 7, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "bad CRL_GET length");
	expect_header_bad(FRAME_CRL_GET, 0, 9, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "bad CRL_GET length");
	expect_header_bad(FRAME_CRL_GET, 0, 8, 1, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "CRL_GET on a non-zero stream");
	/* CRL: the piece head and at least one byte, up to the announced maximum. */
	expect_header_ok(FRAME_CRL, FRAME_CRL_PIECE_HEAD + 1, 0, MAX_PAYLOAD);
	expect_header_ok(FRAME_CRL, MAX_PAYLOAD, 0, MAX_PAYLOAD);
	expect_header_bad(FRAME_CRL, 0, FRAME_CRL_PIECE_HEAD, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "empty CRL piece");
	expect_header_bad(FRAME_CRL, 0, 0, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "empty CRL piece");
	expect_header_bad(FRAME_CRL, 0, MAX_PAYLOAD + 1, 0, MAX_PAYLOAD, FRAME_GOAWAY_FRAME_SIZE,
			  "frame too large");
	expect_header_bad(FRAME_CRL, 0, 100, 3, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "CRL on a non-zero stream");
	/* CRL_HAVE on a stream. */
	expect_header_bad(FRAME_CRL_HAVE, 0, 1, 2, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "CRL_HAVE on a non-zero stream");
	/* ROLL: empty, on stream 0, no flags. */
	expect_header_ok(FRAME_ROLL, 0, 0, MAX_PAYLOAD);
	expect_header_bad(FRAME_ROLL, 0, 1, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "ROLL with a payload");
	expect_header_bad(FRAME_ROLL, 0, 0, 1, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "ROLL on a non-zero stream");
	expect_header_bad(FRAME_ROLL, 0x01, 0, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "nonzero flags");
	/* RENEW_REQ: a CSR of 1..2048 bytes; RENEW_ANS: a result and 1..2048 bytes; stream 0. */
	expect_header_ok(FRAME_RENEW_REQ, 1, 0, MAX_PAYLOAD);
	expect_header_ok(FRAME_RENEW_REQ, FRAME_RENEW_DER_MAX, 0, MAX_PAYLOAD);
	expect_header_bad(FRAME_RENEW_REQ, 0, 0, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "bad RENEW_REQ length");
	expect_header_bad(FRAME_RENEW_REQ, 0, FRAME_RENEW_DER_MAX + 1, 0, MAX_PAYLOAD,
			  FRAME_GOAWAY_PROTOCOL, "bad RENEW_REQ length");
	expect_header_bad(FRAME_RENEW_REQ, 0, 10, 3, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "RENEW_REQ on a non-zero stream");
	expect_header_ok(FRAME_RENEW_ANS, 2, 0, MAX_PAYLOAD);
	expect_header_ok(FRAME_RENEW_ANS, 1 + FRAME_RENEW_DER_MAX, 0, MAX_PAYLOAD);
	expect_header_bad(FRAME_RENEW_ANS, 0, 1, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "bad RENEW_ANS length");
	expect_header_bad(FRAME_RENEW_ANS, 0, 2 + FRAME_RENEW_DER_MAX, 0, MAX_PAYLOAD,
			  FRAME_GOAWAY_PROTOCOL, "bad RENEW_ANS length");
	expect_header_bad(FRAME_RENEW_ANS, 0, 10, 2, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "RENEW_ANS on a non-zero stream");
	/* The next type after RENEW_ANS is unknown. */
	expect_header_bad(FRAME_RENEW_ANS + 1, 0, 0, 0, MAX_PAYLOAD, FRAME_GOAWAY_PROTOCOL,
			  "unknown frame type");
	/* And a ROLL frame built by frame_build is 8 bytes of header. */
	{
		uint8_t f[FRAME_HEADER_LEN];
		static const uint8_t want[FRAME_HEADER_LEN] = {0x0c, 0, 0, 0, 0, 0, 0, 0};

		assert_int_equal(frame_build(f, sizeof(f), FRAME_ROLL, 0, NULL, 0),
				 FRAME_HEADER_LEN);
		assert_memory_equal(f, want, sizeof(want));
	}
}

/* ---------- frame_build ---------- */

static void test_build(void **state)
{
	uint8_t out[64];
	struct frame_header h;
	int n;
	(void)state;

	n = frame_build(out, sizeof(out), FRAME_DATA, 7, "hello", 5);
	assert_int_equal(n, 13);
	assert_memory_equal(out, "\x02\x00\x00\x05\x00\x00\x00\x07hello", 13);
	assert_int_equal(frame_header_decode(out, MAX_PAYLOAD, &h, NULL, NULL), 0);

	n = frame_build(out, sizeof(out), FRAME_CLOSE, 9, NULL, 0);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "\x04\x00\x00\x00\x00\x00\x00\x09", 8);

	/* Payload already in place. */
	memcpy(out + FRAME_HEADER_LEN, "\x00\x00\x00\x06", 4);
	n = frame_build(out, sizeof(out), FRAME_RESET, 3, out + FRAME_HEADER_LEN, 4);
	assert_int_equal(n, 12);
	assert_memory_equal(out, "\x05\x00\x00\x04\x00\x00\x00\x03\x00\x00\x00\x06", 12);
	n = frame_build(out, sizeof(out), FRAME_RESET, 3, NULL, 4);
	assert_int_equal(n, 12);
	assert_memory_equal(out + 8, "\x00\x00\x00\x06", 4);

	assert_int_equal(frame_build(out, 12, FRAME_DATA, 1, "hello", 5), TETHER_ERR_TOO_BIG);
	assert_int_equal(frame_build(out, 13, FRAME_DATA, 1, "hello", 5), 13);
	assert_int_equal(frame_build(out, 7, FRAME_CLOSE, 1, NULL, 0), TETHER_ERR_TOO_BIG);
	assert_int_equal(frame_build(NULL, 0, FRAME_CLOSE, 1, NULL, 0), TETHER_ERR_TOO_BIG);
	assert_int_equal(frame_build(out, (size_t)-1, FRAME_DATA, 1, NULL, 0x10000),
			 TETHER_ERR_TOO_BIG);
}

static void test_build_max(void **state)
{
	static uint8_t big[FRAME_HEADER_LEN + 0xffff];
	struct frame_header h;
	(void)state;

	memset(big + FRAME_HEADER_LEN, 0x5a, 0xffff);
	assert_int_equal(frame_build(big, sizeof(big), FRAME_DATA, 1, NULL, 0xffff),
			 (int)sizeof(big));
	assert_int_equal(frame_header_decode(big, 0xffff, &h, NULL, NULL), 0);
	assert_int_equal(h.length, 0xffff);
	assert_int_equal(big[sizeof(big) - 1], 0x5a);
}

/* ---------- names ---------- */

static void test_name_valid(void **state)
{
	static const char ok_chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
	char s[80];
	(void)state;

	for (size_t i = 0; ok_chars[i]; i++)
		assert_true(frame_name_valid(&ok_chars[i], 1));
	for (unsigned c = 0; c < 256; c++) {
		char one = (char)c;

		assert_int_equal(frame_name_valid(&one, 1), c != 0 && strchr(ok_chars, (int)c));
	}
	memset(s, 'n', sizeof(s));
	assert_true(frame_name_valid(s, 63));
	assert_false(frame_name_valid(s, 64));
	assert_false(frame_name_valid(s, 0));
	assert_false(frame_name_valid(NULL, 0));
	assert_false(frame_name_valid(NULL, 5));
	assert_true(frame_name_valid("gw-01 trailing ignored", 5));
}

static void test_names(void **state)
{
	static const char *const types[] = {"HELLO", "OPEN", "DATA", "WINDOW", "CLOSE",
					    "RESET", "PING", "PONG", "GOAWAY"};
	static const char *const resets[] = {
		"cancel",	   "no such service", "forbidden", "target unreachable",
		"no stream slots", "stream error",    "shutdown"};
	static const char *const goaways[] = {
		"normal",	   "protocol error",	"frame too large",
		"flow control",	   "identity mismatch", "duplicate session",
		"timeout",	   "internal error",	"unsupported version",
		"lifetime reached"};
	(void)state;

	for (unsigned i = 0; i < 9; i++)
		assert_string_equal(frame_type_name(i), types[i]);
	assert_string_equal(frame_type_name(9), "CRL_HAVE");
	assert_string_equal(frame_type_name(10), "CRL_GET");
	assert_string_equal(frame_type_name(11), "CRL");
	assert_string_equal(frame_type_name(12), "ROLL");
	assert_string_equal(frame_type_name(13), "RENEW_REQ");
	assert_string_equal(frame_type_name(14), "RENEW_ANS");
	assert_string_equal(frame_type_name(15), "UNKNOWN");
	assert_string_equal(frame_type_name(0xffffffffu), "UNKNOWN");

	for (uint32_t c = 1; c <= 7; c++)
		assert_string_equal(frame_reset_name(c), resets[c - 1]);
	assert_string_equal(frame_reset_name(FRAME_RESET_FORBIDDEN), "forbidden");
	/* Unknown codes are treated as CANCEL. */
	assert_string_equal(frame_reset_name(0), "cancel");
	assert_string_equal(frame_reset_name(8), "cancel");
	assert_string_equal(frame_reset_name(0xffffffffu), "cancel");

	for (uint32_t c = 0; c <= 9; c++)
		assert_string_equal(frame_goaway_name(c), goaways[c]);
	assert_string_equal(frame_goaway_name(FRAME_GOAWAY_LIFETIME), "lifetime reached");
	assert_string_equal(frame_goaway_name(FRAME_GOAWAY_POLICY), "no longer trusted or allowed");
	assert_string_equal(frame_goaway_name(11), "unknown");
}

/* ---------- the example exchange of docs/PROTOCOL.md, section 13 ---------- */

/* Copied from the document: header line, then payload lines. */
static const char *const example_hex[] = {
	/* 1. gw-01 -> core-01 HELLO */
	"00 00 00 12 00 00 00 00\n"
	"01 00 0f f8 00 01 00 00 00 00 00 00 05\n"
	"67 77 2d 30 31\n",
	/* 2. core-01 -> gw-01 HELLO */
	"00 00 00 14 00 00 00 00\n"
	"01 00 0f f8 00 01 00 00 00 00 00 00 07\n"
	"63 6f 72 65 2d 30 31\n",
	/* 3. gw-01 -> core-01 OPEN stream 1 "echo" */
	"01 00 00 05 00 00 00 01\n"
	"04 65 63 68 6f\n",
	/* 4. gw-01 -> core-01 DATA stream 1 "hello" */
	"02 00 00 05 00 00 00 01\n"
	"68 65 6c 6c 6f\n",
	/* 5. core-01 -> gw-01 DATA stream 1 "hello" */
	"02 00 00 05 00 00 00 01\n"
	"68 65 6c 6c 6f\n",
	/* 6. core-01 -> gw-01 WINDOW stream 1 +5 */
	"03 00 00 04 00 00 00 01\n"
	"00 00 00 05\n",
	/* 7. gw-01 -> core-01 CLOSE stream 1 */
	"04 00 00 00 00 00 00 01\n",
	/* 8. core-01 -> gw-01 CLOSE stream 1 */
	"04 00 00 00 00 00 00 01\n",
};

/* Encode frame i of the example with the codec; returns its total length. */
static int example_encode(size_t i, uint8_t *out, size_t cap)
{
	uint8_t *pl = out + FRAME_HEADER_LEN;
	size_t pcap = cap - FRAME_HEADER_LEN;
	struct frame_hello h;
	int n;

	switch (i) {
	case 0:
	case 1:
		h = hello_of(i == 0 ? "gw-01" : "core-01");
		n = frame_hello_encode(&h, pl, pcap);
		assert_true(n > 0);
		return frame_build(out, cap, FRAME_HELLO, 0, NULL, (size_t)n);
	case 2:
		n = frame_open_encode("echo", pl, pcap);
		assert_true(n > 0);
		return frame_build(out, cap, FRAME_OPEN, 1, NULL, (size_t)n);
	case 3:
	case 4:
		return frame_build(out, cap, FRAME_DATA, 1, "hello", 5);
	case 5:
		frame_u32_encode(5, pl);
		return frame_build(out, cap, FRAME_WINDOW, 1, NULL, 4);
	default:
		return frame_build(out, cap, FRAME_CLOSE, 1, NULL, 0);
	}
}

static void test_example_exchange(void **state)
{
	uint8_t want[128], got[128];
	(void)state;

	for (size_t i = 0; i < sizeof(example_hex) / sizeof(example_hex[0]); i++) {
		size_t wn = unhex(example_hex[i], want, sizeof(want));
		int gn = example_encode(i, got, sizeof(got));

		assert_int_equal(gn, wn);
		assert_memory_equal(got, want, wn);
	}
}

/* The example decodes back to what it says, as one byte stream per direction. */
static void test_example_decode(void **state)
{
	static const size_t dir_a[] = {0, 2, 3, 6}; /* gw-01 -> core-01 */
	static const size_t dir_b[] = {1, 4, 5, 7}; /* core-01 -> gw-01 */
	const size_t *dirs[2] = {dir_a, dir_b};
	(void)state;

	for (int d = 0; d < 2; d++) {
		uint8_t stream[256];
		size_t len = 0, off = 0, k = 0;

		for (size_t j = 0; j < 4; j++)
			len += unhex(example_hex[dirs[d][j]], stream + len, sizeof(stream) - len);
		while (off < len) {
			struct frame_header h;
			const uint8_t *p;
			const char *why = NULL;
			int code;

			assert_true(len - off >= FRAME_HEADER_LEN);
			assert_int_equal(
				frame_header_decode(stream + off, MAX_PAYLOAD, &h, &why, &code), 0);
			p = stream + off + FRAME_HEADER_LEN;
			assert_true(len - off - FRAME_HEADER_LEN >= h.length);
			if (h.type == FRAME_HELLO) {
				struct frame_hello hello;

				assert_int_equal(frame_hello_decode(p, h.length, &hello, &why), 0);
				assert_int_equal(hello.version, 1);
				assert_int_equal(hello.max_payload, 4088);
				assert_int_equal(hello.window, 65536);
				assert_int_equal(hello.capabilities, 0);
				assert_string_equal(hello.name, d == 0 ? "gw-01" : "core-01");
			} else if (h.type == FRAME_OPEN) {
				char svc[FRAME_NAME_MAX + 1];

				assert_int_equal(frame_open_decode(p, h.length, svc, &why), 0);
				assert_string_equal(svc, "echo");
			} else if (h.type == FRAME_DATA) {
				assert_int_equal(h.length, 5);
				assert_memory_equal(p, "hello", 5);
			} else if (h.type == FRAME_WINDOW) {
				assert_int_equal(frame_u32_decode(p), 5);
			}
			if (h.type != FRAME_HELLO && h.type != FRAME_GOAWAY)
				assert_int_equal(h.stream, 1);
			off += FRAME_HEADER_LEN + h.length;
			k++;
		}
		assert_int_equal(off, len);
		assert_int_equal(k, 4);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_header_byte_order),
		cmocka_unit_test(test_header_unknown_type),
		cmocka_unit_test(test_header_flags),
		cmocka_unit_test(test_header_frame_size),
		cmocka_unit_test(test_header_type_bounds),
		cmocka_unit_test(test_header_stream_rules),
		cmocka_unit_test(test_header_null_out_params),
		cmocka_unit_test(test_header_exhaustive),
		cmocka_unit_test(test_hello_roundtrip),
		cmocka_unit_test(test_hello_encode_invalid),
		cmocka_unit_test(test_hello_decode_structure),
		cmocka_unit_test(test_hello_decode_names),
		cmocka_unit_test(test_hello_decode_fields),
		cmocka_unit_test(test_open_roundtrip),
		cmocka_unit_test(test_open_malformed),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_window_add),
		cmocka_unit_test(test_goaway_roundtrip),
		cmocka_unit_test(test_goaway_encode_sanitizes),
		cmocka_unit_test(test_goaway_decode_malformed),
		cmocka_unit_test(test_crl_have_roundtrip),
		cmocka_unit_test(test_crl_have_encode_invalid),
		cmocka_unit_test(test_crl_have_decode_malformed),
		cmocka_unit_test(test_crl_get_roll_headers),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_build_max),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_example_exchange),
		cmocka_unit_test(test_example_decode),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
