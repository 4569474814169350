/*
 * endpoint.c: the TCP endpoint over the port (endpoint.h).
 */
#include "endpoint.h"

#include "../port/port.h"

static long tcp_send(struct endpoint *ep, const uint8_t *buf, size_t len)
{
	return port_tcp_send(ep->port, ep->h, buf, len);
}

static long tcp_recv(struct endpoint *ep, uint8_t *buf, size_t len)
{
	return port_tcp_recv(ep->port, ep->h, buf, len);
}

static int tcp_connected(struct endpoint *ep)
{
	return port_tcp_connect_result(ep->port, ep->h);
}

static void tcp_shutdown(struct endpoint *ep)
{
	(void)port_tcp_shutdown(ep->port, ep->h);
}

static void tcp_close(struct endpoint *ep, int abort)
{
	port_tcp_close(ep->port, ep->h, abort);
	ep->h = -1;
}

static void tcp_watch(struct endpoint *ep, unsigned events, void *tag)
{
	(void)port_watch(ep->port, ep->h, events, tag);
}

static const struct endpoint_ops tcp_ops = {
	tcp_send, tcp_recv, tcp_connected, tcp_shutdown, tcp_close, tcp_watch,
};

void endpoint_tcp(struct endpoint *ep, struct port *port, int h)
{
	ep->ops = &tcp_ops;
	ep->port = port;
	ep->h = h;
	ep->ctx = NULL;
}

void endpoint_close(struct endpoint *ep, int abort)
{
	if (ep->ops == NULL)
		return;
	ep->ops->close(ep, abort);
	ep->ops = NULL;
}
