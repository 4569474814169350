/* cmd_check.c: `tether check`: validate config and certificates, list every problem. */
#include <stdio.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "cli/cli.h"
#include "core/edge.h"
#include "core/renew.h"
#include "core/identity.h"
#include "core/tls.h"
#include "port/port.h"

static const char check_usage[] =
	"usage: tether check [-c FILE]\n"
	"\n"
	"Validate the config FILE (default " TETHER_DEFAULT_CONFIG ") and the certificates,\n"
	"key, CA and CRL it names. Prints the node's identity and expiry, and every problem\n"
	"found with its JSON path. Exit 0 if all is well, 2 if anything is wrong.\n";

/* "  san: URI:spiffe://...", "  not after: 2027-01-01 00:00:00 UTC (...)". */
static const struct cli_cert_layout check_layout = {
	.indent = 2, .width = 0, .uri = "san: URI:", .dns = "san: DNS:", .ip = NULL};

static void print_time(const char *label, const mbedtls_x509_time *t, int64_t now)
{
	int64_t d = tls_time_unix(t) - now;

	cli_print_time(&check_layout, label, t);
	printf(" (%lld days %s)\n", (long long)((d < 0 ? -d : d) / 86400), d < 0 ? "ago" : "left");
}

static void print_problem(void *ctx, const char *path, const char *what)
{
	(void)ctx;
	printf("problem: %s: %s\n", path, cli_esc(what));
}

/* Own certificate and CA: what run and reload refuse (tls_material_check) is a problem. */
static unsigned check_material(const struct tls_material *t, const struct tether_config *cfg,
			       int64_t now)
{
	char buf[256];
	uint8_t pin[32];
	const mbedtls_x509_crt *c;
	int n = 0;
	unsigned i, problems;

	printf("certificate: %s\n", cli_esc(cfg->identity.cert));
	if (mbedtls_x509_dn_gets(buf, sizeof(buf), &t->own.subject) > 0)
		printf("  subject: %s\n", cli_esc(buf));
	if (identity_describe(&t->own, buf, sizeof(buf)) == 0)
		printf("  identity: %s\n", cli_esc(buf));
	cli_print_sans(&t->own, &check_layout);
	print_time("not before: ", &t->own.valid_from, now);
	print_time("not after: ", &t->own.valid_to, now);
	if (identity_spki_sha256(&t->own, pin) == 0 &&
	    identity_pin_format(pin, buf, sizeof(buf)) == 0)
		printf("  pin: %s\n", buf);
	printf("ca: %s\n", cli_esc(cfg->identity.ca));
	for (c = &t->ca; c != NULL && c->raw.p != NULL; c = c->next) {
		n++;
		if (mbedtls_x509_dn_gets(buf, sizeof(buf), &c->subject) > 0)
			printf("  [%d] subject: %s\n", n, cli_esc(buf));
		print_time("not after: ", &c->valid_to, now);
	}
	for (i = 0; i < cfg->identity.n_crl; i++)
		printf("crl: %s\n", cli_esc(cfg->identity.crl[i]));
	problems = tls_material_check(t, now, print_problem, NULL);
	if (problems == 0 &&
	    tls_time_unix(&t->own.valid_to) - now < (int64_t)cfg->identity.warn_days * 86400)
		printf("warning: identity.cert: expires in less than %u days\n",
		       (unsigned)cfg->identity.warn_days);
	return problems;
}

#if TETHER_EDGES
/* One route: what it will accept, and the problems of its own files. */
static unsigned check_edge(const struct tether_config *cfg, unsigned i, struct port *port,
			   unsigned char *scratch)
{
	const struct tether_edge_cfg *e = &cfg->edges[i];
	const char *ver = cfg->tls.min_version == TETHER_TLS_1_2 ? "TLS 1.3 or 1.2" : "TLS 1.3";
	char err[512], pin[IDENTITY_PIN_STR_MAX];
	unsigned k;

	if (e->mode == TETHER_EDGE_TLS_IN) {
		printf("edges[%u] tls-in %s -> %s%s\n", i, cli_esc(e->listen), cli_esc(e->target),
		       e->proxy_v2 ? " (PROXY v2 header first)" : "");
		printf("  accepts: %s clients whose certificate chains to %s%s and is one of:\n",
		       ver, cli_esc(e->ca),
		       strcmp(e->ca, cfg->identity.ca) == 0 && cfg->identity.n_crl > 0
			       ? " (checked against identity.crl)"
			       : "");
		for (k = 0; k < e->n_allow; k++) {
			if (e->allow[k].is_pin &&
			    identity_pin_format(e->allow[k].pin, pin, sizeof(pin)) == 0)
				printf("    key %s\n", pin);
			else if (!e->allow[k].is_pin)
				printf("    identity %s\n", cli_esc(e->allow[k].id));
		}
		printf("  presents: %s\n", e->cert[0] ? cli_esc(e->cert) : "identity.cert");
	} else {
		printf("edges[%u] tls-out %s -> %s\n", i, cli_esc(e->listen), cli_esc(e->connect));
		printf("  accepts: a %s server whose ECDSA certificate chains to %s and names "
		       "%s%s%s\n",
		       ver, cli_esc(e->ca), cli_esc(e->server_name),
		       e->has_pin ? ", with key " : "",
		       e->has_pin && identity_pin_format(e->pin, pin, sizeof(pin)) == 0 ? pin : "");
		printf("  presents: %s\n", e->cert[0] ? cli_esc(e->cert) : "identity.cert");
	}
	if (edge_route_check(cfg, i, port, scratch, err, sizeof(err)) != 0) {
		printf("problem: %s\n", cli_esc(err));
		return 1;
	}
	return 0;
}
#endif
/* "issuer": what run and reload load (issuer_load), checked the same way. */
static unsigned check_renew(const struct tls_material *t, const struct tether_config *cfg,
			    struct port *port, unsigned char *scratch, size_t len)
{
#if TETHER_RENEW
	struct issuer_material im;
	char err[512];

	if (cfg->renew.on && cfg->renew.before_days > 0)
		printf("renew: through %s, %u days before expiry\n",
		       cfg->peers[cfg->renew.peer].name, (unsigned)cfg->renew.before_days);
	else if (cfg->renew.on)
		printf("renew: through %s, at a third of the lifetime left\n",
		       cfg->peers[cfg->renew.peer].name);
	if (!cfg->issuer.on)
		return 0;
	printf("issuer: %s, %u days\n", cli_esc(cfg->issuer.cert), (unsigned)cfg->issuer.days);
	if (issuer_load(&im, &cfg->issuer, &t->ca, port_wall_s(port), port, scratch, len, err,
			sizeof(err)) != 0) {
		printf("problem: %s\n", cli_esc(err));
		return 1;
	}
	issuer_free(&im);
#else
	(void)t;
	(void)cfg;
	(void)port;
	(void)scratch;
	(void)len;
#endif
	return 0;
}

int cmd_check(int argc, char **argv)
{
	static struct tether_config cfg;
	static unsigned char scratch[TETHER_FILE_MAX];
	static struct tls_material t;
	struct port *port = NULL;
	const char *path;
	unsigned problems, i;
	char err[512];
	int ret;

	ret = cli_config_arg(argc, argv, check_usage, &path);
	if (ret != 0)
		return ret == 1 ? EXIT_OK : ret;
	problems = cli_load_config(path, &cfg);
	if (problems != 0) {
		printf("%s: %u problem%s\n", cli_esc(path), problems, problems == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	printf("config: %s: ok\nnode: %s\n", cli_esc(path), cfg.node);
	if (port_open(&port, 8) != 0 || cli_crypto_init(256 * 1024) != 0) {
		port_close(port);
		return EXIT_RUNTIME;
	}
	ret = tls_material_load(&t, &cfg.identity, port, scratch, sizeof(scratch), err,
				sizeof(err));
	if (ret != 0) {
		printf("problem: %s\n", cli_esc(err));
		problems++;
	} else {
		problems += check_material(&t, &cfg, port_wall_s(port));
		problems += check_renew(&t, &cfg, port, scratch, sizeof(scratch));
		tls_material_free(&t);
	}
	for (i = 0; i < cfg.n_peers; i++) {
		const struct tether_peer_cfg *p = &cfg.peers[i];

		printf("peer %s: %s, id %s%s\n", p->name,
		       p->connect[0] ? cli_esc(p->connect) : "accept only", cli_esc(p->id),
		       p->has_pin ? ", pinned" : "");
	}
#if TETHER_EDGES
	for (i = 0; i < cfg.n_edges; i++)
		problems += check_edge(&cfg, i, port, scratch);
#endif
	cli_crypto_done();
	port_close(port);
	if (problems != 0) {
		printf("%s: %u problem%s\n", cli_esc(path), problems, problems == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	printf("%s: ok\n", cli_esc(path));
	return EXIT_OK;
}
