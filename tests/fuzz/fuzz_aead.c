/*
 * fuzz_aead.c: libFuzzer differential target for the AEAD driver
 * (base/aead/) against mbedTLS's own code, both through psa_aead_encrypt()
 * and psa_aead_decrypt() as the record layer calls them.
 *
 * Input: byte 0 picks the suite (AES-128-GCM, AES-256-GCM,
 * ChaCha20-Poly1305), the GCM tag length, in place or not, and the driver's
 * width; byte 1 the length of the associated data; then 32 bytes of key
 * (the first 16 for AES-128), 12 of nonce, the associated data and the text.
 *
 * Properties: sealing with the driver gives exactly mbedTLS's bytes and
 * status; the sealed record opens to the text with either; the text itself
 * taken as a sealed record gets the same status and output from both (a
 * failure leaves the output zeroed); a record with one bit flipped (where,
 * from the input) is refused by both.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psa/crypto.h"

#include "base/opts.h"
#if TETHER_FAST_AEAD
#include "base/aead/aead_driver.h"
#endif
#include "tests/fuzz/fuzz.h"

#define MAX_TEXT 4096

static void mode(int on, int narrow)
{
#if TETHER_FAST_AEAD
	aead_driver_set_mode(!on ? AEAD_DRIVER_OFF : narrow ? AEAD_DRIVER_NARROW : AEAD_DRIVER_ON);
#else
	(void)on;
	(void)narrow;
#endif
}

static uint8_t ref[MAX_TEXT + 32], drv[MAX_TEXT + 32], o1[MAX_TEXT + 32], o2[MAX_TEXT + 32];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	static const size_t gcm_tags[] = {16, 16, 16, 4, 8, 12, 13, 15};
	if (!init) {
		CHECK(psa_crypto_init() == PSA_SUCCESS);
		init = 1;
	}
	if (size < 2 + 32 + 12)
		return 0;
	unsigned sel = data[0];
	size_t alen = data[1] % 64;
	const uint8_t *key = data + 2, *nonce = data + 34, *ad = data + 46;
	if (size < 46 + alen)
		return 0;
	const uint8_t *text = ad + alen;
	size_t n = size - 46 - alen;
	if (n > MAX_TEXT)
		n = MAX_TEXT;
	int suite = (int)(sel % 3);
	int in_place = (sel >> 2) & 1, narrow = (sel >> 3) & 1;
	psa_key_type_t type = suite == 2 ? PSA_KEY_TYPE_CHACHA20 : PSA_KEY_TYPE_AES;
	size_t klen = suite == 0 ? 16 : 32, tag = 16;
	psa_algorithm_t alg = suite == 2 ? PSA_ALG_CHACHA20_POLY1305 : PSA_ALG_GCM;
	if (suite != 2) {
		tag = gcm_tags[(sel >> 4) & 7];
		if (tag != 16)
			alg = PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_GCM, tag);
	}

	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id;
	psa_set_key_type(&a, type);
	psa_set_key_bits(&a, klen * 8);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&a, alg);
	CHECK(psa_import_key(&a, key, klen, &id) == PSA_SUCCESS);

	/* Seal: the driver's bytes are mbedTLS's. */
	size_t rl = 0, dl = 0, l1 = 0, l2 = 0;
	mode(0, 0);
	CHECK(psa_aead_encrypt(id, alg, nonce, 12, ad, alen, text, n, ref, sizeof(ref), &rl) ==
	      PSA_SUCCESS);
	mode(1, narrow);
	psa_status_t st;
	if (in_place) {
		memcpy(drv, text, n);
		st = psa_aead_encrypt(id, alg, nonce, 12, ad, alen, drv, n, drv, sizeof(drv), &dl);
	} else {
		st = psa_aead_encrypt(id, alg, nonce, 12, ad, alen, text, n, drv, sizeof(drv), &dl);
	}
	CHECK(st == PSA_SUCCESS && dl == rl && rl == n + tag && memcmp(drv, ref, rl) == 0);

	/* Open: back to the text, with either. */
	for (int on = 0; on <= 1; on++) {
		mode(on, narrow);
		CHECK(psa_aead_decrypt(id, alg, nonce, 12, ad, alen, ref, rl, o1, sizeof(o1),
				       &l1) == PSA_SUCCESS);
		CHECK(l1 == n && memcmp(o1, text, n) == 0);
	}

	/* The text taken as a sealed record: the same verdict and output from both. */
	memset(o1, 0x33, sizeof(o1));
	memset(o2, 0x33, sizeof(o2));
	mode(0, 0);
	psa_status_t s1 =
		psa_aead_decrypt(id, alg, nonce, 12, ad, alen, text, n, o1, sizeof(o1), &l1);
	mode(1, narrow);
	psa_status_t s2 =
		psa_aead_decrypt(id, alg, nonce, 12, ad, alen, text, n, o2, sizeof(o2), &l2);
	CHECK(s1 == s2);
	if (s1 == PSA_SUCCESS)
		CHECK(l1 == l2 && memcmp(o1, o2, l1) == 0);
	else
		for (size_t i = 0; i + tag < n; i++)
			CHECK(o2[i] == 0 && o1[i] == 0);

	/* One bit flipped, where the key's first bytes say: refused by both. */
	size_t at = ((size_t)key[0] << 8 | key[1]) % rl;
	ref[at] ^= (uint8_t)(1u << (key[2] % 8));
	for (int on = 0; on <= 1; on++) {
		mode(on, narrow);
		CHECK(psa_aead_decrypt(id, alg, nonce, 12, ad, alen, ref, rl, o1, sizeof(o1),
				       &l1) == PSA_ERROR_INVALID_SIGNATURE);
	}
	mode(1, 0);
	psa_destroy_key(id);
	return 0;
}
