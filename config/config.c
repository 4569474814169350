/*
 * config.c: the JSON config loader (see config.h and the "Config" section of
 * DESIGN.md).
 *
 * cJSON parses the whole text once; one walk over the tree fills struct
 * tether_config and collects every problem with its JSON path; then the tree
 * is freed. The walk never stops at the first problem: a bad value is
 * reported and skipped, so `tether check` can list everything at once.
 * Sections are walked in dependency order (node, then peers, then what
 * names peers) whatever their order in the file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_CLOEXEC */
#endif
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log_level.h"
#include "cJSON.h"
#include "config/config_syntax.h"
#include "core/frame.h"
#include "core/identity.h"
#include "core/textbuf.h"

/* Bounds on values the config may set; the board's defaults lie within them. */
#define HANDSHAKE_TIMEOUT_MIN_MS 100u
#define HANDSHAKE_TIMEOUT_MAX_MS 600000u
#define SESSION_LIFETIME_MIN_S 1u
#define SESSION_LIFETIME_MAX_S 31536000u
#define DRAIN_MAX_S 604800u /* a week */
#define WARN_DAYS_MAX 3650u
#define WATCH_MAX_S 86400u
#define ISSUE_DAYS_MAX 3650u
#define KEEPALIVE_MIN_MS 100u
#define KEEPALIVE_INTERVAL_MAX_MS 3600000u
#define KEEPALIVE_TIMEOUT_MAX_MS (3u * KEEPALIVE_INTERVAL_MAX_MS)
#define RECONNECT_MIN_MS 1u
#define RECONNECT_MAX_MS 3600000u

/* A config is a few kilobytes; anything far larger is a mistake. */
#define CONFIG_TEXT_MAX (1024u * 1024u)
#define CONFIG_RESERVE_MIN (256u * 1024u)

/*
 * Where parsing takes memory: malloc, or after config_reserve() a bump arena
 * whose frees do nothing and which starts over with every load, so that a
 * running agent reloads without calling the allocator.
 */
static struct {
	unsigned char *base;
	size_t len;
	size_t used;
} arena;

#define ARENA_ALIGN 16u

static void *cfg_malloc(size_t n)
{
	void *p;

	if (arena.base == NULL)
		return malloc(n);
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (n == 0 || n > arena.len - arena.used)
		return NULL;
	p = arena.base + arena.used;
	arena.used += n;
	return p;
}

static void cfg_free(void *p)
{
	if (arena.base == NULL)
		free(p);
}

void config_reserve(void *mem, size_t len)
{
	cJSON_Hooks hooks = {cfg_malloc, cfg_free};

	arena.base = mem;
	arena.len = mem != NULL ? len & ~(size_t)(ARENA_ALIGN - 1) : 0;
	arena.used = 0;
	cJSON_InitHooks(mem != NULL ? &hooks : NULL);
}

size_t config_reserve_size(size_t file_len)
{
	size_t n = file_len < CONFIG_TEXT_MAX ? file_len : CONFIG_TEXT_MAX;

	/* The text, and a tree of at most a few dozen bytes per byte of it. */
	return n * 32u > CONFIG_RESERVE_MIN ? n * 32u : CONFIG_RESERVE_MIN;
}

_Static_assert(TETHER_DEFAULT_HANDSHAKE_TIMEOUT_MS >= HANDSHAKE_TIMEOUT_MIN_MS &&
		       TETHER_DEFAULT_HANDSHAKE_TIMEOUT_MS <= HANDSHAKE_TIMEOUT_MAX_MS,
	       "default handshake timeout out of range");
_Static_assert(TETHER_DEFAULT_SESSION_LIFETIME_S >= SESSION_LIFETIME_MIN_S &&
		       TETHER_DEFAULT_SESSION_LIFETIME_S <= SESSION_LIFETIME_MAX_S,
	       "default session lifetime out of range");
_Static_assert(TETHER_DEFAULT_KEEPALIVE_INTERVAL_MS >= KEEPALIVE_MIN_MS &&
		       TETHER_DEFAULT_KEEPALIVE_INTERVAL_MS <= KEEPALIVE_INTERVAL_MAX_MS &&
		       TETHER_DEFAULT_KEEPALIVE_TIMEOUT_MS > TETHER_DEFAULT_KEEPALIVE_INTERVAL_MS &&
		       TETHER_DEFAULT_KEEPALIVE_TIMEOUT_MS <= KEEPALIVE_TIMEOUT_MAX_MS,
	       "default keepalive out of range");
_Static_assert(TETHER_DEFAULT_RECONNECT_MIN_MS >= RECONNECT_MIN_MS &&
		       TETHER_DEFAULT_RECONNECT_MAX_MS >= TETHER_DEFAULT_RECONNECT_MIN_MS &&
		       TETHER_DEFAULT_RECONNECT_MAX_MS <= RECONNECT_MAX_MS,
	       "default reconnect back-off out of range");
_Static_assert(TETHER_MAX_PEERS <= UINT16_MAX, "peer indexes are uint16_t");
_Static_assert(FRAME_NAME_MAX < TETHER_NAME_MAX, "a valid name fits the config's name fields");

#define PATH_LEN sizeof(((struct config_error *)0)->path)
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

#define NAME_RULE "1 to 63 letters, digits, \".\", \"_\" or \"-\""

struct ctx {
	struct tether_config *cfg;
	struct config_errors *errs;
	const char *base_dir;
};

__attribute__((format(printf, 3, 4))) static void report(struct ctx *c, const char *path,
							 const char *fmt, ...)
{
	struct config_errors *errs = c->errs;

	if (errs->count < COUNT_OF(errs->e)) {
		struct config_error *e = &errs->e[errs->count];
		va_list ap;

		snprintf(e->path, sizeof(e->path), "%s", path);
		va_start(ap, fmt);
		vsnprintf(e->message, sizeof(e->message), fmt, ap);
		va_end(ap);
	}
	if (errs->count < UINT_MAX)
		errs->count++;
}

/*
 * Append s to the string in out (size bytes), escaped as tb_text() does (the
 * log's escapes), so that keys and values from the file cannot smuggle
 * control bytes into a terminal or a log line. What does not fit is cut and
 * marked "...".
 */
static void clip_append(char *out, size_t size, const char *s)
{
	size_t n = strlen(out);

	/* The one escaping routine (tb_text): "\x85" for a C1 byte, never the byte. */
	if (size - n >= 4 || *s == '\0')
		(void)tb_text(out + n, size - n, s);
	else if (size >= 4)
		memcpy(out + size - 4, "...", 4);
}

/* A value from the file, made safe to quote in a message. */
#define QUOTE_LEN 48
static const char *quote(char out[QUOTE_LEN], const char *s)
{
	out[0] = '\0';
	clip_append(out, QUOTE_LEN, s);
	return out;
}

static void path_key(char out[PATH_LEN], const char *parent, const char *key)
{
	out[0] = '\0';
	if (parent[0] != '\0') {
		clip_append(out, PATH_LEN, parent);
		clip_append(out, PATH_LEN, ".");
	}
	clip_append(out, PATH_LEN, key);
}

static void path_idx(char out[PATH_LEN], const char *parent, unsigned i)
{
	char idx[16];

	snprintf(idx, sizeof(idx), "[%u]", i);
	out[0] = '\0';
	clip_append(out, PATH_LEN, parent);
	clip_append(out, PATH_LEN, idx);
}

static const cJSON *field(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Report keys of obj not in known (NULL-terminated, at most 32) and repeated keys. */
static void check_keys(struct ctx *c, const cJSON *obj, const char *path, const char *const *known)
{
	uint32_t seen = 0;

	for (const cJSON *it = obj->child; it != NULL; it = it->next) {
		char p[PATH_LEN];
		unsigned k;

		for (k = 0; known[k] != NULL && strcmp(known[k], it->string) != 0; k++)
			;
		path_key(p, path, it->string);
		if (known[k] == NULL)
			report(c, p, "unknown key");
		else if (seen & (1u << k))
			report(c, p, "duplicate key");
		else
			seen |= 1u << k;
	}
}

static bool want_object(struct ctx *c, const cJSON *it, const char *path)
{
	if (cJSON_IsObject(it))
		return true;
	report(c, path, "expected an object");
	return false;
}

static const char *want_string(struct ctx *c, const cJSON *it, const char *path)
{
	if (cJSON_IsString(it) && it->valuestring != NULL)
		return it->valuestring;
	report(c, path, "expected a string");
	return NULL;
}

static bool want_uint(struct ctx *c, const cJSON *it, const char *path, uint32_t lo, uint32_t hi,
		      uint32_t *out)
{
	if (cJSON_IsNumber(it)) {
		double v = it->valuedouble;

		/* The range test also rejects NaN and infinities before the cast. */
		if (v >= lo && v <= hi && (double)(uint32_t)v == v) {
			*out = (uint32_t)v;
			return true;
		}
	}
	report(c, path, "expected a whole number from %lu to %lu", (unsigned long)lo,
	       (unsigned long)hi);
	return false;
}

/* An optional whole number field; true if absent or valid. */
static bool opt_uint(struct ctx *c, const cJSON *obj, const char *parent, const char *key,
		     uint32_t lo, uint32_t hi, uint32_t *out)
{
	const cJSON *it = field(obj, key);
	char p[PATH_LEN];

	if (it == NULL)
		return true;
	path_key(p, parent, key);
	return want_uint(c, it, p, lo, hi, out);
}

static bool get_name(struct ctx *c, const cJSON *it, const char *path, const char *what,
		     char out[TETHER_NAME_MAX])
{
	const char *s = want_string(c, it, path);

	if (s == NULL)
		return false;
	if (!frame_name_valid_str(s)) {
		report(c, path, "expected a %s name: " NAME_RULE, what);
		return false;
	}
	strcpy(out, s); /* fits: frame_name_valid_str() bounds the length (asserted above) */
	return true;
}

/* A "host:port" address; port 0 only where any_port (the OS picks one, the listen line says which). */
static bool get_addr_any(struct ctx *c, const cJSON *it, const char *path,
			 char out[TETHER_ADDR_MAX], bool any_port)
{
	const char *s = want_string(c, it, path);
	const char *why;

	if (s == NULL)
		return false;
	why = config_syntax_addr(s);
	if (why != NULL && any_port) {
		size_t n = strlen(s);
		char one[TETHER_ADDR_MAX];

		/* "host:0": the host checked as with any port. */
		if (n >= 2 && n < sizeof(one) && strcmp(s + n - 2, ":0") == 0) {
			memcpy(one, s, n + 1);
			one[n - 1] = '1';
			why = config_syntax_addr(one);
		}
	}
	if (why != NULL) {
		report(c, path, "expected \"host:port\" (%s)", why);
		return false;
	}
	strcpy(out, s); /* fits: config_syntax_addr() bounds the length */
	return true;
}

static bool get_addr(struct ctx *c, const cJSON *it, const char *path, char out[TETHER_ADDR_MAX])
{
	return get_addr_any(c, it, path, out, false);
}

static bool has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A file path, joined with the config file's folder. */
static bool get_path(struct ctx *c, const cJSON *it, const char *path, char out[TETHER_PATH_MAX])
{
	const char *s = want_string(c, it, path);

	if (s == NULL)
		return false;
	if (s[0] == '\0') {
		report(c, path, "expected a non-empty path");
		return false;
	}
	if (has_control(s)) {
		report(c, path, "expected a path without control characters");
		return false;
	}
	if (config_syntax_join(out, TETHER_PATH_MAX, c->base_dir, s) != 0) {
		report(c, path, "path too long (at most %d characters with the config's folder)",
		       TETHER_PATH_MAX - 1);
		return false;
	}
	return true;
}

static void parse_node(struct ctx *c, const cJSON *root)
{
	const cJSON *it = field(root, "node");

	if (it == NULL)
		report(c, "node", "required");
	else
		get_name(c, it, "node", "node", c->cfg->node);
}

/* identity.crl: one path, or an array of 1..TETHER_MAX_CRLS paths. */
static void parse_crl(struct ctx *c, const cJSON *it)
{
	struct tether_identity_cfg *id = &c->cfg->identity;
	const cJSON *e;
	char p[PATH_LEN];
	unsigned i = 0;

	if (cJSON_IsString(it)) {
		if (get_path(c, it, "identity.crl", id->crl[0]))
			id->n_crl = 1;
		return;
	}
	if (!cJSON_IsArray(it)) {
		report(c, "identity.crl", "expected a path or an array of paths");
		return;
	}
	if (it->child == NULL) {
		report(c, "identity.crl",
		       "expected at least one path (leave \"crl\" out for none)");
		return;
	}
	cJSON_ArrayForEach(e, it)
	{
		if (i == TETHER_MAX_CRLS) {
			report(c, "identity.crl", "at most %u files", TETHER_MAX_CRLS);
			return;
		}
		snprintf(p, sizeof(p), "identity.crl[%u]", i);
		if (get_path(c, e, p, id->crl[id->n_crl]))
			id->n_crl++;
		i++;
	}
}

static void parse_identity(struct ctx *c, const cJSON *root)
{
	static const char *const keys[] = {"cert", "key", "ca", "crl", "warn_days", NULL};
	struct tether_identity_cfg *id = &c->cfg->identity;
	char *const dst[] = {id->cert, id->key, id->ca};
	const cJSON *obj = field(root, "identity");
	const cJSON *it;

	if (obj == NULL) {
		report(c, "identity", "required");
		return;
	}
	if (!want_object(c, obj, "identity"))
		return;
	check_keys(c, obj, "identity", keys);
	for (unsigned i = 0; i < COUNT_OF(dst); i++) {
		char p[PATH_LEN];

		it = field(obj, keys[i]);
		path_key(p, "identity", keys[i]);
		if (it != NULL)
			get_path(c, it, p, dst[i]);
		else
			report(c, p, "required");
	}
	if ((it = field(obj, "crl")) != NULL)
		parse_crl(c, it);
	opt_uint(c, obj, "identity", "warn_days", 1, WARN_DAYS_MAX, &id->warn_days);
}

static void parse_peer(struct ctx *c, const cJSON *obj, const char *path,
		       struct tether_peer_cfg *peer)
{
	static const char *const keys[] = {"connect", "id", "pin", NULL};
	const cJSON *it;
	char p[PATH_LEN];

	if (!want_object(c, obj, path))
		return;
	check_keys(c, obj, path, keys);

	if ((it = field(obj, "connect")) != NULL) {
		path_key(p, path, "connect");
		get_addr(c, it, p, peer->connect);
	}
	if ((it = field(obj, "id")) != NULL) {
		const char *s;

		path_key(p, path, "id");
		s = want_string(c, it, p);
		if (s == NULL) {
		} else if (s[0] == '\0' || has_control(s)) {
			report(c, p, "expected a non-empty identity without control characters");
		} else if (strlen(s) >= sizeof(peer->id)) {
			report(c, p, "too long (at most %zu characters)", sizeof(peer->id) - 1);
		} else {
			strcpy(peer->id, s);
		}
	}
	if ((it = field(obj, "pin")) != NULL) {
		const char *s;

		path_key(p, path, "pin");
		s = want_string(c, it, p);
		if (s == NULL) {
		} else if (identity_pin_parse(s, peer->pin) != 0) {
			report(c, p, "expected \"sha256/\" and the base64 of a 32-byte SPKI hash");
		} else {
			peer->has_pin = true;
		}
	}
}

static void parse_peers(struct ctx *c, const cJSON *root)
{
	struct tether_config *cfg = c->cfg;
	const cJSON *obj = field(root, "peers");
	char p[PATH_LEN];
	char q[QUOTE_LEN];

	if (obj == NULL || !want_object(c, obj, "peers"))
		return;
	for (const cJSON *it = obj->child; it != NULL; it = it->next) {
		struct tether_peer_cfg *peer;

		path_key(p, "peers", it->string);
		if (!frame_name_valid_str(it->string)) {
			report(c, p, "expected a peer name: " NAME_RULE);
			continue;
		}
		if (strcmp(it->string, cfg->node) == 0) {
			report(c, p, "a node must not list itself as a peer");
			continue;
		}
		if (config_peer_index(cfg, it->string) >= 0) {
			report(c, p, "duplicate key");
			continue;
		}
		if (cfg->n_peers == TETHER_MAX_PEERS) {
			report(c, "peers", "too many peers (at most %d)", TETHER_MAX_PEERS);
			break;
		}
		/* Added even if its fields are bad, so that uses of the name do not also fail. */
		peer = &cfg->peers[cfg->n_peers++];
		strcpy(peer->name, it->string);
		strcpy(peer->id, it->string);
		parse_peer(c, it, p, peer);
	}

	/* Two peers with one identity could not be told apart at handshake time. */
	for (unsigned j = 1; j < cfg->n_peers; j++) {
		const struct tether_peer_cfg *b = &cfg->peers[j];

		for (unsigned i = 0; i < j; i++) {
			if (strcmp(cfg->peers[i].id, b->id) != 0)
				continue;
			path_key(p, "peers", b->name);
			if (strcmp(b->id, b->name) != 0)
				clip_append(p, sizeof(p), ".id");
			report(c, p, "same id as peer \"%s\"", quote(q, cfg->peers[i].name));
			break;
		}
	}
}

/* "proxy_protocol": "v2" or "none"; true for v2. */
static bool get_proxy(struct ctx *c, const cJSON *it, const char *path)
{
	const char *s = want_string(c, it, path);

	if (s == NULL)
		return false;
	if (strcmp(s, "v2") == 0) {
		if (!TETHER_EDGES)
			report(c, path,
			       "PROXY v2 is not built into this binary (TETHER_EDGES=OFF)");
		return TETHER_EDGES;
	}
	if (strcmp(s, "none") != 0)
		report(c, path, "expected \"v2\" or \"none\"");
	return false;
}

static void parse_allow(struct ctx *c, const cJSON *arr, const char *path, unsigned *n_allow,
			uint16_t allow[TETHER_MAX_ALLOW])
{
	char p[PATH_LEN];
	char q[QUOTE_LEN];
	unsigned i = 0;

	if (!cJSON_IsArray(arr)) {
		report(c, path, "expected an array of peer names");
		return;
	}
	if (arr->child == NULL) {
		report(c, path, "expected at least one peer name");
		return;
	}
	for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
		const char *s;
		int idx;
		bool dup = false;

		path_idx(p, path, i);
		if ((s = want_string(c, it, p)) == NULL)
			continue;
		idx = config_peer_index(c->cfg, s);
		if (idx < 0) {
			report(c, p, "unknown peer \"%s\"", quote(q, s));
			continue;
		}
		for (unsigned k = 0; k < *n_allow; k++)
			dup = dup || allow[k] == idx;
		if (dup) {
			report(c, p, "peer \"%s\" is listed twice", quote(q, s));
			continue;
		}
		if (*n_allow == TETHER_MAX_ALLOW) {
			report(c, path, "too many peers (at most %d)", TETHER_MAX_ALLOW);
			return;
		}
		allow[(*n_allow)++] = (uint16_t)idx;
	}
}

static void parse_service(struct ctx *c, const cJSON *obj, const char *path,
			  struct tether_service_cfg *svc)
{
	static const char *const keys[] = {"target", "allow", "proxy_protocol", NULL};
	const cJSON *it;
	char p[PATH_LEN];

	if (!want_object(c, obj, path))
		return;
	check_keys(c, obj, path, keys);

	path_key(p, path, "target");
	if ((it = field(obj, "target")) == NULL)
		report(c, p, "required");
	else
		get_addr(c, it, p, svc->target);

	path_key(p, path, "allow");
	if ((it = field(obj, "allow")) == NULL)
		report(c, p, "required");
	else
		parse_allow(c, it, p, &svc->n_allow, svc->allow);
	path_key(p, path, "proxy_protocol");
	if ((it = field(obj, "proxy_protocol")) != NULL)
		svc->proxy_v2 = get_proxy(c, it, p);
}

static int service_index(const struct tether_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void parse_services(struct ctx *c, const cJSON *root)
{
	struct tether_config *cfg = c->cfg;
	const cJSON *obj = field(root, "services");
	char p[PATH_LEN];

	if (obj == NULL || !want_object(c, obj, "services"))
		return;
	for (const cJSON *it = obj->child; it != NULL; it = it->next) {
		struct tether_service_cfg *svc;

		path_key(p, "services", it->string);
		if (!frame_name_valid_str(it->string)) {
			report(c, p, "expected a service name: " NAME_RULE);
			continue;
		}
		if (service_index(cfg, it->string) >= 0) {
			report(c, p, "duplicate key");
			continue;
		}
		if (cfg->n_services == TETHER_MAX_SERVICES) {
			report(c, "services", "too many services (at most %d)",
			       TETHER_MAX_SERVICES);
			break;
		}
		svc = &cfg->services[cfg->n_services++];
		strcpy(svc->name, it->string);
		parse_service(c, it, p, svc);
	}
}

static void parse_forward(struct ctx *c, const cJSON *obj, const char *path, unsigned n)
{
	static const char *const keys[] = {"listen", "peer", "service", NULL};
	struct tether_config *cfg = c->cfg;
	struct tether_forward_cfg *fwd = &cfg->forwards[n];
	const cJSON *it;
	char p[PATH_LEN];
	char q[QUOTE_LEN];

	if (!want_object(c, obj, path))
		return;
	check_keys(c, obj, path, keys);

	path_key(p, path, "listen");
	if ((it = field(obj, "listen")) == NULL) {
		report(c, p, "required");
	} else if (get_addr(c, it, p, fwd->listen)) {
		/* Literal comparison: the same socket bound twice fails at start-up. */
		if (strcmp(fwd->listen, cfg->listen) == 0)
			report(c, p, "same address as listen");
		for (unsigned i = 0; i < n; i++) {
			if (strcmp(fwd->listen, cfg->forwards[i].listen) == 0) {
				report(c, p, "same address as forwards[%u].listen", i);
				break;
			}
		}
	}

	path_key(p, path, "peer");
	if ((it = field(obj, "peer")) == NULL) {
		report(c, p, "required");
	} else {
		const char *s = want_string(c, it, p);
		int idx = s != NULL ? config_peer_index(cfg, s) : -1;

		if (s != NULL && idx < 0)
			report(c, p, "unknown peer \"%s\"", quote(q, s));
		else if (idx >= 0)
			fwd->peer = (uint16_t)idx;
	}

	path_key(p, path, "service");
	if ((it = field(obj, "service")) == NULL)
		report(c, p, "required");
	else
		get_name(c, it, p, "service", fwd->service);
}

static void parse_forwards(struct ctx *c, const cJSON *root)
{
	struct tether_config *cfg = c->cfg;
	const cJSON *arr = field(root, "forwards");
	char p[PATH_LEN];
	unsigned i = 0;

	if (arr == NULL)
		return;
	if (!cJSON_IsArray(arr)) {
		report(c, "forwards", "expected an array");
		return;
	}
	for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
		if (cfg->n_forwards == TETHER_MAX_FORWARDS) {
			report(c, "forwards", "too many forwards (at most %d)",
			       TETHER_MAX_FORWARDS);
			break;
		}
		path_idx(p, "forwards", i);
		parse_forward(c, it, p, cfg->n_forwards++);
	}
}

static void parse_suites(struct ctx *c, const cJSON *arr)
{
	static const char path[] = "tls.ciphersuites";
	struct tether_tls_cfg *tls = &c->cfg->tls;
	bool any13 = false;
	char p[PATH_LEN];
	char q[QUOTE_LEN];
	unsigned i = 0;

	if (!cJSON_IsArray(arr)) {
		report(c, path, "expected an array of cipher suite names");
		return;
	}
	if (arr->child == NULL) {
		report(c, path, "expected at least one cipher suite name");
		return;
	}
	for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
		const char *s;
		bool tls13 = false;
		bool dup = false;
		int iana;

		path_idx(p, path, i);
		if ((s = want_string(c, it, p)) == NULL)
			continue;
		iana = config_syntax_suite(s, &tls13);
		if (iana < 0) {
			report(c, p, "unknown cipher suite \"%s\"", quote(q, s));
			continue;
		}
		for (unsigned k = 0; k < tls->n_suites; k++)
			dup = dup || tls->suites[k] == iana;
		if (dup) {
			report(c, p, "\"%s\" is listed twice", quote(q, s));
			continue;
		}
		if (tls->n_suites == TETHER_MAX_SUITES) {
			report(c, path, "too many cipher suites (at most %d)", TETHER_MAX_SUITES);
			return;
		}
		tls->suites[tls->n_suites++] = iana;
		any13 = any13 || tls13;
	}
	if (tls->n_suites > 0 && !any13 && tls->min_version == TETHER_TLS_1_3)
		report(c, path, "no TLS 1.3 cipher suite listed, but min_version is \"1.3\"");
}

#if TETHER_EDGES
/* The host part of "host:port" (brackets of an IPv6 literal removed). */
static void addr_host(const char *addr, char *out, size_t len)
{
	const char *colon = strrchr(addr, ':');
	size_t n = colon != NULL ? (size_t)(colon - addr) : strlen(addr);

	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n >= len)
		n = len - 1;
	memcpy(out, addr, n);
	out[n] = '\0';
}

/* A server name: a DNS name (one leading "*." label not allowed here) or an IP literal. */
static bool server_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == ':'))
			return false;
	}
	return true;
}

static void parse_edge_allow(struct ctx *c, const cJSON *arr, const char *path,
			     struct tether_edge_cfg *e)
{
	char p[PATH_LEN];
	unsigned i = 0;

	if (!cJSON_IsArray(arr)) {
		report(c, path, "expected an array of identities or \"sha256/...\" pins");
		return;
	}
	if (arr->child == NULL) {
		report(c, path, "expected at least one identity or pin");
		return;
	}
	for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
		struct tether_edge_allow *a;
		const char *s;

		path_idx(p, path, i);
		if ((s = want_string(c, it, p)) == NULL)
			continue;
		if (e->n_allow == TETHER_MAX_EDGE_ALLOW) {
			report(c, path, "too many entries (at most %d)", TETHER_MAX_EDGE_ALLOW);
			return;
		}
		a = &e->allow[e->n_allow];
		if (strncmp(s, "sha256/", 7) == 0) {
			if (identity_pin_parse(s, a->pin) != 0) {
				report(c, p,
				       "expected \"sha256/\" and the base64 of a 32-byte SPKI "
				       "hash");
				continue;
			}
			a->is_pin = true;
		} else if (s[0] == '\0' || has_control(s)) {
			report(c, p, "expected a non-empty identity without control characters");
			continue;
		} else if (strlen(s) >= sizeof(a->id)) {
			report(c, p, "too long (at most %zu characters)", sizeof(a->id) - 1);
			continue;
		} else {
			strcpy(a->id, s);
		}
		e->n_allow++;
	}
}

/* Is addr already a listen address of the node (sessions, forwards, edges before n)? */
static void listen_clash(struct ctx *c, const char *p, const char *addr, unsigned n)
{
	const struct tether_config *cfg = c->cfg;
	unsigned i;

	if (strcmp(addr, cfg->listen) == 0)
		report(c, p, "same address as listen");
	for (i = 0; i < cfg->n_forwards; i++)
		if (strcmp(addr, cfg->forwards[i].listen) == 0)
			report(c, p, "same address as forwards[%u].listen", i);
	for (i = 0; i < n; i++)
		if (strcmp(addr, cfg->edges[i].listen) == 0)
			report(c, p, "same address as edges[%u].listen", i);
}

static void parse_edge(struct ctx *c, const cJSON *obj, const char *path, unsigned n)
{
	static const char *const keys[] = {"mode",	     "listen", "target", "connect", "allow",
					   "server_name",    "ca",     "cert",	 "key",	    "pin",
					   "proxy_protocol", NULL};
	struct tether_edge_cfg *e = &c->cfg->edges[n];
	const cJSON *it, *cert, *key;
	const char *s;
	char p[PATH_LEN];
	bool in;

	if (!want_object(c, obj, path))
		return;
	check_keys(c, obj, path, keys);

	path_key(p, path, "mode");
	if ((it = field(obj, "mode")) == NULL) {
		report(c, p, "required (\"tls-in\" or \"tls-out\")");
		return;
	}
	if ((s = want_string(c, it, p)) == NULL)
		return;
	if (strcmp(s, "tls-in") == 0) {
		e->mode = TETHER_EDGE_TLS_IN;
	} else if (strcmp(s, "tls-out") == 0) {
		e->mode = TETHER_EDGE_TLS_OUT;
	} else {
		report(c, p, "expected \"tls-in\" or \"tls-out\"");
		return;
	}
	in = e->mode == TETHER_EDGE_TLS_IN;

	path_key(p, path, "listen");
	if ((it = field(obj, "listen")) == NULL)
		report(c, p, "required");
	else if (get_addr_any(c, it, p, e->listen, true))
		listen_clash(c, p, e->listen, n);

	/* What each mode must have, and keys that belong to the other mode. */
	{
		static const char *const in_only[] = {"target", "allow", "proxy_protocol", NULL};
		static const char *const out_only[] = {"connect", "server_name", "pin", NULL};
		const char *const *wrong = in ? out_only : in_only;

		for (unsigned k = 0; wrong[k] != NULL; k++) {
			if (field(obj, wrong[k]) != NULL) {
				path_key(p, path, wrong[k]);
				report(c, p, "only for mode \"%s\"", in ? "tls-out" : "tls-in");
			}
		}
	}
	if (in) {
		path_key(p, path, "target");
		if ((it = field(obj, "target")) == NULL)
			report(c, p, "required");
		else
			get_addr(c, it, p, e->target);
		path_key(p, path, "allow");
		if ((it = field(obj, "allow")) == NULL)
			report(c, p,
			       "required: who may connect (identities or \"sha256/...\" pins)");
		else
			parse_edge_allow(c, it, p, e);
		path_key(p, path, "proxy_protocol");
		if ((it = field(obj, "proxy_protocol")) != NULL)
			e->proxy_v2 = get_proxy(c, it, p);
	} else {
		path_key(p, path, "connect");
		if ((it = field(obj, "connect")) == NULL)
			report(c, p, "required");
		else if (get_addr(c, it, p, e->connect))
			addr_host(e->connect, e->server_name, sizeof(e->server_name));
		path_key(p, path, "server_name");
		if ((it = field(obj, "server_name")) != NULL &&
		    (s = want_string(c, it, p)) != NULL) {
			if (!server_name_ok(s))
				report(c, p, "expected a DNS name or an IP address");
			else
				strcpy(e->server_name, s);
		}
		path_key(p, path, "pin");
		if ((it = field(obj, "pin")) != NULL && (s = want_string(c, it, p)) != NULL) {
			if (identity_pin_parse(s, e->pin) != 0)
				report(c, p,
				       "expected \"sha256/\" and the base64 of a 32-byte SPKI "
				       "hash");
			else
				e->has_pin = true;
		}
	}

	path_key(p, path, "ca");
	if ((it = field(obj, "ca")) != NULL)
		get_path(c, it, p, e->ca);
	else
		strcpy(e->ca, c->cfg->identity.ca);
	cert = field(obj, "cert");
	key = field(obj, "key");
	if ((cert == NULL) != (key == NULL)) {
		path_key(p, path, cert == NULL ? "cert" : "key");
		report(c, p, "required with \"%s\"", cert == NULL ? "key" : "cert");
	} else if (cert != NULL) {
		path_key(p, path, "cert");
		get_path(c, cert, p, e->cert);
		path_key(p, path, "key");
		get_path(c, key, p, e->key);
	}
}

static void parse_edges(struct ctx *c, const cJSON *root)
{
	struct tether_config *cfg = c->cfg;
	const cJSON *arr = field(root, "edges");
	char p[PATH_LEN];
	unsigned i = 0;

	if (arr == NULL)
		return;
	if (!cJSON_IsArray(arr)) {
		report(c, "edges", "expected an array");
		return;
	}
	for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
		if (cfg->n_edges == TETHER_MAX_EDGES) {
			report(c, "edges", "too many edge routes (at most %d)", TETHER_MAX_EDGES);
			break;
		}
		path_idx(p, "edges", i);
		parse_edge(c, it, p, cfg->n_edges++);
	}
}
#else
static void parse_edges(struct ctx *c, const cJSON *root)
{
	if (field(root, "edges") != NULL)
		report(c, "edges", "edge routes are not built into this binary (TETHER_EDGES=OFF)");
}
#endif

static void parse_tls(struct ctx *c, const cJSON *root)
{
	static const char *const keys[] = {
		"min_version",	      "ciphersuites", "handshake_timeout_ms",
		"session_lifetime_s", "drain_s",      NULL};
	struct tether_tls_cfg *tls = &c->cfg->tls;
	const cJSON *obj = field(root, "tls");
	const cJSON *it;

	if (obj == NULL || !want_object(c, obj, "tls"))
		return;
	check_keys(c, obj, "tls", keys);

	/* Before the suites: whether a TLS 1.3 suite is needed depends on it. */
	if ((it = field(obj, "min_version")) != NULL) {
		const char *s = cJSON_IsString(it) ? it->valuestring : NULL;

		if (s != NULL && strcmp(s, "1.2") == 0)
			tls->min_version = TETHER_TLS_1_2;
		else if (s != NULL && strcmp(s, "1.3") == 0)
			tls->min_version = TETHER_TLS_1_3;
		else
			report(c, "tls.min_version", "expected \"1.2\" or \"1.3\"");
	}
	if ((it = field(obj, "ciphersuites")) != NULL)
		parse_suites(c, it);
	opt_uint(c, obj, "tls", "handshake_timeout_ms", HANDSHAKE_TIMEOUT_MIN_MS,
		 HANDSHAKE_TIMEOUT_MAX_MS, &tls->handshake_timeout_ms);
	opt_uint(c, obj, "tls", "session_lifetime_s", SESSION_LIFETIME_MIN_S,
		 SESSION_LIFETIME_MAX_S, &tls->session_lifetime_s);
	opt_uint(c, obj, "tls", "drain_s", 1, DRAIN_MAX_S, &tls->drain_s);
}

static void parse_reload(struct ctx *c, const cJSON *root)
{
	static const char *const keys[] = {"watch_s", NULL};
	const cJSON *obj = field(root, "reload");

	if (obj == NULL || !want_object(c, obj, "reload"))
		return;
	check_keys(c, obj, "reload", keys);
	opt_uint(c, obj, "reload", "watch_s", 0, WATCH_MAX_S, &c->cfg->reload_watch_s);
}

/*
 * "issuer" and "renew" (docs/DESIGN.md "Renewal through the mesh"). A build
 * without TETHER_RENEW refuses both, so that a config never silently loses them.
 */
static void parse_issuer(struct ctx *c, const cJSON *root)
{
	static const char *const keys[] = {"cert", "key", "days", "allow", NULL};
	struct tether_issuer_cfg *is = &c->cfg->issuer;
	const cJSON *obj = field(root, "issuer");
	const cJSON *it;

	if (obj == NULL)
		return;
	if (!TETHER_RENEW) {
		report(c, "issuer", "not supported by this build (TETHER_RENEW=0)");
		return;
	}
	if (!want_object(c, obj, "issuer"))
		return;
	check_keys(c, obj, "issuer", keys);
	is->on = true;
	if ((it = field(obj, "cert")) == NULL)
		report(c, "issuer.cert", "required");
	else
		get_path(c, it, "issuer.cert", is->cert);
	if ((it = field(obj, "key")) == NULL)
		report(c, "issuer.key", "required");
	else
		get_path(c, it, "issuer.key", is->key);
	opt_uint(c, obj, "issuer", "days", 1, ISSUE_DAYS_MAX, &is->days);
	if ((it = field(obj, "allow")) == NULL)
		report(c, "issuer.allow", "required");
	else
		parse_allow(c, it, "issuer.allow", &is->n_allow, is->allow);
	if (is->cert[0] != '\0' && strcmp(is->key, c->cfg->identity.key) == 0)
		report(c, "issuer.key", "is the node's own key (identity.key): use a CA's key");
}

static void parse_renew(struct ctx *c, const cJSON *root)
{
	static const char *const keys[] = {"peer", "before_days", NULL};
	struct tether_config *cfg = c->cfg;
	const cJSON *obj = field(root, "renew");
	const cJSON *it;
	char q[QUOTE_LEN];

	if (obj == NULL)
		return;
	if (!TETHER_RENEW) {
		report(c, "renew", "not supported by this build (TETHER_RENEW=0)");
		return;
	}
	if (!want_object(c, obj, "renew"))
		return;
	check_keys(c, obj, "renew", keys);
	if ((it = field(obj, "peer")) == NULL) {
		report(c, "renew.peer", "required");
	} else {
		const char *s = want_string(c, it, "renew.peer");
		int idx = s != NULL ? config_peer_index(cfg, s) : -1;

		if (s != NULL && idx < 0)
			report(c, "renew.peer", "unknown peer \"%s\"", quote(q, s));
		if (idx >= 0) {
			cfg->renew.peer = (uint16_t)idx;
			cfg->renew.on = true;
		}
	}
	opt_uint(c, obj, "renew", "before_days", 1, ISSUE_DAYS_MAX, &cfg->renew.before_days);
	/* The renewed pair replaces both files: they must be two. */
	if (cfg->identity.cert[0] != '\0' && strcmp(cfg->identity.cert, cfg->identity.key) == 0)
		report(c, "renew", "needs identity.cert and identity.key in two files");
}

static void parse_limits(struct ctx *c, const cJSON *root)
{
	static const char *const keys[] = {
		"sessions",	    "streams", "stream_window", "handshakes", "streams_per_session",
		"edge_connections", NULL};
	struct tether_limits_cfg *lim = &c->cfg->limits;
	const cJSON *obj = field(root, "limits");

	if (obj == NULL || !want_object(c, obj, "limits"))
		return;
	check_keys(c, obj, "limits", keys);

	opt_uint(c, obj, "limits", "sessions", 1, TETHER_MAX_SESSIONS, &lim->sessions);
	opt_uint(c, obj, "limits", "streams", 1, TETHER_MAX_STREAMS, &lim->streams);
	opt_uint(c, obj, "limits", "stream_window", TETHER_MIN_STREAM_WINDOW,
		 TETHER_MAX_STREAM_WINDOW, &lim->stream_window);
	/* Fewer sessions than the default handshakes: the default shrinks to fit. */
	if (field(obj, "handshakes") == NULL) {
		if (lim->handshakes > lim->sessions)
			lim->handshakes = lim->sessions;
	} else {
		opt_uint(c, obj, "limits", "handshakes", 1, lim->sessions, &lim->handshakes);
	}
	/* Absent: 0, the default rule, worked out from streams, sessions and peers. */
	opt_uint(c, obj, "limits", "streams_per_session", 1, lim->streams,
		 &lim->streams_per_session);
	opt_uint(c, obj, "limits", "edge_connections", 1, TETHER_MAX_EDGE_CONNECTIONS,
		 &lim->edge_connections);
}

static void parse_keepalive(struct ctx *c, const cJSON *root)
{
	static const char *const keys[] = {"interval_ms", "timeout_ms", NULL};
	struct tether_config *cfg = c->cfg;
	const cJSON *obj = field(root, "keepalive");
	bool ok, ok_timeout;

	if (obj == NULL || !want_object(c, obj, "keepalive"))
		return;
	check_keys(c, obj, "keepalive", keys);

	ok = opt_uint(c, obj, "keepalive", "interval_ms", KEEPALIVE_MIN_MS,
		      KEEPALIVE_INTERVAL_MAX_MS, &cfg->keepalive_interval_ms);
	/* Given only the interval, three missed pings declare the peer dead. */
	if (field(obj, "timeout_ms") == NULL) {
		if (field(obj, "interval_ms") != NULL)
			cfg->keepalive_timeout_ms = 3 * cfg->keepalive_interval_ms;
		return;
	}
	ok_timeout = opt_uint(c, obj, "keepalive", "timeout_ms", KEEPALIVE_MIN_MS,
			      KEEPALIVE_TIMEOUT_MAX_MS, &cfg->keepalive_timeout_ms);
	if (ok && ok_timeout && cfg->keepalive_timeout_ms <= cfg->keepalive_interval_ms)
		report(c, "keepalive.timeout_ms", "must be greater than interval_ms (%lu)",
		       (unsigned long)cfg->keepalive_interval_ms);
}

static void parse_reconnect(struct ctx *c, const cJSON *root)
{
	static const char *const keys[] = {"min_ms", "max_ms", NULL};
	struct tether_config *cfg = c->cfg;
	const cJSON *obj = field(root, "reconnect");
	bool ok, ok_max;

	if (obj == NULL || !want_object(c, obj, "reconnect"))
		return;
	check_keys(c, obj, "reconnect", keys);

	ok = opt_uint(c, obj, "reconnect", "min_ms", RECONNECT_MIN_MS, RECONNECT_MAX_MS,
		      &cfg->reconnect_min_ms);
	/* Given only a minimum above the default maximum, the back-off stays flat. */
	if (field(obj, "max_ms") == NULL) {
		if (cfg->reconnect_max_ms < cfg->reconnect_min_ms)
			cfg->reconnect_max_ms = cfg->reconnect_min_ms;
		return;
	}
	ok_max = opt_uint(c, obj, "reconnect", "max_ms", RECONNECT_MIN_MS, RECONNECT_MAX_MS,
			  &cfg->reconnect_max_ms);
	if (ok && ok_max && cfg->reconnect_max_ms < cfg->reconnect_min_ms)
		report(c, "reconnect.max_ms", "must be at least min_ms (%lu)",
		       (unsigned long)cfg->reconnect_min_ms);
}

static void parse_log(struct ctx *c, const cJSON *root)
{
	static const char *const keys[] = {"level", "format", NULL};
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	static const int level_vals[] = {PORT_LOG_ERROR, PORT_LOG_WARN, PORT_LOG_INFO,
					 PORT_LOG_DEBUG};
	struct tether_config *cfg = c->cfg;
	const cJSON *obj = field(root, "log");
	const cJSON *it;

	if (obj == NULL || !want_object(c, obj, "log"))
		return;
	check_keys(c, obj, "log", keys);

	if ((it = field(obj, "level")) != NULL) {
		const char *s = cJSON_IsString(it) ? it->valuestring : NULL;
		unsigned i;

		for (i = 0; s != NULL && i < COUNT_OF(levels) && strcmp(s, levels[i]) != 0; i++)
			;
		if (s != NULL && i < COUNT_OF(levels))
			cfg->log_level = level_vals[i];
		else
			report(c, "log.level",
			       "expected \"error\", \"warn\", \"info\" or \"debug\"");
	}
	if ((it = field(obj, "format")) != NULL) {
		const char *s = cJSON_IsString(it) ? it->valuestring : NULL;

		if (s != NULL && strcmp(s, "text") == 0)
			cfg->log_format = TETHER_LOG_TEXT;
		else if (s != NULL && strcmp(s, "json") == 0)
			cfg->log_format = TETHER_LOG_JSON;
		else
			report(c, "log.format", "expected \"text\" or \"json\"");
	}
}

static void parse_root(struct ctx *c, const cJSON *root)
{
	static const char *const keys[] = {
		"node", "identity", "listen",	 "peers",     "services", "forwards", "edges",
		"tls",	"limits",   "keepalive", "reconnect", "status",	  "metrics",  "log",
		"user", "reload",   "issuer",	 "renew",     NULL};
	struct tether_config *cfg = c->cfg;
	const cJSON *it;
	const cJSON *peers;

	if (!want_object(c, root, ""))
		return;
	check_keys(c, root, "", keys);

	parse_node(c, root);
	parse_identity(c, root);
	if ((it = field(root, "listen")) != NULL)
		get_addr(c, it, "listen", cfg->listen);
	parse_peers(c, root);
	parse_services(c, root);
	parse_forwards(c, root);
	parse_edges(c, root);
	parse_tls(c, root);
	parse_limits(c, root);
	parse_keepalive(c, root);
	parse_reconnect(c, root);
	if ((it = field(root, "status")) != NULL)
		get_path(c, it, "status", cfg->status);
	if ((it = field(root, "metrics")) != NULL &&
	    get_addr_any(c, it, "metrics", cfg->metrics, true)) {
		unsigned i;

		if (strcmp(cfg->metrics, cfg->listen) == 0)
			report(c, "metrics", "same address as listen");
		for (i = 0; i < cfg->n_forwards; i++)
			if (strcmp(cfg->metrics, cfg->forwards[i].listen) == 0)
				report(c, "metrics", "same address as forwards[%u].listen", i);
		for (i = 0; i < cfg->n_edges; i++)
			if (strcmp(cfg->metrics, cfg->edges[i].listen) == 0)
				report(c, "metrics", "same address as edges[%u].listen", i);
	}
	parse_reload(c, root);
	parse_issuer(c, root);
	parse_renew(c, root);
	parse_log(c, root);
	if ((it = field(root, "user")) != NULL)
		get_name(c, it, "user", "user", cfg->user);

	/* An empty "peers" object gives the node nothing to do either. */
	peers = field(root, "peers");
	if (field(root, "listen") == NULL && field(root, "edges") == NULL &&
	    (peers == NULL || (cJSON_IsObject(peers) && peers->child == NULL)))
		report(c, "", "one of \"listen\", \"peers\" or \"edges\" is required");
}

static void line_col(const char *text, size_t pos, unsigned *line, unsigned *col)
{
	size_t start = 0;

	*line = 1;
	for (size_t i = 0; i < pos; i++) {
		if (text[i] == '\n') {
			(*line)++;
			start = i + 1;
		}
	}
	*col = (unsigned)(pos - start + 1);
}

/*
 * cJSON turns the escape \u0000 into a NUL that silently cuts the string
 * ("a\u0000b" reads as "a"). Find one in (already valid) JSON text.
 */
static const char *find_nul_escape(const char *text)
{
	bool in_string = false;

	for (const char *s = text; *s != '\0'; s++) {
		if (!in_string) {
			in_string = *s == '"';
		} else if (*s == '"') {
			in_string = false;
		} else if (*s == '\\') {
			if (strncmp(s + 1, "u0000", 5) == 0)
				return s;
			s++; /* the escaped character; valid JSON has one */
		}
	}
	return NULL;
}

/* Parse text (NUL-terminated at text[len], no NUL before) into c->cfg. */
static void parse_text(struct ctx *c, char *text, size_t len)
{
	const char *end = NULL;
	const char *nul;
	unsigned line, col;
	cJSON *root;
	size_t i;

	for (i = 0; i < len && (unsigned char)text[i] <= ' '; i++)
		;
	if (i == len) {
		report(c, "", "empty: expected a JSON object");
		return;
	}
	root = cJSON_ParseWithOpts(text, &end, 1);
	if (root == NULL) {
		size_t pos = end != NULL && end >= text ? (size_t)(end - text) : 0;

		line_col(text, pos > len ? len : pos, &line, &col);
		if (arena.base != NULL && arena.used + 1024u > arena.len)
			report(c, "",
			       "too large to reload: parsing needs more than the %lu bytes "
			       "reserved at start-up; restart to apply it",
			       (unsigned long)arena.len);
		else
			report(c, "", "invalid JSON at line %u, column %u", line, col);
	} else if ((nul = find_nul_escape(text)) != NULL) {
		line_col(text, (size_t)(nul - text), &line, &col);
		report(c, "", "invalid JSON at line %u, column %u: \\u0000 in a string", line, col);
	} else {
		parse_root(c, root);
	}
	cJSON_Delete(root);
}

/* cJSON reads up to a NUL, so a NUL inside would hide what follows. */
static bool no_nul(struct ctx *c, const char *text, size_t len)
{
	const char *nul = len > 0 ? memchr(text, '\0', len) : NULL;
	unsigned line, col;

	if (nul == NULL)
		return true;
	line_col(text, (size_t)(nul - text), &line, &col);
	report(c, "", "invalid JSON at line %u, column %u: NUL byte", line, col);
	return false;
}

int config_parse(const char *json, size_t len, const char *base_dir, struct tether_config *cfg,
		 struct config_errors *errs)
{
	struct config_errors discard;
	struct ctx c = {cfg, errs != NULL ? errs : &discard, base_dir};
	char *text;

	memset(c.errs, 0, sizeof(*c.errs));
	config_defaults(cfg);
	arena.used = 0;
	if (json == NULL)
		len = 0;
	if (len > CONFIG_TEXT_MAX) {
		report(&c, "", "too large (at most %u bytes)", CONFIG_TEXT_MAX);
		return TETHER_ERR_CONFIG;
	}
	if (!no_nul(&c, json, len))
		return TETHER_ERR_CONFIG;
	text = cfg_malloc(len + 1);
	if (text == NULL) {
		report(&c, "", "out of memory");
		return TETHER_ERR_NOMEM;
	}
	if (len > 0)
		memcpy(text, json, len); /* json may be NULL when len is 0 */
	text[len] = '\0';
	parse_text(&c, text, len);
	cfg_free(text);
	return c.errs->count == 0 ? 0 : TETHER_ERR_CONFIG;
}

/*
 * Read all of fd into a new buffer with a NUL after the text (*out, freed
 * with cfg_free). Returns 0, EFBIG past CONFIG_TEXT_MAX (or past the reserve),
 * ENOMEM, or the errno of the failed read.
 */
static int read_all(int fd, char **out, size_t *out_len)
{
	size_t cap, len = 0;
	char *buf;

	/* One byte over the limit tells "too large" from "just fits". */
	if (arena.base != NULL) {
		/* All the arena has left, given back below once the size is known. */
		cap = arena.len - arena.used;
		if (cap > CONFIG_TEXT_MAX + 2)
			cap = CONFIG_TEXT_MAX + 2;
		if (cap < 2)
			return EFBIG;
		buf = (char *)arena.base + arena.used;
	} else {
		cap = CONFIG_TEXT_MAX + 2;
		buf = malloc(cap);
		if (buf == NULL)
			return ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno != 0 ? errno : EIO;

			cfg_free(arena.base != NULL ? NULL : buf);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap - 1) {
			cfg_free(arena.base != NULL ? NULL : buf);
			return EFBIG;
		}
	}
	buf[len] = '\0';
	if (arena.base != NULL)
		arena.used += (len + 1 + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	*out = buf;
	*out_len = len;
	return 0;
}

int config_load(const char *path, struct tether_config *cfg, struct config_errors *errs)
{
	struct config_errors discard;
	struct ctx c = {cfg, errs != NULL ? errs : &discard, NULL};
	char q[QUOTE_LEN * 2];
	char dir[TETHER_PATH_MAX];
	char *buf = NULL;
	char *slash;
	size_t len = 0;
	int fd, err;

	memset(c.errs, 0, sizeof(*c.errs));
	config_defaults(cfg);
	arena.used = 0;
	q[0] = '\0';
	clip_append(q, sizeof(q), path);

	/* The file's folder: "" for a bare name, "/" for a file at the root. */
	if (strlen(path) >= sizeof(dir)) {
		report(&c, "", "cannot read \"%s\": path too long", q);
		return TETHER_ERR_FILE;
	}
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		dir[0] = '\0';
	else
		slash[slash == dir ? 1 : 0] = '\0';

	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		report(&c, "", "cannot read \"%s\": %s", q, strerror(errno));
		return TETHER_ERR_FILE;
	}
	err = read_all(fd, &buf, &len);
	close(fd);
	if (err == EFBIG) {
		if (arena.base != NULL && arena.len < CONFIG_TEXT_MAX)
			report(&c, "",
			       "cannot read \"%s\": larger than the %lu bytes reserved at "
			       "start-up; restart to apply it",
			       q, (unsigned long)arena.len);
		else
			report(&c, "", "cannot read \"%s\": larger than %u bytes", q,
			       CONFIG_TEXT_MAX);
		return TETHER_ERR_FILE;
	}
	if (err != 0) {
		report(&c, "", "cannot read \"%s\": %s", q, strerror(err));
		return err == ENOMEM ? TETHER_ERR_NOMEM : TETHER_ERR_FILE;
	}
	c.base_dir = dir;
	if (no_nul(&c, buf, len))
		parse_text(&c, buf, len);
	cfg_free(buf);
	return c.errs->count == 0 ? 0 : TETHER_ERR_CONFIG;
}

int config_peer_index(const struct tether_config *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return -1;
	for (unsigned i = 0; i < cfg->n_peers; i++)
		if (strcmp(cfg->peers[i].name, name) == 0)
			return (int)i;
	return -1;
}
