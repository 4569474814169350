/*
 * endpoint.h: one side of a byte stream, as the node sees it.
 *
 * A stream's local side today, and an edge route's two sides later, are
 * endpoints with the port's contract (port.h): send and recv return >0 bytes
 * moved, 0 when they would block, <0 TETHER_ERR_* (TETHER_ERR_CLOSED: the
 * other side finished sending). The stream code moves bytes through these
 * calls only, so what is behind an endpoint (a TCP connection, a TLS
 * connection to a foreign client, a buffer in a test) is not its concern.
 */
#ifndef TETHER_ENDPOINT_H
#define TETHER_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

struct port;
struct endpoint;

struct endpoint_ops {
	long (*send)(struct endpoint *ep, const uint8_t *buf, size_t len);
	long (*recv)(struct endpoint *ep, uint8_t *buf, size_t len);
	/* A connect under way finished: 0 ready, <0 TETHER_ERR_* (it failed). */
	int (*connected)(struct endpoint *ep);
	/* Finish our sending direction (the other side reads EOF). */
	void (*shutdown)(struct endpoint *ep);
	/* Release it; abort != 0 resets rather than closes in order. */
	void (*close)(struct endpoint *ep, int abort);
	/* Ask for PORT_READ/PORT_WRITE readiness events carrying tag. */
	void (*watch)(struct endpoint *ep, unsigned events, void *tag);
};

struct endpoint {
	const struct endpoint_ops *ops; /* NULL: no endpoint (closed) */
	struct port *port;
	int h; /* the port's handle, for endpoints that have one */
	void *ctx;
};

/* A TCP connection of the port, handle h (connected, or connecting). */
void endpoint_tcp(struct endpoint *ep, struct port *port, int h);

static inline int endpoint_open(const struct endpoint *ep)
{
	return ep->ops != NULL;
}

/* Close (if open) and forget. */
void endpoint_close(struct endpoint *ep, int abort);

#endif
