/*
 * alloc_count.c: count the C allocator calls made by tether's own code and
 * its libraries (linked with -Wl,--wrap=malloc,...). `tether run` logs the
 * count made after start-up at exit; the tests require it to be zero.
 * Calls made inside libc itself (e.g. by the resolver) are not seen here.
 */
#include <stddef.h>

#include "cli/cli.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);

static unsigned long calls;

unsigned long alloc_count_calls(void)
{
	return calls;
}

void *__wrap_malloc(size_t size)
{
	calls++;
	return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	calls++;
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	calls++;
	return __real_realloc(p, size);
}

void __wrap_free(void *p)
{
	if (p != NULL)
		calls++;
	__real_free(p);
}
