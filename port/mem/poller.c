/*
 * poller.c: ports, their handle tables, readiness waiting, and the rule that
 * moves the virtual clock (see port_mem.h): only when nothing is ready in the
 * whole world, and only as far as the earliest wake time any port asked for.
 */
#include <string.h>

#include "port/mem/mem_impl.h"

struct mem_handle *mem_handle_get(struct port *p, int h)
{
	/* p->max never exceeds the table; the second bound says so to the compiler too. */
	if (p == NULL || !p->in_use || h < 0 || (unsigned)h >= p->max ||
	    (unsigned)h >= PORT_MEM_MAX_HANDLES || p->h[h].kind == MH_FREE)
		return NULL;
	return &p->h[h];
}

int mem_handle_new(struct port *p, uint8_t kind, int16_t idx)
{
	unsigned i;

	for (i = 0; i < p->max; i++) {
		if (p->h[i].kind == MH_FREE) {
			p->h[i].kind = kind;
			p->h[i].idx = idx;
			p->h[i].events = 0;
			p->h[i].tag = NULL;
			return (int)i;
		}
	}
	return TETHER_ERR_NOMEM;
}

int port_open(struct port **out, unsigned max_handles)
{
	unsigned i, j;

	if (out == NULL)
		return TETHER_ERR_INVALID;
	*out = NULL;
	if (max_handles == 0 || max_handles > PORT_MEM_MAX_HANDLES)
		return TETHER_ERR_NOMEM;
	for (i = 0; i < PORT_MEM_MAX_PORTS; i++) {
		struct port *p = &port_mem_world.ports[i];

		if (p->in_use)
			continue;
		memset(p, 0, sizeof(*p));
		/* A new process: the faults on its links belonged to the last one. */
		memset(port_mem_world.links[i], 0, sizeof(port_mem_world.links[i]));
		for (j = 0; j < PORT_MEM_MAX_PORTS; j++)
			memset(&port_mem_world.links[j][i], 0, sizeof(port_mem_world.links[j][i]));
		p->in_use = 1;
		p->max = max_handles;
		/* Due at once: the clock waits until this port has looked for work. */
		p->wake_at = port_mem_world.now_ms;
		*out = p;
		return 0;
	}
	return TETHER_ERR_NOMEM;
}

void port_close(struct port *p)
{
	unsigned i;

	if (p == NULL || !p->in_use)
		return;
	for (i = 0; i < p->max; i++)
		if (p->h[i].kind != MH_FREE)
			mem_handle_close(&p->h[i], 0);
	p->in_use = 0;
}

int port_watch(struct port *p, int h, unsigned events, void *tag)
{
	struct mem_handle *e = mem_handle_get(p, h);

	if (e == NULL)
		return TETHER_ERR_INVALID;
	e->events = events & (PORT_READ | PORT_WRITE);
	e->tag = tag;
	return 0;
}

/*
 * What a level-triggered poller would report for e: the watched conditions,
 * plus errors and hang-ups (as READ too: reading tells which) whatever is
 * watched; nothing for a handle watched for nothing.
 */
static unsigned reported(const struct mem_handle *e)
{
	unsigned r;

	if (e->kind == MH_FREE || e->events == 0)
		return 0;
	r = mem_handle_ready(e);
	return (r & e->events) | ((r & PORT_ERROR) ? PORT_ERROR | PORT_READ : 0);
}

static int port_busy(const struct port *p)
{
	unsigned i;

	if (p->sig != 0)
		return 1; /* a signal is work: its wait returns at once */
	for (i = 0; i < p->max; i++)
		if (reported(&p->h[i]) != 0)
			return 1;
	return 0;
}

/* Nothing is ready anywhere: jump to the earliest wake time still ahead. */
static void advance_if_idle(void)
{
	struct mem_world *w = &port_mem_world;
	uint64_t t = MEM_NEVER;
	unsigned i;

	for (i = 0; i < PORT_MEM_MAX_PORTS; i++) {
		const struct port *q = &w->ports[i];

		if (!q->in_use || q->frozen)
			continue;
		if (port_busy(q))
			return;
		if (q->wake_at < t)
			t = q->wake_at;
	}
	/* Bytes held by a delay or a slow reader's quota wake their reader too. */
	if (mem_net_next_due() < t)
		t = mem_net_next_due();
	/* Someone is due now (t <= now), or nobody will ever wake (t == never). */
	if (t != MEM_NEVER && t > w->now_ms)
		w->now_ms = t;
}

int port_wait(struct port *p, int timeout_ms, struct port_event *ev, int max)
{
	unsigned i, n = 0;

	if (p == NULL || !p->in_use || ev == NULL || max <= 0)
		return TETHER_ERR_INVALID;
	for (i = 0; i < p->max && n < (unsigned)max; i++) {
		unsigned h = (p->scan + i) % p->max;
		unsigned bits = reported(&p->h[h]);

		if (bits == 0)
			continue;
		ev[n].tag = p->h[h].tag;
		ev[n].events = bits;
		n++;
		if (n == (unsigned)max)
			p->scan = (h + 1) % p->max;
	}
	if (n > 0 || p->sig != 0) {
		p->wake_at = port_mem_world.now_ms;
		return (int)n;
	}
	p->wake_at = timeout_ms < 0 ? MEM_NEVER : port_mem_world.now_ms + (uint64_t)timeout_ms;
	if (timeout_ms != 0)
		advance_if_idle();
	return 0;
}
