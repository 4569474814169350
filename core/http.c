/*
 * http.c: the metrics endpoint's and the status socket's request parsers
 * (http.h).
 */
#include "core/http.h"

#include <string.h>

static int is_tchar(char c)
{
	/* RFC 9110 token characters. */
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The end of the header block (just past its empty line), or 0 if not there yet. */
static size_t block_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Length of the line at p (up to end), without its LF or CRLF; *next past it. */
static size_t line(const char *p, const char *end, const char **next)
{
	const char *q = p;

	while (q < end && *q != '\n')
		q++;
	*next = q < end ? q + 1 : q;
	if (q > p && q[-1] == '\r')
		q--;
	return (size_t)(q - p);
}

static enum http_verdict headers_ok(const char *p, const char *end)
{
	while (p < end) {
		const char *next;
		size_t n = line(p, end, &next), i, name = 0;

		if (n == 0)
			return HTTP_OK_GET; /* the empty line: done */
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return HTTP_BAD_REQUEST;
		}
		while (name < n && is_tchar(p[name]))
			name++;
		if (name == 0 || name == n || p[name] != ':')
			return HTTP_BAD_REQUEST;
		p = next;
	}
	return HTTP_BAD_REQUEST;
}

enum http_verdict http_parse(const char *buf, size_t len, size_t cap)
{
	const char *end, *p = buf, *next, *sp1, *sp2;
	size_t n, block = block_end(buf, len), mlen, plen;
	enum http_verdict v;

	if (block == 0) {
		/* A request line that cannot be HTTP fails at once, without waiting. */
		for (n = 0; n < len && buf[n] != '\n'; n++)
			if ((unsigned char)buf[n] < 0x20 && buf[n] != '\r')
				return HTTP_BAD_REQUEST;
		return len >= cap ? HTTP_TOO_LARGE : HTTP_MORE;
	}
	end = buf + block;
	n = line(p, end, &next);
	sp1 = memchr(p, ' ', n);
	if (sp1 == NULL)
		return HTTP_BAD_REQUEST;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p));
	if (sp2 == NULL)
		return HTTP_BAD_REQUEST;
	mlen = (size_t)(sp1 - p);
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar(p[i]))
			return HTTP_BAD_REQUEST;
	if (mlen == 0 || sp1[1] != '/')
		return HTTP_BAD_REQUEST;
	if ((size_t)(p + n - (sp2 + 1)) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return HTTP_BAD_REQUEST;
	for (const char *q = sp1 + 1; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return HTTP_BAD_REQUEST;
	if (headers_ok(next, end) != HTTP_OK_GET)
		return HTTP_BAD_REQUEST;
	if (mlen == 3 && memcmp(p, "GET", 3) == 0)
		v = HTTP_OK_GET;
	else if (mlen == 4 && memcmp(p, "HEAD", 4) == 0)
		v = HTTP_OK_HEAD;
	else
		return HTTP_BAD_METHOD;
	/* The path, without a query string. */
	plen = 0;
	while (sp1 + 1 + plen < sp2 && sp1[1 + plen] != '?')
		plen++;
	if (plen != 8 || memcmp(sp1 + 1, "/metrics", 8) != 0)
		return HTTP_NOT_FOUND;
	return v;
}

const char *http_status(enum http_verdict v)
{
	switch (v) {
	case HTTP_OK_GET:
	case HTTP_OK_HEAD:
		return "200 OK";
	case HTTP_NOT_FOUND:
		return "404 Not Found";
	case HTTP_BAD_METHOD:
		return "405 Method Not Allowed";
	case HTTP_TOO_LARGE:
		return "431 Request Header Fields Too Large";
	default:
		return "400 Bad Request";
	}
}

enum status_req status_parse(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n;

	if (nl == NULL)
		return len >= STATUS_LINE_MAX ? STATUS_REQ_BAD : STATUS_REQ_MORE;
	n = (size_t)(nl - buf);
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 6 && memcmp(buf, "status", 6) == 0)
		return STATUS_REQ_STATUS;
	if (n == 5 && memcmp(buf, "table", 5) == 0)
		return STATUS_REQ_TABLE;
	if (n == 7 && memcmp(buf, "metrics", 7) == 0)
		return STATUS_REQ_METRICS;
	if (n == 6 && memcmp(buf, "reload", 6) == 0)
		return STATUS_REQ_RELOAD;
	if (n == 5 && memcmp(buf, "renew", 5) == 0)
		return STATUS_REQ_RENEW;
	return STATUS_REQ_BAD;
}
