/*
 * fuzz_frame.c: libFuzzer target for the frame codec.
 *
 * The input is what a peer could send after TLS: a byte stream of frames. It
 * is decoded as a session would, header then payload, until the first fault
 * (which ends a session) or the end of input. Besides "no crash, no
 * sanitizer report", every frame that decodes must encode back to the same
 * bytes, and every refusal must carry a reason and a GOAWAY code.
 *
 * CRL_HAVE payloads round trip like HELLO, OPEN and GOAWAY; CRL_GET, CRL and
 * ROLL are held to their fixed shapes (PROTOCOL.md section 12).
 *
 * Each payload is copied into a buffer of exactly its length, so a decoder
 * reading past the length it was given trips AddressSanitizer even though
 * more input follows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/frame.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_PAYLOAD 4088u /* what tether announces by default */

static int all_printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

static void check_hello(const uint8_t *p, size_t len)
{
	struct frame_hello h;
	uint8_t again[FRAME_HEADER_LEN + 80];
	const char *why = NULL;
	int n;

	if (frame_hello_decode(p, len, &h, &why) != 0) {
		CHECK(why != NULL);
		CHECK(len == 0 || h.version == p[0]);
		return;
	}
	CHECK(h.version == p[0]);
	CHECK(frame_name_valid(h.name, strlen(h.name)));
	n = frame_hello_encode(&h, again, sizeof(again));
	CHECK(n > 0 && (size_t)n == len);
	/* Only the reserved byte may differ: it is ignored and sent as 0. */
	CHECK(again[0] == p[0] && again[1] == 0);
	CHECK(memcmp(again + 2, p + 2, len - 2) == 0);
}

static void check_open(const uint8_t *p, size_t len)
{
	char svc[FRAME_NAME_MAX + 1];
	uint8_t again[80];
	const char *why = NULL;
	int n;

	if (frame_open_decode(p, len, svc, &why) != 0) {
		CHECK(why != NULL && svc[0] == '\0');
		return;
	}
	n = frame_open_encode(svc, again, sizeof(again));
	CHECK(n > 0 && (size_t)n == len && memcmp(again, p, len) == 0);
}

static void check_goaway(const uint8_t *p, size_t len)
{
	char reason[FRAME_REASON_MAX + 1];
	uint8_t again[FRAME_REASON_MAX + 8];
	uint32_t code;
	const char *why = NULL;
	int n;

	if (frame_goaway_decode(p, len, &code, reason, &why) != 0) {
		CHECK(why != NULL && reason[0] == '\0');
		CHECK(len < 4 || len > 4 + FRAME_REASON_MAX);
		return;
	}
	CHECK(strlen(reason) == len - 4);
	CHECK(all_printable((const uint8_t *)reason, len - 4));
	CHECK(frame_goaway_name(code) != NULL);
	n = frame_goaway_encode(code, reason, again, sizeof(again));
	CHECK(n > 0 && (size_t)n == len);
	CHECK((memcmp(again, p, len) == 0) == all_printable(p + 4, len - 4));
}

/* CRL_HAVE: what decodes re-encodes to the same bytes; a refusal says why. */
static void check_crl_have(const uint8_t *p, size_t len)
{
	struct frame_crl_have h[FRAME_CRL_HAVE_MAX];
	uint8_t again[1 + FRAME_CRL_HAVE_MAX * (FRAME_CRL_ISSUER_ID + 1 + FRAME_CRL_NUMBER_MAX)];
	unsigned n = 99, i;
	const char *why = NULL;
	int k;

	if (frame_crl_have_decode(p, len, h, &n, &why) != 0) {
		CHECK(why != NULL && n == 0);
		return;
	}
	CHECK(n <= FRAME_CRL_HAVE_MAX && len >= 1 && n == p[0]);
	for (i = 0; i < n; i++) {
		CHECK(h[i].number_len <= FRAME_CRL_NUMBER_MAX);
		CHECK(h[i].number_len == 0 || h[i].number[0] != 0);
	}
	k = frame_crl_have_encode(h, n, again, sizeof(again));
	CHECK(k > 0 && (size_t)k == len && memcmp(again, p, len) == 0);
}

/* The payload decoders on their own, with lengths no header vetted. */
static void fuzz_payload_decoders(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	CHECK(copy != NULL);
	memcpy(copy, data, size);
	check_hello(copy, size);
	check_open(copy, size);
	check_goaway(copy, size);
	check_crl_have(copy, size);
	free(copy);
}

static void fuzz_stream(const uint8_t *data, size_t size)
{
	uint32_t send_window = 65536;
	size_t off = 0;

	while (size - off >= FRAME_HEADER_LEN) {
		struct frame_header h;
		uint8_t hdr[FRAME_HEADER_LEN];
		const char *why = NULL;
		int code = -1, n;
		uint8_t *p, *whole;

		if (frame_header_decode(data + off, FUZZ_MAX_PAYLOAD, &h, &why, &code) != 0) {
			CHECK(why != NULL);
			CHECK(code == FRAME_GOAWAY_PROTOCOL || code == FRAME_GOAWAY_FRAME_SIZE);
			return; /* the session would end here */
		}
		frame_header_encode(&h, hdr);
		CHECK(memcmp(hdr, data + off, FRAME_HEADER_LEN) == 0);
		CHECK(h.length <= FUZZ_MAX_PAYLOAD && h.flags == 0);
		CHECK(frame_type_name(h.type)[0] != 'U');
		off += FRAME_HEADER_LEN;
		if (size - off < h.length)
			return; /* wait for more bytes */

		p = malloc(h.length ? h.length : 1);
		CHECK(p != NULL);
		memcpy(p, data + off, h.length);
		switch (h.type) {
		case FRAME_HELLO:
			check_hello(p, h.length);
			break;
		case FRAME_OPEN:
			check_open(p, h.length);
			break;
		case FRAME_WINDOW:
			CHECK(h.length == 4);
			if (frame_window_add(&send_window, frame_u32_decode(p), &why, &code) != 0)
				CHECK(why != NULL &&
				      (code == FRAME_GOAWAY_PROTOCOL || code == FRAME_GOAWAY_FLOW));
			CHECK(send_window <= FRAME_MAX_WINDOW);
			break;
		case FRAME_RESET:
			CHECK(h.length == 4);
			CHECK(frame_reset_name(frame_u32_decode(p)) != NULL);
			break;
		case FRAME_GOAWAY:
			check_goaway(p, h.length);
			break;
		case FRAME_CRL_HAVE:
			check_crl_have(p, h.length);
			break;
		case FRAME_CRL_GET:
			CHECK(h.length == FRAME_CRL_ISSUER_ID && h.stream == 0);
			break;
		case FRAME_CRL:
			CHECK(h.length > FRAME_CRL_PIECE_HEAD && h.stream == 0);
			break;
		case FRAME_ROLL:
			CHECK(h.length == 0 && h.stream == 0);
			break;
		case FRAME_DATA:
			/* DATA spends the window that WINDOW frames credit. */
			send_window -= h.length < send_window ? h.length : send_window;
			break;
		default:
			break;
		}

		/* Every accepted frame rebuilds byte for byte. */
		whole = malloc(FRAME_HEADER_LEN + h.length);
		CHECK(whole != NULL);
		n = frame_build(whole, FRAME_HEADER_LEN + h.length, h.type, h.stream, p, h.length);
		CHECK(n == (int)(FRAME_HEADER_LEN + h.length));
		CHECK(memcmp(whole, data + off - FRAME_HEADER_LEN, (size_t)n) == 0);
		free(whole);
		free(p);
		off += h.length;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size <= 256)
		fuzz_payload_decoders(data, size);
	fuzz_stream(data, size);
	return 0;
}
