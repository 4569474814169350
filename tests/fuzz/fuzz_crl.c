/*
 * fuzz_crl.c: libFuzzer target for a CRL that arrives through the mesh as the
 * node judges it: crl_judge() (core/crlmesh.c), with a node's material put
 * together as a load leaves it: a CA certificate made at start-up, and the
 * CRL the node keeps of it (number 5). The frames that carry the CRL
 * (CRL_HAVE, CRL_GET, the CRL pieces) are fuzzed in fuzz_mux and fuzz_frame.
 *
 * The first byte chooses how the rest is used:
 *  - bit 0 clear: the rest is the DER a peer sent, judged as the CRL of the
 *    issuer asked (ours, or, with bit 1, the id in the input's first 8 bytes);
 *  - bit 0 set: the next byte picks one of a dozen CRLs signed at start-up
 *    (by our CA, by a CA of the same name with another key, or by a foreign
 *    CA; CRL numbers below, at and above ours, with leading zeros, up to 20
 *    octets; with and without revoked serials), and with bit 1 one of its
 *    bytes is flipped where the input says. Unflipped, the verdict is known
 *    in advance and must be the one given: accepted exactly when our CA
 *    signed it with a number above 5, "not newer than ours" when our CA
 *    signed it with one at most 5, "not signed by one of our CAs" when the
 *    twin signed it, "not the issuer asked for" when the foreign CA did.
 *
 * Every acceptance is checked independently: the DER parses as one CRL whose
 * issuer is our CA's subject, the signature verifies with our CA's key
 * (pki_crl_signed_by(), pki's own code), and the CRL number is above ours.
 * A refusal always says why.
 */
#include <stdint.h>
#include <string.h>

#include "mbedtls/x509_crl.h"
#include "psa/crypto.h"

#include "core/crlmesh.h"
#include "core/crlnum.h"
#include "core/tls.h"
#include "pki/pki_crl.h"
#include "pki/pki_set.h"
#include "port/mem/port_mem.h"
#include "tests/fuzz/fuzz.h"

#define OURS 5u

static struct pki_set_ca ca, twin, other;
static struct tls_material m;
static uint8_t our_id[FRAME_CRL_ISSUER_ID];
static unsigned char pem[PKI_CRL_PEM_SIZE(8)];
static const int64_t now = PORT_MEM_WALL_START;

int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * CRLs signed at start-up (signing under the sanitizers takes tens of
 * milliseconds, so not per input): by which CA, with which number, as DER.
 */
struct signed_crl {
	const struct pki_set_ca *signer;
	uint8_t num[PKI_CRL_NUMBER_MAX];
	size_t num_len;
	uint8_t der[PKI_CRL_DER_SIZE(8)];
	size_t len;
};

static struct signed_crl table[12];
static unsigned n_table;

static int put_nothing(void *ctx, const char *name, const char *kind, const unsigned char *p,
		       size_t len)
{
	(void)ctx, (void)name, (void)kind, (void)p, (void)len;
	return 0;
}

/* The CRL by c with number num (num_len octets) and the entries given, as DER in der. */
static size_t sign_crl(struct pki_set_ca *c, const uint8_t *num, size_t num_len,
		       const struct pki_crl_entry *e, size_t n, uint8_t *der, size_t cap)
{
	struct pki_crl_spec s;
	mbedtls_x509_crl parsed;
	size_t len;

	memset(&s, 0, sizeof(s));
	s.this_update = now - 60;
	s.next_update = now + 7 * 86400;
	s.number = num;
	s.number_len = num_len;
	s.entries = e;
	s.n_entries = n;
	if (pki_crl_write_pem(&s, &c->crt, &c->key, pem, sizeof(pem)) != 0)
		return 0;
	mbedtls_x509_crl_init(&parsed);
	CHECK(mbedtls_x509_crl_parse(&parsed, pem, strlen((char *)pem) + 1) == 0);
	len = parsed.raw.len;
	CHECK(len <= cap);
	memcpy(der, parsed.raw.p, len);
	mbedtls_x509_crl_free(&parsed);
	return len;
}

/* Sign a CRL by c numbered num (len octets) revoking the first n_e serials, into the table. */
static void add(struct pki_set_ca *c, const char *num, size_t len, size_t n_e)
{
	static const uint8_t serial_pool[8][3] = {{1}, {2, 3},	  {0x7f}, {4, 5, 6},
						  {9}, {0x10, 1}, {0x22}, {0x33, 0x44}};
	struct signed_crl *t = &table[n_table++];
	struct pki_crl_entry e[8];

	CHECK(n_table <= sizeof(table) / sizeof(table[0]) && n_e <= 8);
	for (size_t i = 0; i < n_e; i++) {
		e[i].serial = serial_pool[i];
		e[i].serial_len = i % 4 == 3 ? 3 : i % 2 + 1;
		e[i].revoked_at = now - 30 - (int64_t)i;
	}
	t->signer = c;
	memcpy(t->num, num, len);
	t->num_len = len;
	t->len = sign_crl(c, t->num, len, e, n_e, t->der, sizeof(t->der));
	CHECK(t->len > 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t five[] = {OURS};
	uint8_t der[PKI_CRL_DER_SIZE(1)];
	size_t len;

	(void)argc;
	(void)argv;
	CHECK(psa_crypto_init() == PSA_SUCCESS);
	pki_set_ca_init(&ca);
	pki_set_ca_init(&twin);
	pki_set_ca_init(&other);
	CHECK(pki_set_ca_make(&ca, "Mesh CA", now - 3600, now + 30 * 86400, put_nothing, NULL) ==
	      0);
	CHECK(pki_set_ca_make(&twin, "Mesh CA", now - 3600, now + 30 * 86400, put_nothing, NULL) ==
	      0);
	CHECK(pki_set_ca_make(&other, "Other CA", now - 3600, now + 30 * 86400, put_nothing,
			      NULL) == 0);
	/* The node trusts our CA and keeps its CRL number 5, as a load would leave it. */
	memset(&m, 0, sizeof(m));
	mbedtls_x509_crt_init(&m.ca);
	mbedtls_x509_crt_init(&m.own);
	mbedtls_x509_crl_init(&m.crl);
	mbedtls_pk_init(&m.key);
	CHECK(mbedtls_x509_crt_parse_der(&m.ca, ca.crt.raw.p, ca.crt.raw.len) == 0);
	len = sign_crl(&ca, five, 1, NULL, 0, der, sizeof(der));
	CHECK(len > 0 && mbedtls_x509_crl_parse_der(&m.crl, der, len) == 0);
	m.has_crl = 1;
	m.loaded = 1;
	memset(m.crl_file, 0xff, sizeof(m.crl_file));
	m.crl_file[0] = 0;
	m.crls_in_file[0] = 1;
	crl_issuer_id(ca.crt.subject_raw.p, ca.crt.subject_raw.len, our_id);
	add(&ca, "", 0, 0);
	add(&ca, "\x04", 1, 1);
	add(&ca, "\x05", 1, 0);
	add(&ca, "\x00\x05", 2, 3);
	add(&ca, "\x06", 1, 2);
	add(&ca, "\x00\x06", 2, 0);
	add(&ca, "\x01\x00", 2, 8);
	add(&ca, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
	    20, 1);
	add(&twin, "\x06", 1, 0);
	add(&twin, "\x01\x00", 2, 4);
	add(&other, "\x06", 1, 1);
	add(&other, "\x05", 1, 0);
	return 0;
}

/* What an accepted CRL must be, checked without crlmesh.c. */
static void check_accepted(const uint8_t *der, size_t len, const uint8_t *num, size_t num_len)
{
	static const uint8_t five[] = {OURS};
	uint8_t again[CRL_NUMBER_MAX];
	size_t again_len;
	mbedtls_x509_crl c;

	mbedtls_x509_crl_init(&c);
	CHECK(mbedtls_x509_crl_parse_der(&c, der, len) == 0 && c.next == NULL);
	CHECK(c.issuer_raw.len == ca.crt.subject_raw.len &&
	      memcmp(c.issuer_raw.p, ca.crt.subject_raw.p, c.issuer_raw.len) == 0);
	CHECK(pki_crl_signed_by(&c, &ca.crt) == 0);
	CHECK(crl_number(&c, again, &again_len) == 0);
	CHECK(again_len == num_len && memcmp(again, num, num_len) == 0);
	CHECK(crl_number_cmp(num, num_len, five, 1) > 0);
	mbedtls_x509_crl_free(&c);
}

static const char *judge(const uint8_t *der, size_t len, const uint8_t *asked)
{
	uint8_t num[CRL_NUMBER_MAX];
	size_t num_len = 99;
	unsigned index = 99;
	const char *why = crl_judge(&m, der, len, asked, &index, num, &num_len);

	if (why != NULL) {
		CHECK(why[0] != '\0');
		return why;
	}
	CHECK(index == 0);
	CHECK(memcmp(asked, our_id, sizeof(our_id)) == 0);
	check_accepted(der, len, num, num_len);
	return NULL;
}

/* Bit 0 set: one of the CRLs signed at start, maybe with a byte flipped, judged. */
static void made(uint8_t mode, const uint8_t *p, size_t n)
{
	const struct signed_crl *c;
	uint8_t der[sizeof(table[0].der)];
	const char *why;

	if (n < 1)
		return;
	c = &table[p[0] % n_table];
	memcpy(der, c->der, c->len);
	if ((mode & 2) && n >= 4) {
		size_t at = ((size_t)p[1] << 8 | p[2]) % c->len;

		der[at] ^= p[3] != 0 ? p[3] : 1;
		(void)judge(der, c->len, our_id);
		return;
	}
	why = judge(der, c->len, our_id);
	if (c->signer == &ca) {
		static const uint8_t five[] = {OURS};
		int newer = crl_number_cmp(c->num, c->num_len, five, 1) > 0;

		CHECK(newer ? why == NULL : why != NULL && strcmp(why, "not newer than ours") == 0);
	} else if (c->signer == &twin) {
		CHECK(why != NULL && strcmp(why, "not signed by one of our CAs") == 0);
	} else {
		CHECK(why != NULL && strcmp(why, "not the issuer asked for") == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		made(data[0], data + 1, size - 1);
		return 0;
	}
	/* A copy of exactly the DER's size: reading past it trips ASan. */
	copy = malloc(size - 1 > 0 ? size - 1 : 1);
	CHECK(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	if ((data[0] & 2) && size - 1 >= FRAME_CRL_ISSUER_ID)
		(void)judge(copy + FRAME_CRL_ISSUER_ID, size - 1 - FRAME_CRL_ISSUER_ID, copy);
	else
		(void)judge(copy, size - 1, our_id);
	free(copy);
	return 0;
}
