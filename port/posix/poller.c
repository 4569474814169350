/*
 * poller.c: port_open/port_close, the handle table and readiness waiting,
 * over epoll (level-triggered) or poll().
 *
 * The signal self-pipe is registered in every port's poller so a signal ends
 * a wait at once; it is drained here and never reported as an event.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, getrandom, explicit_bzero */
#endif

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "port/posix/port_posix.h"

#if !TETHER_PORT_POLL
#include <sys/epoll.h>
#endif

/* Marks the self-pipe in epoll's data; handles are always below this. */
#define PIPE_ID UINT32_MAX

/* Large enough for any real node; keeps the table's size arithmetic safe. */
#define MAX_HANDLES (1u << 20)

static int env_wants_poll(void)
{
	const char *v = getenv("TETHER_PORT_POLL");

	return v != NULL && strcmp(v, "1") == 0;
}

const char *port_backend_name(const struct port *p)
{
	return p->use_poll ? "poll" : "epoll";
}

#if !TETHER_PORT_POLL
/* 0, or TETHER_ERR_* if the epoll set could not be changed. */
static int epoll_update(struct port *p, struct port_handle *e, uint32_t id)
{
	struct epoll_event ee;
	int op;

	memset(&ee, 0, sizeof(ee));
	if (e->events == 0) {
		/*
		 * epoll reports EPOLLERR and EPOLLHUP even for an empty mask, and
		 * level-triggered it would report them on every wait: a handle
		 * watched for nothing must leave the set.
		 */
		if (!e->in_epoll)
			return 0;
		if (epoll_ctl(p->epfd, EPOLL_CTL_DEL, e->fd, &ee) != 0)
			return TETHER_ERR_IO;
		e->in_epoll = 0;
		return 0;
	}
	ee.events =
		((e->events & PORT_READ) ? EPOLLIN : 0) | ((e->events & PORT_WRITE) ? EPOLLOUT : 0);
	ee.data.u32 = id;
	op = e->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(p->epfd, op, e->fd, &ee) != 0)
		return errno == ENOMEM || errno == ENOSPC ? TETHER_ERR_NOMEM : TETHER_ERR_IO;
	e->in_epoll = 1;
	return 0;
}
#endif

/* Apply h's watch to the poller. */
static int poller_update(struct port *p, int h)
{
	struct port_handle *e = &p->h[h];

	if (p->use_poll) {
		struct pollfd *pf = &p->pfd[1 + h];

		/* poll() skips negative fds, and with them any error reports. */
		pf->fd = e->events ? e->fd : -1;
		pf->events = (short)(((e->events & PORT_READ) ? POLLIN : 0) |
				     ((e->events & PORT_WRITE) ? POLLOUT : 0));
		pf->revents = 0;
		return 0;
	}
#if !TETHER_PORT_POLL
	return epoll_update(p, e, (uint32_t)h);
#else
	return TETHER_ERR_IO;
#endif
}

int port_open(struct port **out, unsigned max_handles)
{
	struct port *p;
	int pipe_fd;
	unsigned i;

	if (out == NULL || max_handles == 0 || max_handles > MAX_HANDLES)
		return TETHER_ERR_INVALID;
	*out = NULL;
	pipe_fd = port_signals_setup();
	if (pipe_fd < 0)
		return pipe_fd;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return TETHER_ERR_NOMEM;
	p->epfd = -1;
	port_notify_open(&p->notify);
	p->max = max_handles;
	p->h = calloc(max_handles, sizeof(*p->h));
	if (p->h == NULL)
		goto err_nomem;
	for (i = 0; i < max_handles; i++) {
		p->h[i].fd = -1;
		p->h[i].next_free = i + 1 < max_handles ? (int)i + 1 : -1;
	}
	p->free_head = 0;

	p->use_poll = TETHER_PORT_POLL || env_wants_poll();
#if !TETHER_PORT_POLL
	if (!p->use_poll) {
		p->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (p->epfd < 0) {
			if (errno != ENOSYS) {
				int e = errno;

				free(p->h);
				free(p);
				return e == EMFILE || e == ENFILE || e == ENOMEM ? TETHER_ERR_NOMEM
										 : TETHER_ERR_IO;
			}
			p->use_poll = 1;
		}
	}
	if (!p->use_poll) {
		struct epoll_event ee;

		p->ev = calloc((size_t)max_handles + 1, sizeof(*p->ev));
		if (p->ev == NULL)
			goto err_nomem;
		memset(&ee, 0, sizeof(ee));
		ee.events = EPOLLIN;
		ee.data.u32 = PIPE_ID;
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, pipe_fd, &ee) != 0)
			goto err_nomem;
	}
#endif
	if (p->use_poll) {
		p->pfd = calloc((size_t)max_handles + 1, sizeof(*p->pfd));
		if (p->pfd == NULL)
			goto err_nomem;
		p->pfd[0].fd = pipe_fd;
		p->pfd[0].events = POLLIN;
		for (i = 0; i < max_handles; i++)
			p->pfd[1 + i].fd = -1;
	}
	*out = p;
	return 0;

err_nomem:
	port_close(p);
	return TETHER_ERR_NOMEM;
}

void port_close(struct port *p)
{
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < p->high; i++) {
		if (p->h[i].fd >= 0)
			close(p->h[i].fd);
	}
	if (p->epfd >= 0)
		close(p->epfd);
	port_notify_close(&p->notify);
	free(p->h);
	free(p->pfd);
	free(p->ev);
	free(p);
}

int port_handle_new(struct port *p, int fd)
{
	int h = p->free_head;
	struct port_handle *e;

	if (h < 0)
		return TETHER_ERR_NOMEM;
	e = &p->h[h];
	p->free_head = e->next_free;
	e->fd = fd;
	e->events = 0;
	e->tag = NULL;
	e->in_epoll = 0;
	e->connect_err = 0;
	e->next_free = -1;
	if ((unsigned)h >= p->high)
		p->high = (unsigned)h + 1;
	return h;
}

struct port_handle *port_handle_get(struct port *p, int h)
{
	if (p == NULL || h < 0 || (unsigned)h >= p->max || p->h[h].fd < 0)
		return NULL;
	return &p->h[h];
}

int port_handle_fd(struct port *p, int h)
{
	struct port_handle *e = port_handle_get(p, h);

	return e != NULL ? e->fd : -1;
}

int port_handle_release(struct port *p, int h)
{
	struct port_handle *e = port_handle_get(p, h);
	int fd;

	if (e == NULL)
		return -1;
	e->events = 0;
	(void)poller_update(p, h); /* the fd is closed next, which also drops it */
	fd = e->fd;
	e->fd = -1;
	e->tag = NULL;
	e->next_free = p->free_head;
	p->free_head = h;
	while (p->high > 0 && p->h[p->high - 1].fd < 0)
		p->high--;
	return fd;
}

int port_watch(struct port *p, int h, unsigned events, void *tag)
{
	struct port_handle *e = port_handle_get(p, h);
	unsigned old;
	int rc;

	if (e == NULL)
		return TETHER_ERR_INVALID;
	events &= PORT_READ | PORT_WRITE;
	/* The engine re-states its interest after every frame: skip no-op syscalls. */
	if (e->events == events && e->tag == tag)
		return 0;
	old = e->events;
	e->events = events;
	e->tag = tag;
	rc = poller_update(p, h);
	if (rc != 0)
		e->events = old;
	return rc;
}

/* Errors and hang-ups also say READ: reading is how the caller learns which. */
static unsigned map_error(int err, int hup)
{
	return err || hup ? PORT_ERROR | PORT_READ : 0;
}

static int wait_poll(struct port *p, int timeout_ms, struct port_event *ev, int max)
{
	unsigned i, n = 0, span = p->high;
	int rc;

	rc = poll(p->pfd, (nfds_t)span + 1, timeout_ms < 0 ? -1 : timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : TETHER_ERR_IO;
	if (p->pfd[0].revents) {
		port_signals_drain();
		rc--;
	}
	if (span == 0)
		return 0;
	/* Start where the last full batch stopped, so no handle starves. */
	for (i = 0; i < span && rc > 0 && n < (unsigned)max; i++) {
		unsigned h = (p->poll_start + i) % span;
		struct pollfd *pf = &p->pfd[1 + h];
		unsigned bits;

		if (pf->fd < 0 || pf->revents == 0)
			continue;
		rc--;
		bits = ((pf->revents & POLLIN) ? PORT_READ : 0) |
		       ((pf->revents & POLLOUT) ? PORT_WRITE : 0) |
		       map_error(pf->revents & (POLLERR | POLLNVAL), pf->revents & POLLHUP);
		ev[n].tag = p->h[h].tag;
		ev[n].events = bits;
		n++;
		if (n == (unsigned)max)
			p->poll_start = (h + 1) % span;
	}
	return (int)n;
}

#if !TETHER_PORT_POLL
static int wait_epoll(struct port *p, int timeout_ms, struct port_event *ev, int max)
{
	int i, n = 0, rc, cap = max;

	if ((unsigned)cap > p->max + 1)
		cap = (int)p->max + 1;
	rc = epoll_wait(p->epfd, p->ev, cap, timeout_ms < 0 ? -1 : timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : TETHER_ERR_IO;
	for (i = 0; i < rc; i++) {
		uint32_t id = p->ev[i].data.u32;
		uint32_t got = p->ev[i].events;
		struct port_handle *e;

		if (id == PIPE_ID) {
			port_signals_drain();
			continue;
		}
		e = &p->h[id];
		/* Defensive: a handle that left the set cannot be reported. */
		if (e->fd < 0 || e->events == 0)
			continue;
		ev[n].tag = e->tag;
		ev[n].events = ((got & EPOLLIN) ? PORT_READ : 0) |
			       ((got & EPOLLOUT) ? PORT_WRITE : 0) |
			       map_error(got & EPOLLERR, got & EPOLLHUP);
		n++;
	}
	return n;
}
#endif

int port_wait(struct port *p, int timeout_ms, struct port_event *ev, int max)
{
	if (p == NULL || ev == NULL || max <= 0)
		return TETHER_ERR_INVALID;
	if (p->use_poll)
		return wait_poll(p, timeout_ms, ev, max);
#if !TETHER_PORT_POLL
	return wait_epoll(p, timeout_ms, ev, max);
#else
	return TETHER_ERR_IO;
#endif
}
