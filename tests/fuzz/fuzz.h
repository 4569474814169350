/*
 * fuzz.h: what every libFuzzer target shares: the entry point's prototype
 * and CHECK, which aborts so that libFuzzer keeps the input that broke a
 * property (an abort is a finding, like a sanitizer report).
 */
#ifndef TETHER_FUZZ_H
#define TETHER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

#endif
