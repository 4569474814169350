/* linux-mips: removals from the common mbedTLS config, then the board checks. */
#undef MBEDTLS_AESNI_C /* Intel's AES-NI: not on MIPS */
#undef MBEDTLS_AESCE_C /* Arm's Crypto Extension: not on MIPS */

#include "boards/common/board_check.h"
