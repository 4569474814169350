/*
 * fuzz_material.c: libFuzzer target for the PEM and DER material a node
 * loads (certificate, key, CA bundle, CRLs), through the node's own load
 * function tls_material_load() (core/tls.c, what tls_ctx_load() at start and
 * every reload call) reading files from port/mem's in-memory table, then
 * tls_material_check() (what `tether check`, `tether run` and a reload
 * refuse).
 *
 * The input is a flags byte, then the files' contents separated by the line
 * "%%\n": the CA bundle, the certificate, the key, then zero, one or two CRL
 * files. Bit 0 of the flags makes the key file readable by others (which the
 * loader MUST refuse before reading it); the other bits move the check's
 * clock.
 *
 * Checked besides "no crash, no sanitizer report, no leak": a failure leaves
 * the material unloaded and says, in one NUL-terminated sentence, which
 * config key and file it concerns; a key readable by others is always
 * refused; a success has a P-256 certificate with a key that matches it, a
 * CRL chain exactly when CRL files were given, and each CRL's file index
 * among them; the scratch buffer that held the key file is wiped (all of it
 * on failure; on success past the CRL file read after the key); every
 * problem the check reports names identity.cert or identity.ca with words.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mbedtls/pk.h"
#include "psa/crypto.h"

#include "base/err.h"
#include "core/settings.h"
#include "core/tls.h"
#include "port/mem/port_mem.h"
#include "tests/fuzz/fuzz.h"

#define SEP "%%\n"
#define PARTS 5

static unsigned char scratch[TETHER_FILE_MAX];
static struct tls_material m;
static struct tether_identity_cfg id;
static unsigned problems;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(psa_crypto_init() == PSA_SUCCESS);
	return 0;
}

static void on_problem(void *ctx, const char *path, const char *what)
{
	(void)ctx;
	CHECK(strcmp(path, "identity.cert") == 0 || strcmp(path, "identity.ca") == 0);
	CHECK(what != NULL && what[0] != '\0' && strlen(what) < 256);
	problems++;
}

/* The separator in [p, end), or NULL. */
static const uint8_t *find_sep(const uint8_t *p, const uint8_t *end)
{
	for (; end - p >= 3; p++)
		if (memcmp(p, SEP, 3) == 0)
			return p;
	return NULL;
}

static unsigned crls_in(const mbedtls_x509_crl *c)
{
	unsigned n = 0;

	for (; c != NULL && c->raw.p != NULL; c = c->next)
		n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[PARTS] = {"ca.pem", "node.crt", "node.key", "a.crl",
						 "b.crl"};
	static const char *const keys[PARTS] = {"identity.ca", "identity.cert", "identity.key",
						"identity.crl", "identity.crl"};
	const uint8_t *part[PARTS], *p, *end;
	size_t len[PARTS];
	unsigned n = 0, i;
	char err[256];
	uint8_t flags;
	int ret;

	if (size < 1)
		return 0;
	flags = data[0];
	p = data + 1;
	end = data + size;
	/* Split at the separator; the last part takes the rest. */
	while (n < PARTS) {
		const uint8_t *s = n + 1 < PARTS ? find_sep(p, end) : NULL;

		part[n] = p;
		len[n] = s != NULL ? (size_t)(s - p) : (size_t)(end - p);
		n++;
		if (s == NULL)
			break;
		p = s + 3;
	}
	port_mem_reset();
	memset(&id, 0, sizeof(id));
	strcpy(id.ca, paths[0]);
	strcpy(id.cert, paths[1]);
	strcpy(id.key, paths[2]);
	id.n_crl = n > 3 ? n - 3 : 0;
	for (i = 0; i < id.n_crl; i++)
		strcpy(id.crl[i], paths[3 + i]);
	/* A file not given at all is missing (the loader must say so). */
	for (i = 0; i < n; i++)
		CHECK(port_mem_file_add(paths[i], part[i], len[i],
					i == 2 && (flags & 1) ? 0644u : 0600u) == 0);

	memset(err, 0x55, sizeof(err));
	err[0] = '\0';
	ret = tls_material_load(&m, &id, NULL, scratch, sizeof(scratch), err, sizeof(err));
	/*
	 * The scratch buffer held the key: it is wiped, on failure whole, on
	 * success as far as the key's bytes (and the NUL after them) reached,
	 * save what the CRL file read after the key overwrote (not a secret).
	 * Bytes past the key left by the certificate and CA files read before
	 * it are public and need no wipe.
	 */
	{
		size_t from = ret == 0 && n > 3 ? len[n - 1] + 1 : 0;
		size_t to = ret == 0 ? (n > 2 ? len[2] + 1 : 0) : sizeof(scratch);

		if (to > sizeof(scratch))
			to = sizeof(scratch);
		for (size_t k = from; k < to; k++)
			CHECK(scratch[k] == 0);
	}
	if (ret < 0) {
		size_t k;

		CHECK(!m.loaded);
		CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		for (k = 0; k < PARTS; k++)
			if (strncmp(err, keys[k], strlen(keys[k])) == 0 &&
			    strstr(err, paths[k]) != NULL)
				break;
		CHECK(k < PARTS);
		return 0;
	}
	CHECK(ret == 0 && m.loaded);
	CHECK(n >= 3 && !(flags & 1));
	CHECK(mbedtls_pk_can_do(&m.own.pk, MBEDTLS_PK_ECKEY));
	CHECK(mbedtls_pk_get_type(&m.key) == MBEDTLS_PK_ECKEY);
	CHECK(m.ca.raw.p != NULL && m.own.raw.p != NULL);
	CHECK((m.has_crl != 0) == (id.n_crl > 0));
	if (m.has_crl) {
		unsigned total = crls_in(&m.crl), sum = 0;

		for (i = 0; i < id.n_crl; i++)
			sum += m.crls_in_file[i];
		CHECK(total >= id.n_crl && (total > 255 || sum == total));
		for (i = 0; i < total && i < TLS_CRLS_MAX; i++)
			CHECK(m.crl_file[i] < id.n_crl);
	}
	problems = 0;
	CHECK(tls_material_check(&m, PORT_MEM_WALL_START + (int64_t)(flags >> 1) * 86400 * 30,
				 on_problem, NULL) == problems);
	tls_material_free(&m);
	CHECK(!m.loaded);
	return 0;
}
