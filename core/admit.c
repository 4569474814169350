/*
 * admit.c: connections accepted on the session listener, before they cost
 * more than a socket (docs/DESIGN.md "Admission").
 *
 * An accepted connection waits in a small table of "arrivals" until its
 * first bytes (the ClientHello) are there; only then does it take a session
 * slot, a handshake slot and TLS state. So idle sockets cannot hold what
 * peers need:
 * - an arrival that says nothing within the first-byte deadline is closed;
 * - one source address may hold only a few arrivals, its own oldest giving
 *   way first; when the table is full, one of the address holding the most
 *   gives way (silent before spoken, oldest first): a newcomer is never
 *   refused, so churning connections evict the attacker's own, while a
 *   peer's ClientHello, sent with its TCP handshake, is taken within
 *   milliseconds;
 * - handshakes we accept and handshakes we dial draw from separate reserves
 *   of limits.handshakes each, and one source address may hold at most half
 *   of the accepting reserve (at least one).
 * An arrival that has spoken while no handshake slot is free waits, unwatched,
 * until one is (at most the handshake timeout from its accept). Waiting ones
 * from the address with the smallest footprint go first, and a
 * handshake we accepted that has received nothing for TETHER_STALL_MS gives
 * its slot to a waiting one: stalled handshakes cannot hold the reserve
 * either.
 * A source whose handshakes failed recently (backoff.c) is deprioritised,
 * never refused (NAT puts peers behind a failing client's address): its
 * connections are the first to give way when the table is full, its waiting
 * ones start only when no other source's wait, and a handshake of its gives
 * its slot to another source's waiting connection at once.
 */
#include <string.h>

#include "core/addr.h"
#include "core/node_impl.h"

/*
 * A slot whose connection went in this step: free again only at its end
 * (admit_step_end), so that an event for the old connection already fetched
 * in this step cannot be taken for one a new accept put there.
 */
#define ARRIVAL_FREE (-1)
#define ARRIVAL_GONE (-2)

/* Length of the host part of "host:port" (the whole string if it has no port). */
static size_t host_len(const char *addr)
{
	const char *colon = strrchr(addr, ':');

	return colon != NULL ? (size_t)(colon - addr) : strlen(addr);
}

bool admit_same_source(const char *a, const char *b)
{
	size_t n = host_len(a), m = host_len(b);
	uint8_t pa[16], pb[16];

	/* IPv6: one /64 is one source (a host is handed a whole /64 to pick from). */
	if (n > 2 && m > 2 && a[0] == '[' && b[0] == '[' && a[n - 1] == ']' && b[m - 1] == ']' &&
	    addr_v6(a + 1, n - 2, pa) && addr_v6(b + 1, m - 2, pb))
		return memcmp(pa, pb, 8) == 0;
	return n == m && memcmp(a, b, n) == 0;
}

static bool same_host(const char *a, const char *b)
{
	return admit_same_source(a, b);
}

static void arrival_close(struct tether_node *n, struct arrival *v, const char *why)
{
	struct log_line l;

	if (why != NULL) {
		n->st.arrivals_dropped++;
		log_begin(&l, &n->log, PORT_LOG_DEBUG, "arrival_dropped");
		log_str(&l, "addr", v->addr);
		log_str(&l, "reason", why);
		log_end(&l);
	}
	port_tcp_close(n->port, v->h, 1);
	v->h = ARRIVAL_GONE;
	n->n_arrivals--;
}

/* Sessions we accepted that are still handshaking, from addr's host (NULL: all). */
static unsigned accepting_from(const struct tether_node *n, const char *addr)
{
	const struct session *s;
	unsigned k = 0;

	for (s = n->all; s != NULL; s = s->next_all)
		if (s->counted_handshake && !s->dialed &&
		    (addr == NULL || same_host(s->addr, addr)))
			k++;
	return k;
}

/* Arrivals waiting from addr's host. */
static unsigned arrivals_from(const struct tether_node *n, const char *addr)
{
	unsigned i, k = 0;

	for (i = 0; i < n->cap_arrivals; i++)
		if (n->arrivals[i].h >= 0 && same_host(n->arrivals[i].addr, addr))
			k++;
	return k;
}

/* Accepted handshakes one source may hold: half the reserve, at least one. */
static unsigned per_source(const struct tether_node *n)
{
	unsigned cap = n->cfg->limits.handshakes;

	return cap / 2 > 0 ? cap / 2 : 1;
}

/* May an arrival from addr start its handshake now? */
static bool room_for(const struct tether_node *n, const char *addr)
{
	return n->hs_accept < n->cfg->limits.handshakes &&
	       accepting_from(n, addr) < per_source(n) && !n->stopping;
}

static void promote(struct tether_node *n, struct arrival *v)
{
	int h = v->h;
	uint64_t t = v->t_accept;
	char addr[TETHER_ADDR_MAX];

	memcpy(addr, v->addr, sizeof(addr));
	v->h = ARRIVAL_GONE;
	n->n_arrivals--;
	(void)session_accept(n, h, addr, t);
}

unsigned admit_capacity(const struct tether_config *cfg)
{
	unsigned cap = TETHER_ARRIVALS_PER_HANDSHAKE * cfg->limits.handshakes + 8u;

	return cap < TETHER_ARRIVALS_MAX ? cap : TETHER_ARRIVALS_MAX;
}

void admit_accept(struct tether_node *n, int h, const char *addr)
{
	struct arrival *free_slot = NULL, *oldest_here = NULL, *victim = NULL;
	unsigned i, j, here = 0, most = 0;

	for (i = 0; i < n->cap_arrivals; i++) {
		struct arrival *v = &n->arrivals[i];

		if (v->h == ARRIVAL_FREE) {
			if (free_slot == NULL)
				free_slot = v;
			continue;
		}
		if (v->h < 0)
			continue;
		if (same_host(v->addr, addr)) {
			/* Its own address's oldest goes first, silent before spoken. */
			here++;
			if (oldest_here == NULL || (!v->spoke && oldest_here->spoke) ||
			    (v->spoke == oldest_here->spoke && v->seq < oldest_here->seq))
				oldest_here = v;
		}
	}
	if (n->n_arrivals < n->cap_arrivals / 2 && here < TETHER_ARRIVALS_PER_SOURCE) {
		/* Room: nobody gives way (free_slot is found below). */
	} else if (here >= TETHER_ARRIVALS_PER_SOURCE && oldest_here != NULL) {
		arrival_close(n, oldest_here,
			      "evicted: too many connections waiting from its address");
		free_slot = NULL;
	} else {
		/*
		 * Full: one of the address holding the most gives way, silent before
		 * spoken, oldest first. A newcomer is never refused, and a peer (one
		 * connection from its address) is the last to go, whether many
		 * addresses stay silent or send a byte and stall. A source in
		 * back-off gives way before any other.
		 */
		bool victim_bo = false;

		for (i = 0; i < n->cap_arrivals; i++) {
			struct arrival *v = &n->arrivals[i];
			unsigned k = 0;
			bool bo;

			if (v->h < 0)
				continue;
			bo = backoff_now(n, v->addr);
			for (j = 0; j < n->cap_arrivals; j++)
				if (n->arrivals[j].h >= 0 &&
				    same_host(n->arrivals[j].addr, v->addr))
					k++;
			if (victim == NULL || (bo && !victim_bo) ||
			    (bo == victim_bo &&
			     (k > most || (k == most && ((!v->spoke && victim->spoke) ||
							 (v->spoke == victim->spoke &&
							  v->seq < victim->seq)))))) {
				victim = v;
				most = k;
				victim_bo = bo;
			}
		}
		if (victim != NULL)
			arrival_close(n, victim,
				      victim_bo
					      ? "evicted: its address is in back-off after failed "
						"handshakes"
					      : "evicted: oldest waiting connection of the busiest "
						"address");
		free_slot = NULL;
	}
	for (i = 0; free_slot == NULL && i < n->cap_arrivals; i++)
		if (n->arrivals[i].h == ARRIVAL_FREE)
			free_slot = &n->arrivals[i];
	if (free_slot == NULL) {
		/* Cannot happen: the table is twice the live arrivals and a step accepts
		 * at most that many (listener.c). Refused all the same, never overrun. */
		n->st.arrivals_dropped++;
		port_tcp_close(n->port, h, 1);
		return;
	}
	free_slot->kind = OBJ_ARRIVAL;
	free_slot->h = h;
	free_slot->spoke = false;
	free_slot->seq = ++n->arrival_seq;
	free_slot->t_accept = n->now;
	memcpy(free_slot->addr, addr, strlen(addr) + 1);
	n->n_arrivals++;
	port_watch(n->port, h, PORT_READ, free_slot);
}

/*
 * The reserve is full and someone waits: if the one waiting is not in
 * back-off and its address is under its share, the oldest accepted handshake
 * from a source in back-off ends;
 * else the accepted handshake that has received nothing for longest, if that
 * is TETHER_STALL_MS or more. Returns true if one did.
 */
static bool evict_stalled(struct tether_node *n, const struct arrival *waiting)
{
	struct session *s, *worst = NULL, *bo = NULL;

	/* Only if the freed slot would be its: its address is under its share. */
	if (waiting != NULL &&
	    (backoff_now(n, waiting->addr) || accepting_from(n, waiting->addr) >= per_source(n)))
		waiting = NULL;
	for (s = n->all; s != NULL; s = s->next_all) {
		if (!s->counted_handshake || s->dialed)
			continue;
		if (waiting != NULL && backoff_now(n, s->addr) &&
		    (bo == NULL || s->t_start < bo->t_start))
			bo = s;
		if (n->now >= s->t_rx + TETHER_STALL_MS && (worst == NULL || s->t_rx < worst->t_rx))
			worst = s;
	}
	if (bo != NULL) {
		n->st.arrivals_dropped++;
		/* Evicted, not failed: its back-off does not grow for what we did. */
		session_end(bo, REASON_EVICTED,
			    "its address is in back-off: its slot went to another address");
		return true;
	}
	if (worst == NULL)
		return false;
	n->st.arrivals_dropped++;
	session_end(worst, REASON_HANDSHAKE_TIMEOUT,
		    "handshake stalled: its slot went to a connection waiting for one");
	return true;
}

/*
 * The waiting arrival to start next: from a source not in back-off if any
 * waits, then from the address with the smallest footprint (handshakes under
 * way and connections waiting), then the oldest. A peer dials with one
 * connection; a flood's addresses hold many. *want: the one chosen, even if
 * it may not start yet.
 */
static struct arrival *next_waiting(struct tether_node *n, bool *blocked,
				    const struct arrival **want)
{
	struct arrival *best = NULL;
	unsigned i, best_k = 0;
	bool best_bo = false;

	*blocked = false;
	for (i = 0; i < n->cap_arrivals; i++) {
		struct arrival *v = &n->arrivals[i];
		unsigned k;
		bool bo;

		if (v->h < 0 || !v->spoke)
			continue;
		bo = backoff_now(n, v->addr);
		/* Its address's footprint: handshakes under way and connections waiting. */
		k = accepting_from(n, v->addr) + arrivals_from(n, v->addr);
		if (best == NULL || (!bo && best_bo) ||
		    (bo == best_bo && (k < best_k || (k == best_k && v->seq < best->seq)))) {
			best = v;
			best_k = k;
			best_bo = bo;
		}
	}
	*want = best;
	if (best != NULL && !room_for(n, best->addr)) {
		/* Only the whole reserve being full stops it: its address is under its share. */
		*blocked = n->hs_accept >= n->cfg->limits.handshakes && !n->stopping;
		best = NULL;
	}
	return best;
}

void admit_event(struct tether_node *n, struct arrival *v, unsigned events)
{
	(void)events;
	if (v->h < 0)
		return;
	/* Bytes (or an error or EOF, which the handshake will report): it spoke. */
	v->spoke = true;
	/* Level-triggered: stop listening; admit_more() starts it when it may. */
	port_watch(n->port, v->h, 0, v);
	admit_more(n);
}

void admit_more(struct tether_node *n)
{
	while (n->n_arrivals > 0) {
		bool blocked;
		const struct arrival *want;
		struct arrival *v = next_waiting(n, &blocked, &want);

		if (v == NULL && blocked && evict_stalled(n, want))
			v = next_waiting(n, &blocked, &want);
		if (v == NULL)
			return;
		promote(n, v);
	}
}

void admit_timers(struct tether_node *n, uint64_t *next)
{
	uint32_t first = n->cfg->tls.handshake_timeout_ms < TETHER_FIRST_BYTE_MS
				 ? n->cfg->tls.handshake_timeout_ms
				 : TETHER_FIRST_BYTE_MS;
	unsigned i;

	if (n->n_arrivals > 0)
		admit_more(n);
	for (i = 0; i < n->cap_arrivals && n->n_arrivals > 0; i++) {
		struct arrival *v = &n->arrivals[i];
		uint64_t due;

		if (v->h < 0)
			continue;
		/* One waiting may get a stalled handshake's slot then. */
		if (v->spoke && n->hs_accept > 0 && n->now + TETHER_STALL_MS < *next)
			*next = n->now + TETHER_STALL_MS;
		due = v->t_accept + (v->spoke ? n->cfg->tls.handshake_timeout_ms : first);
		if (n->now >= due) {
			/* Silence is the source's failure; no slot in time is ours. */
			if (!v->spoke)
				backoff_note_fail(n, v->addr, REASON_HANDSHAKE_TIMEOUT);
			arrival_close(n, v,
				      v->spoke ? "no handshake slot within the handshake timeout"
					       : "nothing received within the first-byte deadline");
		} else if (due < *next)
			*next = due;
	}
}

void admit_close_all(struct tether_node *n)
{
	unsigned i;

	for (i = 0; i < n->cap_arrivals; i++)
		if (n->arrivals[i].h >= 0)
			arrival_close(n, &n->arrivals[i], NULL);
}

void admit_step_end(struct tether_node *n)
{
	unsigned i;

	for (i = 0; i < n->cap_arrivals; i++)
		if (n->arrivals[i].h == ARRIVAL_GONE)
			n->arrivals[i].h = ARRIVAL_FREE;
}
