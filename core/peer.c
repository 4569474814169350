/*
 * peer.c: the configured peers: dialing with back-off and full jitter, and
 * the one-session-per-pair rule (docs/PROTOCOL.md).
 */
#include <string.h>

#include "core/node_impl.h"
#include "core/rand.h"

static bool keep_dialed_by_us(const struct tether_node *n, int peer)
{
	/* PROTOCOL.md: keep the session dialed by the node whose name sorts first. */
	return strcmp(n->cfg->node, n->cfg->peers[peer].name) < 0;
}

/* s exchanged HELLO: the peer has a session; apply the one-session-per-pair rule. */
void peer_session_up(struct tether_node *n, struct session *s)
{
	struct peer_state *ps = &n->peers[s->peer];
	struct session *old = ps->session;

	expiry_peer(n, s);
	if (s->dialed) {
		if (ps->dialer == s)
			ps->dialer = NULL;
		ps->attempt = 0;
	}
	if (old == NULL || !session_is_open(old))
		ps->t_change = n->now;
	if (old == NULL || old == s || !session_is_open(old)) {
		ps->session = s;
		return;
	}
	/*
	 * Both nodes dialed: both apply the same rule and agree on the survivor.
	 * Two sessions dialed the same way (the peer restarted and dialed again
	 * before the old one timed out): the newer one is kept.
	 */
	if (old->roll_why != REASON_NONE && s->dialed) {
		/* The session we dialed to replace it: it drains, keeping its streams. */
		ps->session = s;
		session_goaway(old, FRAME_GOAWAY_LIFETIME, old->roll_why);
		session_pump(old);
	} else if (s->dialed == old->dialed || s->dialed == keep_dialed_by_us(n, s->peer)) {
		ps->session = s;
		session_goaway(old, FRAME_GOAWAY_DUPLICATE, REASON_DUPLICATE);
		session_pump(old);
	} else {
		session_goaway(s, FRAME_GOAWAY_DUPLICATE, REASON_DUPLICATE);
	}
}

/* s ended (released now): schedule the next dial to its peer. */
void peer_session_gone(struct tether_node *n, struct session *s)
{
	const struct tether_config *cfg = n->cfg;
	bool was_up = session_was_up(s);
	struct peer_state *ps;
	uint64_t cap;
	uint32_t shift;

	if (s->peer < 0)
		return;
	ps = &n->peers[s->peer];
	if (ps->session == s) {
		ps->session = NULL;
		ps->t_change = n->now;
	}
	/* The dial is over, whether it came up (and the node saw it or not) or failed. */
	if (ps->dialer == s)
		ps->dialer = NULL;
	/* A session that stays needs no dial; one being rolled needs its successor. */
	if (cfg->peers[s->peer].connect[0] == '\0' ||
	    (ps->session != NULL && session_is_open(ps->session) &&
	     ps->session->roll_why == REASON_NONE))
		return;
	/* Exponential back-off with full jitter; a session that came up resets it. */
	if (was_up)
		ps->attempt = 0;
	else if (s->dialed && ps->attempt < 31)
		ps->attempt++;
	shift = ps->attempt < 20 ? ps->attempt : 20;
	cap = (uint64_t)cfg->reconnect_min_ms << shift;
	if (cap > cfg->reconnect_max_ms)
		cap = cfg->reconnect_max_ms;
	ps->next_dial = n->now + tether_random_below((uint32_t)cap + 1);
}

void peers_dial_due(struct tether_node *n, uint64_t *next)
{
	const struct tether_config *cfg = n->cfg;
	unsigned i;

	if (n->stopping)
		return;
	for (i = 0; i < cfg->n_peers; i++) {
		struct peer_state *ps = &n->peers[i];

		if (cfg->peers[i].connect[0] == '\0' || ps->dialer != NULL)
			continue;
		/*
		 * PROTOCOL.md section 7: a draining session does not count, so a new
		 * one is dialed at once (LIFETIME), unless the peer ended it as a
		 * duplicate: then the session it keeps is on its way. A session to be
		 * rolled does not count either: its successor is dialed while it runs.
		 */
		if (ps->session != NULL &&
		    ((session_is_open(ps->session) && ps->session->roll_why == REASON_NONE) ||
		     ps->session->peer_duplicate))
			continue;
		if (n->now < ps->next_dial) {
			if (ps->next_dial < *next)
				*next = ps->next_dial;
			continue;
		}
		if (n->handshakes >= cfg->limits.handshakes) {
			/* Try again shortly; handshakes finish or time out. */
			if (n->now + 50 < *next)
				*next = n->now + 50;
			continue;
		}
		ps->dialer = session_dial(n, (int)i);
		/* Refused at once (no slot, no socket): its release sets the back-off, if any. */
		if (ps->dialer == NULL)
			ps->next_dial = n->now + cfg->reconnect_min_ms;
	}
}
