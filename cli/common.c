/* common.c: what run, check and demo share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/platform_util.h>
#include <psa/crypto.h>

#include "cli/cli.h"

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
		fprintf(stderr, "tether %s: unexpected argument \"%s\"\n%s", argv[0], argv[i],
			usage);
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
			fprintf(stderr, "tether: %s: %s: %s\n", path, errs.e[i].path,
				errs.e[i].message);
		else
			fprintf(stderr, "tether: %s: %s\n", path, errs.e[i].message);
	}
	if (errs.count > shown)
		fprintf(stderr, "tether: %s: ... and %u more problems\n", path, errs.count - shown);
	return errs.count > 0 ? errs.count : 1;
}

static unsigned char *heap;
static size_t heap_size;

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
