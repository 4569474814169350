/*
 * linux-aarch64: mbedTLS overrides (boards/common/mbedtls_config.h includes
 * this first; mbedtls_board_post.h removes what this board lacks).
 */
#ifndef TETHER_MBEDTLS_BOARD_H
#define TETHER_MBEDTLS_BOARD_H

/*
 * AES and GHASH on the ARMv8 Crypto Extension (MBEDTLS_AESCE_C, common
 * config), and SHA-256 on its SHA-2 instructions, both detected at run time
 * (getauxval), with the C code as the fallback. Cores without the extension
 * (e.g. the Raspberry Pi 4's Cortex-A72) use software AES, which is why the
 * full AES tables stay (no MBEDTLS_AES_FEWER_TABLES).
 */
#define MBEDTLS_SHA256_USE_ARMV8_A_CRYPTO_IF_PRESENT

/*
 * ECP window 4 (mbedTLS's default; common: 2): P-256 about 10% faster, for
 * about 4 KB more heap at a handshake's peak (TETHER_HEAP_PER_HANDSHAKE in
 * board.h).
 */
#define MBEDTLS_ECP_WINDOW_SIZE 4

/* Size: loop form of SHA-512 (used for SHA-384 only, during handshakes). */
#define MBEDTLS_SHA512_SMALLER

#define TETHER_MBEDTLS_BOARD_POST /* mbedtls_board_post.h */

#endif
