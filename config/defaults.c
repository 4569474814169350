/*
 * defaults.c: the board's secure defaults for a config. Kept apart from the
 * JSON loader so that a board without cJSON (cortex-m4) builds its configs in
 * code from the same defaults.
 */
#include <string.h>

#include "base/log_level.h"
#include "config/config.h"

void config_defaults(struct tether_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tls.min_version = TETHER_TLS_1_3;
	cfg->tls.handshake_timeout_ms = TETHER_DEFAULT_HANDSHAKE_TIMEOUT_MS;
	cfg->tls.session_lifetime_s = TETHER_DEFAULT_SESSION_LIFETIME_S;
	cfg->tls.drain_s = TETHER_DEFAULT_DRAIN_S;
	cfg->identity.warn_days = TETHER_DEFAULT_WARN_DAYS;
	cfg->reload_watch_s = TETHER_DEFAULT_RELOAD_WATCH_S;
	cfg->issuer.days = TETHER_DEFAULT_ISSUE_DAYS;
	cfg->limits.sessions = TETHER_DEFAULT_SESSIONS;
	cfg->limits.streams = TETHER_DEFAULT_STREAMS;
	cfg->limits.stream_window = TETHER_DEFAULT_STREAM_WINDOW;
	cfg->limits.handshakes = TETHER_DEFAULT_HANDSHAKES < TETHER_DEFAULT_SESSIONS
					 ? TETHER_DEFAULT_HANDSHAKES
					 : TETHER_DEFAULT_SESSIONS;
	cfg->limits.edge_connections = TETHER_DEFAULT_EDGE_CONNECTIONS;
	cfg->keepalive_interval_ms = TETHER_DEFAULT_KEEPALIVE_INTERVAL_MS;
	cfg->keepalive_timeout_ms = TETHER_DEFAULT_KEEPALIVE_TIMEOUT_MS;
	cfg->reconnect_min_ms = TETHER_DEFAULT_RECONNECT_MIN_MS;
	cfg->reconnect_max_ms = TETHER_DEFAULT_RECONNECT_MAX_MS;
	cfg->log_level = PORT_LOG_INFO;
	cfg->log_format = TETHER_LOG_TEXT;
}
