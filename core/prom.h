/*
 * prom.h: the Prometheus text exposition format (version 0.0.4), written into
 * a caller's buffer without allocation.
 *
 * A family is announced once (# HELP, # TYPE), then its samples follow, each
 * with up to two labels. Label values are escaped as the format requires
 * (backslash, double quote and line feed); HELP text escapes backslash and
 * line feed. Metric and label names are the caller's constants.
 */
#ifndef TETHER_PROM_H
#define TETHER_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/textbuf.h"

/* t.full: something did not fit, the text is unusable. */
struct prom {
	struct textbuf t;
};

void prom_init(struct prom *p, char *buf, size_t cap);
/* "# HELP name help\n# TYPE name type\n"; type is "gauge" or "counter". */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);
/*
 * One sample: name{k1="v1",k2="v2"} value. k1 and k2 may be NULL (no label);
 * values are escaped.
 */
void prom_u64(struct prom *p, const char *name, const char *k1, const char *v1, const char *k2,
	      const char *v2, uint64_t value);
void prom_i64(struct prom *p, const char *name, const char *k1, const char *v1, const char *k2,
	      const char *v2, int64_t value);

/*
 * prom_escape_label: v escaped for a label value into out (cap bytes, NUL
 * terminated). Returns the length, or (size_t)-1 if it does not fit.
 */
size_t prom_escape_label(const char *v, char *out, size_t cap);

#endif
