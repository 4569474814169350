/*
 * host: mbedTLS overrides for the native development build. None: the host
 * uses the defaults of boards/common/mbedtls_config.h, so that the tests run
 * the same configuration the small boards use.
 */
#ifndef TETHER_MBEDTLS_BOARD_H
#define TETHER_MBEDTLS_BOARD_H

#define TETHER_MBEDTLS_BOARD_POST /* mbedtls_board_post.h: the board checks */

#endif
