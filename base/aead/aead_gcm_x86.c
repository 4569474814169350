/*
 * aead_gcm_x86.c: AES-GCM (128- and 256-bit keys, 96-bit nonce) with AES-NI
 * and PCLMULQDQ on x86_64.
 *
 * Why not mbedTLS's own code: it encrypts one 16-byte block at a time and
 * reduces after every GHASH multiplication. Here eight counter blocks are in
 * flight through the AES rounds (the AESENC latency is hidden) and GHASH
 * multiplies eight blocks by H^8..H^1 before one reduction (aggregated
 * reduction, as in Gueron and Kounavis, "Intel Carry-Less Multiplication
 * Instruction and its Usage for Computing the GCM Mode").
 *
 * Constant time: AES rounds and carry-less products are instructions whose
 * timing does not depend on data; there is no table. The functions are
 * compiled for AES-NI/PCLMUL/SSSE3 with a target attribute, so the rest of the
 * build stays baseline x86-64; aead.c calls them only after CPUID said yes.
 */
#include "base/aead/aead_impl.h"

#if TETHER_AEAD_X86

#include <immintrin.h>
#include <string.h>

#define GCM_TARGET __attribute__((target("aes,pclmul,ssse3,sse4.1")))
/*
 * The loops over the eight blocks in flight and over the rounds carry
 * "#pragma GCC unroll 8": unrolled whatever the optimisation level (-Os on
 * the boards); rolled, they cost about 40% of the throughput here.
 */

/* Round keys and the powers of the hash key H (byte-reversed), H^1..H^8. */
struct gcm_key {
	__m128i rk[15];
	int rounds;
	__m128i h[8]; /* h[i] = H^(i+1) */
};

GCM_TARGET static inline __m128i bswap128(__m128i x)
{
	return _mm_shuffle_epi8(x,
				_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* ---- key schedule (FIPS 197 with AESKEYGENASSIST) ---- */

GCM_TARGET static inline __m128i expand128_step(__m128i k, __m128i gen)
{
	gen = _mm_shuffle_epi32(gen, 0xff);
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, gen);
}

GCM_TARGET static void expand128(struct gcm_key *key, const uint8_t *kb)
{
	__m128i k = _mm_loadu_si128((const __m128i *)kb);
	key->rk[0] = k;
#define STEP128(i, rcon)                                           \
	k = expand128_step(k, _mm_aeskeygenassist_si128(k, rcon)); \
	key->rk[i] = k
	STEP128(1, 0x01);
	STEP128(2, 0x02);
	STEP128(3, 0x04);
	STEP128(4, 0x08);
	STEP128(5, 0x10);
	STEP128(6, 0x20);
	STEP128(7, 0x40);
	STEP128(8, 0x80);
	STEP128(9, 0x1b);
	STEP128(10, 0x36);
#undef STEP128
	key->rounds = 10;
}

/* The odd round keys of AES-256 take SubWord without RotWord (shuffle 0xaa). */
GCM_TARGET static inline __m128i expand256_odd(__m128i k, __m128i prev)
{
	__m128i gen = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(prev, 0), 0xaa);
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, gen);
}

GCM_TARGET static void expand256(struct gcm_key *key, const uint8_t *kb)
{
	__m128i a = _mm_loadu_si128((const __m128i *)kb);
	__m128i b = _mm_loadu_si128((const __m128i *)(kb + 16));
	key->rk[0] = a;
	key->rk[1] = b;
#define STEP256(i, rcon)                                           \
	a = expand128_step(a, _mm_aeskeygenassist_si128(b, rcon)); \
	key->rk[i] = a;                                            \
	if ((i) + 1 < 15) {                                        \
		b = expand256_odd(b, a);                           \
		key->rk[(i) + 1] = b;                              \
	}
	STEP256(2, 0x01);
	STEP256(4, 0x02);
	STEP256(6, 0x04);
	STEP256(8, 0x08);
	STEP256(10, 0x10);
	STEP256(12, 0x20);
	STEP256(14, 0x40);
#undef STEP256
	key->rounds = 14;
}

GCM_TARGET static inline __m128i aes_block(const struct gcm_key *key, __m128i x)
{
	x = _mm_xor_si128(x, key->rk[0]);
#pragma GCC unroll 8
	for (int r = 1; r < key->rounds; r++)
		x = _mm_aesenc_si128(x, key->rk[r]);
	return _mm_aesenclast_si128(x, key->rk[key->rounds]);
}

/* ---- GHASH in the byte-reversed domain ---- */

/* The 256-bit carry-less product a*b, accumulated into (*lo, *hi). */
GCM_TARGET static inline void clmul_acc(__m128i a, __m128i b, __m128i *lo, __m128i *mid,
					__m128i *hi)
{
	*lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, b, 0x00));
	*hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, b, 0x11));
	*mid = _mm_xor_si128(*mid, _mm_clmulepi64_si128(a, b, 0x10));
	*mid = _mm_xor_si128(*mid, _mm_clmulepi64_si128(a, b, 0x01));
}

/*
 * Reduce the 256-bit product (lo + mid<<64 + hi<<128) of two bit-reflected
 * elements modulo x^128 + x^7 + x^2 + x + 1: a one-bit left shift to undo the
 * reflection, then the two-phase reduction of the white paper's Algorithm 5.
 */
GCM_TARGET static inline __m128i ghash_reduce(__m128i lo, __m128i mid, __m128i hi)
{
	lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
	hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));

	__m128i c7 = _mm_srli_epi32(lo, 31);
	__m128i c8 = _mm_srli_epi32(hi, 31);
	lo = _mm_slli_epi32(lo, 1);
	hi = _mm_slli_epi32(hi, 1);
	__m128i c9 = _mm_srli_si128(c7, 12);
	c8 = _mm_slli_si128(c8, 4);
	c7 = _mm_slli_si128(c7, 4);
	lo = _mm_or_si128(lo, c7);
	hi = _mm_or_si128(hi, c8);
	hi = _mm_or_si128(hi, c9);

	__m128i t7 = _mm_slli_epi32(lo, 31);
	__m128i t8 = _mm_slli_epi32(lo, 30);
	__m128i t9 = _mm_slli_epi32(lo, 25);
	t7 = _mm_xor_si128(t7, t8);
	t7 = _mm_xor_si128(t7, t9);
	t8 = _mm_srli_si128(t7, 4);
	t7 = _mm_slli_si128(t7, 12);
	lo = _mm_xor_si128(lo, t7);

	__m128i t2 = _mm_srli_epi32(lo, 1);
	__m128i t4 = _mm_srli_epi32(lo, 2);
	__m128i t5 = _mm_srli_epi32(lo, 7);
	t2 = _mm_xor_si128(t2, t4);
	t2 = _mm_xor_si128(t2, t5);
	t2 = _mm_xor_si128(t2, t8);
	lo = _mm_xor_si128(lo, t2);
	return _mm_xor_si128(hi, lo);
}

GCM_TARGET static inline __m128i gf_mul(__m128i a, __m128i b)
{
	__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
	clmul_acc(a, b, &lo, &mid, &hi);
	return ghash_reduce(lo, mid, hi);
}

/* One 16-byte block (byte-reversed) into the hash state. */
GCM_TARGET static inline __m128i ghash1(const struct gcm_key *key, __m128i x, __m128i blk)
{
	return gf_mul(_mm_xor_si128(x, blk), key->h[0]);
}

/* Eight blocks (byte-reversed), one reduction. */
GCM_TARGET static inline __m128i ghash8(const struct gcm_key *key, __m128i x, const __m128i *b)
{
	__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
	clmul_acc(_mm_xor_si128(x, b[0]), key->h[7], &lo, &mid, &hi);
#pragma GCC unroll 8
	for (int i = 1; i < 8; i++)
		clmul_acc(b[i], key->h[7 - i], &lo, &mid, &hi);
	return ghash_reduce(lo, mid, hi);
}

/* Hash a byte string zero-padded to whole blocks (the AAD). */
GCM_TARGET static __m128i ghash_bytes(const struct gcm_key *key, __m128i x, const uint8_t *p,
				      size_t n)
{
	__m128i b[8];
	while (n >= 128) {
#pragma GCC unroll 8
		for (int i = 0; i < 8; i++)
			b[i] = bswap128(_mm_loadu_si128((const __m128i *)(p + 16 * i)));
		x = ghash8(key, x, b);
		p += 128;
		n -= 128;
	}
	while (n >= 16) {
		x = ghash1(key, x, bswap128(_mm_loadu_si128((const __m128i *)p)));
		p += 16;
		n -= 16;
	}
	if (n > 0) {
		uint8_t last[16] = {0};
		memcpy(last, p, n);
		x = ghash1(key, x, bswap128(_mm_loadu_si128((const __m128i *)last)));
	}
	return x;
}

GCM_TARGET static void gcm_init(struct gcm_key *key, const uint8_t *kb, size_t klen)
{
	if (klen == 16)
		expand128(key, kb);
	else
		expand256(key, kb);
	__m128i h = bswap128(aes_block(key, _mm_setzero_si128()));
	key->h[0] = h;
	for (int i = 1; i < 8; i++)
		key->h[i] = gf_mul(key->h[i - 1], h);
}

/*
 * Counter blocks are kept byte-reversed: the big-endian 32-bit counter of the
 * last four bytes is then lane 0, and _mm_add_epi32 is GCM's inc32 (it wraps
 * modulo 2^32 and leaves the nonce alone).
 */
GCM_TARGET static inline __m128i ctr_add(__m128i rev, int k)
{
	return _mm_add_epi32(rev, _mm_set_epi32(0, 0, 0, k));
}

/*
 * The common pass: CTR over in[0..n) into out (in == out is allowed), GHASH
 * over the ciphertext (the output when encrypting, the input when
 * decrypting). Each group of blocks is loaded whole before any is stored.
 */
GCM_TARGET static __m128i gcm_crypt(const struct gcm_key *key, __m128i ctr_rev, __m128i x,
				    const uint8_t *in, uint8_t *out, size_t n, int encrypt)
{
	const int nr = key->rounds;
	while (n >= 128) {
		__m128i s[8], c[8], d[8];
#pragma GCC unroll 8
		for (int i = 0; i < 8; i++) {
			s[i] = _mm_xor_si128(bswap128(ctr_add(ctr_rev, i)), key->rk[0]);
			d[i] = _mm_loadu_si128((const __m128i *)(in + 16 * i));
		}
		ctr_rev = ctr_add(ctr_rev, 8);
#pragma GCC unroll 8
		for (int r = 1; r < nr; r++) {
			const __m128i k = key->rk[r];
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				s[i] = _mm_aesenc_si128(s[i], k);
		}
#pragma GCC unroll 8
		for (int i = 0; i < 8; i++) {
			s[i] = _mm_aesenclast_si128(s[i], key->rk[nr]);
			__m128i o = _mm_xor_si128(s[i], d[i]);
			_mm_storeu_si128((__m128i *)(out + 16 * i), o);
			c[i] = bswap128(encrypt ? o : d[i]);
		}
		x = ghash8(key, x, c);
		in += 128;
		out += 128;
		n -= 128;
	}
	while (n > 0) {
		uint8_t buf[16] = {0};
		size_t len = n < 16 ? n : 16;
		memcpy(buf, in, len);
		__m128i d = _mm_loadu_si128((const __m128i *)buf);
		__m128i o = _mm_xor_si128(aes_block(key, bswap128(ctr_rev)), d);
		ctr_rev = ctr_add(ctr_rev, 1);
		_mm_storeu_si128((__m128i *)buf, o);
		memcpy(out, buf, len);
		/* GHASH sees the ciphertext zero-padded to a whole block. */
		if (encrypt) {
			memset(buf + len, 0, 16 - len);
			d = _mm_loadu_si128((const __m128i *)buf);
		}
		x = ghash1(key, x, bswap128(d));
		in += len;
		out += len;
		n -= len;
	}
	return x;
}

/* The full 16-byte tag E(K, J0) ^ GHASH(A, C, lengths). */
GCM_TARGET static void gcm_tag(const struct gcm_key *key, __m128i j0, __m128i x, size_t alen,
			       size_t clen, uint8_t tag[16])
{
	__m128i len =
		_mm_set_epi64x((long long)((uint64_t)alen * 8), (long long)((uint64_t)clen * 8));
	x = ghash1(key, x, len);
	__m128i t = _mm_xor_si128(aes_block(key, j0), bswap128(x));
	_mm_storeu_si128((__m128i *)tag, t);
}

GCM_TARGET static void gcm_wipe(struct gcm_key *key)
{
	volatile uint8_t *p = (volatile uint8_t *)key;
	for (size_t i = 0; i < sizeof(*key); i++)
		p[i] = 0;
}

GCM_TARGET void aead_gcm_x86_seal(const uint8_t *kb, size_t klen, const uint8_t nonce[12],
				  const uint8_t *ad, size_t alen, const uint8_t *in, size_t n,
				  uint8_t *out, uint8_t tag[16])
{
	struct gcm_key key;
	gcm_init(&key, kb, klen);
	uint8_t j0b[16];
	memcpy(j0b, nonce, 12);
	j0b[12] = 0, j0b[13] = 0, j0b[14] = 0, j0b[15] = 1;
	__m128i j0 = _mm_loadu_si128((const __m128i *)j0b);
	__m128i x = ghash_bytes(&key, _mm_setzero_si128(), ad, alen);
	x = gcm_crypt(&key, ctr_add(bswap128(j0), 1), x, in, out, n, 1);
	gcm_tag(&key, j0, x, alen, n, tag);
	gcm_wipe(&key);
}

GCM_TARGET void aead_gcm_x86_open(const uint8_t *kb, size_t klen, const uint8_t nonce[12],
				  const uint8_t *ad, size_t alen, const uint8_t *in, size_t n,
				  uint8_t *out, uint8_t tag[16])
{
	struct gcm_key key;
	gcm_init(&key, kb, klen);
	uint8_t j0b[16];
	memcpy(j0b, nonce, 12);
	j0b[12] = 0, j0b[13] = 0, j0b[14] = 0, j0b[15] = 1;
	__m128i j0 = _mm_loadu_si128((const __m128i *)j0b);
	__m128i x = ghash_bytes(&key, _mm_setzero_si128(), ad, alen);
	x = gcm_crypt(&key, ctr_add(bswap128(j0), 1), x, in, out, n, 0);
	gcm_tag(&key, j0, x, alen, n, tag);
	gcm_wipe(&key);
}

#endif /* TETHER_AEAD_X86 */
