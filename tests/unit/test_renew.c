/*
 * test_renew.c: the parts of renewal through the mesh that need no session
 * (core/issue.c, core/renew.c): issue_sign() driven directly with honest and
 * forged CSRs, as a peer speaking the frames could send them, renew_csr(),
 * renew_judge() on the issuer's answers, renew_due() and renew_time_str().
 * Certificates are made with pki/ (pki_set_ca_make(), pki_cert_write_pem()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mbedtls/psa_util.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include "core/renew.h"
#include "core/tls.h"
#include "pki/pki.h"
#include "pki/pki_set.h"

static struct pki_set_ca ca;
static struct issuer_material im;
static int64_t now;
static unsigned char pem[PKI_CERT_PEM_MAX];
static uint8_t csr[FRAME_RENEW_DER_MAX], out[FRAME_RENEW_DER_MAX];
static int64_t leaf_life = 3600; /* seconds from now the next node certificate ends */

static int put_nothing(void *ctx, const char *name, const char *kind, const unsigned char *p,
		       size_t len)
{
	(void)ctx, (void)name, (void)kind, (void)p, (void)len;
	return 0;
}

/* A node certificate from ca, for key (made fresh), parsed into crt. */
static void node_cert(mbedtls_x509_crt *crt, mbedtls_pk_context *key, const char *cn,
		      const char *uri, const char *dns, int is_ca)
{
	struct pki_cert_spec spec = {cn, uri, dns, is_ca, now - 600, now + leaf_life};

	mbedtls_pk_init(key);
	assert_int_equal(pki_key_generate(key), 0);
	assert_int_equal(pki_cert_write_pem(&spec, key, &ca.crt, &ca.key, pem, sizeof(pem)), 0);
	mbedtls_x509_crt_init(crt);
	assert_int_equal(mbedtls_x509_crt_parse(crt, pem, strlen((char *)pem) + 1), 0);
}

static int setup(void **state)
{
	unsigned char key_pem[PKI_KEY_PEM_MAX];

	(void)state;
	if (psa_crypto_init() != PSA_SUCCESS)
		return -1;
	now = (int64_t)time(NULL);
	pki_set_ca_init(&ca);
	if (pki_set_ca_make(&ca, "Renew CA", now - 3600, now + 30 * 86400, put_nothing, NULL) != 0)
		return -1;
	/* The issuer's material: the CA's certificate and key, as issuer_load() leaves them. */
	mbedtls_x509_crt_init(&im.crt);
	mbedtls_pk_init(&im.key);
	if (mbedtls_x509_crt_parse_der(&im.crt, ca.crt.raw.p, ca.crt.raw.len) != 0 ||
	    pki_key_write_pem(&ca.key, key_pem, sizeof(key_pem)) != 0 ||
	    mbedtls_pk_parse_key(&im.key, key_pem, strlen((char *)key_pem) + 1, NULL, 0,
				 mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE) != 0)
		return -1;
	im.loaded = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	issuer_free(&im);
	pki_set_ca_free(&ca);
	return 0;
}

struct peer {
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;	 /* its current key */
	mbedtls_pk_context next; /* a fresh one for the renewal */
};

static void peer_make(struct peer *p, const char *cn, const char *uri, const char *dns, int is_ca)
{
	node_cert(&p->crt, &p->key, cn, uri, dns, is_ca);
	mbedtls_pk_init(&p->next);
	assert_int_equal(pki_key_generate(&p->next), 0);
}

static void peer_free(struct peer *p)
{
	mbedtls_x509_crt_free(&p->crt);
	mbedtls_pk_free(&p->key);
	mbedtls_pk_free(&p->next);
}

static size_t make_csr(const mbedtls_x509_crt *id, mbedtls_pk_context *key)
{
	size_t len = 0;

	assert_int_equal(renew_csr(id, key, csr, sizeof(csr), &len), 0);
	assert_true(len > 0 && len <= sizeof(csr));
	return len;
}

static void test_honest(void **state)
{
	struct peer p;
	struct issue_info info;
	mbedtls_x509_crt got;
	size_t len, out_len;
	int64_t na = 0;
	uint32_t flags = 0;
	const char *why;

	(void)state;
	peer_make(&p, "gw-01", "spiffe://plant.example/gw-01", "gw-01.plant.example", 0);
	len = make_csr(&p.crt, &p.next);
	why = issue_sign(&im, &p.crt, csr, len, now, 1, out, sizeof(out), &out_len, &info);
	assert_null(why);
	assert_true(out_len > 0 && out_len <= FRAME_RENEW_DER_MAX);
	mbedtls_x509_crt_init(&got);
	assert_int_equal(mbedtls_x509_crt_parse_der(&got, out, out_len), 0);
	/* Exactly the identity of the session's certificate; an end entity; chains to the CA. */
	assert_int_equal(got.subject_raw.len, p.crt.subject_raw.len);
	assert_memory_equal(got.subject_raw.p, p.crt.subject_raw.p, got.subject_raw.len);
	assert_true(renew_same_sans(&got.subject_alt_names, &p.crt.subject_alt_names));
	assert_int_equal(got.MBEDTLS_PRIVATE(ca_istrue), 0);
	assert_int_equal(got.MBEDTLS_PRIVATE(key_usage), p.crt.MBEDTLS_PRIVATE(key_usage));
	assert_true(renew_same_key(&got.pk, &p.next));
	assert_int_equal(mbedtls_x509_crt_verify(&got, &ca.crt, NULL, NULL, &flags, NULL, NULL), 0);
	assert_int_equal(tls_time_unix(&got.valid_to), now + 86400);
	assert_int_equal(tls_time_unix(&got.valid_from), now - 60);
	assert_string_equal(info.subject, "CN=gw-01");
	assert_string_equal(info.sans, "URI:spiffe://plant.example/gw-01,DNS:gw-01.plant.example");
	assert_int_equal(strlen(info.serial), 32);
	/* The renewing node takes it. */
	assert_null(renew_judge(&p.crt, &ca.crt, NULL, &p.next, out, out_len, now, &na));
	assert_int_equal(na, now + 86400);
	/* But not with another key than the one it made, nor as another node's. */
	assert_string_equal(renew_judge(&p.crt, &ca.crt, NULL, &p.key, out, out_len, now, &na),
			    "it does not carry our new key");
	mbedtls_x509_crt_free(&got);
	peer_free(&p);
}

/* days beyond the issuer's own expiry: capped at it. */
static void test_capped(void **state)
{
	struct peer p;
	struct issue_info info;
	mbedtls_x509_crt got;
	size_t len, out_len;

	(void)state;
	/* Longer than the issuer's own certificate (a root's leaf outliving an intermediate). */
	leaf_life = 60 * 86400;
	peer_make(&p, "gw-02", "spiffe://plant.example/gw-02", NULL, 0);
	leaf_life = 3600;
	len = make_csr(&p.crt, &p.next);
	assert_null(issue_sign(&im, &p.crt, csr, len, now, 365, out, sizeof(out), &out_len, &info));
	mbedtls_x509_crt_init(&got);
	assert_int_equal(mbedtls_x509_crt_parse_der(&got, out, out_len), 0);
	assert_int_equal(tls_time_unix(&got.valid_to), tls_time_unix(&ca.crt.valid_to));
	mbedtls_x509_crt_free(&got);
	/* An issuer about to expire signs nothing. */
	assert_string_equal(issue_sign(&im, &p.crt, csr, len, tls_time_unix(&ca.crt.valid_to) - 30,
				       1, out, sizeof(out), &out_len, &info),
			    "the issuer's certificate expires too soon to sign");
	peer_free(&p);
}

/* A CSR for another identity, sent on gw-01's session: refused, whatever else is right. */
static void test_other_identity(void **state)
{
	struct peer p, other, evil;
	struct issue_info info;
	size_t len, out_len;
	const char *why;

	(void)state;
	peer_make(&p, "gw-01", "spiffe://plant.example/gw-01", NULL, 0);
	peer_make(&other, "gw-03", "spiffe://plant.example/gw-03", NULL, 0);
	/* Same CN as gw-01, another SAN. */
	peer_make(&evil, "gw-01", "spiffe://plant.example/core", NULL, 0);

	len = make_csr(&other.crt, &p.next);
	why = issue_sign(&im, &p.crt, csr, len, now, 1, out, sizeof(out), &out_len, &info);
	assert_non_null(why);
	assert_string_equal(why, "identity mismatch: the CSR names another subject than the "
				 "session's certificate");
	assert_int_equal(out_len, 0);

	len = make_csr(&evil.crt, &p.next);
	why = issue_sign(&im, &p.crt, csr, len, now, 1, out, sizeof(out), &out_len, &info);
	assert_string_equal(why, "identity mismatch: the CSR names other SANs than the session's "
				 "certificate");

	/* An answer for gw-03 is no renewal of gw-01 for the renewing node either. */
	len = make_csr(&other.crt, &other.next);
	assert_null(
		issue_sign(&im, &other.crt, csr, len, now, 1, out, sizeof(out), &out_len, &info));
	{
		int64_t na;

		assert_string_equal(
			renew_judge(&p.crt, &ca.crt, NULL, &other.next, out, out_len, now, &na),
			"identity mismatch: another subject than ours");
	}
	peer_free(&p);
	peer_free(&other);
	peer_free(&evil);
}

static void test_forged(void **state)
{
	struct peer p, ca_peer;
	struct issue_info info;
	size_t len, out_len;
	uint8_t junk[64];

	(void)state;
	peer_make(&p, "gw-01", "spiffe://plant.example/gw-01", NULL, 0);
	/* The current key again: no renewal. */
	len = make_csr(&p.crt, &p.key);
	assert_string_equal(
		issue_sign(&im, &p.crt, csr, len, now, 1, out, sizeof(out), &out_len, &info),
		"the CSR reuses the current key");
	/* A signature that does not verify: no proof of the key. */
	len = make_csr(&p.crt, &p.next);
	csr[len - 1] ^= 0x01;
	assert_string_equal(
		issue_sign(&im, &p.crt, csr, len, now, 1, out, sizeof(out), &out_len, &info),
		"the CSR's signature does not verify (no proof of the key)");
	/* Not a CSR at all, and an empty one. */
	memset(junk, 0x30, sizeof(junk));
	assert_string_equal(issue_sign(&im, &p.crt, junk, sizeof(junk), now, 1, out, sizeof(out),
				       &out_len, &info),
			    "not a CSR (DER)");
	assert_string_equal(
		issue_sign(&im, &p.crt, junk, 0, now, 1, out, sizeof(out), &out_len, &info),
		"not a CSR (DER)");
	/* A session authenticated by a CA certificate: never renewed (no CA through here). */
	peer_make(&ca_peer, "sub-ca", NULL, NULL, 1);
	len = make_csr(&ca_peer.crt, &ca_peer.next);
	assert_string_equal(
		issue_sign(&im, &ca_peer.crt, csr, len, now, 1, out, sizeof(out), &out_len, &info),
		"the session's certificate is a CA certificate");
	/* The session's certificate expired (it cannot renew through the mesh). */
	len = make_csr(&p.crt, &p.next);
	assert_string_equal(
		issue_sign(&im, &p.crt, csr, len, now + 7200, 1, out, sizeof(out), &out_len, &info),
		"the session's certificate has expired");
	/* A node that is not an issuer. */
	{
		struct issuer_material none;

		memset(&none, 0, sizeof(none));
		assert_string_equal(issue_sign(&none, &p.crt, csr, len, now, 1, out, sizeof(out),
					       &out_len, &info),
				    "this node issues no certificates");
	}
	peer_free(&p);
	peer_free(&ca_peer);
}

static void test_judge(void **state)
{
	struct peer p;
	struct issue_info info;
	size_t len, out_len;
	int64_t na;
	uint8_t junk[16] = {0};

	(void)state;
	peer_make(&p, "gw-04", "spiffe://plant.example/gw-04", NULL, 0);
	len = make_csr(&p.crt, &p.next);
	assert_null(issue_sign(&im, &p.crt, csr, len, now, 1, out, sizeof(out), &out_len, &info));
	assert_string_equal(
		renew_judge(&p.crt, &ca.crt, NULL, &p.next, junk, sizeof(junk), now, &na),
		"not a certificate (DER)");
	/* Judged at a time it does not cover. */
	assert_string_equal(
		renew_judge(&p.crt, &ca.crt, NULL, &p.next, out, out_len, now + 2 * 86400, &na),
		"it has expired");
	assert_string_equal(
		renew_judge(&p.crt, &ca.crt, NULL, &p.next, out, out_len, now - 3600, &na),
		"it is not valid yet");
	/* Signed by a CA this node does not trust. */
	{
		struct pki_set_ca stranger;

		pki_set_ca_init(&stranger);
		assert_int_equal(pki_set_ca_make(&stranger, "Renew CA", now - 3600,
						 now + 30 * 86400, put_nothing, NULL),
				 0);
		assert_string_equal(
			renew_judge(&p.crt, &stranger.crt, NULL, &p.next, out, out_len, now, &na),
			"it does not chain to our CA");
		pki_set_ca_free(&stranger);
	}
	peer_free(&p);
}

static void test_due_and_time(void **state)
{
	char s[15];

	(void)state;
	/* A third of the lifetime left, or before_days. */
	assert_int_equal(renew_due(1000, 1300, 0), 1200);
	assert_int_equal(renew_due(0, 30 * 86400, 20), 10 * 86400);
	assert_int_equal(renew_due(0, 86400, 0), 57600);
	renew_time_str(0, s);
	assert_string_equal(s, "19700101000000");
	renew_time_str(951782400, s); /* the leap day of 2000 */
	assert_string_equal(s, "20000229000000");
	renew_time_str(951868799, s);
	assert_string_equal(s, "20000229235959");
	renew_time_str(4102444799, s);
	assert_string_equal(s, "20991231235959");
	renew_time_str(1796187771, s);
	assert_string_equal(s, "20261202050251");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_honest),	       cmocka_unit_test(test_capped),
		cmocka_unit_test(test_other_identity), cmocka_unit_test(test_forged),
		cmocka_unit_test(test_judge),	       cmocka_unit_test(test_due_and_time),
	};

	return cmocka_run_group_tests_name("renew", tests, setup, teardown);
}
