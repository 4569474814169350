/*
 * expiry.c: watch what expires (the node's certificate, its CA certificates,
 * the certificates of the peers with a session, the CRLs' next update) and say
 * so in time: `cert_expiring` (warn) within identity.warn_days, `cert_expired`
 * (error) once past. A sweep runs at start, after every reload and daily; a
 * peer's certificate is also judged when its session comes up.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "core/node_impl.h"
#include "core/x509_time.h"

#define DAY_S 86400
#define SWEEP_EVERY_MS (DAY_S * 1000ull)

/* Judge one expiry time t (Unix seconds); which/subject/peer say what it is. */
static void judge(struct tether_node *n, const char *which, const mbedtls_x509_name *subject,
		  const char *peer, int64_t t, int64_t now)
{
	int64_t left = t - now;
	struct log_line l;
	char dn[200];

	if (left >= (int64_t)n->cfg->identity.warn_days * DAY_S)
		return;
	if (mbedtls_x509_dn_gets(dn, sizeof(dn), subject) < 0)
		snprintf(dn, sizeof(dn), "?");
	log_begin(&l, &n->log, left < 0 ? PORT_LOG_ERROR : PORT_LOG_WARN,
		  left < 0 ? "cert_expired" : "cert_expiring");
	log_str(&l, "which", which);
	if (peer != NULL)
		log_str(&l, "peer", peer);
	log_str(&l, strcmp(which, "crl") == 0 ? "issuer" : "subject", dn);
	if (left < 0)
		log_i64(&l, "days_ago", -left / DAY_S);
	else
		log_i64(&l, "days_left", left / DAY_S);
	log_end(&l);
}

static void judge_crt(struct tether_node *n, const char *which, const mbedtls_x509_crt *c,
		      const char *peer, int64_t now)
{
	int64_t t;

	if (c != NULL && c->raw.len > 0 && x509_time_to_unix(&c->valid_to, &t) == 0)
		judge(n, which, &c->subject, peer, t, now);
}

void expiry_peer(struct tether_node *n, const struct session *s)
{
	judge_crt(n, "peer", mbedtls_ssl_get_peer_cert(&s->ssl), session_peer_name(s),
		  port_wall_s(n->port));
}

void expiry_sweep(struct tether_node *n)
{
	const struct tls_material *m = tls_cur(&n->tls);
	int64_t now = port_wall_s(n->port), t;
	const mbedtls_x509_crt *c;
	const mbedtls_x509_crl *crl;
	const struct session *s;

	n->t_expiry = n->now + SWEEP_EVERY_MS;
	judge_crt(n, "identity", &m->own, NULL, now);
	for (c = &m->ca; c != NULL && c->raw.len > 0; c = c->next)
		judge_crt(n, "ca", c, NULL, now);
	for (crl = m->has_crl ? &m->crl : NULL; crl != NULL && crl->raw.len > 0; crl = crl->next) {
		if (x509_time_to_unix(&crl->next_update, &t) != 0)
			continue; /* no next update: never stale */
		if (t < now)
			n->st.crls_stale++;
		judge(n, "crl", &crl->issuer, NULL, t, now);
	}
	for (s = n->all; s != NULL; s = s->next_all)
		if (session_is_open(s) || session_is_draining(s))
			expiry_peer(n, s);
}
