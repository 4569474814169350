/*
 * edge.h: edge routes, plain TLS to software that is not tether (private to
 * core/). A tls-in route terminates mutual TLS from a foreign client and
 * carries the bytes to a plaintext target; a tls-out route takes local
 * plaintext and originates mutual TLS to a foreign server.
 *
 * Every connection of every route comes from one pool of
 * limits.edge_connections slots; its TLS state (at most TETHER_EDGE_HEAP of
 * the mbedTLS heap) exists only from its handshake on. Handshakes draw from a
 * reserve of their own (limits.handshakes), apart from the peers', and have
 * the same deadline (tls.handshake_timeout_ms); a connection still in its
 * handshake gives way to a newcomer when the pool is full, and one source
 * address may hold at most half of the pool's handshakes. So clients that
 * never finish a handshake exhaust only this pool.
 *
 * A connection dies through edge_end(), with a reason: a clean end (both
 * sides finished in order) closes in order and sends close_notify; anything
 * else resets the plaintext side (RST) and closes the TLS side without
 * close_notify, so neither application can take a cut stream for a whole one.
 */
#ifndef TETHER_EDGE_H
#define TETHER_EDGE_H

#include <stdbool.h>
#include <stdint.h>

#include <mbedtls/ssl.h>

#include "core/reason.h"
#include "core/settings.h"

struct tether_node;
struct port;
struct session;

/* A route's TLS configuration and the material only it uses. */
struct edge_route {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca; /* own_ca: the route's "ca" (else identity.ca's, the node's) */
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	bool own_ca, own_cert, loaded;
	int listener; /* index in the node's listeners */
};

enum edge_state {
	EC_WAITING = 1, /* accepted; waits for its first bytes, then a handshake slot */
	EC_DIALING,	/* tls-out: TCP connect to the server under way */
	EC_HANDSHAKE,	/* TLS handshake */
	EC_TARGET,	/* tls-in: TCP connect to the target under way */
	EC_RELAY,	/* carrying bytes both ways */
	EC_CLOSED,	/* ended; released at the end of the step */
};

struct edge_conn {
	uint8_t kind; /* OBJ_EDGE */
	struct tether_node *node;
	enum edge_state state;
	unsigned route;
	int tls_h, plain_h;
	bool spoke;	     /* its first bytes came (tls-in), or it needs none (tls-out) */
	bool ssl_ready;	     /* mbedtls_ssl_setup done: TLS state exists */
	bool hs_counted;     /* holds one of the edge handshake slots */
	bool tls_up;	     /* handshake finished */
	bool tls_eof;	     /* close_notify received: the TLS side sends no more */
	bool plain_eof;	     /* the plaintext side sent FIN */
	bool plain_shut;     /* we sent FIN to the plaintext side */
	bool notify_sent;    /* we sent close_notify */
	bool tls_want_write; /* TLS output blocked */
	bool out_pending;    /* mbedtls_ssl_write() must be called again with p2t */
	uint64_t t_start, seq;
	uint64_t bytes_in, bytes_out; /* from the TLS side, to the TLS side */
	size_t heap_before, heap_peak;
	bool solo;	  /* no other handshake ran when it started: its heap figures are its own */
	uint64_t hs_mark; /* edge handshakes started when it started */
	/* What verify learned of the other side's certificate. */
	const char *why; /* our refusal words, NULL if none */
	uint32_t flags;
	bool allowed;
	char id[TETHER_ID_MAX];
	char cn[TETHER_NAME_MAX];
	uint8_t spki[32];
	char addr[TETHER_ADDR_MAX]; /* the client: the TLS peer (tls-in) or local (tls-out) */
	mbedtls_ssl_context ssl;
	size_t t2p_off, t2p_len; /* from TLS, for the plaintext side */
	size_t p2t_len;		 /* from the plaintext side, for TLS */
	uint8_t t2p[TETHER_EDGE_BUF];
	uint8_t p2t[TETHER_EDGE_BUF];
	struct edge_conn *next_dead;
};

/* Room in the mbedTLS heap for one route's own CA, certificate and key files. */
#define EDGE_ROUTE_HEAP (16u * 1024u)

/* Heap the edge routes of cfg need: TETHER_EDGE_HEAP per connection, and their material. */
static inline size_t edge_heap_size(const struct tether_config *cfg)
{
	if (!TETHER_EDGES || cfg->n_edges == 0)
		return 0;
	return (size_t)cfg->limits.edge_connections * TETHER_EDGE_HEAP +
	       (size_t)cfg->n_edges * EDGE_ROUTE_HEAP;
}

#if TETHER_EDGES
/*
 * edge_route_check: read and check route i's own files (ca; cert and key,
 * private, matching, ECDSA P-256), as `tether run` does at start. scratch:
 * TETHER_FILE_MAX bytes, wiped. Returns 0, or <0 with err naming the JSON
 * path, the file and the reason. Needs psa_crypto_init() and the mbedTLS heap.
 */
int edge_route_check(const struct tether_config *cfg, unsigned i, struct port *port,
		     unsigned char *scratch, char *err, size_t err_len);
/*
 * edge_service_proxy: a service with "proxy_protocol": "v2" tells its target
 * who calls: the PROXY v2 header for session s's peer, written on h (the
 * target's connection, just connected, so its send buffer is empty). Returns
 * 0, or <0 if it could not be written whole (the caller resets the stream).
 */
int edge_service_proxy(struct session *s, int h);
/* Load every route's material and configuration; <0 with err naming the route and file. */
int edge_routes_load(struct tether_node *n, char *err, size_t err_len);
void edge_routes_free(struct tether_node *n);
/* After a reload switched the node's identity: routes that use it follow. */
int edge_routes_repoint(struct tether_node *n);
/* End every edge handshake (before the identity they point into is freed). */
void edge_end_handshakes(struct tether_node *n, enum tether_reason why);
/*
 * After a reload switched the node's trust (CA, CRLs): every established
 * edge connection's other side is judged again, as at its handshake (the
 * route's own ca, else the node's CA and CRLs). Those that no longer pass
 * (revoked, unknown ca, expired) end: the plaintext side is reset. Returns
 * how many ended.
 */
unsigned edge_rejudge(struct tether_node *n);
void edge_accept(struct tether_node *n, unsigned route, int h, const char *from);
void edge_event(struct edge_conn *c, unsigned events);
void edge_timers(struct tether_node *n, uint64_t *next);
/* Edge handshake slots may have freed: start the waiting connections that may. */
void edge_more(struct tether_node *n);
void edge_release_dead(struct tether_node *n);
void edge_close_all(struct tether_node *n, enum tether_reason why);
void edge_end(struct edge_conn *c, enum tether_reason why, const char *detail);
#else
#define edge_service_proxy(s, h) ((void)(s), 0)
#define edge_routes_load(n, err, len) ((void)(n), 0)
#define edge_routes_free(n) ((void)(n))
#define edge_routes_repoint(n) ((void)(n), 0)
#define edge_end_handshakes(n, why) ((void)(n))
#define edge_rejudge(n) ((void)(n), 0u)
#define edge_accept(n, r, h, from) ((void)(n))
#define edge_event(c, ev) ((void)(c))
#define edge_timers(n, next) ((void)(n))
#define edge_more(n) ((void)(n))
#define edge_release_dead(n) ((void)(n))
#define edge_close_all(n, why) ((void)(n))
#endif

#endif
