/*
 * frame.h: the tether frame codec (docs/PROTOCOL.md is the normative text).
 *
 * Every frame is an 8-byte header then `length` payload bytes:
 *
 *   0      1      2      3      4      5      6      7
 *   +------+------+------+------+------+------+------+------+
 *   | type | flags|  length (BE) |      stream id (BE)       |
 *   +------+------+------+------+------+------+------+------+
 *
 * The codec does no I/O and keeps no state: callers own every buffer. Decoders
 * validate everything the protocol fixes (known type, flags zero, length
 * within the negotiated maximum and the type's own bounds, stream id zero or
 * non-zero as the type demands) and on failure return TETHER_ERR_PROTOCOL and
 * set *why to a static phrase for the GOAWAY reason and the log.
 */
#ifndef TETHER_FRAME_H
#define TETHER_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_LEN 8
#define FRAME_VERSION 1
/* Smallest max_frame a HELLO may announce; the default is record size - header. */
#define FRAME_MIN_MAX_PAYLOAD 1024u
#define FRAME_NAME_MAX 63    /* node and service names */
#define FRAME_REASON_MAX 200 /* GOAWAY reason text */
#define FRAME_MIN_WINDOW 4096u
#define FRAME_MAX_WINDOW 0x7fffffffu

enum frame_type {
	FRAME_HELLO = 0x0,
	FRAME_OPEN = 0x1,
	FRAME_DATA = 0x2,
	FRAME_WINDOW = 0x3,
	FRAME_CLOSE = 0x4,
	FRAME_RESET = 0x5,
	FRAME_PING = 0x6,
	FRAME_PONG = 0x7,
	FRAME_GOAWAY = 0x8,
	/* Only where both HELLOs announced FRAME_CAP_CRL (PROTOCOL.md section 12). */
	FRAME_CRL_HAVE = 0x9, /* the CRLs the sender holds: issuer id and number each */
	FRAME_CRL_GET = 0xa,  /* send me your CRL of this issuer */
	FRAME_CRL = 0xb,      /* a piece of a CRL (DER): total, offset, bytes */
	/* Only where both HELLOs announced FRAME_CAP_ROLL. */
	FRAME_ROLL = 0xc, /* to the dialer: dial a successor, then let this session drain */
	/* Only where both HELLOs announced FRAME_CAP_RENEW (PROTOCOL.md section 13). */
	FRAME_RENEW_REQ = 0xd, /* sign this CSR (DER): renew my certificate */
	FRAME_RENEW_ANS = 0xe, /* the answer: result, then the certificate (DER) or a reason */
};

/* HELLO capability bits. */
#define FRAME_CAP_CRL 0x1u   /* CRL_HAVE, CRL_GET and CRL frames understood */
#define FRAME_CAP_ROLL 0x2u  /* ROLL understood */
#define FRAME_CAP_RENEW 0x4u /* RENEW_REQ and RENEW_ANS understood */

/* RENEW_REQ carries a CSR, RENEW_ANS a result byte and a certificate: each at most this. */
#define FRAME_RENEW_DER_MAX 2048
#define FRAME_RENEW_ISSUED 0  /* RENEW_ANS result: the certificate follows */
#define FRAME_RENEW_REFUSED 1 /* RENEW_ANS result: the reason follows, in words */

#define FRAME_CRL_ISSUER_ID 8	/* the first 8 bytes of SHA-256(issuer DN, DER) */
#define FRAME_CRL_NUMBER_MAX 20 /* RFC 5280: at most 20 octets */
#define FRAME_CRL_HAVE_MAX 4	/* entries in one CRL_HAVE */
#define FRAME_CRL_PIECE_HEAD 8	/* CRL: u32 total, u32 offset, then the bytes */

/* One CRL a node holds, as CRL_HAVE announces it. */
struct frame_crl_have {
	uint8_t issuer[FRAME_CRL_ISSUER_ID];
	uint8_t number_len; /* 0..20: 0 is the number zero */
	uint8_t number[FRAME_CRL_NUMBER_MAX];
};

/* RESET codes: why one stream ended abnormally. */
enum frame_reset_code {
	FRAME_RESET_CANCEL = 1,	      /* the local application aborted or failed */
	FRAME_RESET_NO_SERVICE = 2,   /* no such service exported */
	FRAME_RESET_FORBIDDEN = 3,    /* service not allowed to this peer */
	FRAME_RESET_UNREACHABLE = 4,  /* the service's target refused or failed */
	FRAME_RESET_NO_RESOURCES = 5, /* stream pool exhausted */
	FRAME_RESET_STREAM_ERROR = 6, /* stream protocol misuse (e.g. DATA after CLOSE) */
	FRAME_RESET_SHUTDOWN = 7,     /* node shutting down, drain deadline passed */
};

/* GOAWAY codes: why a session ends. */
enum frame_goaway_code {
	FRAME_GOAWAY_NORMAL = 0,     /* orderly shutdown */
	FRAME_GOAWAY_PROTOCOL = 1,   /* malformed frame or illegal sequence */
	FRAME_GOAWAY_FRAME_SIZE = 2, /* frame longer than the announced maximum */
	FRAME_GOAWAY_FLOW = 3,	     /* DATA beyond the granted window */
	FRAME_GOAWAY_IDENTITY = 4,   /* HELLO name is not the certificate's peer */
	FRAME_GOAWAY_DUPLICATE = 5,  /* another session with this peer is kept */
	FRAME_GOAWAY_TIMEOUT = 6,    /* keepalive or HELLO deadline passed */
	FRAME_GOAWAY_INTERNAL = 7,   /* local failure */
	FRAME_GOAWAY_VERSION = 8,    /* unsupported protocol version */
	FRAME_GOAWAY_LIFETIME = 9,   /* session reached its maximum lifetime, or is rolled */
	FRAME_GOAWAY_POLICY = 10,    /* the peer is no longer trusted or allowed (a reload) */
};

struct frame_header {
	uint8_t type;
	uint8_t flags;
	uint16_t length;
	uint32_t stream;
};

struct frame_hello {
	uint8_t version;
	uint16_t max_payload;  /* largest payload the sender accepts */
	uint32_t window;       /* initial window the sender grants per stream */
	uint32_t capabilities; /* bit set; receivers ignore unknown bits */
	char name[FRAME_NAME_MAX + 1];
};

/* Write h as 8 bytes to out. */
void frame_header_encode(const struct frame_header *h, uint8_t out[FRAME_HEADER_LEN]);

/*
 * frame_header_decode: parse and validate 8 header bytes. max_payload is the
 * largest payload this side announced. Returns 0, or TETHER_ERR_PROTOCOL with
 * *why set; *code (may be NULL) is set to the GOAWAY code to send
 * (FRAME_GOAWAY_FRAME_SIZE for a length over max_payload, else PROTOCOL).
 */
int frame_header_decode(const uint8_t in[FRAME_HEADER_LEN], uint32_t max_payload,
			struct frame_header *h, const char **why, int *code);

/*
 * Payload encoders write into out (cap bytes) and return the payload length,
 * or TETHER_ERR_TOO_BIG / TETHER_ERR_INVALID. Decoders take the payload whose
 * length the header already validated and return 0 or TETHER_ERR_PROTOCOL
 * with *why set.
 */
int frame_hello_encode(const struct frame_hello *h, uint8_t *out, size_t cap);
int frame_hello_decode(const uint8_t *p, size_t len, struct frame_hello *h, const char **why);

int frame_open_encode(const char *service, uint8_t *out, size_t cap);
int frame_open_decode(const uint8_t *p, size_t len, char service[FRAME_NAME_MAX + 1],
		      const char **why);

/*
 * CRL_HAVE: n (0..FRAME_CRL_HAVE_MAX) entries, each issuer id, number length,
 * number (big-endian, no leading zero octet).
 */
int frame_crl_have_encode(const struct frame_crl_have *h, unsigned n, uint8_t *out, size_t cap);
int frame_crl_have_decode(const uint8_t *p, size_t len, struct frame_crl_have *h, unsigned *n,
			  const char **why);

/* WINDOW increment, RESET code: one big-endian u32. */
void frame_u32_encode(uint32_t v, uint8_t out[4]);
uint32_t frame_u32_decode(const uint8_t in[4]);

int frame_goaway_encode(uint32_t code, const char *reason, uint8_t *out, size_t cap);
/* reason receives at most FRAME_REASON_MAX chars + NUL; non-printable bytes become '?'. */
int frame_goaway_decode(const uint8_t *p, size_t len, uint32_t *code,
			char reason[FRAME_REASON_MAX + 1], const char **why);

/*
 * frame_build: header + payload into out (cap bytes), payload copied from p
 * (p may be NULL when len is 0, or when the caller already placed the payload
 * at out + FRAME_HEADER_LEN). Returns the total length or TETHER_ERR_TOO_BIG.
 */
int frame_build(uint8_t *out, size_t cap, uint8_t type, uint32_t stream, const void *p, size_t len);

/*
 * frame_window_add: apply a received WINDOW increment to the send window it
 * credits. Returns 0 with *window raised, or TETHER_ERR_PROTOCOL with *why set,
 * *window unchanged and *code (may be NULL) the GOAWAY code: PROTOCOL for an
 * increment outside 1..FRAME_MAX_WINDOW, FLOW if the window would pass
 * FRAME_MAX_WINDOW.
 */
int frame_window_add(uint32_t *window, uint32_t increment, const char **why, int *code);

/*
 * frame_name_valid: 1 if the len bytes at s are a valid name: [A-Za-z0-9._-]{1,63}.
 * The one rule for node, peer, service and user names, on the wire (HELLO,
 * OPEN), in a config and on the command line. s NULL or len 0: 0.
 */
int frame_name_valid(const char *s, size_t len);

/* frame_name_valid_str: the same for the NUL-terminated s (NULL: 0). */
int frame_name_valid_str(const char *s);

/* Static names for logs: "DATA", "reset code 3" names, GOAWAY code names. */
const char *frame_type_name(unsigned type);
const char *frame_reset_name(uint32_t code);
const char *frame_goaway_name(uint32_t code);

#endif
