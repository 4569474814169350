/*
 * linux-x86_64: servers, virtual machines and x86 appliances. Memory is not
 * scarce; a node may front many peers. Knobs: base/opts.h (defaults there).
 */
#ifndef TETHER_BOARD_H
#define TETHER_BOARD_H

#define TETHER_BOARD_NAME "linux-x86_64"

/*
 * Defaults of the config's "limits": a hub for a few dozen peers. Streams stay
 * at the common 256 of 64 KB windows: the stream pool is the bulk of the
 * resident memory (about 18 MB with these defaults; 512 streams made 35 MB).
 */
#define TETHER_DEFAULT_SESSIONS 64
#define TETHER_DEFAULT_HANDSHAKES 8
#define TETHER_DEFAULT_EDGE_CONNECTIONS 64

/* Room for the larger ECP window (mbedtls_board.h) during a handshake. */
#define TETHER_HEAP_PER_HANDSHAKE (20u * 1024u)

#endif
