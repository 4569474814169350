/*
 * fuzz_status.c: libFuzzer target for the status socket's request parser
 * (status_parse() in core/http.c, what core/metrics.c calls on every read of
 * a `tether status` or `tether reload` client).
 *
 * Each input is judged whole and as every prefix a client could have sent so
 * far, each at the very end of a heap buffer (a read past it trips
 * AddressSanitizer). Checked: a verdict, once reached on a prefix, is final;
 * the parser waits only while no line has ended and fewer than
 * STATUS_LINE_MAX bytes came; an accepted request is exactly its word on one
 * line (LF or CRLF), and every other line is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "tests/fuzz/fuzz.h"

#define CAP (STATUS_LINE_MAX + 32u) /* every verdict falls within STATUS_LINE_MAX */

/* What the line (up to the first LF) must be judged, computed independently. */
static enum status_req expected(const uint8_t *p, size_t n)
{
	static const char *const words[] = {"status", "table", "metrics", "reload", "renew"};
	static const enum status_req verdicts[] = {STATUS_REQ_STATUS, STATUS_REQ_TABLE,
						   STATUS_REQ_METRICS, STATUS_REQ_RELOAD,
						   STATUS_REQ_RENEW};
	size_t end;

	for (end = 0; end < n && p[end] != '\n'; end++)
		;
	if (end == n)
		return n >= STATUS_LINE_MAX ? STATUS_REQ_BAD : STATUS_REQ_MORE;
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t k = strlen(words[w]);

		if (memcmp(p, words[w], end < k ? end : k) != 0)
			continue;
		if (end == k || (end == k + 1 && p[k] == '\r'))
			return verdicts[w];
	}
	return STATUS_REQ_BAD;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *buf;
	char *end;
	enum status_req first = STATUS_REQ_MORE;

	if (size > CAP)
		size = CAP;
	/* One heap buffer of CAP bytes: a prefix sits at its end, so a read past it trips ASan. */
	if (buf == NULL)
		buf = malloc(CAP);
	CHECK(buf != NULL);
	end = buf + CAP;
	for (size_t n = 0; n <= size; n++) {
		char *copy = end - n; /* ends where the buffer does */
		enum status_req v;

		memcpy(copy, data, n);
		v = status_parse(copy, n);
		CHECK(v == expected(data, n));
		if (first == STATUS_REQ_MORE)
			first = v;
		else
			CHECK(v == first);
	}
	return 0;
}
