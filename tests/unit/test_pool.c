/* Unit tests: fixed-slot pools and the arena (core/pool.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "core/pool.h"

static unsigned char region[64 * 1024];

static void arena_aligns_and_bounds(void **state)
{
	struct arena a = {region, 100, 0};
	unsigned char *p, *q;

	(void)state;
	p = arena_take(&a, 1);
	q = arena_take(&a, 17);
	assert_non_null(p);
	assert_non_null(q);
	assert_int_equal((uintptr_t)q % 16, 0);
	assert_int_equal(q - p, 16);
	assert_int_equal(a.used, 48);
	assert_null(arena_take(&a, 64));     /* 48 + 64 > 100 */
	assert_non_null(arena_take(&a, 48)); /* 96 of 100 */
	assert_null(arena_take(&a, 1));
	assert_null(arena_take(&a, (size_t)-1)); /* no overflow on rounding */
}

static void pool_gives_every_slot_once(void **state)
{
	struct arena a = {region, sizeof(region), 0};
	struct pool p;
	void *slots[8];
	int i, j;

	(void)state;
	assert_int_equal(pool_init(&p, "t", &a, 40, 8), 0);
	assert_int_equal(p.slot_size, 48);
	for (i = 0; i < 8; i++) {
		slots[i] = pool_get(&p);
		assert_non_null(slots[i]);
		assert_int_equal(pool_index(&p, slots[i]), (uint32_t)i);
		for (j = 0; j < i; j++)
			assert_ptr_not_equal(slots[i], slots[j]);
	}
	assert_int_equal(p.used, 8);
	assert_int_equal(p.high, 8);
	/* Exhaustion is an answer, counted, not a failure. */
	assert_null(pool_get(&p));
	assert_null(pool_get(&p));
	assert_int_equal(p.exhausted, 2);
	pool_put(&p, slots[3]);
	pool_put(&p, NULL);
	assert_int_equal(p.used, 7);
	assert_ptr_equal(pool_get(&p), slots[3]);
	assert_int_equal(p.high, 8);
}

static void slots_are_zeroed_and_wiped(void **state)
{
	struct arena a = {region, sizeof(region), 0};
	struct pool p;
	unsigned char *s, *t;
	size_t i;

	(void)state;
	assert_int_equal(pool_init(&p, "t", &a, 64, 2), 0);
	s = pool_get(&p);
	memset(s, 0xA5, 64);
	pool_put(&p, s);
	/* Released bytes hold nothing of the old contents but the free-list link. */
	for (i = sizeof(void *); i < 64; i++)
		assert_int_equal(s[i], 0);
	t = pool_get(&p);
	assert_ptr_equal(t, s);
	for (i = 0; i < 64; i++)
		assert_int_equal(t[i], 0);
}

/* Memory that follows use: nothing is written before a slot is handed out. */
static void slots_untouched_until_used(void **state)
{
	struct arena a = {region, sizeof(region), 0};
	struct pool p;
	unsigned char *s, *t, *u;
	size_t i;

	(void)state;
	memset(region, 0x5A, sizeof(region));
	assert_int_equal(pool_init(&p, "t", &a, 1024, 8), 0);
	/* pool_init wrote nothing: no free list threaded through the slots. */
	for (i = 0; i < 8 * 1024; i++)
		assert_int_equal(region[i], 0x5A);
	assert_null(arena_reserve(&a, sizeof(region))); /* bounds as arena_take */
	assert_non_null(u = arena_reserve(&a, 32));
	assert_int_equal(u[0], 0x5A); /* reserved, not zeroed */
	pool_set_clear(&p, 64);
	s = pool_get(&p);
	assert_ptr_equal(s, region);
	for (i = 0; i < 64; i++)
		assert_int_equal(s[i], 0);
	for (i = 64; i < 8 * 1024; i++)
		assert_int_equal(region[i], 0x5A); /* past the prefix, and other slots: untouched */
	/* The owner wrote 300 bytes: those are wiped on release, the rest is left alone. */
	memset(s, 0xC3, 300);
	pool_put_part(&p, s, 300);
	for (i = 0; i < 300; i++)
		assert_int_equal(s[i], 0);
	for (i = 300; i < 1024; i++)
		assert_int_equal(s[i], 0x5A);
	/* A slot given back is handed out before a fresh one. */
	t = pool_get(&p);
	assert_ptr_equal(t, s);
	assert_ptr_equal(pool_get(&p), region + 1024);
	/* A claim shorter than the zeroed prefix still wipes the prefix. */
	memset(t, 0xC3, 64);
	pool_put_part(&p, t, 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(t[i], 0);
}

static void pool_init_fails_when_region_is_small(void **state)
{
	struct arena a = {region, 1000, 0};
	struct pool p;

	(void)state;
	assert_int_equal(pool_init(&p, "t", &a, 100, 100), TETHER_ERR_NOMEM);
	assert_int_equal(pool_bytes(100, 100), 112u * 100u);
	assert_int_equal(pool_init(&p, "t", &a, 100, 0), 0);
	assert_null(pool_get(&p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arena_aligns_and_bounds),
		cmocka_unit_test(pool_gives_every_slot_once),
		cmocka_unit_test(slots_are_zeroed_and_wiped),
		cmocka_unit_test(slots_untouched_until_used),
		cmocka_unit_test(pool_init_fails_when_region_is_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
