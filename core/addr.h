/*
 * addr.h: IP addresses in text, parsed once for everyone: the config's
 * syntax checks, the PROXY v2 header's address block and admission's
 * source grouping. No allocation, no OS call (inet_pton is the port's, and
 * core has none).
 */
#ifndef TETHER_ADDR_H
#define TETHER_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of a hex digit, or -1. */
int addr_hex_digit(char c);

/*
 * addr_v4: n bytes at s as a dotted quad: four decimal parts 0..255 without
 * leading zeros (as inet_pton takes them). out may be NULL.
 */
bool addr_v4(const char *s, size_t n, uint8_t out[4]);

/*
 * addr_v6: n bytes at s (no brackets) as an IPv6 address in RFC 4291 text
 * form: up to 8 groups of 1-4 hex digits, "::" at most once, an optional
 * dotted IPv4 tail; no zone. out (16 bytes, network order) may be NULL.
 */
bool addr_v6(const char *s, size_t n, uint8_t out[16]);

#endif
