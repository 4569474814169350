/*
 * linux-x86_64: mbedTLS overrides (boards/common/mbedtls_config.h includes
 * this first; mbedtls_board_post.h removes what this board lacks).
 *
 * Records stay at the common 4 KB each way, like every board, so that any two
 * nodes interoperate and a session stays within its heap budget.
 */
#ifndef TETHER_MBEDTLS_BOARD_H
#define TETHER_MBEDTLS_BOARD_H

/*
 * ECP window 4 (mbedTLS's own default; the common config uses 2 to save RAM):
 * P-256 signatures and verifications about 10% faster (measured here: sign
 * 1.18 ms instead of 1.32, verify 2.33 ms instead of 2.65), for about 4 KB
 * more heap at a handshake's peak (22.9 KB instead of 19.0 KB measured;
 * TETHER_HEAP_PER_HANDSHAKE in board.h).
 */
#define MBEDTLS_ECP_WINDOW_SIZE 4

/*
 * Fixed-point optimisation: mbedTLS's precomputed multiples of the P-256 base
 * point, constant tables in the program (about 2.7 KB of text, no heap:
 * handshake peak 23.4 KB against 23.7 KB without). Server CPU per full TLS
 * 1.3 mTLS handshake, measured with bench/run.py (300 handshakes, X25519,
 * P-256 certificates; docs/BENCH.md): window 2 6.77 ms, window 4 5.07 ms,
 * window 4 with fixed-point tables 4.50 ms.
 */
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 1

/*
 * AES runs on AES-NI (MBEDTLS_AESNI_C, detected at run time); the software
 * tables are only the fallback for CPUs without it, so they can be the small
 * set (2 KB instead of 8 KB of RAM, computed at start-up).
 */
#define MBEDTLS_AES_FEWER_TABLES

/*
 * Size (the board's budget is 300 KiB): loop forms of SHA-256 and SHA-512,
 * about 3 KB smaller. They hash handshake transcripts and certificates, not
 * the traffic (that is AES-GCM or ChaCha20-Poly1305), so the cost in time is
 * lost in the noise of a handshake.
 */
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA512_SMALLER

/* Key store: the common dynamic one, bounded by the TLS heap region (sized from limits). */

#define TETHER_MBEDTLS_BOARD_POST /* mbedtls_board_post.h */

#endif
