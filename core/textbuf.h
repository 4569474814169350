/*
 * textbuf.h: appending text to a caller's buffer, without allocation; a
 * text that does not fit marks the buffer full rather than cut a line.
 */
#ifndef TETHER_TEXTBUF_H
#define TETHER_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct textbuf {
	char *buf;
	size_t cap;
	size_t len;
	bool full;
};

void tb_init(struct textbuf *t, char *buf, size_t cap);
void tb_puts(struct textbuf *t, const char *s);
/* printf-style; a result that does not fit marks the buffer full. */
void tb_printf(struct textbuf *t, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* s as a JSON string, quotes included (", \, control bytes escaped). */
void tb_json_str(struct textbuf *t, const char *s);
/* A 64-bit count in decimal (small C libraries lack %llu). */
void tb_u64(struct textbuf *t, uint64_t v);
void tb_i64(struct textbuf *t, int64_t v);

#endif
