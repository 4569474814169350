/*
 * crlnum.c: the CRL Number extension, read from a parsed CRL's raw extensions.
 *
 * crl->crl_ext is what mbedTLS found inside crlExtensions [0] EXPLICIT:
 *
 *   Extensions  ::=  SEQUENCE SIZE (1..MAX) OF Extension
 *   Extension   ::=  SEQUENCE  {
 *        extnID      OBJECT IDENTIFIER,
 *        critical    BOOLEAN DEFAULT FALSE,
 *        extnValue   OCTET STRING }
 *   CRLNumber   ::=  INTEGER (0..MAX)      -- inside extnValue
 *
 * A tiny DER reader of its own walks it: one-byte tags, minimal definite
 * lengths, every length checked against what encloses it.
 */
#include <string.h>

#include "core/crlnum.h"

#include "base/err.h"

#define TAG_BOOLEAN 0x01
#define TAG_INTEGER 0x02
#define TAG_OCTET_STRING 0x04
#define TAG_OID 0x06
#define TAG_SEQUENCE 0x30

/* id-ce-cRLNumber: 2.5.29.20 */
static const uint8_t oid_crl_number[] = {0x55, 0x1d, 0x14};

/*
 * Reads one TLV with tag `tag` at *p (before end): on success *p is the
 * first content octet, *len its length (within end). Lengths must be minimal
 * (DER): short form below 128, long form without a leading zero octet.
 */
static int der_tlv(const uint8_t **p, const uint8_t *end, uint8_t tag, size_t *len)
{
	const uint8_t *q = *p;
	size_t n, avail;

	if (q >= end || end - q < 2 || q[0] != tag)
		return TETHER_ERR_PROTOCOL;
	q++;
	if (*q < 0x80) {
		n = *q++;
	} else {
		size_t k = *q++ & 0x7f;

		/* 0x80 is BER's indefinite length; more than 4 octets is absurd here. */
		if (k == 0 || k > 4 || (size_t)(end - q) < k || q[0] == 0)
			return TETHER_ERR_PROTOCOL;
		n = 0;
		while (k-- > 0)
			n = (n << 8) | *q++;
		if (n < 0x80)
			return TETHER_ERR_PROTOCOL;
	}
	avail = (size_t)(end - q);
	if (n > avail)
		return TETHER_ERR_PROTOCOL;
	*p = q;
	*len = n;
	return TETHER_OK;
}

/* CRLNumber ::= INTEGER (0..MAX), exactly filling [p, end). */
static int read_number(const uint8_t *p, const uint8_t *end, uint8_t out[CRL_NUMBER_MAX],
		       size_t *out_len)
{
	size_t n;

	if (der_tlv(&p, end, TAG_INTEGER, &n) != 0 || p + n != end || n == 0)
		return TETHER_ERR_PROTOCOL;
	if (p[0] & 0x80)
		return TETHER_ERR_PROTOCOL; /* negative */
	if (p[0] == 0x00) {
		if (n == 1) {
			*out_len = 0; /* the number 0 */
			return TETHER_OK;
		}
		if (!(p[1] & 0x80))
			return TETHER_ERR_PROTOCOL; /* a zero octet DER would not have */
		p++;
		n--;
	}
	if (n > CRL_NUMBER_MAX)
		return TETHER_ERR_PROTOCOL;
	memcpy(out, p, n);
	*out_len = n;
	return TETHER_OK;
}

int crl_number(const mbedtls_x509_crl *crl, uint8_t out[CRL_NUMBER_MAX], size_t *len)
{
	const uint8_t *p, *end;
	size_t n, found_len = 0;
	int found = 0, ret;

	if (out == NULL || len == NULL)
		return TETHER_ERR_INVALID;
	memset(out, 0, CRL_NUMBER_MAX);
	*len = 0;
	if (crl == NULL)
		return TETHER_ERR_INVALID;
	if (crl->crl_ext.p == NULL || crl->crl_ext.len == 0)
		return TETHER_ERR_INVALID; /* no crlExtensions at all */

	p = crl->crl_ext.p;
	end = p + crl->crl_ext.len;
	if (der_tlv(&p, end, TAG_SEQUENCE, &n) != 0 || p + n != end || n == 0)
		return TETHER_ERR_PROTOCOL;

	while (p < end) {
		const uint8_t *ext_end, *oid, *val;
		size_t oid_len, val_len;

		if (der_tlv(&p, end, TAG_SEQUENCE, &n) != 0)
			goto bad;
		ext_end = p + n;
		if (der_tlv(&p, ext_end, TAG_OID, &oid_len) != 0 || oid_len == 0)
			goto bad;
		oid = p;
		p += oid_len;
		if (p < ext_end && p[0] == TAG_BOOLEAN) {
			size_t blen;

			/* DER: 0xFF for TRUE, and FALSE (the default) is never encoded. */
			if (der_tlv(&p, ext_end, TAG_BOOLEAN, &blen) != 0 || blen != 1 ||
			    p[0] != 0xff)
				goto bad;
			p += 1;
		}
		if (der_tlv(&p, ext_end, TAG_OCTET_STRING, &val_len) != 0 || p + val_len != ext_end)
			goto bad;
		val = p;
		p = ext_end;

		if (oid_len != sizeof(oid_crl_number) ||
		    memcmp(oid, oid_crl_number, sizeof(oid_crl_number)) != 0)
			continue;
		if (found)
			goto bad; /* RFC 5280 4.2: at most one instance of an extension */
		ret = read_number(val, val + val_len, out, &found_len);
		if (ret != 0)
			goto bad;
		found = 1;
	}
	if (!found)
		return TETHER_ERR_INVALID;
	*len = found_len;
	return TETHER_OK;

bad:
	memset(out, 0, CRL_NUMBER_MAX);
	*len = 0;
	return TETHER_ERR_PROTOCOL;
}

int crl_number_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i;

	while (alen > 0 && a[0] == 0) {
		a++;
		alen--;
	}
	while (blen > 0 && b[0] == 0) {
		b++;
		blen--;
	}
	if (alen != blen)
		return alen < blen ? -1 : 1;
	for (i = 0; i < alen; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}
