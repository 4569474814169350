/*
 * metrics.c: the Prometheus endpoint (`metrics`: GET /metrics over plain
 * HTTP/1.1) and the status socket (`status`: one-line requests from `tether
 * status` and `tether reload`), served by the event loop from fixed buffers.
 *
 * A few request slots read requests side by side; the one response buffer
 * serves them one at a time. Every exchange has a deadline from its accept,
 * and when every slot is busy the oldest one still sending its request is
 * dropped for the newcomer, so clients that connect and say nothing can
 * neither hold the endpoint nor starve a scraper. The numbers are the
 * counters the log uses (tether_stats, the sessions, the peers).
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "core/http.h"
#include "core/node_impl.h"
#include "core/prom.h"
#include "core/x509_time.h"
#include "tether_version.h"

/* A `tether renew` waits for the issuer's answer (renew.c gives up after 8 s). */
#define RENEW_WAIT_MS 9500u

/* Room before the body for the status line and headers. */
#define HEAD_ROOM 256u

size_t metrics_buffer_size(const struct tether_config *cfg)
{
	if (cfg->metrics[0] == '\0' && cfg->status[0] == '\0')
		return 0;
	/*
	 * The request slots, then the response: families, reasons and pools,
	 * then per peer three series and a certificate.
	 */
	return sizeof(struct mconn) * TETHER_METRICS_CONNS + 12288u + 768u * cfg->n_peers +
	       HEAD_ROOM;
}

/* True if another certificate of the list has c's subject and expires first. */
static bool shadowed(const mbedtls_x509_crt *list, const mbedtls_x509_crt *c, int64_t t)
{
	const mbedtls_x509_crt *o;
	int64_t u;

	for (o = list; o != NULL && o->raw.len > 0; o = o->next) {
		if (o == c || o->subject_raw.len != c->subject_raw.len ||
		    memcmp(o->subject_raw.p, c->subject_raw.p, c->subject_raw.len) != 0 ||
		    x509_time_to_unix(&o->valid_to, &u) != 0)
			continue;
		if (u < t || (u == t && o < c))
			return true;
	}
	return false;
}

/*
 * One series per subject: with two CA certificates of one subject (a
 * rollover) the one that expires first, which is the one to watch.
 */
static void cert_expiry(struct prom *p, const char *kind, const mbedtls_x509_crt *list, int64_t now,
			bool first_only)
{
	const mbedtls_x509_crt *crt;
	char subject[200];
	int64_t t;

	for (crt = list; crt != NULL && crt->raw.len > 0; crt = crt->next) {
		if (x509_time_to_unix(&crt->valid_to, &t) == 0 && !shadowed(list, crt, t)) {
			if (mbedtls_x509_dn_gets(subject, sizeof(subject), &crt->subject) < 0)
				snprintf(subject, sizeof(subject), "?");
			prom_i64(p, "tether_cert_expiry_seconds", "cert", kind, "subject", subject,
				 t - now);
		}
		if (first_only)
			return; /* the node's own certificate; what follows is its chain */
	}
}

/* Handshake failures are always shown under these reasons, 0 or not. */
static bool handshake_reason(int r)
{
	return (r >= REASON_NO_CLIENT_CERT && r <= REASON_TLS_MEMORY) ||
	       r == REASON_HANDSHAKE_TIMEOUT || r == REASON_IO || r == REASON_TLS_ERROR;
}

static void pool3(struct prom *p, const char *name, uint64_t sessions, uint64_t streams,
		  uint64_t handshakes)
{
	prom_u64(p, name, "pool", "sessions", NULL, NULL, sessions);
	prom_u64(p, name, "pool", "streams", NULL, NULL, streams);
	prom_u64(p, name, "pool", "handshakes", NULL, NULL, handshakes);
}

/* The whole exposition, from the same counters the log uses. */
static void write_metrics(struct tether_node *n, struct prom *p)
{
	const struct tether_config *cfg = n->cfg;
	const struct tls_material *t = tls_cur(&n->tls);
	int64_t now = port_wall_s(n->port);
	struct tether_stats st;
	struct peer_view v;
	unsigned i;
	int r;

	tether_node_stats(n, &st);
	prom_family(p, "tether_info", "gauge", "This node: its tether version and name.");
	prom_u64(p, "tether_info", "version", TETHER_VERSION, "node", cfg->node, 1);
	prom_family(p, "tether_sessions", "gauge", "Sessions with peers that are up.");
	prom_u64(p, "tether_sessions", NULL, NULL, NULL, NULL, st.sessions_up);

	prom_family(p, "tether_peer_connected", "gauge",
		    "1 if a configured peer has a session up, else 0.");
	/* A family's samples stand together: one pass over the peers per family. */
	for (i = 0; i < cfg->n_peers; i++) {
		peer_view(n, i, now, &v);
		prom_u64(p, "tether_peer_connected", "peer", v.name, NULL, NULL, v.up);
	}
	prom_family(p, "tether_bytes_total", "counter",
		    "Stream payload bytes by peer and direction.");
	for (i = 0; i < cfg->n_peers; i++) {
		peer_view(n, i, now, &v);
		prom_u64(p, "tether_bytes_total", "peer", v.name, "direction", "sent", v.sent);
		prom_u64(p, "tether_bytes_total", "peer", v.name, "direction", "received",
			 v.received);
	}

	prom_family(p, "tether_streams", "gauge", "Streams open now.");
	prom_u64(p, "tether_streams", NULL, NULL, NULL, NULL, st.streams_open);
	prom_family(p, "tether_streams_total", "counter",
		    "Streams ended or refused, by result (the log's reasons).");
	for (r = 1; r < REASON_COUNT; r++)
		if (st.streams_ended[r] != 0 || r == REASON_DONE)
			prom_u64(p, "tether_streams_total", "result",
				 reason_label((enum tether_reason)r), NULL, NULL,
				 st.streams_ended[r]);

	prom_family(p, "tether_handshakes_total", "counter", "TLS handshakes by result.");
	prom_u64(p, "tether_handshakes_total", "result", "ok", NULL, NULL, st.handshakes_ok);
	prom_u64(p, "tether_handshakes_total", "result", "failed", NULL, NULL,
		 st.handshakes_failed);
	prom_family(p, "tether_handshake_failures_total", "counter",
		    "Failed TLS handshakes by reason (the log's reasons).");
	for (r = 1; r < REASON_COUNT; r++)
		if (handshake_reason(r) || st.handshakes_refused[r] != 0)
			prom_u64(p, "tether_handshake_failures_total", "reason",
				 reason_label((enum tether_reason)r), NULL, NULL,
				 st.handshakes_refused[r]);

	prom_family(p, "tether_cert_expiry_seconds", "gauge",
		    "Seconds until a certificate expires (negative: expired).");
	cert_expiry(p, "identity", &t->own, now, true);
	cert_expiry(p, "ca", &t->ca, now, false);
	for (i = 0; i < cfg->n_peers; i++) {
		peer_view(n, i, now, &v);
		if (v.up)
			prom_i64(p, "tether_cert_expiry_seconds", "cert", "peer", "subject", v.name,
				 v.cert_left_s);
	}
	if (t->has_crl) {
		int64_t next;

		if (x509_time_to_unix(&t->crl.next_update, &next) == 0) {
			prom_family(p, "tether_crl_next_update_seconds", "gauge",
				    "Seconds until the CRL's next update is due (negative: past).");
			prom_i64(p, "tether_crl_next_update_seconds", NULL, NULL, NULL, NULL,
				 next - now);
		}
	}
	prom_family(p, "tether_crl_stale_total", "counter",
		    "Expiry checks (daily, and at start and reload) that found a CRL past its next "
		    "update.");
	prom_u64(p, "tether_crl_stale_total", NULL, NULL, NULL, NULL, st.crls_stale);
	prom_family(p, "tether_crls_received_total", "counter",
		    "CRLs taken from peers, by result: stored (and applied) or refused.");
	prom_u64(p, "tether_crls_received_total", "result", "stored", NULL, NULL, st.crls_received);
	prom_u64(p, "tether_crls_received_total", "result", "refused", NULL, NULL, st.crls_refused);
	prom_family(p, "tether_arrivals_dropped_total", "counter",
		    "Connections to the session listener closed before their handshake: silent "
		    "past the first-byte deadline, or evicted for a newcomer.");
	prom_u64(p, "tether_arrivals_dropped_total", NULL, NULL, NULL, NULL, st.arrivals_dropped);
	prom_family(p, "tether_handshake_backoff_total", "counter",
		    "Source addresses (IPv6: /64) that entered back-off after a failed handshake "
		    "on the session or an edge listener: deprioritised, not refused.");
	prom_u64(p, "tether_handshake_backoff_total", NULL, NULL, NULL, NULL, st.backoffs);
	prom_family(p, "tether_reloads_total", "counter", "Reloads by result.");
	prom_u64(p, "tether_reloads_total", "result", "ok", NULL, NULL, st.reloads_ok);
	prom_u64(p, "tether_reloads_total", "result", "failed", NULL, NULL, st.reloads_failed);
	renew_metrics(n, p, now);

	prom_family(p, "tether_pool_used", "gauge", "Pool slots in use.");
	pool3(p, "tether_pool_used", n->sessions.used, n->streams.used, n->handshakes);
	prom_family(p, "tether_pool_capacity", "gauge", "Pool slots in all.");
	/* Handshakes: a reserve for dials and one for accepts. */
	pool3(p, "tether_pool_capacity", st.sessions_cap, st.streams_cap,
	      2u * cfg->limits.handshakes);
	prom_family(p, "tether_pool_high_water", "gauge", "Most pool slots in use at once.");
	pool3(p, "tether_pool_high_water", st.sessions_high, st.streams_high, st.handshakes_high);
	if (cfg->n_edges > 0) {
		enum tether_reason r;

		/* The families above, for the edge connection pool (all routes together). */
		prom_u64(p, "tether_pool_used", "pool", "edges", NULL, NULL, st.edges_open);
		prom_u64(p, "tether_pool_capacity", "pool", "edges", NULL, NULL, st.edges_cap);
		prom_u64(p, "tether_pool_high_water", "pool", "edges", NULL, NULL, st.edges_high);
		prom_family(p, "tether_edge_handshakes_total", "counter",
			    "Edge route handshakes by result (failures are in "
			    "tether_handshake_failures_total by reason too).");
		prom_u64(p, "tether_edge_handshakes_total", "result", "ok", NULL, NULL,
			 st.edge_handshakes_ok);
		prom_u64(p, "tether_edge_handshakes_total", "result", "failed", NULL, NULL,
			 st.edge_handshakes_failed);
		prom_family(p, "tether_edge_bytes_total", "counter",
			    "Edge route payload: received from and sent to the TLS side.");
		prom_u64(p, "tether_edge_bytes_total", "direction", "received", NULL, NULL,
			 st.edge_bytes_in);
		prom_u64(p, "tether_edge_bytes_total", "direction", "sent", NULL, NULL,
			 st.edge_bytes_out);
		prom_family(p, "tether_edges_ended_total", "counter",
			    "Edge connections that were up, by how they ended.");
		for (r = REASON_NONE + 1; r < REASON_COUNT; r++)
			if (st.edges_ended[r] != 0)
				prom_u64(p, "tether_edges_ended_total", "reason", reason_label(r),
					 NULL, NULL, st.edges_ended[r]);
	}
	prom_family(p, "tether_tls_heap_bytes", "gauge", "The mbedTLS heap: used, peak, size.");
	prom_u64(p, "tether_tls_heap_bytes", "kind", "used", NULL, NULL, st.heap_used);
	prom_u64(p, "tether_tls_heap_bytes", "kind", "peak", NULL, NULL, st.heap_peak);
	prom_u64(p, "tether_tls_heap_bytes", "kind", "size", NULL, NULL, st.heap_size);
	prom_family(p, "tether_metrics_refused_total", "counter",
		    "Scraper connections dropped: slots full, deadline passed, or bad requests.");
	prom_u64(p, "tether_metrics_refused_total", NULL, NULL, NULL, NULL, st.metrics_refused);
}

size_t tether_node_metrics(struct tether_node *n, char *buf, size_t cap)
{
	struct prom p;

	prom_init(&p, buf, cap);
	write_metrics(n, &p);
	return p.t.full ? 0 : p.t.len;
}

/* ---- serving */

/* What a status socket request asks (kept in struct mconn's verdict). */
enum local_req {
	LQ_STATUS = 100,
	LQ_TABLE,
	LQ_METRICS,
	LQ_RELOAD,
	LQ_RELOAD_OK,
	LQ_RELOAD_REFUSED,
	LQ_RENEW,
	LQ_RENEW_OK,
	LQ_RENEW_FAILED,
	LQ_RENEW_NONE,
	LQ_BAD,
};

static int local_parse(const struct mconn *c)
{
	switch (status_parse(c->req, c->have)) {
	case STATUS_REQ_MORE:
		return HTTP_MORE;
	case STATUS_REQ_STATUS:
		return LQ_STATUS;
	case STATUS_REQ_TABLE:
		return LQ_TABLE;
	case STATUS_REQ_METRICS:
		return LQ_METRICS;
	case STATUS_REQ_RELOAD:
		return LQ_RELOAD;
	case STATUS_REQ_RENEW:
		return LQ_RENEW;
	default:
		return LQ_BAD;
	}
}

/* The status socket's answer: a first line ok|refused|error, then the body. */
static size_t local_response(struct tether_node *n, struct mconn *c, size_t *start)
{
	char *out = n->mtext;
	size_t cap = n->mtext_cap, len = 0;
	const char *word = "ok\n";

	*start = 0;
	switch (c->verdict) {
	case LQ_STATUS:
		len = tether_node_status_json(n, out + 3, cap - 3);
		break;
	case LQ_TABLE:
		len = tether_node_status_table(n, out + 3, cap - 3);
		break;
	case LQ_METRICS:
		len = tether_node_metrics(n, out + 3, cap - 3);
		break;
	case LQ_RELOAD_OK:
	case LQ_RELOAD_REFUSED:
		word = c->verdict == LQ_RELOAD_OK ? "ok\n" : "refused\n";
		len = (size_t)snprintf(out, cap, "%s%s\n", word, n->reload_answer);
		return len < cap ? len : cap - 1;
#if TETHER_RENEW
	case LQ_RENEW_OK:
	case LQ_RENEW_FAILED:
		word = c->verdict == LQ_RENEW_OK ? "ok\n" : "failed\n";
		len = (size_t)snprintf(out, cap, "%s%s\n", word, n->rn.answer);
		return len < cap ? len : cap - 1;
#endif
	case LQ_RENEW_NONE:
		len = (size_t)snprintf(out, cap,
				       "refused\nthis node has no \"renew\" in its config%s\n",
				       TETHER_RENEW ? "" : " (built without TETHER_RENEW)");
		return len < cap ? len : cap - 1;
	default:
		len = (size_t)snprintf(out, cap,
				       "error\nunknown request: expected one line, "
				       "status, table, metrics, reload or renew\n");
		return len < cap ? len : cap - 1;
	}
	if (len == 0) {
		len = (size_t)snprintf(out, cap, "error\nthe answer does not fit the buffer\n");
		return len < cap ? len : cap - 1;
	}
	memcpy(out, word, 3);
	return len + 3;
}

void node_reload_answer(struct tether_node *n, bool ok)
{
	unsigned i;

	if (ok)
		n->st.reloads_ok++;
	else
		n->st.reloads_failed++;
	if (n->reload_quiet)
		return;
	memcpy(n->reload_answer, n->reload_text, sizeof(n->reload_answer));
	for (i = 0; n->mconns != NULL && i < TETHER_METRICS_CONNS; i++) {
		struct mconn *c = &n->mconns[i];

		if (c->state != MC_RELOAD)
			continue;
		c->verdict = ok ? LQ_RELOAD_OK : LQ_RELOAD_REFUSED;
		c->state = MC_WAITING;
	}
}

void node_renew_answer(struct tether_node *n, bool ok)
{
	unsigned i;

	for (i = 0; n->mconns != NULL && i < TETHER_METRICS_CONNS; i++) {
		struct mconn *c = &n->mconns[i];

		if (c->state != MC_RENEW)
			continue;
		c->verdict = ok ? LQ_RENEW_OK : LQ_RENEW_FAILED;
		c->state = MC_WAITING;
	}
}

static void mconn_close(struct tether_node *n, struct mconn *c, bool abort)
{
	if (c->state == MC_FREE)
		return;
	port_tcp_close(n->port, c->h, abort ? 1 : 0);
	if (n->mwriter == (int)(c - n->mconns))
		n->mwriter = -1;
	c->state = MC_FREE;
	c->h = -1;
	c->have = 0;
}

static void refuse(struct tether_node *n, struct mconn *c, const char *why)
{
	struct log_line l;

	n->st.metrics_refused++;
	log_begin(&l, &n->log, PORT_LOG_DEBUG, "metrics_refused");
	log_str(&l, "reason", why);
	log_end(&l);
	if (c != NULL)
		mconn_close(n, c, true);
}

static size_t response(struct tether_node *n, struct mconn *c, size_t *start)
{
	enum http_verdict v = (enum http_verdict)c->verdict;
	char head[HEAD_ROOM];
	char *body = n->mtext + HEAD_ROOM;
	size_t cap = n->mtext_cap - HEAD_ROOM, blen;
	const char *status = http_status(v);
	const char *type = "text/plain; charset=utf-8";
	int hlen;

	if (v == HTTP_OK_GET || v == HTTP_OK_HEAD) {
		blen = tether_node_metrics(n, body, cap);
		if (blen == 0) {
			struct log_line l;

			log_begin(&l, &n->log, PORT_LOG_WARN, "metrics_too_big");
			log_u64(&l, "buffer", cap);
			log_end(&l);
			status = "500 Internal Server Error";
			blen = (size_t)snprintf(body, cap, "metrics do not fit the buffer\n");
		} else {
			type = "text/plain; version=0.0.4; charset=utf-8";
		}
	} else {
		blen = (size_t)snprintf(body, cap, "%s\n", status);
	}
	hlen = snprintf(head, sizeof(head),
			"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %lu\r\n"
			"Connection: close\r\n\r\n",
			status, type, (unsigned long)blen);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		hlen = 0;
	*start = HEAD_ROOM - (size_t)hlen;
	memcpy(n->mtext + *start, head, (size_t)hlen);
	/* HEAD: the same headers, no body. */
	return (size_t)hlen + (v == HTTP_OK_HEAD ? 0 : blen);
}

/* What a client may still send after its answer before it is cut off. */
#define DRAIN_MAX (64u * 1024u)

/*
 * MC_CLOSING: discard what the client still sends; close at its EOF. A few
 * reads per event (the poller comes back), and a client that keeps sending
 * is cut off: nobody holds the loop here.
 */
static void drain(struct tether_node *n, struct mconn *c)
{
	int i;

	for (i = 0; i < 4; i++) {
		long r = port_tcp_recv(n->port, c->h, c->req, sizeof(c->req));

		if (r == 0)
			return;
		if (r < 0) {
			mconn_close(n, c, false);
			return;
		}
		c->have += (size_t)r;
		if (c->have > DRAIN_MAX) {
			mconn_close(n, c, true);
			return;
		}
	}
}

static void write_out(struct tether_node *n, struct mconn *c)
{
	while (c->out_off < c->out_end) {
		long r = port_tcp_send(n->port, c->h, n->mtext + c->out_off,
				       c->out_end - c->out_off);

		if (r == 0) {
			port_watch(n->port, c->h, PORT_WRITE, c);
			return;
		}
		if (r < 0) {
			mconn_close(n, c, true);
			return;
		}
		c->out_off += (size_t)r;
	}
	n->st.metrics_requests++;
	/*
	 * Closing with unread request bytes would reset the connection and could
	 * take the response with it: finish ours, read theirs to the end.
	 */
	(void)port_tcp_shutdown(n->port, c->h);
	c->state = MC_CLOSING;
	c->have = 0;
	if (n->mwriter == (int)(c - n->mconns))
		n->mwriter = -1;
	port_watch(n->port, c->h, PORT_READ, c);
	drain(n, c);
}

/* Start the next judged request, if the response buffer is free. */
static void next_response(struct tether_node *n)
{
	unsigned i;

	while (n->mwriter < 0) {
		struct mconn *c = NULL;
		size_t start, len;

		for (i = 0; i < TETHER_METRICS_CONNS; i++)
			if (n->mconns[i].state == MC_WAITING &&
			    (c == NULL || n->mconns[i].seq < c->seq))
				c = &n->mconns[i];
		if (c == NULL)
			return;
		if (c->local) {
			if (c->verdict == LQ_BAD)
				n->st.metrics_refused++;
			len = local_response(n, c, &start);
		} else {
			if (c->verdict != HTTP_OK_GET && c->verdict != HTTP_OK_HEAD)
				n->st.metrics_refused++;
			len = response(n, c, &start);
		}
		c->state = MC_WRITING;
		n->mwriter = (int)(c - n->mconns);
		c->out_off = start;
		c->out_end = start + len;
		write_out(n, c);
	}
}

void metrics_accept(struct tether_node *n, int h, bool local)
{
	struct mconn *c = NULL, *oldest = NULL, *done = NULL;
	unsigned i;

	for (i = 0; i < TETHER_METRICS_CONNS; i++) {
		struct mconn *m = &n->mconns[i];

		if (m->state == MC_FREE && c == NULL)
			c = m;
		if (m->state == MC_READING && (oldest == NULL || m->seq < oldest->seq))
			oldest = m;
		if (m->state == MC_CLOSING && (done == NULL || m->seq < done->seq))
			done = m;
	}
	if (c == NULL && done != NULL) {
		/* A client already answered that lingers gives way first. */
		mconn_close(n, done, false);
		c = done;
	} else if (c == NULL && oldest != NULL) {
		/* Full of clients still talking: the one that has talked longest goes. */
		refuse(n, oldest, "slots full: oldest idle dropped");
		c = oldest;
	}
	if (c == NULL) {
		/* Every slot holds a judged request: this one waits for nobody. */
		port_tcp_close(n->port, h, 1);
		refuse(n, NULL, "slots full");
		return;
	}
	memset(c, 0, sizeof(*c));
	c->kind = OBJ_METRICS;
	c->local = local;
	c->state = MC_READING;
	c->h = h;
	c->seq = ++n->mseq;
	c->deadline = n->now + TETHER_METRICS_DEADLINE_MS;
	port_watch(n->port, h, PORT_READ, c);
}

void metrics_event(struct tether_node *n, struct mconn *c, unsigned events)
{
	if (c->state == MC_CLOSING) {
		drain(n, c);
		next_response(n);
		return;
	}
	if (c->state == MC_WRITING) {
		if (events & (PORT_WRITE | PORT_ERROR))
			write_out(n, c);
		next_response(n);
		return;
	}
	if (c->state != MC_READING)
		return;
	for (;;) {
		long r = port_tcp_recv(n->port, c->h, c->req + c->have, sizeof(c->req) - c->have);
		int v;

		if (r == 0)
			return;
		if (r < 0) {
			/* Gone before a whole request: nothing to answer. */
			mconn_close(n, c, true);
			return;
		}
		c->have += (size_t)r;
		v = c->local ? local_parse(c) : (int)http_parse(c->req, c->have, sizeof(c->req));
		if (v == HTTP_MORE)
			continue;
		c->verdict = v;
		if (v == LQ_RELOAD) {
			/* The loop's owner reloads (tether_node_reload), which answers. */
			c->state = MC_RELOAD;
			port_watch(n->port, c->h, 0, c);
			n->requests |= TETHER_REQ_RELOAD;
			return;
		}
		if (v == LQ_RENEW && renew_ask(n)) {
			/* Answered when the renewal ends (node_renew_answer()), within its own deadline. */
			c->state = MC_RENEW;
			c->deadline = n->now + RENEW_WAIT_MS;
			port_watch(n->port, c->h, 0, c);
			return;
		}
		if (v == LQ_RENEW)
			c->verdict = LQ_RENEW_NONE;
		c->state = MC_WAITING;
		port_watch(n->port, c->h, 0, c);
		next_response(n);
		return;
	}
}

void metrics_timers(struct tether_node *n, uint64_t *next)
{
	unsigned i;

	if (n->mconns == NULL)
		return;
	for (i = 0; i < TETHER_METRICS_CONNS; i++) {
		struct mconn *c = &n->mconns[i];

		if (c->state == MC_FREE)
			continue;
		if (n->now >= c->deadline) {
			if (c->state == MC_CLOSING)
				mconn_close(n, c, false); /* answered; the client just lingers */
			else
				refuse(n, c, "deadline passed");
			continue;
		}
		if (c->deadline < *next)
			*next = c->deadline;
	}
	next_response(n);
}

void metrics_close_all(struct tether_node *n)
{
	unsigned i;

	if (n->mconns == NULL)
		return;
	for (i = 0; i < TETHER_METRICS_CONNS; i++)
		mconn_close(n, &n->mconns[i], true);
}
