/*
 * cmd_status.c: `tether status`, `tether reload` and `tether renew`: one request to the
 * running agent over its status socket, the answer printed.
 *
 * The socket speaks one line each way and then the body: the client sends
 * "status", "table", "metrics", "reload" or "renew"; the agent answers a
 * first line "ok", "refused", "failed" or "error", then the text, and closes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"

static const char status_usage[] =
	"usage: tether status [-c FILE | -s SOCKET] [--json | --prometheus]\n"
	"\n"
	"Ask the running agent for its status through its status socket (the config's\n"
	"\"status\", from FILE, default " TETHER_DEFAULT_CONFIG ", or SOCKET): a table of the\n"
	"node, every configured peer, pools and handshake failures; --json the same as\n"
	"one JSON document; --prometheus the metrics text.\n"
	"Exit 0 with the answer, 1 if no agent answers, 2 for a usage or config error.\n";

static const char renew_usage[] =
	"usage: tether renew [-c FILE | -s SOCKET]\n"
	"\n"
	"Ask the running agent to renew its certificate now through the peer its config's\n"
	"\"renew\" names (as it does by itself when the certificate is due), through its\n"
	"status socket, and print the outcome. Exit 0 renewed, 1 no agent answers or the\n"
	"renewal failed (the agent keeps its certificate and retries), 2 this node does not\n"
	"renew (no \"renew\" in its config) or a usage error.\n";

static const char reload_usage[] =
	"usage: tether reload [-c FILE | -s SOCKET]\n"
	"\n"
	"Ask the running agent to reload its config and identity, through its status\n"
	"socket, and print the outcome. Exit 0 reloaded, 1 no agent answers, 2 the reload\n"
	"was refused (the agent keeps running on what it had).\n";

/* The socket path: -s, or the config's "status". 0, or an exit code. */
/*
 * The agent's socket: -s, else the config's "status". For a reload, a config
 * with problems still names the socket when its "status" was read: the agent
 * then refuses the reload and lists the problems itself (and logs them).
 */
static int socket_path(const char *cfg_path, const char *sock, bool lenient, char *out, size_t len)
{
	static struct tether_config cfg;
	static struct config_errors errs;

	if (sock != NULL) {
		snprintf(out, len, "%s", sock);
		return 0;
	}
	if (config_load(cfg_path, &cfg, &errs) != 0 && !(lenient && cfg.status[0] != '\0') &&
	    cli_load_config(cfg_path, &cfg) != 0)
		return EXIT_USAGE;
	if (cfg.status[0] == '\0') {
		fprintf(stderr, "tether: %s: no \"status\" socket is configured\n",
			cli_esc(cfg_path));
		return EXIT_USAGE;
	}
	snprintf(out, len, "%s", cfg.status);
	return 0;
}

/* Send request, print the body to stdout; the first line's word in word. */
static int ask(const char *path, const char *request, char *word, size_t wlen)
{
	static char buf[65536];
	struct sockaddr_un sa;
	size_t have = 0;
	char *nl;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tether: %s: socket path too long\n", cli_esc(path));
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		/* An agent that is stopped (SIGSTOP) or stuck must not hang us. */
		struct timeval tv = {10, 0};

		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr,
			"tether: no agent answers on %s: %s (is it running, with \"status\" "
			"set?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_RUNTIME;
	}
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		fprintf(stderr, "tether: %s: cannot send the request: %s\n", cli_esc(path),
			strerror(errno));
		close(fd);
		return EXIT_RUNTIME;
	}
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "tether: %s: the answer was cut off: %s\n", cli_esc(path),
				errno == EAGAIN || errno == EWOULDBLOCK ? "no answer within 10 s"
									: strerror(errno));
			close(fd);
			return EXIT_RUNTIME;
		}
		if (r == 0)
			break;
		have += (size_t)r;
		if (have == sizeof(buf) - 1) {
			fprintf(stderr, "tether: %s: the answer is longer than %lu bytes\n",
				cli_esc(path), (unsigned long)(sizeof(buf) - 1));
			close(fd);
			return EXIT_RUNTIME;
		}
	}
	close(fd);
	buf[have] = '\0';
	nl = strchr(buf, '\n');
	if (nl == NULL) {
		fprintf(stderr, "tether: %s: the agent closed without an answer\n", cli_esc(path));
		return EXIT_RUNTIME;
	}
	*nl = '\0';
	snprintf(word, wlen, "%.15s", buf);
	fputs(nl + 1, strcmp(buf, "ok") == 0 ? stdout : stderr);
	return 0;
}

static int parse_args(int argc, char **argv, const char *usage, bool formats, const char **cfg,
		      const char **sock, const char **request)
{
	int i;

	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-s") == 0) && i + 1 < argc) {
			*(argv[i][1] == 'c' ? cfg : sock) = argv[i + 1];
			i++;
		} else if (formats && strcmp(argv[i], "--json") == 0) {
			*request = "status\n";
		} else if (formats && strcmp(argv[i], "--prometheus") == 0) {
			*request = "metrics\n";
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return -1;
		} else {
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* Parse, find the socket, ask; exit 0 on "ok", 1 on failed_word (if any), else refused_code. */
static int request_cmd(int argc, char **argv, const char *usage, bool formats, const char *request,
		       int refused_code, bool lenient, const char *failed_word)
{
	const char *cfg = TETHER_DEFAULT_CONFIG, *sock = NULL;
	char path[256], word[16];
	int ret = parse_args(argc, argv, usage, formats, &cfg, &sock, &request);

	if (ret != 0)
		return ret < 0 ? EXIT_OK : ret;
	ret = socket_path(cfg, sock, lenient, path, sizeof(path));
	if (ret != 0)
		return ret;
	ret = ask(path, request, word, sizeof(word));
	if (ret != 0)
		return ret;
	if (strcmp(word, "ok") == 0)
		return EXIT_OK;
	return failed_word != NULL && strcmp(word, failed_word) == 0 ? EXIT_RUNTIME : refused_code;
}

int cmd_status(int argc, char **argv)
{
	return request_cmd(argc, argv, status_usage, true, "table\n", EXIT_RUNTIME, false, NULL);
}

int cmd_renew(int argc, char **argv)
{
	/* "failed": the agent tried and failed; anything else: it does not renew. */
	return request_cmd(argc, argv, renew_usage, false, "renew\n", EXIT_USAGE, false, "failed");
}

int cmd_reload(int argc, char **argv)
{
	/* Refused: the agent keeps running on what it had (tether's "usage or config" code). */
	return request_cmd(argc, argv, reload_usage, false, "reload\n", EXIT_USAGE, true, NULL);
}
