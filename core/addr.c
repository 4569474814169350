/*
 * addr.c: IP addresses in text (addr.h).
 */
#include "core/addr.h"

#include <string.h>

int addr_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool addr_v4(const char *s, size_t n, uint8_t out[4])
{
	uint8_t b[4];
	unsigned parts = 0;
	size_t i = 0;

	while (parts < 4) {
		size_t start = i;
		unsigned v = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return false;
		b[parts++] = (uint8_t)v;
		if (parts < 4) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
	}
	if (i != n)
		return false;
	if (out != NULL)
		memcpy(out, b, 4);
	return true;
}

bool addr_v6(const char *s, size_t n, uint8_t out[16])
{
	uint8_t g[16];		     /* the groups as written, two bytes each */
	unsigned count = 0, gap = 8; /* gap: groups before "::", 8 if none */
	size_t i = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	}
	while (i < n) {
		unsigned v = 0, digits = 0;
		size_t j;
		int d;

		/* An IPv4 tail is recognised by a '.' before the next ':'. */
		for (j = i; j < n && s[j] != ':' && s[j] != '.'; j++)
			;
		if (j < n && s[j] == '.') {
			if (count > 6 || !addr_v4(s + i, n - i, g + 2 * count))
				return false;
			count += 2;
			i = n;
			break;
		}
		while (i < n && (d = addr_hex_digit(s[i])) >= 0 && digits < 4) {
			v = v * 16 + (unsigned)d;
			digits++;
			i++;
		}
		if (digits == 0 || count == 8)
			return false;
		g[2 * count] = (uint8_t)(v >> 8);
		g[2 * count + 1] = (uint8_t)v;
		count++;
		if (i == n)
			break;
		if (s[i] != ':')
			return false;
		i++;
		if (i < n && s[i] == ':') {
			if (gap != 8)
				return false;
			gap = count;
			i++;
		} else if (i == n) {
			return false; /* a single trailing ':' */
		}
	}
	if (gap == 8 ? count != 8 : count > 7)
		return false;
	if (out != NULL) {
		unsigned after = gap == 8 ? 0 : count - gap; /* groups after "::" sit at the end */

		memset(out, 0, 16);
		memcpy(out, g, 2 * (count - after));
		memcpy(out + 16 - 2 * after, g + 2 * (count - after), 2 * after);
	}
	return true;
}
