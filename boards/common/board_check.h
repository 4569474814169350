/*
 * board_check.h: impossible combinations of a board's tether knobs
 * (base/opts.h) and its mbedTLS configuration stop the build.
 *
 * base/check.h checks the tether knobs among themselves and mbedTLS's
 * check_config.h its own options; this file checks the joints between the
 * two, which only a board can get wrong. A board includes it at the end of its
 * mbedtls_board_post.h (so the mbedTLS options are final), which brings in the
 * tether knobs through base/opts.h; every file that sees the mbedTLS
 * configuration, mbedTLS's own included, runs the checks.
 */
#ifndef TETHER_BOARD_CHECK_H
#define TETHER_BOARD_CHECK_H

#include "base/opts.h" /* board.h, then the defaults, then base/check.h */

/* A frame travels in one TLS record: TETHER_RECORD_SIZE is its largest size. */
#if TETHER_RECORD_SIZE > MBEDTLS_SSL_OUT_CONTENT_LEN
#error "TETHER_RECORD_SIZE exceeds MBEDTLS_SSL_OUT_CONTENT_LEN: a frame must fit one TLS record"
#endif
/* A peer built for the same board sends records of TETHER_RECORD_SIZE. */
#if MBEDTLS_SSL_IN_CONTENT_LEN < TETHER_RECORD_SIZE
#error "MBEDTLS_SSL_IN_CONTENT_LEN is below TETHER_RECORD_SIZE: peers' frames would not fit"
#endif

/*
 * The TLS heap is sized from TETHER_HEAP_PER_SESSION: it must at least hold a
 * session's two record buffers, plus about 2 KB for the record overhead, the
 * transforms and the context itself.
 */
#if TETHER_HEAP_PER_SESSION < TETHER_RECORD_SIZE + MBEDTLS_SSL_OUT_CONTENT_LEN + 2048
#error "TETHER_HEAP_PER_SESSION cannot hold the TLS record buffers (IN + OUT_CONTENT_LEN + 2 KB)"
#endif
/*
 * With edge routes every context starts with a 16 KB input buffer; a peer
 * session gives the excess back after its handshake (tls_resize_input), so
 * only a handshake pays it (TETHER_HEAP_HANDSHAKE_INPUT), and that needs
 * mbedTLS to bound its reads by the buffer's real length.
 */
#if TETHER_EDGES
#if MBEDTLS_SSL_IN_CONTENT_LEN < 16384
#error "TETHER_EDGES needs MBEDTLS_SSL_IN_CONTENT_LEN 16384: foreign TLS stacks send 16 KB records"
#endif
#if !defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
#error "TETHER_EDGES needs MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH (peer sessions shrink their input buffer)"
#endif
#elif MBEDTLS_SSL_IN_CONTENT_LEN > TETHER_RECORD_SIZE
#error "MBEDTLS_SSL_IN_CONTENT_LEN above TETHER_RECORD_SIZE wastes memory without edge routes"
#endif

/*
 * A fixed PSA key store must hold the keys of the most sessions a config may
 * ask for (TETHER_MAX_SESSIONS, which the config loader enforces): up to four
 * per session slot while it handshakes (ephemeral ECDH, two handshake traffic
 * keys, a transient signing or verifying key), two once established, and a few
 * for the node.
 */
#if !defined(MBEDTLS_PSA_KEY_STORE_DYNAMIC) && \
	MBEDTLS_PSA_KEY_SLOT_COUNT < 4 * TETHER_MAX_SESSIONS + 4
#error "MBEDTLS_PSA_KEY_SLOT_COUNT is too small for TETHER_MAX_SESSIONS (4 per session + 4)"
#endif

/* Each accelerator on its own architecture only. */
#if defined(MBEDTLS_AESNI_C) && !(defined(__x86_64__) || defined(__i386__))
#error "MBEDTLS_AESNI_C is for x86 boards: #undef it in the board's mbedtls_board_post.h"
#endif
#if defined(MBEDTLS_AESCE_C) && !(defined(__aarch64__) || (defined(__ARM_ARCH) && __ARM_ARCH >= 8))
#error "MBEDTLS_AESCE_C needs ARMv8 (the Crypto Extension): #undef it in mbedtls_board_post.h"
#endif

#endif /* TETHER_BOARD_CHECK_H */
