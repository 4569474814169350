/*
 * ring.h: a byte ring over a buffer the caller owns.
 *
 * A stream's receive ring: the session writes what the peer sent at the
 * tail (ring_write_span, ring_commit), the local side takes it from the head
 * (ring_read_span, ring_consume). Spans are contiguous, so both sides move
 * bytes with one call and no copy through a second buffer; a span ends at the
 * end of the buffer and the next call returns the part that wrapped.
 */
#ifndef TETHER_RING_H
#define TETHER_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
	uint8_t *buf;
	uint32_t cap;
	uint32_t head; /* first byte held */
	uint32_t len;  /* bytes held */
	uint32_t hw;   /* bytes from buf's start ever written: what release wipes */
};

static inline void ring_init(struct ring *r, uint8_t *buf, uint32_t cap)
{
	r->buf = buf;
	r->cap = cap;
	r->head = 0;
	r->len = 0;
	r->hw = 0;
}

static inline uint32_t ring_used(const struct ring *r)
{
	return r->len;
}

static inline uint32_t ring_free(const struct ring *r)
{
	return r->cap - r->len;
}

/* Where the next bytes may be written; *n receives how many fit there (0: full). */
static inline uint8_t *ring_write_span(const struct ring *r, size_t *n)
{
	uint32_t tail = r->cap == 0 ? 0 : (r->head + r->len) % r->cap;
	uint32_t contig = r->cap - tail;

	if (contig > r->cap - r->len)
		contig = r->cap - r->len;
	*n = contig;
	return r->buf + tail;
}

/* n bytes were written at ring_write_span(); n MUST NOT exceed what it offered. */
static inline void ring_commit(struct ring *r, size_t n)
{
	uint32_t end = (r->cap == 0 ? 0 : (r->head + r->len) % r->cap) + (uint32_t)n;

	/* The ring empties to its start, so a reader that keeps up uses its first pages only. */
	if (end > r->hw)
		r->hw = end;
	r->len += (uint32_t)n;
}

/* Bytes from the buffer's start that ever held data (at most cap). */
static inline uint32_t ring_touched(const struct ring *r)
{
	return r->hw;
}

/* The oldest bytes held; *n receives how many are contiguous there (0: empty). */
static inline const uint8_t *ring_read_span(const struct ring *r, size_t *n)
{
	uint32_t contig = r->cap - r->head;

	if (contig > r->len)
		contig = r->len;
	*n = contig;
	return r->buf + r->head;
}

/* n bytes from ring_read_span() were taken; n MUST NOT exceed what it offered. */
static inline void ring_consume(struct ring *r, size_t n)
{
	r->len -= (uint32_t)n;
	r->head = r->len == 0 ? 0 : (r->head + (uint32_t)n) % r->cap;
}

#endif
