/*
 * pool.h: fixed-size slot pools and a bump arena, all carved at start-up.
 *
 * After start-up nothing is allocated: a pool hands out zeroed slots from a
 * region the caller owns, and running out is a normal event (NULL, counted),
 * never a failure of anything already running.
 */
#ifndef TETHER_POOL_H
#define TETHER_POOL_H

#include <stddef.h>
#include <stdint.h>

struct arena {
	unsigned char *base;
	size_t size;
	size_t used;
};

/* Take size bytes aligned to 16 from a; NULL when it does not fit. Zeroed. */
void *arena_take(struct arena *a, size_t size);

struct pool {
	const char *name; /* for logs and status: "sessions", "streams" */
	unsigned char *base;
	size_t slot_size;
	uint32_t count;
	uint32_t used;
	uint32_t high;	    /* high-water mark of used */
	uint32_t exhausted; /* times pool_get found no slot */
	void *free_list;
};

/*
 * pool_init: carve count slots of slot_size bytes (rounded up to 16) from a.
 * Returns 0 or TETHER_ERR_NOMEM if a is too small.
 */
int pool_init(struct pool *p, const char *name, struct arena *a, size_t slot_size, uint32_t count);
/* Bytes pool_init would take from an arena. */
size_t pool_bytes(size_t slot_size, uint32_t count);
/* A zeroed slot, or NULL when every slot is taken (p->exhausted counts it). */
void *pool_get(struct pool *p);
/* Return slot (from this pool; NULL is harmless). Its bytes are wiped. */
void pool_put(struct pool *p, void *slot);
/* Index of a slot in its pool (0..count-1). */
uint32_t pool_index(const struct pool *p, const void *slot);

#endif
