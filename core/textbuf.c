/*
 * textbuf.c: appending text to a fixed buffer (textbuf.h).
 */
#include "core/textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void tb_init(struct textbuf *t, char *buf, size_t cap)
{
	t->buf = buf;
	t->cap = cap;
	t->len = 0;
	t->full = cap == 0;
	if (cap > 0)
		buf[0] = '\0';
}

static void put(struct textbuf *t, const char *s, size_t n)
{
	if (t->full || t->cap - t->len <= n) {
		t->full = true;
		return;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

void tb_puts(struct textbuf *t, const char *s)
{
	put(t, s, strlen(s));
}

void tb_printf(struct textbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len) {
		t->buf[t->len] = '\0';
		t->full = true;
		return;
	}
	t->len += (size_t)n;
}

const char *tb_dec(uint64_t v, char tmp[24])
{
	char *p = tmp + 23;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10u);
		v /= 10u;
	} while (v != 0);
	return p;
}

const char *tb_escape(unsigned char c, bool json, char tmp[8])
{
	if (c == '"' || c == '\\') {
		tmp[0] = '\\';
		tmp[1] = (char)c;
		tmp[2] = '\0';
		return tmp;
	}
	if (c < 0x20 || c >= 0x7f) {
		snprintf(tmp, 8, json ? "\\u%04x" : "\\x%02x", c);
		return tmp;
	}
	return NULL;
}

void tb_json_str(struct textbuf *t, const char *s)
{
	char tmp[8];

	put(t, "\"", 1);
	for (; *s != '\0'; s++) {
		const char *e = tb_escape((unsigned char)*s, true, tmp);

		if (e != NULL)
			tb_puts(t, e);
		else
			put(t, s, 1);
	}
	put(t, "\"", 1);
}

void tb_u64(struct textbuf *t, uint64_t v)
{
	char tmp[24];

	tb_puts(t, tb_dec(v, tmp));
}

void tb_i64(struct textbuf *t, int64_t v)
{
	if (v < 0) {
		tb_puts(t, "-");
		/* The magnitude in unsigned arithmetic, so INT64_MIN has one too. */
		tb_u64(t, (uint64_t)0 - (uint64_t)v);
		return;
	}
	tb_u64(t, (uint64_t)v);
}

const char *tb_text(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	char tmp[8];

	if (cap == 0)
		return out;
	out[0] = '\0';
	for (; *s != '\0'; s++) {
		const char *e = tb_escape((unsigned char)*s, false, tmp);
		size_t k = e != NULL ? strlen(e) : 1;

		if (n + k >= cap) {
			/* Cut texts say so rather than pass for whole ones. */
			if (cap >= 4)
				memcpy(out + (n + 4 <= cap ? n : cap - 4), "...", 4);
			return out;
		}
		memcpy(out + n, e != NULL ? e : s, k);
		n += k;
		out[n] = '\0';
	}
	return out;
}
