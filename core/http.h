/*
 * http.h: the one HTTP request tether answers, parsed without I/O.
 *
 * The metrics endpoint speaks just enough HTTP/1.1 for scrapers: one
 * request per connection, GET or HEAD of /metrics, Connection: close. The
 * parser looks at the bytes received so far and decides; it never reads past
 * len and keeps no state between calls, so it can be fed the whole buffer
 * again as more arrives.
 */
#ifndef TETHER_HTTP_H
#define TETHER_HTTP_H

#include <stddef.h>

enum http_verdict {
	HTTP_MORE = 0,	  /* the header block is not complete yet */
	HTTP_OK_GET,	  /* GET /metrics */
	HTTP_OK_HEAD,	  /* HEAD /metrics: the same headers, no body */
	HTTP_NOT_FOUND,	  /* a well-formed request for another path: 404 */
	HTTP_BAD_METHOD,  /* a well-formed request with another method: 405 */
	HTTP_BAD_REQUEST, /* not HTTP/1.x, or malformed: 400 */
	HTTP_TOO_LARGE,	  /* no complete header block within cap bytes: 431 */
};

/*
 * http_parse: judge the request in buf (len bytes received so far, of a
 * buffer of cap bytes). The request line MUST be "METHOD SP /path SP
 * HTTP/1.0|1.1" (a query string after the path is ignored); header lines MUST
 * have a name and a colon and no control characters; the block ends with an
 * empty line (CRLF or LF). Returns HTTP_MORE while that could still come.
 */
enum http_verdict http_parse(const char *buf, size_t len, size_t cap);

/* The status line's code and words for a verdict ("404 Not Found"). */
const char *http_status(enum http_verdict v);

/* What a request on the status socket asks. */
enum status_req {
	STATUS_REQ_MORE = 0, /* no whole line yet */
	STATUS_REQ_STATUS,
	STATUS_REQ_TABLE,
	STATUS_REQ_METRICS,
	STATUS_REQ_RELOAD,
	STATUS_REQ_RENEW,
	STATUS_REQ_BAD, /* another line, or none within STATUS_LINE_MAX bytes */
};

/* The longest request line the status socket waits for: the words are short. */
#define STATUS_LINE_MAX 64u

/*
 * status_parse: judge the status socket request in buf (len bytes received
 * so far): one line (LF or CRLF) holding exactly one of the words status,
 * table, metrics, reload. Like http_parse() it keeps no state and never reads
 * past len; bytes after the line are not looked at.
 */
enum status_req status_parse(const char *buf, size_t len);

#endif
