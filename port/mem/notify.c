/*
 * notify.c: the in-memory port has no service manager: nobody asked to be
 * told (as with $NOTIFY_SOCKET unset), and there is no watchdog.
 */
#include "port/mem/mem_impl.h"

int port_notify(struct port *p, const char *state)
{
	(void)p;
	return state != NULL && *state != '\0' ? 0 : TETHER_ERR_INVALID;
}

uint64_t port_watchdog_usec(struct port *p)
{
	(void)p;
	return 0;
}
