/*
 * status.c: the node's counters, and the status the node writes to its log
 * (SIGUSR1).
 */
#include <stdio.h>
#include <string.h>

#include "node_impl.h"

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
