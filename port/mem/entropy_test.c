/*
 * entropy_test.c: TEST-ONLY randomness. NOT SECURE.
 *
 * The in-memory port runs where no entropy source is wired up yet (the
 * cortex-m4 image under qemu, simulations on the host). Its randomness comes
 * from a fixed-seed generator: every run draws the same bytes, so every key,
 * nonce and ECDSA blinding value is predictable. That is what a replayable
 * test wants and what no device may ship.
 *
 * mbedTLS is built with MBEDTLS_NO_PLATFORM_ENTROPY and
 * MBEDTLS_ENTROPY_HARDWARE_ALT, so mbedtls_hardware_poll() below is its only
 * entropy source, and port_entropy() serves everything else; both draw on
 * entropy_fill(). A real board replaces entropy_fill() with its hardware RNG
 * (on an STM32F4: enable RNGEN in RNG->CR, then for each 32-bit word wait for
 * DRDY in RNG->SR, fail on SECS or CECS, read RNG->DR) and drops this file's
 * warnings: that one function is the whole change.
 */
#include "port/mem/mem_impl.h"

/* Loud at every build; CMake keeps it a warning even under -Werror (-Wno-error=cpp). */
#warning "TEST-ONLY ENTROPY (fixed seed), NOT SECURE: replace entropy_fill() with a hardware RNG"

/* MBEDTLS_ERR_ENTROPY_SOURCE_FAILED; spelled out to keep mbedTLS headers out of the port. */
#define ENTROPY_SOURCE_FAILED (-0x003C)
#define TEST_SEED 0x7465746865722d34ull /* "tether-4" */

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

static uint64_t state = TEST_SEED;
static int warned;
static int failing; /* port_mem_fault_entropy() */

void port_mem_seed(uint64_t seed)
{
	state = seed;
}

void port_mem_fault_entropy(int fail)
{
	failing = fail != 0;
}

/* splitmix64: well mixed, and trivially predictable, which is the point here. */
static uint64_t next64(void)
{
	uint64_t z = (state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* THE function to replace with a hardware RNG: fill buf completely, 0, or <0 on failure. */
static int entropy_fill(unsigned char *buf, size_t len)
{
	if (!warned) {
		static const char line[] =
			"level=warn event=entropy source=test-only reason=\"TEST-ONLY ENTROPY: NOT "
			"SECURE (fixed seed; replace entropy_fill() in port/mem/entropy_test.c)\"";

		warned = 1;
		port_log_write(NULL, line, sizeof(line) - 1);
	}
	if (failing)
		return TETHER_ERR_IO; /* the source is broken: nothing is drawn */
	while (len > 0) {
		uint64_t v = next64();
		size_t i;

		for (i = 0; i < 8 && len > 0; i++, len--, v >>= 8)
			*buf++ = (unsigned char)v;
	}
	return 0;
}

int port_entropy(struct port *p, unsigned char *buf, size_t len)
{
	(void)p;
	if (buf == NULL && len > 0)
		return TETHER_ERR_INVALID;
	return entropy_fill(buf, len);
}

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
	(void)data;
	*olen = 0;
	if (entropy_fill(output, len) != 0)
		return ENTROPY_SOURCE_FAILED;
	*olen = len;
	return 0;
}
