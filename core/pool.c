#include "core/pool.h"

#include <string.h>

#include <mbedtls/platform_util.h>

#include "base/err.h"

#define ALIGN 16u

static size_t round_up(size_t n)
{
	return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

void *arena_reserve(struct arena *a, size_t size)
{
	size_t n = round_up(size);
	void *p;

	if (n < size || a->size - a->used < n)
		return NULL;
	p = a->base + a->used;
	a->used += n;
	return p;
}

void *arena_take(struct arena *a, size_t size)
{
	void *p = arena_reserve(a, size);

	if (p != NULL)
		memset(p, 0, round_up(size));
	return p;
}

size_t pool_bytes(size_t slot_size, uint32_t count)
{
	return round_up(slot_size < sizeof(void *) ? sizeof(void *) : slot_size) * count;
}

int pool_init(struct pool *p, const char *name, struct arena *a, size_t slot_size, uint32_t count)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->slot_size = round_up(slot_size < sizeof(void *) ? sizeof(void *) : slot_size);
	if (count != 0 && p->slot_size > (size_t)-1 / count)
		return TETHER_ERR_NOMEM;
	/* No free list threaded through the slots: that would touch every one now. */
	p->base = arena_reserve(a, p->slot_size * count);
	if (p->base == NULL && count != 0)
		return TETHER_ERR_NOMEM;
	p->count = count;
	p->clear = p->slot_size;
	return 0;
}

void pool_set_clear(struct pool *p, size_t clear)
{
	p->clear = clear < p->slot_size ? clear : p->slot_size;
}

void *pool_get(struct pool *p)
{
	void **slot = p->free_list;

	if (slot != NULL) {
		p->free_list = *slot;
	} else if (p->fresh < p->count) {
		slot = (void **)(p->base + (size_t)p->fresh * p->slot_size);
		p->fresh++;
	} else {
		p->exhausted++;
		return NULL;
	}
	memset(slot, 0, p->clear);
	p->used++;
	if (p->used > p->high)
		p->high = p->used;
	return slot;
}

void pool_put(struct pool *p, void *slot)
{
	pool_put_part(p, slot, p->slot_size);
}

void pool_put_part(struct pool *p, void *slot, size_t written)
{
	if (slot == NULL)
		return;
	if (written < p->clear)
		written = p->clear;
	if (written > p->slot_size)
		written = p->slot_size;
	/* Slots may have held keys or plaintext: wipe before reuse. */
	mbedtls_platform_zeroize(slot, written);
	*(void **)slot = p->free_list;
	p->free_list = slot;
	p->used--;
}

uint32_t pool_index(const struct pool *p, const void *slot)
{
	return (uint32_t)(((const unsigned char *)slot - p->base) / p->slot_size);
}
