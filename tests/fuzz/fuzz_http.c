/*
 * fuzz_http.c: libFuzzer target for the metrics endpoint's request parser.
 *
 * Each input is judged whole and as every prefix a client could have sent so
 * far. Checked besides "no crash, no sanitizer report": the parser reads only
 * the bytes it is given (each prefix sits at the very end of a heap buffer);
 * a verdict, once reached on a prefix, is final: more bytes never turn a
 * refusal into acceptance or the reverse; an accepted request starts with
 * "GET /metrics" or "HEAD /metrics"; only a full buffer is too large.
 */
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "tests/fuzz/fuzz.h"

#define CAP 1024u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *buf;
	char *end;
	enum http_verdict first = HTTP_MORE;
	size_t n;

	if (size > CAP)
		size = CAP;
	/* One heap buffer of CAP bytes: a prefix sits at its end, so a read past it trips ASan. */
	if (buf == NULL)
		buf = malloc(CAP);
	CHECK(buf != NULL);
	end = buf + CAP;
	for (n = 0; n <= size; n++) {
		char *copy = end - n; /* ends where the buffer does */
		enum http_verdict v;

		memcpy(copy, data, n);
		v = http_parse(copy, n, CAP);
		CHECK(v != HTTP_TOO_LARGE || n == CAP);
		if (v == HTTP_OK_GET)
			CHECK(n >= 12 && memcmp(data, "GET /metrics", 12) == 0);
		if (v == HTTP_OK_HEAD)
			CHECK(n >= 13 && memcmp(data, "HEAD /metrics", 13) == 0);
		if (first == HTTP_MORE)
			first = v;
		else
			CHECK(v == first);
	}
	return 0;
}
