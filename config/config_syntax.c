/*
 * config_syntax.c: the grammars of config values (see config_syntax.h).
 *
 * Written by hand rather than with inet_pton() and friends so that the same
 * rules hold on every board, with or without a C library that has them.
 */
#include "config/config_syntax.h"

#include <string.h>

#include "base/err.h"
#include "config/config.h"
#include "core/addr.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool hostname_ok(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
		if (label == 0 && s[i] == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

const char *config_syntax_addr(const char *s)
{
	size_t n = strlen(s);
	const char *colon;
	const char *port;
	unsigned long v = 0;
	size_t plen;

	if (n >= TETHER_ADDR_MAX)
		return "too long";
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL)
			return "missing ']' after the IPv6 address";
		if (!addr_v6(s + 1, (size_t)(end - s - 1), NULL))
			return "bad IPv6 address";
		if (end[1] != ':')
			return "missing port";
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return "missing port";
		if (colon == s)
			return "missing host";
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return "IPv6 addresses must be written in brackets";
		/* All digits and dots can only be meant as IPv4. */
		if (strspn(s, "0123456789.") >= (size_t)(colon - s)) {
			if (!addr_v4(s, (size_t)(colon - s), NULL))
				return "bad IPv4 address";
		} else if (!hostname_ok(s, (size_t)(colon - s))) {
			return "bad host name";
		}
	}
	port = colon + 1;
	plen = strlen(port);
	if (plen == 0)
		return "missing port";
	if (plen > 5 || strspn(port, "0123456789") != plen || port[0] == '0')
		return "port must be 1 to 65535";
	for (size_t i = 0; i < plen; i++)
		v = v * 10 + (unsigned long)(port[i] - '0');
	if (v > 65535)
		return "port must be 1 to 65535";
	return NULL;
}

static const struct {
	const char *name;
	int iana;
	bool tls13;
} suites[] = {
	{"TLS_AES_128_GCM_SHA256", 0x1301, true},
	{"TLS_AES_256_GCM_SHA384", 0x1302, true},
	{"TLS_CHACHA20_POLY1305_SHA256", 0x1303, true},
	{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B, false},
	{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C, false},
	{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9, false},
};

int config_syntax_suite(const char *name, bool *tls13)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (strcmp(name, suites[i].name) == 0) {
			if (tls13 != NULL)
				*tls13 = suites[i].tls13;
			return suites[i].iana;
		}
	}
	return -1;
}

int config_syntax_join(char *out, size_t out_len, const char *base_dir, const char *path)
{
	size_t blen = base_dir != NULL ? strlen(base_dir) : 0;
	size_t plen = strlen(path);
	size_t sep;

	if (out_len == 0)
		return TETHER_ERR_TOO_BIG;
	out[0] = '\0';
	if (blen == 0 || path[0] == '/')
		blen = 0;
	sep = (blen > 0 && base_dir[blen - 1] != '/') ? 1 : 0;
	if (blen + sep + plen >= out_len)
		return TETHER_ERR_TOO_BIG;
	if (blen > 0)
		memcpy(out, base_dir, blen);
	if (sep)
		out[blen] = '/';
	memcpy(out + blen + sep, path, plen + 1);
	return 0;
}
