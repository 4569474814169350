/* cmd_run.c: `tether run`: the agent. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/notify.h"
#include "cli/watch.h"
#include "core/log.h"
#include "core/node.h"
#include "port/port.h"
#include "tether_version.h"

static const char run_usage[] =
	"usage: tether run [-c FILE]\n"
	"\n"
	"Run the agent with the config FILE (default " TETHER_DEFAULT_CONFIG ").\n"
	"Logs go to stderr, one key=value line per event.\n"
	"Signals: SIGTERM/SIGINT shut down gracefully (GOAWAY to peers, streams drain),\n"
	"SIGUSR1 logs status, SIGHUP reloads the config, certificates, key, CA and CRLs\n"
	"(as `tether reload` does).\n";

/*
 * Leave root after the listeners are bound and the key is read. Returns 0, or
 * the exit code: a user that does not exist is a config error.
 */
static int drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user[0] == '\0' || geteuid() != 0)
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		fprintf(stderr, "tether: user: no such user \"%s\"\n", cli_esc(user));
		return EXIT_USAGE;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "tether: user: cannot switch to \"%s\": %s\n", cli_esc(user),
			strerror(errno));
		return EXIT_RUNTIME;
	}
	return 0;
}

/* The loader's problems as `tether reload` prints them: "FILE: PATH: MESSAGE" per line. */
static void loader_problems(const char *path, const struct config_errors *errs, char *out,
			    size_t cap)
{
	unsigned i, shown = errs->count < sizeof(errs->e) / sizeof(errs->e[0])
				    ? errs->count
				    : sizeof(errs->e) / sizeof(errs->e[0]);
	size_t len = 0;

	out[0] = '\0';
	for (i = 0; i < shown && len < cap; i++) {
		const struct config_error *e = &errs->e[i];

		len += (size_t)snprintf(out + len, cap - len, "%s%s: %s%s%s", i > 0 ? "\n" : "",
					path, e->path, e->path[0] != '\0' ? ": " : "", e->message);
	}
	if (errs->count > shown && len < cap)
		snprintf(out + len, cap - len, "\n%s: ... and %u more problems", path,
			 errs->count - shown);
	if (errs->count == 0)
		snprintf(out, cap, "%s: cannot be loaded", path);
}

/*
 * Reload: the file into the spare config, then the node switches to it or
 * says why not. The service manager hears RELOADING=1, then READY=1.
 * Returns the config in use afterwards.
 */
static struct tether_config *reload(struct tether_node *node, struct notify *nt, const char *path,
				    struct tether_config *cur, struct tether_config *spare)
{
	static struct config_errors errs;
	static char problems[TETHER_RELOAD_TEXT];
	struct timespec ts;
	char msg[64];

	if (!TETHER_RELOAD) {
		fprintf(stderr, "tether: this build cannot reload (TETHER_RELOAD=0): restart it\n");
		return cur;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull +
			 (unsigned long long)ts.tv_nsec / 1000u);
	notify_send(nt, msg);
	if (config_load(path, spare, &errs) != 0) {
		loader_problems(path, &errs, problems, sizeof(problems));
		(void)tether_node_reload(node, NULL, problems);
	} else if (tether_node_reload(node, spare, NULL) == 0) {
		cur = spare;
	}
	notify_send(nt, "READY=1");
	return cur;
}

/* The loop may wait no longer than the earlier of a and b (-1: for ever). */
static int earlier(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

int cmd_run(int argc, char **argv)
{
	static struct tether_config cfgs[2];
	struct tether_config *cfgp = &cfgs[0];
	struct tether_config *spare = &cfgs[1];
	struct tether_config *const first = &cfgs[0];
	void *reserve = NULL;
	struct watch w;
	size_t reserve_len;
	struct stat sb;
	struct tether_node *node = NULL;
	struct port *port = NULL;
	const char *path;
	void *mem = NULL;
	size_t mem_len;
	unsigned long allocs_at_start;
	bool node_started = false;
	struct log_sink sink;
	struct log_line l;
	struct notify nt;
	char err[512];
	int ret, code = EXIT_RUNTIME;

	ret = cli_config_arg(argc, argv, run_usage, &path);
	if (ret != 0)
		return ret == 1 ? EXIT_OK : ret;
	if (cli_load_config(path, first) != 0)
		return EXIT_USAGE;
	ret = port_open(&port, tether_node_handles(first));
	if (ret < 0) {
		fprintf(stderr, "tether: cannot start the event loop: %s\n", tether_err_str(ret));
		return EXIT_RUNTIME;
	}
	sink.port = port;
	sink.level = first->log_level;
	sink.json = first->log_format == TETHER_LOG_JSON;
	if (cli_crypto_init(tether_tls_heap_size(first)) != 0)
		goto err0;
	mem_len = tether_node_mem_size(first);
	mem = malloc(mem_len);
	if (mem == NULL) {
		fprintf(stderr, "tether: cannot allocate %zu bytes for the limits configured\n",
			mem_len);
		goto err1;
	}
	if (tether_node_init(&node, mem, mem_len, first, port, err, sizeof(err)) != 0) {
		fprintf(stderr, "tether: %s\n", cli_esc(err));
		goto err2;
	}
	ret = tether_node_start(node, err, sizeof(err));
	node_started = ret == 0;
	if (ret != 0) {
		fprintf(stderr, "tether: %s: %s\n", cli_esc(path), cli_esc(err));
		/* Unusable certificates or keys are configuration errors. */
		code = ret == TETHER_ERR_CONFIG ? EXIT_USAGE : EXIT_RUNTIME;
		goto err3;
	}
	/* The status socket belongs to the user the agent runs as (its group may use it). */
	if (first->status[0] != '\0' && first->user[0] != '\0' && geteuid() == 0) {
		struct passwd *pw = getpwnam(first->user);

		if (pw != NULL && lchown(first->status, pw->pw_uid, pw->pw_gid) != 0) {
			fprintf(stderr, "tether: status: cannot give %s to \"%s\": %s\n",
				cli_esc(first->status), cli_esc(first->user), strerror(errno));
			code = EXIT_RUNTIME;
			goto err3;
		}
	}
	ret = drop_privileges(first->user);
	if (ret != 0) {
		code = ret;
		goto err3;
	}

	/* Reloads parse within a reserve taken now: no allocation once running. */
	if (stat(path, &sb) == 0 && sb.st_size > 0)
		reserve_len = config_reserve_size((size_t)sb.st_size);
	else
		reserve_len = config_reserve_size(0);
	reserve = malloc(reserve_len);
	if (reserve == NULL) {
		fprintf(stderr, "tether: cannot allocate %zu bytes to reload configs in\n",
			reserve_len);
		goto err3;
	}
	config_reserve(reserve, reserve_len);
	watch_init(&w, path, cfgp, cfgp->reload_watch_s, port_now_ms(port));

	/* A CRL from a peer is written over these files, by the user we now run as. */
	for (unsigned i = 0; i < cfgp->identity.n_crl; i++) {
		const char *crl = cfgp->identity.crl[i];
		const char *slash = strrchr(crl, '/');
		char dir[TETHER_PATH_MAX];

		snprintf(dir, sizeof(dir), "%.*s",
			 slash == NULL	? 1
			 : slash == crl ? 1
					: (int)(slash - crl),
			 slash == NULL ? "." : crl);
		if (access(crl, W_OK) != 0 || access(dir, W_OK) != 0) {
			log_begin(&l, &sink, PORT_LOG_WARN, "crl_not_writable");
			log_str(&l, "path", crl);
			log_str(&l, "reason",
				"this user cannot replace it: newer CRLs from peers will be "
				"refused");
			log_end(&l);
		}
	}
	/* Every validity check depends on the clock: one obviously wrong is said at once. */
	if (port_wall_s(port) < TETHER_BUILD_DAY) {
		log_begin(&l, &sink, PORT_LOG_ERROR, "clock_before_build");
		log_i64(&l, "now", port_wall_s(port));
		log_i64(&l, "built", TETHER_BUILD_DAY);
		log_str(&l, "reason",
			"the wall clock reads earlier than the day this binary was built: "
			"certificate validity is judged by it");
		log_end(&l);
	}
	allocs_at_start = alloc_count_calls();
	/* Listening, and no longer root: the service manager may start what needs us. */
	notify_init(&nt, port, &sink, port_now_ms(port));
	notify_send(&nt, "READY=1");
	/*
	 * The loop is ours: the node reports what it leaves to us (reload, news
	 * for the service manager), and waits no longer than the watchdog and
	 * the file check allow.
	 */
	for (;;) {
		uint64_t now = port_now_ms(port);
		unsigned req;

		ret = tether_node_step(node,
				       earlier(notify_wait_ms(&nt, now), watch_wait_ms(&w, now)));
		if (ret <= 0)
			break;
		now = port_now_ms(port);
		req = tether_node_requests(node);
		if (req & TETHER_REQ_STOPPING)
			notify_send(&nt, "STOPPING=1");
		if ((req & TETHER_REQ_RELOAD) || watch_check(&w, path, cfgp, now)) {
			struct tether_config *was = cfgp;

			cfgp = reload(node, &nt, path, cfgp, spare);
			if (cfgp != was)
				spare = was;
			sink.level = cfgp->log_level;
			sink.json = cfgp->log_format == TETHER_LOG_JSON;
			/* The files as the reload saw them: a failure waits for the next change. */
			watch_rearm(&w, path, cfgp, cfgp->reload_watch_s, port_now_ms(port));
		}
		notify_watchdog(&nt, port_now_ms(port));
	}
	log_begin(&l, &sink, PORT_LOG_INFO, "exit");
	log_u64(&l, "allocs_after_start", alloc_count_calls() - allocs_at_start);
	log_str(&l, "result", ret == 0 ? "ok" : tether_err_str(ret));
	log_end(&l);
	code = ret == 0 ? EXIT_OK : EXIT_RUNTIME;
err3:
	tether_node_free(node);
	config_reserve(NULL, 0);
	free(reserve);
	/* Ours only if we bound it: a live agent's socket is never taken over. */
	if (cfgp->status[0] != '\0' && node_started)
		(void)unlink(cfgp->status);
err2:
	free(mem);
err1:
	cli_crypto_done();
err0:
	port_close(port);
	return code;
}
