/*
 * frame.c: the tether frame codec (see frame.h; docs/PROTOCOL.md is normative).
 *
 * Pure functions over caller-owned buffers: no allocation, no I/O, no state.
 * Every decoder re-checks the bounds it relies on, even where the header
 * decoder already did, so each one is safe to call on arbitrary bytes.
 */
#include "core/frame.h"

#include <string.h>

#include "base/err.h"

/* Fixed part of a HELLO payload: everything before the name. */
#define HELLO_FIXED_LEN 13
#define GOAWAY_FIXED_LEN 4
#define CRL_HAVE_ENTRY_MAX (FRAME_CRL_ISSUER_ID + 1 + FRAME_CRL_NUMBER_MAX)
#define CRL_HAVE_MAX_LEN (1 + FRAME_CRL_HAVE_MAX * CRL_HAVE_ENTRY_MAX)

/* What the header decoder knows about each type. */
struct frame_rule {
	uint16_t min_len;
	uint16_t max_len; /* before the announced maximum is applied */
	uint8_t stream_zero;
	const char *bad_stream;
	const char *bad_len;
};

static const struct frame_rule frame_rules[] = {
	[FRAME_HELLO] = {HELLO_FIXED_LEN + 1, HELLO_FIXED_LEN + FRAME_NAME_MAX, 1,
			 "HELLO on a non-zero stream", "bad HELLO length"},
	[FRAME_OPEN] = {2, 1 + FRAME_NAME_MAX, 0, "OPEN on stream 0", "bad OPEN length"},
	[FRAME_DATA] = {1, UINT16_MAX, 0, "DATA on stream 0", "empty DATA"},
	[FRAME_WINDOW] = {4, 4, 0, "WINDOW on stream 0", "bad WINDOW length"},
	[FRAME_CLOSE] = {0, 0, 0, "CLOSE on stream 0", "CLOSE with a payload"},
	[FRAME_RESET] = {4, 4, 0, "RESET on stream 0", "bad RESET length"},
	[FRAME_PING] = {8, 8, 1, "PING on a non-zero stream", "bad PING length"},
	[FRAME_PONG] = {8, 8, 1, "PONG on a non-zero stream", "bad PONG length"},
	[FRAME_GOAWAY] = {GOAWAY_FIXED_LEN, GOAWAY_FIXED_LEN + FRAME_REASON_MAX, 1,
			  "GOAWAY on a non-zero stream", "bad GOAWAY length"},
	[FRAME_CRL_HAVE] = {1, CRL_HAVE_MAX_LEN, 1, "CRL_HAVE on a non-zero stream",
			    "bad CRL_HAVE length"},
	[FRAME_CRL_GET] = {FRAME_CRL_ISSUER_ID, FRAME_CRL_ISSUER_ID, 1,
			   "CRL_GET on a non-zero stream", "bad CRL_GET length"},
	[FRAME_CRL] = {FRAME_CRL_PIECE_HEAD + 1, UINT16_MAX, 1, "CRL on a non-zero stream",
		       "empty CRL piece"},
	[FRAME_ROLL] = {0, 0, 1, "ROLL on a non-zero stream", "ROLL with a payload"},
	[FRAME_RENEW_REQ] = {1, FRAME_RENEW_DER_MAX, 1, "RENEW_REQ on a non-zero stream",
			     "bad RENEW_REQ length"},
	[FRAME_RENEW_ANS] = {2, 1 + FRAME_RENEW_DER_MAX, 1, "RENEW_ANS on a non-zero stream",
			     "bad RENEW_ANS length"},
};

#define FRAME_TYPE_COUNT (sizeof(frame_rules) / sizeof(frame_rules[0]))

static int frame_fail(const char **why, const char *what)
{
	if (why)
		*why = what;
	return TETHER_ERR_PROTOCOL;
}

static void be16_put(uint8_t *out, uint16_t v)
{
	out[0] = (uint8_t)(v >> 8);
	out[1] = (uint8_t)v;
}

static uint16_t be16_get(const uint8_t *in)
{
	return (uint16_t)((unsigned)in[0] << 8 | in[1]);
}

void frame_u32_encode(uint32_t v, uint8_t out[4])
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

uint32_t frame_u32_decode(const uint8_t in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 |
	       (uint32_t)in[3];
}

/* Length of s up to limit + 1, so that "too long" is visible without strlen. */
static size_t bounded_len(const char *s, size_t limit)
{
	size_t n = 0;

	while (n <= limit && s[n] != '\0')
		n++;
	return n;
}

int frame_name_valid(const char *s, size_t len)
{
	if (!s || len < 1 || len > FRAME_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Spelled out: isalnum() follows the locale. */
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-')
			continue;
		return 0;
	}
	return 1;
}

int frame_name_valid_str(const char *s)
{
	return s != NULL && frame_name_valid(s, bounded_len(s, FRAME_NAME_MAX));
}

void frame_header_encode(const struct frame_header *h, uint8_t out[FRAME_HEADER_LEN])
{
	out[0] = h->type;
	out[1] = h->flags;
	be16_put(out + 2, h->length);
	frame_u32_encode(h->stream, out + 4);
}

/*
 * The checks run in the order docs/PROTOCOL.md gives (type, flags, announced
 * maximum, the type's bounds, stream id), so that both ends of a session agree
 * on which fault a frame with several is reported for.
 */
int frame_header_decode(const uint8_t in[FRAME_HEADER_LEN], uint32_t max_payload,
			struct frame_header *h, const char **why, int *code)
{
	const struct frame_rule *r;

	h->type = in[0];
	h->flags = in[1];
	h->length = be16_get(in + 2);
	h->stream = frame_u32_decode(in + 4);
	if (code)
		*code = FRAME_GOAWAY_PROTOCOL;

	if (h->type >= FRAME_TYPE_COUNT)
		return frame_fail(why, "unknown frame type");
	r = &frame_rules[h->type];
	if (h->flags != 0)
		return frame_fail(why, "nonzero flags");
	if (h->length > max_payload) {
		if (code)
			*code = FRAME_GOAWAY_FRAME_SIZE;
		return frame_fail(why, "frame too large");
	}
	if (h->length < r->min_len || h->length > r->max_len)
		return frame_fail(why, r->bad_len);
	if ((h->stream == 0) != (r->stream_zero != 0))
		return frame_fail(why, r->bad_stream);
	return 0;
}

int frame_hello_encode(const struct frame_hello *h, uint8_t *out, size_t cap)
{
	size_t name_len = bounded_len(h->name, FRAME_NAME_MAX);
	size_t len = HELLO_FIXED_LEN + name_len;

	if (!frame_name_valid(h->name, name_len) || h->max_payload < FRAME_MIN_MAX_PAYLOAD ||
	    h->window < FRAME_MIN_WINDOW || h->window > FRAME_MAX_WINDOW)
		return TETHER_ERR_INVALID;
	if (!out || cap < len)
		return TETHER_ERR_TOO_BIG;
	out[0] = h->version;
	out[1] = 0; /* reserved */
	be16_put(out + 2, h->max_payload);
	frame_u32_encode(h->window, out + 4);
	frame_u32_encode(h->capabilities, out + 8);
	out[12] = (uint8_t)name_len;
	memcpy(out + HELLO_FIXED_LEN, h->name, name_len);
	return (int)len;
}

/*
 * The version is the first byte and is stored before anything else is
 * checked, also when decoding fails: a peer speaking another version may lay
 * out the rest differently, and the caller should answer it with GOAWAY
 * VERSION rather than PROTOCOL.
 */
int frame_hello_decode(const uint8_t *p, size_t len, struct frame_hello *h, const char **why)
{
	size_t name_len;

	memset(h, 0, sizeof(*h));
	if (len < 1)
		return frame_fail(why, "bad HELLO length");
	h->version = p[0];
	if (len < HELLO_FIXED_LEN + 1 || len > HELLO_FIXED_LEN + FRAME_NAME_MAX)
		return frame_fail(why, "bad HELLO length");
	name_len = p[12];
	if (len != HELLO_FIXED_LEN + name_len)
		return frame_fail(why, "HELLO length does not match its name");
	if (!frame_name_valid((const char *)p + HELLO_FIXED_LEN, name_len))
		return frame_fail(why, "bad HELLO name");
	h->max_payload = be16_get(p + 2);
	h->window = frame_u32_decode(p + 4);
	h->capabilities = frame_u32_decode(p + 8);
	if (h->max_payload < FRAME_MIN_MAX_PAYLOAD)
		return frame_fail(why, "HELLO max_payload below 1024");
	if (h->window < FRAME_MIN_WINDOW || h->window > FRAME_MAX_WINDOW)
		return frame_fail(why, "HELLO window out of range");
	memcpy(h->name, p + HELLO_FIXED_LEN, name_len);
	h->name[name_len] = '\0';
	return 0;
}

int frame_crl_have_encode(const struct frame_crl_have *h, unsigned n, uint8_t *out, size_t cap)
{
	size_t len = 1;
	unsigned i;

	if (n > FRAME_CRL_HAVE_MAX || (n > 0 && h == NULL))
		return TETHER_ERR_INVALID;
	for (i = 0; i < n; i++)
		if (h[i].number_len > FRAME_CRL_NUMBER_MAX ||
		    (h[i].number_len > 0 && h[i].number[0] == 0))
			return TETHER_ERR_INVALID;
	for (i = 0; i < n; i++)
		len += FRAME_CRL_ISSUER_ID + 1u + h[i].number_len;
	if (out == NULL || cap < len)
		return TETHER_ERR_TOO_BIG;
	out[0] = (uint8_t)n;
	len = 1;
	for (i = 0; i < n; i++) {
		memcpy(out + len, h[i].issuer, FRAME_CRL_ISSUER_ID);
		len += FRAME_CRL_ISSUER_ID;
		out[len++] = h[i].number_len;
		memcpy(out + len, h[i].number, h[i].number_len);
		len += h[i].number_len;
	}
	return (int)len;
}

int frame_crl_have_decode(const uint8_t *p, size_t len, struct frame_crl_have *h, unsigned *n,
			  const char **why)
{
	size_t at = 1;
	unsigned i, count;

	*n = 0;
	if (len < 1 || len > CRL_HAVE_MAX_LEN)
		return frame_fail(why, "bad CRL_HAVE length");
	count = p[0];
	if (count > FRAME_CRL_HAVE_MAX)
		return frame_fail(why, "CRL_HAVE with too many entries");
	for (i = 0; i < count; i++) {
		struct frame_crl_have *e = &h[i];

		if (len - at < FRAME_CRL_ISSUER_ID + 1u)
			return frame_fail(why, "CRL_HAVE cut short");
		memcpy(e->issuer, p + at, FRAME_CRL_ISSUER_ID);
		at += FRAME_CRL_ISSUER_ID;
		e->number_len = p[at++];
		if (e->number_len > FRAME_CRL_NUMBER_MAX)
			return frame_fail(why, "CRL_HAVE number longer than 20 octets");
		if (len - at < e->number_len)
			return frame_fail(why, "CRL_HAVE cut short");
		memcpy(e->number, p + at, e->number_len);
		if (e->number_len > 0 && e->number[0] == 0)
			return frame_fail(why, "CRL_HAVE number with a leading zero");
		at += e->number_len;
	}
	if (at != len)
		return frame_fail(why, "CRL_HAVE length does not match its entries");
	*n = count;
	return 0;
}

int frame_open_encode(const char *service, uint8_t *out, size_t cap)
{
	size_t n;

	if (!service)
		return TETHER_ERR_INVALID;
	n = bounded_len(service, FRAME_NAME_MAX);
	if (!frame_name_valid(service, n))
		return TETHER_ERR_INVALID;
	if (!out || cap < 1 + n)
		return TETHER_ERR_TOO_BIG;
	out[0] = (uint8_t)n;
	memcpy(out + 1, service, n);
	return (int)(1 + n);
}

int frame_open_decode(const uint8_t *p, size_t len, char service[FRAME_NAME_MAX + 1],
		      const char **why)
{
	service[0] = '\0';
	if (len < 2 || len > 1 + FRAME_NAME_MAX)
		return frame_fail(why, "bad OPEN length");
	if (p[0] != len - 1)
		return frame_fail(why, "OPEN length does not match its service name");
	if (!frame_name_valid((const char *)p + 1, len - 1))
		return frame_fail(why, "bad OPEN service name");
	memcpy(service, p + 1, len - 1);
	service[len - 1] = '\0';
	return 0;
}

static int printable(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/*
 * A GOAWAY must go out even when the reason given is unfit for the wire (the
 * session is ending either way), so the reason is cut to FRAME_REASON_MAX
 * bytes and unprintable bytes become '?', rather than failing.
 */
int frame_goaway_encode(uint32_t code, const char *reason, uint8_t *out, size_t cap)
{
	size_t n = reason ? bounded_len(reason, FRAME_REASON_MAX) : 0;

	if (n > FRAME_REASON_MAX)
		n = FRAME_REASON_MAX;
	if (!out || cap < GOAWAY_FIXED_LEN + n)
		return TETHER_ERR_TOO_BIG;
	frame_u32_encode(code, out);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)reason[i];

		out[GOAWAY_FIXED_LEN + i] = printable(c) ? c : '?';
	}
	return (int)(GOAWAY_FIXED_LEN + n);
}

int frame_goaway_decode(const uint8_t *p, size_t len, uint32_t *code,
			char reason[FRAME_REASON_MAX + 1], const char **why)
{
	size_t n;

	reason[0] = '\0';
	*code = 0;
	if (len < GOAWAY_FIXED_LEN || len > GOAWAY_FIXED_LEN + FRAME_REASON_MAX)
		return frame_fail(why, "bad GOAWAY length");
	*code = frame_u32_decode(p);
	n = len - GOAWAY_FIXED_LEN;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[GOAWAY_FIXED_LEN + i];

		reason[i] = printable(c) ? (char)c : '?';
	}
	reason[n] = '\0';
	return 0;
}

int frame_build(uint8_t *out, size_t cap, uint8_t type, uint32_t stream, const void *p, size_t len)
{
	struct frame_header h = {.type = type, .flags = 0, .stream = stream};

	if (len > UINT16_MAX || !out || cap < FRAME_HEADER_LEN + len)
		return TETHER_ERR_TOO_BIG;
	h.length = (uint16_t)len;
	/* The payload may already sit in place; memmove, since memcpy onto itself is undefined. */
	if (p && len && (const uint8_t *)p != out + FRAME_HEADER_LEN)
		memmove(out + FRAME_HEADER_LEN, p, len);
	frame_header_encode(&h, out);
	return (int)(FRAME_HEADER_LEN + len);
}

int frame_window_add(uint32_t *window, uint32_t increment, const char **why, int *code)
{
	if (code)
		*code = FRAME_GOAWAY_PROTOCOL;
	if (increment < 1 || increment > FRAME_MAX_WINDOW)
		return frame_fail(why, "bad WINDOW increment");
	if (*window > FRAME_MAX_WINDOW || increment > FRAME_MAX_WINDOW - *window) {
		if (code)
			*code = FRAME_GOAWAY_FLOW;
		return frame_fail(why, "window over 2^31-1");
	}
	*window += increment;
	return 0;
}

const char *frame_type_name(unsigned type)
{
	switch (type) {
	case FRAME_HELLO:
		return "HELLO";
	case FRAME_OPEN:
		return "OPEN";
	case FRAME_DATA:
		return "DATA";
	case FRAME_WINDOW:
		return "WINDOW";
	case FRAME_CLOSE:
		return "CLOSE";
	case FRAME_RESET:
		return "RESET";
	case FRAME_PING:
		return "PING";
	case FRAME_PONG:
		return "PONG";
	case FRAME_GOAWAY:
		return "GOAWAY";
	case FRAME_CRL_HAVE:
		return "CRL_HAVE";
	case FRAME_CRL_GET:
		return "CRL_GET";
	case FRAME_CRL:
		return "CRL";
	case FRAME_ROLL:
		return "ROLL";
	case FRAME_RENEW_REQ:
		return "RENEW_REQ";
	case FRAME_RENEW_ANS:
		return "RENEW_ANS";
	default:
		return "UNKNOWN";
	}
}

/* Unknown RESET codes mean CANCEL on the wire, so they read as "cancel" too. */
const char *frame_reset_name(uint32_t code)
{
	switch (code) {
	case FRAME_RESET_NO_SERVICE:
		return "no such service";
	case FRAME_RESET_FORBIDDEN:
		return "forbidden";
	case FRAME_RESET_UNREACHABLE:
		return "target unreachable";
	case FRAME_RESET_NO_RESOURCES:
		return "no stream slots";
	case FRAME_RESET_STREAM_ERROR:
		return "stream error";
	case FRAME_RESET_SHUTDOWN:
		return "shutdown";
	default:
		return "cancel";
	}
}

const char *frame_goaway_name(uint32_t code)
{
	switch (code) {
	case FRAME_GOAWAY_NORMAL:
		return "normal";
	case FRAME_GOAWAY_PROTOCOL:
		return "protocol error";
	case FRAME_GOAWAY_FRAME_SIZE:
		return "frame too large";
	case FRAME_GOAWAY_FLOW:
		return "flow control";
	case FRAME_GOAWAY_IDENTITY:
		return "identity mismatch";
	case FRAME_GOAWAY_DUPLICATE:
		return "duplicate session";
	case FRAME_GOAWAY_TIMEOUT:
		return "timeout";
	case FRAME_GOAWAY_INTERNAL:
		return "internal error";
	case FRAME_GOAWAY_VERSION:
		return "unsupported version";
	case FRAME_GOAWAY_LIFETIME:
		return "lifetime reached";
	case FRAME_GOAWAY_POLICY:
		return "no longer trusted or allowed";
	default:
		return "unknown";
	}
}
