/*
 * backoff.h: sources whose handshakes failed recently (docs/DESIGN.md
 * "Back-off after failed handshakes"). A fixed table carved at start-up; a
 * source in back-off is deprioritised by admission (admit.c, edge.c), never
 * refused.
 */
#ifndef TETHER_BACKOFF_H
#define TETHER_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/opts.h"
#include "core/reason.h"

/* "host:0": the longest IPv6 text in brackets, a port, a NUL. */
#define BACKOFF_KEY_MAX 56

struct backoff_entry {
	char key[BACKOFF_KEY_MAX]; /* "" if free */
	uint32_t fails;		   /* failures in a row, none since the last success */
	uint64_t until;		   /* ms: deprioritised until then */
	uint64_t t_fail;	   /* ms: its last failure (the least recent is replaced) */
};

struct backoff_table {
	struct backoff_entry *e; /* cap of them */
	unsigned cap;
};

/* Bytes of a table of cap entries. */
static inline size_t backoff_bytes(unsigned cap)
{
	return sizeof(struct backoff_entry) * cap;
}
/* Over mem (backoff_bytes(cap) of it): every entry free. */
void backoff_init(struct backoff_table *t, void *mem, unsigned cap);
/* Does a handshake that ended for this reason count against its source? */
bool backoff_counts(enum tether_reason why);
/*
 * A handshake from addr ("host:port") failed at now: its back-off grows
 * (TETHER_BACKOFF_MIN_MS doubling to TETHER_BACKOFF_MAX_MS). Returns true if
 * the source entered back-off (was not in it). The least recently failed
 * entry gives way to a new source.
 */
bool backoff_fail(struct backoff_table *t, const char *addr, uint64_t now);
/* A handshake from addr succeeded: its source is forgotten. */
void backoff_ok(struct backoff_table *t, const char *addr);
/* Is addr's source in back-off at now? */
bool backoff_active(const struct backoff_table *t, const char *addr, uint64_t now);
/* Its failures in a row (0 if not in the table). */
uint32_t backoff_fails(const struct backoff_table *t, const char *addr);

#endif
