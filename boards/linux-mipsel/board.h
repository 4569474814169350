/*
 * linux-mipsel: little-endian MIPS32r2 routers and gateways, OpenWrt's ramips (MediaTek MT7621 1004Kc, MT7628 24KEc)
 * class: 64 to 128 MB of RAM, most of it the kernel's, the Wi-Fi driver's and
 * the other daemons'. Knobs: base/opts.h (defaults there).
 */
#ifndef TETHER_BOARD_H
#define TETHER_BOARD_H

#define TETHER_BOARD_NAME "linux-mipsel"

/*
 * Defaults of the config's "limits": a router talks to a few upstream nodes.
 * 64 streams of 32 KB windows reserve 2 MB instead of the common 16 MB; two
 * concurrent handshakes keep the TLS heap small.
 */
#define TETHER_DEFAULT_SESSIONS 8
#define TETHER_DEFAULT_STREAMS 64
#define TETHER_DEFAULT_STREAM_WINDOW 32768
#define TETHER_DEFAULT_HANDSHAKES 2
/* The most a config may ask for; the fixed PSA key store is sized from it. */
#define TETHER_MAX_SESSIONS 32

#endif
