/*
 * notify.h: what the agent tells its service manager, and when (the protocol
 * itself is the port's: port_notify, port_watchdog_usec).
 *
 * cmd_run sends READY=1 once the listeners are up and privileges dropped,
 * STOPPING=1 when a graceful shutdown begins, and WATCHDOG=1 every half of
 * $WATCHDOG_USEC, from the loop, so a loop that hangs stops the pings. Reload
 * does not exist yet; when it does, it sends "RELOADING=1" with
 * "MONOTONIC_USEC=" (CLOCK_MONOTONIC, microseconds) in the same datagram as it
 * begins, and READY=1 when it is done, which Type=notify-reload units need.
 *
 * A message that cannot be sent is logged once (event=notify result=failed)
 * and never stops the agent: a service manager that went away is not a
 * reason to cut the node's sessions.
 */
#ifndef TETHER_CLI_NOTIFY_H
#define TETHER_CLI_NOTIFY_H

#include <stdint.h>

#include "core/log.h"
#include "port/port.h"

struct notify {
	struct port *port;
	const struct log_sink *sink;
	uint64_t every_ms; /* WATCHDOG=1 interval; 0: no watchdog */
	uint64_t next_ms;  /* the `now` at which the next WATCHDOG=1 is due */
	int failed;	   /* a failure was logged; later ones are not */
};

/*
 * notify_init: read the watchdog interval of p; p and sink MUST outlive nt.
 * Every `now` below is port_now_ms(p) as the caller read it: the timing is
 * plain arithmetic on it, so a test can drive it with any clock.
 */
void notify_init(struct notify *nt, struct port *p, const struct log_sink *sink, uint64_t now);

/* notify_send: send state (e.g. "READY=1"); a failure is logged the first time only. */
void notify_send(struct notify *nt, const char *state);

/*
 * notify_wait_ms: the longest the loop may wait before notify_watchdog() is
 * due, for tether_node_step(); -1 (wait for ever) without a watchdog.
 */
int notify_wait_ms(const struct notify *nt, uint64_t now);

/* notify_watchdog: send WATCHDOG=1 if it is due. Call after every loop step. */
void notify_watchdog(struct notify *nt, uint64_t now);

#endif
