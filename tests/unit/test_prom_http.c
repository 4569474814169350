/*
 * test_prom_http.c: the metrics endpoint's pure parts: the Prometheus text
 * writer (escaping, families, values, overflow) and the HTTP request parser
 * (every verdict, partial input, limits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/http.h"
#include "core/prom.h"

static void test_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(prom_escape_label("plain", out, sizeof(out)), 5);
	assert_string_equal(out, "plain");
	assert_int_equal(prom_escape_label("a\\b\"c\nd", out, sizeof(out)), 10);
	assert_string_equal(out, "a\\\\b\\\"c\\nd");
	/* Too small: refused, never cut in the middle of an escape. */
	assert_int_equal(prom_escape_label("\"\"\"", out, 6), (size_t)-1);
	assert_int_equal(prom_escape_label("\"\"\"", out, 7), 6);
}

static void test_writer(void **state)
{
	char buf[512];
	struct prom p;

	(void)state;
	prom_init(&p, buf, sizeof(buf));
	prom_family(&p, "tether_x", "counter", "Things.");
	prom_u64(&p, "tether_x", "peer", "a\"b", "direction", "sent", 7);
	prom_u64(&p, "tether_x", NULL, NULL, NULL, NULL, 18446744073709551615u);
	prom_i64(&p, "tether_x", "k", "v", NULL, NULL, -5);
	prom_i64(&p, "tether_x", NULL, NULL, "only", "second", -12345678901);
	assert_false(p.t.full);
	assert_string_equal(buf, "# HELP tether_x Things.\n"
				 "# TYPE tether_x counter\n"
				 "tether_x{peer=\"a\\\"b\",direction=\"sent\"} 7\n"
				 "tether_x 18446744073709551615\n"
				 "tether_x{k=\"v\"} -5\n"
				 "tether_x{only=\"second\"} -12345678901\n");
	assert_int_equal(p.t.len, strlen(buf));
	/* Overflow is sticky and says so. */
	prom_init(&p, buf, 20);
	prom_family(&p, "tether_x", "gauge", "A long help text that does not fit.");
	assert_true(p.t.full);
	prom_init(&p, buf, 0);
	assert_true(p.t.full);
}

#define P(s) http_parse(s, strlen(s), 1024)

static void test_http(void **state)
{
	char big[64];

	(void)state;
	assert_int_equal(P("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_OK_GET);
	assert_int_equal(P("GET /metrics?name=x HTTP/1.0\n\n"), HTTP_OK_GET);
	assert_int_equal(P("HEAD /metrics HTTP/1.1\r\n\r\n"), HTTP_OK_HEAD);
	assert_int_equal(P("GET / HTTP/1.1\r\n\r\n"), HTTP_NOT_FOUND);
	assert_int_equal(P("GET /metricsx HTTP/1.1\r\n\r\n"), HTTP_NOT_FOUND);
	assert_int_equal(P("POST /metrics HTTP/1.1\r\n\r\n"), HTTP_BAD_METHOD);
	assert_int_equal(P("DELETE /x HTTP/1.1\r\n\r\n"), HTTP_BAD_METHOD);
	/* Partial: wait for more. */
	assert_int_equal(P(""), HTTP_MORE);
	assert_int_equal(P("GET /metrics HTTP/1.1\r\n"), HTTP_MORE);
	assert_int_equal(P("GET /metrics HTTP/1.1\r\nHost: x\r\n\r"), HTTP_MORE);
	/* Malformed. */
	assert_int_equal(P("hello\r\n\r\n"), HTTP_BAD_REQUEST);
	assert_int_equal(P("GET /metrics HTTP/2.0\r\n\r\n"), HTTP_BAD_REQUEST);
	assert_int_equal(P("GET metrics HTTP/1.1\r\n\r\n"), HTTP_BAD_REQUEST);
	assert_int_equal(P("GET  /metrics HTTP/1.1\r\n\r\n"), HTTP_BAD_REQUEST);
	assert_int_equal(P("G(T /metrics HTTP/1.1\r\n\r\n"), HTTP_BAD_REQUEST);
	assert_int_equal(P("GET /metrics HTTP/1.1\r\nno colon\r\n\r\n"), HTTP_BAD_REQUEST);
	assert_int_equal(P("GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n"), HTTP_BAD_REQUEST);
	assert_int_equal(P("GET /metrics HTTP/1.1\r\nX: a\001b\r\n\r\n"), HTTP_BAD_REQUEST);
	assert_int_equal(P("\001GET"), HTTP_BAD_REQUEST); /* not HTTP: no need to wait */
	/* A full buffer with no end of headers. */
	memset(big, 'a', sizeof(big));
	assert_int_equal(http_parse(big, sizeof(big), sizeof(big)), HTTP_TOO_LARGE);
	assert_int_equal(http_parse(big, sizeof(big) - 1, sizeof(big)), HTTP_MORE);
	assert_string_equal(http_status(HTTP_NOT_FOUND), "404 Not Found");
	assert_string_equal(http_status(HTTP_TOO_LARGE), "431 Request Header Fields Too Large");
}

#define S(s) status_parse(s, strlen(s))

/* The status socket's one-line requests (status_parse). */
static void test_status_request(void **state)
{
	char line[STATUS_LINE_MAX];

	(void)state;
	assert_int_equal(S("status\n"), STATUS_REQ_STATUS);
	assert_int_equal(S("table\r\n"), STATUS_REQ_TABLE);
	assert_int_equal(S("metrics\nextra"), STATUS_REQ_METRICS);
	assert_int_equal(S("reload\n"), STATUS_REQ_RELOAD);
	assert_int_equal(S("renew\n"), STATUS_REQ_RENEW);
	assert_int_equal(S(""), STATUS_REQ_MORE);
	assert_int_equal(S("stat"), STATUS_REQ_MORE);
	assert_int_equal(S("status"), STATUS_REQ_MORE);
	assert_int_equal(S("status \n"), STATUS_REQ_BAD);
	assert_int_equal(S("statu\n"), STATUS_REQ_BAD);
	assert_int_equal(S("STATUS\n"), STATUS_REQ_BAD);
	assert_int_equal(S("\r\n"), STATUS_REQ_BAD);
	assert_int_equal(S("status\r\r\n"), STATUS_REQ_BAD);
	/* No line within STATUS_LINE_MAX bytes: refused without waiting for more. */
	memset(line, 's', sizeof(line));
	assert_int_equal(status_parse(line, sizeof(line) - 1), STATUS_REQ_MORE);
	assert_int_equal(status_parse(line, sizeof(line)), STATUS_REQ_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_status_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
