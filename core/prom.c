/*
 * prom.c: the Prometheus text format writer (prom.h).
 */
#include "core/prom.h"

#include <string.h>

void prom_init(struct prom *p, char *buf, size_t cap)
{
	tb_init(&p->t, buf, cap);
}

static void puts_(struct prom *p, const char *s)
{
	tb_puts(&p->t, s);
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
	char esc[512]; /* every byte of a 255-byte value escaped */

	if (prom_escape_label(v, esc, sizeof(esc)) == (size_t)-1) {
		p->t.full = true;
		return;
	}
	puts_(p, first ? "{" : ",");
	puts_(p, k);
	puts_(p, "=\"");
	puts_(p, esc);
	puts_(p, "\"");
}

/* "name{k1=\"v1\",k2=\"v2\"} ", up to the value. */
static void head(struct prom *p, const char *name, const char *k1, const char *v1, const char *k2,
		 const char *v2)
{
	puts_(p, name);
	if (k1 != NULL)
		label(p, k1, v1, true);
	if (k2 != NULL)
		label(p, k2, v2, k1 == NULL);
	puts_(p, k1 != NULL || k2 != NULL ? "} " : " ");
}

void prom_u64(struct prom *p, const char *name, const char *k1, const char *v1, const char *k2,
	      const char *v2, uint64_t value)
{
	head(p, name, k1, v1, k2, v2);
	tb_u64(&p->t, value);
	puts_(p, "\n");
}

void prom_i64(struct prom *p, const char *name, const char *k1, const char *v1, const char *k2,
	      const char *v2, int64_t value)
{
	head(p, name, k1, v1, k2, v2);
	tb_i64(&p->t, value);
	puts_(p, "\n");
}
