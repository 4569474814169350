/*
 * linux-armhf: 32-bit ARMv7-A gateways (Cortex-A7/A9, hard-float), often with
 * 128-512 MB of RAM and small flash. Knobs: base/opts.h (defaults there).
 */
#ifndef TETHER_BOARD_H
#define TETHER_BOARD_H

#define TETHER_BOARD_NAME "linux-armhf"

/*
 * Defaults of the config's "limits": a field gateway talks to a few upstream
 * nodes. 64 streams of 32 KB windows reserve 2 MB instead of the common 16 MB.
 */
/* Batched I/O built out: no room under the size budget yet */
#define TETHER_IO_BATCH 0
#define TETHER_DEFAULT_SESSIONS 8
#define TETHER_DEFAULT_STREAMS 64
#define TETHER_DEFAULT_STREAM_WINDOW 32768
#define TETHER_DEFAULT_HANDSHAKES 2
/* The most a config may ask for; the fixed PSA key store is sized from it. */
#define TETHER_MAX_SESSIONS 32

#endif
