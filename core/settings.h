/*
 * settings.h: what a node runs with, as plain structs.
 *
 * core/ reads these; config/ fills them from JSON (config_load()), and a board
 * without a file system may fill them in code (config_defaults() and a few
 * assignments). Sizes are fixed, so a filled struct tether_config needs no
 * further allocation. Nothing here knows about JSON.
 */
#ifndef TETHER_SETTINGS_H
#define TETHER_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/opts.h"

#ifndef TETHER_MAX_PEERS
#define TETHER_MAX_PEERS 64
#endif
#ifndef TETHER_MAX_SERVICES
#define TETHER_MAX_SERVICES 32
#endif
#ifndef TETHER_MAX_FORWARDS
#define TETHER_MAX_FORWARDS 32
#endif
#ifndef TETHER_MAX_ALLOW
#define TETHER_MAX_ALLOW 16
#endif
#ifndef TETHER_MAX_CRLS
#define TETHER_MAX_CRLS 4
#endif
#ifndef TETHER_MAX_SUITES
#define TETHER_MAX_SUITES 8
#endif
#ifndef TETHER_MAX_EDGES
#if TETHER_EDGES
#define TETHER_MAX_EDGES 16
#else
#define TETHER_MAX_EDGES 1 /* built out: the loader refuses "edges" */
#endif
#endif
#ifndef TETHER_MAX_EDGE_ALLOW
#define TETHER_MAX_EDGE_ALLOW 8
#endif

#define TETHER_NAME_MAX 64  /* node, peer and service names: 1..63 chars + NUL */
#define TETHER_ADDR_MAX 136 /* "host:port" + NUL */
#define TETHER_PATH_MAX 256 /* file paths, already joined with the config's folder */
#define TETHER_ID_MAX 256   /* peer identity (URI SAN, DNS SAN or CN) + NUL */

enum tether_tls_version {
	TETHER_TLS_1_2 = 0x0303,
	TETHER_TLS_1_3 = 0x0304
};

enum tether_log_format {
	TETHER_LOG_TEXT = 0,
	TETHER_LOG_JSON = 1
};

struct tether_identity_cfg {
	char cert[TETHER_PATH_MAX];
	char key[TETHER_PATH_MAX];
	char ca[TETHER_PATH_MAX];
	unsigned n_crl; /* 0 = no CRL */
	char crl[TETHER_MAX_CRLS][TETHER_PATH_MAX];
	uint32_t warn_days; /* cert_expiring warnings this many days ahead */
};

struct tether_peer_cfg {
	char name[TETHER_NAME_MAX];
	char connect[TETHER_ADDR_MAX]; /* "" = accept only, never dialed */
	char id[TETHER_ID_MAX];	       /* defaults to name */
	bool has_pin;
	uint8_t pin[32]; /* SHA-256 of the SubjectPublicKeyInfo DER */
};

struct tether_service_cfg {
	char name[TETHER_NAME_MAX];
	char target[TETHER_ADDR_MAX];
	bool proxy_v2; /* "proxy_protocol": "v2": a PROXY v2 header with the peer's identity first */
	unsigned n_allow;
	uint16_t allow[TETHER_MAX_ALLOW]; /* indexes into tether_config.peers */
};

struct tether_forward_cfg {
	char listen[TETHER_ADDR_MAX];
	uint16_t peer; /* index into tether_config.peers */
	char service[TETHER_NAME_MAX];
};

enum tether_edge_mode {
	TETHER_EDGE_TLS_IN = 1, /* foreign mTLS clients in, plaintext to target */
	TETHER_EDGE_TLS_OUT,	/* local plaintext in, mTLS to a foreign server */
};

/* One entry of a tls-in route's "allow": an identity, or an SPKI pin. */
struct tether_edge_allow {
	bool is_pin;
	uint8_t pin[32];	/* is_pin: SHA-256 of the SubjectPublicKeyInfo DER */
	char id[TETHER_ID_MAX]; /* !is_pin: URI SAN, DNS SAN or CN, exact */
};

/* One edge route ("edges"): plain TLS to software that is not tether. */
struct tether_edge_cfg {
	enum tether_edge_mode mode;
	char listen[TETHER_ADDR_MAX];
	char target[TETHER_ADDR_MAX];  /* tls-in: the plaintext target */
	char connect[TETHER_ADDR_MAX]; /* tls-out: the TLS server */
	char server_name
		[TETHER_ID_MAX]; /* tls-out: the name the server proves (default: host of connect) */
	char ca[TETHER_PATH_MAX];   /* trust for the other side; default identity.ca */
	char cert[TETHER_PATH_MAX]; /* what we present; default identity.cert/key */
	char key[TETHER_PATH_MAX];
	bool has_pin; /* tls-out: the server's SPKI must also match pin */
	uint8_t pin[32];
	bool proxy_v2; /* tls-in: a PROXY v2 header to target first */
	unsigned n_allow;
	struct tether_edge_allow allow[TETHER_MAX_EDGE_ALLOW];
};

/*
 * "issuer": this node signs renewals of its peers' certificates with an
 * (intermediate) CA's certificate and key (core/renew.c).
 */
struct tether_issuer_cfg {
	bool on;
	char cert[TETHER_PATH_MAX];
	char key[TETHER_PATH_MAX];
	uint32_t days; /* validity of what it signs, capped at its own certificate's expiry */
	unsigned n_allow;
	uint16_t allow[TETHER_MAX_ALLOW]; /* indexes into tether_config.peers */
};

/* "renew": this node renews its own certificate through a peer that issues. */
struct tether_renew_cfg {
	bool on;
	uint16_t peer; /* index into tether_config.peers */
	uint32_t
		before_days; /* renew this many days before expiry; 0 = a third of the lifetime left */
};

struct tether_tls_cfg {
	enum tether_tls_version min_version; /* default 1.3 */
	unsigned n_suites;		     /* 0 = the built-in secure list */
	int suites[TETHER_MAX_SUITES];	     /* IANA cipher suite numbers */
	uint32_t handshake_timeout_ms;
	uint32_t session_lifetime_s; /* 0 = unlimited; then rolled make-before-break */
	uint32_t drain_s;	     /* a replaced session carries its streams this long at most */
};

struct tether_limits_cfg {
	uint32_t sessions;
	uint32_t streams;
	uint32_t stream_window; /* bytes of receive buffer per stream */
	uint32_t handshakes;	/* concurrent handshakes */
	/*
	 * Streams one session may hold at once, its forwards and the peer's
	 * OPENs together; 0 = the default rule (stream_session_cap(), stream.h).
	 */
	uint32_t streams_per_session;
	uint32_t edge_connections; /* edge connections at once, all routes together */
};

struct tether_config {
	char node[TETHER_NAME_MAX];
	struct tether_identity_cfg identity;
	char listen[TETHER_ADDR_MAX]; /* "" = do not accept sessions */
	unsigned n_peers;
	struct tether_peer_cfg peers[TETHER_MAX_PEERS];
	unsigned n_services;
	struct tether_service_cfg services[TETHER_MAX_SERVICES];
	unsigned n_forwards;
	struct tether_forward_cfg forwards[TETHER_MAX_FORWARDS];
	unsigned n_edges;
	struct tether_edge_cfg edges[TETHER_MAX_EDGES];
	struct tether_tls_cfg tls;
	struct tether_limits_cfg limits;
	struct tether_issuer_cfg issuer;
	struct tether_renew_cfg renew;
	uint32_t keepalive_interval_ms;
	uint32_t keepalive_timeout_ms;
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
	char status[TETHER_PATH_MAX];  /* "" = no status socket */
	char metrics[TETHER_ADDR_MAX]; /* "" = no Prometheus endpoint */
	uint32_t reload_watch_s;       /* file check interval; 0 = off */
	int log_level;		       /* enum port_log_level */
	enum tether_log_format log_format;
	char user[TETHER_NAME_MAX]; /* "" = do not change user */
};

#endif
