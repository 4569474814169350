/*
 * aead_driver.c: which implementation serves a request, CPU feature
 * detection, the checks and the tag comparison (base/aead/aead_driver.h).
 */
#include "base/aead/aead_driver.h"
#include "base/aead/aead_impl.h"

#include <string.h>

#if TETHER_AEAD_X86
#include <cpuid.h>
#endif

static enum aead_driver_mode driver_mode = AEAD_DRIVER_ON;

void aead_driver_set_mode(enum aead_driver_mode mode)
{
	driver_mode = mode;
}

enum suite {
	SUITE_NONE,
	SUITE_GCM,
	SUITE_CHACHAPOLY,
};

#if TETHER_AEAD_X86
/*
 * CPUID, read once. Leaf 1 ECX: PCLMULQDQ (bit 1), SSSE3 (9), SSE4.1 (19),
 * OSXSAVE (27), AES (25); leaf 7 EBX: AVX2 (5), usable only when XCR0 says
 * the OS saves the XMM and YMM registers (bits 1 and 2).
 */
static int cpu_known, cpu_aes_clmul, cpu_ssse3, cpu_avx2;

static void cpu_detect(void)
{
	unsigned a, b, c, d;
	if (cpu_known)
		return;
	if (__get_cpuid(1, &a, &b, &c, &d)) {
		const unsigned gcm = 1u << 1 | 1u << 9 | 1u << 19 | 1u << 25;
		cpu_aes_clmul = (c & gcm) == gcm;
		cpu_ssse3 = (c & 1u << 9) != 0;
		if ((c & 1u << 27) && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & 1u << 5)) {
			unsigned lo, hi;
			__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
			cpu_avx2 = (lo & 6) == 6;
		}
	}
	cpu_known = 1;
}

static int use_avx2(void)
{
	return cpu_avx2 && driver_mode != AEAD_DRIVER_NARROW;
}
#endif

/* The suite this driver runs for the request, or SUITE_NONE. */
static enum suite driver_suite(psa_key_type_t type, size_t key_len, psa_algorithm_t alg)
{
	if (driver_mode == AEAD_DRIVER_OFF)
		return SUITE_NONE;
#if TETHER_AEAD_X86
	psa_algorithm_t base = PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(alg);
	cpu_detect();
	if (base == PSA_ALG_GCM && type == PSA_KEY_TYPE_AES && (key_len == 16 || key_len == 32) &&
	    cpu_aes_clmul)
		return SUITE_GCM;
	if (base == PSA_ALG_CHACHA20_POLY1305 && type == PSA_KEY_TYPE_CHACHA20 && key_len == 32 &&
	    cpu_ssse3)
		return SUITE_CHACHAPOLY;
#else
	(void)type;
	(void)key_len;
	(void)alg;
#endif
	return SUITE_NONE;
}

const char *aead_driver_impl(psa_key_type_t type, size_t bits, psa_algorithm_t alg)
{
	switch (driver_suite(type, bits / 8, alg)) {
	case SUITE_GCM:
		return "aesni-pclmul-8x";
	case SUITE_CHACHAPOLY:
#if TETHER_AEAD_X86
		return use_avx2() ? "avx2-8x/poly1305-44" : "ssse3-4x/poly1305-44";
#else
		return NULL;
#endif
	default:
		return NULL;
	}
}

/*
 * The tag length the request asks for, or 0 when this driver leaves it to
 * mbedTLS: GCM tags of 4 to 16 bytes (psa_aead_encrypt() already refused
 * what the algorithm does not allow), ChaCha20-Poly1305 only 16. The text
 * length is bounded by what the suite can encrypt under one nonce
 * (GCM: 2^32 - 2 blocks; ChaCha20: 2^32 - 1 blocks after the key block).
 */
static size_t driver_tag_length(enum suite s, psa_algorithm_t alg, size_t nonce_length,
				size_t text_length)
{
	size_t tag = PSA_ALG_AEAD_GET_TAG_LENGTH(alg);
	if (nonce_length != 12)
		return 0;
	if (s == SUITE_GCM) {
		if (tag < 4 || tag > 16 || (uint64_t)text_length > ((1ULL << 32) - 2) * 16)
			return 0;
	} else if (s == SUITE_CHACHAPOLY) {
		if (tag != 16 || (uint64_t)text_length > ((1ULL << 32) - 1) * 64)
			return 0;
	} else {
		return 0;
	}
	return tag;
}

static void wipe(void *p, size_t n)
{
	volatile uint8_t *w = p;
	while (n--)
		*w++ = 0;
}

psa_status_t aead_driver_encrypt(const psa_key_attributes_t *attributes, const uint8_t *key_buffer,
				 size_t key_buffer_size, psa_algorithm_t alg, const uint8_t *nonce,
				 size_t nonce_length, const uint8_t *additional_data,
				 size_t additional_data_length, const uint8_t *plaintext,
				 size_t plaintext_length, uint8_t *ciphertext,
				 size_t ciphertext_size, size_t *ciphertext_length)
{
	enum suite s = driver_suite(psa_get_key_type(attributes), key_buffer_size, alg);
	size_t tag_len = driver_tag_length(s, alg, nonce_length, plaintext_length);
	if (tag_len == 0 || ciphertext_size < tag_len ||
	    ciphertext_size - tag_len < plaintext_length)
		return PSA_ERROR_NOT_SUPPORTED;
#if TETHER_AEAD_X86
	uint8_t tag[16];
	if (s == SUITE_GCM)
		aead_gcm_x86_seal(key_buffer, key_buffer_size, nonce, additional_data,
				  additional_data_length, plaintext, plaintext_length, ciphertext,
				  tag);
	else
		aead_chachapoly_seal(key_buffer, nonce, additional_data, additional_data_length,
				     plaintext, plaintext_length, ciphertext, tag, use_avx2());
	memcpy(ciphertext + plaintext_length, tag, tag_len);
	wipe(tag, sizeof(tag));
	*ciphertext_length = plaintext_length + tag_len;
	return PSA_SUCCESS;
#else
	(void)key_buffer;
	(void)nonce;
	(void)additional_data;
	(void)additional_data_length;
	(void)plaintext;
	(void)ciphertext;
	(void)ciphertext_length;
	return PSA_ERROR_NOT_SUPPORTED;
#endif
}

psa_status_t aead_driver_decrypt(const psa_key_attributes_t *attributes, const uint8_t *key_buffer,
				 size_t key_buffer_size, psa_algorithm_t alg, const uint8_t *nonce,
				 size_t nonce_length, const uint8_t *additional_data,
				 size_t additional_data_length, const uint8_t *ciphertext,
				 size_t ciphertext_length, uint8_t *plaintext,
				 size_t plaintext_size, size_t *plaintext_length)
{
	enum suite s = driver_suite(psa_get_key_type(attributes), key_buffer_size, alg);
	size_t tag_len = driver_tag_length(s, alg, nonce_length, ciphertext_length);
	if (tag_len == 0 || ciphertext_length < tag_len ||
	    plaintext_size < ciphertext_length - tag_len)
		return PSA_ERROR_NOT_SUPPORTED;
#if TETHER_AEAD_X86
	size_t n = ciphertext_length - tag_len;
	uint8_t want[16], got[16];
	memcpy(want, ciphertext + n, tag_len); /* before an in-place write can reach it */
	if (s == SUITE_GCM)
		aead_gcm_x86_open(key_buffer, key_buffer_size, nonce, additional_data,
				  additional_data_length, ciphertext, n, plaintext, got);
	else
		aead_chachapoly_open(key_buffer, nonce, additional_data, additional_data_length,
				     ciphertext, n, plaintext, got, use_avx2());
	uint8_t diff = 0;
	for (size_t i = 0; i < tag_len; i++)
		diff |= (uint8_t)(want[i] ^ got[i]);
	wipe(got, sizeof(got));
	if (diff != 0) {
		wipe(plaintext, n);
		return PSA_ERROR_INVALID_SIGNATURE;
	}
	*plaintext_length = n;
	return PSA_SUCCESS;
#else
	(void)key_buffer;
	(void)nonce;
	(void)additional_data;
	(void)additional_data_length;
	(void)ciphertext;
	(void)plaintext;
	(void)plaintext_length;
	return PSA_ERROR_NOT_SUPPORTED;
#endif
}
