/*
 * file.c: whole-file reads (certificates, keys, CRLs) and the private-key
 * permission check. Neither needs the port's state; p may be NULL.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, getrandom, explicit_bzero */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "port/posix/port_posix.h"

/* Bytes read (fewer than len only at end of file), or -1 on a read error. */
static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int port_read_file(struct port *p, const char *path, unsigned char *buf, size_t cap, size_t *len)
{
	unsigned char extra;
	ssize_t n;
	int fd, rc = 0;

	(void)p;
	if (len != NULL)
		*len = 0;
	if (path == NULL || buf == NULL || len == NULL)
		return TETHER_ERR_INVALID;
	if (cap == 0)
		return TETHER_ERR_TOO_BIG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return TETHER_ERR_FILE;
	n = read_full(fd, buf, cap - 1);
	if (n < 0) {
		rc = TETHER_ERR_FILE;
	} else if ((size_t)n == cap - 1) {
		/* Full: one more byte tells "exactly cap - 1" from "too big". */
		ssize_t more = read_full(fd, &extra, 1);

		if (more != 0)
			rc = more < 0 ? TETHER_ERR_FILE : TETHER_ERR_TOO_BIG;
	}
	close(fd);
	if (rc != 0) {
		/* The file may be a private key: leave no part of it behind. */
		explicit_bzero(buf, cap);
		explicit_bzero(&extra, sizeof(extra));
		return rc;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return 0;
}

int port_file_private(struct port *p, const char *path)
{
	struct stat st;

	(void)p;
	if (path == NULL)
		return TETHER_ERR_INVALID;
	if (stat(path, &st) != 0)
		return TETHER_ERR_FILE;
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return TETHER_ERR_PERM;
	return 0;
}

static int write_full(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int port_write_file(struct port *p, const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[4096], dir[4096];
	const char *slash;
	int fd, ok;

	(void)p;
	if (path == NULL || (data == NULL && len > 0) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return TETHER_ERR_INVALID;
	do
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return TETHER_ERR_FILE;
	/* An old .tmp left by a crash keeps its mode through O_TRUNC: set ours. */
	ok = fchmod(fd, (mode_t)mode) == 0 && write_full(fd, data, len) == 0 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		(void)unlink(tmp);
		return TETHER_ERR_FILE;
	}
	/* The rename itself must reach the disk: flush the folder. */
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

int port_rename(struct port *p, const char *from, const char *to)
{
	char dir[4096];
	const char *slash;
	int fd;

	(void)p;
	if (from == NULL || to == NULL || rename(from, to) != 0)
		return TETHER_ERR_FILE;
	slash = strrchr(to, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == to ? 1 : (int)(slash - to), to);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}
