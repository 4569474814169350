/*
 * proxy.c: the PROXY protocol v2 header (proxy.h).
 */
#include "core/proxy.h"

#include <string.h>

#include "core/addr.h"

static const uint8_t sig[PROXY_SIG_LEN] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

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
		return addr_v6(a + 1, (size_t)(end - a - 1), addr) ? 6 : 0;
	}
	colon = strrchr(a, ':');
	if (colon == NULL || parse_port(colon + 1, port) != 0)
		return 0;
	return addr_v4(a, (size_t)(colon - a), addr) ? 4 : 0;
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
