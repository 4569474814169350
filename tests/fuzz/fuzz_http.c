/*
 * fuzz_http.c: libFuzzer target for the metrics endpoint's request parser.
 *
 * Each input is judged whole and as every prefix a client could have sent so
 * far. Checked besides "no crash, no sanitizer report": the parser reads only
 * the bytes it is given (each prefix sits in a buffer of exactly its size);
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
	enum http_verdict first = HTTP_MORE;
	size_t n;

	if (size > CAP)
		size = CAP;
	for (n = 0; n <= size; n++) {
		char *copy = malloc(n > 0 ? n : 1);
		enum http_verdict v;

		CHECK(copy != NULL);
		memcpy(copy, data, n);
		v = http_parse(copy, n, CAP);
		free(copy);
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
