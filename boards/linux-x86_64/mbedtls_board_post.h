/* linux-x86_64: removals from the common mbedTLS config, then the board checks. */
#undef MBEDTLS_AESCE_C /* Arm's Crypto Extension: not on x86 */

#include "boards/common/board_check.h"
