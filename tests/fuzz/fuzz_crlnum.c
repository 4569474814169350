/*
 * fuzz_crlnum.c: libFuzzer target for core/crlnum.c.
 *
 * The input is fed twice: as a whole CRL in DER to mbedtls_x509_crl_parse_der()
 * (what a node will do with a CRL from the network) and, when that parses, to
 * crl_number(); and as raw crlExtensions content straight to crl_number(), so
 * that the reader also meets bytes mbedTLS's own framing check would stop.
 * Each copy is exactly the input's size, so a read past it trips ASan.
 *
 * Properties: a number read is at most 20 octets without a leading zero and
 * compares equal to itself (and to itself with a zero prepended); a failure
 * is TETHER_ERR_INVALID or TETHER_ERR_PROTOCOL and leaves out zeroed, *len 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/x509_crl.h"

#include "base/err.h"
#include "core/crlnum.h"
#include "tests/fuzz/fuzz.h"

static void check(const mbedtls_x509_crl *crl)
{
	uint8_t out[CRL_NUMBER_MAX], padded[CRL_NUMBER_MAX + 1];
	size_t len = 12345, i;
	int ret = crl_number(crl, out, &len);

	if (ret != 0) {
		CHECK(ret == TETHER_ERR_INVALID || ret == TETHER_ERR_PROTOCOL);
		CHECK(len == 0);
		for (i = 0; i < sizeof(out); i++)
			CHECK(out[i] == 0);
		return;
	}
	CHECK(len <= CRL_NUMBER_MAX);
	CHECK(len == 0 || out[0] != 0);
	CHECK(crl_number_cmp(out, len, out, len) == 0);
	padded[0] = 0;
	memcpy(padded + 1, out, len);
	CHECK(crl_number_cmp(padded, len + 1, out, len) == 0);
	if (len > 0)
		CHECK(crl_number_cmp(padded, len, out, len) < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mbedtls_x509_crl crl;
	uint8_t *copy;

	if (size == 0)
		return 0;
	copy = malloc(size);
	CHECK(copy != NULL);
	memcpy(copy, data, size);

	mbedtls_x509_crl_init(&crl);
	if (mbedtls_x509_crl_parse_der(&crl, copy, size) == 0)
		check(&crl);
	mbedtls_x509_crl_free(&crl);

	memset(&crl, 0, sizeof(crl));
	crl.version = 2;
	crl.crl_ext.p = copy;
	crl.crl_ext.len = size;
	check(&crl);

	free(copy);
	return 0;
}
