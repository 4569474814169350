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
/*
 * arena_reserve: like arena_take, but the bytes are left as they are (not
 * touched): for buffers the caller always writes before it reads. A region
 * from calloc or mmap stays unmapped zero pages until used, so the memory a
 * process holds follows what it buffers, not what its limits reserve.
 */
void *arena_reserve(struct arena *a, size_t size);

struct pool {
	const char *name; /* for logs and status: "sessions", "streams" */
	unsigned char *base;
	size_t slot_size;
	uint32_t count;
	uint32_t used;
	uint32_t high;	    /* high-water mark of used */
	uint32_t exhausted; /* times pool_get found no slot */
	uint32_t fresh;	    /* slots [fresh, count) were never handed out */
	size_t clear;	    /* bytes pool_get zeroes: the slot, or a prefix (pool_set_clear) */
	void *free_list;    /* slots given back, most recent first */
};

/*
 * pool_init: carve count slots of slot_size bytes (rounded up to 16) from a.
 * The slots are not touched until handed out (arena_reserve): a slot never
 * used costs no memory on a system with virtual memory.
 * Returns 0 or TETHER_ERR_NOMEM if a is too small.
 */
int pool_init(struct pool *p, const char *name, struct arena *a, size_t slot_size, uint32_t count);
/* Bytes pool_init would take from an arena. */
size_t pool_bytes(size_t slot_size, uint32_t count);
/*
 * pool_set_clear: pool_get zeroes only the first clear bytes of a slot (at
 * most slot_size); the owner MUST write the rest before reading it and MUST
 * give the slot back with pool_put_part, saying how far it wrote.
 */
void pool_set_clear(struct pool *p, size_t clear);
/*
 * A slot, zeroed (its first p->clear bytes), or NULL when every slot is taken
 * (p->exhausted counts it). Slots given back are handed out first, so a pool
 * that is never full touches only as many slots as were ever used at once.
 */
void *pool_get(struct pool *p);
/* Return slot (from this pool; NULL is harmless). Its bytes are wiped. */
void pool_put(struct pool *p, void *slot);
/*
 * pool_put_part: return slot, wiping its first written bytes (at least
 * p->clear, at most the slot): the owner says that no byte past written was
 * stored since the slot was handed out, so nothing it held is left behind.
 */
void pool_put_part(struct pool *p, void *slot, size_t written);
/* Index of a slot in its pool (0..count-1). */
uint32_t pool_index(const struct pool *p, const void *slot);

#endif
