/*
 * pki_set.c: a CA and node certificates and keys, each PEM handed to a
 * callback (pki_set.h).
 *
 * The order of random draws is the one the simulation's fixed-seed runs were
 * made with: the CA's key, then its certificate; per node, its key, then its
 * certificate. Writing a key's PEM draws nothing, so it comes last, right
 * before put(), and the buffer is wiped right after.
 */
#include <string.h>

#include "mbedtls/platform_util.h"
#include "mbedtls/x509.h"

#include "base/err.h"
#include "pki/pki.h"
#include "pki/pki_set.h"

/*
 * Static, not on the stack: the cortex-m4 image runs this on an 8 KB stack.
 * A node's certificate with the longest CNs and URI SAN is about 1.2 KB of
 * PEM (test_pki.c's test_set_longest checks it fits); pki_set issues no DNS
 * SAN, so PKI_CERT_PEM_MAX's room for one is not needed here.
 */
#define PKI_SET_CERT_MAX 2048
static unsigned char cert_pem[PKI_SET_CERT_MAX];
static unsigned char key_pem[PKI_KEY_PEM_MAX];

static int put_pem(pki_set_put_fn *put, void *ctx, const char *name, const char *kind,
		   const unsigned char *pem)
{
	int ret = put(ctx, name, kind, pem, strlen((const char *)pem));

	return ret > 0 ? TETHER_ERR_IO : ret;
}

void pki_set_ca_init(struct pki_set_ca *ca)
{
	mbedtls_pk_init(&ca->key);
	mbedtls_x509_crt_init(&ca->crt);
}

void pki_set_ca_free(struct pki_set_ca *ca)
{
	if (ca == NULL)
		return;
	mbedtls_pk_free(&ca->key);
	mbedtls_x509_crt_free(&ca->crt);
	pki_set_ca_init(ca);
}

int pki_set_ca_make(struct pki_set_ca *ca, const char *cn, int64_t not_before, int64_t not_after,
		    pki_set_put_fn *put, void *ctx)
{
	struct pki_cert_spec spec;
	int ret;

	/* A CA already made keeps its key: pki_key_generate() would free it. */
	if (ca == NULL || put == NULL || mbedtls_pk_get_type(&ca->key) != MBEDTLS_PK_NONE ||
	    ca->crt.raw.p != NULL)
		return TETHER_ERR_INVALID;
	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.is_ca = 1;
	spec.not_before = not_before;
	spec.not_after = not_after;
	ret = pki_key_generate(&ca->key);
	if (ret == 0)
		ret = pki_cert_write_pem(&spec, &ca->key, NULL, &ca->key, cert_pem,
					 sizeof(cert_pem));
	if (ret == 0) {
		ret = mbedtls_x509_crt_parse(&ca->crt, cert_pem, strlen((char *)cert_pem) + 1);
		if (ret != 0)
			ret = ret == MBEDTLS_ERR_X509_ALLOC_FAILED ? TETHER_ERR_NOMEM
								   : TETHER_ERR_TLS;
	}
	if (ret == 0)
		ret = put_pem(put, ctx, NULL, "crt", cert_pem);
	if (ret != 0)
		pki_set_ca_free(ca);
	return ret;
}

int pki_set_issue(struct pki_set_ca *ca, const char *name, const char *uri_san, int64_t not_before,
		  int64_t not_after, pki_set_put_fn *put, void *ctx)
{
	struct pki_cert_spec spec;
	mbedtls_pk_context key;
	int ret;

	if (ca == NULL || ca->crt.raw.p == NULL || name == NULL || put == NULL)
		return TETHER_ERR_INVALID;
	memset(&spec, 0, sizeof(spec));
	spec.cn = name;
	spec.uri_san = uri_san;
	spec.not_before = not_before;
	spec.not_after = not_after;
	mbedtls_pk_init(&key);
	ret = pki_key_generate(&key);
	if (ret == 0)
		ret = pki_cert_write_pem(&spec, &key, &ca->crt, &ca->key, cert_pem,
					 sizeof(cert_pem));
	if (ret == 0)
		ret = put_pem(put, ctx, name, "crt", cert_pem);
	if (ret == 0)
		ret = pki_key_write_pem(&key, key_pem, sizeof(key_pem));
	mbedtls_pk_free(&key);
	if (ret == 0)
		ret = put_pem(put, ctx, name, "key", key_pem);
	mbedtls_platform_zeroize(key_pem, sizeof(key_pem));
	return ret;
}

int pki_set_make(const struct pki_set_spec *spec, pki_set_put_fn *put, void *ctx)
{
	struct pki_set_ca ca;
	size_t i;
	int ret;

	if (spec == NULL || put == NULL || (spec->nodes == NULL && spec->n_nodes > 0))
		return TETHER_ERR_INVALID;
	pki_set_ca_init(&ca);
	ret = pki_set_ca_make(&ca, spec->ca_cn, spec->not_before, spec->not_after, put, ctx);
	for (i = 0; ret == 0 && i < spec->n_nodes; i++)
		ret = pki_set_issue(&ca, spec->nodes[i].name, spec->nodes[i].uri_san,
				    spec->not_before, spec->not_after, put, ctx);
	pki_set_ca_free(&ca);
	return ret;
}
