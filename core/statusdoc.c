/*
 * statusdoc.c: the node's status as one JSON document and as a table a
 * person reads at a glance (`tether status`), from the counters the log uses.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "core/node_impl.h"
#include "core/textbuf.h"
#include "core/x509_time.h"
#include "tether_version.h"

static int64_t own_cert_left(const struct tether_node *n, int64_t wall, char *subject, size_t len)
{
	const mbedtls_x509_crt *own = &tls_cur(&n->tls)->own;
	int64_t t = 0;

	subject[0] = '\0';
	if (own->raw.len == 0 || x509_time_to_unix(&own->valid_to, &t) != 0)
		return 0;
	if (mbedtls_x509_dn_gets(subject, len, &own->subject) < 0)
		subject[0] = '\0';
	return t - wall;
}

static void pool_json(struct textbuf *t, const char *name, uint64_t used, uint64_t cap,
		      uint64_t high, bool last)
{
	tb_printf(t, "\"%s\":{\"used\":", name);
	tb_u64(t, used);
	tb_puts(t, ",\"capacity\":");
	tb_u64(t, cap);
	tb_puts(t, ",\"high_water\":");
	tb_u64(t, high);
	tb_puts(t, last ? "}" : "},");
}

size_t tether_node_status_json(struct tether_node *n, char *buf, size_t cap)
{
	const struct tether_config *cfg = n->cfg;
	int64_t wall = port_wall_s(n->port);
	struct tether_stats st;
	struct textbuf t;
	char subject[200];
	int64_t left;
	unsigned i;
	int r;
	bool first;

	tether_node_stats(n, &st);
	tb_init(&t, buf, cap);
	tb_puts(&t, "{\"node\":");
	tb_json_str(&t, cfg->node);
	tb_puts(&t, ",\"version\":");
	tb_json_str(&t, TETHER_VERSION);
	tb_puts(&t, ",\"uptime_s\":");
	tb_u64(&t, (n->now - n->t_started) / 1000u);
	left = own_cert_left(n, wall, subject, sizeof(subject));
	tb_puts(&t, ",\"certificate\":{\"subject\":");
	tb_json_str(&t, subject);
	tb_puts(&t, ",\"expires_in_s\":");
	tb_i64(&t, left);
	tb_puts(&t, "},\"sessions\":");
	tb_u64(&t, st.sessions_up);
	tb_puts(&t, ",\"streams\":");
	tb_u64(&t, st.streams_open);
	tb_puts(&t, ",\"peers\":[");
	for (i = 0; i < cfg->n_peers; i++) {
		struct peer_view v;

		peer_view(n, i, wall, &v);
		tb_puts(&t, i == 0 ? "{\"name\":" : ",{\"name\":");
		tb_json_str(&t, v.name);
		tb_puts(&t, v.up ? ",\"connected\":true" : ",\"connected\":false");
		tb_puts(&t, ",\"since_s\":");
		tb_u64(&t, v.since_ms / 1000u);
		if (v.up) {
			tb_puts(&t, ",\"dir\":");
			tb_json_str(&t, v.s->dialed ? "out" : "in");
			tb_puts(&t, ",\"addr\":");
			tb_json_str(&t, v.s->addr);
			tb_puts(&t, ",\"tls\":");
			tb_json_str(&t, tls_version_name(&v.s->ssl));
			tb_puts(&t, ",\"suite\":");
			tb_json_str(&t, mbedtls_ssl_get_ciphersuite(&v.s->ssl));
			tb_puts(&t, ",\"cert_expires_in_s\":");
			tb_i64(&t, v.cert_left_s);
		}
		tb_puts(&t, ",\"bytes_sent\":");
		tb_u64(&t, v.sent);
		tb_puts(&t, ",\"bytes_received\":");
		tb_u64(&t, v.received);
		tb_puts(&t, ",\"streams\":");
		tb_u64(&t, v.streams);
		tb_puts(&t, ",\"last_error\":");
		tb_json_str(&t, n->peers[i].last_error);
		if (v.next_dial_ms >= 0) {
			tb_puts(&t, ",\"next_dial_in_ms\":");
			tb_i64(&t, v.next_dial_ms);
		}
		tb_puts(&t, "}");
	}
	tb_puts(&t, "],\"pools\":{");
	pool_json(&t, "sessions", n->sessions.used, st.sessions_cap, st.sessions_high, false);
	pool_json(&t, "streams", n->streams.used, st.streams_cap, st.streams_high, false);
	pool_json(&t, "handshakes", n->handshakes, cfg->limits.handshakes, st.handshakes_high,
		  cfg->n_edges == 0);
	if (cfg->n_edges > 0)
		pool_json(&t, "edges", st.edges_open, st.edges_cap, st.edges_high, true);
	tb_puts(&t, "},\"handshakes\":{\"ok\":");
	tb_u64(&t, st.handshakes_ok);
	tb_puts(&t, ",\"failed\":");
	tb_u64(&t, st.handshakes_failed);
	tb_puts(&t, "},\"handshake_failures\":{");
	first = true;
	for (r = 1; r < REASON_COUNT; r++) {
		if (st.handshakes_refused[r] == 0)
			continue;
		tb_puts(&t, first ? "" : ",");
		tb_json_str(&t, reason_label((enum tether_reason)r));
		tb_puts(&t, ":");
		tb_u64(&t, st.handshakes_refused[r]);
		first = false;
	}
	tb_puts(&t, "},\"reloads\":{\"ok\":");
	tb_u64(&t, st.reloads_ok);
	tb_puts(&t, ",\"failed\":");
	tb_u64(&t, st.reloads_failed);
	tb_puts(&t, "}");
	renew_status_json(n, &t, port_wall_s(n->port));
	tb_puts(&t, "}\n");
	return t.full ? 0 : t.len;
}

static void duration(struct textbuf *t, uint64_t ms)
{
	uint64_t s = ms / 1000u;

	if (s < 60)
		tb_printf(t, "%lus", (unsigned long)s);
	else if (s < 3600)
		tb_printf(t, "%lum%02lus", (unsigned long)(s / 60), (unsigned long)(s % 60));
	else if (s < 86400)
		tb_printf(t, "%luh%02lum", (unsigned long)(s / 3600), (unsigned long)(s / 60 % 60));
	else
		tb_printf(t, "%lud%02luh", (unsigned long)(s / 86400),
			  (unsigned long)(s / 3600 % 24));
}

static void bytes(char *out, size_t len, uint64_t b)
{
	if (b < 1024u)
		snprintf(out, len, "%lu B", (unsigned long)b);
	else if (b < 1024u * 1024u)
		snprintf(out, len, "%lu.%lu KiB", (unsigned long)(b / 1024u),
			 (unsigned long)(b % 1024u * 10u / 1024u));
	else if (b < (uint64_t)1024u * 1024u * 1024u)
		snprintf(out, len, "%lu.%lu MiB", (unsigned long)(b >> 20),
			 (unsigned long)((b & 0xfffffu) * 10u >> 20));
	else
		snprintf(out, len, "%lu.%lu GiB", (unsigned long)(b >> 30),
			 (unsigned long)((b & 0x3fffffffu) * 10u >> 30));
}

size_t tether_node_status_table(struct tether_node *n, char *buf, size_t cap)
{
	const struct tether_config *cfg = n->cfg;
	int64_t wall = port_wall_s(n->port);
	struct tether_stats st;
	struct textbuf t;
	char subject[200], sent[24], recv[24];
	int64_t left;
	unsigned i;
	int r;
	bool any = false;

	tether_node_stats(n, &st);
	tb_init(&t, buf, cap);
	left = own_cert_left(n, wall, subject, sizeof(subject));
	tb_printf(&t, "node %s  up ", cfg->node);
	duration(&t, n->now - n->t_started);
	tb_printf(&t, "  certificate %ld days left (%s)\n\n", (long)(left / 86400), subject);
	tb_printf(&t, "%-20s %-10s %-8s %-4s %-34s %-10s %-10s %-7s %-9s %s\n", "PEER", "STATE",
		  "SINCE", "TLS", "SUITE", "SENT", "RECEIVED", "STREAMS", "CERT DAYS",
		  "LAST ERROR / NEXT DIAL");
	for (i = 0; i < cfg->n_peers; i++) {
		struct peer_view v;
		char since[24];
		struct textbuf d;

		peer_view(n, i, wall, &v);
		tb_init(&d, since, sizeof(since));
		duration(&d, v.since_ms);
		bytes(sent, sizeof(sent), v.sent);
		bytes(recv, sizeof(recv), v.received);
		tb_printf(&t, "%-20s %-10s %-8s %-4s %-34s %-10s %-10s %-7lu ", v.name,
			  v.up ? "connected" : "down", since,
			  v.up ? tls_version_name(&v.s->ssl) : "-",
			  v.up ? mbedtls_ssl_get_ciphersuite(&v.s->ssl) : "-", sent, recv,
			  (unsigned long)v.streams);
		if (v.up)
			tb_printf(&t, "%-9ld\n", (long)(v.cert_left_s / 86400));
		else {
			tb_printf(&t, "%-9s %s", "-",
				  n->peers[i].last_error[0] != '\0' ? n->peers[i].last_error
								    : "never connected");
			if (v.next_dial_ms >= 0) {
				tb_puts(&t, "; next dial in ");
				duration(&t, (uint64_t)v.next_dial_ms);
			} else if (cfg->peers[i].connect[0] == '\0') {
				tb_puts(&t, "; waits to be dialed");
			}
			tb_puts(&t, "\n");
		}
	}
	tb_printf(&t,
		  "\npools       sessions %lu/%lu (high %lu)  streams %lu/%lu (high %lu)  "
		  "handshakes %u/%u (high %lu)\n",
		  (unsigned long)n->sessions.used, (unsigned long)st.sessions_cap,
		  (unsigned long)st.sessions_high, (unsigned long)n->streams.used,
		  (unsigned long)st.streams_cap, (unsigned long)st.streams_high, n->handshakes,
		  2u * (unsigned)cfg->limits.handshakes, (unsigned long)st.handshakes_high);
	if (cfg->n_edges > 0)
		tb_printf(&t, "edges       %lu/%lu (high %lu), handshakes ok %lu, failed %lu\n",
			  (unsigned long)st.edges_open, (unsigned long)st.edges_cap,
			  (unsigned long)st.edges_high, (unsigned long)st.edge_handshakes_ok,
			  (unsigned long)st.edge_handshakes_failed);
	tb_puts(&t, "handshakes  ok ");
	tb_u64(&t, st.handshakes_ok);
	tb_puts(&t, ", failed ");
	tb_u64(&t, st.handshakes_failed);
	for (r = 1; r < REASON_COUNT; r++) {
		if (st.handshakes_refused[r] == 0)
			continue;
		tb_puts(&t, any ? ", " : " (");
		tb_puts(&t, reason_label((enum tether_reason)r));
		tb_puts(&t, " ");
		tb_u64(&t, st.handshakes_refused[r]);
		any = true;
	}
	tb_puts(&t, any ? ")\nreloads     ok " : "\nreloads     ok ");
	tb_u64(&t, st.reloads_ok);
	tb_puts(&t, ", failed ");
	tb_u64(&t, st.reloads_failed);
	tb_puts(&t, "\n");
	renew_status_table(n, &t, port_wall_s(n->port));
	return t.full ? 0 : t.len;
}
