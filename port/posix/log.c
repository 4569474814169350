/*
 * log.c: the log sink is stderr (journald and syslog collect it).
 * p may be NULL, so the agent can log before its port exists.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, getrandom, explicit_bzero */
#endif

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "port/posix/port_posix.h"

void port_log_write(struct port *p, const char *line, size_t len)
{
	/*
	 * The line and its newline leave in one system call, so lines from
	 * several processes sharing stderr do not interleave; writev needs no
	 * copy and so has no length limit.
	 */
	struct iovec iov[2] = {
		{.iov_base = (void *)(uintptr_t)line, .iov_len = line != NULL ? len : 0},
		{.iov_base = "\n", .iov_len = 1},
	};
	struct iovec *v = iov;
	int n = 2;

	(void)p;
	while (n > 0) {
		ssize_t w = writev(STDERR_FILENO, v, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		/* A short write (a full pipe, a signal): send what is left. */
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
}
