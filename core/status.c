/*
 * status.c: the node's counters, and the status the node writes to its log
 * (SIGUSR1).
 */
#include <stdio.h>
#include <string.h>

#include "core/node_impl.h"

void tether_node_stats(const struct tether_node *n, struct tether_stats *st)
{
	*st = n->st;
	st->streams_open = n->streams.used;
	st->streams_high = n->streams.high;
	st->sessions_high = n->sessions.high;
	st->heap_used = tls_heap_in_use();
	st->heap_peak = tls_heap_peak();
	st->heap_size = tether_tls_heap_size(n->cfg);
}

/* One line per reason that has ended something of this kind. */
static void log_reasons(struct tether_node *n, const char *what, const uint64_t *count)
{
	struct log_line l;
	int r;

	for (r = 1; r < REASON_COUNT; r++) {
		if (count[r] == 0)
			continue;
		log_begin(&l, &n->log, PORT_LOG_INFO, "status_reason");
		log_str(&l, "what", what);
		log_str(&l, "reason", reason_label((enum tether_reason)r));
		log_u64(&l, "count", count[r]);
		log_end(&l);
	}
}

void tether_node_log_status(struct tether_node *n)
{
	struct tether_stats st;
	struct session *s;
	struct log_line l;

	tether_node_stats(n, &st);
	for (s = n->all; s != NULL; s = s->next_all) {
		log_begin(&l, &n->log, PORT_LOG_INFO, "status_session");
		log_str(&l, "peer", session_peer_name(s));
		log_str(&l, "addr", s->addr);
		log_str(&l, "dir", s->dialed ? "out" : "in");
		log_str(&l, "state",
			session_is_open(s)	 ? "open"
			: session_is_draining(s) ? "draining"
						 : "handshake");
		log_u64(&l, "streams", s->state == SS_MUX ? s->mux.n_streams : 0);
		log_u64(&l, "sent", s->state == SS_MUX ? s->mux.bytes_out : 0);
		log_u64(&l, "received", s->state == SS_MUX ? s->mux.bytes_in : 0);
		log_end(&l);
	}
	/* The status line comes last: a reader that sees it has the whole report. */
	log_reasons(n, "session", n->st.sessions_ended);
	log_reasons(n, "handshake", n->st.handshakes_refused);
	log_reasons(n, "stream", n->st.streams_ended);
	log_begin(&l, &n->log, PORT_LOG_INFO, "status");
	log_u64(&l, "sessions", st.sessions_up);
	log_u64(&l, "sessions_high", st.sessions_high);
	log_u64(&l, "sessions_cap", st.sessions_cap);
	log_u64(&l, "streams", st.streams_open);
	log_u64(&l, "streams_high", st.streams_high);
	log_u64(&l, "streams_cap", st.streams_cap);
	log_u64(&l, "handshakes_high", st.handshakes_high);
	log_u64(&l, "handshakes_ok", st.handshakes_ok);
	log_u64(&l, "handshakes_failed", st.handshakes_failed);
	log_u64(&l, "streams_refused", st.streams_refused);
	log_u64(&l, "pool_exhausted", st.pool_exhausted);
	log_u64(&l, "bytes_in", st.bytes_in);
	log_u64(&l, "bytes_out", st.bytes_out);
	log_u64(&l, "heap_used", st.heap_used);
	log_u64(&l, "heap_peak", st.heap_peak);
	log_u64(&l, "heap_size", st.heap_size);
	log_u64(&l, "mem_node", st.mem_node);
	log_end(&l);
}

void peer_view(const struct tether_node *n, unsigned i, int64_t wall, struct peer_view *v)
{
	const struct peer_state *ps = &n->peers[i];
	const struct session *s;

	memset(v, 0, sizeof(*v));
	v->name = n->cfg->peers[i].name;
	v->sent = ps->bytes_out;
	v->received = ps->bytes_in;
	v->next_dial_ms = -1;
	for (s = n->all; s != NULL; s = s->next_all) {
		if (s->peer != (int)i || s->state != SS_MUX)
			continue;
		v->sent += s->mux.bytes_out;
		v->received += s->mux.bytes_in;
		v->streams += s->mux.n_streams;
		if (session_is_open(s)) {
			v->up = true;
			v->s = s;
			v->cert_left_s = s->verify.not_after - wall;
		}
	}
	v->since_ms = n->now - (ps->t_change != 0 ? ps->t_change : n->t_started);
	if (!v->up && n->cfg->peers[i].connect[0] != '\0' && ps->dialer == NULL)
		v->next_dial_ms = ps->next_dial > n->now ? (int64_t)(ps->next_dial - n->now) : 0;
}
