/*
 * net.c: TCP-like connections between ports of the world, as byte pipes with
 * bounded buffers. The semantics follow what port/posix gives on Linux, so
 * core behaves the same on both: see port_mem.h.
 */
#include <stdio.h>
#include <string.h>

#include "port/mem/mem_impl.h"

#define EPHEMERAL_FIRST 49152u

/* "host:port": a non-empty host, then 1..5 digits up to 65535. Sets *port_at. */
static int parse_addr(const char *addr, const char **port_at)
{
	const char *c;
	unsigned long v = 0;
	size_t i;

	if (addr == NULL || strlen(addr) >= PORT_MEM_ADDR_MAX)
		return TETHER_ERR_ADDR;
	c = strrchr(addr, ':');
	if (c == NULL || c == addr)
		return TETHER_ERR_ADDR;
	for (i = 1; c[i] != '\0'; i++) {
		if (c[i] < '0' || c[i] > '9' || i > 5)
			return TETHER_ERR_ADDR;
		v = v * 10 + (unsigned long)(c[i] - '0');
	}
	if (i == 1 || v > 65535)
		return TETHER_ERR_ADDR;
	*port_at = c + 1;
	return 0;
}

static int is_wildcard(const char *addr, const char *port_at)
{
	size_t hlen = (size_t)(port_at - 1 - addr);

	return (hlen == 7 && memcmp(addr, "0.0.0.0", 7) == 0) ||
	       (hlen == 4 && memcmp(addr, "[::]", 4) == 0);
}

/* The listener that takes a dial to addr, or NULL. */
static struct mem_listener *listener_for(const char *addr, const char *port_at)
{
	struct mem_listener *wild = NULL;
	unsigned i;

	for (i = 0; i < PORT_MEM_MAX_LISTENERS; i++) {
		struct mem_listener *l = &port_mem_world.listeners[i];
		const char *lp;

		if (l->addr[0] == '\0')
			continue;
		if (strcmp(l->addr, addr) == 0)
			return l;
		lp = strrchr(l->addr, ':') + 1;
		if (wild == NULL && is_wildcard(l->addr, lp) && strcmp(lp, port_at) == 0)
			wild = l;
	}
	return wild;
}

static int sock_new(void)
{
	unsigned i;

	for (i = 0; i < PORT_MEM_MAX_SOCKETS; i++) {
		struct mem_sock *s = &port_mem_world.socks[i];

		if (s->state == SK_FREE) {
			memset(s, 0, sizeof(*s) - sizeof(s->buf));
			s->peer = -1;
			return (int)i;
		}
	}
	return TETHER_ERR_NOMEM;
}

static void sock_free(struct mem_sock *s)
{
	mem_wipe(s->buf, sizeof(s->buf));
	memset(s, 0, sizeof(*s) - sizeof(s->buf));
	s->peer = -1;
}

static struct mem_sock *peer_of(const struct mem_sock *s)
{
	return s->peer >= 0 ? &port_mem_world.socks[s->peer] : NULL;
}

static int port_index(const struct port *p)
{
	return (int)(p - port_mem_world.ports);
}

/* The faults on the way from port index a to port index b; NULL if either is none. */
static struct mem_link *link_of(int a, int b)
{
	if (a < 0 || b < 0 || a >= PORT_MEM_MAX_PORTS || b >= PORT_MEM_MAX_PORTS)
		return NULL;
	return &port_mem_world.links[a][b];
}

/* A partition lies between s and its other end o. */
static int cut_between(const struct mem_sock *s, const struct mem_sock *o)
{
	const struct mem_link *k = o != NULL ? link_of(s->port, o->port) : NULL;

	return k != NULL && k->cut;
}

uint32_t mem_read_tokens(const struct port *q)
{
	uint64_t epoch = port_mem_world.now_ms / MEM_READ_EPOCH_MS;

	if (q == NULL || q->read_quota == 0)
		return UINT32_MAX;
	return epoch != q->tok_epoch ? q->read_quota : q->tokens;
}

static struct port *port_by_index(int i)
{
	return i >= 0 && i < PORT_MEM_MAX_PORTS ? &port_mem_world.ports[i] : NULL;
}

/* Bytes of s's buffer a read may take now: not held by a delay, within the quota. */
static uint32_t readable(const struct mem_sock *s)
{
	uint32_t n = s->len, t;

	if (port_mem_world.now_ms < s->ready_at)
		n -= s->held < n ? s->held : n;
	t = mem_read_tokens(port_by_index(s->port));
	return n < t ? n : t;
}

uint64_t mem_net_next_due(void)
{
	struct mem_world *w = &port_mem_world;
	uint64_t t = MEM_NEVER;
	unsigned i;

	for (i = 0; i < PORT_MEM_MAX_SOCKETS; i++) {
		const struct mem_sock *s = &w->socks[i];
		const struct port *q;
		uint64_t due;

		if (s->state != SK_OPEN || s->closed || s->len == 0)
			continue;
		q = port_by_index(s->port);
		if (q == NULL || !q->in_use || q->frozen)
			continue;
		if (w->now_ms < s->ready_at && s->held >= s->len)
			due = s->ready_at; /* everything is held */
		else if (mem_read_tokens(q) == 0)
			due = (w->now_ms / MEM_READ_EPOCH_MS + 1) * MEM_READ_EPOCH_MS;
		else
			continue;
		if (due < t)
			t = due;
	}
	return t;
}

/* s's other end reset: buffered bytes are lost, every call now reports it. */
static void sock_reset(struct mem_sock *s)
{
	s->rst_in = 1;
	mem_wipe(s->buf, sizeof(s->buf));
	s->head = s->len = s->held = 0;
}

void mem_net_heal(int a, int b)
{
	unsigned i;

	for (i = 0; i < PORT_MEM_MAX_SOCKETS; i++) {
		struct mem_sock *s = &port_mem_world.socks[i];
		const struct mem_sock *o = peer_of(s);

		if (s->state != SK_OPEN || o == NULL ||
		    !((s->port == a && o->port == b) || (s->port == b && o->port == a)))
			continue;
		if (s->held_rst)
			sock_reset(s);
		else if (s->held_fin)
			s->fin_in = 1;
		s->held_rst = s->held_fin = 0;
	}
}

/*
 * The owner lets go of s. A reset if asked, or if bytes were left unread
 * (Linux does the same); otherwise a FIN after what s already sent.
 */
static void sock_release(struct mem_sock *s, int abort)
{
	struct mem_sock *o = peer_of(s);

	if (o != NULL && !o->closed) {
		/* Across a cut the FIN or reset waits for the heal, as a retransmitted one would. */
		if (cut_between(s, o))
			*(abort || s->len > 0 ? &o->held_rst : &o->held_fin) = 1;
		else if (abort || s->len > 0)
			sock_reset(o);
		else
			o->fin_in = 1;
	}
	s->closed = 1;
	if (o == NULL || o->closed) {
		if (o != NULL)
			sock_free(o);
		sock_free(s);
	}
}

static void listener_close(struct mem_listener *l)
{
	unsigned i;

	/* Queued connections were never accepted: their dialers see a reset. */
	for (i = 0; i < l->n_pending; i++)
		sock_release(&port_mem_world.socks[l->pending[i]], 1);
	memset(l, 0, sizeof(*l));
}

void mem_handle_close(struct mem_handle *e, int abort)
{
	if (e->kind == MH_SOCK)
		sock_release(&port_mem_world.socks[e->idx], abort);
	else if (e->kind == MH_LISTEN)
		listener_close(&port_mem_world.listeners[e->idx]);
	memset(e, 0, sizeof(*e));
}

unsigned mem_handle_ready(const struct mem_handle *e)
{
	const struct mem_sock *s, *o;
	unsigned r = 0;
	int err;

	if (e->kind == MH_LISTEN)
		return port_mem_world.listeners[e->idx].n_pending > 0 ? PORT_READ : 0;
	if (e->kind != MH_SOCK)
		return 0;
	s = &port_mem_world.socks[e->idx];
	if (s->state == SK_SYN)
		return 0; /* a black-holed dial: nothing, ever */
	o = peer_of(s);
	err = s->rst_in || s->state == SK_REFUSED;
	if (readable(s) > 0 || (s->len == 0 && s->fin_in) || err)
		r |= PORT_READ;
	/*
	 * After our FIN a write fails at once, so it counts as ready, as on Linux.
	 * Across a cut nothing can be sent (it would wait in the send buffer).
	 */
	if (err || s->tx_shut ||
	    (!cut_between(s, o) && (o == NULL || o->closed || o->len < PORT_MEM_SOCK_BUF)))
		r |= PORT_WRITE;
	/*
	 * Both ways shut: a hang-up, as EPOLLHUP, once the reader could take
	 * what is left (bytes held by a delay or a slow reader's quota keep
	 * their FIN behind them: a HUP whose read returns 0 would spin).
	 */
	if (err || (s->fin_in && s->tx_shut && (s->len == 0 || readable(s) > 0)))
		r |= PORT_ERROR;
	return r;
}

/* The port holding socket si, NULL while it waits on a listener's queue. */
static struct port *owner_of(int16_t si)
{
	unsigned i, j;

	for (i = 0; i < PORT_MEM_MAX_PORTS; i++) {
		struct port *q = &port_mem_world.ports[i];

		for (j = 0; q->in_use && j < q->max; j++)
			if (q->h[j].kind == MH_SOCK && q->h[j].idx == si)
				return q;
	}
	return NULL;
}

static struct mem_sock *sock_of(struct port *p, int h)
{
	struct mem_handle *e = mem_handle_get(p, h);

	return e != NULL && e->kind == MH_SOCK ? &port_mem_world.socks[e->idx] : NULL;
}

int port_tcp_listen(struct port *p, const char *addr, int *out)
{
	const char *port_at;
	struct mem_listener *l = NULL;
	unsigned i;
	int rc, h;

	if (p == NULL || !p->in_use || out == NULL)
		return TETHER_ERR_INVALID;
	*out = -1;
	rc = parse_addr(addr, &port_at);
	if (rc != 0)
		return rc;
	for (i = 0; i < PORT_MEM_MAX_LISTENERS; i++) {
		struct mem_listener *x = &port_mem_world.listeners[i];

		if (x->addr[0] != '\0' && strcmp(x->addr, addr) == 0)
			return TETHER_ERR_INUSE;
		if (l == NULL && x->addr[0] == '\0')
			l = x;
	}
	if (l == NULL)
		return TETHER_ERR_NOMEM;
	h = mem_handle_new(p, MH_LISTEN, (int16_t)(l - port_mem_world.listeners));
	if (h < 0)
		return h;
	memset(l, 0, sizeof(*l));
	if (strcmp(port_at, "0") == 0) {
		/* Port 0: a free one is picked, and port_local_addr() tells which. */
		int n = snprintf(
			l->addr, sizeof(l->addr), "%.*s:%u", (int)(port_at - 1 - addr), addr,
			(unsigned)(EPHEMERAL_FIRST + port_mem_world.next_eport++ % 16384u));

		if (n < 0 || (size_t)n >= sizeof(l->addr)) {
			memset(&p->h[h], 0, sizeof(p->h[h]));
			memset(l, 0, sizeof(*l));
			return TETHER_ERR_ADDR;
		}
	} else {
		memcpy(l->addr, addr, strlen(addr) + 1);
	}
	l->port = (int8_t)port_index(p);
	*out = h;
	return 0;
}

int port_tcp_accept(struct port *p, int lh, int *out, char *peer, size_t peer_len)
{
	struct mem_handle *e = mem_handle_get(p, lh);
	struct mem_listener *l;
	int16_t si;
	int h;

	if (e == NULL || e->kind != MH_LISTEN || out == NULL)
		return TETHER_ERR_INVALID;
	*out = -1;
	l = &port_mem_world.listeners[e->idx];
	if (l->n_pending == 0)
		return 0;
	si = l->pending[0];
	h = mem_handle_new(p, MH_SOCK, si);
	if (h < 0) {
		/* As port/posix: refuse it now rather than leave it queued forever. */
		sock_release(&port_mem_world.socks[si], 1);
	}
	l->n_pending--;
	memmove(&l->pending[0], &l->pending[1], l->n_pending * sizeof(l->pending[0]));
	if (h < 0)
		return h;
	if (peer != NULL && peer_len > 0)
		snprintf(peer, peer_len, "%s", port_mem_world.socks[si].remote);
	*out = h;
	return 1;
}

int port_tcp_connect(struct port *p, const char *addr, int *out)
{
	struct mem_world *w = &port_mem_world;
	struct mem_listener *l;
	struct mem_sock *s, *o;
	const char *port_at;
	int si, oi, h, rc;

	if (p == NULL || !p->in_use || out == NULL)
		return TETHER_ERR_INVALID;
	*out = -1;
	rc = parse_addr(addr, &port_at);
	if (rc != 0)
		return rc;
	si = sock_new();
	if (si < 0)
		return si;
	s = &w->socks[si];
	s->state = SK_OPEN; /* taken, so the far end's sock_new() cannot pick it */
	s->port = (int8_t)port_index(p);
	h = mem_handle_new(p, MH_SOCK, (int16_t)si);
	if (h < 0) {
		sock_free(s);
		return h;
	}
	snprintf(s->local, sizeof(s->local), "mem:%u",
		 (unsigned)(EPHEMERAL_FIRST + w->next_eport++ % 16384u));
	memcpy(s->remote, addr, strlen(addr) + 1);
	l = listener_for(addr, port_at);
	if (l != NULL && port_by_index(l->port) != NULL) {
		const struct port *q = port_by_index(l->port);
		const struct mem_link *k = link_of(s->port, l->port);

		if (q->dial_fault == PORT_MEM_DIAL_REFUSE)
			l = NULL; /* a firewall answers with a reset */
		else if (q->dial_fault == PORT_MEM_DIAL_BLACKHOLE || (k != NULL && k->cut)) {
			s->state = SK_SYN; /* the SYN is lost: the dialer's timeout decides */
			*out = h;
			return 0;
		}
	}
	oi = l != NULL && l->n_pending < PORT_MEM_BACKLOG ? sock_new() : -1;
	if (oi < 0) {
		/* Nobody listens, or the queue is full: refused, as a RST answers a SYN. */
		s->state = SK_REFUSED;
		*out = h;
		return 0;
	}
	o = &w->socks[oi];
	o->state = SK_OPEN;
	o->port = l->port;
	o->peer = (int16_t)si;
	s->peer = (int16_t)oi;
	memcpy(o->local, addr, strlen(addr) + 1);
	memcpy(o->remote, s->local, sizeof(o->remote));
	l->pending[l->n_pending++] = (int16_t)oi;
	*out = h;
	return 0;
}

int port_tcp_connect_result(struct port *p, int h)
{
	struct mem_sock *s = sock_of(p, h);

	if (s == NULL)
		return TETHER_ERR_INVALID;
	if (s->state == SK_REFUSED)
		return TETHER_ERR_REFUSED;
	if (s->state == SK_SYN)
		return TETHER_ERR_TIMEOUT;
	return s->rst_in ? TETHER_ERR_RESET : 0;
}

long port_tcp_send(struct port *p, int h, const void *buf, size_t len)
{
	struct mem_sock *s = sock_of(p, h), *o;
	size_t room, tail, n, first;

	struct mem_link *k;

	if (s == NULL || (buf == NULL && len > 0))
		return TETHER_ERR_INVALID;
	if (s->state == SK_REFUSED)
		return TETHER_ERR_REFUSED;
	if (s->rst_in)
		return TETHER_ERR_RESET;
	if (len == 0 || s->state == SK_SYN)
		return 0;
	o = peer_of(s);
	if (!s->tx_shut && cut_between(s, o))
		return 0; /* partitioned: it waits, as in a send buffer */
	if (s->tx_shut || o == NULL || o->closed) {
		/* Writing after our FIN, or to an end that is gone: Linux says EPIPE/RST. */
		if (!s->tx_shut)
			sock_reset(s);
		return TETHER_ERR_RESET;
	}
	room = PORT_MEM_SOCK_BUF - o->len;
	n = len < room ? len : room;
	if (n == 0)
		return 0;
	k = link_of(s->port, o->port);
	if (k != NULL && k->rst_armed) {
		if (n >= k->rst_left) {
			/* The link resets the connection (a middlebox's RST both ways). */
			k->rst_armed = 0;
			sock_reset(o);
			sock_reset(s);
			return TETHER_ERR_RESET;
		}
		k->rst_left -= n;
	}
	if (k != NULL && k->delay_ms > 0) {
		/* Held from now + delay; bytes already held join them (order is kept). */
		if (port_mem_world.now_ms >= o->ready_at) {
			o->held = 0;
			o->ready_at = port_mem_world.now_ms + k->delay_ms;
		}
		o->held += (uint32_t)n;
	}
	tail = (o->head + o->len) % PORT_MEM_SOCK_BUF;
	first = PORT_MEM_SOCK_BUF - tail < n ? PORT_MEM_SOCK_BUF - tail : n;
	memcpy(o->buf + tail, buf, first);
	memcpy(o->buf, (const uint8_t *)buf + first, n - first);
	o->len += (uint32_t)n;
	if (port_mem_world.tap_fn != NULL)
		port_mem_world.tap_fn(port_mem_world.tap_ctx, p, owner_of(s->peer), n);
	return (long)n;
}

long port_tcp_recv(struct port *p, int h, void *buf, size_t len)
{
	struct mem_sock *s = sock_of(p, h);
	size_t n, first;

	if (s == NULL || (buf == NULL && len > 0))
		return TETHER_ERR_INVALID;
	if (s->state == SK_REFUSED)
		return TETHER_ERR_REFUSED;
	if (s->rst_in)
		return TETHER_ERR_RESET;
	if (len == 0 || s->state == SK_SYN)
		return 0;
	if (s->len == 0)
		return s->fin_in ? TETHER_ERR_CLOSED : 0;
	n = readable(s);
	if (n == 0)
		return 0;
	n = len < n ? len : n;
	if (port_mem_world.now_ms >= s->ready_at)
		s->held = 0;
	if (p->read_quota > 0) {
		p->tokens = mem_read_tokens(p) - (uint32_t)n;
		p->tok_epoch = port_mem_world.now_ms / MEM_READ_EPOCH_MS;
	}
	first = PORT_MEM_SOCK_BUF - s->head < n ? PORT_MEM_SOCK_BUF - s->head : n;
	memcpy(buf, s->buf + s->head, first);
	memcpy((uint8_t *)buf + first, s->buf, n - first);
	s->head = (uint32_t)((s->head + n) % PORT_MEM_SOCK_BUF);
	s->len -= (uint32_t)n;
	return (long)n;
}

int port_tcp_shutdown(struct port *p, int h)
{
	struct mem_sock *s = sock_of(p, h), *o;

	if (s == NULL)
		return TETHER_ERR_INVALID;
	if (s->state == SK_REFUSED)
		return TETHER_ERR_REFUSED;
	if (s->rst_in)
		return TETHER_ERR_RESET;
	o = peer_of(s);
	if (!s->tx_shut && o != NULL && !o->closed)
		*(cut_between(s, o) ? &o->held_fin : &o->fin_in) = 1;
	s->tx_shut = 1;
	return 0;
}

void port_tcp_close(struct port *p, int h, int abort)
{
	struct mem_handle *e = mem_handle_get(p, h);

	if (e != NULL)
		mem_handle_close(e, abort);
}

int port_local_addr(struct port *p, int h, char *buf, size_t len)
{
	struct mem_handle *e = mem_handle_get(p, h);
	const char *a;
	size_t n;

	if (e == NULL || buf == NULL || len == 0)
		return TETHER_ERR_INVALID;
	a = e->kind == MH_LISTEN ? port_mem_world.listeners[e->idx].addr
				 : port_mem_world.socks[e->idx].local;
	n = strlen(a);
	if (n >= len)
		return TETHER_ERR_TOO_BIG;
	memcpy(buf, a, n + 1);
	return 0;
}

int port_unix_listen(struct port *p, const char *path, unsigned mode, int *out)
{
	/* The simulated world has no local sockets. */
	(void)p;
	(void)path;
	(void)mode;
	if (out != NULL)
		*out = -1;
	return TETHER_ERR_INVALID;
}
