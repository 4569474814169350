/* cmd_pki.h: `tether pki`, a small certificate authority for a tether fleet. */
#ifndef TETHER_CMD_PKI_H
#define TETHER_CMD_PKI_H

/*
 * cmd_pki: run `tether pki ...`. argv[0] is "pki" (ignored), argv[1] the
 * subcommand (ca, issue, show, --help). Sets up mbedTLS's heap and PSA itself
 * and tears both down before returning. Returns the process exit code: 0 ok,
 * 1 run-time failure, 2 usage error.
 */
int cmd_pki(int argc, char **argv);

#endif
