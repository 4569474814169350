/*
 * rand.h: uniform random numbers for timers (jitter, PING payloads).
 */
#ifndef TETHER_RAND_H
#define TETHER_RAND_H

#include <stdint.h>

/*
 * A uniform value in 0..below-1 from the PSA random generator (0 if below is
 * 0). Not for keys. If the generator fails, below / 2: jitter then degrades
 * to a fixed delay, nothing stops.
 */
uint32_t tether_random_below(uint32_t below);

#endif
