/*
 * config.h: the config loader: JSON text or file -> struct tether_config.
 *
 * config_load() is the only place that sees JSON (cJSON); it fills a struct
 * tether_config (core/settings.h, owned by core) and lets the tree go.
 * Everything else reads that struct.
 */
#ifndef TETHER_CONFIG_H
#define TETHER_CONFIG_H

#include <stddef.h>

#include "core/settings.h"

/* One problem found in a config: where (JSON path) and what. */
struct config_error {
	char path[128];	   /* e.g. "peers.core-01.connect"; "" for the file itself */
	char message[192]; /* e.g. "expected \"host:port\"" */
};

struct config_errors {
	unsigned count; /* problems found (may exceed the array: only the first 32 are kept) */
	struct config_error e[32];
};

/*
 * config_defaults: fill cfg with the board's secure defaults and no node,
 * identity, peers, services or forwards.
 */
void config_defaults(struct tether_config *cfg);

/*
 * config_parse: parse JSON text (len bytes, need not be NUL-terminated) into
 * cfg, starting from config_defaults(). Relative file paths ("identity",
 * "status") are joined with base_dir ("" or NULL = as given). errs is cleared
 * first, then every problem is appended to it (all of them, not just the
 * first); errs may be NULL when only the verdict matters. Returns 0 if there
 * were none, TETHER_ERR_CONFIG otherwise (TETHER_ERR_NOMEM if memory ran
 * out); on failure cfg holds whatever was valid and MUST NOT be used.
 * Uses malloc only while parsing; nothing is kept.
 */
int config_parse(const char *json, size_t len, const char *base_dir, struct tether_config *cfg,
		 struct config_errors *errs);

/*
 * config_load: read the file at path and config_parse() it with the file's
 * folder as base_dir. A file that cannot be read gives one error with path ""
 * naming the file and the reason, and returns TETHER_ERR_FILE; otherwise
 * returns as config_parse().
 */
int config_load(const char *path, struct tether_config *cfg, struct config_errors *errs);

/*
 * config_reserve: from now on parse within mem (len bytes) instead of calling
 * malloc: a bump arena that starts over with every config_parse() or
 * config_load(), so a running agent can reload without allocating. A config
 * that does not fit is refused with a sentence saying so. mem NULL goes back
 * to malloc. Process-wide (cJSON's hooks are): call it before any parse runs,
 * from the one thread that parses.
 * config_reserve_size: a reserve generous for a config file of file_len bytes.
 */
void config_reserve(void *mem, size_t len);
size_t config_reserve_size(size_t file_len);

/* Index of the peer named name, or -1. */
int config_peer_index(const struct tether_config *cfg, const char *name);

#endif
