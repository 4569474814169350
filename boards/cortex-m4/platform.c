/*
 * platform.c: what newlib and mbedTLS expect from a platform, served by the
 * in-memory port's clock. A real board feeds these from its RTC and a
 * hardware timer instead (port_now_ms/port_wall_s in its own port).
 *
 *   _gettimeofday            newlib's time(), which mbedTLS's X.509 code calls
 *                            to check validity periods
 *   mbedtls_ms_time          MBEDTLS_PLATFORM_MS_TIME_ALT (TLS 1.3 ticket ages)
 *   mbedtls_platform_gmtime_r  MBEDTLS_PLATFORM_GMTIME_R_ALT: newlib's
 *                            gmtime_r, pure arithmetic (its gmtime() would
 *                            need the reentrancy struct's heap)
 *   tether_board_no_calloc/free  mbedTLS's allocator before the buffer
 *                            allocator is set up: there is no C heap
 *   __wrap__malloc_r, ...    newlib's allocator, which snprintf's code refers
 *                            to (for asprintf): the link wraps it (board.cmake)
 *                            so that every call fails and is counted, and
 *                            newlib's malloc and sbrk are not in the image
 *   tether_board_fprintf     mbedTLS's fprintf (allocator reports): the console
 */
#define _POSIX_C_SOURCE 200809L /* gmtime_r in newlib's <time.h> */

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include <mbedtls/platform_time.h>
#include <mbedtls/platform_util.h>

#include "boards/cortex-m4/board_io.h"
#include "port/mem/port_mem.h"

int _gettimeofday(struct timeval *tv, void *tz);
struct _reent;
void *__wrap__malloc_r(struct _reent *r, size_t n);
void *__wrap__realloc_r(struct _reent *r, void *p, size_t n);
void __wrap__free_r(struct _reent *r, void *p);

static unsigned long c_heap_calls;

int _gettimeofday(struct timeval *tv, void *tz)
{
	(void)tz;
	if (tv != NULL) {
		uint64_t ms = port_mem_now_ms();

		tv->tv_sec = (time_t)port_mem_wall_s();
		tv->tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
	}
	return 0;
}

mbedtls_ms_time_t mbedtls_ms_time(void)
{
	return (mbedtls_ms_time_t)port_mem_now_ms();
}

struct tm *mbedtls_platform_gmtime_r(const mbedtls_time_t *tt, struct tm *tm_buf)
{
	time_t t = (time_t)*tt;

	return gmtime_r(&t, tm_buf);
}

void *tether_board_no_calloc(size_t n, size_t size)
{
	(void)n;
	(void)size;
	c_heap_calls++;
	return NULL;
}

void tether_board_no_free(void *p)
{
	if (p != NULL)
		c_heap_calls++;
}

unsigned long board_c_heap_calls(void)
{
	return c_heap_calls;
}

void *__wrap__malloc_r(struct _reent *r, size_t n)
{
	(void)r;
	(void)n;
	c_heap_calls++;
	return NULL;
}

void *__wrap__realloc_r(struct _reent *r, void *p, size_t n)
{
	(void)r;
	(void)p;
	(void)n;
	c_heap_calls++;
	return NULL;
}

void __wrap__free_r(struct _reent *r, void *p)
{
	(void)r;
	if (p != NULL)
		c_heap_calls++;
}

int tether_board_fprintf(FILE *stream, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	int n;

	(void)stream;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		board_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	return n;
}
