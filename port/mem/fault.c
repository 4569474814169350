/*
 * fault.c: the faults a simulation injects into the world (port_mem.h):
 * partitions, delays and resets on links between ports, slow readers,
 * refused and black-holed dials, wall clock offsets, and the schedule's
 * deterministic generator.
 */
#include <string.h>

#include "port/mem/mem_impl.h"

void port_mem_rng_seed(struct port_mem_rng *r, uint64_t seed)
{
	r->s = seed;
}

/* splitmix64: one 64-bit state, every seed a full-period, well-mixed stream. */
uint64_t port_mem_rng_next(struct port_mem_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t port_mem_rng_below(struct port_mem_rng *r, uint32_t n)
{
	/* The multiply-shift map: unbiased enough for schedules, and one draw. */
	return n == 0 ? 0 : (uint32_t)(((port_mem_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static int index_of(const struct port *p)
{
	if (p == NULL || p < port_mem_world.ports ||
	    p >= port_mem_world.ports + PORT_MEM_MAX_PORTS || !p->in_use)
		return -1;
	return (int)(p - port_mem_world.ports);
}

static struct mem_link *link(const struct port *from, const struct port *to)
{
	int a = index_of(from), b = index_of(to);

	return a >= 0 && b >= 0 && a != b ? &port_mem_world.links[a][b] : NULL;
}

int port_mem_fault_cut(struct port *a, struct port *b, int cut)
{
	struct mem_link *ab = link(a, b), *ba = link(b, a);

	if (ab == NULL || ba == NULL)
		return TETHER_ERR_INVALID;
	ab->cut = ba->cut = cut != 0;
	if (!cut)
		mem_net_heal(index_of(a), index_of(b));
	return 0;
}

int port_mem_fault_delay(struct port *from, struct port *to, uint32_t ms)
{
	struct mem_link *k = link(from, to);

	if (k == NULL)
		return TETHER_ERR_INVALID;
	k->delay_ms = ms;
	return 0;
}

int port_mem_fault_reset_after(struct port *from, struct port *to, uint64_t bytes)
{
	struct mem_link *k = link(from, to);

	if (k == NULL)
		return TETHER_ERR_INVALID;
	k->rst_armed = bytes > 0;
	k->rst_left = bytes;
	return 0;
}

int port_mem_fault_slow_reader(struct port *p, uint32_t bytes_per_10ms)
{
	if (index_of(p) < 0)
		return TETHER_ERR_INVALID;
	p->read_quota = bytes_per_10ms;
	p->tokens = bytes_per_10ms;
	p->tok_epoch = port_mem_world.now_ms / MEM_READ_EPOCH_MS;
	return 0;
}

int port_mem_fault_dial(struct port *p, enum port_mem_dial_fault mode)
{
	if (index_of(p) < 0 || mode > PORT_MEM_DIAL_BLACKHOLE)
		return TETHER_ERR_INVALID;
	p->dial_fault = (uint8_t)mode;
	return 0;
}

int port_mem_fault_wall(struct port *p, int64_t offset_s)
{
	if (index_of(p) < 0)
		return TETHER_ERR_INVALID;
	p->wall_off = offset_s;
	return 0;
}

void port_mem_fault_clear(struct port *p)
{
	int i = index_of(p);
	unsigned j;

	if (i < 0)
		return;
	for (j = 0; j < PORT_MEM_MAX_PORTS; j++) {
		if (port_mem_world.links[i][j].cut || port_mem_world.links[j][i].cut)
			mem_net_heal(i, (int)j);
		memset(&port_mem_world.links[i][j], 0, sizeof(port_mem_world.links[i][j]));
		memset(&port_mem_world.links[j][i], 0, sizeof(port_mem_world.links[j][i]));
	}
	p->wall_off = 0;
	p->dial_fault = PORT_MEM_DIAL_NORMAL;
	p->read_quota = 0;
}
