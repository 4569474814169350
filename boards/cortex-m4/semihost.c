/*
 * semihost.c: console and exit through Arm semihosting (BKPT 0xAB), which
 * qemu (-semihosting-config enable=on) and debug probes (OpenOCD, pyOCD)
 * serve. A board without a debugger attached would use a UART instead: a
 * semihosting call with nobody listening stops the core.
 */
#include <stdint.h>
#include <string.h>

#include "boards/cortex-m4/board_io.h"

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUNTIME_ERROR 0x20023

static int semihost(int op, const void *arg)
{
	register int r0 __asm__("r0") = op;
	register const void *r1 __asm__("r1") = arg;

	__asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

void board_write(const char *s, size_t len)
{
	char chunk[129];

	/* SYS_WRITE0 takes a NUL-terminated string: pass the bytes in pieces. */
	while (len > 0) {
		size_t n = len < sizeof(chunk) - 1 ? len : sizeof(chunk) - 1;

		memcpy(chunk, s, n);
		chunk[n] = '\0';
		semihost(SYS_WRITE0, chunk);
		s += n;
		len -= n;
	}
}

void board_exit(int code)
{
	/* SYS_EXIT_EXTENDED carries the status; plain SYS_EXIT only pass or fail. */
	uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};

	semihost(SYS_EXIT_EXTENDED, block);
	semihost(SYS_EXIT, (const void *)(uintptr_t)(code == 0 ? ADP_STOPPED_APPLICATION_EXIT
							       : ADP_STOPPED_RUNTIME_ERROR));
	for (;;)
		__asm__ volatile("wfi");
}
