/*
 * cmd_pki.c: `tether pki`: make a CA, issue node certificates, show one.
 *
 * Enough for a fleet without OpenSSL on its devices. The work is done by
 * pki/pki.c; this file parses arguments and moves files. Private keys are
 * written 0600 through a temporary file renamed into place, so a key file is
 * never visible half-written or with wider permissions.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/psa_util.h"
#include "mbedtls/x509.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include "base/err.h"
#include "cli/cli.h"
#include "core/frame.h"
#include "core/identity.h"
#include "core/x509_time.h"
#include "pki/pki.h"
#include "cli/cmd_pki.h"

#define EXIT_FAIL EXIT_RUNTIME

#define PKI_HEAP_SIZE (256 * 1024)
#define PKI_FILE_MAX (64 * 1024)
#define PKI_BACKDATE_S 300 /* tolerate this much clock skew between nodes */
#define PKI_DAY_S 86400

/* mbedTLS's heap for this command (MBEDTLS_MEMORY_BUFFER_ALLOC_C). */
static unsigned char pki_heap[PKI_HEAP_SIZE];
/* File contents being parsed; may hold a private key, so it is wiped after use. */
static unsigned char pki_file[PKI_FILE_MAX];

static const char usage_pki[] =
	"usage: tether pki <command> [options]\n"
	"\n"
	"commands:\n"
	"  ca     create a certificate authority (key and self-signed certificate)\n"
	"  issue  create a node key and a certificate signed by a CA\n"
	"  show   print a certificate's identity, validity and SPKI pin\n"
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

static const char usage_show[] =
	"usage: tether pki show FILE\n"
	"\n"
	"Prints subject, issuer, SANs, serial, validity, days left and the SPKI pin\n"
	"(\"sha256/...\", the form a peer's \"pin\" takes in the config) of each\n"
	"certificate in the PEM or DER file.\n";

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

/*
 * Writes data to path with exactly the given mode: a fresh temporary file,
 * fchmod before any byte is written, then rename over path (replacing an
 * existing file is allowed).
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

/* Reads path into pki_file, NUL terminated; *len excludes the NUL. */
static int read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "tether pki: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(pki_file, 1, sizeof(pki_file), f);
	if (ferror(f) || n == sizeof(pki_file)) {
		fprintf(stderr, "tether pki: cannot read %s: %s\n", path,
			ferror(f) ? "read error" : "file too large");
		fclose(f);
		mbedtls_platform_zeroize(pki_file, sizeof(pki_file));
		return -1;
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

	if (read_file(path, &len) != 0)
		return -1;
	/* PEM parsing wants the NUL counted; DER must not have it. */
	if (strstr((const char *)pki_file, "-----BEGIN ") != NULL)
		len++;
	ret = mbedtls_x509_crt_parse(crt, pki_file, len);
	if (ret != 0) {
		fprintf(stderr, "tether pki: %s: %s\n", path,
			ret > 0 ? "some certificates could not be parsed" : "not a certificate");
		return -1;
	}
	return 0;
}

static int load_key(const char *path, mbedtls_pk_context *pk)
{
	size_t len;
	int ret;

	if (read_file(path, &len) != 0)
		return -1;
	ret = mbedtls_pk_parse_key(pk, pki_file, len + 1, NULL, 0, mbedtls_psa_get_random,
				   MBEDTLS_PSA_RANDOM_STATE);
	mbedtls_platform_zeroize(pki_file, sizeof(pki_file));
	if (ret != 0) {
		fprintf(stderr, "tether pki: %s: not an unencrypted private key\n", path);
		return -1;
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

static int cmd_show(int argc, char **argv)
{
	mbedtls_x509_crt chain;
	const mbedtls_x509_crt *c;
	int64_t now = (int64_t)time(NULL);
	int rc = EXIT_FAIL;

	if (argc != 2)
		return usage_error(usage_show, "%s", "expected one FILE");
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
