/*
 * aead_bench.c: AEAD micro-benchmark. For each suite TLS uses here and each
 * record size, the MB per CPU-second of sealing and opening one record at a
 * time, as the record layer does (a fresh nonce and 13 bytes of associated
 * data per record, in place), with:
 *   tether   psa_aead_encrypt/decrypt with the AEAD driver (base/aead/)
 *   mbedtls  the same calls with the driver turned off: mbedTLS's own code
 *   openssl  OpenSSL's EVP interface, key set once, IV per record
 * Time is the process's CPU time (CLOCK_PROCESS_CPUTIME_ID), so other load on
 * the machine slows the run but barely changes the figures.
 *
 * Output: one line per measurement,
 *   aead suite=AES-128-GCM size=4096 impl=tether op=seal mbps=1234.5
 * and impl=tether is left out when the build has no driver or the CPU lacks
 * what it needs (the line "aead note=..." says so). bench/run.py prints the
 * table. Usage: aead_bench [seconds per measurement, default 0.3]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "psa/crypto.h"

#include "base/opts.h"
#if TETHER_FAST_AEAD
#include "base/aead/aead_driver.h"
#endif

#define AD_LEN 13

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

static const size_t sizes[] = {1024, 4096, 16384};

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "aead_bench: %s\n", what);
	exit(1);
}

static uint8_t buf[16384 + 64], sealed[16384 + 64], work[16384 + 64];

/* One record through PSA: seal (open == 0) or open a copy of a sealed record. */
static void psa_run(psa_key_id_t id, psa_algorithm_t alg, uint8_t nonce[12], const uint8_t *ad,
		    size_t size, int open, size_t sealed_len)
{
	size_t n;
	psa_status_t st;
	if (!open) {
		nonce[11]++;
		st = psa_aead_encrypt(id, alg, nonce, 12, ad, AD_LEN, buf, size, buf, sizeof(buf),
				      &n);
	} else {
		memcpy(work, sealed, sealed_len);
		st = psa_aead_decrypt(id, alg, nonce, 12, ad, AD_LEN, work, sealed_len, work,
				      sizeof(work), &n);
	}
	if (st != PSA_SUCCESS)
		die("psa_aead failed");
}

static double measure_psa(const struct suite *s, size_t size, int open, double secs)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id;
	uint8_t key[32], nonce[12] = {0}, ad[AD_LEN] = {0};
	memset(key, 0x42, sizeof(key));
	psa_set_key_type(&a, s->type);
	psa_set_key_bits(&a, s->klen * 8);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&a, s->alg);
	if (psa_import_key(&a, key, s->klen, &id) != PSA_SUCCESS)
		die("psa_import_key failed");
	size_t sealed_len = 0;
	if (open) {
		memset(sealed, 0x17, size);
		if (psa_aead_encrypt(id, s->alg, nonce, 12, ad, AD_LEN, sealed, size, sealed,
				     sizeof(sealed), &sealed_len) != PSA_SUCCESS)
			die("psa_aead_encrypt failed");
	}
	long n = 0;
	double t0 = cpu_now(), t;
	do {
		for (int i = 0; i < 16; i++)
			psa_run(id, s->alg, nonce, ad, size, open, sealed_len);
		n += 16;
		t = cpu_now() - t0;
	} while (t < secs);
	psa_destroy_key(id);
	return (double)n * (double)size / t / 1e6;
}

static double measure_openssl(const struct suite *s, size_t size, int open, double secs)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t key[32], nonce[12] = {0}, ad[AD_LEN] = {0}, tag[16];
	int len;
	memset(key, 0x42, sizeof(key));
	if (ctx == NULL || !EVP_CipherInit_ex(ctx, s->evp(), NULL, key, nonce, open ? 0 : 1))
		die("EVP init failed");
	if (open) {
		/* A record sealed by OpenSSL itself under the fixed nonce. */
		EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
		memset(sealed, 0x17, size);
		if (!EVP_EncryptInit_ex(e, s->evp(), NULL, key, nonce) ||
		    !EVP_EncryptUpdate(e, NULL, &len, ad, AD_LEN) ||
		    !EVP_EncryptUpdate(e, sealed, &len, sealed, (int)size) ||
		    !EVP_EncryptFinal_ex(e, sealed + len, &len) ||
		    !EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, 16, tag))
			die("EVP seal failed");
		EVP_CIPHER_CTX_free(e);
	}
	long n = 0;
	double t0 = cpu_now(), t;
	do {
		for (int i = 0; i < 16; i++) {
			int ok;
			if (!open) {
				nonce[11]++;
				ok = EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 1) &&
				     EVP_EncryptUpdate(ctx, NULL, &len, ad, AD_LEN) &&
				     EVP_EncryptUpdate(ctx, buf, &len, buf, (int)size) &&
				     EVP_EncryptFinal_ex(ctx, buf + len, &len) &&
				     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
			} else {
				memcpy(work, sealed, size);
				ok = EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 0) &&
				     EVP_DecryptUpdate(ctx, NULL, &len, ad, AD_LEN) &&
				     EVP_DecryptUpdate(ctx, work, &len, work, (int)size) &&
				     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) &&
				     EVP_DecryptFinal_ex(ctx, work + len, &len);
			}
			if (!ok)
				die("EVP record failed");
		}
		n += 16;
		t = cpu_now() - t0;
	} while (t < secs);
	EVP_CIPHER_CTX_free(ctx);
	return (double)n * (double)size / t / 1e6;
}

static void set_driver(int on)
{
#if TETHER_FAST_AEAD
	aead_driver_set_mode(on ? AEAD_DRIVER_ON : AEAD_DRIVER_OFF);
#else
	(void)on;
#endif
}

static const char *driver_impl(const struct suite *s)
{
#if TETHER_FAST_AEAD
	return aead_driver_impl(s->type, s->klen * 8, s->alg);
#else
	(void)s;
	return NULL;
#endif
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.3;
	static const char *const ops[] = {"seal", "open"};
	if (secs <= 0 || secs > 60)
		die("usage: aead_bench [seconds per measurement, 0 to 60]");
	if (psa_crypto_init() != PSA_SUCCESS)
		die("psa_crypto_init failed");
#if !TETHER_FAST_AEAD
	printf("aead note=built without the AEAD driver (TETHER_FAST_AEAD=OFF)\n");
#endif
	for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
		const struct suite *s = &suites[si];
		const char *impl = driver_impl(s);
		if (TETHER_FAST_AEAD && impl == NULL)
			printf("aead note=%s: this CPU lacks what the driver needs; mbedTLS's "
			       "code serves\n",
			       s->name);
		for (size_t zi = 0; zi < sizeof(sizes) / sizeof(sizes[0]); zi++) {
			for (int op = 0; op < 2; op++) {
				if (impl != NULL) {
					set_driver(1);
					printf("aead suite=%s size=%zu impl=tether op=%s mbps=%.1f "
					       "code=%s\n",
					       s->name, sizes[zi], ops[op],
					       measure_psa(s, sizes[zi], op, secs), impl);
				}
				set_driver(0);
				printf("aead suite=%s size=%zu impl=mbedtls op=%s mbps=%.1f\n",
				       s->name, sizes[zi], ops[op],
				       measure_psa(s, sizes[zi], op, secs));
				set_driver(1);
				printf("aead suite=%s size=%zu impl=openssl op=%s mbps=%.1f\n",
				       s->name, sizes[zi], ops[op],
				       measure_openssl(s, sizes[zi], op, secs));
				fflush(stdout);
			}
		}
	}
	mbedtls_psa_crypto_free();
	return 0;
}
