/*
 * aead_driver.h: tether's transparent PSA crypto driver for AEAD.
 *
 * mbedTLS calls aead_driver_encrypt() and aead_driver_decrypt() from
 * psa_aead_encrypt() and psa_aead_decrypt() (the one-shot calls its TLS 1.2
 * and 1.3 record layers make) before its own code, exactly where its
 * generated driver wrappers call a transparent driver's aead_encrypt and
 * aead_decrypt entry points (docs/DESIGN.md, "AEAD driver", says how the
 * call gets there). The signatures are those entry points'.
 *
 * Covered: AES-128-GCM, AES-256-GCM (tag 4 to 16 bytes) and
 * ChaCha20-Poly1305, with a 12-byte nonce, on a CPU that has what the code
 * needs (x86_64: AES-NI, PCLMULQDQ and SSSE3/SSE4.1 for GCM; SSE2 for
 * ChaCha20-Poly1305). Anything else, including every malformed request (a
 * short output buffer, a ciphertext shorter than its tag), returns
 * PSA_ERROR_NOT_SUPPORTED, and mbedTLS's own code handles it and returns its
 * usual status: the driver never decides an error mbedTLS would word
 * differently.
 *
 * Buffers: the output MAY be the input (in-place, as the record layer does);
 * no other overlap is allowed. On a tag mismatch decrypt returns
 * PSA_ERROR_INVALID_SIGNATURE and the plaintext written so far is wiped.
 * Key material copied to the stack is wiped before return.
 */
#ifndef TETHER_AEAD_DRIVER_H
#define TETHER_AEAD_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "psa/crypto.h"

psa_status_t aead_driver_encrypt(const psa_key_attributes_t *attributes, const uint8_t *key_buffer,
				 size_t key_buffer_size, psa_algorithm_t alg, const uint8_t *nonce,
				 size_t nonce_length, const uint8_t *additional_data,
				 size_t additional_data_length, const uint8_t *plaintext,
				 size_t plaintext_length, uint8_t *ciphertext,
				 size_t ciphertext_size, size_t *ciphertext_length);

psa_status_t aead_driver_decrypt(const psa_key_attributes_t *attributes, const uint8_t *key_buffer,
				 size_t key_buffer_size, psa_algorithm_t alg, const uint8_t *nonce,
				 size_t nonce_length, const uint8_t *additional_data,
				 size_t additional_data_length, const uint8_t *ciphertext,
				 size_t ciphertext_length, uint8_t *plaintext,
				 size_t plaintext_size, size_t *plaintext_length);

/*
 * The name of the code that would serve (key type, key bits, alg) on this CPU:
 * "aesni-pclmul-8x", "avx2-8x/poly1305-44", "ssse3-4x/poly1305-44" or NULL when mbedTLS's own code does
 * (not covered, no CPU support, or disabled). For logs, tests and the bench.
 */
const char *aead_driver_impl(psa_key_type_t type, size_t bits, psa_algorithm_t alg);

/*
 * For the differential tests and the benchmark only; the agent never calls
 * it. Not thread-safe.
 *   AEAD_DRIVER_OFF     every call returns PSA_ERROR_NOT_SUPPORTED, so
 *                       mbedTLS's own code runs
 *   AEAD_DRIVER_ON      the default: the widest code the CPU allows
 *   AEAD_DRIVER_NARROW  on, without the AVX2 code (so that a test on an AVX2
 *                       machine also checks the 4-lane ChaCha20)
 */
enum aead_driver_mode {
	AEAD_DRIVER_OFF,
	AEAD_DRIVER_ON,
	AEAD_DRIVER_NARROW,
};
void aead_driver_set_mode(enum aead_driver_mode mode);

#endif /* TETHER_AEAD_DRIVER_H */
