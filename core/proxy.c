/*
 * proxy.c: the PROXY protocol v2 header (proxy.h).
 */
#include "core/proxy.h"

#include <string.h>

static const uint8_t sig[PROXY_SIG_LEN] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

static int parse_v4(const char *s, size_t n, uint8_t out[4])
{
	unsigned part = 0, v = 0, digits = 0;
	size_t i;

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (digits == 0 || part > 3)
				return -1;
			out[part++] = (uint8_t)v;
			v = 0;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			digits++;
			if (v > 255)
				return -1;
		} else {
			return -1;
		}
	}
	return part == 4 ? 0 : -1;
}

/* An IPv6 literal without brackets (no zone, no dotted tail). */
static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	size_t i = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	}
	while (i < n) {
		unsigned v = 0, d = 0;

		while (i < n && hexval(s[i]) >= 0 && d < 4) {
			v = v * 16 + (unsigned)hexval(s[i]);
			i++;
			d++;
		}
		if (d == 0 || ng == 8)
			return -1;
		g[ng++] = (uint16_t)v;
		if (i == n)
			break;
		if (s[i] != ':')
			return -1;
		i++;
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return -1;
			gap = ng;
			i++;
		} else if (i == n) {
			return -1;
		}
	}
	if (gap < 0 && ng != 8)
		return -1;
	memset(out, 0, 16);
	if (gap < 0) {
		gap = ng;
	} else if (ng == 8) {
		return -1;
	}
	for (int k = 0; k < gap; k++) {
		out[2 * k] = (uint8_t)(g[k] >> 8);
		out[2 * k + 1] = (uint8_t)g[k];
	}
	for (int k = gap; k < ng; k++) {
		int at = 8 - (ng - k);

		out[2 * at] = (uint8_t)(g[k] >> 8);
		out[2 * at + 1] = (uint8_t)g[k];
	}
	return 0;
}

/* "ip:port" or "[v6]:port": family 4 or 6 with addr and port, 0 if neither. */
static int parse_addr(const char *a, uint8_t addr[16], uint16_t *port)
{
	const char *colon;

	if (a == NULL)
		return 0;
	if (a[0] == '[') {
		const char *end = strchr(a, ']');

		if (end == NULL || end[1] != ':' || parse_port(end + 2, port) != 0)
			return 0;
		return parse_v6(a + 1, (size_t)(end - a - 1), addr) == 0 ? 6 : 0;
	}
	colon = strrchr(a, ':');
	if (colon == NULL || parse_port(colon + 1, port) != 0)
		return 0;
	return parse_v4(a, (size_t)(colon - a), addr) == 0 ? 4 : 0;
}

struct out {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct out *o, const void *b, size_t n)
{
	if (o->len + n <= o->cap)
		memcpy(o->p + o->len, b, n);
	o->len += n;
}

static void put_u8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put_u16(struct out *o, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(o, b, 2);
}

static void put_tlv(struct out *o, uint8_t type, const void *v, size_t n)
{
	put_u8(o, type);
	put_u16(o, (uint16_t)n);
	put(o, v, n);
}

static void put_str_tlv(struct out *o, uint8_t type, const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return;
	while (n < 1024 && s[n] != '\0')
		n++;
	if (n > 0)
		put_tlv(o, type, s, n);
}

size_t proxy_v2_write(const struct proxy_info *info, uint8_t *buf, size_t cap)
{
	struct out o = {buf, 0, cap};
	uint8_t sa[16], da[16];
	uint16_t sp = 0, dp = 0;
	int fs = parse_addr(info->src, sa, &sp);
	int fd = parse_addr(info->dst, da, &dp);
	size_t len_at, ssl_at, body;

	put(&o, sig, sizeof(sig));
	put_u8(&o, 0x21); /* version 2, PROXY */
	if (fs != 0 && fs == fd)
		put_u8(&o, fs == 4 ? 0x11 : 0x21); /* TCP over IPv4 / IPv6 */
	else
		put_u8(&o, 0x00); /* UNSPEC */
	len_at = o.len;
	put_u16(&o, 0);
	if (fs != 0 && fs == fd) {
		size_t n = fs == 4 ? 4 : 16;

		put(&o, sa, n);
		put(&o, da, n);
		put_u16(&o, sp);
		put_u16(&o, dp);
	}
	if (info->tls_version != NULL) {
		uint8_t head[5] = {PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN, 0, 0, 0, 0};

		put_u8(&o, PP2_TYPE_SSL);
		ssl_at = o.len;
		put_u16(&o, 0);
		put(&o, head, sizeof(head));
		put_str_tlv(&o, PP2_SUBTYPE_SSL_VERSION, info->tls_version);
		put_str_tlv(&o, PP2_SUBTYPE_SSL_CN, info->cn);
		put_str_tlv(&o, PP2_SUBTYPE_SSL_CIPHER, info->cipher);
		if (o.len <= o.cap) {
			body = o.len - ssl_at - 2;
			buf[ssl_at] = (uint8_t)(body >> 8);
			buf[ssl_at + 1] = (uint8_t)body;
		}
	}
	put_str_tlv(&o, PP2_TYPE_TETHER_ID, info->id);
	if (info->spki != NULL)
		put_tlv(&o, PP2_TYPE_TETHER_SPKI, info->spki, 32);
	put_str_tlv(&o, PP2_TYPE_TETHER_PEER, info->peer);
	if (o.len > o.cap || o.len - PROXY_HEADER_MIN > 0xffff)
		return 0;
	body = o.len - PROXY_HEADER_MIN;
	buf[len_at] = (uint8_t)(body >> 8);
	buf[len_at + 1] = (uint8_t)body;
	return o.len;
}
