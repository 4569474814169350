/* notify.c: READY, STOPPING and WATCHDOG for the service manager (notify.h). */
#include <limits.h>

#include "cli/notify.h"

void notify_init(struct notify *nt, struct port *p, const struct log_sink *sink, uint64_t now)
{
	uint64_t usec = port_watchdog_usec(p);

	nt->port = p;
	nt->sink = sink;
	nt->failed = 0;
	/* Half the interval, as sd_watchdog_enabled(3) advises; at least 1 ms. */
	nt->every_ms = usec == 0 ? 0 : usec / 2000 > 0 ? usec / 2000 : 1;
	nt->next_ms = now + nt->every_ms;
}

void notify_send(struct notify *nt, const char *state)
{
	struct log_line l;
	int ret = port_notify(nt->port, state);

	if (ret == 0 || nt->failed)
		return;
	nt->failed = 1;
	log_begin(&l, nt->sink, PORT_LOG_WARN, "notify");
	log_str(&l, "state", state);
	log_str(&l, "result", "failed");
	log_str(&l, "reason", tether_err_str(ret));
	log_str(&l, "note", "the service manager was not told; later failures are not logged");
	log_end(&l);
}

int notify_wait_ms(const struct notify *nt, uint64_t now)
{
	if (nt->every_ms == 0)
		return -1;
	if (now >= nt->next_ms)
		return 0;
	return nt->next_ms - now > INT_MAX ? INT_MAX : (int)(nt->next_ms - now);
}

void notify_watchdog(struct notify *nt, uint64_t now)
{
	if (nt->every_ms == 0)
		return;
	if (now < nt->next_ms)
		return;
	nt->next_ms = now + nt->every_ms;
	notify_send(nt, "WATCHDOG=1");
}
