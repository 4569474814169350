/*
 * linux-x86_64: servers, virtual machines and x86 appliances. Memory is not
 * scarce; a node may front many peers. Knobs: core/opts.h (defaults there).
 */
#ifndef TETHER_BOARD_H
#define TETHER_BOARD_H

#define TETHER_BOARD_NAME "linux-x86_64"

/* Defaults of the config's "limits": a hub for a few dozen peers. */
#define TETHER_DEFAULT_SESSIONS 64
#define TETHER_DEFAULT_STREAMS 512
#define TETHER_DEFAULT_STREAM_WINDOW 65536
#define TETHER_DEFAULT_HANDSHAKES 8

/*
 * mbedTLS heap: the common figures plus room for the larger ECP window
 * (mbedtls_board.h), whose precomputed points live during a handshake.
 */
#define TETHER_HEAP_PER_SESSION (12u * 1024u)
#define TETHER_HEAP_PER_HANDSHAKE (18u * 1024u)

#endif
