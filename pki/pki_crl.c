/*
 * pki_crl.c: RFC 5280 v2 CRLs, DER built back to front in the caller's buffer.
 *
 *   CertificateList  ::=  SEQUENCE  {
 *        tbsCertList          TBSCertList,
 *        signatureAlgorithm   AlgorithmIdentifier,
 *        signatureValue       BIT STRING  }
 *
 *   TBSCertList  ::=  SEQUENCE  {
 *        version                 Version (v2),
 *        signature               AlgorithmIdentifier,
 *        issuer                  Name,
 *        thisUpdate              Time,
 *        nextUpdate              Time,
 *        revokedCertificates     SEQUENCE OF SEQUENCE  {
 *             userCertificate         CertificateSerialNumber,
 *             revocationDate          Time  } OPTIONAL,
 *        crlExtensions           [0]  EXPLICIT Extensions }
 *
 * Like mbedTLS's certificate writer: the TBS is written at the end of the
 * buffer, hashed and signed, moved to the front while the signature is
 * written behind it, then the whole is wrapped and turned into PEM in place.
 */
#include <string.h>

#include "mbedtls/asn1write.h"
#include "mbedtls/base64.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/md.h"
#include "mbedtls/oid.h"
#include "mbedtls/pem.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/psa_util.h"
#include "psa/crypto.h"

#include "base/err.h"
#include "pki/pki.h"
#include "pki/pki_crl.h"

#define PKI_CRL_PEM_BEGIN "-----BEGIN X509 CRL-----\n"
#define PKI_CRL_PEM_END "-----END X509 CRL-----\n"
#define PKI_CRL_AKI_MAX 64 /* longest subjectKeyIdentifier copied into the AKI */

/* An ECDSA P-256 signature in DER: at most 72 octets. */
#define PKI_CRL_SIG_MAX MBEDTLS_ECDSA_MAX_SIG_LEN(256)

/* mbedTLS's error codes -> tether's (the high and low parts may say either). */
static int crl_err(int ret)
{
	int low = -((-ret) & 0x007F);
	int high = -((-ret) & 0x7F80);

	if (ret == 0)
		return TETHER_OK;
	if (low == MBEDTLS_ERR_ASN1_ALLOC_FAILED || high == MBEDTLS_ERR_PEM_ALLOC_FAILED ||
	    high == MBEDTLS_ERR_PK_ALLOC_FAILED || ret == PSA_ERROR_INSUFFICIENT_MEMORY)
		return TETHER_ERR_NOMEM;
	if (low == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL || low == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL ||
	    high == MBEDTLS_ERR_PK_BUFFER_TOO_SMALL || ret == PSA_ERROR_BUFFER_TOO_SMALL)
		return TETHER_ERR_TOO_BIG;
	return TETHER_ERR_TLS;
}

/* Minimal DER INTEGER content: not empty, no redundant leading 0x00 or 0xFF. */
static int serial_ok(const unsigned char *s, size_t n)
{
	if (s == NULL || n == 0 || n > PKI_CRL_SERIAL_MAX)
		return 0;
	if (n > 1 && ((s[0] == 0x00 && !(s[1] & 0x80)) || (s[0] == 0xff && (s[1] & 0x80))))
		return 0;
	return 1;
}

static int time_ok(int64_t t)
{
	return t >= PKI_TIME_MIN && t <= PKI_TIME_MAX;
}

static int spec_ok(const struct pki_crl_spec *spec)
{
	size_t i;

	if (spec == NULL || !time_ok(spec->this_update) || !time_ok(spec->next_update) ||
	    spec->this_update > spec->next_update)
		return 0;
	if (spec->number_len > 0 && spec->number == NULL)
		return 0;
	for (i = 0; i < spec->number_len && spec->number[i] == 0; i++)
		;
	if (spec->number_len - i > PKI_CRL_NUMBER_MAX)
		return 0;
	if (spec->n_entries > 0 && spec->entries == NULL)
		return 0;
	for (i = 0; i < spec->n_entries; i++)
		if (!serial_ok(spec->entries[i].serial, spec->entries[i].serial_len) ||
		    !time_ok(spec->entries[i].revoked_at))
			return 0;
	return 1;
}

/* Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime } (RFC 5280 5.1.2.4). */
static int w_time(unsigned char **p, unsigned char *start, int64_t t)
{
	char s[16];

	if (pki_time_format(t, s) != 0)
		return MBEDTLS_ERR_ASN1_INVALID_DATA;
	s[14] = 'Z';
	s[15] = '\0';
	if (memcmp(s, "2050", 4) < 0) /* 1950..2049: two-digit years */
		return mbedtls_asn1_write_tagged_string(p, start, MBEDTLS_ASN1_UTC_TIME, s + 2, 13);
	return mbedtls_asn1_write_tagged_string(p, start, MBEDTLS_ASN1_GENERALIZED_TIME, s, 15);
}

/* INTEGER of a big-endian magnitude (leading zeros dropped, a sign octet added). */
static int w_uint(unsigned char **p, unsigned char *start, const unsigned char *mag, size_t n)
{
	size_t len = 0;
	int ret;

	while (n > 0 && mag[0] == 0) {
		mag++;
		n--;
	}
	if (n > 0)
		MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, mag, n));
	if (n == 0 || (mag[0] & 0x80)) {
		if (*p - start < 1)
			return MBEDTLS_ERR_ASN1_BUF_TOO_SMALL;
		*--(*p) = 0x00;
		len++;
	}
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_INTEGER));
	return (int)len;
}

/* Wraps the len octets just written in tag: the length, then the tag. */
static int w_wrap(unsigned char **p, unsigned char *start, size_t len, unsigned char tag)
{
	size_t n = 0;
	int ret;

	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_tag(p, start, tag));
	return (int)n;
}

/* Extension ::= SEQUENCE { extnID, extnValue OCTET STRING } around value_len octets just written. */
static int w_ext(unsigned char **p, unsigned char *start, const char *oid, size_t oid_len,
		 size_t value_len)
{
	size_t len = value_len;
	int ret;

	MBEDTLS_ASN1_CHK_ADD(len, w_wrap(p, start, len, MBEDTLS_ASN1_OCTET_STRING));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start, oid, oid_len));
	MBEDTLS_ASN1_CHK_ADD(
		len, w_wrap(p, start, len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)(len - value_len);
}

/* crlExtensions [0] EXPLICIT: authorityKeyIdentifier (if the CA has an SKI), cRLNumber. */
static int w_extensions(unsigned char **p, unsigned char *start, const struct pki_crl_spec *spec,
			const mbedtls_x509_crt *ca)
{
	size_t len = 0, v;
	int ret;

	/* Written back to front: the number last in the list comes first. */
	v = 0;
	MBEDTLS_ASN1_CHK_ADD(v, w_uint(p, start, spec->number, spec->number_len));
	MBEDTLS_ASN1_CHK_ADD(v, w_ext(p, start, MBEDTLS_OID_CRL_NUMBER,
				      MBEDTLS_OID_SIZE(MBEDTLS_OID_CRL_NUMBER), v));
	len += v;

	if (ca->subject_key_id.len > 0 && ca->subject_key_id.len <= PKI_CRL_AKI_MAX) {
		/* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING } */
		v = 0;
		MBEDTLS_ASN1_CHK_ADD(v,
				     mbedtls_asn1_write_raw_buffer(p, start, ca->subject_key_id.p,
								   ca->subject_key_id.len));
		MBEDTLS_ASN1_CHK_ADD(v, w_wrap(p, start, v, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0));
		MBEDTLS_ASN1_CHK_ADD(
			v, w_wrap(p, start, v, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
		MBEDTLS_ASN1_CHK_ADD(
			v, w_ext(p, start, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
				 MBEDTLS_OID_SIZE(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), v));
		len += v;
	}

	MBEDTLS_ASN1_CHK_ADD(
		len, w_wrap(p, start, len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	MBEDTLS_ASN1_CHK_ADD(len,
			     w_wrap(p, start, len,
				    MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0));
	return (int)len;
}

/* revokedCertificates, in spec order; nothing at all when there are no entries. */
static int w_entries(unsigned char **p, unsigned char *start, const struct pki_crl_spec *spec)
{
	size_t len = 0, i;
	int ret;

	if (spec->n_entries == 0)
		return 0;
	for (i = spec->n_entries; i-- > 0;) {
		const struct pki_crl_entry *e = &spec->entries[i];
		size_t v = 0;

		MBEDTLS_ASN1_CHK_ADD(v, w_time(p, start, e->revoked_at));
		/* The serial's content octets verbatim (spec_ok checked they are DER). */
		MBEDTLS_ASN1_CHK_ADD(
			v, mbedtls_asn1_write_raw_buffer(p, start, e->serial, e->serial_len));
		MBEDTLS_ASN1_CHK_ADD(v, w_wrap(p, start, e->serial_len, MBEDTLS_ASN1_INTEGER));
		MBEDTLS_ASN1_CHK_ADD(
			v, w_wrap(p, start, v, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
		len += v;
	}
	MBEDTLS_ASN1_CHK_ADD(
		len, w_wrap(p, start, len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)len;
}

static int w_tbs(unsigned char **p, unsigned char *start, const struct pki_crl_spec *spec,
		 const mbedtls_x509_crt *ca)
{
	size_t len = 0;
	int ret;

	MBEDTLS_ASN1_CHK_ADD(len, w_extensions(p, start, spec, ca));
	MBEDTLS_ASN1_CHK_ADD(len, w_entries(p, start, spec));
	MBEDTLS_ASN1_CHK_ADD(len, w_time(p, start, spec->next_update));
	MBEDTLS_ASN1_CHK_ADD(len, w_time(p, start, spec->this_update));
	/* issuer: the CA's subject Name, tag and all, as the CA certificate has it. */
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, ca->subject_raw.p,
								ca->subject_raw.len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_algorithm_identifier_ext(
					  p, start, MBEDTLS_OID_ECDSA_SHA256,
					  MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA256), 0, 0));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_int(p, start, 1)); /* v2 */
	MBEDTLS_ASN1_CHK_ADD(
		len, w_wrap(p, start, len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)len;
}

/* The whole CertificateList in DER at the end of buf; returns its length or an mbedTLS error. */
static int w_der(const struct pki_crl_spec *spec, const mbedtls_x509_crt *ca,
		 mbedtls_pk_context *key, unsigned char *buf, size_t size)
{
	unsigned char hash[32];
	unsigned char sig[PKI_CRL_SIG_MAX];
	unsigned char *c = buf + size, *c2;
	size_t tbs_len = 0, sa_len = 0, hash_len, sig_len, len;
	int ret;

	MBEDTLS_ASN1_CHK_ADD(tbs_len, w_tbs(&c, buf, spec, ca));

	ret = psa_hash_compute(PSA_ALG_SHA_256, c, tbs_len, hash, sizeof(hash), &hash_len);
	if (ret != PSA_SUCCESS)
		return ret;
	ret = mbedtls_pk_sign(key, MBEDTLS_MD_SHA256, hash, hash_len, sig, sizeof(sig), &sig_len,
			      mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
	mbedtls_platform_zeroize(hash, sizeof(hash));
	if (ret != 0)
		goto out;

	/* [TBS ... free ...] then the signature behind it, written back to front. */
	memmove(buf, c, tbs_len);
	c2 = buf + size;
	ret = mbedtls_asn1_write_bitstring(&c2, buf + tbs_len, sig, sig_len * 8);
	if (ret < 0)
		goto out;
	sa_len += (size_t)ret;
	ret = mbedtls_asn1_write_algorithm_identifier_ext(
		&c2, buf + tbs_len, MBEDTLS_OID_ECDSA_SHA256,
		MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA256), 0, 0);
	if (ret < 0)
		goto out;
	sa_len += (size_t)ret;

	/* The TBS back just before the signature, then the outer SEQUENCE. */
	c = c2 - tbs_len;
	memmove(c, buf, tbs_len);
	len = tbs_len + sa_len;
	ret = w_wrap(&c, buf, len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
	if (ret < 0)
		goto out;
	len += (size_t)ret;
	ret = (int)len;
out:
	mbedtls_platform_zeroize(sig, sizeof(sig));
	return ret;
}

int pki_crl_write_pem(const struct pki_crl_spec *spec, const mbedtls_x509_crt *ca_crt,
		      mbedtls_pk_context *ca_key, unsigned char *buf, size_t len)
{
	size_t olen = 0;
	int ret;

	if (buf == NULL || len == 0)
		return TETHER_ERR_INVALID;
	buf[0] = '\0';
	if (!spec_ok(spec) || ca_crt == NULL || ca_crt->raw.p == NULL || ca_key == NULL)
		return TETHER_ERR_INVALID;
	if (!mbedtls_pk_can_do(ca_key, MBEDTLS_PK_ECDSA) || mbedtls_pk_get_bitlen(ca_key) != 256)
		return TETHER_ERR_INVALID;
	/* ca_istrue has no public accessor in mbedTLS 3.6. */
	if (!ca_crt->MBEDTLS_PRIVATE(ca_istrue) ||
	    mbedtls_x509_crt_check_key_usage(ca_crt, MBEDTLS_X509_KU_CRL_SIGN) != 0)
		return TETHER_ERR_INVALID;
	if (mbedtls_pk_check_pair(&ca_crt->pk, ca_key, mbedtls_psa_get_random,
				  MBEDTLS_PSA_RANDOM_STATE) != 0)
		return TETHER_ERR_INVALID;

	ret = w_der(spec, ca_crt, ca_key, buf, len);
	if (ret < 0) {
		ret = crl_err(ret);
		goto fail;
	}
	/* PEM from the DER at the end of buf into its start (base64 goes via the heap). */
	ret = crl_err(mbedtls_pem_write_buffer(PKI_CRL_PEM_BEGIN, PKI_CRL_PEM_END,
					       buf + len - (size_t)ret, (size_t)ret, buf, len,
					       &olen));
	if (ret != 0)
		goto fail;
	return TETHER_OK;
fail:
	mbedtls_platform_zeroize(buf, len);
	return ret;
}

/* Verifies sig over tbs with ca's key. */
static int signed_by(const mbedtls_x509_buf *tbs, mbedtls_md_type_t md, mbedtls_pk_type_t pk_type,
		     const void *opts, const mbedtls_x509_buf *sig, const mbedtls_x509_crt *ca)
{
	const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	int ret;

	if (ca == NULL || info == NULL || tbs->p == NULL || sig->p == NULL)
		return TETHER_ERR_INVALID;
	if (mbedtls_md(info, tbs->p, tbs->len, hash) != 0)
		return TETHER_ERR_INVALID;
	ret = mbedtls_pk_verify_ext(pk_type, opts, (mbedtls_pk_context *)&ca->pk, md, hash,
				    mbedtls_md_get_size(info), sig->p, sig->len);
	return ret == 0 ? TETHER_OK : TETHER_ERR_INVALID;
}

int pki_crt_signed_by(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *ca)
{
	if (crt == NULL)
		return TETHER_ERR_INVALID;
	return signed_by(&crt->tbs, crt->MBEDTLS_PRIVATE(sig_md), crt->MBEDTLS_PRIVATE(sig_pk),
			 crt->MBEDTLS_PRIVATE(sig_opts), &crt->MBEDTLS_PRIVATE(sig), ca);
}

int pki_crl_signed_by(const mbedtls_x509_crl *crl, const mbedtls_x509_crt *ca)
{
	if (crl == NULL)
		return TETHER_ERR_INVALID;
	return signed_by(&crl->tbs, crl->MBEDTLS_PRIVATE(sig_md), crl->MBEDTLS_PRIVATE(sig_pk),
			 crl->MBEDTLS_PRIVATE(sig_opts), &crl->MBEDTLS_PRIVATE(sig), ca);
}
