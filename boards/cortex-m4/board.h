/*
 * cortex-m4: a microcontroller without an OS (Cortex-M4F, e.g. an STM32F4 or
 * the MPS2 AN386 that qemu emulates), running core on the in-memory port.
 * Hundreds of KB of RAM, not MB: every limit is small. Knobs: base/opts.h.
 */
#ifndef TETHER_BOARD_H
#define TETHER_BOARD_H

#define TETHER_BOARD_NAME "cortex-m4"

/*
 * Defaults of the config's "limits": one or two upstream peers, a few
 * streams of 4 KB windows. The record size stays the common 4096, so this
 * board's nodes interoperate with every other board's.
 */
/* Batched I/O built out: no system calls to save, and no RAM for the buffers */
#define TETHER_IO_BATCH 0
#define TETHER_DEFAULT_SESSIONS 2
#define TETHER_DEFAULT_STREAMS 4
#define TETHER_DEFAULT_STREAM_WINDOW 4096
#define TETHER_DEFAULT_HANDSHAKES 1
/* The most a config may ask for; the fixed PSA key store is sized from it. */
#define TETHER_MAX_SESSIONS 4
#define TETHER_MAX_STREAMS 16

/* The config struct is fixed-size: size its tables for a small node. */
#define TETHER_MAX_PEERS 4
#define TETHER_MAX_SERVICES 4
#define TETHER_MAX_FORWARDS 4
#define TETHER_MAX_ALLOW 4

/*
 * The in-memory port (port/mem/port_mem.h): the self-test's three connections
 * (session, forward, service target) have six ends; 2 KB buffers each.
 */
#define PORT_MEM_MAX_SOCKETS 8
#define PORT_MEM_SOCK_BUF 2048

/* One certificate, key or small CA bundle at a time (the node's file buffer). */
#define TETHER_FILE_MAX 2048

/*
 * mbedTLS heap per node (base/opts.h explains the parts), measured on this
 * board by the self-test: the node's certificate, key, CA and PSA state take
 * about 2.3 KB once started; an established session about 11.9 KB with 4 KB
 * records; a handshake about 1.5 KB more at its peak. The reservations below
 * leave room for fragmentation and larger certificate chains.
 */
#define TETHER_HEAP_BASE (8u * 1024u)
/* Admission (core/admit.c): a few waiting connections are plenty for one handshake slot. */
#define TETHER_ARRIVALS_PER_HANDSHAKE 2
#define TETHER_ARRIVALS_MAX 8
#define TETHER_HEAP_PER_SESSION (14u * 1024u)
#define TETHER_HEAP_PER_HANDSHAKE (4u * 1024u)

#endif
