/* host: removals from the common mbedTLS config (none), then the board checks. */
#if !defined(__aarch64__)
#undef MBEDTLS_AESCE_C /* Arm's Crypto Extension: only on Arm hosts */
#endif
#if !(defined(__x86_64__) || defined(__i386__))
#undef MBEDTLS_AESNI_C
#endif

#include "boards/common/board_check.h"
