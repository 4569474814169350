/*
 * linux-armhf: mbedTLS overrides (boards/common/mbedtls_config.h includes
 * this first; mbedtls_board_post.h removes what this board lacks).
 *
 * ARMv7 has no AES or SHA instructions: everything runs in C (bignum has
 * Thumb-2 assembly through MBEDTLS_HAVE_ASM). The ECP window stays at the
 * common 2 (RAM over speed). The full AES tables stay (8 KB of RAM): on this
 * board software AES is the only AES, and the small tables would slow it.
 */
#ifndef TETHER_MBEDTLS_BOARD_H
#define TETHER_MBEDTLS_BOARD_H

/*
 * Size (the board's budget is 200 KiB): loop forms of SHA-256 and SHA-512,
 * about 4 KB smaller here. They hash handshake transcripts and certificates,
 * not the traffic.
 */
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA512_SMALLER

/*
 * Fixed key store, smaller code than the dynamic one: 4 keys per session slot
 * at most (a handshake holds up to 4, an established session 2) for the
 * board's TETHER_MAX_SESSIONS, plus 4 for the node. About 50 bytes each.
 */
#define MBEDTLS_PSA_KEY_SLOT_COUNT (4 * 32 + 4)

#define TETHER_MBEDTLS_BOARD_POST /* mbedtls_board_post.h */

#endif
