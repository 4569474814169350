/*
 * sim_app.c: the test's own endpoints on the app port (sim_app.h).
 */
#include "tests/sim/sim_app.h"

#include <string.h>

#include "tests/sim/sim.h"

static struct {
	struct sim_server *servers[SIM_APP_MAX];
	struct sim_conn *conns[SIM_APP_MAX];
	unsigned n_servers, n_conns;
} reg;

static uint32_t pattern_start(uint32_t seed)
{
	return seed != 0 ? seed : 0x2545f491u;
}

static uint8_t pattern_next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return (uint8_t)*x;
}

static void conn_init(struct sim_conn *c, int h)
{
	memset(c, 0, sizeof(*c));
	c->h = h;
}

static void conn_fail(struct sim_conn *c, int err)
{
	c->reset = true;
	c->err = err;
	c->t_end = sim_now();
	port_tcp_close(sim_app_port(), c->h, 1);
	c->h = -1;
}

int sim_server_open(struct sim_server *s, const char *addr, enum sim_role role, uint32_t seed,
		    uint64_t to_send)
{
	memset(s, 0, sizeof(*s));
	s->role = role;
	s->seed = seed;
	s->to_send = to_send;
	return port_tcp_listen(sim_app_port(), addr, &s->l);
}

int sim_client_open(struct sim_conn *c, const char *addr, uint64_t n, uint32_t seed,
		    uint32_t rx_seed)
{
	int h, r = port_tcp_connect(sim_app_port(), addr, &h);

	conn_init(c, -1);
	if (r < 0)
		return r;
	c->h = h;
	c->connecting = true;
	c->to_send = n;
	c->tx = pattern_start(seed);
	c->rx = pattern_start(rx_seed);
	c->check_rx = true;
	return 0;
}

void sim_conn_more(struct sim_conn *c, uint64_t n)
{
	c->to_send += n;
	/*
	 * Send now and watch for what is next: a conn watched for reading only
	 * would leave the app port idle, and the clock would run on past bytes
	 * that were never sent.
	 */
	(void)sim_conn_step(c);
}

void sim_conn_read_to(struct sim_conn *c, uint64_t total)
{
	c->rx_cap = total;
	/* As sim_conn_more: read now, and watch for more, before the clock may move. */
	(void)sim_conn_step(c);
}

/* Reading is allowed now (not stalled, not at the cap). */
static bool conn_may_read(const struct sim_conn *c)
{
	return !c->stalled && (c->rx_cap == 0 || c->received < c->rx_cap);
}

void sim_conn_close(struct sim_conn *c, bool abort)
{
	port_tcp_close(sim_app_port(), c->h, abort);
	c->h = -1;
}

bool sim_conn_ended(const struct sim_conn *c)
{
	return c->reset || (c->eof && c->shut);
}

/* Send what is owed; true if anything moved. */
static bool conn_send(struct sim_conn *c)
{
	struct port *p = sim_app_port();
	bool moved = false;

	while (c->h >= 0 && !c->shut) {
		unsigned char chunk[512];
		const unsigned char *src;
		size_t n;
		long r;

		if (c->echo) {
			if (c->pend == 0)
				break;
			src = c->buf + c->pend_off;
			n = c->pend;
		} else {
			uint32_t x = c->tx;
			size_t i;

			if (c->sent == c->to_send)
				break;
			n = c->to_send - c->sent < sizeof(chunk) ? (size_t)(c->to_send - c->sent)
								 : sizeof(chunk);
			for (i = 0; i < n; i++)
				chunk[i] = pattern_next(&x);
			src = chunk;
		}
		r = port_tcp_send(p, c->h, src, n);
		if (r < 0) {
			conn_fail(c, (int)r);
			return true;
		}
		if (r == 0)
			break;
		moved = true;
		c->sent += (uint64_t)r;
		if (c->echo) {
			c->pend -= (size_t)r;
			c->pend_off = c->pend == 0 ? 0 : c->pend_off + (size_t)r;
		} else {
			long i;

			for (i = 0; i < r; i++)
				(void)pattern_next(&c->tx);
		}
	}
	if (c->h >= 0 && !c->shut && !c->no_shut &&
	    (c->echo ? c->eof && c->pend == 0 : c->sent == c->to_send)) {
		int r = port_tcp_shutdown(p, c->h);

		if (r < 0) {
			conn_fail(c, r);
			return true;
		}
		c->shut = true;
		moved = true;
		if (c->eof)
			c->t_end = sim_now();
	}
	return moved;
}

/* Receive what is there (unless stalled); true if anything moved. */
static bool conn_recv(struct sim_conn *c)
{
	bool moved = false;

	while (c->h >= 0 && conn_may_read(c) && !c->eof && c->pend == 0) {
		size_t want = sizeof(c->buf);
		long r, i;

		if (c->rx_cap != 0 && c->rx_cap - c->received < want)
			want = (size_t)(c->rx_cap - c->received);
		r = port_tcp_recv(sim_app_port(), c->h, c->buf, want);

		if (r == TETHER_ERR_CLOSED) {
			c->eof = true;
			c->t_eof = sim_now();
			if (c->shut)
				c->t_end = c->t_eof;
			return true;
		}
		if (r < 0) {
			conn_fail(c, (int)r);
			return true;
		}
		if (r == 0)
			break;
		moved = true;
		if (c->check_rx)
			for (i = 0; i < r; i++)
				if (c->buf[i] != pattern_next(&c->rx))
					c->bad = true;
		c->received += (uint64_t)r;
		if (c->echo) {
			c->pend = (size_t)r;
			c->pend_off = 0;
			break;
		}
	}
	return moved;
}

int sim_conn_step(struct sim_conn *c)
{
	if (c->h < 0)
		return 0;
	if (c->connecting) {
		int r = port_tcp_connect_result(sim_app_port(), c->h);

		if (r < 0) {
			conn_fail(c, r);
			return 0;
		}
		c->connecting = false;
	}
	/* Both directions every round, until neither moves. */
	for (;;) {
		bool sent = conn_send(c);
		bool got = conn_recv(c);

		if (!sent && !got)
			break;
	}
	if (c->h >= 0 && c->eof && c->shut) {
		port_tcp_close(sim_app_port(), c->h, 0);
		c->h = -1;
	}
	if (c->h >= 0) {
		/* Watch what the next step would act on: the world is idle only if that is not ready. */
		bool rd = conn_may_read(c) && !c->eof && c->pend == 0;
		bool wr = !c->shut &&
			  (c->echo ? c->pend > 0 || c->eof : c->sent < c->to_send || !c->no_shut);

		port_watch(sim_app_port(), c->h, (rd ? PORT_READ : 0) | (wr ? PORT_WRITE : 0), c);
	}
	return 0;
}

int sim_server_step(struct sim_server *s)
{
	unsigned i;
	int h;

	while (s->n < SIM_APP_CONNS && port_tcp_accept(sim_app_port(), s->l, &h, NULL, 0) == 1) {
		struct sim_conn *c = &s->c[s->n++];

		conn_init(c, h);
		c->echo = s->role == SIM_ECHO;
		c->stalled = s->role == SIM_SINK && s->gated;
		c->check_rx = s->role == SIM_SINK;
		c->rx = pattern_start(s->seed);
		if (s->role == SIM_SOURCE) {
			c->to_send = s->to_send;
			c->tx = pattern_start(s->seed);
		}
	}
	for (i = 0; i < s->n; i++) {
		if (s->role == SIM_SINK)
			s->c[i].stalled = s->gated;
		sim_conn_step(&s->c[i]);
	}
	port_watch(sim_app_port(), s->l, s->n < SIM_APP_CONNS ? PORT_READ : 0, s);
	return 0;
}

void sim_app_clear(void)
{
	memset(&reg, 0, sizeof(reg));
}

void sim_app_server(struct sim_server *s)
{
	if (reg.n_servers < SIM_APP_MAX)
		reg.servers[reg.n_servers++] = s;
}

void sim_app_conn(struct sim_conn *c)
{
	if (reg.n_conns < SIM_APP_MAX)
		reg.conns[reg.n_conns++] = c;
}

int sim_app_run(void *ctx)
{
	unsigned i;

	(void)ctx;
	for (i = 0; i < reg.n_servers; i++)
		if (sim_server_step(reg.servers[i]) < 0)
			return -1;
	for (i = 0; i < reg.n_conns; i++)
		if (sim_conn_step(reg.conns[i]) < 0)
			return -1;
	return 0;
}
