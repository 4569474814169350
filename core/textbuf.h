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
/*
 * tb_dec: the decimal digits of v in tmp, by hand (small C libraries such as
 * newlib-nano print "%llu" without its value). Returns where they start.
 */
const char *tb_dec(uint64_t v, char tmp[24]);

/*
 * tb_escape: how byte c is written inside a quoted string: NULL if as itself,
 * else its escape in tmp: \" and \\, and for control and non-ASCII bytes
 * \uXXXX (json) or \xNN (text).
 */
const char *tb_escape(unsigned char c, bool json, char tmp[8]);

/*
 * tb_text: s written into out (cap bytes, NUL included) with tb_escape's
 * text escapes, so a string from outside (a path, a name, a certificate's
 * subject, a message that carries them) prints as it would inside a log
 * line's quotes: \" \\ and \xNN for control bytes (C0, DEL, C1) and every byte
 * of 0x80 and above, valid UTF-8 or not. Cut with "..." when it does not fit.
 * Returns out. The one escaping routine for text the cli prints and the
 * config loader quotes; log.c uses tb_escape itself, byte by byte.
 */
const char *tb_text(char *out, size_t cap, const char *s);

/* s as a JSON string, quotes included (tb_escape's escapes). */
void tb_json_str(struct textbuf *t, const char *s);
/* A 64-bit count in decimal (small C libraries lack %llu). */
void tb_u64(struct textbuf *t, uint64_t v);
void tb_i64(struct textbuf *t, int64_t v);

#endif
