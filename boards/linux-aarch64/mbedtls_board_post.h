/* linux-aarch64: removals from the common mbedTLS config, then the board checks. */
#undef MBEDTLS_AESNI_C /* Intel's AES-NI: not on Arm */

#include "boards/common/board_check.h"
