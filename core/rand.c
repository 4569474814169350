/*
 * rand.c: uniform random numbers below a bound (rand.h).
 */
#include "rand.h"

#include <psa/crypto.h>

uint32_t tether_random_below(uint32_t below)
{
	/* Values at or above limit would favour the low residues: draw again. */
	uint32_t limit, v;
	int tries;

	if (below == 0)
		return 0;
	limit = UINT32_MAX - (UINT32_MAX % below);
	for (tries = 0; tries < 8; tries++) {
		if (psa_generate_random((uint8_t *)&v, sizeof(v)) != PSA_SUCCESS)
			return below / 2;
		if (v < limit)
			return v % below;
	}
	return v % below;
}
