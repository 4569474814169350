/*
 * cmd_pki.c: `tether pki`: make a CA, issue node certificates, revoke them
 * in the CA's CRL, show a certificate or a CRL.
 *
 * Enough for a fleet without OpenSSL on its devices. The work is done by
 * pki/pki.c and pki/pki_crl.c; this file parses arguments and moves files.
 * Every file is written through a temporary file that is synced, renamed into
 * place and its folder synced, so it is never visible half-written; private
 * keys are 0600 from their first byte.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/psa_util.h"
#include "mbedtls/x509.h"
#include "mbedtls/x509_crl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include "base/err.h"
#include "cli/cli.h"
#include "core/crlnum.h"
#include "core/frame.h"
#include "core/identity.h"
#include "core/x509_time.h"
#include "pki/pki.h"
#include "pki/pki_crl.h"
#include "cli/cmd_pki.h"

#define EXIT_FAIL EXIT_RUNTIME

#define PKI_HEAP_SIZE (256 * 1024)
#define PKI_FILE_MAX (64 * 1024)
#define PKI_BACKDATE_S 300 /* tolerate this much clock skew between nodes */
#define PKI_DAY_S 86400
/* Most entries a CRL may hold here: its PEM must fit PKI_FILE_MAX to be read back. */
#define PKI_CRL_ENTRIES_MAX 1024
#define PKI_CRL_DAYS 30

/* mbedTLS's heap for this command (MBEDTLS_MEMORY_BUFFER_ALLOC_C). */
static unsigned char pki_heap[PKI_HEAP_SIZE];
/* File contents being parsed; may hold a private key, so it is wiped after use. */
static unsigned char pki_file[PKI_FILE_MAX];
/* A CRL being written (PEM), and its entries, kept off the stack. */
static unsigned char pki_out[PKI_FILE_MAX];
struct crl_item {
	unsigned char serial[PKI_CRL_SERIAL_MAX];
	size_t len;
	int64_t revoked_at;
};
static struct crl_item crl_items[PKI_CRL_ENTRIES_MAX];
static struct pki_crl_entry crl_entries[PKI_CRL_ENTRIES_MAX];

static const char usage_pki[] =
	"usage: tether pki <command> [options]\n"
	"\n"
	"commands:\n"
	"  ca      create a certificate authority (key and self-signed certificate)\n"
	"  issue   create a node key and a certificate signed by a CA\n"
	"  revoke  add a certificate to the CA's CRL (DIR/ca.crl)\n"
	"  crl     re-issue the CA's CRL with a fresh next update\n"
	"  show    print a certificate's identity, validity and SPKI pin, or a CRL\n"
	"\n"
	"Keys are ECDSA P-256. `tether pki <command> --help` for options.\n";

static const char usage_ca[] =
	"usage: tether pki ca --out DIR [--cn NAME] [--days N]\n"
	"\n"
	"Writes DIR/ca.key (mode 0600) and DIR/ca.crt. DIR is created if missing.\n"
	"  --out DIR    where to write (required)\n"
	"  --cn NAME    the CA's common name (default \"tether CA\")\n"
	"  --days N     validity in days (default 3650)\n";

static const char usage_issue[] =
	"usage: tether pki issue --ca DIR --name NAME --out DIR [--uri URI] [--dns NAME]\n"
	"                        [--cn CN] [--days N] [--not-before UNIX] [--not-after UNIX]\n"
	"\n"
	"Writes DIR/NAME.key (mode 0600) and DIR/NAME.crt signed by DIR/ca.{crt,key}.\n"
	"  --ca DIR           the CA's folder, holding ca.crt and ca.key (required)\n"
	"  --name NAME        node name: file names and default CN, [A-Za-z0-9._-]{1,63} "
	"(required)\n"
	"  --out DIR          where to write (required; created if missing)\n"
	"  --uri URI          add a URI subjectAltName (e.g. spiffe://plant.example/gw-01)\n"
	"  --dns NAME         add a DNS subjectAltName\n"
	"  --cn CN            subject common name (default NAME)\n"
	"  --days N           validity in days from now (default 365)\n"
	"  --not-before UNIX  start of validity, Unix seconds (default now - 5 minutes)\n"
	"  --not-after UNIX   end of validity, Unix seconds (default not-before + days)\n";

static const char usage_revoke[] =
	"usage: tether pki revoke --ca DIR --cert FILE [--days N]\n"
	"\n"
	"Adds FILE's serial to DIR/ca.crl (created if missing), signed by DIR/ca.{crt,key}.\n"
	"Entries already there are kept, the CRL number goes up by one, and the CRL is\n"
	"valid until its next update; re-issue it before then (`tether pki crl`).\n"
	"  --ca DIR     the CA's folder, holding ca.crt and ca.key (required)\n"
	"  --cert FILE  the certificate to revoke; DIR/ca.crt must have issued it (required)\n"
	"  --days N     next update in days from now (default 30)\n";

static const char usage_crl[] =
	"usage: tether pki crl --ca DIR [--days N]\n"
	"\n"
	"Re-issues DIR/ca.crl, signed by DIR/ca.{crt,key}, with the same entries, the\n"
	"next CRL number and a fresh next update; writes an empty CRL numbered 1 if\n"
	"there is none yet.\n"
	"  --ca DIR     the CA's folder, holding ca.crt and ca.key (required)\n"
	"  --days N     next update in days from now (default 30)\n";

static const char usage_show[] =
	"usage: tether pki show FILE\n"
	"\n"
	"Prints subject, issuer, SANs, serial, validity, days left and the SPKI pin\n"
	"(\"sha256/...\", the form a peer's \"pin\" takes in the config) of each\n"
	"certificate in the PEM or DER file; for a CRL, its issuer, CRL number,\n"
	"this and next update and the revoked serials (the signature is not checked).\n";

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "tether pki: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage);
	return EXIT_USAGE;
}

static int wants_help(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/*
 * Matches argv[*i] against "--name VALUE" or "--name=VALUE". Returns 1 and
 * sets *val (advancing *i past a separate value), 0 if it is another option,
 * -1 if the value is missing.
 */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A node name (core's rule) that also makes a plain file name: no leading '.'. */
static int name_ok(const char *s)
{
	return s[0] != '.' && frame_name_valid_str(s);
}

/* A SAN given on the command line: present, and one pki/pki.c accepts. */
static int san_ok(const char *s)
{
	return s[0] != '\0' && pki_san_ok(s);
}

static int join(char *out, size_t cap, const char *dir, const char *file)
{
	int n = snprintf(out, cap, "%s/%s", dir, file);

	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "tether pki: path too long: %s/%s\n", dir, file);
		return -1;
	}
	return 0;
}

/* mkdir -p; new folders are 0700 (they hold private keys). */
static int ensure_dir(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i, n = strlen(dir);

	if (n >= sizeof(path)) {
		fprintf(stderr, "tether pki: path too long: %s\n", dir);
		return -1;
	}
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 &&
		    !(errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
			fprintf(stderr, "tether pki: cannot create folder %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		path[i] = dir[i];
	}
	return 0;
}

/* fsync the folder holding path, so that a rename into it is durable. */
static int sync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, rc;

	if (slash == NULL) {
		memcpy(dir, ".", 2);
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -1;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Writes data to path with exactly the given mode: a fresh temporary file
 * (path.tmp), fchmod before any byte is written, fsync, then rename over path
 * (replacing an existing file is allowed) and fsync the folder.
 */
static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	const unsigned char *p = data;
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		fprintf(stderr, "tether pki: path too long: %s\n", path);
		return -1;
	}
	if (unlink(tmp) != 0 && errno != ENOENT)
		goto err0;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0600);
	if (fd < 0)
		goto err0;
	if (fchmod(fd, mode) != 0)
		goto err1;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto err1;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto err1;
	if (close(fd) != 0) {
		fd = -1;
		goto err1;
	}
	if (rename(tmp, path) != 0) {
		fd = -1;
		goto err1;
	}
	if (sync_parent(path) != 0) {
		fprintf(stderr, "tether pki: cannot sync the folder of %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;

err1:
	fprintf(stderr, "tether pki: cannot write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
err0:
	fprintf(stderr, "tether pki: cannot write %s: %s\n", path, strerror(errno));
	return -1;
}

/*
 * Reads path into pki_file, NUL terminated; *len excludes the NUL. Returns 0,
 * -2 when the file is not there or too large (bad input), -1 on other errors.
 */
static int read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		int e = errno;

		fprintf(stderr, "tether pki: cannot read %s: %s\n", path, strerror(e));
		return e == ENOENT || e == ENOTDIR ? -2 : -1;
	}
	n = fread(pki_file, 1, sizeof(pki_file), f);
	if (ferror(f) || n == sizeof(pki_file)) {
		int too_large = !ferror(f);

		fprintf(stderr, "tether pki: cannot read %s: %s\n", path,
			too_large ? "file too large" : "read error");
		fclose(f);
		mbedtls_platform_zeroize(pki_file, sizeof(pki_file));
		return too_large ? -2 : -1;
	}
	fclose(f);
	pki_file[n] = '\0';
	*len = n;
	return 0;
}

/* Parses the certificate(s) in path into crt. */
static int load_cert(const char *path, mbedtls_x509_crt *crt)
{
	size_t len;
	int ret;

	if ((ret = read_file(path, &len)) != 0)
		return ret;
	/* PEM parsing wants the NUL counted; DER must not have it. */
	if (strstr((const char *)pki_file, "-----BEGIN ") != NULL)
		len++;
	ret = mbedtls_x509_crt_parse(crt, pki_file, len);
	if (ret != 0) {
		fprintf(stderr, "tether pki: %s: %s\n", path,
			ret > 0 ? "some certificates could not be parsed" : "not a certificate");
		return -2;
	}
	return 0;
}

static int load_key(const char *path, mbedtls_pk_context *pk)
{
	size_t len;
	int ret;

	if ((ret = read_file(path, &len)) != 0)
		return ret;
	ret = mbedtls_pk_parse_key(pk, pki_file, len + 1, NULL, 0, mbedtls_psa_get_random,
				   MBEDTLS_PSA_RANDOM_STATE);
	mbedtls_platform_zeroize(pki_file, sizeof(pki_file));
	if (ret != 0) {
		fprintf(stderr, "tether pki: %s: not an unencrypted private key\n", path);
		return -2;
	}
	return 0;
}

/*
 * Generates a key, has pki/pki.c certify it, and writes DIR/BASE.key (0600)
 * then DIR/BASE.crt (0644).
 */
static int make_pair(const struct pki_cert_spec *spec, const mbedtls_x509_crt *issuer,
		     mbedtls_pk_context *issuer_key, const char *dir, const char *base)
{
	unsigned char key_pem[PKI_KEY_PEM_MAX];
	unsigned char crt_pem[PKI_CERT_PEM_MAX];
	char file[FRAME_NAME_MAX + 8];
	char key_path[PATH_MAX], crt_path[PATH_MAX];
	mbedtls_pk_context pk;
	int ret, rc = -1;

	snprintf(file, sizeof(file), "%s.key", base);
	if (join(key_path, sizeof(key_path), dir, file) != 0)
		return -1;
	snprintf(file, sizeof(file), "%s.crt", base);
	if (join(crt_path, sizeof(crt_path), dir, file) != 0)
		return -1;

	mbedtls_pk_init(&pk);
	ret = pki_key_generate(&pk);
	if (ret == 0)
		ret = pki_key_write_pem(&pk, key_pem, sizeof(key_pem));
	if (ret == 0)
		ret = pki_cert_write_pem(spec, &pk, issuer, issuer != NULL ? issuer_key : NULL,
					 crt_pem, sizeof(crt_pem));
	if (ret == TETHER_ERR_INVALID && issuer != NULL)
		fprintf(stderr, "tether pki: cannot issue: the CA certificate is not a CA, or "
				"its key does not match it\n");
	else if (ret != 0)
		fprintf(stderr, "tether pki: cannot issue: %s\n", tether_err_str(ret));
	if (ret != 0)
		goto out;
	if (write_file(key_path, key_pem, strlen((char *)key_pem), 0600) != 0)
		goto out;
	if (write_file(crt_path, crt_pem, strlen((char *)crt_pem), 0644) != 0)
		goto out;
	printf("wrote %s\nwrote %s\n", key_path, crt_path);
	rc = 0;
out:
	mbedtls_platform_zeroize(key_pem, sizeof(key_pem));
	mbedtls_pk_free(&pk);
	return rc;
}

static int cmd_ca(int argc, char **argv)
{
	const char *out = NULL, *cn = "tether CA", *days_s = NULL;
	int64_t days = 3650, now = (int64_t)time(NULL);
	struct pki_cert_spec spec;
	int i, r;

	for (i = 1; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--out", &out)) ||
		    (r = opt_value(argc, argv, &i, "--cn", &cn)) ||
		    (r = opt_value(argc, argv, &i, "--days", &days_s))) {
			if (r < 0)
				return usage_error(usage_ca, "%s needs a value", argv[i]);
			continue;
		}
		return usage_error(usage_ca, "unexpected argument: %s", argv[i]);
	}
	if (out == NULL || out[0] == '\0')
		return usage_error(usage_ca, "%s", "--out DIR is required");
	if (days_s != NULL && parse_i64(days_s, 1, 100000, &days) != 0)
		return usage_error(usage_ca, "--days: expected 1..100000, got %s", days_s);
	if (!pki_cn_ok(cn))
		return usage_error(usage_ca, "--cn: expected 1..64 printable bytes, got \"%s\"",
				   cn);

	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.is_ca = 1;
	spec.not_before = now - PKI_BACKDATE_S;
	spec.not_after = now + days * PKI_DAY_S;
	if (spec.not_after > PKI_TIME_MAX)
		return usage_error(usage_ca, "--days %s: ends after the year 9999", days_s);
	if (ensure_dir(out) != 0)
		return EXIT_FAIL;
	return make_pair(&spec, NULL, NULL, out, "ca") == 0 ? EXIT_OK : EXIT_FAIL;
}

static int cmd_issue(int argc, char **argv)
{
	const char *ca = NULL, *name = NULL, *out = NULL, *uri = NULL, *dns = NULL, *cn = NULL;
	const char *days_s = NULL, *nb_s = NULL, *na_s = NULL;
	int64_t days = 365, now = (int64_t)time(NULL), nb = 0, na = 0;
	char path[PATH_MAX];
	struct pki_cert_spec spec;
	mbedtls_x509_crt ca_crt;
	mbedtls_pk_context ca_key;
	int i, r, rc = EXIT_FAIL;

	for (i = 1; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--ca", &ca)) ||
		    (r = opt_value(argc, argv, &i, "--name", &name)) ||
		    (r = opt_value(argc, argv, &i, "--out", &out)) ||
		    (r = opt_value(argc, argv, &i, "--uri", &uri)) ||
		    (r = opt_value(argc, argv, &i, "--dns", &dns)) ||
		    (r = opt_value(argc, argv, &i, "--cn", &cn)) ||
		    (r = opt_value(argc, argv, &i, "--days", &days_s)) ||
		    (r = opt_value(argc, argv, &i, "--not-before", &nb_s)) ||
		    (r = opt_value(argc, argv, &i, "--not-after", &na_s))) {
			if (r < 0)
				return usage_error(usage_issue, "%s needs a value", argv[i]);
			continue;
		}
		return usage_error(usage_issue, "unexpected argument: %s", argv[i]);
	}
	if (ca == NULL || ca[0] == '\0')
		return usage_error(usage_issue, "%s", "--ca DIR is required");
	if (out == NULL || out[0] == '\0')
		return usage_error(usage_issue, "%s", "--out DIR is required");
	if (name == NULL)
		return usage_error(usage_issue, "%s", "--name NAME is required");
	if (!name_ok(name))
		return usage_error(usage_issue, "--name: expected [A-Za-z0-9._-]{1,63}, got \"%s\"",
				   name);
	if (cn == NULL)
		cn = name;
	if (!pki_cn_ok(cn))
		return usage_error(usage_issue, "--cn: expected 1..64 printable bytes, got \"%s\"",
				   cn);
	if (uri != NULL && !san_ok(uri))
		return usage_error(usage_issue,
				   "--uri: expected 1..255 ASCII characters, no spaces, got \"%s\"",
				   uri);
	if (dns != NULL && !san_ok(dns))
		return usage_error(usage_issue,
				   "--dns: expected 1..255 ASCII characters, no spaces, got \"%s\"",
				   dns);
	if (days_s != NULL && parse_i64(days_s, 1, 100000, &days) != 0)
		return usage_error(usage_issue, "--days: expected 1..100000, got %s", days_s);
	if (nb_s != NULL && parse_i64(nb_s, PKI_TIME_MIN, PKI_TIME_MAX, &nb) != 0)
		return usage_error(usage_issue, "--not-before: expected Unix seconds, got %s",
				   nb_s);
	if (na_s != NULL && parse_i64(na_s, PKI_TIME_MIN, PKI_TIME_MAX, &na) != 0)
		return usage_error(usage_issue, "--not-after: expected Unix seconds, got %s", na_s);
	if (nb_s == NULL)
		nb = now - PKI_BACKDATE_S;
	if (na_s == NULL)
		na = (nb_s != NULL ? nb : now) + days * PKI_DAY_S;
	if (na > PKI_TIME_MAX)
		return usage_error(usage_issue, "%s", "validity ends after the year 9999");
	if (nb > na)
		return usage_error(usage_issue, "%s", "--not-before is after --not-after");

	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.uri_san = uri;
	spec.dns_san = dns;
	spec.not_before = nb;
	spec.not_after = na;

	mbedtls_x509_crt_init(&ca_crt);
	mbedtls_pk_init(&ca_key);
	if (join(path, sizeof(path), ca, "ca.crt") != 0 || load_cert(path, &ca_crt) != 0)
		goto out;
	if (join(path, sizeof(path), ca, "ca.key") != 0 || load_key(path, &ca_key) != 0)
		goto out;
	if (ensure_dir(out) != 0)
		goto out;
	if (make_pair(&spec, &ca_crt, &ca_key, out, name) == 0)
		rc = EXIT_OK;
out:
	mbedtls_pk_free(&ca_key);
	mbedtls_x509_crt_free(&ca_crt);
	return rc;
}

/* ---------------------------------------------------------------- CRLs */

/* path's exit code from a load_* result: -2 is the user's input, -1 the machine's. */
static int load_rc(int ret)
{
	return ret == -2 ? EXIT_USAGE : EXIT_FAIL;
}

/* The RFC 4514 text of a name, or "(unprintable)". */
static void dn_text(char *buf, size_t cap, const mbedtls_x509_name *name)
{
	if (mbedtls_x509_dn_gets(buf, cap, name) < 0)
		snprintf(buf, cap, "(unprintable)");
}

/* Same name, as mbedTLS prints it (string types may differ between tools). */
static int same_name(const mbedtls_x509_name *a, const mbedtls_x509_name *b)
{
	char x[512], y[512];

	if (mbedtls_x509_dn_gets(x, sizeof(x), a) < 0 || mbedtls_x509_dn_gets(y, sizeof(y), b) < 0)
		return 0;
	return strcmp(x, y) == 0;
}

/* A CRL Number in decimal (up to 20 octets: 49 digits). */
static void number_text(const uint8_t *num, size_t len, char *out, size_t cap)
{
	uint8_t n[CRL_NUMBER_MAX];
	char digits[64];
	size_t nd = 0, i, lead = 0;

	memcpy(n, num, len);
	while (lead < len && n[lead] == 0)
		lead++;
	while (lead < len && nd < sizeof(digits)) {
		unsigned rem = 0;

		for (i = lead; i < len; i++) {
			unsigned v = rem * 256 + n[i];

			n[i] = (uint8_t)(v / 10);
			rem = v % 10;
		}
		digits[nd++] = (char)('0' + rem);
		while (lead < len && n[lead] == 0)
			lead++;
	}
	if (nd == 0)
		digits[nd++] = '0';
	for (i = 0; i < nd && i + 1 < cap; i++)
		out[i] = digits[nd - 1 - i];
	out[i] = '\0';
}

/* num + 1 in place (big-endian magnitude); -1 if it would pass 20 octets. */
static int number_next(uint8_t num[CRL_NUMBER_MAX], size_t *len)
{
	size_t i = *len;

	while (i-- > 0) {
		if (++num[i] != 0)
			return 0;
	}
	if (*len == CRL_NUMBER_MAX)
		return -1;
	memmove(num + 1, num, *len);
	num[0] = 1;
	(*len)++;
	return 0;
}

static int find_item(size_t n, const unsigned char *serial, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (crl_items[i].len == len && memcmp(crl_items[i].serial, serial, len) == 0)
			return (int)i;
	return -1;
}

/* Parses the CRL(s) in pki_file (len bytes read from path) into crl. */
static int parse_crl(const char *path, size_t len, mbedtls_x509_crl *crl)
{
	int ret;

	if (strstr((const char *)pki_file, "-----BEGIN ") != NULL)
		len++;
	ret = mbedtls_x509_crl_parse(crl, pki_file, len);
	if (ret != 0) {
		fprintf(stderr, "tether pki: %s: not a CRL mbedTLS can read\n", path);
		return -2;
	}
	return 0;
}

/*
 * Reads DIR/ca.crl, if any, into crl_items[0..*n) and its number into num/len
 * (0 if it has no CRL Number). Refuses a CRL that is not this CA's.
 * *exists is 0 when there is no file.
 */
static int read_ca_crl(const char *path, const mbedtls_x509_crt *ca, const char *ca_path, size_t *n,
		       uint8_t num[CRL_NUMBER_MAX], size_t *num_len, int *exists)
{
	mbedtls_x509_crl crl;
	const mbedtls_x509_crl_entry *e;
	struct stat st;
	size_t len, with_ext = 0;
	int ret, rc = -2;

	*n = 0;
	*num_len = 0;
	*exists = 0;
	if (stat(path, &st) != 0 && errno == ENOENT)
		return 0;
	*exists = 1;
	if ((ret = read_file(path, &len)) != 0)
		return ret;
	mbedtls_x509_crl_init(&crl);
	if (parse_crl(path, len, &crl) != 0)
		goto out;
	if (crl.next != NULL) {
		fprintf(stderr, "tether pki: %s: holds more than one CRL\n", path);
		goto out;
	}
	if (pki_crl_signed_by(&crl, ca) != 0) {
		fprintf(stderr,
			"tether pki: %s: not signed by the key of %s (a CRL of another CA?)\n",
			path, ca_path);
		goto out;
	}
	if (!same_name(&crl.issuer, &ca->subject)) {
		fprintf(stderr, "tether pki: %s: its issuer is not the subject of %s\n", path,
			ca_path);
		goto out;
	}
	ret = crl_number(&crl, num, num_len);
	if (ret == TETHER_ERR_INVALID) {
		printf("note: %s had no CRL Number; counted as 0\n", path);
	} else if (ret != 0) {
		fprintf(stderr,
			"tether pki: %s: its CRL Number is malformed (not a DER INTEGER of "
			"0 to 20 octets)\n",
			path);
		goto out;
	}
	for (e = &crl.entry; e != NULL && e->serial.p != NULL; e = e->next) {
		int64_t at;

		if (e->serial.len == 0 || e->serial.len > PKI_CRL_SERIAL_MAX) {
			fprintf(stderr,
				"tether pki: %s: an entry's serial is longer than 20 octets\n",
				path);
			goto out;
		}
		if (x509_time_to_unix(&e->revocation_date, &at) != 0 || at < PKI_TIME_MIN ||
		    at > PKI_TIME_MAX) {
			fprintf(stderr,
				"tether pki: %s: an entry's revocation date is out of range\n",
				path);
			goto out;
		}
		if (find_item(*n, e->serial.p, e->serial.len) >= 0)
			continue; /* listed twice: keep it once */
		if (*n == PKI_CRL_ENTRIES_MAX) {
			fprintf(stderr, "tether pki: %s: more than %d entries\n", path,
				PKI_CRL_ENTRIES_MAX);
			rc = -1;
			goto out;
		}
		memcpy(crl_items[*n].serial, e->serial.p, e->serial.len);
		crl_items[*n].len = e->serial.len;
		crl_items[*n].revoked_at = at;
		(*n)++;
		if (e->entry_ext.len > 0)
			with_ext++;
	}
	if (with_ext > 0)
		printf("note: %s: entry extensions (e.g. reason codes) of %zu entr%s are not "
		       "kept\n",
		       path, with_ext, with_ext == 1 ? "y" : "ies");
	rc = 0;
out:
	mbedtls_x509_crl_free(&crl);
	return rc;
}

/* "YYYY-MM-DD hh:mm:ss UTC" of Unix seconds t (gmtime_r: the CLI runs on an OS). */
static void unix_text(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, cap, "%lld", (long long)t);
}

/*
 * The work of `revoke` (cert != NULL) and `crl` (cert NULL): read DIR's CA and
 * CRL, add cert, write DIR/ca.crl with the next number. Holds an exclusive
 * lock on DIR meanwhile, so two runs cannot lose each other's entries.
 */
static int crl_update(const char *ca_dir, const char *cert_path, int64_t days)
{
	char crt_path[PATH_MAX], key_path[PATH_MAX], crl_path[PATH_MAX], text[512];
	uint8_t num[CRL_NUMBER_MAX];
	size_t num_len = 0, n = 0, i;
	int64_t now = (int64_t)time(NULL);
	struct pki_crl_spec spec;
	mbedtls_x509_crt ca_crt, crt;
	mbedtls_pk_context ca_key;
	int ret, rc = EXIT_USAGE, exists = 0, already = 0, dir_fd;

	if (join(crt_path, sizeof(crt_path), ca_dir, "ca.crt") != 0 ||
	    join(key_path, sizeof(key_path), ca_dir, "ca.key") != 0 ||
	    join(crl_path, sizeof(crl_path), ca_dir, "ca.crl") != 0)
		return EXIT_USAGE;
	dir_fd = open(ca_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		fprintf(stderr, "tether pki: cannot open the CA folder %s: %s\n", ca_dir,
			strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? EXIT_USAGE : EXIT_FAIL;
	}
	if (flock(dir_fd, LOCK_EX) != 0) {
		fprintf(stderr, "tether pki: cannot lock %s: %s\n", ca_dir, strerror(errno));
		close(dir_fd);
		return EXIT_FAIL;
	}
	mbedtls_x509_crt_init(&ca_crt);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&ca_key);

	if ((ret = load_cert(crt_path, &ca_crt)) != 0 || (ret = load_key(key_path, &ca_key)) != 0) {
		rc = load_rc(ret);
		goto out;
	}
	if (mbedtls_pk_check_pair(&ca_crt.pk, &ca_key, mbedtls_psa_get_random,
				  MBEDTLS_PSA_RANDOM_STATE) != 0) {
		fprintf(stderr, "tether pki: %s is not the key of %s\n", key_path, crt_path);
		goto out;
	}
	if (!ca_crt.MBEDTLS_PRIVATE(ca_istrue) ||
	    mbedtls_x509_crt_check_key_usage(&ca_crt, MBEDTLS_X509_KU_CRL_SIGN) != 0) {
		fprintf(stderr,
			"tether pki: %s may not sign CRLs (not a CA, or its keyUsage lacks "
			"cRLSign)\n",
			crt_path);
		goto out;
	}
	if (!mbedtls_pk_can_do(&ca_key, MBEDTLS_PK_ECDSA) ||
	    mbedtls_pk_get_bitlen(&ca_key) != 256) {
		fprintf(stderr,
			"tether pki: %s: not a P-256 key (tether signs CRLs with ECDSA "
			"P-256)\n",
			key_path);
		goto out;
	}

	if (cert_path != NULL) {
		if ((ret = load_cert(cert_path, &crt)) != 0) {
			rc = load_rc(ret);
			goto out;
		}
		if (crt.raw.len == ca_crt.raw.len &&
		    memcmp(crt.raw.p, ca_crt.raw.p, crt.raw.len) == 0) {
			fprintf(stderr, "tether pki: %s is the CA certificate itself\n", cert_path);
			goto out;
		}
		if (pki_crt_signed_by(&crt, &ca_crt) != 0) {
			fprintf(stderr,
				"tether pki: %s was not issued by %s (its signature does not "
				"verify with the CA's key)\n",
				cert_path, crt_path);
			goto out;
		}
		if (!same_name(&crt.issuer, &ca_crt.subject)) {
			fprintf(stderr,
				"tether pki: %s: its issuer name is not the subject of %s\n",
				cert_path, crt_path);
			goto out;
		}
		if (crt.serial.len == 0 || crt.serial.len > PKI_CRL_SERIAL_MAX) {
			fprintf(stderr, "tether pki: %s: its serial is longer than 20 octets\n",
				cert_path);
			goto out;
		}
	}

	if ((ret = read_ca_crl(crl_path, &ca_crt, crt_path, &n, num, &num_len, &exists)) != 0) {
		rc = load_rc(ret);
		goto out;
	}
	if (cert_path != NULL) {
		if (find_item(n, crt.serial.p, crt.serial.len) >= 0) {
			already = 1;
		} else if (n == PKI_CRL_ENTRIES_MAX) {
			fprintf(stderr,
				"tether pki: %s: already holds %d entries, the most it may\n",
				crl_path, PKI_CRL_ENTRIES_MAX);
			rc = EXIT_FAIL;
			goto out;
		} else {
			memcpy(crl_items[n].serial, crt.serial.p, crt.serial.len);
			crl_items[n].len = crt.serial.len;
			crl_items[n].revoked_at = now;
			n++;
		}
	}
	if (!exists)
		num_len = 0; /* the first CRL is number 1 */
	if (number_next(num, &num_len) != 0) {
		fprintf(stderr, "tether pki: %s: its CRL Number is the largest 20 octets hold\n",
			crl_path);
		goto out;
	}

	for (i = 0; i < n; i++) {
		crl_entries[i].serial = crl_items[i].serial;
		crl_entries[i].serial_len = crl_items[i].len;
		crl_entries[i].revoked_at = crl_items[i].revoked_at;
	}
	memset(&spec, 0, sizeof(spec));
	spec.this_update = now - PKI_BACKDATE_S; /* like certificates: tolerate clock skew */
	spec.next_update = now + days * PKI_DAY_S;
	spec.number = num;
	spec.number_len = num_len;
	spec.entries = crl_entries;
	spec.n_entries = n;
	ret = pki_crl_write_pem(&spec, &ca_crt, &ca_key, pki_out, sizeof(pki_out));
	if (ret == TETHER_ERR_INVALID) {
		fprintf(stderr, "tether pki: cannot write %s: a serial is not a DER INTEGER\n",
			crl_path);
		goto out;
	} else if (ret != 0) {
		fprintf(stderr, "tether pki: cannot write %s: %s\n", crl_path, tether_err_str(ret));
		rc = EXIT_FAIL;
		goto out;
	}
	if (write_file(crl_path, pki_out, strlen((char *)pki_out), 0644) != 0) {
		rc = EXIT_FAIL;
		goto out;
	}

	if (cert_path != NULL) {
		char serial[3 * PKI_CRL_SERIAL_MAX + 1];

		if (mbedtls_x509_serial_gets(serial, sizeof(serial), &crt.serial) < 0)
			snprintf(serial, sizeof(serial), "(unprintable)");
		printf("%-13s%s%s\n", "revoked:", serial,
		       already ? " (already on the CRL: kept once, the number still goes up)" : "");
		dn_text(text, sizeof(text), &crt.subject);
		printf("%-13s%s\n", "subject:", text);
	}
	number_text(num, num_len, text, sizeof(text));
	printf("%-13s%s\n", "crl number:", text);
	unix_text(spec.next_update, text, sizeof(text));
	printf("%-13s%s\n", "next update:", text);
	printf("%-13s%zu\n", "entries:", n);
	printf("wrote %s\n", crl_path);
	rc = EXIT_OK;
out:
	mbedtls_pk_free(&ca_key);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca_crt);
	mbedtls_platform_zeroize(crl_items, sizeof(crl_items));
	close(dir_fd); /* releases the lock */
	return rc;
}

static int crl_args(int argc, char **argv, const char *usage, int want_cert, const char **ca,
		    const char **cert, int64_t *days)
{
	const char *days_s = NULL;
	int i, r;

	*ca = NULL;
	*cert = NULL;
	*days = PKI_CRL_DAYS;
	for (i = 1; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--ca", ca)) ||
		    (want_cert && (r = opt_value(argc, argv, &i, "--cert", cert))) ||
		    (r = opt_value(argc, argv, &i, "--days", &days_s))) {
			if (r < 0)
				return usage_error(usage, "%s needs a value", argv[i]);
			continue;
		}
		return usage_error(usage, "unexpected argument: %s", argv[i]);
	}
	if (*ca == NULL || (*ca)[0] == '\0')
		return usage_error(usage, "%s", "--ca DIR is required");
	if (want_cert && (*cert == NULL || (*cert)[0] == '\0'))
		return usage_error(usage, "%s", "--cert FILE is required");
	if (days_s != NULL && parse_i64(days_s, 1, 100000, days) != 0)
		return usage_error(usage, "--days: expected 1..100000, got %s", days_s);
	return 0;
}

static int cmd_revoke(int argc, char **argv)
{
	const char *ca, *cert;
	int64_t days;
	int rc = crl_args(argc, argv, usage_revoke, 1, &ca, &cert, &days);

	return rc != 0 ? rc : crl_update(ca, cert, days);
}

static int cmd_crl(int argc, char **argv)
{
	const char *ca, *cert;
	int64_t days;
	int rc = crl_args(argc, argv, usage_crl, 0, &ca, &cert, &days);

	return rc != 0 ? rc : crl_update(ca, NULL, days);
}

/* "this update: 2027-01-01 00:00:00 UTC" */
static const struct cli_cert_layout crl_layout = {.indent = 0, .width = 13};

static void show_crl(const mbedtls_x509_crl *crl)
{
	const mbedtls_x509_crl_entry *e;
	uint8_t num[CRL_NUMBER_MAX];
	size_t num_len, n = 0;
	char buf[1024];
	int ret;

	dn_text(buf, sizeof(buf), &crl->issuer);
	printf("%-13s%s\n", "crl issuer:", buf);
	ret = crl_number(crl, num, &num_len);
	if (ret == 0)
		number_text(num, num_len, buf, sizeof(buf));
	printf("%-13s%s\n", "crl number:",
	       ret == 0			   ? buf
	       : ret == TETHER_ERR_INVALID ? "none (counts as 0)"
					   : "malformed");
	cli_print_time(&crl_layout, "this update:", &crl->this_update);
	putchar('\n');
	if (crl->next_update.year != 0) {
		cli_print_time(&crl_layout, "next update:", &crl->next_update);
		putchar('\n');
	}
	for (e = &crl->entry; e != NULL && e->serial.p != NULL; e = e->next)
		n++;
	printf("%-13s%zu\n", "revoked:", n);
	for (e = &crl->entry; e != NULL && e->serial.p != NULL; e = e->next) {
		if (mbedtls_x509_serial_gets(buf, sizeof(buf), &e->serial) < 0)
			snprintf(buf, sizeof(buf), "(unprintable)");
		printf("  %s  %04d-%02d-%02d %02d:%02d:%02d UTC\n", buf, e->revocation_date.year,
		       e->revocation_date.mon, e->revocation_date.day, e->revocation_date.hour,
		       e->revocation_date.min, e->revocation_date.sec);
	}
}

/* "uri:        spiffe://...", "not after:  2027-01-01 00:00:00 UTC". */
static const struct cli_cert_layout show_layout = {
	.indent = 0, .width = 12, .uri = "uri:", .dns = "dns:", .ip = "ip:"};

static void show_one(const mbedtls_x509_crt *crt, int64_t now)
{
	char buf[1024];
	uint8_t pin[32];
	int64_t nb, na;

	if (mbedtls_x509_dn_gets(buf, sizeof(buf), &crt->subject) < 0)
		snprintf(buf, sizeof(buf), "(unprintable)");
	printf("%-12s%s\n", "subject:", buf);
	if (mbedtls_x509_dn_gets(buf, sizeof(buf), &crt->issuer) < 0)
		snprintf(buf, sizeof(buf), "(unprintable)");
	printf("%-12s%s\n", "issuer:", buf);
	cli_print_sans(crt, &show_layout);
	if (mbedtls_x509_serial_gets(buf, sizeof(buf), &crt->serial) < 0)
		snprintf(buf, sizeof(buf), "(unprintable)");
	printf("%-12s%s\n", "serial:", buf);
	cli_print_time(&show_layout, "not before:", &crt->valid_from);
	putchar('\n');
	cli_print_time(&show_layout, "not after:", &crt->valid_to);
	putchar('\n');
	if (x509_time_to_unix(&crt->valid_from, &nb) == 0 &&
	    x509_time_to_unix(&crt->valid_to, &na) == 0) {
		/* Floor division, so a certificate that expired an hour ago shows -1. */
		int64_t d = na - now, days = d / PKI_DAY_S - (d % PKI_DAY_S < 0);

		printf("%-12s%lld%s\n", "days left:", (long long)days,
		       now > na	  ? " (expired)"
		       : now < nb ? " (not yet valid)"
				  : "");
	}
	printf("%-12s%s\n", "ca:", crt->MBEDTLS_PRIVATE(ca_istrue) ? "yes" : "no");
	if (identity_spki_sha256(crt, pin) == 0 && identity_pin_format(pin, buf, sizeof(buf)) == 0)
		printf("%-12s%s\n", "pin:", buf);
}

static int show_crls(const char *path)
{
	mbedtls_x509_crl crls;
	const mbedtls_x509_crl *c;
	size_t len;
	int rc = EXIT_FAIL;

	if (read_file(path, &len) != 0)
		return EXIT_FAIL;
	mbedtls_x509_crl_init(&crls);
	if (parse_crl(path, len, &crls) == 0) {
		for (c = &crls; c != NULL && c->raw.p != NULL; c = c->next) {
			if (c != &crls)
				putchar('\n');
			show_crl(c);
		}
		rc = EXIT_OK;
	}
	mbedtls_x509_crl_free(&crls);
	return rc;
}

/* A CRL: PEM saying so, or DER whose outer SEQUENCE mbedTLS reads as one. */
static int is_crl(const char *path)
{
	mbedtls_x509_crl crl;
	size_t len;
	int yes;

	if (read_file(path, &len) != 0)
		return 0;
	if (strstr((const char *)pki_file, "-----BEGIN X509 CRL-----") != NULL)
		return 1;
	if (strstr((const char *)pki_file, "-----BEGIN ") != NULL || len == 0)
		return 0;
	mbedtls_x509_crl_init(&crl);
	yes = mbedtls_x509_crl_parse_der(&crl, pki_file, len) == 0;
	mbedtls_x509_crl_free(&crl);
	return yes;
}

static int cmd_show(int argc, char **argv)
{
	mbedtls_x509_crt chain;
	const mbedtls_x509_crt *c;
	int64_t now = (int64_t)time(NULL);
	int rc = EXIT_FAIL;

	if (argc != 2)
		return usage_error(usage_show, "%s", "expected one FILE");
	if (access(argv[1], R_OK) == 0 && is_crl(argv[1]))
		return show_crls(argv[1]);
	mbedtls_x509_crt_init(&chain);
	if (load_cert(argv[1], &chain) == 0) {
		for (c = &chain; c != NULL && c->raw.p != NULL; c = c->next) {
			if (c != &chain)
				putchar('\n');
			show_one(c, now);
		}
		rc = EXIT_OK;
	}
	mbedtls_x509_crt_free(&chain);
	return rc;
}

static int crypto_begin(void)
{
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
	mbedtls_memory_buffer_alloc_init(pki_heap, sizeof(pki_heap));
#endif
	if (psa_crypto_init() != PSA_SUCCESS) {
		fprintf(stderr, "tether pki: cannot initialise the crypto library\n");
		return -1;
	}
	return 0;
}

/* Keys passed through the heap and the file buffer: wipe both. */
static void crypto_end(void)
{
	mbedtls_psa_crypto_free();
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
	mbedtls_memory_buffer_alloc_free();
#endif
	mbedtls_platform_zeroize(pki_heap, sizeof(pki_heap));
	mbedtls_platform_zeroize(pki_file, sizeof(pki_file));
}

int cmd_pki(int argc, char **argv)
{
	int (*run)(int, char **) = NULL;
	const char *usage = usage_pki;
	int rc;

	if (argc < 2)
		return usage_error(usage_pki, "%s", "missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_pki, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "ca") == 0) {
		run = cmd_ca;
		usage = usage_ca;
	} else if (strcmp(argv[1], "issue") == 0) {
		run = cmd_issue;
		usage = usage_issue;
	} else if (strcmp(argv[1], "revoke") == 0) {
		run = cmd_revoke;
		usage = usage_revoke;
	} else if (strcmp(argv[1], "crl") == 0) {
		run = cmd_crl;
		usage = usage_crl;
	} else if (strcmp(argv[1], "show") == 0) {
		run = cmd_show;
		usage = usage_show;
	} else {
		return usage_error(usage_pki, "unknown command: %s", argv[1]);
	}
	if (wants_help(argc - 1, argv + 1)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (crypto_begin() != 0) {
		crypto_end();
		return EXIT_FAIL;
	}
	rc = run(argc - 1, argv + 1);
	crypto_end();
	return rc;
}
