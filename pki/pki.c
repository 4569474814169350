/*
 * pki.c: P-256 keys and X.509 certificates, written into caller buffers.
 *
 * No OS calls: times are formatted by civil-calendar arithmetic (no gmtime),
 * randomness comes from PSA, and output goes to buffers.
 */
#include <string.h>

#include "mbedtls/asn1write.h"
#include "mbedtls/base64.h"
#include "mbedtls/error.h"
#include "mbedtls/oid.h"
#include "mbedtls/pem.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/psa_util.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include "base/err.h"
#include "core/tls.h"
#include "pki/pki.h"

#define PKI_SERIAL_LEN 16
#define PKI_KEY_ID_LEN 20 /* RFC 7093 method 1: leftmost 160 bits of SHA-256 */
#define PKI_DN_MAX 1024	  /* an issuer's DN in RFC 4514 text form */

/*
 * mbedTLS error codes are a high-level part plus a low-level part; either may
 * say "out of memory" or "buffer too small".
 */
static int pki_err(int ret)
{
	int low = -((-ret) & 0x007F);
	int high = -((-ret) & 0x7F80);

	if (ret == 0)
		return TETHER_OK;
	if (low == MBEDTLS_ERR_ASN1_ALLOC_FAILED || low == MBEDTLS_ERR_MPI_ALLOC_FAILED ||
	    high == MBEDTLS_ERR_X509_ALLOC_FAILED || high == MBEDTLS_ERR_PK_ALLOC_FAILED ||
	    high == MBEDTLS_ERR_PEM_ALLOC_FAILED || ret == PSA_ERROR_INSUFFICIENT_MEMORY)
		return TETHER_ERR_NOMEM;
	if (low == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL || low == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL ||
	    low == MBEDTLS_ERR_MPI_BUFFER_TOO_SMALL || high == MBEDTLS_ERR_X509_BUFFER_TOO_SMALL ||
	    high == MBEDTLS_ERR_PK_BUFFER_TOO_SMALL || ret == PSA_ERROR_BUFFER_TOO_SMALL)
		return TETHER_ERR_TOO_BIG;
	return TETHER_ERR_TLS;
}

/* Unix days -> proleptic Gregorian date (the inverse of core/x509_time.c's arithmetic). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* n decimal digits of v, zero padded, no NUL. */
static void put_digits(char *out, unsigned v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

int pki_time_format(int64_t t, char out[15])
{
	int64_t days, secs, y;
	unsigned m, d, hh, mm, ss;

	if (t < PKI_TIME_MIN || t > PKI_TIME_MAX)
		return TETHER_ERR_INVALID;
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	hh = (unsigned)(secs / 3600);
	mm = (unsigned)(secs / 60 % 60);
	ss = (unsigned)(secs % 60);
	put_digits(out, (unsigned)y, 4);
	put_digits(out + 4, m, 2);
	put_digits(out + 6, d, 2);
	put_digits(out + 8, hh, 2);
	put_digits(out + 10, mm, 2);
	put_digits(out + 12, ss, 2);
	out[14] = '\0';
	return TETHER_OK;
}

/* A usable P-256 key: EC, 256 bits (P-256 is the only 256-bit curve built in). */
static int pki_key_ok(const mbedtls_pk_context *pk)
{
	return pk != NULL && mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) &&
	       mbedtls_pk_get_bitlen(pk) == 256;
}

int pki_key_generate(mbedtls_pk_context *pk)
{
	int ret;

	if (pk == NULL)
		return TETHER_ERR_INVALID;
	ret = tls_p256_keygen(pk);
	if (ret != 0) {
		mbedtls_pk_free(pk);
		mbedtls_pk_init(pk);
		return pki_err(ret);
	}
	return TETHER_OK;
}

int pki_key_write_pem(mbedtls_pk_context *pk, unsigned char *buf, size_t cap)
{
	int ret;

	if (buf == NULL || cap == 0)
		return TETHER_ERR_INVALID;
	if (!pki_key_ok(pk))
		return TETHER_ERR_INVALID;
	ret = mbedtls_pk_write_key_pem(pk, buf, cap);
	if (ret != 0) {
		mbedtls_platform_zeroize(buf, cap);
		return pki_err(ret);
	}
	return TETHER_OK;
}

/* The key identifier of pk's public key (RFC 7093 method 1). */
static int pki_key_id(mbedtls_pk_context *pk, unsigned char id[PKI_KEY_ID_LEN])
{
	unsigned char der[160];
	unsigned char *p = der + sizeof(der);
	unsigned char hash[32];
	size_t hash_len;
	int n;

	/* The subjectPublicKey BIT STRING's value: for EC, the uncompressed point. */
	n = mbedtls_pk_write_pubkey(&p, der, pk);
	if (n < 0)
		return pki_err(n);
	if (psa_hash_compute(PSA_ALG_SHA_256, p, (size_t)n, hash, sizeof(hash), &hash_len) !=
	    PSA_SUCCESS)
		return TETHER_ERR_TLS;
	memcpy(id, hash, PKI_KEY_ID_LEN);
	return TETHER_OK;
}

/* subjectKeyIdentifier ::= OCTET STRING */
static int pki_set_ski(mbedtls_x509write_cert *w, const unsigned char *id, size_t len)
{
	unsigned char ext[2 + 64];

	if (len > 64)
		return TETHER_ERR_INVALID;
	ext[0] = MBEDTLS_ASN1_OCTET_STRING;
	ext[1] = (unsigned char)len;
	memcpy(ext + 2, id, len);
	return pki_err(mbedtls_x509write_crt_set_extension(
		w, MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER,
		MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER), 0, ext, 2 + len));
}

/* authorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING } */
static int pki_set_aki(mbedtls_x509write_cert *w, const unsigned char *id, size_t len)
{
	unsigned char ext[4 + 64];

	if (len > 64)
		return TETHER_ERR_INVALID;
	ext[0] = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
	ext[1] = (unsigned char)(len + 2);
	ext[2] = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0;
	ext[3] = (unsigned char)len;
	memcpy(ext + 4, id, len);
	return pki_err(mbedtls_x509write_crt_set_extension(
		w, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
		MBEDTLS_OID_SIZE(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), 0, ext, 4 + len));
}

/*
 * "CN=<cn>" with RFC 4514 escapes, as mbedtls_x509_string_to_names() reads
 * them. Control characters are refused rather than escaped: a CN is a name
 * for people and logs.
 */
static int pki_subject_dn(const char *cn, char *out, size_t cap)
{
	size_t n = strlen(cn), i, j = 0;

	if (!pki_cn_ok(cn) || cap < 4 + 2 * n)
		return TETHER_ERR_INVALID;
	memcpy(out, "CN=", 3);
	j = 3;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)cn[i];

		if (strchr(" ,=+<>#;\"\\", c) != NULL)
			out[j++] = '\\';
		out[j++] = (char)c;
	}
	out[j] = '\0';
	return TETHER_OK;
}

int pki_cn_ok(const char *cn)
{
	size_t i;

	if (cn == NULL || cn[0] == '\0')
		return 0;
	for (i = 0; cn[i] != '\0'; i++)
		if (i >= PKI_CN_MAX || (unsigned char)cn[i] < 0x20 || (unsigned char)cn[i] == 0x7f)
			return 0;
	return 1;
}

/* SANs are IA5String: printable ASCII, and no spaces in a name or URI. */
int pki_san_ok(const char *s)
{
	size_t i;

	if (s == NULL)
		return 1;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= PKI_SAN_MAX || (unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int pki_spec_ok(const struct pki_cert_spec *spec)
{
	return spec != NULL && spec->cn != NULL && pki_san_ok(spec->uri_san) &&
	       pki_san_ok(spec->dns_san) && spec->not_before >= PKI_TIME_MIN &&
	       spec->not_after <= PKI_TIME_MAX && spec->not_before <= spec->not_after;
}

/*
 * mbedTLS writes the list back to front, so the last node comes out first:
 * the URI, the primary identity, is added last to be listed first.
 */
static int pki_set_sans(mbedtls_x509write_cert *w, const struct pki_cert_spec *spec)
{
	mbedtls_x509_san_list san[2];
	mbedtls_x509_san_list *head = NULL;
	int n = 0;

	memset(san, 0, sizeof(san));
	if (spec->dns_san != NULL && spec->dns_san[0] != '\0') {
		san[n].node.type = MBEDTLS_X509_SAN_DNS_NAME;
		san[n].node.san.unstructured_name.p = (unsigned char *)spec->dns_san;
		san[n].node.san.unstructured_name.len = strlen(spec->dns_san);
		san[n].next = head;
		head = &san[n++];
	}
	if (spec->uri_san != NULL && spec->uri_san[0] != '\0') {
		san[n].node.type = MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER;
		san[n].node.san.unstructured_name.p = (unsigned char *)spec->uri_san;
		san[n].node.san.unstructured_name.len = strlen(spec->uri_san);
		san[n].next = NULL;
		if (head != NULL)
			head->next = &san[n];
		else
			head = &san[n];
		n++;
	}
	if (head == NULL)
		return TETHER_OK;
	return pki_err(mbedtls_x509write_crt_set_subject_alternative_name(w, head));
}

static int pki_set_eku(mbedtls_x509write_cert *w)
{
	mbedtls_asn1_sequence eku[2];

	memset(eku, 0, sizeof(eku));
	eku[0].buf.tag = MBEDTLS_ASN1_OID;
	eku[0].buf.p = (unsigned char *)MBEDTLS_OID_SERVER_AUTH;
	eku[0].buf.len = MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH);
	eku[0].next = &eku[1];
	eku[1].buf.tag = MBEDTLS_ASN1_OID;
	eku[1].buf.p = (unsigned char *)MBEDTLS_OID_CLIENT_AUTH;
	eku[1].buf.len = MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH);
	return pki_err(mbedtls_x509write_crt_set_ext_key_usage(w, eku));
}

/* Every field of the certificate except the signature. */
static int pki_fill(mbedtls_x509write_cert *w, const struct pki_cert_spec *spec,
		    mbedtls_pk_context *subject_key, const mbedtls_x509_crt *issuer,
		    mbedtls_pk_context *issuer_key)
{
	char dn[4 + 2 * PKI_CN_MAX];
	char issuer_dn[PKI_DN_MAX];
	char nb[15], na[15];
	unsigned char serial[PKI_SERIAL_LEN];
	unsigned char ski[PKI_KEY_ID_LEN];
	int ret;

	ret = pki_subject_dn(spec->cn, dn, sizeof(dn));
	if (ret != 0)
		return ret;
	if (issuer != NULL) {
		/* The DN round-trips through RFC 4514 text; mbedTLS escapes and parses it. */
		ret = mbedtls_x509_dn_gets(issuer_dn, sizeof(issuer_dn), &issuer->subject);
		if (ret < 0)
			return ret == MBEDTLS_ERR_X509_BUFFER_TOO_SMALL ? TETHER_ERR_TOO_BIG
									: TETHER_ERR_INVALID;
	}
	if (pki_time_format(spec->not_before, nb) != 0 || pki_time_format(spec->not_after, na) != 0)
		return TETHER_ERR_INVALID;

	/* Positive and minimal in DER: top bit clear, first byte not zero. */
	ret = mbedtls_psa_get_random(MBEDTLS_PSA_RANDOM_STATE, serial, sizeof(serial));
	if (ret != 0)
		return pki_err(ret);
	serial[0] &= 0x7f;
	if (serial[0] == 0)
		serial[0] = 1;

	mbedtls_x509write_crt_set_version(w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(w, subject_key);
	mbedtls_x509write_crt_set_issuer_key(w, issuer_key);
	ret = mbedtls_x509write_crt_set_subject_name(w, dn);
	if (ret == 0)
		ret = mbedtls_x509write_crt_set_issuer_name(w, issuer != NULL ? issuer_dn : dn);
	if (ret == 0)
		ret = mbedtls_x509write_crt_set_validity(w, nb, na);
	if (ret == 0)
		ret = mbedtls_x509write_crt_set_serial_raw(w, serial, sizeof(serial));
	if (ret == 0)
		ret = mbedtls_x509write_crt_set_basic_constraints(w, spec->is_ca ? 1 : 0,
								  spec->is_ca ? 1 : -1);
	if (ret == 0)
		ret = mbedtls_x509write_crt_set_key_usage(
			w, spec->is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
				       : MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
	if (ret != 0)
		return pki_err(ret);
	if (!spec->is_ca) {
		ret = pki_set_eku(w);
		if (ret != 0)
			return ret;
	}

	ret = pki_key_id(subject_key, ski);
	if (ret == 0)
		ret = pki_set_ski(w, ski, sizeof(ski));
	if (ret != 0)
		return ret;
	if (issuer == NULL) {
		ret = pki_set_aki(w, ski, sizeof(ski));
	} else if (issuer->subject_key_id.len > 0 && issuer->subject_key_id.len <= 64) {
		/* Whatever method the issuer used, its own SKI is what chains match on. */
		ret = pki_set_aki(w, issuer->subject_key_id.p, issuer->subject_key_id.len);
	} else {
		unsigned char aki[PKI_KEY_ID_LEN];

		ret = pki_key_id(issuer_key, aki);
		if (ret == 0)
			ret = pki_set_aki(w, aki, sizeof(aki));
	}
	if (ret != 0)
		return ret;
	return pki_set_sans(w, spec);
}

int pki_cert_write_pem(const struct pki_cert_spec *spec, mbedtls_pk_context *subject_key,
		       const mbedtls_x509_crt *issuer, mbedtls_pk_context *issuer_key,
		       unsigned char *buf, size_t cap)
{
	mbedtls_x509write_cert w;
	int ret;

	if (buf == NULL || cap == 0 || !pki_spec_ok(spec) || !pki_key_ok(subject_key))
		return TETHER_ERR_INVALID;
	if (issuer == NULL) {
		if (issuer_key != NULL && issuer_key != subject_key)
			return TETHER_ERR_INVALID;
		issuer_key = subject_key;
	} else {
		if (!pki_key_ok(issuer_key))
			return TETHER_ERR_INVALID;
		/* ca_istrue has no public accessor in mbedTLS 3.6. */
		if (!issuer->MBEDTLS_PRIVATE(ca_istrue) ||
		    mbedtls_x509_crt_check_key_usage(issuer, MBEDTLS_X509_KU_KEY_CERT_SIGN) != 0)
			return TETHER_ERR_INVALID;
		if (mbedtls_pk_check_pair(&issuer->pk, issuer_key, mbedtls_psa_get_random,
					  MBEDTLS_PSA_RANDOM_STATE) != 0)
			return TETHER_ERR_INVALID;
	}

	mbedtls_x509write_crt_init(&w);
	ret = pki_fill(&w, spec, subject_key, issuer, issuer_key);
	if (ret == 0)
		ret = pki_err(mbedtls_x509write_crt_pem(&w, buf, cap, mbedtls_psa_get_random,
							MBEDTLS_PSA_RANDOM_STATE));
	mbedtls_x509write_crt_free(&w);
	if (ret != 0)
		buf[0] = '\0';
	return ret;
}
