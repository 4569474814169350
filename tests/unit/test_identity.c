/* test_identity.c: peer identity and pin checks on certificates made in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "mbedtls/pk.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include "config/config.h"
#include "base/err.h"
#include "core/identity.h"
#include "pki/pki.h"

static mbedtls_pk_context key_a, key_b;
static struct tether_config cfg;

/* A self-signed leaf for key with the given names (NULL = absent). */
static void make(mbedtls_x509_crt *crt, mbedtls_pk_context *key, const char *cn, const char *uri,
		 const char *dns)
{
	static unsigned char pem[PKI_CERT_PEM_MAX];
	struct pki_cert_spec s;
	int64_t now = (int64_t)time(NULL);

	memset(&s, 0, sizeof(s));
	s.cn = cn;
	s.uri_san = uri;
	s.dns_san = dns;
	s.not_before = now - 60;
	s.not_after = now + 86400;
	assert_int_equal(pki_cert_write_pem(&s, key, NULL, NULL, pem, sizeof(pem)), 0);
	mbedtls_x509_crt_init(crt);
	assert_int_equal(mbedtls_x509_crt_parse(crt, pem, strlen((char *)pem) + 1), 0);
}

static int setup(void **state)
{
	(void)state;
	if (psa_crypto_init() != PSA_SUCCESS)
		return -1;
	mbedtls_pk_init(&key_a);
	mbedtls_pk_init(&key_b);
	return pki_key_generate(&key_a) == 0 && pki_key_generate(&key_b) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mbedtls_pk_free(&key_a);
	mbedtls_pk_free(&key_b);
	mbedtls_psa_crypto_free();
	return 0;
}

static void expect_match(const mbedtls_x509_crt *crt, const char *id)
{
	const char *why = "unset";

	assert_int_equal(identity_match(crt, id, NULL, &why), 0);
	assert_string_equal(why, "unset"); /* untouched on success */
}

static void expect_refused(const mbedtls_x509_crt *crt, const char *id, const uint8_t *pin,
			   const char *reason)
{
	const char *why = NULL;

	assert_int_equal(identity_match(crt, id, pin, &why), TETHER_ERR_PERM);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

static void test_match_uri_exact(void **state)
{
	mbedtls_x509_crt c;

	(void)state;
	make(&c, &key_a, "node-a", "spiffe://plant.example/core-01", NULL);
	expect_match(&c, "spiffe://plant.example/core-01");
	expect_refused(&c, "SPIFFE://plant.example/core-01", NULL, "identity not allowed");
	expect_refused(&c, "spiffe://plant.example/core-0", NULL, "identity not allowed");
	expect_refused(&c, "spiffe://plant.example/core-011", NULL, "identity not allowed");
	expect_refused(&c, "spiffe://plant.example/CORE-01", NULL, "identity not allowed");
	mbedtls_x509_crt_free(&c);
}

static void test_match_dns_case_insensitive(void **state)
{
	mbedtls_x509_crt c;

	(void)state;
	make(&c, &key_a, "node-a", NULL, "Core-01.Plant.Example");
	expect_match(&c, "core-01.plant.example");
	expect_match(&c, "CORE-01.PLANT.EXAMPLE");
	expect_refused(&c, "core-01.plant.example.", NULL, "identity not allowed");
	expect_refused(&c, "core-01", NULL, "identity not allowed");
	expect_refused(&c, "*.plant.example", NULL, "identity not allowed");
	mbedtls_x509_crt_free(&c);
}

static void test_no_wildcards(void **state)
{
	mbedtls_x509_crt c;

	(void)state;
	make(&c, &key_a, "node-a", NULL, "*.plant.example");
	expect_refused(&c, "core-01.plant.example", NULL, "identity not allowed");
	mbedtls_x509_crt_free(&c);
}

static void test_match_cn_exact(void **state)
{
	mbedtls_x509_crt c;

	(void)state;
	make(&c, &key_a, "gw-01", NULL, NULL);
	expect_match(&c, "gw-01");
	expect_refused(&c, "GW-01", NULL, "identity not allowed");
	expect_refused(&c, "gw-0", NULL, "identity not allowed");
	expect_refused(&c, "", NULL, "identity not allowed");
	expect_refused(&c, NULL, NULL, "identity not allowed");
	expect_refused(NULL, "gw-01", NULL, "identity not allowed");
	mbedtls_x509_crt_free(&c);
}

/* Every name a certificate carries is an identity: URI, DNS and CN together. */
static void test_match_any_name(void **state)
{
	mbedtls_x509_crt c;

	(void)state;
	make(&c, &key_a, "gw-01", "spiffe://plant.example/gw-01", "gw-01.plant.example");
	expect_match(&c, "gw-01");
	expect_match(&c, "spiffe://plant.example/gw-01");
	expect_match(&c, "GW-01.plant.example");
	/* A URI does not match case-insensitively just because a DNS name would. */
	expect_refused(&c, "spiffe://PLANT.example/gw-01", NULL, "identity not allowed");
	expect_refused(&c, "gw-02", NULL, "identity not allowed");
	mbedtls_x509_crt_free(&c);
}

static void test_pin(void **state)
{
	mbedtls_x509_crt c;
	uint8_t pin[32], bad[32];
	const char *why = NULL;

	(void)state;
	make(&c, &key_a, "gw-01", NULL, NULL);
	assert_int_equal(identity_spki_sha256(&c, pin), 0);
	assert_int_equal(identity_match(&c, "gw-01", pin, &why), 0);
	memcpy(bad, pin, sizeof(bad));
	bad[31] ^= 1;
	expect_refused(&c, "gw-01", bad, "pin mismatch");
	/* The id is checked first: a wrong id with a right pin is not allowed. */
	expect_refused(&c, "gw-02", pin, "identity not allowed");
	/* why may be NULL. */
	assert_int_equal(identity_match(&c, "gw-01", bad, NULL), TETHER_ERR_PERM);
	mbedtls_x509_crt_free(&c);
}

/* The pin covers the key, not the certificate: reissuing keeps it, a new key breaks it. */
static void test_pin_follows_key(void **state)
{
	mbedtls_x509_crt a1, a2, b;
	uint8_t p1[32], p2[32], pb[32];

	(void)state;
	make(&a1, &key_a, "gw-01", NULL, NULL);
	make(&a2, &key_a, "gw-01-renamed", "spiffe://x/y", NULL);
	make(&b, &key_b, "gw-01", NULL, NULL);
	assert_int_equal(identity_spki_sha256(&a1, p1), 0);
	assert_int_equal(identity_spki_sha256(&a2, p2), 0);
	assert_int_equal(identity_spki_sha256(&b, pb), 0);
	assert_memory_equal(p1, p2, 32);
	assert_memory_not_equal(p1, pb, 32);
	expect_refused(&b, "gw-01", p1, "pin mismatch");
	/* The hash is over the SubjectPublicKeyInfo DER exactly. */
	{
		unsigned char der[200];
		int n = mbedtls_pk_write_pubkey_der(&key_a, der, sizeof(der));
		uint8_t h[32];
		size_t hl;

		assert_true(n > 0);
		assert_int_equal(psa_hash_compute(PSA_ALG_SHA_256, der + sizeof(der) - n, (size_t)n,
						  h, sizeof(h), &hl),
				 PSA_SUCCESS);
		assert_memory_equal(h, p1, 32);
	}
	assert_int_equal(identity_spki_sha256(NULL, p1), TETHER_ERR_INVALID);
	mbedtls_x509_crt_free(&a1);
	mbedtls_x509_crt_free(&a2);
	mbedtls_x509_crt_free(&b);
}

static void add_peer(const char *name, const char *id, const uint8_t *pin)
{
	struct tether_peer_cfg *p = &cfg.peers[cfg.n_peers++];

	memset(p, 0, sizeof(*p));
	strcpy(p->name, name);
	strcpy(p->id, id);
	if (pin != NULL) {
		p->has_pin = true;
		memcpy(p->pin, pin, 32);
	}
}

static void expect_peer(const mbedtls_x509_crt *crt, int want, const char *reason)
{
	int peer = 12345;
	const char *why = NULL;
	int ret = identity_find_peer(crt, &cfg, &peer, &why);

	assert_int_equal(peer, want);
	if (want >= 0) {
		assert_int_equal(ret, 0);
		assert_null(why);
	} else {
		assert_int_equal(ret, TETHER_ERR_PERM);
		assert_non_null(why);
		assert_string_equal(why, reason);
	}
}

static void test_find_peer(void **state)
{
	mbedtls_x509_crt c;
	uint8_t pin[32], bad[32];

	(void)state;
	make(&c, &key_a, "core-01", "spiffe://plant.example/core-01", "core-01.plant.example");
	assert_int_equal(identity_spki_sha256(&c, pin), 0);
	memcpy(bad, pin, 32);
	bad[0] ^= 0x80;

	/* No peers: fail closed. */
	memset(&cfg, 0, sizeof(cfg));
	expect_peer(&c, -1, "identity not allowed");

	/* Only strangers. */
	add_peer("gw-01", "gw-01", NULL);
	add_peer("gw-02", "spiffe://plant.example/gw-02", NULL);
	expect_peer(&c, -1, "identity not allowed");

	/* The first match in config order wins, whichever name kind matched. */
	add_peer("by-dns", "CORE-01.plant.example", NULL);
	add_peer("by-uri", "spiffe://plant.example/core-01", NULL);
	expect_peer(&c, 2, NULL);

	/* A matching id with a wrong pin is skipped; a later good match still wins. */
	memset(&cfg, 0, sizeof(cfg));
	add_peer("gw-01", "gw-01", NULL);
	add_peer("old-key", "core-01", bad);
	add_peer("new-key", "core-01", pin);
	expect_peer(&c, 2, NULL);

	/* Only wrong pins: the reason says so. */
	memset(&cfg, 0, sizeof(cfg));
	add_peer("gw-01", "gw-01", NULL);
	add_peer("old-key", "core-01", bad);
	expect_peer(&c, -1, "pin mismatch");

	/* A pin on a peer whose id does not match says nothing about this cert. */
	memset(&cfg, 0, sizeof(cfg));
	add_peer("gw-01", "gw-01", bad);
	expect_peer(&c, -1, "identity not allowed");

	/* NULL arguments refuse. */
	assert_int_equal(identity_find_peer(NULL, &cfg, &(int){0}, NULL), TETHER_ERR_PERM);
	assert_int_equal(identity_find_peer(&c, NULL, &(int){0}, NULL), TETHER_ERR_PERM);
	mbedtls_x509_crt_free(&c);
}

static void expect_describe(const mbedtls_x509_crt *crt, const char *want)
{
	char buf[TETHER_ID_MAX];

	assert_int_equal(identity_describe(crt, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_describe(void **state)
{
	mbedtls_x509_crt c;
	char small[8];

	(void)state;
	make(&c, &key_a, "gw-01", "spiffe://plant.example/gw-01", "gw-01.plant.example");
	expect_describe(&c, "spiffe://plant.example/gw-01");
	assert_int_equal(identity_describe(&c, small, sizeof(small)), TETHER_ERR_TOO_BIG);
	assert_string_equal(small, "spiffe:");
	mbedtls_x509_crt_free(&c);

	make(&c, &key_a, "gw-01", NULL, "gw-01.plant.example");
	expect_describe(&c, "gw-01.plant.example");
	mbedtls_x509_crt_free(&c);

	make(&c, &key_a, "gw-01", NULL, NULL);
	expect_describe(&c, "gw-01");
	mbedtls_x509_crt_free(&c);

	/* Characters that would break a key=value log line are masked. */
	make(&c, &key_a, "evil\" level=error \\x\xc3\xa9", NULL, NULL);
	expect_describe(&c, "evil? level=error ?x??");
	mbedtls_x509_crt_free(&c);

	assert_int_equal(identity_describe(NULL, small, sizeof(small)), TETHER_ERR_INVALID);
	assert_int_equal(identity_describe(&c, small, 0), TETHER_ERR_INVALID);
}

static void test_pin_format(void **state)
{
	uint8_t pin[32], back[32];
	char buf[IDENTITY_PIN_STR_MAX];
	size_t i;

	(void)state;
	memset(pin, 0, sizeof(pin));
	assert_int_equal(identity_pin_format(pin, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	for (i = 0; i < sizeof(pin); i++)
		pin[i] = (uint8_t)(i * 37 + 11);
	assert_int_equal(identity_pin_format(pin, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), IDENTITY_PIN_STR_MAX - 1);
	assert_int_equal(identity_pin_parse(buf, back), 0);
	assert_memory_equal(pin, back, 32);
	assert_int_equal(identity_pin_format(pin, buf, sizeof(buf) - 1), TETHER_ERR_TOO_BIG);
	assert_string_equal(buf, "");
}

static void test_pin_parse_rejects(void **state)
{
	uint8_t pin[32];

	(void)state;
	assert_int_equal(
		identity_pin_parse("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", pin), 0);
	assert_int_equal(identity_pin_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", pin),
			 TETHER_ERR_INVALID);
	assert_int_equal(
		identity_pin_parse("sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", pin),
		TETHER_ERR_INVALID);
	assert_int_equal(
		identity_pin_parse("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", pin),
		TETHER_ERR_INVALID); /* 31 bytes */
	/* The final '=' is optional (a config's pin may leave it out). */
	assert_int_equal(
		identity_pin_parse("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", pin), 0);
	/* Spare bits set: not the canonical spelling of any pin. */
	assert_int_equal(
		identity_pin_parse("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", pin),
		TETHER_ERR_INVALID);
	assert_int_equal(
		identity_pin_parse("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", pin),
		TETHER_ERR_INVALID);
	assert_int_equal(
		identity_pin_parse("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!=", pin),
		TETHER_ERR_INVALID);
	assert_int_equal(identity_pin_parse("sha256/", pin), TETHER_ERR_INVALID);
	assert_int_equal(identity_pin_parse(NULL, pin), TETHER_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_uri_exact),
		cmocka_unit_test(test_match_dns_case_insensitive),
		cmocka_unit_test(test_no_wildcards),
		cmocka_unit_test(test_match_cn_exact),
		cmocka_unit_test(test_match_any_name),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_pin_follows_key),
		cmocka_unit_test(test_find_peer),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_pin_format),
		cmocka_unit_test(test_pin_parse_rejects),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
