/*
 * tcp.c: non-blocking TCP over BSD sockets, and the one place where errno
 * becomes a TETHER_ERR_* code (err_from_errno).
 *
 * Addresses are "host:port" or "[v6]:port". Numeric hosts are parsed
 * directly; other names go through getaddrinfo(), which blocks the caller
 * while it resolves, and only its first answer is used.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, getrandom, explicit_bzero */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "port/posix/port_posix.h"

#define LISTEN_BACKLOG 4096 /* the kernel clamps it to net.core.somaxconn */
#define HOST_MAX 255

static int err_from_errno(int e)
{
	switch (e) {
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE: /* writing after the remote reset or fully closed */
		return TETHER_ERR_RESET;
	case ECONNREFUSED:
		return TETHER_ERR_REFUSED;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
		return TETHER_ERR_UNREACH;
	case EADDRINUSE:
		return TETHER_ERR_INUSE;
	case EACCES:
	case EPERM:
		return TETHER_ERR_PERM;
	case ETIMEDOUT:
		return TETHER_ERR_TIMEOUT;
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
		return TETHER_ERR_ADDR;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return TETHER_ERR_NOMEM;
	default:
		return TETHER_ERR_IO;
	}
}

/* "0".."65535", digits only. */
static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return TETHER_ERR_ADDR;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || v > 65535)
		return TETHER_ERR_ADDR;
	*out = (uint16_t)v;
	return 0;
}

static int resolve(const char *host, int v6_only, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = v6_only ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* Inside brackets only a literal (with a %zone) is allowed. */
	hints.ai_flags = v6_only ? AI_NUMERICHOST : 0;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return TETHER_ERR_ADDR;
	if (res == NULL || res->ai_addrlen > sizeof(*ss)) {
		freeaddrinfo(res);
		return TETHER_ERR_ADDR;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Turn "host:port" or "[v6]:port" into a socket address. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[HOST_MAX + 1];
	const char *h, *end, *port;
	int bracketed;
	uint16_t pnum;
	size_t hlen;
	int rc;

	if (addr == NULL)
		return TETHER_ERR_ADDR;
	bracketed = addr[0] == '[';
	if (bracketed) {
		h = addr + 1;
		end = strchr(h, ']');
		if (end == NULL || end[1] != ':')
			return TETHER_ERR_ADDR;
		port = end + 2;
	} else {
		h = addr;
		end = strrchr(addr, ':');
		if (end == NULL)
			return TETHER_ERR_ADDR;
		port = end + 1;
	}
	hlen = (size_t)(end - h);
	if (hlen == 0 || hlen > HOST_MAX)
		return TETHER_ERR_ADDR;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	/* An IPv6 literal must be bracketed, or its port would be ambiguous. */
	if (!bracketed && strchr(host, ':') != NULL)
		return TETHER_ERR_ADDR;
	rc = parse_port(port, &pnum);
	if (rc != 0)
		return rc;

	memset(ss, 0, sizeof(*ss));
	if (!bracketed) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(pnum);
			*len = sizeof(*sin);
			return 0;
		}
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(pnum);
			*len = sizeof(*sin6);
			return 0;
		}
	}
	rc = resolve(host, bracketed, ss, len);
	if (rc != 0)
		return rc;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(pnum);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(pnum);
	else
		return TETHER_ERR_ADDR;
	return 0;
}

/* "ip:port", or "[v6]:port"; IPv4-mapped IPv6 is shown as plain IPv4. */
static int format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	int v6 = 0, n;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip, sizeof(ip));
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			v6 = 1;
		}
		port = ntohs(sin6->sin6_port);
	} else {
		return TETHER_ERR_ADDR;
	}
	n = snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", ip, port);
	if (n < 0 || (size_t)n >= len)
		return TETHER_ERR_TOO_BIG;
	return 0;
}

/* Small writes (frame headers, WINDOW updates) must not wait for Nagle. */
static void set_nodelay(int fd)
{
	int one = 1;

	/* Failing costs latency only, never correctness. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A socket for ss with a handle slot; the handle, or TETHER_ERR_*. */
static int open_socket(struct port *p, const struct sockaddr_storage *ss, int *fd_out)
{
	int fd = -1, h;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_from_errno(errno);
	h = port_handle_new(p, fd);
	if (h < 0) {
		close(fd);
		return h;
	}
	*fd_out = fd;
	return h;
}

/* Undo open_socket() after a failure; returns rc. */
static int drop_socket(struct port *p, int h, int rc)
{
	int fd = port_handle_release(p, h);

	if (fd >= 0)
		close(fd);
	return rc;
}

int port_tcp_listen(struct port *p, const char *addr, int *out)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	int fd = -1, h, one = 1, rc;

	if (p == NULL || out == NULL)
		return TETHER_ERR_INVALID;
	*out = -1;
	rc = parse_addr(addr, &ss, &slen);
	if (rc != 0)
		return rc;
	h = open_socket(p, &ss, &fd);
	if (h < 0)
		return h;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, slen) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
		return drop_socket(p, h, err_from_errno(errno));
	*out = h;
	return 0;
}

/*
 * accept(2) errors that concern only the connection being accepted (it was
 * aborted, or its network failed): the listener is fine, try the next one.
 */
static int accept_transient(int e)
{
	switch (e) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
		return 1;
	}
	return 0;
}

int port_tcp_accept(struct port *p, int lh, int *out, char *peer, size_t peer_len)
{
	struct sockaddr_storage ss;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	socklen_t slen;
	int lfd = port_handle_fd(p, lh), fd, h;

	if (lfd < 0 || out == NULL)
		return TETHER_ERR_INVALID;
	*out = -1;
	for (;;) {
		slen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (!accept_transient(errno))
			return err_from_errno(errno);
	}
	h = port_handle_new(p, fd);
	if (h < 0) {
		/*
		 * Refuse it now rather than leave it queued: a level-triggered
		 * listener would otherwise report the same connection forever.
		 * The reset tells the remote at once.
		 */
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		return h;
	}
	set_nodelay(fd);
	if (peer != NULL && peer_len > 0 && format_addr(&ss, peer, peer_len) != 0)
		peer[0] = '\0';
	*out = h;
	return 1;
}

int port_tcp_connect(struct port *p, const char *addr, int *out)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	int fd = -1, h, rc;

	if (p == NULL || out == NULL)
		return TETHER_ERR_INVALID;
	*out = -1;
	rc = parse_addr(addr, &ss, &slen);
	if (rc != 0)
		return rc;
	h = open_socket(p, &ss, &fd);
	if (h < 0)
		return h;
	set_nodelay(fd);
	/* EINTR: the connect goes on in the background, as with EINPROGRESS. */
	if (connect(fd, (struct sockaddr *)&ss, slen) != 0 && errno != EINPROGRESS &&
	    errno != EINTR)
		return drop_socket(p, h, err_from_errno(errno));
	*out = h;
	return 0;
}

int port_tcp_connect_result(struct port *p, int h)
{
	struct port_handle *e = port_handle_get(p, h);
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(int);
	int err = 0;

	if (e == NULL)
		return TETHER_ERR_INVALID;
	/* SO_ERROR is cleared by reading it: keep a failure for a second ask. */
	if (e->connect_err != 0)
		return e->connect_err;
	if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &slen) != 0)
		return err_from_errno(errno);
	if (err != 0) {
		e->connect_err = err_from_errno(err);
		return e->connect_err;
	}
	slen = sizeof(ss);
	if (getpeername(e->fd, (struct sockaddr *)&ss, &slen) == 0)
		return 0;
	/* Still under way: asked before PORT_WRITE said it was done. */
	return errno == ENOTCONN ? TETHER_ERR_INVALID : err_from_errno(errno);
}

long port_tcp_send(struct port *p, int h, const void *buf, size_t len)
{
	int fd = port_handle_fd(p, h);
	ssize_t n;

	if (fd < 0 || (buf == NULL && len > 0))
		return TETHER_ERR_INVALID;
	if (len == 0)
		return 0;
	if (len > LONG_MAX)
		len = LONG_MAX;
	for (;;) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (long)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return err_from_errno(errno);
	}
}

long port_tcp_recv(struct port *p, int h, void *buf, size_t len)
{
	int fd = port_handle_fd(p, h);
	ssize_t n;

	if (fd < 0 || (buf == NULL && len > 0))
		return TETHER_ERR_INVALID;
	if (len == 0)
		return 0;
	if (len > LONG_MAX)
		len = LONG_MAX;
	for (;;) {
		n = recv(fd, buf, len, 0);
		if (n > 0)
			return (long)n;
		if (n == 0)
			return TETHER_ERR_CLOSED;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return err_from_errno(errno);
	}
}

int port_tcp_shutdown(struct port *p, int h)
{
	int fd = port_handle_fd(p, h);

	if (fd < 0)
		return TETHER_ERR_INVALID;
	if (shutdown(fd, SHUT_WR) != 0)
		return err_from_errno(errno);
	return 0;
}

void port_tcp_close(struct port *p, int h, int abort)
{
	int fd = port_handle_release(p, h);

	if (fd < 0)
		return;
	if (abort) {
		/* Zero linger makes close() send RST instead of FIN. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
}

int port_local_addr(struct port *p, int h, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	int fd = port_handle_fd(p, h);

	if (fd < 0 || buf == NULL || len == 0)
		return TETHER_ERR_INVALID;
	if (getsockname(fd, (struct sockaddr *)&ss, &slen) != 0)
		return err_from_errno(errno);
	return format_addr(&ss, buf, len);
}

int port_unix_listen(struct port *p, const char *path, unsigned mode, int *out)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old_mask;
	int fd, probe, h, rc;

	if (p == NULL || out == NULL || path == NULL)
		return TETHER_ERR_INVALID;
	*out = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path))
		return TETHER_ERR_ADDR;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* Only ever replace a socket: a typo must not cost another file. */
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return TETHER_ERR_FILE;
	/* A socket file someone answers on is in use; one nobody answers on is stale. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return err_from_errno(errno);
	if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		return TETHER_ERR_INUSE;
	}
	if (errno == ECONNREFUSED)
		(void)unlink(path);
	close(probe);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_from_errno(errno);
	/* The mode from the start (no chmod on a path that could be swapped meanwhile). */
	old_mask = umask((mode_t)(~mode & 0777u));
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	(void)umask(old_mask);
	if (rc != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		int e = errno;

		close(fd);
		return err_from_errno(e);
	}
	h = port_handle_new(p, fd);
	if (h < 0) {
		close(fd);
		(void)unlink(path);
		return h;
	}
	*out = h;
	return 0;
}
