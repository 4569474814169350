/*
 * aead_chachapoly.c: ChaCha20-Poly1305 (RFC 8439) for x86_64.
 *
 * ChaCha20 runs four blocks at once in SSSE3 registers or eight in AVX2
 * registers, one 32-bit state word per lane (the driver checked CPUID); a
 * partial last group takes a whole group of key stream and uses what it needs. Poly1305 keeps the accumulator in
 * three limbs of 44, 44 and 42 bits so that each product fits a 128-bit
 * integer (as in poly1305-donna-64). Additions, rotations and multiplications
 * only: constant time, no tables.
 */
#include "base/aead/aead_impl.h"

#if TETHER_AEAD_X86

#include <immintrin.h>
#include <string.h>

typedef unsigned __int128 u128;

static inline uint32_t load32_le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t load64_le(const uint8_t *p)
{
	return (uint64_t)load32_le(p) | (uint64_t)load32_le(p + 4) << 32;
}

static inline void store64_le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- ChaCha20, four (SSSE3) or eight (AVX2) blocks per call ---- */

/*
 * One 32-bit state word per lane, a block per lane. Rotations by 16 and 8 are
 * byte shuffles, the others two shifts and an OR. The input words are
 * broadcast again from st for the final addition rather than kept in
 * registers: sixteen working vectors already fill the register file.
 */
#define CC_BODY                                           \
	CC_V x[16];                                       \
	for (int i = 0; i < 16; i++)                      \
		x[i] = CC_SET1((int)st[i]);               \
	x[12] = CC_ADD(x[12], ctr_add);                   \
	for (int r = 0; r < 10; r++) {                    \
		CC_QR(x[0], x[4], x[8], x[12]);           \
		CC_QR(x[1], x[5], x[9], x[13]);           \
		CC_QR(x[2], x[6], x[10], x[14]);          \
		CC_QR(x[3], x[7], x[11], x[15]);          \
		CC_QR(x[0], x[5], x[10], x[15]);          \
		CC_QR(x[1], x[6], x[11], x[12]);          \
		CC_QR(x[2], x[7], x[8], x[13]);           \
		CC_QR(x[3], x[4], x[9], x[14]);           \
	}                                                 \
	for (int i = 0; i < 16; i++)                      \
		x[i] = CC_ADD(x[i], CC_SET1((int)st[i])); \
	x[12] = CC_ADD(x[12], ctr_add)

#define CC_QR(a, b, c, d)                        \
	a = CC_ADD(a, b);                        \
	d = CC_SHUF(CC_XOR(d, a), CC_R16);       \
	c = CC_ADD(c, d);                        \
	b = CC_XOR(b, c);                        \
	b = CC_OR(CC_SHL(b, 12), CC_SHR(b, 20)); \
	a = CC_ADD(a, b);                        \
	d = CC_SHUF(CC_XOR(d, a), CC_R8);        \
	c = CC_ADD(c, d);                        \
	b = CC_XOR(b, c);                        \
	b = CC_OR(CC_SHL(b, 7), CC_SHR(b, 25))

/* 256 bytes of key stream for block counters ctr..ctr+3 (mod 2^32, as RFC 8439). */
__attribute__((target("ssse3"))) static void chacha20_x4(const uint32_t st[16], uint32_t ctr,
							 uint8_t out[256])
{
#define CC_ADD _mm_add_epi32
#define CC_XOR _mm_xor_si128
#define CC_OR _mm_or_si128
#define CC_SHL _mm_slli_epi32
#define CC_SHR _mm_srli_epi32
#define CC_SHUF _mm_shuffle_epi8
#define CC_V __m128i
#define CC_SET1 _mm_set1_epi32
	const __m128i CC_R16 = _mm_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2);
	const __m128i CC_R8 = _mm_set_epi8(14, 13, 12, 15, 10, 9, 8, 11, 6, 5, 4, 7, 2, 1, 0, 3);
	const __m128i ctr_add = _mm_add_epi32(_mm_set1_epi32((int)ctr), _mm_set_epi32(3, 2, 1, 0));
	CC_BODY;
	/* Transpose: lane j of words 4g..4g+3 is bytes 16g..16g+15 of block j. */
	for (int g = 0; g < 4; g++) {
		__m128i a = x[4 * g], b = x[4 * g + 1], c = x[4 * g + 2], d = x[4 * g + 3];
		__m128i ab_lo = _mm_unpacklo_epi32(a, b), ab_hi = _mm_unpackhi_epi32(a, b);
		__m128i cd_lo = _mm_unpacklo_epi32(c, d), cd_hi = _mm_unpackhi_epi32(c, d);
		_mm_storeu_si128((__m128i *)(out + 0 * 64 + 16 * g),
				 _mm_unpacklo_epi64(ab_lo, cd_lo));
		_mm_storeu_si128((__m128i *)(out + 1 * 64 + 16 * g),
				 _mm_unpackhi_epi64(ab_lo, cd_lo));
		_mm_storeu_si128((__m128i *)(out + 2 * 64 + 16 * g),
				 _mm_unpacklo_epi64(ab_hi, cd_hi));
		_mm_storeu_si128((__m128i *)(out + 3 * 64 + 16 * g),
				 _mm_unpackhi_epi64(ab_hi, cd_hi));
	}
#undef CC_ADD
#undef CC_XOR
#undef CC_OR
#undef CC_SHL
#undef CC_SHR
#undef CC_SHUF
#undef CC_V
#undef CC_SET1
}

/* 512 bytes of key stream for block counters ctr..ctr+7. */
__attribute__((target("avx2"))) static void chacha20_x8(const uint32_t st[16], uint32_t ctr,
							uint8_t out[512])
{
#define CC_ADD _mm256_add_epi32
#define CC_XOR _mm256_xor_si256
#define CC_OR _mm256_or_si256
#define CC_SHL _mm256_slli_epi32
#define CC_SHR _mm256_srli_epi32
#define CC_SHUF _mm256_shuffle_epi8
#define CC_V __m256i
#define CC_SET1 _mm256_set1_epi32
	const __m256i CC_R16 =
		_mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, 13, 12, 15,
				14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2);
	const __m256i CC_R8 = _mm256_set_epi8(14, 13, 12, 15, 10, 9, 8, 11, 6, 5, 4, 7, 2, 1, 0, 3,
					      14, 13, 12, 15, 10, 9, 8, 11, 6, 5, 4, 7, 2, 1, 0, 3);
	const __m256i ctr_add = _mm256_add_epi32(_mm256_set1_epi32((int)ctr),
						 _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
	CC_BODY;
	/*
	 * Transpose 8x8 words in two halves: the 128-bit lane l of words 4g..4g+3
	 * after the 4x4 transpose holds 16 bytes of blocks 4l..4l+3.
	 */
	for (int g = 0; g < 4; g++) {
		__m256i a = x[4 * g], b = x[4 * g + 1], c = x[4 * g + 2], d = x[4 * g + 3];
		__m256i ab_lo = _mm256_unpacklo_epi32(a, b), ab_hi = _mm256_unpackhi_epi32(a, b);
		__m256i cd_lo = _mm256_unpacklo_epi32(c, d), cd_hi = _mm256_unpackhi_epi32(c, d);
		__m256i r[4] = {
			_mm256_unpacklo_epi64(ab_lo, cd_lo), _mm256_unpackhi_epi64(ab_lo, cd_lo),
			_mm256_unpacklo_epi64(ab_hi, cd_hi), _mm256_unpackhi_epi64(ab_hi, cd_hi)};
		for (int j = 0; j < 4; j++) {
			_mm_storeu_si128((__m128i *)(out + j * 64 + 16 * g),
					 _mm256_castsi256_si128(r[j]));
			_mm_storeu_si128((__m128i *)(out + (j + 4) * 64 + 16 * g),
					 _mm256_extracti128_si256(r[j], 1));
		}
	}
#undef CC_ADD
#undef CC_XOR
#undef CC_OR
#undef CC_SHL
#undef CC_SHR
#undef CC_SHUF
#undef CC_V
#undef CC_SET1
}

static void chacha20_setup(uint32_t st[16], const uint8_t key[32], const uint8_t nonce[12])
{
	st[0] = 0x61707865;
	st[1] = 0x3320646e;
	st[2] = 0x79622d32;
	st[3] = 0x6b206574;
	for (int i = 0; i < 8; i++)
		st[4 + i] = load32_le(key + 4 * i);
	st[12] = 0;
	for (int i = 0; i < 3; i++)
		st[13 + i] = load32_le(nonce + 4 * i);
}

/* XOR the key stream from block counter 1 over in[0..n) into out; wide: AVX2. */
static void chacha20_xor(const uint32_t st[16], const uint8_t *in, uint8_t *out, size_t n, int wide)
{
	uint8_t ks[512];
	const size_t step = wide ? 512 : 256;
	uint32_t ctr = 1;
	while (n > 0) {
		if (wide)
			chacha20_x8(st, ctr, ks);
		else
			chacha20_x4(st, ctr, ks);
		size_t len = n < step ? n : step;
		size_t i = 0;
		for (; i + 16 <= len; i += 16) {
			__m128i d = _mm_loadu_si128((const __m128i *)(in + i));
			__m128i k = _mm_loadu_si128((const __m128i *)(ks + i));
			_mm_storeu_si128((__m128i *)(out + i), _mm_xor_si128(d, k));
		}
		for (; i < len; i++)
			out[i] = in[i] ^ ks[i];
		ctr += (uint32_t)(step / 64);
		in += len;
		out += len;
		n -= len;
	}
	volatile uint8_t *w = ks;
	for (size_t i = 0; i < sizeof(ks); i++)
		w[i] = 0;
}

/* ---- Poly1305 ---- */

#define M44 0xfffffffffffULL
#define M42 0x3ffffffffffULL

struct poly {
	uint64_t r0, r1, r2, s1, s2;
	uint64_t q0, q1, q2, t1, t2; /* r^2 mod 2^130 - 5, and its multiples like s */
	uint64_t h0, h1, h2;
	uint64_t pad0, pad1;
};

/* d += h * r in 44/44/42-bit limbs; s1 = 20 r1, s2 = 20 r2 (2^130 = 5 mod p). */
static inline void poly_mul_acc(u128 d[3], uint64_t h0, uint64_t h1, uint64_t h2, uint64_t r0,
				uint64_t r1, uint64_t r2, uint64_t s1, uint64_t s2)
{
	d[0] += (u128)h0 * r0 + (u128)h1 * s2 + (u128)h2 * s1;
	d[1] += (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s2;
	d[2] += (u128)h0 * r2 + (u128)h1 * r1 + (u128)h2 * r0;
}

/* Carry a product back to limbs (h0, h1 < 2^44 plus a carry, h2 < 2^42). */
static inline void poly_carry(const u128 d[3], uint64_t *h0, uint64_t *h1, uint64_t *h2)
{
	u128 d1 = d[1], d2 = d[2];
	uint64_t c = (uint64_t)(d[0] >> 44);
	*h0 = (uint64_t)d[0] & M44;
	d1 += c;
	c = (uint64_t)(d1 >> 44);
	*h1 = (uint64_t)d1 & M44;
	d2 += c;
	c = (uint64_t)(d2 >> 42);
	*h2 = (uint64_t)d2 & M42;
	*h0 += c * 5;
	c = *h0 >> 44;
	*h0 &= M44;
	*h1 += c;
}

static void poly_init(struct poly *p, const uint8_t key[32])
{
	uint64_t t0 = load64_le(key), t1 = load64_le(key + 8);
	p->r0 = t0 & 0xffc0fffffffULL;
	p->r1 = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffffULL;
	p->r2 = (t1 >> 24) & 0x00ffffffc0fULL;
	p->s1 = p->r1 * (5 << 2);
	p->s2 = p->r2 * (5 << 2);
	u128 d[3] = {0, 0, 0};
	poly_mul_acc(d, p->r0, p->r1, p->r2, p->r0, p->r1, p->r2, p->s1, p->s2);
	poly_carry(d, &p->q0, &p->q1, &p->q2);
	p->t1 = p->q1 * (5 << 2);
	p->t2 = p->q2 * (5 << 2);
	p->h0 = p->h1 = p->h2 = 0;
	p->pad0 = load64_le(key + 16);
	p->pad1 = load64_le(key + 24);
}

/*
 * Whole 16-byte blocks, each with the 2^128 bit. Two at a time,
 * h = (h + m1) r^2 + m2 r: two independent products per step instead of one
 * chain of dependent ones.
 */
static void poly_blocks(struct poly *p, const uint8_t *m, size_t nblocks)
{
	const uint64_t r0 = p->r0, r1 = p->r1, r2 = p->r2, s1 = p->s1, s2 = p->s2;
	const uint64_t q0 = p->q0, q1 = p->q1, q2 = p->q2, t1 = p->t1, t2 = p->t2;
	uint64_t h0 = p->h0, h1 = p->h1, h2 = p->h2;
	while (nblocks >= 2) {
		uint64_t a0 = load64_le(m), a1 = load64_le(m + 8);
		uint64_t b0 = load64_le(m + 16), b1 = load64_le(m + 24);
		h0 += a0 & M44;
		h1 += ((a0 >> 44) | (a1 << 20)) & M44;
		h2 += ((a1 >> 24) & M42) | (1ULL << 40);
		u128 d[3] = {0, 0, 0};
		poly_mul_acc(d, h0, h1, h2, q0, q1, q2, t1, t2);
		poly_mul_acc(d, b0 & M44, ((b0 >> 44) | (b1 << 20)) & M44,
			     ((b1 >> 24) & M42) | (1ULL << 40), r0, r1, r2, s1, s2);
		poly_carry(d, &h0, &h1, &h2);
		m += 32;
		nblocks -= 2;
	}
	if (nblocks) {
		uint64_t t0 = load64_le(m), tt = load64_le(m + 8);
		h0 += t0 & M44;
		h1 += ((t0 >> 44) | (tt << 20)) & M44;
		h2 += ((tt >> 24) & M42) | (1ULL << 40);
		u128 d[3] = {0, 0, 0};
		poly_mul_acc(d, h0, h1, h2, r0, r1, r2, s1, s2);
		poly_carry(d, &h0, &h1, &h2);
	}
	p->h0 = h0;
	p->h1 = h1;
	p->h2 = h2;
}

/* A byte string zero-padded to whole blocks (RFC 8439 section 2.8). */
static void poly_padded(struct poly *p, const uint8_t *m, size_t n)
{
	poly_blocks(p, m, n / 16);
	if (n % 16) {
		uint8_t last[16] = {0};
		memcpy(last, m + n - n % 16, n % 16);
		poly_blocks(p, last, 1);
	}
}

static void poly_finish(struct poly *p, uint8_t tag[16])
{
	uint64_t h0 = p->h0, h1 = p->h1, h2 = p->h2, c;
	c = h1 >> 44;
	h1 &= M44;
	h2 += c;
	c = h2 >> 42;
	h2 &= M42;
	h0 += c * 5;
	c = h0 >> 44;
	h0 &= M44;
	h1 += c;
	c = h1 >> 44;
	h1 &= M44;
	h2 += c;
	c = h2 >> 42;
	h2 &= M42;
	h0 += c * 5;
	c = h0 >> 44;
	h0 &= M44;
	h1 += c;

	/* h - p = h + 5 - 2^130: take it when it does not go negative, without a branch. */
	uint64_t g0 = h0 + 5;
	c = g0 >> 44;
	g0 &= M44;
	uint64_t g1 = h1 + c;
	c = g1 >> 44;
	g1 &= M44;
	uint64_t g2 = h2 + c - (1ULL << 42);
	uint64_t mask = (g2 >> 63) - 1;
	g0 &= mask;
	g1 &= mask;
	g2 &= mask;
	mask = ~mask;
	h0 = (h0 & mask) | g0;
	h1 = (h1 & mask) | g1;
	h2 = (h2 & mask) | g2;

	uint64_t t0 = p->pad0, t1 = p->pad1;
	h0 += t0 & M44;
	c = h0 >> 44;
	h0 &= M44;
	h1 += (((t0 >> 44) | (t1 << 20)) & M44) + c;
	c = h1 >> 44;
	h1 &= M44;
	h2 += ((t1 >> 24) & M42) + c;
	h2 &= M42;
	store64_le(tag, h0 | (h1 << 44));
	store64_le(tag + 8, (h1 >> 20) | (h2 << 24));
}

/* ---- the AEAD ---- */

static void chachapoly(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
		       size_t alen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16],
		       int encrypt, int wide)
{
	uint32_t st[16];
	uint8_t block0[256];
	struct poly p;
	chacha20_setup(st, key, nonce);
	chacha20_x4(st, 0, block0); /* the first 32 bytes of block 0: the one-time key */
	poly_init(&p, block0);
	poly_padded(&p, ad, alen);
	if (encrypt) {
		chacha20_xor(st, in, out, n, wide);
		poly_padded(&p, out, n);
	} else {
		poly_padded(&p, in, n);
		chacha20_xor(st, in, out, n, wide);
	}
	uint8_t lens[16];
	store64_le(lens, (uint64_t)alen);
	store64_le(lens + 8, (uint64_t)n);
	poly_blocks(&p, lens, 1);
	poly_finish(&p, tag);

	volatile uint8_t *w = block0;
	for (size_t i = 0; i < sizeof(block0); i++)
		w[i] = 0;
	w = (volatile uint8_t *)st;
	for (size_t i = 0; i < sizeof(st); i++)
		w[i] = 0;
	w = (volatile uint8_t *)&p;
	for (size_t i = 0; i < sizeof(p); i++)
		w[i] = 0;
}

void aead_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
			  size_t alen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16],
			  int wide)
{
	chachapoly(key, nonce, ad, alen, in, n, out, tag, 1, wide);
}

void aead_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
			  size_t alen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16],
			  int wide)
{
	chachapoly(key, nonce, ad, alen, in, n, out, tag, 0, wide);
}

#endif /* TETHER_AEAD_X86 */
