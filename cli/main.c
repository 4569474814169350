/* main.c: `tether COMMAND [ARGS]`. */
#include <stdio.h>
#include <string.h>

#include "base/opts.h"
#include "cli/cli.h"
#include "cli/cmd_pki.h"

static void usage(FILE *f)
{
	fputs("usage: tether COMMAND [OPTIONS]\n"
	      "\n"
	      "commands:\n"
	      "  run [-c FILE]     run the agent (default config " TETHER_DEFAULT_CONFIG ")\n"
	      "  check [-c FILE]   validate the config and certificates, list every problem\n"
	      "  status [-c FILE]  the running agent's status (--json, --prometheus)\n"
	      "  reload [-c FILE]  ask the running agent to reload\n"
	      "  renew [-c FILE]   ask the running agent to renew its certificate now\n"
#if TETHER_DEMO
	      "  demo              two nodes on loopback with a throwaway PKI, data through a "
	      "stream\n"
#endif
	      "  pki ...           create a CA, issue node certificates, show a certificate\n"
	      "  version           versions, dependency sources and TLS features\n"
	      "\n"
	      "`tether COMMAND --help` describes one command.\n"
	      "exit codes: 0 success, 1 run-time failure, 2 usage or config error\n",
	      f);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (cmd == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(cmd, "reload") == 0)
		return cmd_reload(argc - 1, argv + 1);
	if (strcmp(cmd, "renew") == 0)
		return cmd_renew(argc - 1, argv + 1);
#if TETHER_DEMO
	if (strcmp(cmd, "demo") == 0)
		return cmd_demo(argc - 1, argv + 1);
#endif
	if (strcmp(cmd, "pki") == 0)
		return cmd_pki(argc - 1, argv + 1);
	fprintf(stderr, "tether: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
