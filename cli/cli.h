/* cli.h: the tether program's commands and what they share. */
#ifndef TETHER_CLI_H
#define TETHER_CLI_H

#include <stddef.h>

#include <mbedtls/x509_crt.h>

#include "config/config.h"

#define TETHER_DEFAULT_CONFIG "/etc/tether/tether.json"

/* Exit codes (README): */
#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_renew(int argc, char **argv);

/*
 * cli_config_arg: parse "[-c FILE] [--help]" for run and check. Returns 0 and
 * sets *path, 1 if help was printed, or EXIT_USAGE after printing the problem.
 */
int cli_config_arg(int argc, char **argv, const char *usage, const char **path);

/*
 * cli_esc: s escaped for a terminal, as a log line's quoted value would show
 * it (core/textbuf.c tb_text: \xNN for control bytes, C1 bytes and every byte
 * of 0x80 and above, \" and \\). Every string from outside that the cli
 * prints (paths, names, certificate text, messages that carry them) goes
 * through it. Eight calls' results stay valid at once (static storage).
 */
const char *cli_esc(const char *s);

/*
 * cli_load_config: load path into cfg; print every problem as
 * "tether: FILE: PATH: MESSAGE" on stderr. Returns the number of problems.
 */
unsigned cli_load_config(const char *path, struct tether_config *cfg);

/*
 * cli_crypto_init: give mbedTLS its heap (heap_len bytes, allocated once) and
 * start PSA. Returns 0 or prints why and returns -1. cli_crypto_done() wipes
 * and frees it.
 */
int cli_crypto_init(size_t heap_len);
void cli_crypto_done(void);

/*
 * How a command lays out a certificate's lines (`tether check` and `tether pki
 * show` each keep their own): indent spaces, then a label padded to width
 * columns, then the value.
 */
struct cli_cert_layout {
	int indent;
	int width;
	const char *uri; /* labels of URI, DNS and IPv4 SANs; NULL leaves that kind out */
	const char *dns;
	const char *ip;
};

/*
 * cli_print_sans: one line per URI, DNS or IPv4 subjectAltName of crt that
 * layout has a label for, in certificate order; bytes outside printable
 * ASCII are printed as '?'.
 */
void cli_print_sans(const mbedtls_x509_crt *crt, const struct cli_cert_layout *layout);

/*
 * cli_print_time: the label as layout says, then t as "YYYY-MM-DD hh:mm:ss UTC".
 * No newline: the caller may add to the line, and ends it.
 */
void cli_print_time(const struct cli_cert_layout *layout, const char *label,
		    const mbedtls_x509_time *t);

/* Allocation counting (alloc_count.c): calls to malloc/calloc/realloc/free so far. */
unsigned long alloc_count_calls(void);

#endif
