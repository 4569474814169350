/*
 * linux-aarch64: 64-bit Arm gateways and servers (Cortex-A53/A72 and up).
 * The common defaults of base/opts.h fit: a gateway with a handful of peers.
 */
#ifndef TETHER_BOARD_H
#define TETHER_BOARD_H

#define TETHER_BOARD_NAME "linux-aarch64"

/* Room for the larger ECP window (mbedtls_board.h) during a handshake. */
#define TETHER_HEAP_PER_HANDSHAKE (20u * 1024u)

#endif
