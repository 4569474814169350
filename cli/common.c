/* common.c: what the commands share. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/platform_util.h>
#include <psa/crypto.h>

#include "cli/cli.h"
#include "core/identity.h"
#include "core/textbuf.h"

const char *cli_esc(const char *s)
{
	/* A message of 512 bytes may grow fourfold; eight for one printf's arguments. */
	static char ring[8][4 * 512 + 4];
	static unsigned next;
	char *out = ring[next++ % 8];

	return tb_text(out, sizeof(ring[0]), s);
}

int cli_config_arg(int argc, char **argv, const char *usage, const char **path)
{
	int i;

	*path = TETHER_DEFAULT_CONFIG;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 1;
		}
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			*path = argv[++i];
			continue;
		}
		fprintf(stderr, "tether %s: unexpected argument \"%s\"\n%s", argv[0],
			cli_esc(argv[i]), usage);
		return EXIT_USAGE;
	}
	return 0;
}

unsigned cli_load_config(const char *path, struct tether_config *cfg)
{
	static struct config_errors errs;
	unsigned i, shown;

	memset(&errs, 0, sizeof(errs));
	if (config_load(path, cfg, &errs) == 0)
		return 0;
	shown = errs.count < sizeof(errs.e) / sizeof(errs.e[0])
			? errs.count
			: sizeof(errs.e) / sizeof(errs.e[0]);
	for (i = 0; i < shown; i++) {
		if (errs.e[i].path[0] != '\0')
			fprintf(stderr, "tether: %s: %s: %s\n", cli_esc(path), errs.e[i].path,
				errs.e[i].message);
		else
			fprintf(stderr, "tether: %s: %s\n", cli_esc(path), errs.e[i].message);
	}
	/* The config's paths and messages quote the file's text escaped already (clip_append). */
	if (errs.count > shown)
		fprintf(stderr, "tether: %s: ... and %u more problems\n", cli_esc(path),
			errs.count - shown);
	return errs.count > 0 ? errs.count : 1;
}

static unsigned char *heap;
static size_t heap_size;

/*
 * mbedTLS's buffer allocator zeroes its whole region when it starts and then
 * writes one block header at its start. Give the zeroed pages back to the
 * kernel (they read as zeroes again, untouched, when next used): the heap
 * then takes memory as handshakes and sessions use it, lowest addresses
 * first, instead of all of its reservation for the life of the process.
 */
static void heap_untouch(unsigned char *buf, size_t len)
{
#ifdef MADV_DONTNEED
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t lo, hi;

	if (page <= 0)
		return;
	/* Keep the allocator's first header (a few dozen bytes at the start, aligned). */
	lo = ((uintptr_t)buf + 256u + (uintptr_t)page - 1u) & ~((uintptr_t)page - 1u);
	hi = ((uintptr_t)buf + len) & ~((uintptr_t)page - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
#else
	(void)buf;
	(void)len;
#endif
}

int cli_crypto_init(size_t heap_len)
{
	psa_status_t st;

	heap = malloc(heap_len);
	if (heap == NULL) {
		fprintf(stderr, "tether: cannot allocate %zu bytes for TLS\n", heap_len);
		return -1;
	}
	heap_size = heap_len;
	mbedtls_memory_buffer_alloc_init(heap, heap_len);
	heap_untouch(heap, heap_len);
	st = psa_crypto_init();
	if (st != PSA_SUCCESS) {
		fprintf(stderr, "tether: crypto start-up failed (psa %d): no entropy source?\n",
			(int)st);
		cli_crypto_done();
		return -1;
	}
	return 0;
}

void cli_crypto_done(void)
{
	if (heap == NULL)
		return;
	mbedtls_psa_crypto_free();
	mbedtls_memory_buffer_alloc_free();
	mbedtls_platform_zeroize(heap, heap_size);
	free(heap);
	heap = NULL;
}

static void print_label(const struct cli_cert_layout *l, const char *label)
{
	printf("%*s%-*s", l->indent, "", l->width, label);
}

/* identity_each_san() callback; ctx is the layout. */
static int print_san(void *ctx, int type, const unsigned char *p, size_t len)
{
	const struct cli_cert_layout *l = ctx;
	size_t i;

	if (type == MBEDTLS_X509_SAN_IP_ADDRESS && len == 4 && l->ip != NULL) {
		print_label(l, l->ip);
		printf("%u.%u.%u.%u\n", p[0], p[1], p[2], p[3]);
		return 0;
	}
	if (type == MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER && l->uri != NULL)
		print_label(l, l->uri);
	else if (type == MBEDTLS_X509_SAN_DNS_NAME && l->dns != NULL)
		print_label(l, l->dns);
	else
		return 0;
	for (i = 0; i < len; i++) {
		char tmp[8];
		const char *e = tb_escape(p[i], false, tmp);

		if (e != NULL)
			fputs(e, stdout);
		else
			putchar(p[i]);
	}
	putchar('\n');
	return 0;
}

void cli_print_sans(const mbedtls_x509_crt *crt, const struct cli_cert_layout *layout)
{
	identity_each_san(crt, print_san, (void *)layout);
}

void cli_print_time(const struct cli_cert_layout *layout, const char *label,
		    const mbedtls_x509_time *t)
{
	print_label(layout, label);
	printf("%04d-%02d-%02d %02d:%02d:%02d UTC", t->year, t->mon, t->day, t->hour, t->min,
	       t->sec);
}
