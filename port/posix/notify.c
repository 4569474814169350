/*
 * notify.c: telling the service manager how the agent is doing, systemd's
 * sd_notify protocol written from its documentation (sd_notify(3),
 * systemd.service(5)) rather than linked from libsystemd:
 *
 * - $NOTIFY_SOCKET names an AF_UNIX datagram socket: a file system path, or
 *   an abstract name when it starts with '@' (the '@' stands for the leading
 *   NUL byte, and the name is not NUL-terminated).
 * - Each message is one datagram of newline-separated VARIABLE=VALUE
 *   assignments. The manager takes the sender's credentials from the kernel
 *   (SO_PASSCRED on its end), so nothing else is attached.
 * - $WATCHDOG_USEC asks for "WATCHDOG=1" at least that often; when
 *   $WATCHDOG_PID is set it names the one process that is meant.
 *
 * Other address kinds newer systemd versions accept ("vsock:...") are not
 * supported: such a $NOTIFY_SOCKET makes every port_notify() fail with
 * TETHER_ERR_ADDR, so the agent says so once in its log.
 *
 * The environment is read once, when the port opens: later changes to it
 * (by a test or anything else) do not move a running agent's messages.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, getrandom, explicit_bzero */
#endif

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "port/posix/port_posix.h"

/* A decimal number made of digits only, at least 1; 0 when it is not one. */
static uint64_t env_u64(const char *name)
{
	const char *v = getenv(name);
	uint64_t n = 0;

	if (v == NULL || *v == '\0')
		return 0;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10)
			return 0;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	return n;
}

static uint64_t watchdog_from_env(void)
{
	const char *pid = getenv("WATCHDOG_PID");

	/* A watchdog meant for another process (our parent's) is not ours. */
	if (pid != NULL && *pid != '\0' && env_u64("WATCHDOG_PID") != (uint64_t)getpid())
		return 0;
	return env_u64("WATCHDOG_USEC");
}

void port_notify_open(struct port_notify_state *st)
{
	const char *name = getenv("NOTIFY_SOCKET");
	size_t len;

	memset(st, 0, sizeof(*st));
	st->fd = -1;
	st->watchdog_usec = watchdog_from_env();
	if (name == NULL || *name == '\0')
		return;
	len = strlen(name);
	st->addr.sun_family = AF_UNIX;
	if (name[0] == '/' && len < sizeof(st->addr.sun_path)) {
		memcpy(st->addr.sun_path, name, len + 1);
		st->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	} else if (name[0] == '@' && len > 1 && len <= sizeof(st->addr.sun_path)) {
		/* Abstract: a NUL, then the name's bytes; the length ends it. */
		st->addr.sun_path[0] = '\0';
		memcpy(st->addr.sun_path + 1, name + 1, len - 1);
		st->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else {
		st->addr_err = TETHER_ERR_ADDR;
	}
}

void port_notify_close(struct port_notify_state *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

static int notify_err(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return TETHER_ERR_ADDR;
	case ECONNREFUSED:
		return TETHER_ERR_REFUSED;
	case EACCES:
	case EPERM:
		return TETHER_ERR_PERM;
	case EMSGSIZE:
		return TETHER_ERR_TOO_BIG;
	case ENOBUFS:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
		return TETHER_ERR_NOMEM;
	default:
		/* EAGAIN included: the manager's queue is full, the message is lost. */
		return TETHER_ERR_IO;
	}
}

int port_notify(struct port *p, const char *state)
{
	struct port_notify_state *st;
	size_t len;
	ssize_t w;

	if (p == NULL || state == NULL || *state == '\0')
		return TETHER_ERR_INVALID;
	st = &p->notify;
	if (st->addr_err != 0)
		return st->addr_err;
	if (st->addr_len == 0)
		return 0;
	if (st->fd < 0) {
		/* Non-blocking: a stalled manager must never stall the agent. */
		st->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (st->fd < 0)
			return notify_err(errno);
	}
	len = strlen(state);
	do {
		w = sendto(st->fd, state, len, MSG_NOSIGNAL | MSG_DONTWAIT,
			   (const struct sockaddr *)&st->addr, st->addr_len);
	} while (w < 0 && errno == EINTR);
	if (w < 0)
		return notify_err(errno);
	return 0;
}

uint64_t port_watchdog_usec(struct port *p)
{
	return p != NULL ? p->notify.watchdog_usec : 0;
}
