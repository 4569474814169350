/*
 * world.c: the one in-memory world: its storage, the virtual clock, port
 * labels, signals, and the test hooks (freeze, tap).
 */
#include <string.h>

#include "port/mem/mem_impl.h"

struct mem_world port_mem_world;

void mem_wipe(void *buf, size_t len)
{
	volatile unsigned char *v = buf;

	while (len-- > 0)
		*v++ = 0;
}

void port_mem_reset(void)
{
	struct mem_world *w = &port_mem_world;
	port_mem_log_fn *fn = w->log_fn;
	port_mem_tap_fn *tap = w->tap_fn;
	void *ctx = w->log_ctx, *tap_ctx = w->tap_ctx;

	mem_wipe(w, sizeof(*w));
	w->log_fn = fn;
	w->log_ctx = ctx;
	w->tap_fn = tap;
	w->tap_ctx = tap_ctx;
}

void port_mem_set_wall_start(int64_t unix_s)
{
	port_mem_world.wall_shift = unix_s - (int64_t)PORT_MEM_WALL_START;
}

void port_mem_freeze(struct port *p, int frozen)
{
	if (p != NULL && p->in_use) {
		p->frozen = frozen != 0;
		/* Thawed: due at once, as a newly opened port, until it has waited. */
		p->wake_at = port_mem_world.now_ms;
	}
}

void port_mem_set_tap(port_mem_tap_fn *fn, void *ctx)
{
	port_mem_world.tap_fn = fn;
	port_mem_world.tap_ctx = ctx;
}

uint64_t port_mem_now_ms(void)
{
	return port_mem_world.now_ms;
}

int64_t port_mem_wall_s(void)
{
	return (int64_t)PORT_MEM_WALL_START + port_mem_world.wall_shift +
	       (int64_t)(port_mem_world.now_ms / 1000u);
}

void port_mem_advance(uint64_t ms)
{
	port_mem_world.now_ms += ms;
}

uint64_t port_now_ms(struct port *p)
{
	(void)p;
	return port_mem_now_ms();
}

int64_t port_wall_s(struct port *p)
{
	/* port_mem_fault_wall(): this process's clock is off, or was set back or on. */
	return port_mem_wall_s() + (p != NULL && p->in_use ? p->wall_off : 0);
}

void port_mem_set_label(struct port *p, const char *label)
{
	size_t n;

	if (p == NULL)
		return;
	n = label != NULL ? strlen(label) : 0;
	if (n >= sizeof(p->label))
		n = sizeof(p->label) - 1;
	memcpy(p->label, label != NULL ? label : "", n);
	p->label[n] = '\0';
}

const char *port_mem_label(const struct port *p)
{
	return p != NULL ? p->label : "";
}

void port_mem_raise(struct port *p, unsigned sig)
{
	if (p != NULL)
		p->sig |= sig & (PORT_SIG_TERM | PORT_SIG_HUP | PORT_SIG_USR1);
}

unsigned port_signals(struct port *p)
{
	unsigned s;

	if (p == NULL)
		return 0;
	s = p->sig;
	p->sig = 0;
	return s;
}
