#include "core/log.h"

#include <stdio.h>
#include <string.h>

#include "core/textbuf.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_enabled(const struct log_sink *sink, int level)
{
	return sink != NULL && level <= sink->level;
}

static void put(struct log_line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len;

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void put_c(struct log_line *l, char c)
{
	put(l, &c, 1);
}

static int needs_quotes(const char *v)
{
	if (*v == '\0')
		return 1;
	for (; *v; v++)
		if (*v == ' ' || *v == '"' || *v == '=' || *v == '\\' || (unsigned char)*v < 0x20 ||
		    (unsigned char)*v >= 0x7f)
			return 1;
	return 0;
}

/* Escape for both formats: \" \\ and control or non-ASCII bytes (tb_escape). */
static void put_escaped(struct log_line *l, const char *v)
{
	char tmp[8];

	for (; *v; v++) {
		const char *e = tb_escape((unsigned char)*v, l->sink->json, tmp);

		if (e != NULL)
			put(l, e, strlen(e));
		else
			put_c(l, *v);
	}
}

static void put_key(struct log_line *l, const char *key)
{
	if (l->sink->json) {
		put(l, ",\"", 2);
		put(l, key, strlen(key));
		put(l, "\":", 2);
	} else {
		put_c(l, ' ');
		put(l, key, strlen(key));
		put_c(l, '=');
	}
}

void log_begin(struct log_line *l, const struct log_sink *sink, int level, const char *event)
{
	l->sink = sink;
	l->len = 0;
	l->on = log_enabled(sink, level);
	if (!l->on)
		return;
	if (level < 0 || level > 3)
		level = 3;
	if (sink->json) {
		put(l, "{\"level\":\"", 10);
		put(l, level_names[level], strlen(level_names[level]));
		put(l, "\",\"event\":\"", 11);
		put(l, event, strlen(event));
		put_c(l, '"');
	} else {
		put(l, "level=", 6);
		put(l, level_names[level], strlen(level_names[level]));
		put(l, " event=", 7);
		put(l, event, strlen(event));
	}
}

void log_str(struct log_line *l, const char *key, const char *val)
{
	if (!l->on)
		return;
	if (val == NULL)
		val = "";
	put_key(l, key);
	if (l->sink->json || needs_quotes(val)) {
		put_c(l, '"');
		put_escaped(l, val);
		put_c(l, '"');
	} else {
		put(l, val, strlen(val));
	}
}

void log_u64(struct log_line *l, const char *key, uint64_t val)
{
	char tmp[24];
	const char *d;

	if (!l->on)
		return;
	put_key(l, key);
	d = tb_dec(val, tmp);
	put(l, d, strlen(d));
}

void log_i64(struct log_line *l, const char *key, int64_t val)
{
	char tmp[24];
	const char *d;

	if (!l->on)
		return;
	put_key(l, key);
	if (val < 0)
		put_c(l, '-');
	/* The magnitude in unsigned arithmetic, so INT64_MIN has one too. */
	d = tb_dec(val < 0 ? 0u - (uint64_t)val : (uint64_t)val, tmp);
	put(l, d, strlen(d));
}

void log_end(struct log_line *l)
{
	if (!l->on)
		return;
	if (l->sink->json)
		put_c(l, '}');
	if (l->len >= sizeof(l->buf) - 1) {
		/* Cut lines say so rather than pass for whole ones. */
		memcpy(l->buf + sizeof(l->buf) - 4, "...", 3);
		l->len = sizeof(l->buf) - 1;
	}
	port_log_write(l->sink->port, l->buf, l->len);
}

const char *log_field(const char *line, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key), n = 0;
	const char *p = line;

	out[0] = '\0';
	if (len == 0)
		return out;
	while ((p = strstr(p, key)) != NULL) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=')
			break;
		p += klen;
	}
	if (p == NULL)
		return out;
	p += klen + 1;
	while (p[n] != '\0' && p[n] != ' ' && n < len - 1)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}
