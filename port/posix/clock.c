/*
 * clock.c: monotonic milliseconds and wall-clock seconds.
 * Neither needs the port's state; p may be NULL.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, getrandom, explicit_bzero */
#endif

#include <time.h>

#include "port/posix/port_posix.h"

uint64_t port_now_ms(struct port *p)
{
	struct timespec ts;

	(void)p;
	/* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t port_wall_s(struct port *p)
{
	struct timespec ts;

	(void)p;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}
