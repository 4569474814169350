/*
 * aead_impl.h: the implementations behind base/aead/aead_driver.c. Internal to
 * base/aead/; nothing else includes it.
 *
 * Each seal/open takes a raw key, a 96-bit nonce, the associated data and the
 * text, writes n bytes to out (out == in is allowed; no other overlap) and the
 * full 16-byte tag computed over the ciphertext. open does not compare the
 * tag: the driver does, in constant time, and wipes the output on mismatch.
 */
#ifndef TETHER_AEAD_IMPL_H
#define TETHER_AEAD_IMPL_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__SIZEOF_INT128__) && (defined(__GNUC__) || defined(__clang__))
#define TETHER_AEAD_X86 1
#else
#define TETHER_AEAD_X86 0
#endif

#if TETHER_AEAD_X86
/* AES-GCM with AES-NI and PCLMULQDQ; the caller checked CPUID. klen is 16 or 32. */
void aead_gcm_x86_seal(const uint8_t *key, size_t klen, const uint8_t nonce[12], const uint8_t *ad,
		       size_t alen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16]);
void aead_gcm_x86_open(const uint8_t *key, size_t klen, const uint8_t nonce[12], const uint8_t *ad,
		       size_t alen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16]);

/* ChaCha20-Poly1305 (RFC 8439): ChaCha20 four blocks at a time in SSSE3 lanes,
 * or eight in AVX2 lanes when wide is set (the caller checked CPUID for
 * SSSE3, and for AVX2 with the OS saving the YMM registers); Poly1305 with
 * 44-bit limbs and 128-bit products. */
void aead_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
			  size_t alen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16],
			  int wide);
void aead_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
			  size_t alen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16],
			  int wide);
#endif

#endif /* TETHER_AEAD_IMPL_H */
