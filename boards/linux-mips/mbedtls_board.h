/*
 * linux-mips: mbedTLS overrides (boards/common/mbedtls_config.h includes this
 * first; mbedtls_board_post.h removes what this board lacks).
 *
 * MIPS32r2 has no AES or SHA instructions: everything runs in C (bignum has
 * MIPS assembly through MBEDTLS_HAVE_ASM). The ECP window stays at the common
 * 2 (RAM over speed). The full AES tables stay (8 KB of RAM): software AES is
 * the only AES here, and the small tables would slow it.
 */
#ifndef TETHER_MBEDTLS_BOARD_H
#define TETHER_MBEDTLS_BOARD_H

/*
 * Size: loop forms of SHA-256 and SHA-512. They hash handshake transcripts
 * and certificates, not the traffic.
 */
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA512_SMALLER

/*
 * Fixed key store, smaller code than the dynamic one: 4 keys per session slot
 * at most for the board's TETHER_MAX_SESSIONS, plus 4 for the node.
 */
#define MBEDTLS_PSA_KEY_SLOT_COUNT (4 * 32 + 4)

#define TETHER_MBEDTLS_BOARD_POST /* mbedtls_board_post.h */

#endif
