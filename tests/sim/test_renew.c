/*
 * Sim: renewal through the mesh on the virtual clock (project issue 10,
 * docs/PROTOCOL.md section 12, capability RENEW), mbedTLS's time following it.
 *
 * hub issues with its own issuing CA (trusted by everyone beside the sim's CA)
 * for gw1 and gw2, "days" 3; gw1 and gw2 start with 3-day certificates and
 * renew through hub at a third of the lifetime left. Over a virtual week
 * each renews by itself again and again (every ~2 days, with jitter), no
 * renewal fails, every issuance is logged, the files on the port are the new
 * pair (the key private), and each new certificate is for the same identity
 * and chains to the issuing CA. Then hub goes down right after a renewal:
 * when gw1's certificate is due, its renewals fail ("issuer unreachable")
 * and are retried; hub comes back and gw1 renews before its certificate
 * expires.
 */
#include "tests/sim/sim_test.h"

#include <mbedtls/x509_crt.h>

#include "core/tls.h"
#include "pki/pki_set.h"
#include "port/port.h"

#define DAY_MS (86400ull * 1000ull)
#define FILE_CAP 4096

static int hub, gw[2];
static struct pki_set_ca iss;
static unsigned char iss_crt[2048], iss_key[PKI_KEY_PEM_MAX], bundle[4096];
/* For each gateway: cert, key, and their .next and .prev, each writable. */
static unsigned char files[2][6][FILE_CAP];
static char paths[2][6][TETHER_PATH_MAX + 8];

static int put_iss(void *ctx, const char *name, const char *kind, const unsigned char *pem,
		   size_t len)
{
	(void)ctx, (void)name;
	if (strcmp(kind, "crt") != 0 || len >= sizeof(iss_crt))
		return -1;
	memcpy(iss_crt, pem, len + 1);
	return 0;
}

static bool all_up(void *ctx)
{
	(void)ctx;
	return sim_count(0, hub, "session_up", NULL) >= 2 &&
	       sim_count(0, gw[0], "session_up", NULL) >= 1 &&
	       sim_count(0, gw[1], "session_up", NULL) >= 1;
}

/* The certificate node i's file holds now, parsed; its key file private. */
static void read_cert(int k, mbedtls_x509_crt *crt)
{
	static unsigned char buf[FILE_CAP];
	size_t len = 0;

	sim_check(port_read_file(sim_app_port(), paths[k][0], buf, sizeof(buf), &len) == 0);
	mbedtls_x509_crt_init(crt);
	sim_check(mbedtls_x509_crt_parse(crt, buf, len + 1) == 0);
	sim_check(port_file_private(sim_app_port(), paths[k][1]) == 0);
}

static void setup_world(void)
{
	static const char *const suffix[6] = {"", "", ".next", ".next", ".prev", ".prev"};
	int64_t now = port_mem_wall_s();
	size_t len = 0, ca_len;
	unsigned k, f;

	hub = sim_add("hub", true);
	gw[0] = sim_add("gw1", false);
	gw[1] = sim_add("gw2", false);
	for (k = 0; k < 2; k++) {
		sim_peer(hub, gw[k], false);
		sim_peer(gw[k], hub, true);
		sim_check(sim_issue(gw[k], now - 3600, now + 3 * 86400) == 0);
	}
	sim_check(sim_issue(hub, now - 3600, now + 60 * 86400) == 0);
	/* The issuing CA: its certificate and key as the hub's files; trusted by all. */
	pki_set_ca_init(&iss);
	sim_check(pki_set_ca_make(&iss, "sim issuing CA", now - 3600, now + 365 * 86400, put_iss,
				  NULL) == 0);
	sim_check(pki_key_write_pem(&iss.key, iss_key, sizeof(iss_key)) == 0);
	sim_check(port_mem_file_add("/iss.crt", iss_crt, strlen((char *)iss_crt), 0644) == 0);
	sim_check(port_mem_file_add("/iss.key", iss_key, strlen((char *)iss_key), 0600) == 0);
	sim_check(port_read_file(sim_app_port(), sim_cfg(hub)->identity.ca, bundle, sizeof(bundle),
				 &ca_len) == 0);
	len = strlen((char *)iss_crt);
	sim_check(ca_len + len < sizeof(bundle));
	memcpy(bundle + ca_len, iss_crt, len + 1);
	sim_check(port_mem_file_add("/bundle.crt", bundle, ca_len + len, 0644) == 0);
	snprintf(sim_cfg(hub)->identity.ca, TETHER_PATH_MAX, "/bundle.crt");

	sim_cfg(hub)->issuer.on = true;
	snprintf(sim_cfg(hub)->issuer.cert, TETHER_PATH_MAX, "/iss.crt");
	snprintf(sim_cfg(hub)->issuer.key, TETHER_PATH_MAX, "/iss.key");
	sim_cfg(hub)->issuer.days = 3;
	for (k = 0; k < 2; k++) {
		struct tether_config *c = sim_cfg(gw[k]);
		size_t have;

		snprintf(c->identity.ca, TETHER_PATH_MAX, "/bundle.crt");
		c->renew.on = true;
		c->renew.peer = (uint16_t)config_peer_index(c, "hub");
		sim_cfg(hub)->issuer.allow[sim_cfg(hub)->issuer.n_allow++] =
			(uint16_t)config_peer_index(sim_cfg(hub), k == 0 ? "gw1" : "gw2");
		for (f = 0; f < 6; f++) {
			snprintf(paths[k][f], sizeof(paths[k][f]), "%s%s",
				 f % 2 == 0 ? c->identity.cert : c->identity.key, suffix[f]);
			if (f < 2) {
				/* The current files: their bytes into our buffers, writable. */
				sim_check(port_read_file(sim_app_port(), paths[k][f], files[k][f],
							 FILE_CAP, &have) == 0);
				sim_check(port_mem_file_add(paths[k][f], files[k][f], have,
							    f == 1 ? 0600 : 0644) == 0);
			} else {
				sim_check(port_mem_file_add(paths[k][f], files[k][f], 0,
							    f % 2 ? 0600 : 0644) == 0);
			}
			sim_check(port_mem_file_writable(paths[k][f], files[k][f], FILE_CAP) == 0);
		}
	}
	/* Few keepalives over days of virtual time. */
	for (k = 0; k < 3; k++) {
		struct tether_config *c = sim_cfg(k == 0 ? hub : gw[k - 1]);

		c->keepalive_interval_ms = 600000;
		c->keepalive_timeout_ms = 1800000;
	}
	sim_check(sim_start(hub) == 0);
	sim_check(sim_start(gw[0]) == 0);
	sim_check(sim_start(gw[1]) == 0);
	sim_check(sim_run_until(all_up, NULL, 20000) == 0);
}

static void test_week_of_renewals(void **state)
{
	mbedtls_x509_crt crt;
	char cn[64];
	unsigned k, total = 0;

	(void)state;
	setup_world();
	sim_check(sim_run_for(7 * DAY_MS) == 0);
	for (k = 0; k < 2; k++) {
		unsigned n = sim_count(0, gw[k], "renewed", "peer=hub");

		/* Due two days into each 3-day certificate, less up to 2.4 h of jitter. */
		sim_check(n >= 3 && n <= 4);
		sim_check_eq(sim_count(0, gw[k], "renew_failed", NULL), 0);
		total += n;
		read_cert((int)k, &crt);
		snprintf(cn, sizeof(cn), "CN=gw%u", k + 1);
		{
			char dn[128];

			sim_check(mbedtls_x509_dn_gets(dn, sizeof(dn), &crt.subject) > 0);
			sim_check(strcmp(dn, cn) == 0);
			sim_check(mbedtls_x509_dn_gets(dn, sizeof(dn), &crt.issuer) > 0);
			sim_check(strcmp(dn, "CN=sim issuing CA") == 0);
		}
		sim_check(mbedtls_x509_crt_verify(&crt, &iss.crt, NULL, NULL, &(uint32_t){0}, NULL,
						  NULL) == 0);
		/* Valid for more than a day still: renewed before a third was left. */
		sim_check(tls_time_unix(&crt.valid_to) - port_mem_wall_s() > 86400);
		mbedtls_x509_crt_free(&crt);
	}
	sim_check_eq(sim_count(0, hub, "cert_issued", NULL), total);
	sim_check_eq(sim_count(0, hub, "renew_refused", NULL), 0);
	sim_end();
	pki_set_ca_free(&iss);
}

static void test_issuer_down_then_back(void **state)
{
	unsigned from, fails;

	(void)state;
	setup_world();
	/* The first renewals (two days in), then the hub goes down. */
	sim_check(sim_run_for(2 * DAY_MS + 60000) == 0);
	sim_check_eq(sim_count(0, gw[0], "renewed", NULL), 1);
	sim_crash(hub);
	from = sim_mark();
	/* gw1's new certificate is due two days later: failures, retried with back-off. */
	sim_check(sim_run_for(2 * DAY_MS + 4 * 3600 * 1000ull) == 0);
	fails = sim_count(from, gw[0], "renew_failed", "issuer unreachable");
	sim_check(fails >= 2);
	sim_check_eq(sim_count(from, gw[0], "renewed", NULL), 0);
	sim_check_eq(sim_count(from, gw[0], "cert_expired", NULL), 0);
	/* The hub back: gw1 renews as soon as its session is up, before its certificate ends. */
	from = sim_mark();
	sim_check(sim_start(hub) == 0);
	sim_check(sim_run_for(120000) == 0);
	sim_check_eq(sim_count(from, gw[0], "renewed", "peer=hub"), 1);
	sim_check_eq(sim_count(from, gw[0], "cert_expired", NULL), 0);
	sim_end();
	pki_set_ca_free(&iss);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_week_of_renewals, sim_test_setup),
		cmocka_unit_test_setup(test_issuer_down_then_back, sim_test_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
