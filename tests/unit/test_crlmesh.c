/*
 * test_crlmesh.c: crl_judge() (core/crlmesh.c) on real CRLs: CAs made with
 * pki/pki_set.h, CRLs signed by them with pki_crl_write_pem(), and a
 * struct tls_material put together by hand (CA certificates and the CRLs the
 * node keeps, parsed into its fields), as a node holds them after a load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mbedtls/x509_crl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include "core/crlmesh.h"
#include "core/crlnum.h"
#include "core/tls.h"
#include "pki/pki.h"
#include "pki/pki_crl.h"
#include "pki/pki_set.h"

#define CA_CN "Mesh CA"

/* ca: ours. twin: another CA with the same subject name, its own key. other: a foreign CA. */
static struct pki_set_ca ca, twin, other;
static int64_t now;
static unsigned char pem[PKI_CRL_PEM_SIZE(4)];
static unsigned char crt_pem[PKI_CERT_PEM_MAX];

static int put_nothing(void *ctx, const char *name, const char *kind, const unsigned char *p,
		       size_t len)
{
	(void)ctx, (void)name, (void)kind, (void)p, (void)len;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (psa_crypto_init() != PSA_SUCCESS)
		return -1;
	now = (int64_t)time(NULL);
	pki_set_ca_init(&ca);
	pki_set_ca_init(&twin);
	pki_set_ca_init(&other);
	if (pki_set_ca_make(&ca, CA_CN, now - 3600, now + 30 * 86400, put_nothing, NULL) != 0 ||
	    pki_set_ca_make(&twin, CA_CN, now - 3600, now + 30 * 86400, put_nothing, NULL) != 0 ||
	    pki_set_ca_make(&other, "Other CA", now - 3600, now + 30 * 86400, put_nothing, NULL) !=
		    0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pki_set_ca_free(&ca);
	pki_set_ca_free(&twin);
	pki_set_ca_free(&other);
	return 0;
}

/* The CRL by c with CRL number num (len octets), revoking the serials given, as PEM in pem. */
static void crl_pem(struct pki_set_ca *c, const uint8_t *num, size_t num_len,
		    const struct pki_crl_entry *e, size_t n)
{
	struct pki_crl_spec s;

	memset(&s, 0, sizeof(s));
	s.this_update = now - 60;
	s.next_update = now + 7 * 86400;
	s.number = num;
	s.number_len = num_len;
	s.entries = e;
	s.n_entries = n;
	assert_int_equal(pki_crl_write_pem(&s, &c->crt, &c->key, pem, sizeof(pem)), 0);
}

/* The same as DER in der (cap bytes); returns its length. */
static size_t crl_der(struct pki_set_ca *c, const uint8_t *num, size_t num_len, uint8_t *der,
		      size_t cap)
{
	static const uint8_t serial[] = {0x12, 0x34, 0x56};
	struct pki_crl_entry e = {serial, sizeof(serial), 0};
	mbedtls_x509_crl parsed;
	size_t len;

	e.revoked_at = now - 30;
	crl_pem(c, num, num_len, &e, 1);
	mbedtls_x509_crl_init(&parsed);
	assert_int_equal(mbedtls_x509_crl_parse(&parsed, pem, strlen((char *)pem) + 1), 0);
	len = parsed.raw.len;
	assert_true(len <= cap);
	memcpy(der, parsed.raw.p, len);
	mbedtls_x509_crl_free(&parsed);
	return len;
}

/* A node's material: CA certificates (chained in order) and, if any, the CRLs it keeps. */
struct node {
	struct tls_material m;
};

static void node_init(struct node *n)
{
	memset(n, 0, sizeof(*n));
	mbedtls_x509_crt_init(&n->m.ca);
	mbedtls_x509_crl_init(&n->m.crl);
}

static void node_trust(struct node *n, const mbedtls_x509_crt *crt)
{
	assert_int_equal(mbedtls_x509_crt_parse_der(&n->m.ca, crt->raw.p, crt->raw.len), 0);
}

/* Keep the CRL of c numbered num (no entries). */
static void node_keep(struct node *n, struct pki_set_ca *c, const uint8_t *num, size_t num_len)
{
	crl_pem(c, num, num_len, NULL, 0);
	assert_int_equal(mbedtls_x509_crl_parse(&n->m.crl, pem, strlen((char *)pem) + 1), 0);
	n->m.has_crl = 1;
}

static void node_free(struct node *n)
{
	mbedtls_x509_crt_free(&n->m.ca);
	mbedtls_x509_crl_free(&n->m.crl);
}

static void id_of(const struct pki_set_ca *c, uint8_t id[FRAME_CRL_ISSUER_ID])
{
	crl_issuer_id(c->crt.subject_raw.p, c->crt.subject_raw.len, id);
}

/* crl_judge with the outputs checked for sanity; returns its words. */
static const char *judge(const struct node *n, const uint8_t *der, size_t len,
			 const uint8_t asked[FRAME_CRL_ISSUER_ID], unsigned *index, uint8_t *num,
			 size_t *num_len)
{
	unsigned ix = 0xdead;
	uint8_t nb[CRL_NUMBER_MAX];
	size_t nl = 999;
	const char *why = crl_judge(&n->m, der, len, asked, &ix, nb, &nl);

	assert_true(nl <= CRL_NUMBER_MAX);
	if (index)
		*index = ix;
	if (num)
		memcpy(num, nb, nl);
	if (num_len)
		*num_len = nl;
	return why;
}

static const uint8_t ONE[] = {1}, TWO[] = {2}, FIVE[] = {5};

static void test_issuer_id(void **state)
{
	uint8_t a[FRAME_CRL_ISSUER_ID], b[FRAME_CRL_ISSUER_ID], c[FRAME_CRL_ISSUER_ID];

	(void)state;
	id_of(&ca, a);
	id_of(&twin, b);
	id_of(&other, c);
	/* The id is the name's: the same for the twin, another for the other CA. */
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

static void test_newer_accepted(void **state)
{
	static uint8_t der[PKI_CRL_DER_SIZE(4)];
	static const uint8_t n00ff[] = {0x00, 0xff}, n0100[] = {0x01, 0x00};
	struct node n;
	uint8_t asked[FRAME_CRL_ISSUER_ID], num[CRL_NUMBER_MAX];
	size_t len, num_len;
	unsigned index;

	(void)state;
	id_of(&ca, asked);
	node_init(&n);
	node_trust(&n, &ca.crt);
	node_keep(&n, &ca, ONE, 1);
	len = crl_der(&ca, TWO, 1, der, sizeof(der));
	assert_null(judge(&n, der, len, asked, &index, num, &num_len));
	assert_int_equal(index, 0);
	assert_int_equal(num_len, 1);
	assert_int_equal(num[0], 2);
	node_free(&n);

	/* Numbers of more than one octet, a leading zero in ours. */
	node_init(&n);
	node_trust(&n, &ca.crt);
	node_keep(&n, &ca, n00ff, 2);
	len = crl_der(&ca, n0100, 2, der, sizeof(der));
	assert_null(judge(&n, der, len, asked, &index, num, &num_len));
	assert_int_equal(num_len, 2);
	assert_memory_equal(num, n0100, 2);
	node_free(&n);

	/* The index is our CRL's place in the chain: the other CA's comes first here. */
	node_init(&n);
	node_trust(&n, &other.crt);
	node_trust(&n, &ca.crt);
	node_keep(&n, &other, FIVE, 1);
	node_keep(&n, &ca, ONE, 1);
	len = crl_der(&ca, TWO, 1, der, sizeof(der));
	assert_null(judge(&n, der, len, asked, &index, num, &num_len));
	assert_int_equal(index, 1);
	node_free(&n);
}

static void test_not_newer(void **state)
{
	static uint8_t der[PKI_CRL_DER_SIZE(4)];
	static const uint8_t big[] = {0x01, 0x00};
	struct node n;
	uint8_t asked[FRAME_CRL_ISSUER_ID];
	size_t len;

	(void)state;
	id_of(&ca, asked);
	node_init(&n);
	node_trust(&n, &ca.crt);
	node_keep(&n, &ca, FIVE, 1);
	/* Equal, older, zero. */
	len = crl_der(&ca, FIVE, 1, der, sizeof(der));
	assert_string_equal(judge(&n, der, len, asked, NULL, NULL, NULL), "not newer than ours");
	len = crl_der(&ca, TWO, 1, der, sizeof(der));
	assert_string_equal(judge(&n, der, len, asked, NULL, NULL, NULL), "not newer than ours");
	len = crl_der(&ca, NULL, 0, der, sizeof(der));
	assert_string_equal(judge(&n, der, len, asked, NULL, NULL, NULL), "not newer than ours");
	/* 256 > 5 although its first octet is smaller. */
	len = crl_der(&ca, big, 2, der, sizeof(der));
	assert_null(judge(&n, der, len, asked, NULL, NULL, NULL));
	node_free(&n);
}

static void test_twin_ca(void **state)
{
	static uint8_t der[PKI_CRL_DER_SIZE(4)];
	struct node n;
	uint8_t asked[FRAME_CRL_ISSUER_ID];
	size_t len;
	unsigned index;

	(void)state;
	id_of(&ca, asked);
	/* Signed by a CA of the same name we do not trust: refused, however high its number. */
	node_init(&n);
	node_trust(&n, &ca.crt);
	node_keep(&n, &ca, ONE, 1);
	len = crl_der(&twin, FIVE, 1, der, sizeof(der));
	assert_string_equal(judge(&n, der, len, asked, NULL, NULL, NULL),
			    "not signed by one of our CAs");
	node_free(&n);

	/* A node trusting both (a bundle) takes it: every CA of that name is tried. */
	node_init(&n);
	node_trust(&n, &ca.crt);
	node_trust(&n, &twin.crt);
	node_keep(&n, &ca, ONE, 1);
	assert_null(judge(&n, der, len, asked, &index, NULL, NULL));
	assert_int_equal(index, 0);
	node_free(&n);
}

static void test_no_crl_sign(void **state)
{
	static uint8_t der[PKI_CRL_DER_SIZE(4)];
	struct pki_cert_spec spec;
	mbedtls_x509_crt weak;
	struct node n;
	uint8_t asked[FRAME_CRL_ISSUER_ID];
	size_t len;

	(void)state;
	/*
	 * A certificate with our CA's name and key whose keyUsage lacks cRLSign
	 * (pki_cert_write_pem gives a non-CA digitalSignature only): the signature
	 * of a CRL our real CA made verifies with it, but it may not sign CRLs.
	 */
	memset(&spec, 0, sizeof(spec));
	spec.cn = CA_CN;
	spec.is_ca = 0;
	spec.not_before = now - 3600;
	spec.not_after = now + 86400;
	assert_int_equal(pki_cert_write_pem(&spec, &ca.key, NULL, NULL, crt_pem, sizeof(crt_pem)),
			 0);
	mbedtls_x509_crt_init(&weak);
	assert_int_equal(mbedtls_x509_crt_parse(&weak, crt_pem, strlen((char *)crt_pem) + 1), 0);
	assert_int_equal(weak.subject_raw.len, ca.crt.subject_raw.len);
	assert_memory_equal(weak.subject_raw.p, ca.crt.subject_raw.p, weak.subject_raw.len);
	assert_int_not_equal(mbedtls_x509_crt_check_key_usage(&weak, MBEDTLS_X509_KU_CRL_SIGN), 0);
	assert_int_equal(mbedtls_x509_crt_check_key_usage(&ca.crt, MBEDTLS_X509_KU_CRL_SIGN), 0);

	id_of(&ca, asked);
	len = crl_der(&ca, TWO, 1, der, sizeof(der));
	node_init(&n);
	node_trust(&n, &weak);
	node_keep(&n, &ca, ONE, 1);
	assert_string_equal(judge(&n, der, len, asked, NULL, NULL, NULL),
			    "not signed by one of our CAs");
	node_free(&n);

	/* The same CRL with the real CA certificate: taken (so it was the key usage). */
	node_init(&n);
	node_trust(&n, &ca.crt);
	node_keep(&n, &ca, ONE, 1);
	assert_null(judge(&n, der, len, asked, NULL, NULL, NULL));
	node_free(&n);
	mbedtls_x509_crt_free(&weak);
}

static void test_wrong_issuer(void **state)
{
	static uint8_t der[PKI_CRL_DER_SIZE(4)];
	struct node n;
	uint8_t asked[FRAME_CRL_ISSUER_ID];
	size_t len;

	(void)state;
	/* We asked for our CA's CRL; the other CA's came (one we trust and keep, even). */
	id_of(&ca, asked);
	node_init(&n);
	node_trust(&n, &ca.crt);
	node_trust(&n, &other.crt);
	node_keep(&n, &ca, ONE, 1);
	node_keep(&n, &other, ONE, 1);
	len = crl_der(&other, FIVE, 1, der, sizeof(der));
	assert_string_equal(judge(&n, der, len, asked, NULL, NULL, NULL),
			    "not the issuer asked for");
	/* Asked for the other's, it is fine. */
	id_of(&other, asked);
	assert_null(judge(&n, der, len, asked, NULL, NULL, NULL));
	node_free(&n);
}

static void test_not_der(void **state)
{
	static uint8_t der[PKI_CRL_DER_SIZE(4)], two[2 * PKI_CRL_DER_SIZE(4)];
	static const uint8_t junk[] = "this is not a CRL at all";
	struct node n;
	uint8_t asked[FRAME_CRL_ISSUER_ID], zeros[64];
	size_t len;

	(void)state;
	id_of(&ca, asked);
	node_init(&n);
	node_trust(&n, &ca.crt);
	node_keep(&n, &ca, ONE, 1);
	memset(zeros, 0, sizeof(zeros));
	assert_string_equal(judge(&n, junk, sizeof(junk) - 1, asked, NULL, NULL, NULL),
			    "not one DER CRL");
	assert_string_equal(judge(&n, zeros, sizeof(zeros), asked, NULL, NULL, NULL),
			    "not one DER CRL");
	assert_string_equal(judge(&n, zeros, 1, asked, NULL, NULL, NULL), "not one DER CRL");
	/* A good CRL as PEM: the mesh carries DER only. */
	crl_pem(&ca, TWO, 1, NULL, 0);
	assert_string_equal(judge(&n, pem, strlen((char *)pem), asked, NULL, NULL, NULL),
			    "not one DER CRL");
	assert_string_equal(judge(&n, pem, strlen((char *)pem) + 1, asked, NULL, NULL, NULL),
			    "not one DER CRL");
	/* A good DER CRL cut short, or with a bit flipped in its signature. */
	len = crl_der(&ca, TWO, 1, der, sizeof(der));
	assert_null(judge(&n, der, len, asked, NULL, NULL, NULL));
	assert_string_equal(judge(&n, der, len - 1, asked, NULL, NULL, NULL), "not one DER CRL");
	assert_string_equal(judge(&n, der, len / 2, asked, NULL, NULL, NULL), "not one DER CRL");
	der[len - 3] ^= 0x01;
	assert_string_equal(judge(&n, der, len, asked, NULL, NULL, NULL),
			    "not signed by one of our CAs");
	der[len - 3] ^= 0x01;
	/* Two CRLs back to back are not one CRL. */
	memcpy(two, der, len);
	memcpy(two + len, der, len);
	assert_non_null(judge(&n, two, 2 * len, asked, NULL, NULL, NULL));
	node_free(&n);
}

static void test_not_kept(void **state)
{
	static uint8_t der[PKI_CRL_DER_SIZE(4)];
	struct node n;
	uint8_t asked[FRAME_CRL_ISSUER_ID];
	size_t len;

	(void)state;
	id_of(&ca, asked);
	len = crl_der(&ca, TWO, 1, der, sizeof(der));
	/* No CRL at all. */
	node_init(&n);
	node_trust(&n, &ca.crt);
	assert_string_equal(judge(&n, der, len, asked, NULL, NULL, NULL),
			    "we keep no CRL of this issuer");
	node_free(&n);
	/* A CRL of another issuer only. */
	node_init(&n);
	node_trust(&n, &ca.crt);
	node_trust(&n, &other.crt);
	node_keep(&n, &other, ONE, 1);
	assert_string_equal(judge(&n, der, len, asked, NULL, NULL, NULL),
			    "we keep no CRL of this issuer");
	node_free(&n);
	/*
	 * "no CRL number" is not tested here: pki_crl_write_pem always writes
	 * cRLNumber (length 0 is the number 0), so a CRL without one needs another
	 * maker (the integration tests use OpenSSL).
	 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issuer_id),   cmocka_unit_test(test_newer_accepted),
		cmocka_unit_test(test_not_newer),   cmocka_unit_test(test_twin_ca),
		cmocka_unit_test(test_no_crl_sign), cmocka_unit_test(test_wrong_issuer),
		cmocka_unit_test(test_not_der),	    cmocka_unit_test(test_not_kept),
	};

	return cmocka_run_group_tests_name("crlmesh", tests, setup, teardown);
}
