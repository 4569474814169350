/*
 * listener.c: the node's listeners: peer sessions, and the local clients of
 * forwards, each of which becomes a stream to a peer's service.
 */
#include <stdio.h>
#include <string.h>

#include "core/node_impl.h"

static const char *listener_name(const struct listener *ls)
{
	switch (ls->what) {
	case LISTEN_SESSIONS:
		return "sessions";
	case LISTEN_METRICS:
		return "metrics";
	case LISTEN_STATUS:
		return "status";
	case LISTEN_EDGE:
		return "edge";
	default:
		return "forward";
	}
}

static void log_listen(struct tether_node *n, const char *what, const char *addr, int h)
{
	char bound[TETHER_ADDR_MAX];
	struct log_line l;

	if (port_local_addr(n->port, h, bound, sizeof(bound)) != 0)
		snprintf(bound, sizeof(bound), "%s", addr);
	log_begin(&l, &n->log, PORT_LOG_INFO, "listen");
	log_str(&l, "what", what);
	log_str(&l, "addr", bound);
	log_end(&l);
}

int listeners_open(struct tether_node *n, char *err, size_t err_len)
{
	const struct tether_config *cfg = n->cfg;
	unsigned i;
	int ret;

	for (i = 0; i < n->n_listeners; i++) {
		n->listeners[i].kind = OBJ_LISTENER;
		if (i == 0)
			n->listeners[i].what = LISTEN_SESSIONS;
		else if (i == n->n_listeners - 1)
			n->listeners[i].what = LISTEN_STATUS;
		else if (i == n->n_listeners - 2)
			n->listeners[i].what = LISTEN_METRICS;
		else if (i > cfg->n_forwards)
			n->listeners[i].what = LISTEN_EDGE;
		else
			n->listeners[i].what = LISTEN_FORWARD;
		n->listeners[i].h = -1;
		n->listeners[i].forward = i == 0		? 0
					  : i > cfg->n_forwards ? i - 1 - cfg->n_forwards
								: i - 1;
	}
	if (cfg->listen[0] != '\0') {
		ret = port_tcp_listen(n->port, cfg->listen, &n->listeners[0].h);
		if (ret < 0) {
			snprintf(err, err_len, "listen: cannot listen on %s: %s", cfg->listen,
				 tether_err_str(ret));
			return ret;
		}
		port_watch(n->port, n->listeners[0].h, PORT_READ, &n->listeners[0]);
		log_listen(n, "sessions", cfg->listen, n->listeners[0].h);
	}
	for (i = 0; i < cfg->n_forwards; i++) {
		struct listener *ls = &n->listeners[i + 1];

		ret = port_tcp_listen(n->port, cfg->forwards[i].listen, &ls->h);
		if (ret < 0) {
			snprintf(err, err_len, "forwards[%u].listen: cannot listen on %s: %s", i,
				 cfg->forwards[i].listen, tether_err_str(ret));
			return ret;
		}
		port_watch(n->port, ls->h, PORT_READ, ls);
		log_listen(n, "forward", cfg->forwards[i].listen, ls->h);
	}
	for (i = 0; i < cfg->n_edges; i++) {
		struct listener *ls = &n->listeners[1 + cfg->n_forwards + i];

		ret = port_tcp_listen(n->port, cfg->edges[i].listen, &ls->h);
		if (ret < 0) {
			snprintf(err, err_len, "edges[%u].listen: cannot listen on %s: %s", i,
				 cfg->edges[i].listen, tether_err_str(ret));
			return ret;
		}
		port_watch(n->port, ls->h, PORT_READ, ls);
		log_listen(n,
			   cfg->edges[i].mode == TETHER_EDGE_TLS_IN ? "edge tls-in"
								    : "edge tls-out",
			   cfg->edges[i].listen, ls->h);
	}
	if (!TETHER_METRICS && (cfg->metrics[0] != '\0' || cfg->status[0] != '\0')) {
		snprintf(err, err_len,
			 "%s: this build has no metrics endpoint nor status socket "
			 "(TETHER_METRICS=0)",
			 cfg->metrics[0] != '\0' ? "metrics" : "status");
		return TETHER_ERR_CONFIG;
	}
	if (cfg->metrics[0] != '\0') {
		struct listener *ls = &n->listeners[n->n_listeners - 2];

		ret = port_tcp_listen(n->port, cfg->metrics, &ls->h);
		if (ret < 0) {
			snprintf(err, err_len, "metrics: cannot listen on %s: %s", cfg->metrics,
				 tether_err_str(ret));
			return ret;
		}
		port_watch(n->port, ls->h, PORT_READ, ls);
		log_listen(n, "metrics", cfg->metrics, ls->h);
		if (strncmp(cfg->metrics, "127.", 4) != 0 &&
		    strncmp(cfg->metrics, "[::1]:", 6) != 0 &&
		    strncmp(cfg->metrics, "localhost:", 10) != 0) {
			struct log_line l;

			log_begin(&l, &n->log, PORT_LOG_WARN, "metrics_exposed");
			log_str(&l, "addr", cfg->metrics);
			log_str(&l, "reason",
				"plaintext HTTP off loopback: anyone who reaches it reads the "
				"metrics");
			log_end(&l);
		}
	}
	if (cfg->status[0] != '\0') {
		struct listener *ls = &n->listeners[n->n_listeners - 1];

		ret = port_unix_listen(n->port, cfg->status, 0660, &ls->h);
		if (ret < 0) {
			snprintf(err, err_len, "status: cannot listen on %s: %s", cfg->status,
				 ret == TETHER_ERR_INUSE ? "another agent answers there"
				 : ret == TETHER_ERR_FILE
					 ? "something that is not a socket is there"
					 : tether_err_str(ret));
			return ret;
		}
		port_watch(n->port, ls->h, PORT_READ, ls);
		log_listen(n, "status", cfg->status, ls->h);
	}
	return 0;
}

void listeners_close(struct tether_node *n)
{
	unsigned i;

	for (i = 0; i < n->n_listeners; i++) {
		port_tcp_close(n->port, n->listeners[i].h, 0);
		n->listeners[i].h = -1;
	}
}

void listeners_resume(struct tether_node *n, uint64_t *next)
{
	unsigned i;

	for (i = 0; i < n->n_listeners; i++) {
		struct listener *ls = &n->listeners[i];

		if (ls->paused_until == 0 || ls->h < 0)
			continue;
		if (n->now >= ls->paused_until) {
			ls->paused_until = 0;
			port_watch(n->port, ls->h, PORT_READ, ls);
		} else if (ls->paused_until < *next) {
			*next = ls->paused_until;
		}
	}
}

static void forward_accept(struct tether_node *n, struct listener *ls, int h, const char *from)
{
	const struct tether_forward_cfg *fw = &n->cfg->forwards[ls->forward];
	struct session *s = n->peers[fw->peer].session;

	if (s == NULL || !session_is_open(s)) {
		stream_refuse(n, NULL, n->cfg->peers[fw->peer].name, 0, fw->service, from,
			      REASON_NOT_CONNECTED, 0);
		port_tcp_close(n->port, h, 1);
		return;
	}
	(void)stream_forward(s, h, fw->service, from);
}

void listener_event(struct tether_node *n, struct listener *ls)
{
	int i;

	/*
	 * Bounded per wake-up so one busy listener cannot starve the rest; the
	 * session listener takes more at a time, so that a flood of connections
	 * queued by the kernel (each costing only a socket here, admit.c) is
	 * drained before a peer's connection waits long behind it.
	 */
	int max = ls->what == LISTEN_SESSIONS ? (int)admit_capacity(n->cfg) : 16;

	for (i = 0; i < max && !n->stopping; i++) {
		char from[TETHER_ADDR_MAX];
		int h, r;

		r = port_tcp_accept(n->port, ls->h, &h, from, sizeof(from));
		if (r == 0)
			return;
		if (r < 0) {
			/* Out of descriptors or slots: the connection stays queued, and the
			 * listener would wake us at once again. Rest it for a moment. */
			struct log_line l;

			log_begin(&l, &n->log, PORT_LOG_WARN, "accept_failed");
			log_str(&l, "what", listener_name(ls));
			log_str(&l, "reason", tether_err_str(r));
			log_end(&l);
			port_watch(n->port, ls->h, 0, ls);
			ls->paused_until = n->now + 100;
			return;
		}
		if (ls->what == LISTEN_SESSIONS)
			admit_accept(n, h, from);
		else if (ls->what == LISTEN_EDGE)
			edge_accept(n, ls->forward, h, from);
		else if (ls->what == LISTEN_METRICS || ls->what == LISTEN_STATUS)
			metrics_accept(n, h, ls->what == LISTEN_STATUS);
		else
			forward_accept(n, ls, h, from);
	}
}
