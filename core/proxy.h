/*
 * proxy.h: the PROXY protocol version 2 header (haproxy's proxy-protocol.txt,
 * section 2.2) that tells a plaintext target who is calling: the client's
 * address and, in TLVs, the identity its certificate proved.
 *
 * TLVs written (docs/PROTOCOL.md, "PROXY v2 header"):
 *   0x20 PP2_TYPE_SSL: client = PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN, verify
 *        = 0 (verified), then the sub-TLVs 0x21 SSL_VERSION ("TLSv1.3"),
 *        0x22 SSL_CN (the subject CN, when there is one), 0x23 SSL_CIPHER
 *        (IANA suite name);
 *   0xE0 tether identity: the verified identity that matched the allow list
 *        (URI SAN, DNS SAN or CN, UTF-8);
 *   0xE1 tether SPKI pin: the SHA-256 of the client's SubjectPublicKeyInfo;
 *   0xE2 tether peer: the calling tether node's name (services only).
 * No CRC32C TLV: the header travels on a local connection.
 */
#ifndef TETHER_PROXY_H
#define TETHER_PROXY_H

#include <stddef.h>
#include <stdint.h>

#define PROXY_SIG_LEN 12
#define PROXY_HEADER_MIN 16 /* signature, version/command, family, length */

#define PP2_TYPE_SSL 0x20
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN 0x22
#define PP2_SUBTYPE_SSL_CIPHER 0x23
#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02
#define PP2_TYPE_TETHER_ID 0xE0
#define PP2_TYPE_TETHER_SPKI 0xE1
#define PP2_TYPE_TETHER_PEER 0xE2

/* What the header says; NULL strings and a NULL spki are left out. */
struct proxy_info {
	const char *src;	 /* "ip:port" of the client ("[v6]:port" for IPv6) */
	const char *dst;	 /* "ip:port" the client connected to */
	const char *tls_version; /* "TLSv1.3" */
	const char *cn;
	const char *cipher;
	const char *id;
	const uint8_t *spki; /* 32 bytes */
	const char *peer;
};

/*
 * proxy_v2_write: the header for info into buf (cap bytes). Returns its
 * length, or 0 if it does not fit. Addresses that are not IPv4 or IPv6
 * literals of one family give the UNSPEC family (no addresses), as the spec
 * allows; the TLVs are written all the same.
 */
size_t proxy_v2_write(const struct proxy_info *info, uint8_t *buf, size_t cap);

#endif
