/* linux-armhf: removals from the common mbedTLS config, then the board checks. */
#undef MBEDTLS_AESNI_C /* Intel's AES-NI: not on Arm */
#undef MBEDTLS_AESCE_C /* the ARMv8 Crypto Extension: ARMv7 has none */

#include "boards/common/board_check.h"
