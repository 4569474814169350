/*
 * identity.c: matching a verified peer certificate against configured ids and pins.
 */
#include <stdint.h>
#include <string.h>

#include "mbedtls/base64.h"
#include "mbedtls/constant_time.h"
#include "mbedtls/oid.h"
#include "mbedtls/x509.h"
#include "psa/crypto.h"

#include "core/settings.h"
#include "base/err.h"
#include "core/identity.h"

#define PIN_PREFIX "sha256/"
#define PIN_PREFIX_LEN (sizeof(PIN_PREFIX) - 1)

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int buf_equals(const mbedtls_x509_buf *b, const char *s, size_t n, int nocase)
{
	size_t i;

	if (b->p == NULL || b->len != n)
		return 0;
	if (!nocase)
		return memcmp(b->p, s, n) == 0;
	for (i = 0; i < n; i++)
		if (ascii_lower(b->p[i]) != ascii_lower((unsigned char)s[i]))
			return 0;
	return 1;
}

int identity_each_san(const mbedtls_x509_crt *crt,
		      int (*fn)(void *ctx, int type, const unsigned char *p, size_t len), void *ctx)
{
	const mbedtls_x509_sequence *cur;
	int r = 0;

	for (cur = &crt->subject_alt_names; cur != NULL && r == 0; cur = cur->next) {
		mbedtls_x509_subject_alternative_name san;

		if (cur->buf.p == NULL)
			continue;
		memset(&san, 0, sizeof(san));
		/* Kinds mbedTLS cannot parse (registeredID, ...) are skipped. */
		if (mbedtls_x509_parse_subject_alt_name(&cur->buf, &san) != 0)
			continue;
		if (san.type == MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER ||
		    san.type == MBEDTLS_X509_SAN_DNS_NAME ||
		    san.type == MBEDTLS_X509_SAN_IP_ADDRESS)
			r = fn(ctx, san.type, san.san.unstructured_name.p,
			       san.san.unstructured_name.len);
		mbedtls_x509_free_subject_alt_name(&san);
	}
	return r;
}

struct id_want {
	const char *id;
	size_t n;
};

static int san_is(void *ctx, int type, const unsigned char *p, size_t len)
{
	const struct id_want *w = ctx;
	mbedtls_x509_buf b;

	b.p = (unsigned char *)(uintptr_t)p;
	b.len = len;
	if (type == MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER)
		return buf_equals(&b, w->id, w->n, 0);
	if (type == MBEDTLS_X509_SAN_DNS_NAME)
		return buf_equals(&b, w->id, w->n, 1);
	return 0; /* IP SANs are not identities here */
}

/* Whether crt carries id in a URI SAN, a DNS SAN or a CN. */
static int id_matches(const mbedtls_x509_crt *crt, const char *id)
{
	const mbedtls_x509_name *name;
	struct id_want w;
	int found;

	if (crt == NULL || id == NULL || id[0] == '\0')
		return 0;
	w.id = id;
	w.n = strlen(id);
	found = identity_each_san(crt, san_is, &w);
	for (name = &crt->subject; name != NULL && !found; name = name->next) {
		if (name->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &name->oid) == 0)
			found = buf_equals(&name->val, id, w.n, 0);
	}
	return found;
}

int identity_spki_sha256(const mbedtls_x509_crt *crt, uint8_t out[32])
{
	size_t len;

	if (crt == NULL || out == NULL || crt->pk_raw.p == NULL || crt->pk_raw.len == 0)
		return TETHER_ERR_INVALID;
	if (psa_hash_compute(PSA_ALG_SHA_256, crt->pk_raw.p, crt->pk_raw.len, out, 32, &len) !=
		    PSA_SUCCESS ||
	    len != 32)
		return TETHER_ERR_TLS;
	return TETHER_OK;
}

static void set_why(const char **why, const char *s)
{
	if (why != NULL)
		*why = s;
}

int identity_match(const mbedtls_x509_crt *crt, const char *id, const uint8_t *pin,
		   const char **why)
{
	uint8_t h[32];

	if (!id_matches(crt, id)) {
		set_why(why, IDENTITY_NOT_ALLOWED);
		return TETHER_ERR_PERM;
	}
	if (pin != NULL &&
	    (identity_spki_sha256(crt, h) != 0 || mbedtls_ct_memcmp(h, pin, sizeof(h)) != 0)) {
		set_why(why, IDENTITY_PIN_MISMATCH);
		return TETHER_ERR_PERM;
	}
	return TETHER_OK;
}

int identity_find_peer(const mbedtls_x509_crt *crt, const struct tether_config *cfg, int *peer,
		       const char **why)
{
	uint8_t h[32];
	int have_hash = 0, pin_failed = 0;
	unsigned i;

	if (peer != NULL)
		*peer = -1;
	set_why(why, IDENTITY_NOT_ALLOWED);
	if (crt == NULL || cfg == NULL || peer == NULL)
		return TETHER_ERR_PERM;
	for (i = 0; i < cfg->n_peers && i < TETHER_MAX_PEERS; i++) {
		const struct tether_peer_cfg *p = &cfg->peers[i];

		if (!id_matches(crt, p->id))
			continue;
		if (p->has_pin) {
			if (!have_hash) {
				if (identity_spki_sha256(crt, h) != 0) {
					pin_failed = 1;
					continue;
				}
				have_hash = 1;
			}
			if (mbedtls_ct_memcmp(h, p->pin, sizeof(h)) != 0) {
				pin_failed = 1;
				continue;
			}
		}
		*peer = (int)i;
		set_why(why, NULL);
		return TETHER_OK;
	}
	if (pin_failed)
		set_why(why, IDENTITY_PIN_MISMATCH);
	return TETHER_ERR_PERM;
}

/* Copies b into buf for a log line; returns TETHER_ERR_TOO_BIG if cut short. */
static int describe_copy(const mbedtls_x509_buf *b, char *buf, size_t len)
{
	size_t i, n = b->len < len - 1 ? b->len : len - 1;

	for (i = 0; i < n; i++) {
		unsigned char c = b->p[i];

		buf[i] = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ? '?' : (char)c;
	}
	buf[n] = '\0';
	return n < b->len ? TETHER_ERR_TOO_BIG : TETHER_OK;
}

int identity_describe(const mbedtls_x509_crt *crt, char *buf, size_t len)
{
	static const int order[2] = {MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER,
				     MBEDTLS_X509_SAN_DNS_NAME};
	const mbedtls_x509_sequence *cur;
	const mbedtls_x509_name *name;
	int k;

	if (buf == NULL || len == 0)
		return TETHER_ERR_INVALID;
	buf[0] = '\0';
	if (crt == NULL)
		return TETHER_ERR_INVALID;
	for (k = 0; k < 2; k++) {
		for (cur = &crt->subject_alt_names; cur != NULL; cur = cur->next) {
			mbedtls_x509_subject_alternative_name san;
			int ret = TETHER_ERR_INVALID;

			if (cur->buf.p == NULL)
				continue;
			memset(&san, 0, sizeof(san));
			if (mbedtls_x509_parse_subject_alt_name(&cur->buf, &san) != 0)
				continue;
			if (san.type == order[k])
				ret = describe_copy(&san.san.unstructured_name, buf, len);
			mbedtls_x509_free_subject_alt_name(&san);
			if (ret != TETHER_ERR_INVALID)
				return ret;
		}
	}
	for (name = &crt->subject; name != NULL; name = name->next) {
		if (name->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &name->oid) == 0)
			return describe_copy(&name->val, buf, len);
	}
	return TETHER_OK;
}

int identity_pin_format(const uint8_t pin[32], char *buf, size_t len)
{
	size_t olen;

	if (pin == NULL || buf == NULL || len == 0)
		return TETHER_ERR_INVALID;
	buf[0] = '\0';
	if (len < IDENTITY_PIN_STR_MAX)
		return TETHER_ERR_TOO_BIG;
	memcpy(buf, PIN_PREFIX, PIN_PREFIX_LEN);
	if (mbedtls_base64_encode((unsigned char *)buf + PIN_PREFIX_LEN, len - PIN_PREFIX_LEN,
				  &olen, pin, 32) != 0) {
		buf[0] = '\0';
		return TETHER_ERR_TOO_BIG;
	}
	return TETHER_OK;
}

/* The value of a standard base64 digit, or -1. */
static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decoded by hand rather than with mbedtls_base64_decode(), which also takes
 * white space and non-zero spare bits: a pin has exactly one spelling.
 */
int identity_pin_parse(const char *s, uint8_t pin[32])
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0, n;

	if (pin == NULL)
		return TETHER_ERR_INVALID;
	memset(pin, 0, 32);
	if (s == NULL || strncmp(s, PIN_PREFIX, PIN_PREFIX_LEN) != 0)
		return TETHER_ERR_INVALID;
	s += PIN_PREFIX_LEN;
	n = strlen(s);
	/* 32 bytes are 43 base64 digits (2 spare bits) and one '=' of padding. */
	if (n == 44 && s[43] == '=')
		n = 43;
	if (n != 43)
		return TETHER_ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(s[i]);

		if (v < 0)
			goto err;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			pin[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Only the canonical encoding: the spare bits must be zero. */
	if (acc != 0 || o != 32)
		goto err;
	return TETHER_OK;
err:
	memset(pin, 0, 32);
	return TETHER_ERR_INVALID;
}
