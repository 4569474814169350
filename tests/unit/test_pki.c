/* test_pki.c: keys and certificates made by pki/pki.c, checked by mbedTLS's parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mbedtls/oid.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/psa_util.h"
#include "mbedtls/x509_crl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include "base/err.h"
#include "core/crlnum.h"
#include "core/x509_time.h"
#include "pki/pki.h"
#include "pki/pki_crl.h"
#include "pki/pki_set.h"

static mbedtls_pk_context ca_key, leaf_key, other_key;
static mbedtls_x509_crt ca_crt;
static unsigned char pem[PKI_CERT_PEM_MAX];
static int64_t now;

static struct pki_cert_spec spec_of(const char *cn, int is_ca)
{
	struct pki_cert_spec s;

	memset(&s, 0, sizeof(s));
	s.cn = cn;
	s.is_ca = is_ca;
	s.not_before = now - 60;
	s.not_after = now + 86400;
	return s;
}

/* Issues a certificate and parses it back into out (initialised here). */
static void make(const struct pki_cert_spec *spec, mbedtls_pk_context *key,
		 const mbedtls_x509_crt *issuer, mbedtls_pk_context *ikey, mbedtls_x509_crt *out)
{
	assert_int_equal(pki_cert_write_pem(spec, key, issuer, ikey, pem, sizeof(pem)), 0);
	assert_non_null(strstr((char *)pem, "-----BEGIN CERTIFICATE-----"));
	mbedtls_x509_crt_init(out);
	assert_int_equal(mbedtls_x509_crt_parse(out, pem, strlen((char *)pem) + 1), 0);
}

static int setup(void **state)
{
	struct pki_cert_spec s;

	(void)state;
	if (psa_crypto_init() != PSA_SUCCESS)
		return -1;
	now = (int64_t)time(NULL);
	mbedtls_pk_init(&ca_key);
	mbedtls_pk_init(&leaf_key);
	mbedtls_pk_init(&other_key);
	if (pki_key_generate(&ca_key) != 0 || pki_key_generate(&leaf_key) != 0 ||
	    pki_key_generate(&other_key) != 0)
		return -1;
	s = spec_of("Test CA", 1);
	s.not_before = now - 3600;
	s.not_after = now + 10 * 86400;
	if (pki_cert_write_pem(&s, &ca_key, NULL, NULL, pem, sizeof(pem)) != 0)
		return -1;
	mbedtls_x509_crt_init(&ca_crt);
	return mbedtls_x509_crt_parse(&ca_crt, pem, strlen((char *)pem) + 1) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mbedtls_x509_crt_free(&ca_crt);
	mbedtls_pk_free(&ca_key);
	mbedtls_pk_free(&leaf_key);
	mbedtls_pk_free(&other_key);
	mbedtls_psa_crypto_free();
	return 0;
}

static void test_time_format_vectors(void **state)
{
	static const struct {
		int64_t t;
		const char *s;
	} v[] = {
		{0, "19700101000000"},
		{-1, "19691231235959"},
		{951782400, "20000229000000"},
		{1709251199, "20240229235959"},
		{2524607999, "20491231235959"},
		{2524608000, "20500101000000"},
		{4107587696, "21000301123456"},
		{PKI_TIME_MIN, "19500101000000"},
		{PKI_TIME_MAX, "99991231235959"},
	};
	char out[15];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(pki_time_format(v[i].t, out), 0);
		assert_string_equal(out, v[i].s);
	}
	assert_int_equal(pki_time_format(PKI_TIME_MIN - 1, out), TETHER_ERR_INVALID);
	assert_int_equal(pki_time_format(PKI_TIME_MAX + 1, out), TETHER_ERR_INVALID);
}

/* From 1950 to 9999 in steps of a day and an odd hour: format -> fields -> unix is identity. */
static void test_time_round_trip(void **state)
{
	char s[15];
	int64_t t, back;

	(void)state;
	for (t = PKI_TIME_MIN; t <= PKI_TIME_MAX; t += 86400 + 3607) {
		mbedtls_x509_time x;

		assert_int_equal(pki_time_format(t, s), 0);
		x.year =
			(s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
		x.mon = (s[4] - '0') * 10 + (s[5] - '0');
		x.day = (s[6] - '0') * 10 + (s[7] - '0');
		x.hour = (s[8] - '0') * 10 + (s[9] - '0');
		x.min = (s[10] - '0') * 10 + (s[11] - '0');
		x.sec = (s[12] - '0') * 10 + (s[13] - '0');
		assert_int_equal(x509_time_to_unix(&x, &back), 0);
		assert_true(back == t);
	}
}

static void test_time_to_unix_rejects(void **state)
{
	mbedtls_x509_time ok = {2024, 2, 29, 23, 59, 59}, x;
	int64_t t;

	(void)state;
	assert_int_equal(x509_time_to_unix(&ok, &t), 0);
	assert_true(t == 1709251199);
	x = ok;
	x.mon = 13;
	assert_int_equal(x509_time_to_unix(&x, &t), TETHER_ERR_INVALID);
	x = ok;
	x.day = 0;
	assert_int_equal(x509_time_to_unix(&x, &t), TETHER_ERR_INVALID);
	x = ok;
	x.hour = 24;
	assert_int_equal(x509_time_to_unix(&x, &t), TETHER_ERR_INVALID);
	assert_int_equal(x509_time_to_unix(NULL, &t), TETHER_ERR_INVALID);
}

static void test_key_pem_round_trip(void **state)
{
	unsigned char buf[PKI_KEY_PEM_MAX];
	mbedtls_pk_context back;

	(void)state;
	assert_int_equal(pki_key_write_pem(&leaf_key, buf, sizeof(buf)), 0);
	assert_non_null(strstr((char *)buf, "-----BEGIN EC PRIVATE KEY-----"));
	mbedtls_pk_init(&back);
	assert_int_equal(mbedtls_pk_parse_key(&back, buf, strlen((char *)buf) + 1, NULL, 0,
					      mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE),
			 0);
	assert_int_equal(mbedtls_pk_get_bitlen(&back), 256);
	assert_int_equal(mbedtls_pk_check_pair(&leaf_key, &back, mbedtls_psa_get_random,
					       MBEDTLS_PSA_RANDOM_STATE),
			 0);
	mbedtls_pk_free(&back);
	mbedtls_platform_zeroize(buf, sizeof(buf));
}

static void test_key_pem_too_small(void **state)
{
	unsigned char buf[64];
	size_t i;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(pki_key_write_pem(&leaf_key, buf, sizeof(buf)), TETHER_ERR_TOO_BIG);
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
}

static void test_keys_differ(void **state)
{
	(void)state;
	assert_int_not_equal(mbedtls_pk_check_pair(&ca_key, &leaf_key, mbedtls_psa_get_random,
						   MBEDTLS_PSA_RANDOM_STATE),
			     0);
}

static void test_ca_self_signed(void **state)
{
	uint32_t flags = 0;

	(void)state;
	assert_int_equal(ca_crt.version, 3);
	assert_true(ca_crt.MBEDTLS_PRIVATE(ca_istrue));
	assert_int_equal(ca_crt.MBEDTLS_PRIVATE(max_pathlen), 2); /* mbedTLS stores pathlen + 1 */
	assert_int_equal(mbedtls_x509_crt_check_key_usage(
				 &ca_crt, MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN),
			 0);
	assert_int_equal(ca_crt.subject_raw.len, ca_crt.issuer_raw.len);
	assert_memory_equal(ca_crt.subject_raw.p, ca_crt.issuer_raw.p, ca_crt.subject_raw.len);
	assert_int_equal(ca_crt.subject_key_id.len, 20);
	assert_int_equal(ca_crt.authority_key_id.keyIdentifier.len, 20);
	assert_memory_equal(ca_crt.subject_key_id.p, ca_crt.authority_key_id.keyIdentifier.p, 20);
	assert_int_equal(mbedtls_x509_crt_verify(&ca_crt, &ca_crt, NULL, NULL, &flags, NULL, NULL),
			 0);
	assert_int_equal(flags, 0);
}

static void test_leaf_issued(void **state)
{
	struct pki_cert_spec s = spec_of("gw-01", 0);
	mbedtls_x509_crt leaf;
	mbedtls_x509_subject_alternative_name san;
	uint32_t flags = 0;

	(void)state;
	s.uri_san = "spiffe://plant.example/gw-01";
	s.dns_san = "gw-01.plant.example";
	make(&s, &leaf_key, &ca_crt, &ca_key, &leaf);

	assert_int_equal(leaf.version, 3);
	assert_false(leaf.MBEDTLS_PRIVATE(ca_istrue));
	assert_int_equal(mbedtls_x509_crt_check_key_usage(&leaf, MBEDTLS_X509_KU_DIGITAL_SIGNATURE),
			 0);
	assert_int_not_equal(mbedtls_x509_crt_check_key_usage(&leaf, MBEDTLS_X509_KU_KEY_CERT_SIGN),
			     0);
	assert_int_equal(
		mbedtls_x509_crt_check_extended_key_usage(
			&leaf, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)),
		0);
	assert_int_equal(
		mbedtls_x509_crt_check_extended_key_usage(
			&leaf, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)),
		0);

	/* Issuer name and key id chain up to the CA. */
	assert_int_equal(leaf.issuer_raw.len, ca_crt.subject_raw.len);
	assert_memory_equal(leaf.issuer_raw.p, ca_crt.subject_raw.p, ca_crt.subject_raw.len);
	assert_int_equal(leaf.authority_key_id.keyIdentifier.len, ca_crt.subject_key_id.len);
	assert_memory_equal(leaf.authority_key_id.keyIdentifier.p, ca_crt.subject_key_id.p,
			    ca_crt.subject_key_id.len);

	/* The URI comes first, then the DNS name. */
	assert_non_null(leaf.subject_alt_names.buf.p);
	assert_int_equal(mbedtls_x509_parse_subject_alt_name(&leaf.subject_alt_names.buf, &san), 0);
	assert_int_equal(san.type, MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER);
	assert_int_equal(san.san.unstructured_name.len, strlen(s.uri_san));
	assert_memory_equal(san.san.unstructured_name.p, s.uri_san, strlen(s.uri_san));
	assert_non_null(leaf.subject_alt_names.next);
	assert_int_equal(
		mbedtls_x509_parse_subject_alt_name(&leaf.subject_alt_names.next->buf, &san), 0);
	assert_int_equal(san.type, MBEDTLS_X509_SAN_DNS_NAME);
	assert_memory_equal(san.san.unstructured_name.p, s.dns_san, strlen(s.dns_san));
	assert_null(leaf.subject_alt_names.next->next);

	/* A positive 16-byte serial. */
	assert_int_equal(leaf.serial.len, 16);
	assert_true(leaf.serial.p[0] > 0 && leaf.serial.p[0] < 0x80);

	assert_int_equal(mbedtls_x509_crt_verify(&leaf, &ca_crt, NULL, NULL, &flags, NULL, NULL),
			 0);
	assert_int_equal(flags, 0);
	mbedtls_x509_crt_free(&leaf);
}

static void test_no_sans(void **state)
{
	struct pki_cert_spec s = spec_of("plain", 0);
	mbedtls_x509_crt leaf;

	(void)state;
	s.uri_san = "";
	make(&s, &leaf_key, &ca_crt, &ca_key, &leaf);
	assert_null(leaf.subject_alt_names.buf.p);
	mbedtls_x509_crt_free(&leaf);
}

static void test_serials_differ(void **state)
{
	struct pki_cert_spec s = spec_of("gw-01", 0);
	mbedtls_x509_crt a, b;

	(void)state;
	make(&s, &leaf_key, &ca_crt, &ca_key, &a);
	make(&s, &leaf_key, &ca_crt, &ca_key, &b);
	assert_int_equal(a.serial.len, b.serial.len);
	assert_memory_not_equal(a.serial.p, b.serial.p, a.serial.len);
	mbedtls_x509_crt_free(&a);
	mbedtls_x509_crt_free(&b);
}

static void test_validity_written(void **state)
{
	struct pki_cert_spec s = spec_of("gw-01", 0);
	mbedtls_x509_crt leaf;
	int64_t nb, na;

	(void)state;
	s.not_before = 951782400; /* 2000-02-29, a UTCTime */
	s.not_after = 4107587696; /* 2100-03-01, a GeneralizedTime */
	make(&s, &leaf_key, &ca_crt, &ca_key, &leaf);
	assert_int_equal(x509_time_to_unix(&leaf.valid_from, &nb), 0);
	assert_int_equal(x509_time_to_unix(&leaf.valid_to, &na), 0);
	assert_true(nb == s.not_before);
	assert_true(na == s.not_after);
	mbedtls_x509_crt_free(&leaf);
}

#if defined(MBEDTLS_HAVE_TIME_DATE)
static void test_expired_and_future(void **state)
{
	struct pki_cert_spec s = spec_of("gw-01", 0);
	mbedtls_x509_crt leaf;
	uint32_t flags = 0;

	(void)state;
	s.not_before = now - 3 * 86400;
	s.not_after = now - 2 * 86400;
	make(&s, &leaf_key, &ca_crt, &ca_key, &leaf);
	assert_int_not_equal(
		mbedtls_x509_crt_verify(&leaf, &ca_crt, NULL, NULL, &flags, NULL, NULL), 0);
	assert_true(flags & MBEDTLS_X509_BADCERT_EXPIRED);
	mbedtls_x509_crt_free(&leaf);

	s.not_before = now + 2 * 86400;
	s.not_after = now + 3 * 86400;
	make(&s, &leaf_key, &ca_crt, &ca_key, &leaf);
	flags = 0;
	assert_int_not_equal(
		mbedtls_x509_crt_verify(&leaf, &ca_crt, NULL, NULL, &flags, NULL, NULL), 0);
	assert_true(flags & MBEDTLS_X509_BADCERT_FUTURE);
	mbedtls_x509_crt_free(&leaf);
}
#endif

/* RFC 4514 specials in a CA's CN survive into the leaf's issuer name exactly. */
static void test_special_cn(void **state)
{
	static const char cn[] = " a,b=c+d\"e\\f#g<h>i;j ";
	struct pki_cert_spec s = spec_of(cn, 1);
	mbedtls_x509_crt ca, leaf;
	uint32_t flags = 0;

	(void)state;
	make(&s, &other_key, NULL, NULL, &ca);
	assert_true(MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &ca.subject.oid) == 0);
	assert_int_equal(ca.subject.val.len, strlen(cn));
	assert_memory_equal(ca.subject.val.p, cn, strlen(cn));

	s = spec_of("leaf", 0);
	make(&s, &leaf_key, &ca, &other_key, &leaf);
	assert_int_equal(leaf.issuer_raw.len, ca.subject_raw.len);
	assert_memory_equal(leaf.issuer_raw.p, ca.subject_raw.p, ca.subject_raw.len);
	assert_int_equal(mbedtls_x509_crt_verify(&leaf, &ca, NULL, NULL, &flags, NULL, NULL), 0);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_free(&ca);
}

static void test_rejects(void **state)
{
	struct pki_cert_spec s = spec_of("gw-01", 0);
	char long_cn[PKI_CN_MAX + 2];
	mbedtls_x509_crt leaf;
	mbedtls_pk_context empty;

	(void)state;
#define REJECT(sp, key, iss, ikey)                                                 \
	assert_int_equal(pki_cert_write_pem(sp, key, iss, ikey, pem, sizeof(pem)), \
			 TETHER_ERR_INVALID)

	REJECT(NULL, &leaf_key, &ca_crt, &ca_key);
	s.not_before = s.not_after + 1;
	REJECT(&s, &leaf_key, &ca_crt, &ca_key);
	s = spec_of("", 0);
	REJECT(&s, &leaf_key, &ca_crt, &ca_key);
	memset(long_cn, 'a', sizeof(long_cn) - 1);
	long_cn[sizeof(long_cn) - 1] = '\0';
	s = spec_of(long_cn, 0);
	REJECT(&s, &leaf_key, &ca_crt, &ca_key);
	long_cn[PKI_CN_MAX] = '\0'; /* exactly the maximum is fine */
	s = spec_of(long_cn, 0);
	assert_int_equal(pki_cert_write_pem(&s, &leaf_key, &ca_crt, &ca_key, pem, sizeof(pem)), 0);
	s = spec_of("bad\ncn", 0);
	REJECT(&s, &leaf_key, &ca_crt, &ca_key);
	s = spec_of("gw-01", 0);
	s.uri_san = "spiffe://x/has space";
	REJECT(&s, &leaf_key, &ca_crt, &ca_key);
	s = spec_of("gw-01", 0);
	s.dns_san = "caf\xc3\xa9.example";
	REJECT(&s, &leaf_key, &ca_crt, &ca_key);
	s = spec_of("gw-01", 0);
	s.not_before = PKI_TIME_MIN - 1;
	REJECT(&s, &leaf_key, &ca_crt, &ca_key);

	/* The issuer key must be the CA's, and self-signing takes no other key. */
	s = spec_of("gw-01", 0);
	REJECT(&s, &leaf_key, &ca_crt, &other_key);
	REJECT(&s, &leaf_key, NULL, &other_key);
	/* A key that is not set up is refused, not crashed on. */
	mbedtls_pk_init(&empty);
	REJECT(&s, &empty, &ca_crt, &ca_key);
	REJECT(&s, &leaf_key, &ca_crt, &empty);

	/* A leaf cannot issue. */
	make(&s, &leaf_key, &ca_crt, &ca_key, &leaf);
	REJECT(&s, &other_key, &leaf, &leaf_key);
	mbedtls_x509_crt_free(&leaf);
#undef REJECT
}

static void test_cert_too_small(void **state)
{
	struct pki_cert_spec s = spec_of("gw-01", 0);
	unsigned char small[200];

	(void)state;
	assert_int_equal(pki_cert_write_pem(&s, &leaf_key, &ca_crt, &ca_key, small, sizeof(small)),
			 TETHER_ERR_TOO_BIG);
	assert_int_equal(small[0], 0);
}

/* ok() takes max bytes of c and refuses one more. */
static void check_max(int (*ok)(const char *), char c, size_t max)
{
	char s[PKI_SAN_MAX + 2];

	assert_true(max + 2 <= sizeof(s));
	memset(s, c, max + 1);
	s[max] = '\0';
	assert_true(ok(s));
	s[max] = c;
	s[max + 1] = '\0';
	assert_false(ok(s));
}

/* The rules tether pki checks its arguments with before issuing. */
static void test_name_rules(void **state)
{
	(void)state;
	assert_true(pki_cn_ok("tether CA, \"plant\" #1"));
	assert_false(pki_cn_ok(""));
	assert_false(pki_cn_ok(NULL));
	assert_false(pki_cn_ok("tab\there"));
	assert_false(pki_cn_ok("del\x7f"));
	check_max(pki_cn_ok, 'c', PKI_CN_MAX);

	assert_true(pki_san_ok(NULL));
	assert_true(pki_san_ok(""));
	assert_true(pki_san_ok("spiffe://plant.example/gw-01"));
	assert_false(pki_san_ok("with space"));
	assert_false(pki_san_ok("caf\xc3\xa9"));
	check_max(pki_san_ok, 's', PKI_SAN_MAX);
}

/* ---- pki_set: a CA and a key and certificate per node, through a callback ---- */

#define PUTS_MAX 8

/* What the callback was handed, in order; fail_at: the call (1-based) that fails. */
static struct {
	unsigned n, fail_at;
	int fail_ret;
	struct {
		char name[PKI_CN_MAX + 1]; /* "" for the CA */
		char kind[4];
		unsigned char pem[PKI_CERT_PEM_MAX];
		size_t len;
		const unsigned char *given; /* the pointer put() was handed */
	} got[PUTS_MAX];
} puts_seen;

static int put_record(void *ctx, const char *name, const char *kind, const unsigned char *pem,
		      size_t len)
{
	unsigned i = puts_seen.n++;

	assert_ptr_equal(ctx, &puts_seen);
	assert_true(i < PUTS_MAX);
	assert_true(len < sizeof(puts_seen.got[i].pem));
	assert_int_equal(pem[len], '\0');
	snprintf(puts_seen.got[i].name, sizeof(puts_seen.got[i].name), "%s",
		 name != NULL ? name : "");
	snprintf(puts_seen.got[i].kind, sizeof(puts_seen.got[i].kind), "%s", kind);
	memcpy(puts_seen.got[i].pem, pem, len + 1);
	puts_seen.got[i].len = len;
	puts_seen.got[i].given = pem;
	return puts_seen.n == puts_seen.fail_at ? puts_seen.fail_ret : 0;
}

static void puts_reset(unsigned fail_at, int fail_ret)
{
	mbedtls_platform_zeroize(&puts_seen, sizeof(puts_seen));
	puts_seen.fail_at = fail_at;
	puts_seen.fail_ret = fail_ret;
}

static void parse_crt(unsigned i, mbedtls_x509_crt *out)
{
	mbedtls_x509_crt_init(out);
	assert_string_equal(puts_seen.got[i].kind, "crt");
	assert_int_equal(
		mbedtls_x509_crt_parse(out, puts_seen.got[i].pem, puts_seen.got[i].len + 1), 0);
}

static void assert_cn(const mbedtls_x509_crt *c, const char *cn)
{
	assert_true(MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &c->subject.oid) == 0);
	assert_int_equal(c->subject.val.len, strlen(cn));
	assert_memory_equal(c->subject.val.p, cn, strlen(cn));
}

static void assert_window(const mbedtls_x509_crt *c, int64_t nb, int64_t na)
{
	int64_t t;

	assert_int_equal(x509_time_to_unix(&c->valid_from, &t), 0);
	assert_true(t == nb);
	assert_int_equal(x509_time_to_unix(&c->valid_to, &t), 0);
	assert_true(t == na);
}

/* Entry i is node's certificate and i + 1 its key: it chains to ca, names it, matches. */
static void check_node(unsigned i, mbedtls_x509_crt *ca, const struct pki_set_node *node,
		       int64_t nb, int64_t na)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	mbedtls_x509_subject_alternative_name san;
	uint32_t flags = 0;

	assert_string_equal(puts_seen.got[i].name, node->name);
	parse_crt(i, &crt);
	assert_false(crt.MBEDTLS_PRIVATE(ca_istrue));
	assert_cn(&crt, node->name);
	assert_window(&crt, nb, na);
	if (node->uri_san != NULL && node->uri_san[0] != '\0') {
		assert_int_equal(
			mbedtls_x509_parse_subject_alt_name(&crt.subject_alt_names.buf, &san), 0);
		assert_int_equal(san.type, MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER);
		assert_int_equal(san.san.unstructured_name.len, strlen(node->uri_san));
		assert_memory_equal(san.san.unstructured_name.p, node->uri_san,
				    strlen(node->uri_san));
		assert_null(crt.subject_alt_names.next);
	} else {
		assert_null(crt.subject_alt_names.buf.p);
	}
	assert_int_equal(mbedtls_x509_crt_verify(&crt, ca, NULL, NULL, &flags, NULL, NULL), 0);
	assert_int_equal(flags, 0);

	assert_string_equal(puts_seen.got[i + 1].name, node->name);
	assert_string_equal(puts_seen.got[i + 1].kind, "key");
	assert_non_null(strstr((char *)puts_seen.got[i + 1].pem, "-----BEGIN EC PRIVATE KEY-----"));
	mbedtls_pk_init(&key);
	assert_int_equal(mbedtls_pk_parse_key(&key, puts_seen.got[i + 1].pem,
					      puts_seen.got[i + 1].len + 1, NULL, 0,
					      mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE),
			 0);
	assert_int_equal(mbedtls_pk_check_pair(&crt.pk, &key, mbedtls_psa_get_random,
					       MBEDTLS_PSA_RANDOM_STATE),
			 0);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
}

/* A key's PEM was wiped once put() returned: the buffer it was handed reads zero. */
static void assert_wiped(unsigned i)
{
	size_t k;

	for (k = 0; k <= puts_seen.got[i].len; k++)
		assert_int_equal(puts_seen.got[i].given[k], 0);
}

static const struct pki_set_node set_nodes[] = {
	{"alpha", "spiffe://set.example/alpha"},
	{"beta", "spiffe://set.example/beta"},
	{"gamma", NULL},
};

static struct pki_set_spec set_spec(void)
{
	struct pki_set_spec s;

	memset(&s, 0, sizeof(s));
	s.ca_cn = "Set CA";
	s.not_before = now - 60;
	s.not_after = now + 86400;
	s.nodes = set_nodes;
	s.n_nodes = sizeof(set_nodes) / sizeof(set_nodes[0]);
	return s;
}

static void test_set_make(void **state)
{
	struct pki_set_spec s = set_spec();
	mbedtls_x509_crt ca, first;
	mbedtls_pk_context other;
	uint32_t flags = 0;
	unsigned i;

	(void)state;
	puts_reset(0, 0);
	assert_int_equal(pki_set_make(&s, put_record, &puts_seen), 0);
	assert_int_equal(puts_seen.n, 1 + 2 * s.n_nodes);

	/* The CA's certificate first, under no name; its key is never handed out. */
	assert_string_equal(puts_seen.got[0].name, "");
	parse_crt(0, &ca);
	assert_true(ca.MBEDTLS_PRIVATE(ca_istrue));
	assert_cn(&ca, s.ca_cn);
	assert_window(&ca, s.not_before, s.not_after);
	assert_int_equal(mbedtls_x509_crt_verify(&ca, &ca, NULL, NULL, &flags, NULL, NULL), 0);

	for (i = 0; i < s.n_nodes; i++) {
		check_node(1 + 2 * i, &ca, &set_nodes[i], s.not_before, s.not_after);
		assert_wiped(2 + 2 * i);
	}

	/* Every node has a key of its own: beta's key does not match alpha's certificate. */
	mbedtls_pk_init(&other);
	assert_int_equal(mbedtls_pk_parse_key(&other, puts_seen.got[4].pem,
					      puts_seen.got[4].len + 1, NULL, 0,
					      mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE),
			 0);
	parse_crt(1, &first);
	assert_int_not_equal(mbedtls_pk_check_pair(&first.pk, &other, mbedtls_psa_get_random,
						   MBEDTLS_PSA_RANDOM_STATE),
			     0);
	mbedtls_x509_crt_free(&first);
	mbedtls_pk_free(&other);
	mbedtls_x509_crt_free(&ca);
}

/* The callback's error stops the run at once and comes back as is. */
static void test_set_put_error_stops(void **state)
{
	struct pki_set_spec s = set_spec();
	unsigned k, total = 1 + 2 * (unsigned)s.n_nodes;

	(void)state;
	for (k = 1; k <= total; k++) {
		puts_reset(k, TETHER_ERR_FILE);
		assert_int_equal(pki_set_make(&s, put_record, &puts_seen), TETHER_ERR_FILE);
		assert_int_equal(puts_seen.n, k);
		if (strcmp(puts_seen.got[k - 1].kind, "key") == 0)
			assert_wiped(k - 1);
	}
	puts_reset(2, 1); /* a positive value also stops it */
	assert_int_equal(pki_set_make(&s, put_record, &puts_seen), TETHER_ERR_IO);
	assert_int_equal(puts_seen.n, 2);
}

/* A CA kept in memory issues again later, with windows of its own (the simulation's use). */
static void test_set_ca_issues_later(void **state)
{
	static const struct pki_set_node n = {"late", "spiffe://set.example/late"};
	struct pki_set_ca ca;
	mbedtls_x509_crt ca_crt_seen;

	(void)state;
	pki_set_ca_init(&ca);
	puts_reset(0, 0);
	assert_int_equal(pki_set_issue(&ca, "x", NULL, now, now + 60, put_record, &puts_seen),
			 TETHER_ERR_INVALID); /* no CA yet */
	assert_int_equal(pki_set_ca_make(&ca, "Kept CA", now - 3600, now + 10 * 86400, put_record,
					 &puts_seen),
			 0);
	assert_int_equal(pki_set_ca_make(&ca, "Again", now, now + 60, put_record, &puts_seen),
			 TETHER_ERR_INVALID); /* a made CA is not replaced */
	assert_int_equal(
		pki_set_issue(&ca, n.name, n.uri_san, now - 60, now + 600, put_record, &puts_seen),
		0);
	assert_int_equal(pki_set_issue(&ca, n.name, n.uri_san, now - 120, now + 1200, put_record,
				       &puts_seen),
			 0);
	assert_int_equal(puts_seen.n, 5);
	parse_crt(0, &ca_crt_seen);
	assert_cn(&ca_crt_seen, "Kept CA");
	check_node(1, &ca_crt_seen, &n, now - 60, now + 600);
	check_node(3, &ca_crt_seen, &n, now - 120, now + 1200);
	mbedtls_x509_crt_free(&ca_crt_seen);
	pki_set_ca_free(&ca);
	pki_set_ca_free(&ca); /* twice, and NULL, are harmless */
	pki_set_ca_free(NULL);
}

/* The longest CA and node names and URI SAN fit pki_set's buffers. */
static void test_set_longest(void **state)
{
	char ca_cn[PKI_CN_MAX + 1], cn[PKI_CN_MAX + 1], uri[PKI_SAN_MAX + 1];
	struct pki_set_node n = {cn, uri};
	struct pki_set_spec s = set_spec();
	mbedtls_x509_crt ca;

	(void)state;
	memset(ca_cn, 'c', PKI_CN_MAX);
	ca_cn[PKI_CN_MAX] = '\0';
	memset(cn, 'n', PKI_CN_MAX);
	cn[PKI_CN_MAX] = '\0';
	memcpy(uri, "spiffe://", 9);
	memset(uri + 9, 'u', PKI_SAN_MAX - 9);
	uri[PKI_SAN_MAX] = '\0';
	s.ca_cn = ca_cn;
	s.nodes = &n;
	s.n_nodes = 1;
	s.not_before = PKI_TIME_MIN;
	s.not_after = PKI_TIME_MAX;
	puts_reset(0, 0);
	assert_int_equal(pki_set_make(&s, put_record, &puts_seen), 0);
	assert_int_equal(puts_seen.n, 3);
	parse_crt(0, &ca);
	assert_cn(&ca, ca_cn);
	check_node(1, &ca, &n, s.not_before, s.not_after);
	mbedtls_x509_crt_free(&ca);
}

static void test_set_rejects(void **state)
{
	struct pki_set_spec s = set_spec();
	static const struct pki_set_node bad[] = {{"ok", NULL}, {"", NULL}};

	(void)state;
	puts_reset(0, 0);
	assert_int_equal(pki_set_make(NULL, put_record, &puts_seen), TETHER_ERR_INVALID);
	assert_int_equal(pki_set_make(&s, NULL, &puts_seen), TETHER_ERR_INVALID);
	s.nodes = NULL;
	assert_int_equal(pki_set_make(&s, put_record, &puts_seen), TETHER_ERR_INVALID);
	assert_int_equal(puts_seen.n, 0);
	s.n_nodes = 0; /* a CA alone */
	assert_int_equal(pki_set_make(&s, put_record, &puts_seen), 0);
	assert_int_equal(puts_seen.n, 1);

	s = set_spec();
	s.ca_cn = "";
	puts_reset(0, 0);
	assert_int_equal(pki_set_make(&s, put_record, &puts_seen), TETHER_ERR_INVALID);
	assert_int_equal(puts_seen.n, 0);

	/* A bad node stops the set after the good ones went out. */
	s = set_spec();
	s.nodes = bad;
	s.n_nodes = 2;
	puts_reset(0, 0);
	assert_int_equal(pki_set_make(&s, put_record, &puts_seen), TETHER_ERR_INVALID);
	assert_int_equal(puts_seen.n, 3);

	s = set_spec();
	s.not_after = s.not_before - 1;
	puts_reset(0, 0);
	assert_int_equal(pki_set_make(&s, put_record, &puts_seen), TETHER_ERR_INVALID);
	assert_int_equal(puts_seen.n, 0);
}

/* ---- CRLs (pki/pki_crl.c), checked against mbedTLS's own CRL parser */

static unsigned char crl_pem[PKI_CRL_PEM_SIZE(8)];

static struct pki_crl_spec crl_spec(const struct pki_crl_entry *e, size_t n,
				    const unsigned char *num, size_t num_len)
{
	struct pki_crl_spec s;

	memset(&s, 0, sizeof(s));
	s.this_update = now - 60;
	s.next_update = now + 30 * 86400;
	s.number = num;
	s.number_len = num_len;
	s.entries = e;
	s.n_entries = n;
	return s;
}

/* Writes the CRL and parses it back into out (initialised here). */
static void make_crl(const struct pki_crl_spec *s, mbedtls_x509_crl *out)
{
	assert_int_equal(pki_crl_write_pem(s, &ca_crt, &ca_key, crl_pem, sizeof(crl_pem)), 0);
	assert_non_null(strstr((char *)crl_pem, "-----BEGIN X509 CRL-----\n"));
	mbedtls_x509_crl_init(out);
	assert_int_equal(mbedtls_x509_crl_parse(out, crl_pem, strlen((char *)crl_pem) + 1), 0);
	assert_null(out->next);
}

/* The differential check: mbedTLS parses it, and the CA's key verifies the signature over the TBS. */
static void assert_crl_signed(const mbedtls_x509_crl *crl, const mbedtls_x509_crt *ca, int want)
{
	unsigned char hash[32];
	size_t hash_len;

	assert_int_equal(crl->MBEDTLS_PRIVATE(sig_md), MBEDTLS_MD_SHA256);
	assert_int_equal(crl->MBEDTLS_PRIVATE(sig_pk), MBEDTLS_PK_ECDSA);
	assert_int_equal(psa_hash_compute(PSA_ALG_SHA_256, crl->tbs.p, crl->tbs.len, hash,
					  sizeof(hash), &hash_len),
			 PSA_SUCCESS);
	assert_int_equal(mbedtls_pk_verify((mbedtls_pk_context *)&ca->pk, MBEDTLS_MD_SHA256, hash,
					   hash_len, crl->MBEDTLS_PRIVATE(sig).p,
					   crl->MBEDTLS_PRIVATE(sig).len) == 0,
			 want);
	assert_int_equal(pki_crl_signed_by(crl, ca) == 0, want);
}

static void assert_time(const mbedtls_x509_time *t, int64_t want)
{
	int64_t got;

	assert_int_equal(x509_time_to_unix(t, &got), 0);
	assert_true(got == want);
}

static void test_crl_written(void **state)
{
	static const unsigned char s1[] = {0x01, 0x02, 0x03}, s2[] = {0x00, 0x80},
				   s3[] = {0x7f, 1,  2,	 3,  4,	 5,  6,	 7,  8,	 9,
					   10,	 11, 12, 13, 14, 15, 16, 17, 18, 19},
				   num[] = {0x00, 0x01, 0x00};
	struct pki_crl_entry e[3] = {{s1, sizeof(s1), 0}, {s2, sizeof(s2), 0}, {s3, sizeof(s3), 0}};
	struct pki_crl_spec s;
	const mbedtls_x509_crl_entry *ent;
	mbedtls_x509_crl crl;
	uint8_t n[CRL_NUMBER_MAX];
	size_t nlen, i;

	(void)state;
	e[0].revoked_at = now - 86400;
	e[1].revoked_at = now - 3600;
	e[2].revoked_at = 2524608000; /* 2050: GeneralizedTime */
	s = crl_spec(e, 3, num, sizeof(num));
	make_crl(&s, &crl);

	assert_int_equal(crl.version, 2);
	assert_int_equal(crl.issuer_raw.len, ca_crt.subject_raw.len);
	assert_memory_equal(crl.issuer_raw.p, ca_crt.subject_raw.p, ca_crt.subject_raw.len);
	assert_time(&crl.this_update, s.this_update);
	assert_time(&crl.next_update, s.next_update);
	assert_crl_signed(&crl, &ca_crt, 1);

	/* The entries, in order, serials verbatim. */
	for (i = 0, ent = &crl.entry; i < 3; i++, ent = ent->next) {
		assert_non_null(ent);
		assert_int_equal(ent->serial.len, e[i].serial_len);
		assert_memory_equal(ent->serial.p, e[i].serial, e[i].serial_len);
		assert_time(&ent->revocation_date, e[i].revoked_at);
		assert_int_equal(ent->entry_ext.len, 0);
	}
	assert_null(ent);

	/* The number, minimal; and the AKI is the CA's SKI (the first extension). */
	assert_int_equal(crl_number(&crl, n, &nlen), 0);
	assert_int_equal(nlen, 2);
	assert_int_equal(n[0], 1);
	assert_int_equal(n[1], 0);
	assert_non_null(crl.crl_ext.p);
	{
		static const unsigned char aki_oid[] = {0x06, 0x03, 0x55, 0x1d, 0x23};
		const unsigned char *p = crl.crl_ext.p;

		/* 30 L 30 L 06 03 55 1d 23 04 L 30 L 80 14 <ski> */
		assert_memory_equal(p + 4, aki_oid, sizeof(aki_oid));
		assert_int_equal(p[13], 0x80);
		assert_int_equal(p[14], ca_crt.subject_key_id.len);
		assert_memory_equal(p + 15, ca_crt.subject_key_id.p, ca_crt.subject_key_id.len);
	}
	mbedtls_x509_crl_free(&crl);
}

static void test_crl_empty(void **state)
{
	struct pki_crl_spec s = crl_spec(NULL, 0, NULL, 0);
	mbedtls_x509_crl crl;
	uint8_t n[CRL_NUMBER_MAX];
	size_t nlen = 99;
	unsigned char der[1024];
	size_t der_len;

	(void)state;
	make_crl(&s, &crl);
	assert_null(crl.entry.serial.p);
	assert_null(crl.entry.next);
	assert_int_equal(crl_number(&crl, n, &nlen), 0);
	assert_int_equal(nlen, 0);
	assert_crl_signed(&crl, &ca_crt, 1);

	/* No empty revokedCertificates SEQUENCE: nextUpdate's Time is followed by [0]. */
	der_len = crl.raw.len;
	assert_true(der_len <= sizeof(der));
	memcpy(der, crl.raw.p, der_len);
	{
		size_t off = (size_t)(crl.issuer_raw.p - crl.raw.p) + crl.issuer_raw.len;

		assert_int_equal(der[off], 0x17); /* thisUpdate */
		off += 2 + der[off + 1];
		assert_int_equal(der[off], 0x17); /* nextUpdate */
		off += 2 + der[off + 1];
		assert_int_equal(der[off], 0xa0); /* crlExtensions */
	}
	mbedtls_x509_crl_free(&crl);
}

/* A certificate on the CRL is revoked for mbedTLS's verifier; one not on it is not. */
static void test_crl_revokes(void **state)
{
	struct pki_cert_spec cs = spec_of("gw-01", 0);
	struct pki_crl_entry e;
	struct pki_crl_spec s;
	mbedtls_x509_crt bad, good;
	mbedtls_x509_crl crl;
	static const unsigned char one[] = {1};
	uint32_t flags = 0;

	(void)state;
	make(&cs, &leaf_key, &ca_crt, &ca_key, &bad);
	make(&cs, &leaf_key, &ca_crt, &ca_key, &good);
	e.serial = bad.serial.p;
	e.serial_len = bad.serial.len;
	e.revoked_at = now - 10;
	s = crl_spec(&e, 1, one, 1);
	make_crl(&s, &crl);
	assert_int_not_equal(mbedtls_x509_crt_verify(&bad, &ca_crt, &crl, NULL, &flags, NULL, NULL),
			     0);
	assert_true(flags & MBEDTLS_X509_BADCERT_REVOKED);
	flags = 0;
	assert_int_equal(mbedtls_x509_crt_verify(&good, &ca_crt, &crl, NULL, &flags, NULL, NULL),
			 0);
	assert_int_equal(flags, 0);
	assert_int_equal(pki_crt_signed_by(&bad, &ca_crt), 0);
	mbedtls_x509_crl_free(&crl);
	mbedtls_x509_crt_free(&bad);
	mbedtls_x509_crt_free(&good);
}

/* Another CA's key does not verify the CRL, nor a certificate of this CA. */
static void test_crl_other_ca(void **state)
{
	struct pki_cert_spec cs = spec_of("Other CA", 1);
	struct pki_crl_spec s = crl_spec(NULL, 0, NULL, 0);
	mbedtls_x509_crt other, leaf;
	mbedtls_x509_crl crl;

	(void)state;
	make(&cs, &other_key, NULL, NULL, &other);
	make_crl(&s, &crl);
	assert_crl_signed(&crl, &other, 0);
	cs = spec_of("gw-02", 0);
	make(&cs, &leaf_key, &ca_crt, &ca_key, &leaf);
	assert_int_equal(pki_crt_signed_by(&leaf, &other), TETHER_ERR_INVALID);
	assert_int_equal(pki_crt_signed_by(&leaf, &ca_crt), 0);
	/* The other CA's key with this CA's certificate: refused. */
	assert_int_equal(pki_crl_write_pem(&s, &ca_crt, &other_key, crl_pem, sizeof(crl_pem)),
			 TETHER_ERR_INVALID);
	assert_int_equal(crl_pem[0], '\0');
	mbedtls_x509_crl_free(&crl);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_free(&other);
}

static void test_crl_rejects(void **state)
{
	static const unsigned char ok[] = {0x01}, pad0[] = {0x00, 0x05}, padff[] = {0xff, 0x85},
				   n21[21] = {1};
	static const unsigned char n20z[21] = {0, 0xff}; /* 20 octets after a leading zero */
	struct pki_crl_entry e = {ok, 1, 0};
	struct pki_crl_spec s;
	struct pki_cert_spec cs = spec_of("leaf", 0);
	mbedtls_x509_crt leaf;
	mbedtls_x509_crl crl;
	unsigned char small[200];
	size_t i;

	(void)state;
	e.revoked_at = now;
#define REJECT(spec)                                                                             \
	assert_int_equal(pki_crl_write_pem(&(spec), &ca_crt, &ca_key, crl_pem, sizeof(crl_pem)), \
			 TETHER_ERR_INVALID)
	s = crl_spec(&e, 1, ok, 1);
	s.next_update = s.this_update - 1;
	REJECT(s);
	s = crl_spec(&e, 1, ok, 1);
	s.this_update = PKI_TIME_MIN - 1;
	REJECT(s);
	s = crl_spec(&e, 1, ok, 1);
	s.next_update = PKI_TIME_MAX + 1;
	REJECT(s);
	s = crl_spec(&e, 1, n21, sizeof(n21));
	REJECT(s);
	s = crl_spec(&e, 1, NULL, 1);
	REJECT(s);
	s = crl_spec(NULL, 1, ok, 1);
	REJECT(s);
	e.serial = pad0;
	e.serial_len = sizeof(pad0);
	s = crl_spec(&e, 1, ok, 1);
	REJECT(s);
	e.serial = padff;
	REJECT(s);
	e.serial = n21;
	e.serial_len = sizeof(n21);
	REJECT(s);
	e.serial_len = 0;
	REJECT(s);
	e.serial = ok;
	e.serial_len = 1;
	e.revoked_at = PKI_TIME_MAX + 1;
	REJECT(s);
	e.revoked_at = now;
	/* A leaf is no CA. */
	make(&cs, &leaf_key, &ca_crt, &ca_key, &leaf);
	assert_int_equal(pki_crl_write_pem(&s, &leaf, &leaf_key, crl_pem, sizeof(crl_pem)),
			 TETHER_ERR_INVALID);
	mbedtls_x509_crt_free(&leaf);
	assert_int_equal(pki_crl_write_pem(NULL, &ca_crt, &ca_key, crl_pem, sizeof(crl_pem)),
			 TETHER_ERR_INVALID);
	assert_int_equal(pki_crl_write_pem(&s, NULL, &ca_key, crl_pem, sizeof(crl_pem)),
			 TETHER_ERR_INVALID);
	assert_int_equal(pki_crl_write_pem(&s, &ca_crt, NULL, crl_pem, sizeof(crl_pem)),
			 TETHER_ERR_INVALID);
#undef REJECT

	/* Too small a buffer, for the DER or only for the PEM: wiped. */
	memset(small, 'x', sizeof(small));
	assert_int_equal(pki_crl_write_pem(&s, &ca_crt, &ca_key, small, 100), TETHER_ERR_TOO_BIG);
	assert_int_equal(pki_crl_write_pem(&s, &ca_crt, &ca_key, small, sizeof(small)),
			 TETHER_ERR_TOO_BIG);
	for (i = 0; i < sizeof(small); i++)
		assert_int_equal(small[i], 0);

	/* 20 octets of number after leading zeros are fine. */
	s = crl_spec(&e, 1, n20z, sizeof(n20z));
	make_crl(&s, &crl);
	{
		uint8_t n[CRL_NUMBER_MAX];
		size_t nlen;

		assert_int_equal(crl_number(&crl, n, &nlen), 0);
		assert_int_equal(nlen, 20);
		assert_int_equal(n[0], 0xff);
	}
	mbedtls_x509_crl_free(&crl);
}

/* PKI_CRL_PEM_SIZE(n) holds n entries of 20-octet serials. */
static void test_crl_size_bound(void **state)
{
	static unsigned char big[PKI_CRL_PEM_SIZE(64)];
	static const unsigned char ser[20] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const unsigned char num[20] = {0xff};
	struct pki_crl_entry e[64];
	struct pki_crl_spec s;
	mbedtls_x509_crl crl;
	size_t i;

	(void)state;
	for (i = 0; i < 64; i++) {
		e[i].serial = ser;
		e[i].serial_len = sizeof(ser);
		e[i].revoked_at = 2524608000 + (int64_t)i; /* GeneralizedTime: the longer form */
	}
	s = crl_spec(e, 64, num, sizeof(num));
	s.this_update = 2524608000;
	s.next_update = PKI_TIME_MAX;
	assert_int_equal(pki_crl_write_pem(&s, &ca_crt, &ca_key, big, sizeof(big)), 0);
	mbedtls_x509_crl_init(&crl);
	assert_int_equal(mbedtls_x509_crl_parse(&crl, big, strlen((char *)big) + 1), 0);
	assert_crl_signed(&crl, &ca_crt, 1);
	mbedtls_x509_crl_free(&crl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_format_vectors),
		cmocka_unit_test(test_time_round_trip),
		cmocka_unit_test(test_time_to_unix_rejects),
		cmocka_unit_test(test_key_pem_round_trip),
		cmocka_unit_test(test_key_pem_too_small),
		cmocka_unit_test(test_keys_differ),
		cmocka_unit_test(test_ca_self_signed),
		cmocka_unit_test(test_leaf_issued),
		cmocka_unit_test(test_no_sans),
		cmocka_unit_test(test_serials_differ),
		cmocka_unit_test(test_validity_written),
#if defined(MBEDTLS_HAVE_TIME_DATE)
		cmocka_unit_test(test_expired_and_future),
#endif
		cmocka_unit_test(test_special_cn),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_cert_too_small),
		cmocka_unit_test(test_name_rules),
		cmocka_unit_test(test_set_make),
		cmocka_unit_test(test_set_put_error_stops),
		cmocka_unit_test(test_set_ca_issues_later),
		cmocka_unit_test(test_set_longest),
		cmocka_unit_test(test_set_rejects),
		cmocka_unit_test(test_crl_written),
		cmocka_unit_test(test_crl_empty),
		cmocka_unit_test(test_crl_revokes),
		cmocka_unit_test(test_crl_other_ca),
		cmocka_unit_test(test_crl_rejects),
		cmocka_unit_test(test_crl_size_bound),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
