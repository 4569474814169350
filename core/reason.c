/*
 * reason.c: the one table of teardown reasons (reason.h).
 */
#include "core/reason.h"

static const struct {
	const char *name;
	const char *label;
} reasons[REASON_COUNT] = {
	[REASON_NONE] = {"none", "none"},
	[REASON_CLOSED_BY_PEER] = {"closed by peer", "closed_by_peer"},
	[REASON_GOAWAY_FROM_PEER] = {"goaway from peer", "goaway_from_peer"},
	[REASON_DUPLICATE] = {"duplicate session", "duplicate"},
	[REASON_LIFETIME] = {"session lifetime reached", "lifetime"},
	[REASON_SHUTDOWN] = {"shutting down", "shutdown"},
	[REASON_SHUTDOWN_DEADLINE] = {"shutdown deadline passed", "shutdown_deadline"},
	[REASON_DRAIN_DEADLINE] = {"drain deadline passed", "drain_deadline"},
	[REASON_NODE_STOPPED] = {"node stopped", "node_stopped"},
	[REASON_KEEPALIVE_TIMEOUT] = {"keepalive timeout", "keepalive_timeout"},
	[REASON_HANDSHAKE_TIMEOUT] = {"handshake timeout", "handshake_timeout"},
	[REASON_HELLO_TIMEOUT] = {"hello timeout", "hello_timeout"},
	[REASON_PROTOCOL] = {"protocol error", "protocol"},
	[REASON_IDENTITY_MISMATCH] = {"identity mismatch", "identity_mismatch"},
	[REASON_RESETS_PENDING] = {"too many stream resets pending", "resets_pending"},
	[REASON_TLS_ERROR] = {"tls error", "tls_error"},
	[REASON_IO] = {"i/o error", "io"},
	[REASON_NO_LONGER_ALLOWED] = {"no longer allowed", "no_longer_allowed"},
	[REASON_ROTATED] = {"certificate rotated", "rotated"},
	[REASON_RELOAD] = {"identity reloaded during the handshake", "reload"},
	[REASON_REPLACED] = {"replaced by a newer session", "replaced"},
	[REASON_NO_CLIENT_CERT] = {"no client certificate", "no_client_certificate"},
	[REASON_UNKNOWN_CA] = {"unknown ca", "unknown_ca"},
	[REASON_REVOKED] = {"certificate revoked", "revoked"},
	[REASON_EXPIRED] = {"certificate expired", "expired"},
	[REASON_NOT_YET_VALID] = {"certificate not yet valid", "not_yet_valid"},
	[REASON_IDENTITY_NOT_ALLOWED] = {"identity not allowed", "identity_not_allowed"},
	[REASON_WEAK_CERT] = {"weak certificate", "weak_certificate"},
	[REASON_CRL_NOT_USABLE] = {"crl not usable", "crl_not_usable"},
	[REASON_CERT_REJECTED] = {"certificate rejected", "certificate_rejected"},
	[REASON_TLS_VERSION] = {"protocol version", "tls_version"},
	[REASON_NO_SHARED_SUITE] = {"no shared cipher suite or group", "no_shared_suite"},
	[REASON_TLS_ALERT] = {"refused by peer (tls alert)", "tls_alert"},
	[REASON_HANDSHAKE_EOF] = {"connection closed during handshake", "handshake_eof"},
	[REASON_MALFORMED_TLS] = {"malformed tls handshake", "malformed_tls"},
	[REASON_TLS_MEMORY] = {"out of tls memory", "tls_memory"},
	[REASON_DONE] = {"done", "done"},
	[REASON_SESSION_ENDED] = {"session ended", "session_ended"},
	[REASON_PEER_RESET] = {"reset by peer", "peer_reset"},
	[REASON_LOCAL_FAILED] = {"local connection failed", "local_failed"},
	[REASON_TARGET_UNREACHABLE] = {"target unreachable", "target_unreachable"},
	[REASON_STREAM_ERROR] = {"stream error", "stream_error"},
	[REASON_NO_SERVICE] = {"no such service", "no_service"},
	[REASON_FORBIDDEN] = {"forbidden", "forbidden"},
	[REASON_NO_RESOURCES] = {"no stream slots", "no_resources"},
	[REASON_NOT_CONNECTED] = {"peer not connected", "not_connected"},
	[REASON_STREAM_CAP] = {"session stream cap reached", "stream_cap"},
	[REASON_SERVER_NAME] = {"server name mismatch", "server_name"},
	[REASON_EVICTED] = {"evicted by a newer connection", "evicted"},
};

const char *reason_name(enum tether_reason r)
{
	if ((unsigned)r >= REASON_COUNT || reasons[r].name == 0)
		return "unknown";
	return reasons[r].name;
}

const char *reason_label(enum tether_reason r)
{
	if ((unsigned)r >= REASON_COUNT || reasons[r].label == 0)
		return "unknown";
	return reasons[r].label;
}
