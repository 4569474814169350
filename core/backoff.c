/*
 * backoff.c: sources whose handshakes failed recently (docs/DESIGN.md
 * "Back-off after failed handshakes").
 *
 * One source is an IPv4 address or an IPv6 /64, as admission groups them
 * (admit_same_source). An entry counts failures in a row and holds its
 * source in back-off for TETHER_BACKOFF_MIN_MS after the first, doubling
 * with each further one up to TETHER_BACKOFF_MAX_MS; a successful handshake
 * from the source clears it, and one that has been quiet for
 * TETHER_BACKOFF_MAX_MS past its back-off starts over. The table is fixed:
 * a new source takes a free entry or the least recently failed one's.
 */
#include <string.h>

#include "core/backoff.h"
#include "core/node_impl.h"

void backoff_init(struct backoff_table *t, void *mem, unsigned cap)
{
	t->e = mem;
	t->cap = mem != NULL ? cap : 0;
	if (t->e != NULL)
		memset(t->e, 0, backoff_bytes(cap));
}

bool backoff_counts(enum tether_reason why)
{
	switch (why) {
	case REASON_HANDSHAKE_TIMEOUT:
	case REASON_PROTOCOL:
	case REASON_IDENTITY_MISMATCH:
	case REASON_TLS_ERROR:
	case REASON_IO:
	case REASON_NO_CLIENT_CERT:
	case REASON_UNKNOWN_CA:
	case REASON_REVOKED:
	case REASON_EXPIRED:
	case REASON_NOT_YET_VALID:
	case REASON_IDENTITY_NOT_ALLOWED:
	case REASON_WEAK_CERT:
	case REASON_CERT_REJECTED:
	case REASON_TLS_VERSION:
	case REASON_NO_SHARED_SUITE:
	case REASON_TLS_ALERT:
	case REASON_HANDSHAKE_EOF:
	case REASON_MALFORMED_TLS:
		return true;
	default:
		/* Ours, not the source's: shutdown, reload, eviction, memory, a duplicate. */
		return false;
	}
}

static struct backoff_entry *find(const struct backoff_table *t, const char *addr)
{
	unsigned i;

	for (i = 0; i < t->cap; i++)
		if (t->e[i].key[0] != '\0' && admit_same_source(t->e[i].key, addr))
			return &t->e[i];
	return NULL;
}

bool backoff_fail(struct backoff_table *t, const char *addr, uint64_t now)
{
	struct backoff_entry *e = find(t, addr);
	const char *colon = strrchr(addr, ':');
	size_t host = colon != NULL ? (size_t)(colon - addr) : strlen(addr);
	bool was_active;
	uint64_t d;
	uint32_t k;
	unsigned i;

	if (t->cap == 0 || host + 3 > BACKOFF_KEY_MAX)
		return false; /* no table, or not an address text we make */
	if (e == NULL) {
		for (i = 0; i < t->cap; i++) {
			struct backoff_entry *c = &t->e[i];

			if (c->key[0] == '\0') {
				e = c;
				break;
			}
			if (e == NULL || c->t_fail < e->t_fail)
				e = c;
		}
		memcpy(e->key, addr, host);
		memcpy(e->key + host, ":0", 3);
		e->fails = 0;
		e->until = 0;
	} else if (now >= e->until + TETHER_BACKOFF_MAX_MS) {
		e->fails = 0; /* quiet long enough: starts over */
	}
	was_active = e->fails > 0 && now < e->until;
	if (e->fails < UINT32_MAX)
		e->fails++;
	d = TETHER_BACKOFF_MIN_MS;
	for (k = 1; k < e->fails && d < TETHER_BACKOFF_MAX_MS; k++)
		d *= 2;
	if (d > TETHER_BACKOFF_MAX_MS)
		d = TETHER_BACKOFF_MAX_MS;
	e->until = now + d;
	e->t_fail = now;
	return !was_active;
}

void backoff_ok(struct backoff_table *t, const char *addr)
{
	struct backoff_entry *e = find(t, addr);

	if (e != NULL)
		memset(e, 0, sizeof(*e));
}

bool backoff_active(const struct backoff_table *t, const char *addr, uint64_t now)
{
	const struct backoff_entry *e = find(t, addr);

	return e != NULL && e->fails > 0 && now < e->until;
}

uint32_t backoff_fails(const struct backoff_table *t, const char *addr)
{
	const struct backoff_entry *e = find(t, addr);

	return e != NULL ? e->fails : 0;
}

void backoff_note_fail(struct tether_node *n, const char *addr, enum tether_reason why)
{
	struct log_line l;

	if (!backoff_counts(why) || !backoff_fail(&n->backoff, addr, n->now))
		return;
	n->st.backoffs++;
	/* One line per TETHER_BACKOFF_LOG_MS at most: a flood of sources logs no flood. */
	if (n->backoff_logged != 0 && n->now < n->backoff_logged + TETHER_BACKOFF_LOG_MS) {
		n->backoff_unlogged++;
		return;
	}
	log_begin(&l, &n->log, PORT_LOG_WARN, "handshake_backoff");
	log_str(&l, "addr", addr);
	log_str(&l, "reason", reason_name(why));
	log_u64(&l, "failures", backoff_fails(&n->backoff, addr));
	log_u64(&l, "others", n->backoff_unlogged);
	log_end(&l);
	n->backoff_logged = n->now != 0 ? n->now : 1;
	n->backoff_unlogged = 0;
}

void backoff_note_ok(struct tether_node *n, const char *addr)
{
	backoff_ok(&n->backoff, addr);
}

bool backoff_now(const struct tether_node *n, const char *addr)
{
	return backoff_active(&n->backoff, addr, n->now);
}
