/*
 * test_aead_openssl.c: tether's AEAD path (psa_aead_encrypt/decrypt with the
 * driver of base/aead/, as the record layer calls them) against OpenSSL's
 * libcrypto, an implementation that shares no code with it or with mbedTLS.
 * Host only (CTest "ref.aead_openssl"): the boards have no libcrypto.
 *
 * Random keys, nonces, associated data and lengths from 0 to 17 KB at every
 * alignment, for AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305: what tether
 * seals, OpenSSL opens to the same plaintext and seals to the same bytes;
 * what OpenSSL seals, tether opens; a tag forged by one bit is refused by
 * both.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "psa/crypto.h"

#include "base/opts.h"
#if TETHER_FAST_AEAD
#include "base/aead/aead_driver.h"
#endif

struct suite {
	const char *name;
	psa_key_type_t type;
	size_t klen;
	psa_algorithm_t alg;
	const EVP_CIPHER *(*evp)(void);
};

static const struct suite suites[] = {
	{"AES-128-GCM", PSA_KEY_TYPE_AES, 16, PSA_ALG_GCM, EVP_aes_128_gcm},
	{"AES-256-GCM", PSA_KEY_TYPE_AES, 32, PSA_ALG_GCM, EVP_aes_256_gcm},
	{"ChaCha20-Poly1305", PSA_KEY_TYPE_CHACHA20, 32, PSA_ALG_CHACHA20_POLY1305,
	 EVP_chacha20_poly1305},
};

#define MAX_TEXT (17 * 1024)
#define MAX_AD 96

static uint64_t rng_state = 0x0badc0ffee0ddf00ULL;
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

/* OpenSSL seals (enc) or opens; returns 1 on success (open: tag verified). */
static int ossl(const struct suite *s, int enc, const uint8_t *key, const uint8_t nonce[12],
		const uint8_t *ad, size_t alen, const uint8_t *in, size_t n, uint8_t *out,
		uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len, ok;
	assert_non_null(c);
	ok = EVP_CipherInit_ex(c, s->evp(), NULL, NULL, NULL, enc) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) &&
	     EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) &&
	     (alen == 0 || EVP_CipherUpdate(c, NULL, &len, ad, (int)alen)) &&
	     (n == 0 || EVP_CipherUpdate(c, out, &len, in, (int)n));
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag);
	if (ok)
		ok = EVP_CipherFinal_ex(c, out + n, &len);
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
	return ok;
}

static uint8_t pt_buf[MAX_TEXT + 32], ct_buf[MAX_TEXT + 64], os_buf[MAX_TEXT + 64],
	back[MAX_TEXT + 64];
static long cases;

static void one(const struct suite *s, size_t len, size_t align, size_t alen)
{
	uint8_t key[32], nonce[12], ad[MAX_AD], tag[16];
	fill(key, s->klen);
	fill(nonce, 12);
	fill(ad, alen);
	uint8_t *pt = pt_buf + align;
	fill(pt, len);

	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id;
	psa_set_key_type(&a, s->type);
	psa_set_key_bits(&a, s->klen * 8);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&a, s->alg);
	assert_int_equal(psa_import_key(&a, key, s->klen, &id), PSA_SUCCESS);

	/* tether seals in place; OpenSSL seals the same to the same bytes. */
	uint8_t *ct = ct_buf + (15 - align);
	size_t cl;
	memcpy(ct, pt, len);
	assert_int_equal(psa_aead_encrypt(id, s->alg, nonce, 12, ad, alen, ct, len, ct,
					  sizeof(ct_buf) - (15 - align), &cl),
			 PSA_SUCCESS);
	assert_int_equal(cl, len + 16);
	assert_true(ossl(s, 1, key, nonce, ad, alen, pt, len, os_buf, tag));
	if (memcmp(os_buf, ct, len) != 0 || memcmp(tag, ct + len, 16) != 0)
		fail_msg("%s: tether and OpenSSL disagree (len %zu, align %zu, ad %zu)", s->name,
			 len, align, alen);
	/* OpenSSL opens tether's record. */
	memcpy(tag, ct + len, 16);
	assert_true(ossl(s, 0, key, nonce, ad, alen, ct, len, back, tag));
	if (len > 0)
		assert_memory_equal(back, pt, len);
	/* tether opens OpenSSL's record (its text and tag side by side). */
	memcpy(os_buf + len, tag, 16);
	size_t pl;
	assert_int_equal(psa_aead_decrypt(id, s->alg, nonce, 12, ad, alen, os_buf, len + 16, back,
					  sizeof(back), &pl),
			 PSA_SUCCESS);
	assert_int_equal(pl, len);
	if (len > 0)
		assert_memory_equal(back, pt, len);
	/* One bit of the tag flipped: both refuse. */
	uint8_t bit = (uint8_t)(1u << (rng() % 8));
	size_t at = (size_t)(rng() % 16);
	os_buf[len + at] ^= bit;
	tag[at] ^= bit;
	assert_int_equal(psa_aead_decrypt(id, s->alg, nonce, 12, ad, alen, os_buf, len + 16, back,
					  sizeof(back), &pl),
			 PSA_ERROR_INVALID_SIGNATURE);
	assert_false(ossl(s, 0, key, nonce, ad, alen, os_buf, len, back, tag));
	psa_destroy_key(id);
	cases++;
}

static void test_against_openssl(void **state)
{
	(void)state;
	for (int mode = 1; mode <= 2; mode++) {
#if TETHER_FAST_AEAD
		aead_driver_set_mode(mode == 1 ? AEAD_DRIVER_ON : AEAD_DRIVER_NARROW);
#else
		if (mode == 2)
			break;
#endif
		for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
			const struct suite *s = &suites[si];
			long before = cases;
			for (size_t len = 0; len <= 520; len++)
				one(s, len, len % 16, (size_t)(rng() % MAX_AD));
			for (int i = 0; i < 200; i++)
				one(s, (size_t)(rng() % (MAX_TEXT + 1)), (size_t)(rng() % 16),
				    (size_t)(rng() % MAX_AD));
			one(s, MAX_TEXT, 0, 13);
			one(s, 16384, 3, 5);
			one(s, 4096, 7, 13);
#if TETHER_FAST_AEAD
			const char *impl = aead_driver_impl(s->type, s->klen * 8, s->alg);
#else
			const char *impl = NULL;
#endif
			printf("openssl %s: %ld cases agree (tether code: %s)\n", s->name,
			       cases - before, impl != NULL ? impl : "mbedTLS");
		}
	}
#if TETHER_FAST_AEAD
	aead_driver_set_mode(AEAD_DRIVER_ON);
#endif
	printf("openssl: %ld cases in all\n", cases);
}

static int setup(void **state)
{
	(void)state;
	return psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mbedtls_psa_crypto_free();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_openssl),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
