/*
 * edge.c: edge routes (edge.h): tls-in and tls-out connections, from accept
 * through the handshake to the byte relay and one teardown.
 */
#include "core/edge.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/psa_util.h>

#include "core/identity.h"
#include "core/node_impl.h"
#include "core/proxy.h"

static void edge_pump(struct edge_conn *c);
static void route_free(struct edge_route *r);

static struct edge_conn *slot_at(struct tether_node *n, uint32_t i)
{
	return (struct edge_conn *)(n->edges.base + (size_t)i * n->edges.slot_size);
}

/* A slot in use and not ended (a free slot is zero past its free-list link). */
static bool live(const struct edge_conn *c)
{
	return c->node != NULL && c->state != EC_CLOSED;
}

static const struct tether_edge_cfg *route_cfg(const struct edge_conn *c)
{
	return &c->node->cfg->edges[c->route];
}

static bool is_in(const struct edge_conn *c)
{
	return route_cfg(c)->mode == TETHER_EDGE_TLS_IN;
}

/* ---------------------------------------------------------------- routes */

static int read_file(struct port *port, unsigned char *scratch, const char *what, const char *path,
		     size_t *len, char *err, size_t err_len)
{
	int ret = port_read_file(port, path, scratch, TETHER_FILE_MAX, len);

	if (ret < 0) {
		snprintf(err, err_len, "%s: %s: %s", what, path,
			 ret == TETHER_ERR_TOO_BIG ? "file too large" : "cannot read file");
		return ret;
	}
	if (*len >= 10 && memcmp(scratch, "-----BEGIN", 10) == 0)
		(*len)++; /* PEM parsers count the NUL */
	return 0;
}

static int mbed_fail(char *err, size_t err_len, const char *what, const char *path, int ret)
{
	char buf[128];

	mbedtls_strerror(ret, buf, sizeof(buf));
	snprintf(err, err_len, "%s: %s: %s", what, path, buf);
	return TETHER_ERR_CONFIG;
}

/* Point the route's configuration at its trust and identity (its own, or the node's). */
static int route_point(struct tether_node *n, struct edge_route *r, const struct tether_edge_cfg *e)
{
	const struct tls_material *m = tls_cur(&n->tls);
	int ret;

	if (r->own_ca)
		mbedtls_ssl_conf_ca_chain(&r->conf, &r->ca, NULL);
	else
		mbedtls_ssl_conf_ca_chain(&r->conf, (mbedtls_x509_crt *)&m->ca,
					  m->has_crl ? (mbedtls_x509_crl *)&m->crl : NULL);
	ret = mbedtls_ssl_conf_own_cert(&r->conf, NULL, NULL);
	if (ret == 0 && r->own_cert)
		ret = mbedtls_ssl_conf_own_cert(&r->conf, &r->cert, &r->key);
	else if (ret == 0)
		ret = mbedtls_ssl_conf_own_cert(&r->conf, (mbedtls_x509_crt *)&m->own,
						(mbedtls_pk_context *)&m->key);
	(void)e;
	mbedtls_ssl_conf_min_tls_version(&r->conf, n->tls.min_version == TETHER_TLS_1_2
							   ? MBEDTLS_SSL_VERSION_TLS1_2
							   : MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_ciphersuites(&r->conf, n->tls.suites);
	return ret;
}

/*
 * The route's own files (ca, cert, key), checked as the node's identity is:
 * the one function `tether check` and `tether run` both use.
 */
static int route_material(struct edge_route *r, const struct tether_config *cfg, unsigned i,
			  struct port *port, unsigned char *scratch, char *err, size_t err_len)
{
	const struct tether_edge_cfg *e = &cfg->edges[i];
	char what[48];
	size_t len = 0;
	int ret;

	mbedtls_ssl_config_init(&r->conf);
	mbedtls_x509_crt_init(&r->ca);
	mbedtls_x509_crt_init(&r->cert);
	mbedtls_pk_init(&r->key);
	r->loaded = true;
	r->own_ca = strcmp(e->ca, cfg->identity.ca) != 0;
	r->own_cert = e->cert[0] != '\0';
	if (r->own_ca) {
		snprintf(what, sizeof(what), "edges[%u].ca", i);
		if ((ret = read_file(port, scratch, what, e->ca, &len, err, err_len)) < 0)
			return ret;
		ret = mbedtls_x509_crt_parse(&r->ca, scratch, len);
		if (ret != 0)
			return mbed_fail(err, err_len, what, e->ca, ret);
	}
	if (r->own_cert) {
		snprintf(what, sizeof(what), "edges[%u].cert", i);
		if ((ret = read_file(port, scratch, what, e->cert, &len, err, err_len)) < 0)
			return ret;
		ret = mbedtls_x509_crt_parse(&r->cert, scratch, len);
		if (ret != 0)
			return mbed_fail(err, err_len, what, e->cert, ret);
		if (!mbedtls_pk_can_do(&r->cert.pk, MBEDTLS_PK_ECKEY)) {
			snprintf(err, err_len, "%s: %s: not an ECDSA P-256 certificate", what,
				 e->cert);
			return TETHER_ERR_CONFIG;
		}
		snprintf(what, sizeof(what), "edges[%u].key", i);
		if (port_file_private(port, e->key) == TETHER_ERR_PERM) {
			snprintf(err, err_len,
				 "%s: %s: accessible by group or others; make it private "
				 "(chmod 600)",
				 what, e->key);
			return TETHER_ERR_PERM;
		}
		if ((ret = read_file(port, scratch, what, e->key, &len, err, err_len)) < 0)
			return ret;
		ret = mbedtls_pk_parse_key(&r->key, scratch, len, NULL, 0, mbedtls_psa_get_random,
					   MBEDTLS_PSA_RANDOM_STATE);
		mbedtls_platform_zeroize(scratch, TETHER_FILE_MAX);
		if (ret != 0)
			return mbed_fail(err, err_len, what, e->key, ret);
		if (mbedtls_pk_check_pair(&r->cert.pk, &r->key, mbedtls_psa_get_random,
					  MBEDTLS_PSA_RANDOM_STATE) != 0) {
			snprintf(err, err_len, "%s: %s: does not match edges[%u].cert", what,
				 e->key, i);
			return TETHER_ERR_CONFIG;
		}
	}
	return 0;
}

int edge_route_check(const struct tether_config *cfg, unsigned i, struct port *port,
		     unsigned char *scratch, char *err, size_t err_len)
{
	struct edge_route r;
	int ret;

	memset(&r, 0, sizeof(r));
	ret = route_material(&r, cfg, i, port, scratch, err, err_len);
	route_free(&r);
	return ret;
}

static int route_load(struct tether_node *n, unsigned i, char *err, size_t err_len)
{
	const struct tether_edge_cfg *e = &n->cfg->edges[i];
	struct edge_route *r = &n->edge_routes[i];
	char what[48];
	int ret;

	ret = route_material(r, n->cfg, i, n->port, n->scratch, err, err_len);
	if (ret < 0)
		return ret;
	ret = mbedtls_ssl_config_defaults(&r->conf,
					  e->mode == TETHER_EDGE_TLS_IN ? MBEDTLS_SSL_IS_SERVER
									: MBEDTLS_SSL_IS_CLIENT,
					  MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret == 0) {
		mbedtls_ssl_conf_authmode(&r->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_rng(&r->conf, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
		mbedtls_ssl_conf_max_tls_version(&r->conf, MBEDTLS_SSL_VERSION_TLS1_3);
		mbedtls_ssl_conf_groups(&r->conf, n->tls.groups);
		mbedtls_ssl_conf_tls13_key_exchange_modes(
			&r->conf, MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL);
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
		/* No resumption: every connection is verified in full. */
		if (e->mode == TETHER_EDGE_TLS_OUT)
			mbedtls_ssl_conf_session_tickets(&r->conf,
							 MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
		ret = route_point(n, r, e);
	}
	if (ret != 0) {
		snprintf(what, sizeof(what), "edges[%u]", i);
		return mbed_fail(err, err_len, what, "tls configuration", ret);
	}
	return 0;
}

static void route_free(struct edge_route *r)
{
	if (!r->loaded)
		return;
	mbedtls_ssl_config_free(&r->conf);
	mbedtls_x509_crt_free(&r->ca);
	mbedtls_x509_crt_free(&r->cert);
	mbedtls_pk_free(&r->key);
	r->loaded = false;
}

int edge_routes_load(struct tether_node *n, char *err, size_t err_len)
{
	unsigned i;
	int ret;

	for (i = 0; i < n->cfg->n_edges; i++) {
		ret = route_load(n, i, err, err_len);
		if (ret < 0) {
			edge_routes_free(n);
			return ret;
		}
	}
	return 0;
}

void edge_routes_free(struct tether_node *n)
{
	unsigned i;

	if (n->edge_routes == NULL)
		return;
	for (i = 0; i < n->cfg->n_edges; i++)
		route_free(&n->edge_routes[i]);
}

int edge_routes_repoint(struct tether_node *n)
{
	unsigned i;
	int ret = 0;

	for (i = 0; i < n->cfg->n_edges && n->edge_routes != NULL; i++)
		if (n->edge_routes[i].loaded && ret == 0)
			ret = route_point(n, &n->edge_routes[i], &n->cfg->edges[i]);
	return ret;
}

/* ---------------------------------------------------------------- verify */

static void subject_cn(const mbedtls_x509_crt *crt, char *out, size_t len)
{
	const mbedtls_x509_name *nm;

	out[0] = '\0';
	for (nm = &crt->subject; nm != NULL; nm = nm->next) {
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &nm->oid) == 0) {
			size_t k, n = nm->val.len < len - 1 ? nm->val.len : len - 1;

			for (k = 0; k < n; k++) {
				unsigned char ch = nm->val.p[k];

				out[k] = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\'
						 ? (char)ch
						 : '?';
			}
			out[n] = '\0';
			return;
		}
	}
}

static int edge_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct edge_conn *c = ctx;
	const struct tether_edge_cfg *e = route_cfg(c);
	unsigned i;

	c->flags |= *flags;
	if (depth != 0)
		return 0;
	identity_describe(crt, c->id, sizeof(c->id));
	subject_cn(crt, c->cn, sizeof(c->cn));
	if (identity_spki_sha256(crt, c->spki) != 0) {
		c->why = "certificate rejected";
		*flags |= MBEDTLS_X509_BADCERT_OTHER;
		return 0;
	}
	if (c->flags != 0)
		return 0; /* mbedTLS refuses it; edge_fail_reason() says why */
	if (e->mode == TETHER_EDGE_TLS_OUT) {
		if (e->has_pin && memcmp(c->spki, e->pin, 32) != 0) {
			c->why = IDENTITY_PIN_MISMATCH;
			*flags |= MBEDTLS_X509_BADCERT_OTHER;
			return 0;
		}
		c->allowed = true;
		return 0;
	}
	for (i = 0; i < e->n_allow && !c->allowed; i++) {
		const struct tether_edge_allow *a = &e->allow[i];

		if (a->is_pin) {
			if (memcmp(c->spki, a->pin, 32) == 0)
				c->allowed = true;
		} else if (identity_match(crt, a->id, NULL, NULL) == 0) {
			/* The identity that matched is the one the target is told. */
			snprintf(c->id, sizeof(c->id), "%s", a->id);
			c->allowed = true;
		}
	}
	if (!c->allowed) {
		c->why = IDENTITY_NOT_ALLOWED;
		*flags |= MBEDTLS_X509_BADCERT_OTHER;
	}
	return 0;
}

static const char *edge_fail_reason(struct edge_conn *c, int ret, enum tether_reason *code)
{
	struct tls_verify v;
	const char *words;

	memset(&v, 0, sizeof(v));
	v.flags = c->flags;
	v.why = c->why;
	if (c->flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
		*code = REASON_SERVER_NAME;
		return "server name mismatch";
	}
	words = tls_fail_reason(ret, &c->ssl, &v, code);
	if (!is_in(c) && *code == REASON_TLS_ALERT)
		return "refused by server (tls alert): no shared suite, group or signature "
		       "algorithm; tether offers ECDSA P-256 certificates only (RSA is not "
		       "compiled in)";
	if (!is_in(c) && *code == REASON_NO_SHARED_SUITE)
		return "no shared cipher suite or group (an RSA-only server cannot be used: "
		       "RSA is not compiled in)";
	return words;
}

/* ---------------------------------------------------------------- life cycle */

static unsigned edge_hs_cap(const struct tether_node *n)
{
	return n->cfg->limits.handshakes;
}

static void log_edge(struct edge_conn *c, int level, const char *event, const char *reason)
{
	struct tether_node *n = c->node;
	const struct tether_edge_cfg *e = route_cfg(c);
	struct log_line l;

	log_begin(&l, &n->log, level, event);
	log_u64(&l, "edge", c->route);
	log_str(&l, "mode", is_in(c) ? "tls-in" : "tls-out");
	log_str(&l, "addr", c->addr);
	if (!is_in(c))
		log_str(&l, "connect", e->connect);
	if (c->id[0] != '\0')
		log_str(&l, "id", c->id);
	if (reason != NULL)
		log_str(&l, "reason", reason);
	if (c->tls_up && reason != NULL) {
		log_u64(&l, "sent", c->bytes_out);
		log_u64(&l, "received", c->bytes_in);
	}
	log_end(&l);
}

void edge_end(struct edge_conn *c, enum tether_reason why, const char *detail)
{
	struct tether_node *n = c->node;
	const char *reason = detail != NULL ? detail : reason_name(why);
	bool clean = why == REASON_DONE;

	if (c->state == EC_CLOSED)
		return;
	if (c->tls_up) {
		n->st.edges_ended[why]++;
		log_edge(c, clean ? PORT_LOG_INFO : PORT_LOG_WARN, "edge_down", reason);
	} else {
		n->st.handshakes_failed++;
		n->st.handshakes_refused[why]++;
		n->st.edge_handshakes_failed++;
		log_edge(c, PORT_LOG_WARN, "edge_refused", reason);
		/* tls-in: the client's handshake; tls-out's is our dial to the target. */
		if (is_in(c))
			backoff_note_fail(n, c->addr, why);
	}
	c->state = EC_CLOSED;
	if (c->hs_counted) {
		n->edge_hs--;
		c->hs_counted = false;
	}
	/* close_notify only on a clean end; otherwise both sides see an error. */
	if (c->ssl_ready && clean && !c->notify_sent)
		(void)mbedtls_ssl_close_notify(&c->ssl);
	if (c->tls_h >= 0)
		port_tcp_close(n->port, c->tls_h, clean ? 0 : 1);
	if (c->plain_h >= 0)
		port_tcp_close(n->port, c->plain_h, clean ? 0 : 1);
	c->tls_h = -1;
	c->plain_h = -1;
	if (c->ssl_ready)
		mbedtls_ssl_free(&c->ssl);
	c->ssl_ready = false;
	n->st.edges_open--;
	c->next_dead = n->dead_edges;
	n->dead_edges = c;
}

void edge_release_dead(struct tether_node *n)
{
	while (n->dead_edges != NULL) {
		struct edge_conn *c = n->dead_edges;

		n->dead_edges = c->next_dead;
		pool_put(&n->edges, c);
	}
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct edge_conn *c = ctx;
	long r = port_tcp_send(c->node->port, c->tls_h, buf, len);

	if (r > 0)
		return (int)r;
	if (r == 0) {
		c->tls_want_write = true;
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	}
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct edge_conn *c = ctx;
	long r = port_tcp_recv(c->node->port, c->tls_h, buf, len);

	if (r > 0)
		return (int)r;
	if (r == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (r == TETHER_ERR_CLOSED)
		return 0;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

static void edge_watch(struct edge_conn *c)
{
	struct port *p = c->node->port;
	unsigned tev = 0, pev = 0;

	switch (c->state) {
	case EC_WAITING:
		/* Silent: wait for its first bytes; spoke: unwatched until a slot frees. */
		if (!c->spoke)
			tev = PORT_READ;
		break;
	case EC_CLOSED:
		break;
	case EC_DIALING:
		tev = PORT_WRITE;
		break;
	case EC_HANDSHAKE:
		tev = PORT_READ | (c->tls_want_write ? PORT_WRITE : 0);
		break;
	case EC_TARGET:
		pev = PORT_WRITE;
		break;
	case EC_RELAY:
		if (!c->tls_eof && c->t2p_len == 0)
			tev |= PORT_READ;
		if (c->tls_want_write)
			tev |= PORT_WRITE;
		if (!c->plain_eof && c->p2t_len == 0)
			pev |= PORT_READ;
		if (c->t2p_len > 0)
			pev |= PORT_WRITE;
		break;
	}
	if (c->tls_h >= 0)
		(void)port_watch(p, c->tls_h, tev, c);
	if (c->plain_h >= 0)
		(void)port_watch(p, c->plain_h, pev, c);
}

static void start_handshake(struct edge_conn *c)
{
	struct tether_node *n = c->node;
	struct edge_route *r = &n->edge_routes[c->route];
	int ret;

	c->hs_counted = true;
	/*
	 * The heap figures are the process's: they are this connection's only
	 * when no other handshake runs beside it (edge_up says them only then).
	 */
	c->hs_mark = ++n->edge_hs_started;
	c->solo = n->edge_hs == 0 && n->handshakes == 0;
	n->edge_hs++;
	if (c->solo)
		tls_heap_peak_reset();
	c->heap_before = tls_heap_in_use();
	mbedtls_ssl_init(&c->ssl);
	c->ssl_ready = true;
	ret = mbedtls_ssl_setup(&c->ssl, &r->conf);
	if (ret == 0)
		tls_note_setup(&c->ssl);
	if (ret == 0 && !is_in(c))
		ret = mbedtls_ssl_set_hostname(&c->ssl, route_cfg(c)->server_name);
	if (ret != 0) {
		edge_end(c, REASON_TLS_MEMORY, NULL);
		return;
	}
	mbedtls_ssl_set_verify(&c->ssl, edge_verify_cb, c);
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	if (is_in(c)) {
		c->state = EC_HANDSHAKE;
		edge_event(c, PORT_READ | PORT_WRITE);
		return;
	}
	c->state = EC_DIALING;
	ret = port_tcp_connect(n->port, route_cfg(c)->connect, &c->tls_h);
	if (ret < 0) {
		c->tls_h = -1;
		edge_end(c, REASON_TARGET_UNREACHABLE, tether_err_str(ret));
		return;
	}
	edge_watch(c);
}

/*
 * Waiting connections that spoke start as handshake slots free: those of
 * sources not in back-off first (backoff.c), then the oldest. When every slot
 * is taken and one not in back-off waits, a tls-in handshake of a source in
 * back-off gives its slot up.
 */
void edge_more(struct tether_node *n)
{
	for (;;) {
		struct edge_conn *best = NULL, *bo_hs = NULL;
		bool best_bo = false;
		uint32_t i;

		for (i = 0; i < n->edges.count; i++) {
			struct edge_conn *c = slot_at(n, i);
			bool bo;

			if (!live(c))
				continue;
			bo = is_in(c) && backoff_now(n, c->addr);
			if (c->state == EC_HANDSHAKE && c->hs_counted && bo &&
			    (bo_hs == NULL || c->seq < bo_hs->seq))
				bo_hs = c;
			if (c->state != EC_WAITING || !c->spoke)
				continue;
			if (best == NULL || (!bo && best_bo) ||
			    (bo == best_bo && c->seq < best->seq)) {
				best = c;
				best_bo = bo;
			}
		}
		if (best == NULL)
			return;
		if (n->edge_hs >= edge_hs_cap(n)) {
			if (best_bo || bo_hs == NULL)
				return;
			/* Evicted, not failed: its back-off does not grow for what we did. */
			edge_end(bo_hs, REASON_EVICTED,
				 "its address is in back-off: its slot went to another address");
			if (n->edge_hs >= edge_hs_cap(n))
				return;
		}
		start_handshake(best);
	}
}

/* Handshakes one source address holds now. */
static unsigned source_handshakes(struct tether_node *n, const char *addr)
{
	unsigned k = 0;
	uint32_t i;

	for (i = 0; i < n->edges.count; i++) {
		struct edge_conn *c = slot_at(n, i);

		if (live(c) && !c->tls_up && admit_same_source(c->addr, addr))
			k++;
	}
	return k;
}

/*
 * The pool is full: a connection not yet through its handshake gives way, and
 * its slot is the newcomer's at once (an event for the old connection later
 * in this step finds a connection of the same kind, whose steps never block:
 * harmless). Silent ones (no ClientHello yet) go first; among those alike, the
 * newcomer's own address's when it holds half of the pool or more (churning
 * connections evict their own), else the oldest. Before all that, a tls-in
 * connection of a source in back-off (backoff.c) goes first. A newcomer is
 * never refused while one such connection exists.
 */
static struct edge_conn *evict_one(struct tether_node *n, const char *from)
{
	struct edge_conn *victim = NULL;
	bool own_busy = source_handshakes(n, from) * 2 >= n->cfg->limits.edge_connections;
	uint32_t i;

	for (i = 0; i < n->edges.count; i++) {
		struct edge_conn *c = slot_at(n, i);
		bool mine, vmine;

		bool bo, vbo;

		if (!live(c) || c->tls_up)
			continue;
		if (victim == NULL) {
			victim = c;
			continue;
		}
		bo = is_in(c) && backoff_now(n, c->addr);
		vbo = is_in(victim) && backoff_now(n, victim->addr);
		if (bo != vbo) {
			if (bo)
				victim = c;
			continue;
		}
		if (c->spoke != victim->spoke) {
			if (!c->spoke)
				victim = c;
			continue;
		}
		mine = own_busy && admit_same_source(c->addr, from);
		vmine = own_busy && admit_same_source(victim->addr, from);
		if (mine != vmine) {
			if (mine)
				victim = c;
			continue;
		}
		if (c->seq < victim->seq)
			victim = c;
	}
	if (victim == NULL)
		return NULL;
	edge_end(victim, REASON_EVICTED, NULL);
	n->dead_edges = victim->next_dead; /* edge_end just put it first */
	mbedtls_platform_zeroize(victim, n->edges.slot_size);
	return victim;
}

void edge_accept(struct tether_node *n, unsigned route, int h, const char *from)
{
	const struct tether_edge_cfg *e = &n->cfg->edges[route];
	struct edge_conn *c = pool_get(&n->edges);

	if (c == NULL)
		c = evict_one(n, from);
	if (c == NULL) {
		node_pool_exhausted(n, "edges", NULL, from);
		n->st.edge_handshakes_failed++;
		port_tcp_close(n->port, h, 1);
		return;
	}
	c->kind = OBJ_EDGE;
	c->node = n;
	c->route = route;
	c->seq = ++n->edge_seq;
	c->t_start = n->now;
	c->tls_h = -1;
	c->plain_h = -1;
	snprintf(c->addr, sizeof(c->addr), "%s", from);
	if (++n->st.edges_open > n->st.edges_high)
		n->st.edges_high = n->st.edges_open;
	if (e->mode == TETHER_EDGE_TLS_IN)
		c->tls_h = h;
	else
		c->plain_h = h;
	c->state = EC_WAITING;
	/*
	 * A tls-in client costs no TLS state until its ClientHello is there
	 * (watched for its first bytes); a tls-out one starts at once (many
	 * protocols wait for the server to speak first).
	 */
	c->spoke = e->mode == TETHER_EDGE_TLS_OUT;
	if (c->spoke && n->edge_hs < edge_hs_cap(n))
		start_handshake(c);
	else
		edge_watch(c);
}

/* tls-in: the client is allowed; the target is dialed now. */
static void connect_target(struct edge_conn *c)
{
	struct tether_node *n = c->node;
	int ret = port_tcp_connect(n->port, route_cfg(c)->target, &c->plain_h);

	if (ret < 0) {
		c->plain_h = -1;
		edge_end(c, REASON_TARGET_UNREACHABLE, tether_err_str(ret));
		return;
	}
	c->state = EC_TARGET;
	edge_watch(c);
}

static void proxy_header(struct edge_conn *c)
{
	struct tether_node *n = c->node;
	char local[TETHER_ADDR_MAX];
	struct proxy_info pi;
	const char *ver = tls_version_name(&c->ssl);

	memset(&pi, 0, sizeof(pi));
	if (port_local_addr(n->port, c->tls_h, local, sizeof(local)) != 0)
		local[0] = '\0';
	pi.src = c->addr;
	pi.dst = local;
	pi.tls_version = strcmp(ver, "1.3") == 0 ? "TLSv1.3" : "TLSv1.2";
	pi.cn = c->cn[0] != '\0' ? c->cn : NULL;
	pi.cipher = mbedtls_ssl_get_ciphersuite(&c->ssl);
	pi.id = c->id;
	pi.spki = c->spki;
	c->t2p_len = proxy_v2_write(&pi, c->t2p, sizeof(c->t2p));
	c->t2p_off = 0;
}

static void edge_up(struct edge_conn *c)
{
	struct tether_node *n = c->node;
	struct log_line l;
	size_t now = tls_heap_in_use();
	bool solo = c->solo && n->edge_hs_started == c->hs_mark && n->handshakes == 0 &&
		    now >= c->heap_before;

	n->st.edge_handshakes_ok++;
	n->st.handshakes_ok++;
	if (is_in(c))
		backoff_note_ok(n, c->addr);
	if (solo) {
		n->st.edge_heap_last = now - c->heap_before;
		n->st.edge_handshake_peak_last = c->heap_peak;
	}
	log_begin(&l, &n->log, PORT_LOG_INFO, "edge_up");
	log_u64(&l, "edge", c->route);
	log_str(&l, "mode", is_in(c) ? "tls-in" : "tls-out");
	log_str(&l, "addr", c->addr);
	if (!is_in(c))
		log_str(&l, "connect", route_cfg(c)->connect);
	log_str(&l, "id", c->id);
	log_str(&l, "tls", tls_version_name(&c->ssl));
	log_str(&l, "suite", mbedtls_ssl_get_ciphersuite(&c->ssl));
	log_u64(&l, "handshake_ms", n->now - c->t_start);
	if (solo) {
		log_u64(&l, "mem", now - c->heap_before);
		log_u64(&l, "handshake_peak", c->heap_peak);
	}
	log_end(&l);
}

static void handshake_step(struct edge_conn *c)
{
	struct tether_node *n = c->node;
	size_t peak;
	int ret;

	c->tls_want_write = false;
	ret = mbedtls_ssl_handshake(&c->ssl);
	peak = c->solo ? tls_heap_peak() : 0;
	if (peak > c->heap_before && peak - c->heap_before > c->heap_peak)
		c->heap_peak = peak - c->heap_before;
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
		if (ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			c->tls_want_write = true;
		edge_watch(c);
		return;
	}
	if (ret != 0) {
		enum tether_reason why = REASON_TLS_ERROR;
		const char *text = edge_fail_reason(c, ret, &why);

		edge_end(c, why, text);
		return;
	}
	if (!c->allowed) {
		/* mbedTLS accepted a chain our callback never saw: refuse all the same. */
		edge_end(c, REASON_CERT_REJECTED, NULL);
		return;
	}
	/* TLS 1.2 gave the input buffer back down to the output size: 16 KB records again. */
	if (tls_resize_input(&c->ssl, MBEDTLS_SSL_IN_CONTENT_LEN) != 0) {
		edge_end(c, REASON_TLS_MEMORY, NULL);
		return;
	}
	c->tls_up = true;
	c->hs_counted = false;
	n->edge_hs--;
	edge_up(c);
	edge_more(n);
	if (is_in(c)) {
		connect_target(c);
		return;
	}
	c->state = EC_RELAY;
	edge_pump(c);
}

int edge_service_proxy(struct session *s, int h)
{
	struct tether_node *n = s->node;
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->ssl);
	char local[TETHER_ADDR_MAX], cn[TETHER_NAME_MAX];
	uint8_t spki[32], hdr[TETHER_ID_MAX + 2 * TETHER_NAME_MAX + 160];
	struct proxy_info pi;
	size_t len;
	long r;

	memset(&pi, 0, sizeof(pi));
	if (port_local_addr(n->port, s->h, local, sizeof(local)) != 0)
		local[0] = '\0';
	pi.src = s->addr;
	pi.dst = local;
	pi.tls_version = strcmp(tls_version_name(&s->ssl), "1.3") == 0 ? "TLSv1.3" : "TLSv1.2";
	pi.cipher = mbedtls_ssl_get_ciphersuite(&s->ssl);
	pi.id = s->verify.id;
	pi.peer = session_peer_name(s);
	if (peer != NULL) {
		subject_cn(peer, cn, sizeof(cn));
		pi.cn = cn[0] != '\0' ? cn : NULL;
		if (identity_spki_sha256(peer, spki) == 0)
			pi.spki = spki;
	}
	len = proxy_v2_write(&pi, hdr, sizeof(hdr));
	if (len == 0)
		return TETHER_ERR_TOO_BIG;
	r = port_tcp_send(n->port, h, hdr, len);
	return r == (long)len ? 0 : r < 0 ? (int)r : TETHER_ERR_IO;
}

/* ---------------------------------------------------------------- relay */

static void tls_error(struct edge_conn *c, int r)
{
	const char *words = tls_record_error(r);
	char buf[96], reason[144];

	if (r == MBEDTLS_ERR_SSL_CONN_EOF || r == 0) {
		edge_end(c, REASON_TLS_ERROR, "connection closed without close_notify");
		return;
	}
	if (r == MBEDTLS_ERR_NET_RECV_FAILED || r == MBEDTLS_ERR_NET_SEND_FAILED) {
		edge_end(c, REASON_IO, "tls side reset");
		return;
	}
	if (words != NULL) {
		edge_end(c, REASON_TLS_ERROR, words);
		return;
	}
	mbedtls_strerror(r, buf, sizeof(buf));
	snprintf(reason, sizeof(reason), "tls error: %s (-0x%04x)", buf, (unsigned)-r);
	edge_end(c, REASON_TLS_ERROR, reason);
}

/* Move what can move, both ways; returns when nothing more can without waiting. */
static void edge_pump(struct edge_conn *c)
{
	struct tether_node *n = c->node;
	bool moved = true;
	long r;

	while (moved && c->state == EC_RELAY) {
		moved = false;
		/* TLS -> plaintext. */
		if (c->t2p_len > 0) {
			r = port_tcp_send(n->port, c->plain_h, c->t2p + c->t2p_off, c->t2p_len);
			if (r < 0) {
				edge_end(c, REASON_LOCAL_FAILED, tether_err_str((int)r));
				return;
			}
			if (r > 0) {
				c->t2p_off += (size_t)r;
				c->t2p_len -= (size_t)r;
				moved = true;
			}
		} else if (!c->tls_eof) {
			int k = mbedtls_ssl_read(&c->ssl, c->t2p, sizeof(c->t2p));

			if (k > 0) {
				c->t2p_off = 0;
				c->t2p_len = (size_t)k;
				c->bytes_in += (uint64_t)k;
				n->st.edge_bytes_in += (uint64_t)k;
				moved = true;
			} else if (k == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
				c->tls_eof = true;
				moved = true;
			} else if (k == MBEDTLS_ERR_SSL_WANT_WRITE) {
				c->tls_want_write = true;
			} else if (k == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
				moved = true;
			} else if (k != MBEDTLS_ERR_SSL_WANT_READ) {
				tls_error(c, k);
				return;
			}
		} else if (!c->plain_shut) {
			/* The other side finished in order: half-close the plaintext side. */
			(void)port_tcp_shutdown(n->port, c->plain_h);
			c->plain_shut = true;
			moved = true;
		}
		/* plaintext -> TLS. */
		if (c->p2t_len > 0 || c->out_pending) {
			int k = mbedtls_ssl_write(&c->ssl, c->p2t, c->p2t_len);

			if (k > 0) {
				/* Partial writes: mbedTLS takes at most one record's worth. */
				memmove(c->p2t, c->p2t + k, c->p2t_len - (size_t)k);
				c->p2t_len -= (size_t)k;
				c->bytes_out += (uint64_t)k;
				n->st.edge_bytes_out += (uint64_t)k;
				c->out_pending = false;
				c->tls_want_write = false;
				moved = true;
			} else if (k == MBEDTLS_ERR_SSL_WANT_WRITE ||
				   k == MBEDTLS_ERR_SSL_WANT_READ) {
				c->out_pending = true;
				c->tls_want_write = true;
			} else {
				tls_error(c, k);
				return;
			}
		} else if (!c->plain_eof) {
			r = port_tcp_recv(n->port, c->plain_h, c->p2t, sizeof(c->p2t));
			if (r > 0) {
				c->p2t_len = (size_t)r;
				moved = true;
			} else if (r == TETHER_ERR_CLOSED) {
				c->plain_eof = true;
				moved = true;
			} else if (r < 0) {
				edge_end(c, REASON_LOCAL_FAILED, tether_err_str((int)r));
				return;
			}
		} else if (!c->notify_sent) {
			/* The plaintext side finished: close_notify ends our direction. */
			int k = mbedtls_ssl_close_notify(&c->ssl);

			if (k == 0) {
				c->notify_sent = true;
				moved = true;
			} else if (k == MBEDTLS_ERR_SSL_WANT_WRITE) {
				c->tls_want_write = true;
			} else {
				tls_error(c, k);
				return;
			}
		}
		if (c->tls_eof && c->plain_shut && c->notify_sent) {
			edge_end(c, REASON_DONE, NULL);
			return;
		}
	}
	if (c->state == EC_RELAY)
		edge_watch(c);
}

void edge_event(struct edge_conn *c, unsigned events)
{
	int ret;

	switch (c->state) {
	case EC_CLOSED:
		return;
	case EC_WAITING:
		if (c->spoke || !(events & (PORT_READ | PORT_ERROR)))
			return;
		c->spoke = true;
		if (c->node->edge_hs < edge_hs_cap(c->node)) {
			start_handshake(c);
		} else {
			edge_watch(c);
			/* A source in back-off holding a slot gives it up to this one. */
			if (!backoff_now(c->node, c->addr))
				edge_more(c->node);
		}
		return;
	case EC_DIALING:
		ret = port_tcp_connect_result(c->node->port, c->tls_h);
		if (ret < 0) {
			edge_end(c, REASON_TARGET_UNREACHABLE, tether_err_str(ret));
			return;
		}
		c->state = EC_HANDSHAKE;
		handshake_step(c);
		return;
	case EC_HANDSHAKE:
		handshake_step(c);
		return;
	case EC_TARGET:
		ret = port_tcp_connect_result(c->node->port, c->plain_h);
		if (ret < 0) {
			edge_end(c, REASON_TARGET_UNREACHABLE, tether_err_str(ret));
			return;
		}
		c->state = EC_RELAY;
		if (route_cfg(c)->proxy_v2)
			proxy_header(c);
		edge_pump(c);
		return;
	case EC_RELAY:
		(void)events;
		c->tls_want_write = false;
		edge_pump(c);
		return;
	}
}

void edge_timers(struct tether_node *n, uint64_t *next)
{
	uint64_t limit = n->cfg->tls.handshake_timeout_ms;
	uint32_t i;

	for (i = 0; i < n->edges.count; i++) {
		struct edge_conn *c = slot_at(n, i);
		uint64_t due;

		if (!live(c) || c->state == EC_RELAY)
			continue;
		/* From accept to carrying bytes: waiting, dialing, handshake, target. */
		due = c->t_start + limit;
		if (c->state == EC_WAITING && !c->spoke) {
			if (c->t_start + TETHER_FIRST_BYTE_MS < due)
				due = c->t_start + TETHER_FIRST_BYTE_MS;
			if (n->now >= due) {
				edge_end(c, REASON_HANDSHAKE_TIMEOUT, "silent: no ClientHello");
				continue;
			}
		}
		if (n->now >= due) {
			edge_end(c,
				 c->tls_up ? REASON_TARGET_UNREACHABLE : REASON_HANDSHAKE_TIMEOUT,
				 c->tls_up ? "target connect timeout" : NULL);
			continue;
		}
		if (due < *next)
			*next = due;
	}
	edge_more(n);
}

void edge_end_handshakes(struct tether_node *n, enum tether_reason why)
{
	uint32_t i;

	for (i = 0; i < n->edges.count; i++) {
		struct edge_conn *c = slot_at(n, i);

		if (live(c) && !c->tls_up && c->ssl_ready)
			edge_end(c, why, NULL);
	}
}

unsigned edge_rejudge(struct tether_node *n)
{
	const struct tls_material *m = tls_cur(&n->tls);
	unsigned ended = 0;
	uint32_t i;

	for (i = 0; i < n->edges.count; i++) {
		struct edge_conn *c = slot_at(n, i);
		const struct edge_route *r;
		const mbedtls_x509_crt *crt;
		enum tether_reason why;

		if (!live(c) || !c->tls_up)
			continue;
		r = &n->edge_routes[c->route];
		crt = mbedtls_ssl_get_peer_cert(&c->ssl);
		if (crt == NULL) {
			why = REASON_NO_LONGER_ALLOWED;
		} else if (r->own_ca) {
			why = tls_rejudge(crt, &r->ca, NULL);
		} else {
			why = tls_rejudge(crt, &m->ca, m->has_crl ? &m->crl : NULL);
		}
		if (why == REASON_NONE)
			continue;
		edge_end(c, why, NULL);
		ended++;
	}
	edge_release_dead(n);
	return ended;
}

void edge_close_all(struct tether_node *n, enum tether_reason why)
{
	uint32_t i;

	for (i = 0; i < n->edges.count; i++) {
		struct edge_conn *c = slot_at(n, i);

		if (live(c))
			edge_end(c, why, NULL);
	}
	edge_release_dead(n);
}
