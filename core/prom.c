/*
 * prom.c: the Prometheus text format writer (prom.h).
 */
#include "core/prom.h"

#include <stdio.h>
#include <string.h>

void prom_init(struct prom *p, char *buf, size_t cap)
{
	p->buf = buf;
	p->cap = cap;
	p->len = 0;
	p->full = cap == 0;
	if (cap > 0)
		buf[0] = '\0';
}

static void put(struct prom *p, const char *s, size_t n)
{
	if (p->full || p->cap - p->len <= n) {
		p->full = true;
		return;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void puts_(struct prom *p, const char *s)
{
	put(p, s, strlen(s));
}

size_t prom_escape_label(const char *v, char *out, size_t cap)
{
	size_t n = 0;

	for (; *v != '\0'; v++) {
		const char *e = NULL;
		char c[2] = {*v, '\0'};

		if (*v == '\\')
			e = "\\\\";
		else if (*v == '"')
			e = "\\\"";
		else if (*v == '\n')
			e = "\\n";
		else
			e = c;
		if (n + strlen(e) >= cap)
			return (size_t)-1;
		memcpy(out + n, e, strlen(e));
		n += strlen(e);
	}
	if (n >= cap)
		return (size_t)-1;
	out[n] = '\0';
	return n;
}

void prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
	puts_(p, "# HELP ");
	puts_(p, name);
	puts_(p, " ");
	/* HELP escapes backslash and line feed; the callers' texts have neither. */
	puts_(p, help);
	puts_(p, "\n# TYPE ");
	puts_(p, name);
	puts_(p, " ");
	puts_(p, type);
	puts_(p, "\n");
}

static void label(struct prom *p, const char *k, const char *v, bool first)
{
	char esc[256];

	if (prom_escape_label(v, esc, sizeof(esc)) == (size_t)-1) {
		p->full = true;
		return;
	}
	puts_(p, first ? "{" : ",");
	puts_(p, k);
	puts_(p, "=\"");
	puts_(p, esc);
	puts_(p, "\"");
}

static void head(struct prom *p, const char *name, const char *k1, const char *v1, const char *k2,
		 const char *v2)
{
	puts_(p, name);
	if (k1 != NULL)
		label(p, k1, v1, true);
	if (k2 != NULL)
		label(p, k2, v2, k1 == NULL);
	if (k1 != NULL || k2 != NULL)
		puts_(p, "}");
}

void prom_u64(struct prom *p, const char *name, const char *k1, const char *v1, const char *k2,
	      const char *v2, uint64_t value)
{
	char num[32];

	head(p, name, k1, v1, k2, v2);
	/* %lu of a 64-bit value is not portable to every C library: two halves. */
	if (value > 0xffffffffu)
		snprintf(num, sizeof(num), " %lu%09lu\n", (unsigned long)(value / 1000000000u),
			 (unsigned long)(value % 1000000000u));
	else
		snprintf(num, sizeof(num), " %lu\n", (unsigned long)value);
	puts_(p, num);
}

void prom_i64(struct prom *p, const char *name, const char *k1, const char *v1, const char *k2,
	      const char *v2, int64_t value)
{
	if (value >= 0) {
		prom_u64(p, name, k1, v1, k2, v2, (uint64_t)value);
		return;
	}
	head(p, name, k1, v1, k2, v2);
	{
		char num[32];
		uint64_t m = (uint64_t)0 - (uint64_t)value;

		if (m > 0xffffffffu)
			snprintf(num, sizeof(num), " -%lu%09lu\n", (unsigned long)(m / 1000000000u),
				 (unsigned long)(m % 1000000000u));
		else
			snprintf(num, sizeof(num), " -%lu\n", (unsigned long)m);
		puts_(p, num);
	}
}
