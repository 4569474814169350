/*
 * fuzz_config.c: libFuzzer target for the config loader, at start-up and on
 * reload.
 *
 * Any input must give either a config or a list of errors, never a crash, a
 * leak or an error message that is not NUL-terminated within its field.
 *
 * Each input is parsed twice, as `tether run` does with a file: once as at
 * start-up (cJSON on malloc, into a fresh config), once as a reload does
 * (cli/cmd_run.c: config_reserve() over an arena sized by
 * config_reserve_size() for the file, parsing into the spare config, which
 * still holds whatever the input before this one left in it). The two must
 * agree exactly: the same verdict, the same errors, and byte for byte the
 * same config, so a reload never sees a file differently from a start.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "base/err.h"
#include "tests/fuzz/fuzz.h"

/* Large: kept out of the stack. */
static struct tether_config cfg, spare;
static struct config_errors errs, spare_errs;
static unsigned char *reserve;
static size_t reserve_len;

static void check_errors(int rc, const struct tether_config *c, const struct config_errors *e)
{
	if ((rc == 0) != (e->count == 0))
		__builtin_trap();
	for (unsigned i = 0; i < e->count && i < sizeof(e->e) / sizeof(e->e[0]); i++) {
		if (memchr(e->e[i].path, '\0', sizeof(e->e[i].path)) == NULL ||
		    memchr(e->e[i].message, '\0', sizeof(e->e[i].message)) == NULL ||
		    e->e[i].message[0] == '\0')
			__builtin_trap();
	}
	if (rc == 0 && (c->node[0] == '\0' || c->identity.cert[0] == '\0'))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t want = config_reserve_size(size);
	int rc, rc2;

	config_reserve(NULL, 0);
	rc = config_parse((const char *)data, size, "base", &cfg, &errs);
	check_errors(rc, &cfg, &errs);

	/* The reload: the arena a running agent reserves for this file, the spare config. */
	if (want > reserve_len) {
		free(reserve);
		reserve = malloc(want);
		CHECK(reserve != NULL);
		reserve_len = want;
	}
	memset(reserve, 0xa5, want);
	config_reserve(reserve, want);
	rc2 = config_parse((const char *)data, size, "base", &spare, &spare_errs);
	config_reserve(NULL, 0);
	check_errors(rc2, &spare, &spare_errs);
	CHECK(rc2 == rc);
	CHECK(memcmp(&spare_errs, &errs, sizeof(errs)) == 0);
	CHECK(memcmp(&spare, &cfg, sizeof(cfg)) == 0);
	return 0;
}
