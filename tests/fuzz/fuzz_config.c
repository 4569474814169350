/*
 * fuzz_config.c: libFuzzer target for the config loader.
 *
 * Any input must give either a config or a list of errors, never a crash, a
 * leak or an error message that is not NUL-terminated within its field.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"
#include "base/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large: kept out of the stack. */
static struct tether_config cfg;
static struct config_errors errs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc = config_parse((const char *)data, size, "base", &cfg, &errs);

	if ((rc == 0) != (errs.count == 0))
		__builtin_trap();
	for (unsigned i = 0; i < errs.count && i < sizeof(errs.e) / sizeof(errs.e[0]); i++) {
		if (memchr(errs.e[i].path, '\0', sizeof(errs.e[i].path)) == NULL ||
		    memchr(errs.e[i].message, '\0', sizeof(errs.e[i].message)) == NULL)
			__builtin_trap();
	}
	if (rc == 0 && (cfg.node[0] == '\0' || cfg.identity.cert[0] == '\0'))
		__builtin_trap();
	return 0;
}
