/*
 * reason.h: why a session, a handshake or a stream ended, as one vocabulary.
 *
 * Every teardown goes through one function (session_end, stream_end,
 * stream_refuse) that takes a reason code, counts it in the node's stats and
 * logs it. The log shows the reason's words (reason_name()), or a more
 * precise detail where there is one ("protocol error: second HELLO"); the
 * counters, status and metrics use the code.
 */
#ifndef TETHER_REASON_H
#define TETHER_REASON_H

#include <stdint.h>

enum tether_reason {
	REASON_NONE = 0,
	/* sessions */
	REASON_CLOSED_BY_PEER,
	REASON_GOAWAY_FROM_PEER,
	REASON_DUPLICATE,
	REASON_LIFETIME,
	REASON_SHUTDOWN,
	REASON_SHUTDOWN_DEADLINE,
	REASON_DRAIN_DEADLINE,
	REASON_NODE_STOPPED,
	REASON_KEEPALIVE_TIMEOUT,
	REASON_HANDSHAKE_TIMEOUT,
	REASON_HELLO_TIMEOUT,
	REASON_PROTOCOL,
	REASON_IDENTITY_MISMATCH,
	REASON_RESETS_PENDING,
	REASON_TLS_ERROR,
	REASON_IO,
	REASON_NO_LONGER_ALLOWED, /* a reload removed the peer or changed its id or pin */
	REASON_ROTATED,		  /* replaced by a session with the new certificate */
	REASON_RELOAD,		  /* a handshake under way when the identity changed */
	REASON_REPLACED,	  /* the peer dialed a newer session the same way (a roll) */
	/* handshakes refused */
	REASON_NO_CLIENT_CERT,
	REASON_UNKNOWN_CA,
	REASON_REVOKED,
	REASON_EXPIRED,
	REASON_NOT_YET_VALID,
	REASON_IDENTITY_NOT_ALLOWED,
	REASON_WEAK_CERT,
	REASON_CRL_NOT_USABLE,
	REASON_CERT_REJECTED,
	REASON_TLS_VERSION,
	REASON_NO_SHARED_SUITE,
	REASON_TLS_ALERT,
	REASON_HANDSHAKE_EOF,
	REASON_MALFORMED_TLS,
	REASON_TLS_MEMORY,
	/* streams */
	REASON_DONE,
	REASON_SESSION_ENDED,
	REASON_PEER_RESET,
	REASON_LOCAL_FAILED,
	REASON_TARGET_UNREACHABLE,
	REASON_STREAM_ERROR,
	REASON_NO_SERVICE,
	REASON_FORBIDDEN,
	REASON_NO_RESOURCES,
	REASON_NOT_CONNECTED,
	REASON_STREAM_CAP, /* the session holds limits.streams_per_session streams */
	/* edge routes */
	REASON_SERVER_NAME, /* tls-out: the server's certificate is not for server_name */
	REASON_EVICTED,	    /* an edge connection still in its handshake gave way to a newcomer */
	REASON_COUNT
};

/* The reason's words as the log and the README use them; never NULL. */
const char *reason_name(enum tether_reason r);

/* The metric label for r: lower case, words joined by '_' ("unknown_ca"). */
const char *reason_label(enum tether_reason r);

#endif
