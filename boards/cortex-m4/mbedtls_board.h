/*
 * cortex-m4: mbedTLS overrides (boards/common/mbedtls_config.h includes this
 * first; mbedtls_board_post.h removes what this board lacks).
 *
 * No OS: time comes from the port (mbedtls_ms_time and the wall clock behind
 * time(), see platform.c), there is no C heap (mbedTLS allocates only from the
 * buffer allocator's region), and tables go to flash rather than RAM.
 * The record size stays the common 4096 so any two nodes interoperate.
 */
#ifndef TETHER_MBEDTLS_BOARD_H
#define TETHER_MBEDTLS_BOARD_H

#include <stddef.h>

/* Code size: the loop forms of SHA-256 and SHA-512 (handshakes and certificates only). */
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA512_SMALLER

/*
 * AES tables in flash (8 KB there) instead of computed into RAM at start-up:
 * RAM is the scarce resource here. ChaCha20-Poly1305 is preferred anyway
 * (no tables, and faster without AES instructions).
 */
#define MBEDTLS_AES_ROM_TABLES

/*
 * Fixed key store: 4 keys per session slot at most while handshaking, plus 4
 * for the node (boards/common/board_check.h). The self-test image holds two
 * nodes of 2 session slots each: 2 x (4 x 2 + 4) = 24; one node with the
 * board's TETHER_MAX_SESSIONS (4) needs 20. About 50 bytes each.
 */
#define MBEDTLS_PSA_KEY_SLOT_COUNT 24

/* Milliseconds (TLS 1.3 ticket ages) and calendar time come from the board. */
#define MBEDTLS_PLATFORM_MS_TIME_ALT
#define MBEDTLS_PLATFORM_GMTIME_R_ALT

/*
 * No C heap: before mbedtls_memory_buffer_alloc_init() allocations fail
 * instead of reaching newlib's malloc (which would need sbrk). platform.c.
 */
void *tether_board_no_calloc(size_t n, size_t size);
void tether_board_no_free(void *p);
#define MBEDTLS_PLATFORM_STD_CALLOC tether_board_no_calloc
#define MBEDTLS_PLATFORM_STD_FREE tether_board_no_free

/*
 * No stdio streams either: the buffer allocator's corruption reports
 * (MBEDTLS_MEMORY_DEBUG) go to the board's console, and its exit ends the run.
 * newlib's fprintf would bring FILE buffers, malloc and system calls.
 */
#include <stdio.h>
int tether_board_fprintf(FILE *stream, const char *fmt, ...);
void board_exit(int code) __attribute__((noreturn));
#define MBEDTLS_PLATFORM_FPRINTF_MACRO tether_board_fprintf
#define MBEDTLS_PLATFORM_EXIT_MACRO board_exit

#define TETHER_MBEDTLS_BOARD_POST /* mbedtls_board_post.h */

#endif
