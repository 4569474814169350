/* cmd_run.c: `tether run`: the agent. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/notify.h"
#include "core/log.h"
#include "core/node.h"
#include "port/port.h"

static const char run_usage[] =
	"usage: tether run [-c FILE]\n"
	"\n"
	"Run the agent with the config FILE (default " TETHER_DEFAULT_CONFIG ").\n"
	"Logs go to stderr, one key=value line per event.\n"
	"Signals: SIGTERM/SIGINT shut down gracefully (GOAWAY to peers, streams drain),\n"
	"SIGUSR1 logs status, SIGHUP is reserved for reload.\n";

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
		fprintf(stderr, "tether: user: no such user \"%s\"\n", user);
		return EXIT_USAGE;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "tether: user: cannot switch to \"%s\": %s\n", user,
			strerror(errno));
		return EXIT_RUNTIME;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static struct tether_config cfg;
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
	if (cli_load_config(path, &cfg) != 0)
		return EXIT_USAGE;
	ret = port_open(&port, tether_node_handles(&cfg));
	if (ret < 0) {
		fprintf(stderr, "tether: cannot start the event loop: %s\n", tether_err_str(ret));
		return EXIT_RUNTIME;
	}
	sink.port = port;
	sink.level = cfg.log_level;
	sink.json = cfg.log_format == TETHER_LOG_JSON;
	if (cli_crypto_init(tether_tls_heap_size(&cfg)) != 0)
		goto err0;
	mem_len = tether_node_mem_size(&cfg);
	mem = malloc(mem_len);
	if (mem == NULL) {
		fprintf(stderr, "tether: cannot allocate %zu bytes for the limits configured\n",
			mem_len);
		goto err1;
	}
	if (tether_node_init(&node, mem, mem_len, &cfg, port, err, sizeof(err)) != 0) {
		fprintf(stderr, "tether: %s\n", err);
		goto err2;
	}
	ret = tether_node_start(node, err, sizeof(err));
	node_started = ret == 0;
	if (ret != 0) {
		fprintf(stderr, "tether: %s: %s\n", path, err);
		/* Unusable certificates or keys are configuration errors. */
		code = ret == TETHER_ERR_CONFIG ? EXIT_USAGE : EXIT_RUNTIME;
		goto err3;
	}
	/* The status socket belongs to the user the agent runs as (its group may use it). */
	if (cfg.status[0] != '\0' && cfg.user[0] != '\0' && geteuid() == 0) {
		struct passwd *pw = getpwnam(cfg.user);

		if (pw != NULL && lchown(cfg.status, pw->pw_uid, pw->pw_gid) != 0) {
			fprintf(stderr, "tether: status: cannot give %s to \"%s\": %s\n",
				cfg.status, cfg.user, strerror(errno));
			code = EXIT_RUNTIME;
			goto err3;
		}
	}
	ret = drop_privileges(cfg.user);
	if (ret != 0) {
		code = ret;
		goto err3;
	}

	allocs_at_start = alloc_count_calls();
	/* Listening, and no longer root: the service manager may start what needs us. */
	notify_init(&nt, port, &sink, port_now_ms(port));
	notify_send(&nt, "READY=1");
	/*
	 * The loop is ours: the node reports what it leaves to us (reload, news
	 * for the service manager), and waits no longer than the watchdog allows.
	 */
	while ((ret = tether_node_step(node, notify_wait_ms(&nt, port_now_ms(port)))) > 0) {
		unsigned req = tether_node_requests(node);

		if (req & TETHER_REQ_STOPPING)
			notify_send(&nt, "STOPPING=1");
		/* Reload, once it exists, sends RELOADING=1 and READY=1 (cli/notify.h). */
		if (req & TETHER_REQ_RELOAD) {
			log_begin(&l, &sink, PORT_LOG_WARN, "reload");
			log_str(&l, "result", "not supported by this version; restart to reload");
			log_end(&l);
			/* A `tether reload` waiting on the status socket hears the same. */
			tether_node_reload_answer(
				node, false,
				"reload is not supported by this version; restart to reload");
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
	/* Ours only if we bound it: a live agent's socket is never taken over. */
	if (cfg.status[0] != '\0' && node_started)
		(void)unlink(cfg.status);
err2:
	free(mem);
err1:
	cli_crypto_done();
err0:
	port_close(port);
	return code;
}
