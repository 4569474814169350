/*
 * issue.c: the issuer's side of renewal through the mesh (renew.h), and the
 * certificate helpers both sides use.
 *
 * The identity of what is signed never comes from the CSR: the subject, the
 * SANs, the key usage and the extended key usage are copied byte for byte from
 * the certificate that authenticated the peer's session. The CSR is only
 * proof that the peer holds the new key, and it must name that same identity
 * (a CSR for another name is refused, not corrected). basicConstraints is
 * always CA:false. After signing, the result is parsed back and its subject
 * and SANs compared with the original's once more.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_csr.h>
#include <psa/crypto.h>

#include "base/err.h"
#include "core/renew.h"
#include "core/tls.h"

#define NAME_ATTRS_MAX RENEW_NAME_ATTRS_MAX
#define SKEW_S 60 /* notBefore this far back: clocks in a fleet differ a little */
#define KEY_ID_LEN 20

/*
 * name, a parsed (first-to-last) name, as the list mbedtls_x509write_*
 * writes (last-to-first), in nodes: no allocation; the nodes point into the
 * parsed certificate. Multi-valued RDNs are not reproduced: -1.
 */
int renew_name_list(const mbedtls_x509_name *name, mbedtls_asn1_named_data nodes[NAME_ATTRS_MAX],
		    mbedtls_asn1_named_data **head)
{
	const mbedtls_x509_name *c;
	unsigned k = 0;

	*head = NULL;
	for (c = name; c != NULL; c = c->next) {
		if (c->oid.p == NULL || c->oid.len == 0)
			continue;
		if (c->MBEDTLS_PRIVATE(next_merged) || k == NAME_ATTRS_MAX)
			return -1;
		nodes[k] = *c;
		nodes[k].next = *head;
		nodes[k].MBEDTLS_PRIVATE(next_merged) = 0;
		*head = &nodes[k];
		k++;
	}
	return *head != NULL ? 0 : -1;
}

bool renew_same_sans(const mbedtls_x509_sequence *a, const mbedtls_x509_sequence *b)
{
	for (; a != NULL && b != NULL; a = a->next, b = b->next)
		if (a->buf.tag != b->buf.tag || a->buf.len != b->buf.len ||
		    (a->buf.len > 0 && memcmp(a->buf.p, b->buf.p, a->buf.len) != 0))
			return false;
	return a == NULL && b == NULL;
}

bool renew_same_name(const mbedtls_x509_buf *a, const mbedtls_x509_buf *b)
{
	return a->len == b->len && a->len > 0 && memcmp(a->p, b->p, a->len) == 0;
}

bool renew_same_key(const mbedtls_pk_context *a, const mbedtls_pk_context *b)
{
	unsigned char x[160], y[160];
	int lx = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)a, x, sizeof(x));
	int ly = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)b, y, sizeof(y));

	return lx > 0 && lx == ly &&
	       memcmp(x + sizeof(x) - (size_t)lx, y + sizeof(y) - (size_t)ly, (size_t)lx) == 0;
}

/* A usable key: ECDSA over P-256 (the only 256-bit curve built in). */
static bool p256(const mbedtls_pk_context *pk)
{
	return mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) && mbedtls_pk_get_bitlen(pk) == 256;
}

/* The extension oid of c: its value (the OCTET STRING's contents) and criticality. */
int renew_ext_find(const mbedtls_x509_crt *c, const char *oid, size_t oid_len,
		   const unsigned char **val, size_t *val_len, int *critical)
{
	unsigned char *p = c->v3_ext.p, *end;
	size_t len;

	if (p == NULL || c->v3_ext.len == 0)
		return -1;
	end = p + c->v3_ext.len;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	end = p + len;
	while (p < end) {
		unsigned char *ext_end, *o;
		size_t ol;
		int crit = 0;

		if (mbedtls_asn1_get_tag(&p, end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return -1;
		ext_end = p + len;
		if (mbedtls_asn1_get_tag(&p, ext_end, &ol, MBEDTLS_ASN1_OID))
			return -1;
		o = p;
		p += ol;
		if (p < ext_end && *p == MBEDTLS_ASN1_BOOLEAN &&
		    mbedtls_asn1_get_bool(&p, ext_end, &crit) != 0)
			return -1;
		if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING))
			return -1;
		if (ol == oid_len && memcmp(o, oid, ol) == 0) {
			*val = p;
			*val_len = len;
			*critical = crit;
			return 0;
		}
		p = ext_end;
	}
	return -1;
}

/* "YYYYMMDDhhmmss" (UTC) of Unix second t, as mbedtls_x509write_crt_set_validity() wants. */
void renew_time_str(int64_t t, char out[15])
{
	int64_t days = t / 86400, secs = t % 86400, z, era, y;
	unsigned doe, yoe, doy, mp, d, m;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	/* Days to civil date (H. Hinnant's algorithm, proleptic Gregorian). */
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 1950)
		y = 1950;
	if (y > 9999)
		y = 9999;
	{
		unsigned v[6] = {(unsigned)y,
				 m,
				 d,
				 (unsigned)(secs / 3600),
				 (unsigned)(secs / 60 % 60),
				 (unsigned)(secs % 60)};
		unsigned i, k, at = 0;

		/* Digit by digit: 4 for the year, 2 for the rest (snprintf cannot see the bounds). */
		for (i = 0; i < 6; i++)
			for (k = i == 0 ? 1000u : 10u; k > 0; k /= 10)
				out[at++] = (char)('0' + v[i] / k % 10);
		out[at] = '\0';
	}
}

/* RFC 7093 method 1: the first 160 bits of SHA-256 over the subjectPublicKey bits. */
static int key_id(const mbedtls_pk_context *pk, unsigned char id[KEY_ID_LEN])
{
	unsigned char der[160], h[32];
	unsigned char *p = der + sizeof(der);
	int n = mbedtls_pk_write_pubkey(&p, der, pk);

	if (n <= 0 || mbedtls_sha256(p, (size_t)n, h, 0) != 0)
		return -1;
	memcpy(id, h, KEY_ID_LEN);
	return 0;
}

/* subjectKeyIdentifier, and authorityKeyIdentifier { keyIdentifier [0] }. */
static int set_key_ids(mbedtls_x509write_cert *w, const mbedtls_pk_context *subject,
		       const mbedtls_x509_crt *issuer)
{
	unsigned char ext[4 + 64], id[KEY_ID_LEN];
	const unsigned char *aki = id;
	size_t aki_len = KEY_ID_LEN;

	if (key_id(subject, id) != 0)
		return -1;
	ext[0] = MBEDTLS_ASN1_OCTET_STRING;
	ext[1] = KEY_ID_LEN;
	memcpy(ext + 2, id, KEY_ID_LEN);
	if (mbedtls_x509write_crt_set_extension(
		    w, MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER), 0, ext,
		    2 + KEY_ID_LEN) != 0)
		return -1;
	/* The issuer's own subjectKeyIdentifier, so that chain builders match them. */
	if (issuer->subject_key_id.len > 0 && issuer->subject_key_id.len <= 64) {
		aki = issuer->subject_key_id.p;
		aki_len = issuer->subject_key_id.len;
	} else if (key_id(&issuer->pk, id) != 0) {
		return -1;
	}
	ext[0] = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
	ext[1] = (unsigned char)(aki_len + 2);
	ext[2] = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0;
	ext[3] = (unsigned char)aki_len;
	memcpy(ext + 4, aki, aki_len);
	return mbedtls_x509write_crt_set_extension(
		       w, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
		       MBEDTLS_OID_SIZE(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), 0, ext,
		       4 + aki_len) != 0
		       ? -1
		       : 0;
}

/* Copy extension oid of from (if it has it) into w, byte for byte. */
static int copy_ext(mbedtls_x509write_cert *w, const mbedtls_x509_crt *from, const char *oid,
		    size_t oid_len)
{
	const unsigned char *v;
	size_t len;
	int crit;

	if (renew_ext_find(from, oid, oid_len, &v, &len, &crit) != 0)
		return 0;
	return mbedtls_x509write_crt_set_extension(w, oid, oid_len, crit, v, len) != 0 ? -1 : 0;
}

/* The CSR's signature is by its own key: the peer holds the new key. */
static bool csr_signed(mbedtls_x509_csr *c)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(c->MBEDTLS_PRIVATE(sig_md));
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];

	if (md == NULL || mbedtls_md(md, c->cri.p, c->cri.len, hash) != 0)
		return false;
	return mbedtls_pk_verify_ext(c->MBEDTLS_PRIVATE(sig_pk), c->MBEDTLS_PRIVATE(sig_opts),
				     &c->pk, c->MBEDTLS_PRIVATE(sig_md), hash,
				     mbedtls_md_get_size(md), c->MBEDTLS_PRIVATE(sig).p,
				     c->MBEDTLS_PRIVATE(sig).len) == 0;
}

static void describe(const mbedtls_x509_crt *c, const unsigned char *serial, size_t serial_len,
		     struct issue_info *info)
{
	const mbedtls_x509_sequence *s;
	size_t at = 0, i;

	for (i = 0; i < serial_len && i < 16; i++)
		snprintf(info->serial + 2 * i, 3, "%02x", serial[i]);
	if (mbedtls_x509_dn_gets(info->subject, sizeof(info->subject), &c->subject) < 0)
		snprintf(info->subject, sizeof(info->subject), "?");
	info->sans[0] = '\0';
	for (s = &c->subject_alt_names; s != NULL && s->buf.p != NULL; s = s->next) {
		mbedtls_x509_subject_alternative_name san;
		const char *kind = NULL;
		int n;

		if (mbedtls_x509_parse_subject_alt_name(&s->buf, &san) != 0)
			continue;
		if (san.type == MBEDTLS_X509_SAN_DNS_NAME)
			kind = "DNS";
		else if (san.type == MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER)
			kind = "URI";
		if (kind != NULL && at < sizeof(info->sans))
			n = snprintf(info->sans + at, sizeof(info->sans) - at, "%s%s:%.*s",
				     at > 0 ? "," : "", kind, (int)san.san.unstructured_name.len,
				     (const char *)san.san.unstructured_name.p);
		else
			n = 0;
		mbedtls_x509_free_subject_alt_name(&san);
		if (n > 0)
			at += (size_t)n;
		if (at >= sizeof(info->sans))
			at = sizeof(info->sans) - 1;
	}
}

const char *issue_sign(const struct issuer_material *im, const mbedtls_x509_crt *peer,
		       const uint8_t *csr, size_t len, int64_t now, uint32_t days, uint8_t *out,
		       size_t cap, size_t *out_len, struct issue_info *info)
{
	mbedtls_asn1_named_data subj_nodes[NAME_ATTRS_MAX], iss_nodes[NAME_ATTRS_MAX];
	mbedtls_asn1_named_data *subj = NULL, *iss = NULL;
	unsigned char serial[16];
	char nb[15], na[15];
	int64_t not_after, issuer_end = 0, peer_end = 0;
	const char *why = NULL;
	mbedtls_x509write_cert w;
	mbedtls_x509_csr c;
	mbedtls_x509_crt back;
	int ret;

	*out_len = 0;
	memset(info, 0, sizeof(*info));
	if (im == NULL || !im->loaded)
		return "this node issues no certificates";
	if (peer == NULL)
		return "no peer certificate on this session";
	mbedtls_x509_csr_init(&c);
	mbedtls_x509write_crt_init(&w);
	mbedtls_x509_crt_init(&back);

	/* The certificate the session was authenticated with: an end entity, still valid. */
	if (peer->MBEDTLS_PRIVATE(ca_istrue) ||
	    ((peer->MBEDTLS_PRIVATE(ext_types) & MBEDTLS_X509_EXT_KEY_USAGE) &&
	     (peer->MBEDTLS_PRIVATE(key_usage) & MBEDTLS_X509_KU_KEY_CERT_SIGN)))
		why = "the session's certificate is a CA certificate";
	else if (tls_time_unix(&peer->valid_to) <= now)
		why = "the session's certificate has expired";
	else if (renew_name_list(&peer->subject, subj_nodes, &subj) != 0 ||
		 renew_name_list(&im->crt.subject, iss_nodes, &iss) != 0)
		why = "a name with multi-valued or too many attributes cannot be reproduced";
	if (why != NULL)
		goto out;

	if (len == 0 || mbedtls_x509_csr_parse_der(&c, csr, len) != 0) {
		why = "not a CSR (DER)";
		goto out;
	}
	if (!csr_signed(&c))
		why = "the CSR's signature does not verify (no proof of the key)";
	else if (!p256(&c.pk))
		why = "the CSR's key is not ECDSA P-256";
	else if (renew_same_key(&c.pk, &peer->pk))
		why = "the CSR reuses the current key";
	else if (!renew_same_name(&c.subject_raw, &peer->subject_raw))
		why = "identity mismatch: the CSR names another subject than the session's "
		      "certificate";
	else if (!renew_same_sans(&c.subject_alt_names, &peer->subject_alt_names))
		why = "identity mismatch: the CSR names other SANs than the session's certificate";
	if (why != NULL)
		goto out;

	issuer_end = tls_time_unix(&im->crt.valid_to);
	peer_end = tls_time_unix(&peer->valid_to);
	not_after = now + (int64_t)days * 86400;
	if (not_after > issuer_end)
		not_after = issuer_end;
	if (not_after <= now + SKEW_S) {
		why = "the issuer's certificate expires too soon to sign";
		goto out;
	}
	(void)peer_end;
	renew_time_str(now - SKEW_S, nb);
	renew_time_str(not_after, na);
	if (mbedtls_psa_get_random(MBEDTLS_PSA_RANDOM_STATE, serial, sizeof(serial)) != 0) {
		why = "no randomness for a serial number";
		goto out;
	}
	serial[0] &= 0x7f; /* positive */
	if (serial[0] == 0)
		serial[0] = 1; /* and 16 bytes long */

	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, &c.pk);
	mbedtls_x509write_crt_set_issuer_key(&w, (mbedtls_pk_context *)&im->key);
	w.MBEDTLS_PRIVATE(subject) = subj;
	w.MBEDTLS_PRIVATE(issuer) = iss;
	ret = mbedtls_x509write_crt_set_validity(&w, nb, na);
	if (ret == 0)
		ret = mbedtls_x509write_crt_set_serial_raw(&w, serial, sizeof(serial));
	if (ret == 0)
		ret = mbedtls_x509write_crt_set_basic_constraints(&w, 0, -1);
	if (ret == 0)
		ret = set_key_ids(&w, &c.pk, &im->crt);
	/* The original's identity and uses, byte for byte. */
	if (ret == 0)
		ret = copy_ext(&w, peer, MBEDTLS_OID_SUBJECT_ALT_NAME,
			       MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME));
	if (ret == 0)
		ret = copy_ext(&w, peer, MBEDTLS_OID_KEY_USAGE,
			       MBEDTLS_OID_SIZE(MBEDTLS_OID_KEY_USAGE));
	if (ret == 0)
		ret = copy_ext(&w, peer, MBEDTLS_OID_EXTENDED_KEY_USAGE,
			       MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE));
	if (ret != 0) {
		why = "cannot build the certificate";
		goto out;
	}
	ret = mbedtls_x509write_crt_der(&w, out, cap, mbedtls_psa_get_random,
					MBEDTLS_PSA_RANDOM_STATE);
	if (ret <= 0 || (size_t)ret > FRAME_RENEW_DER_MAX) {
		why = ret == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL || ret > 0
			      ? "the certificate would be too large for the protocol"
			      : "cannot sign the certificate";
		goto out;
	}
	/* mbedTLS writes at the end of the buffer. */
	memmove(out, out + cap - (size_t)ret, (size_t)ret);
	*out_len = (size_t)ret;

	/* Read back what was signed: the same identity, or nothing leaves. */
	if (mbedtls_x509_crt_parse_der(&back, out, *out_len) != 0 ||
	    !renew_same_name(&back.subject_raw, &peer->subject_raw) ||
	    !renew_same_sans(&back.subject_alt_names, &peer->subject_alt_names) ||
	    back.MBEDTLS_PRIVATE(ca_istrue)) {
		why = "the signed certificate does not reproduce the identity";
		*out_len = 0;
		goto out;
	}
	describe(&back, serial, sizeof(serial), info);
	info->not_after = tls_time_unix(&back.valid_to);
out:
	/* The name lists are ours (on the stack), not the writer's to free. */
	w.MBEDTLS_PRIVATE(subject) = NULL;
	w.MBEDTLS_PRIVATE(issuer) = NULL;
	mbedtls_x509write_crt_free(&w);
	mbedtls_x509_csr_free(&c);
	mbedtls_x509_crt_free(&back);
	return why;
}

/* PEM parsers want the NUL that port_read_file() adds counted in the length. */
static size_t parse_len(const unsigned char *buf, size_t n)
{
	return strstr((const char *)buf, "-----BEGIN") != NULL ? n + 1 : n;
}

static void say(char *err, size_t err_len, const char *key, const char *path, const char *what)
{
	snprintf(err, err_len, "%s: %s: %s", key, path, what);
}

int issuer_load(struct issuer_material *im, const struct tether_issuer_cfg *is,
		const mbedtls_x509_crt *ca, int64_t now, struct port *port, unsigned char *scratch,
		size_t len, char *err, size_t err_len)
{
	uint32_t flags = 0;
	size_t n = 0;
	int ret;

	mbedtls_x509_crt_init(&im->crt);
	mbedtls_pk_init(&im->key);
	im->loaded = 1;
	ret = port_read_file(port, is->cert, scratch, len, &n);
	if (ret < 0) {
		say(err, err_len, "issuer.cert", is->cert,
		    ret == TETHER_ERR_TOO_BIG ? "file too large" : "cannot read file");
		goto fail;
	}
	if (mbedtls_x509_crt_parse(&im->crt, scratch, parse_len(scratch, n)) != 0 ||
	    im->crt.next != NULL) {
		say(err, err_len, "issuer.cert", is->cert, "not one PEM or DER certificate");
		goto fail;
	}
	if (!im->crt.MBEDTLS_PRIVATE(ca_istrue) ||
	    mbedtls_x509_crt_check_key_usage(&im->crt, MBEDTLS_X509_KU_KEY_CERT_SIGN) != 0) {
		say(err, err_len, "issuer.cert", is->cert,
		    "not a CA certificate (basicConstraints CA:true, keyCertSign)");
		goto fail;
	}
	if (!p256(&im->crt.pk)) {
		say(err, err_len, "issuer.cert", is->cert, "not an ECDSA P-256 certificate");
		goto fail;
	}
	if (tls_time_unix(&im->crt.valid_to) <= now || tls_time_unix(&im->crt.valid_from) > now) {
		say(err, err_len, "issuer.cert", is->cert, "expired or not yet valid");
		goto fail;
	}
	if (mbedtls_x509_crt_verify(&im->crt, (mbedtls_x509_crt *)ca, NULL, NULL, &flags, NULL,
				    NULL) != 0) {
		say(err, err_len, "issuer.cert", is->cert,
		    "does not chain to identity.ca: the fleet would not trust what it signs");
		goto fail;
	}
	ret = port_file_private(port, is->key);
	if (ret == TETHER_ERR_PERM) {
		say(err, err_len, "issuer.key", is->key,
		    "accessible by group or others; make it private (chmod 600)");
		goto fail;
	}
	ret = port_read_file(port, is->key, scratch, len, &n);
	if (ret < 0) {
		say(err, err_len, "issuer.key", is->key,
		    ret == TETHER_ERR_TOO_BIG ? "file too large" : "cannot read file");
		goto fail;
	}
	ret = mbedtls_pk_parse_key(&im->key, scratch, parse_len(scratch, n), NULL, 0,
				   mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
	mbedtls_platform_zeroize(scratch, len);
	if (ret != 0) {
		say(err, err_len, "issuer.key", is->key, "not a private key (PEM or DER)");
		goto fail;
	}
	if (mbedtls_pk_check_pair(&im->crt.pk, &im->key, mbedtls_psa_get_random,
				  MBEDTLS_PSA_RANDOM_STATE) != 0) {
		say(err, err_len, "issuer.key", is->key, "does not match issuer.cert");
		goto fail;
	}
	return 0;
fail:
	mbedtls_platform_zeroize(scratch, len);
	issuer_free(im);
	return TETHER_ERR_CONFIG;
}

void issuer_free(struct issuer_material *im)
{
	if (im == NULL || !im->loaded)
		return;
	mbedtls_x509_crt_free(&im->crt);
	mbedtls_pk_free(&im->key);
	im->loaded = 0;
}
