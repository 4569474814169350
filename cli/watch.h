/*
 * watch.h: the file check behind `reload.watch_s`: every so often, hash the
 * config file and every file it names (certificate, key, CA, CRLs); a
 * changed hash asks for a reload. Contents are compared, not times, so a
 * file rewritten with the same bytes is no change and a change within the
 * same second is still seen. A failed reload is not retried until the files
 * change again: the hash it failed on is remembered.
 */
#ifndef TETHER_CLI_WATCH_H
#define TETHER_CLI_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/settings.h"

struct watch {
	uint8_t digest[32]; /* of the files as last seen */
	uint64_t every_ms;  /* 0: off */
	uint64_t next_ms;   /* the `now` of the next check */
};

#if TETHER_RELOAD
/*
 * watch_init: remember the files of cfg (loaded from path) as they are now;
 * the first check is every_s from now (0: never). Uses PSA's SHA-256:
 * psa_crypto_init() first.
 */
void watch_init(struct watch *w, const char *path, const struct tether_config *cfg,
		uint32_t every_s, uint64_t now);

/* The longest the loop may wait before watch_check() is due; -1: never. */
int watch_wait_ms(const struct watch *w, uint64_t now);

/*
 * watch_check: if a check is due, hash the files again; true if they changed
 * since the last check (the new state is remembered either way).
 */
bool watch_check(struct watch *w, const char *path, const struct tether_config *cfg, uint64_t now);

/* After a reload: the files as they are now, checked every every_s from now. */
void watch_rearm(struct watch *w, const char *path, const struct tether_config *cfg,
		 uint32_t every_s, uint64_t now);

#else
/* Built without reloading (TETHER_RELOAD=0): nothing to watch. */
static inline void watch_init(struct watch *w, const char *path, const struct tether_config *cfg,
			      uint32_t every_s, uint64_t now)
{
	(void)path;
	(void)cfg;
	(void)every_s;
	(void)now;
	w->every_ms = 0;
}
static inline int watch_wait_ms(const struct watch *w, uint64_t now)
{
	(void)w;
	(void)now;
	return -1;
}
static inline bool watch_check(struct watch *w, const char *path, const struct tether_config *cfg,
			       uint64_t now)
{
	(void)w;
	(void)path;
	(void)cfg;
	(void)now;
	return false;
}
static inline void watch_rearm(struct watch *w, const char *path, const struct tether_config *cfg,
			       uint32_t every_s, uint64_t now)
{
	watch_init(w, path, cfg, every_s, now);
}
#endif

#endif
