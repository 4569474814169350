/*
 * test_aead.c: the AEAD suites TLS uses here (AES-128-GCM, AES-256-GCM,
 * ChaCha20-Poly1305) through psa_aead_encrypt()/psa_aead_decrypt(), as the
 * record layer calls them:
 *   - published known answers (RFC 8439 2.8.2; the GCM spec's test cases);
 *   - the Wycheproof AEAD vectors (tests/data/wycheproof/);
 *   - differential: with the AEAD driver (base/aead/) on and off (mbedTLS's
 *     own code) over random keys, nonces, associated data and every length
 *     from 0 to 17 KB at every alignment, in place and not, equal output and
 *     status required; forged and truncated inputs rejected with the
 *     plaintext wiped.
 * On a build without the driver (TETHER_FAST_AEAD=0) or a CPU it does not
 * cover, both sides are mbedTLS's code and the known answers still check it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "psa/crypto.h"

#include "base/opts.h"
#if TETHER_FAST_AEAD
#include "base/aead/aead_driver.h"
#endif

/* The driver's mode under test: 1 the widest code, 2 without AVX2 (the 4-lane ChaCha20);
 * a build without the driver runs once (both sides are mbedTLS's code). */
static int drv_mode = 1;

static void driver_on(int on)
{
#if TETHER_FAST_AEAD
	aead_driver_set_mode(on ? (drv_mode == 2 ? AEAD_DRIVER_NARROW : AEAD_DRIVER_ON)
				: AEAD_DRIVER_OFF);
#else
	(void)on;
#endif
}

static const char *driver_impl(psa_key_type_t type, size_t bits, psa_algorithm_t alg)
{
#if TETHER_FAST_AEAD
	return aead_driver_impl(type, bits, alg);
#else
	(void)type;
	(void)bits;
	(void)alg;
	return NULL;
#endif
}

/* ---- keys, hex, randomness ---- */

static psa_key_id_t key_import(psa_key_type_t type, const uint8_t *k, size_t klen,
			       psa_algorithm_t alg)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id = 0;
	psa_set_key_type(&a, type);
	psa_set_key_bits(&a, klen * 8);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&a, alg);
	psa_status_t st = psa_import_key(&a, k, klen, &id);
	return st == PSA_SUCCESS ? id : 0;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* splitmix64: a fixed seed, so every run (and every board) sees the same cases. */
static uint64_t rng_state = 0x7e7e7e7e12345678ULL;
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

struct suite {
	const char *name;
	psa_key_type_t type;
	size_t klen;
	psa_algorithm_t alg;
};

static const struct suite suites[] = {
	{"AES-128-GCM", PSA_KEY_TYPE_AES, 16, PSA_ALG_GCM},
	{"AES-256-GCM", PSA_KEY_TYPE_AES, 32, PSA_ALG_GCM},
	{"ChaCha20-Poly1305", PSA_KEY_TYPE_CHACHA20, 32, PSA_ALG_CHACHA20_POLY1305},
};

/* One known answer: encrypt to exactly ct||tag, decrypt back, with and without the driver. */
static void kat(psa_key_type_t type, const char *key, const char *iv, const char *aad,
		const char *pt, const char *ct, const char *tag)
{
	static uint8_t k[32], n[16], a[64], p[128], c[160], out[160];
	size_t kl = unhex(key, k, sizeof(k)), nl = unhex(iv, n, sizeof(n));
	size_t al = unhex(aad, a, sizeof(a)), pl = unhex(pt, p, sizeof(p));
	size_t cl = unhex(ct, c, sizeof(c));
	cl += unhex(tag, c + cl, sizeof(c) - cl);
	psa_algorithm_t alg = type == PSA_KEY_TYPE_AES ? PSA_ALG_GCM : PSA_ALG_CHACHA20_POLY1305;
	psa_key_id_t id = key_import(type, k, kl, alg);
	assert_true(id != 0);
	for (int on = 1; on >= 0; on--) {
		size_t ol = 0;
		driver_on(on);
		assert_int_equal(
			psa_aead_encrypt(id, alg, n, nl, a, al, p, pl, out, sizeof(out), &ol),
			PSA_SUCCESS);
		assert_int_equal(ol, cl);
		assert_memory_equal(out, c, cl);
		assert_int_equal(
			psa_aead_decrypt(id, alg, n, nl, a, al, c, cl, out, sizeof(out), &ol),
			PSA_SUCCESS);
		assert_int_equal(ol, pl);
		if (pl > 0)
			assert_memory_equal(out, p, pl);
	}
	driver_on(1);
	psa_destroy_key(id);
}

static void test_known_answers_body(void)
{
	/* RFC 8439 section 2.8.2. */
	kat(PSA_KEY_TYPE_CHACHA20,
	    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
	    "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
	    "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a20"
	    "4966204920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f722074686520"
	    "6675747572652c2073756e73637265656e20776f756c642062652069742e",
	    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb"
	    "69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad6"
	    "75945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
	    "1ae10b594f09e26a7e902ecbd0600691");
	/* The GCM specification (McGrew and Viega), test cases 1 to 4 (AES-128). */
	kat(PSA_KEY_TYPE_AES, "00000000000000000000000000000000", "000000000000000000000000", "",
	    "", "", "58e2fccefa7e3061367f1d57a4e7455a");
	kat(PSA_KEY_TYPE_AES, "00000000000000000000000000000000", "000000000000000000000000", "",
	    "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78",
	    "ab6e47d42cec13bdf53a67b21257bddf");
	kat(PSA_KEY_TYPE_AES, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
	    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e"
	    "2449a6b525b16aedf5aa0de657ba637b391aafd255",
	    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a"
	    "5aac84aa051ba30b396a0aac973d58e091473f5985",
	    "4d5c2af327cd64a62cf35abd2ba6fab4");
	kat(PSA_KEY_TYPE_AES, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	    "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e"
	    "2449a6b525b16aedf5aa0de657ba637b39",
	    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a"
	    "5aac84aa051ba30b396a0aac973d58e091",
	    "5bc94fbc3221a5db94fae95ae7121a47");
	/* Test cases 13 to 16 (AES-256). */
	kat(PSA_KEY_TYPE_AES, "0000000000000000000000000000000000000000000000000000000000000000",
	    "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b");
	kat(PSA_KEY_TYPE_AES, "0000000000000000000000000000000000000000000000000000000000000000",
	    "000000000000000000000000", "", "00000000000000000000000000000000",
	    "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919");
	kat(PSA_KEY_TYPE_AES, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	    "cafebabefacedbaddecaf888", "",
	    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e"
	    "2449a6b525b16aedf5aa0de657ba637b391aafd255",
	    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b"
	    "1056828838c5f61e6393ba7a0abcc9f662898015ad",
	    "b094dac5d93471bdec1a502270e3cc6c");
	kat(PSA_KEY_TYPE_AES, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	    "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e"
	    "2449a6b525b16aedf5aa0de657ba637b39",
	    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b"
	    "1056828838c5f61e6393ba7a0abcc9f662",
	    "76fc6ece0f4e1768cddf8853bb2d551b");
}

/* ---- Wycheproof ---- */

static char *slurp(const char *name)
{
	char path[1024];
	const char *src = getenv("TETHER_SRC");
	snprintf(path, sizeof(path), "%s/tests/data/wycheproof/%s",
		 src != NULL && src[0] != '\0' ? src : ".", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (TETHER_SRC names the source tree)", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void wycheproof(const char *file, psa_key_type_t type, psa_algorithm_t alg)
{
	char *text = slurp(file);
	cJSON *doc = cJSON_Parse(text);
	assert_non_null(doc);
	static uint8_t k[64], n[300], a[600], p[600], c[700], out[700], out2[700];
	int total = 0, valid = 0, rejected = 0, by_driver = 0;
	const cJSON *g;
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(doc, "testGroups"))
	{
		const cJSON *t;
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(g, "tests"))
		{
			size_t kl = unhex(str(t, "key"), k, sizeof(k));
			size_t nl = unhex(str(t, "iv"), n, sizeof(n));
			size_t al = unhex(str(t, "aad"), a, sizeof(a));
			size_t pl = unhex(str(t, "msg"), p, sizeof(p));
			size_t cl = unhex(str(t, "ct"), c, sizeof(c));
			cl += unhex(str(t, "tag"), c + cl, sizeof(c) - cl);
			const char *result = str(t, "result");
			int tc = cJSON_GetObjectItemCaseSensitive(t, "tcId")->valueint;
			total++;
			driver_on(1);
			if (nl == 12 && driver_impl(type, kl * 8, alg) != NULL)
				by_driver++;
			psa_key_id_t id = key_import(type, k, kl, alg);
			if (id == 0) {
				/* Only an invalid vector may have a key PSA refuses. */
				if (strcmp(result, "invalid") != 0)
					fail_msg("%s tcId %d: key refused", file, tc);
				rejected++;
				continue;
			}
			psa_status_t st[2], ste[2];
			size_t ol[2] = {0, 0}, el[2] = {0, 0};
			for (int on = 1; on >= 0; on--) {
				driver_on(on);
				memset(out, 0xa5, sizeof(out));
				st[on] = psa_aead_decrypt(id, alg, n, nl, a, al, c, cl, out,
							  sizeof(out), &ol[on]);
				ste[on] = psa_aead_encrypt(id, alg, n, nl, a, al, p, pl, out2,
							   sizeof(out2), &el[on]);
				if (strcmp(result, "valid") == 0) {
					if (st[on] != PSA_SUCCESS || ol[on] != pl ||
					    (pl > 0 && memcmp(out, p, pl) != 0))
						fail_msg("%s tcId %d (driver %d): valid vector not "
							 "decrypted (status %d)",
							 file, tc, on, (int)st[on]);
					if (ste[on] != PSA_SUCCESS || el[on] != cl ||
					    memcmp(out2, c, cl) != 0)
						fail_msg("%s tcId %d (driver %d): wrong encryption",
							 file, tc, on);
				} else if (strcmp(result, "invalid") == 0) {
					if (st[on] == PSA_SUCCESS)
						fail_msg("%s tcId %d (driver %d): invalid vector "
							 "accepted",
							 file, tc, on);
					/* Nothing of the plaintext shows: wiped (a failed tag) or
					 * never written (a nonce refused up front). */
					for (size_t i = 0; i < pl; i++)
						if (out[i] != 0 && out[i] != 0xa5)
							fail_msg("%s tcId %d: plaintext of a "
								 "rejected "
								 "message not wiped",
								 file, tc);
				}
			}
			/* Driver and mbedTLS agree on every vector, acceptable ones included. */
			assert_int_equal(st[0], st[1]);
			assert_int_equal(ste[0], ste[1]);
			if (strcmp(result, "valid") == 0)
				valid++;
			else if (strcmp(result, "invalid") == 0)
				rejected++;
			psa_destroy_key(id);
		}
	}
	driver_on(1);
	printf("wycheproof %s: %d vectors (%d valid, %d invalid rejected), %d through the "
	       "driver\n",
	       file, total, valid, rejected, by_driver);
	assert_true(total > 300);
	cJSON_Delete(doc);
	free(text);
}

static void test_wycheproof_gcm_body(void)
{
	wycheproof("aes_gcm_test.json", PSA_KEY_TYPE_AES, PSA_ALG_GCM);
}

static void test_wycheproof_chachapoly_body(void)
{
	wycheproof("chacha20_poly1305_test.json", PSA_KEY_TYPE_CHACHA20, PSA_ALG_CHACHA20_POLY1305);
}

/* ---- differential: the driver against mbedTLS's own code ---- */

#define MAX_TEXT (17 * 1024)
#define MAX_AD 96
static uint8_t in_buf[MAX_TEXT + 64], ref_buf[MAX_TEXT + 64], drv_buf[MAX_TEXT + 64],
	ip_buf[MAX_TEXT + 64];

static long cases, forgeries;

/* One case: the driver's output and status equal mbedTLS's, both directions. */
static void diff_case(const struct suite *s, size_t tag_len, size_t len, size_t align_in,
		      size_t align_out, size_t alen)
{
	uint8_t key[32], nonce[12], ad[MAX_AD];
	fill(key, s->klen);
	fill(nonce, sizeof(nonce));
	fill(ad, alen);
	psa_algorithm_t alg =
		tag_len == 16 ? s->alg : PSA_ALG_AEAD_WITH_SHORTENED_TAG(s->alg, tag_len);
	psa_key_id_t id = key_import(s->type, key, s->klen, alg);
	assert_true(id != 0);
	uint8_t *pt = in_buf + align_in;
	fill(pt, len);
	size_t rl = 0, dl = 0, il = 0;

	driver_on(0);
	assert_int_equal(psa_aead_encrypt(id, alg, nonce, 12, ad, alen, pt, len, ref_buf,
					  sizeof(ref_buf), &rl),
			 PSA_SUCCESS);
	driver_on(1);
	uint8_t *ct = drv_buf + align_out;
	assert_int_equal(psa_aead_encrypt(id, alg, nonce, 12, ad, alen, pt, len, ct,
					  sizeof(drv_buf) - align_out, &dl),
			 PSA_SUCCESS);
	assert_int_equal(rl, len + tag_len);
	assert_int_equal(dl, rl);
	if (memcmp(ct, ref_buf, rl) != 0)
		fail_msg("%s tag %zu: driver ciphertext differs (len %zu, align %zu/%zu, ad %zu)",
			 s->name, tag_len, len, align_in, align_out, alen);
	/* In place, as the record layer does it. */
	uint8_t *ip = ip_buf + align_in;
	memcpy(ip, pt, len);
	assert_int_equal(psa_aead_encrypt(id, alg, nonce, 12, ad, alen, ip, len, ip,
					  sizeof(ip_buf) - align_in, &il),
			 PSA_SUCCESS);
	assert_int_equal(il, rl);
	assert_memory_equal(ip, ref_buf, rl);

	/* Decrypt: in place with the driver, out of place with mbedTLS. */
	assert_int_equal(psa_aead_decrypt(id, alg, nonce, 12, ad, alen, ip, il, ip,
					  sizeof(ip_buf) - align_in, &dl),
			 PSA_SUCCESS);
	assert_int_equal(dl, len);
	if (len > 0)
		assert_memory_equal(ip, pt, len);
	driver_on(0);
	assert_int_equal(psa_aead_decrypt(id, alg, nonce, 12, ad, alen, ref_buf, rl, ip_buf + 3,
					  sizeof(ip_buf) - 3, &dl),
			 PSA_SUCCESS);
	assert_int_equal(dl, len);
	if (len > 0)
		assert_memory_equal(ip_buf + 3, pt, len);
	driver_on(1);

	/* A forgery: one bit flipped in the ciphertext, the tag or the associated data. */
	size_t where = (size_t)(rng() % (rl + alen));
	uint8_t bit = (uint8_t)(1u << (rng() % 8));
	if (where < rl)
		ct[where] ^= bit;
	else
		ad[where - rl] ^= bit;
	uint8_t *out = ref_buf;
	memset(out, 0x5a, len);
	for (int on = 1; on >= 0; on--) {
		driver_on(on);
		assert_int_equal(psa_aead_decrypt(id, alg, nonce, 12, ad, alen, ct, rl, out,
						  sizeof(ref_buf), &dl),
				 PSA_ERROR_INVALID_SIGNATURE);
		for (size_t i = 0; i < len; i++)
			if (out[i] != 0)
				fail_msg("%s: plaintext of a forgery not wiped (len %zu)", s->name,
					 len);
	}
	if (where < rl)
		ct[where] ^= bit;
	else
		ad[where - rl] ^= bit;
	/* Truncated: the tag cut short by one byte, and a text shorter than a tag. */
	for (int on = 1; on >= 0; on--) {
		driver_on(on);
		assert_int_not_equal(psa_aead_decrypt(id, alg, nonce, 12, ad, alen, ct, rl - 1, out,
						      sizeof(ref_buf), &dl),
				     PSA_SUCCESS);
		assert_int_not_equal(psa_aead_decrypt(id, alg, nonce, 12, ad, alen, ct, tag_len - 1,
						      out, sizeof(ref_buf), &dl),
				     PSA_SUCCESS);
		/* An output buffer one byte short: refused, as mbedTLS refuses it. */
		assert_int_equal(
			psa_aead_encrypt(id, alg, nonce, 12, ad, alen, pt, len, out, rl - 1, &dl),
			PSA_ERROR_BUFFER_TOO_SMALL);
	}
	driver_on(1);
	forgeries++;
	cases++;
	psa_destroy_key(id);
}

static void test_differential_body(void)
{
	for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
		const struct suite *s = &suites[si];
		long before = cases;
		/* Every length up to 300 bytes (all partial-block and multi-block tails). */
		for (size_t len = 0; len <= 300; len++)
			diff_case(s, 16, len, len % 16, (len * 7) % 16, (size_t)(rng() % MAX_AD));
		/* Every alignment of input and output, on lengths around the 8-block stride. */
		for (size_t ai = 0; ai < 16; ai++)
			for (size_t ao = 0; ao < 16; ao++)
				diff_case(s, 16, 128 + ai * 16 + ao, ai, ao, 13);
		/* Record sizes and their neighbours, and random lengths up to 17 KB. */
		static const size_t sizes[] = {1023, 1024,  1025,  4095,  4096,	 4097,
					       4112, 16383, 16384, 16385, 16400, MAX_TEXT};
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			for (size_t ad = 0; ad <= 13; ad += 13)
				diff_case(s, 16, sizes[i], rng() % 16, rng() % 16, ad);
		for (int i = 0; i < 150; i++)
			diff_case(s, 16, (size_t)(rng() % (MAX_TEXT + 1)), rng() % 16, rng() % 16,
				  (size_t)(rng() % MAX_AD));
		/* GCM with shortened tags (PSA allows 4, 8 and 12 to 16 bytes). */
		if (s->alg == PSA_ALG_GCM) {
			static const size_t tags[] = {4, 8, 12, 13, 14, 15};
			for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++)
				for (int i = 0; i < 10; i++)
					diff_case(s, tags[t], (size_t)(rng() % 2000), rng() % 16,
						  rng() % 16, (size_t)(rng() % MAX_AD));
		}
		printf("differential %s: %ld cases (driver: %s)\n", s->name, cases - before,
		       driver_impl(s->type, s->klen * 8, s->alg)
			       ? driver_impl(s->type, s->klen * 8, s->alg)
			       : "not in this build/CPU");
	}
	printf("differential: %ld cases, %ld forgeries and %ld truncations rejected\n", cases,
	       forgeries, 2 * cases);
}

static void test_known_answers(void **state)
{
	(void)state;
	for (drv_mode = 1; drv_mode <= (TETHER_FAST_AEAD ? 2 : 1); drv_mode++) {
		printf("driver mode %s\n", drv_mode == 1 ? "widest" : "narrow (no AVX2)");
		test_known_answers_body();
	}
	drv_mode = 1;
	driver_on(1);
}

static void test_wycheproof_gcm(void **state)
{
	(void)state;
	for (drv_mode = 1; drv_mode <= (TETHER_FAST_AEAD ? 2 : 1); drv_mode++) {
		printf("driver mode %s\n", drv_mode == 1 ? "widest" : "narrow (no AVX2)");
		test_wycheproof_gcm_body();
	}
	drv_mode = 1;
	driver_on(1);
}

static void test_wycheproof_chachapoly(void **state)
{
	(void)state;
	for (drv_mode = 1; drv_mode <= (TETHER_FAST_AEAD ? 2 : 1); drv_mode++) {
		printf("driver mode %s\n", drv_mode == 1 ? "widest" : "narrow (no AVX2)");
		test_wycheproof_chachapoly_body();
	}
	drv_mode = 1;
	driver_on(1);
}

static void test_differential(void **state)
{
	(void)state;
	for (drv_mode = 1; drv_mode <= (TETHER_FAST_AEAD ? 2 : 1); drv_mode++) {
		printf("driver mode %s\n", drv_mode == 1 ? "widest" : "narrow (no AVX2)");
		test_differential_body();
	}
	drv_mode = 1;
	driver_on(1);
}

/* The driver serves what it says it serves on this CPU, and nothing else. */
static void test_coverage(void **state)
{
	(void)state;
#if TETHER_FAST_AEAD && defined(__x86_64__)
	assert_non_null(driver_impl(PSA_KEY_TYPE_CHACHA20, 256, PSA_ALG_CHACHA20_POLY1305));
#endif
	assert_null(driver_impl(PSA_KEY_TYPE_AES, 192, PSA_ALG_GCM));
	assert_null(driver_impl(PSA_KEY_TYPE_AES, 128, PSA_ALG_CCM));
	driver_on(0);
	assert_null(driver_impl(PSA_KEY_TYPE_CHACHA20, 256, PSA_ALG_CHACHA20_POLY1305));
	driver_on(1);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		const char *impl = driver_impl(suites[i].type, suites[i].klen * 8, suites[i].alg);
		printf("%s: %s\n", suites[i].name, impl != NULL ? impl : "mbedTLS");
	}
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
		cmocka_unit_test(test_coverage),       cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_wycheproof_gcm), cmocka_unit_test(test_wycheproof_chachapoly),
		cmocka_unit_test(test_differential),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
