/*
 * log.c: log lines go to the sink the program set (port_mem_set_log), which
 * knows where output can go on its platform (semihosting, a UART, a test's
 * capture buffer). Without a sink they are dropped.
 */
#include "port/mem/mem_impl.h"

void port_mem_set_log(port_mem_log_fn *fn, void *ctx)
{
	port_mem_world.log_fn = fn;
	port_mem_world.log_ctx = ctx;
}

void port_log_write(struct port *p, const char *line, size_t len)
{
	if (port_mem_world.log_fn != NULL && line != NULL)
		port_mem_world.log_fn(port_mem_world.log_ctx, p, line, len);
}
