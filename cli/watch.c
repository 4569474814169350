/* watch.c: the reload file check (watch.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>
#include <psa/crypto.h>

#include "cli/watch.h"

/* Files are hashed a piece at a time: a key passes through here, so it is wiped. */
static unsigned char piece[16384];

/* Add one file to the hash: its name, then its bytes or the fact that it cannot be read. */
static void add_file(psa_hash_operation_t *op, const char *path)
{
	static const uint8_t missing[] = {0xff, 'm', 'i', 's', 's', 'i', 'n', 'g'};
	ssize_t n;
	int fd;

	(void)psa_hash_update(op, (const uint8_t *)path, strlen(path) + 1);
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		(void)psa_hash_update(op, missing, sizeof(missing));
		return;
	}
	for (;;) {
		n = read(fd, piece, sizeof(piece));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		(void)psa_hash_update(op, piece, (size_t)n);
	}
	if (n < 0)
		(void)psa_hash_update(op, missing, sizeof(missing));
	close(fd);
	mbedtls_platform_zeroize(piece, sizeof(piece));
}

static void digest(const char *path, const struct tether_config *cfg, uint8_t out[32])
{
	psa_hash_operation_t op = PSA_HASH_OPERATION_INIT;
	size_t len = 0;
	unsigned i;

	memset(out, 0, 32);
	if (psa_hash_setup(&op, PSA_ALG_SHA_256) != PSA_SUCCESS)
		return;
	add_file(&op, path);
	add_file(&op, cfg->identity.cert);
	add_file(&op, cfg->identity.key);
	add_file(&op, cfg->identity.ca);
	for (i = 0; i < cfg->identity.n_crl; i++)
		add_file(&op, cfg->identity.crl[i]);
	if (psa_hash_finish(&op, out, 32, &len) != PSA_SUCCESS)
		memset(out, 0, 32);
}

void watch_rearm(struct watch *w, const char *path, const struct tether_config *cfg,
		 uint32_t every_s, uint64_t now)
{
	w->every_ms = (uint64_t)every_s * 1000u;
	w->next_ms = now + w->every_ms;
	if (w->every_ms != 0)
		digest(path, cfg, w->digest);
}

void watch_init(struct watch *w, const char *path, const struct tether_config *cfg,
		uint32_t every_s, uint64_t now)
{
	memset(w, 0, sizeof(*w));
	watch_rearm(w, path, cfg, every_s, now);
}

int watch_wait_ms(const struct watch *w, uint64_t now)
{
	if (w->every_ms == 0)
		return -1;
	if (now >= w->next_ms)
		return 0;
	return w->next_ms - now > INT_MAX ? INT_MAX : (int)(w->next_ms - now);
}

bool watch_check(struct watch *w, const char *path, const struct tether_config *cfg, uint64_t now)
{
	uint8_t d[32];

	if (w->every_ms == 0 || now < w->next_ms)
		return false;
	w->next_ms = now + w->every_ms;
	digest(path, cfg, d);
	if (memcmp(d, w->digest, sizeof(d)) == 0)
		return false;
	memcpy(w->digest, d, sizeof(d));
	return true;
}
