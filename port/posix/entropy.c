/*
 * entropy.c: the cryptographic randomness of the node.
 *
 * mbedTLS is built with MBEDTLS_NO_PLATFORM_ENTROPY and
 * MBEDTLS_ENTROPY_HARDWARE_ALT, so mbedtls_hardware_poll() below is its only
 * entropy source, and port_entropy() serves everything else. Both draw on
 * read_random(). A board with a hardware RNG replaces this one file: it is
 * the single place tether gets randomness from.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, getrandom, explicit_bzero */
#endif

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include "port/posix/port_posix.h"

/* MBEDTLS_ERR_ENTROPY_SOURCE_FAILED; spelled out to keep mbedTLS headers out of the port. */
#define ENTROPY_SOURCE_FAILED (-0x003C)

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

/* Kernels older than 3.17 have no getrandom(); their urandom is the same pool. */
static int read_urandom(unsigned char *buf, size_t len)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return TETHER_ERR_IO;
	while (len > 0) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return TETHER_ERR_IO;
		}
		buf += n;
		len -= (size_t)n;
	}
	close(fd);
	return 0;
}

/* Fill buf completely or fail: a short read is never passed on as entropy. */
static int read_random(unsigned char *buf, size_t len)
{
	while (len > 0) {
		/* Flags 0: blocks only until the kernel pool is first seeded. */
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOSYS)
				return read_urandom(buf, len);
			return TETHER_ERR_IO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int port_entropy(struct port *p, unsigned char *buf, size_t len)
{
	(void)p;
	if (buf == NULL && len > 0)
		return TETHER_ERR_INVALID;
	return read_random(buf, len);
}

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
	(void)data;
	*olen = 0;
	if (read_random(output, len) != 0)
		return ENTROPY_SOURCE_FAILED;
	*olen = len;
	return 0;
}
