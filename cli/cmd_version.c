/* cmd_version.c: `tether version`. */
#include <stdio.h>
#include <string.h>

#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/version.h>

#include "cli/cli.h"
#include "base/opts.h"
#include "tether_version.h"

int cmd_version(int argc, char **argv)
{
	char mbed[32];
	const int *ids;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		puts("usage: tether version\n\nPrint tether's version, its dependencies' "
		     "versions,\n"
		     "where their sources came from (with SHA-256), and the TLS features built "
		     "in.");
		return EXIT_OK;
	}
	if (argc > 1) {
		fprintf(stderr, "tether version: unexpected argument \"%s\"\n", argv[1]);
		return EXIT_USAGE;
	}
	mbedtls_version_get_string(mbed);
	printf("tether %s (board %s, port %s)\n", TETHER_VERSION, TETHER_BOARD, TETHER_PORT);
	printf("mbedtls %s  source %s %s sha256 %s\n", mbed, TETHER_MBEDTLS_SOURCE,
	       TETHER_MBEDTLS_FILE, TETHER_MBEDTLS_SHA256);
	printf("cjson %s  source %s %s sha256 %s\n", TETHER_CJSON_VERSION, TETHER_CJSON_SOURCE,
	       TETHER_CJSON_FILE, TETHER_CJSON_SHA256);
	printf("tls: versions 1.3");
#if defined(MBEDTLS_SSL_PROTO_TLS1_2)
	printf(", 1.2 (ECDHE-ECDSA AEAD only)");
#endif
	printf("; groups X25519, P-256; certificates ECDSA P-256\n");
	printf("tls: record payload %d bytes each way; renegotiation %s; session tickets %s\n",
	       MBEDTLS_SSL_OUT_CONTENT_LEN,
#if defined(MBEDTLS_SSL_RENEGOTIATION)
	       "compiled",
#else
	       "not compiled",
#endif
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
	       "compiled"
#else
	       "not compiled"
#endif
	);
	printf("tls: suites");
	for (ids = mbedtls_ssl_list_ciphersuites(); *ids != 0; ids++) {
		const mbedtls_ssl_ciphersuite_t *cs = mbedtls_ssl_ciphersuite_from_id(*ids);

		if (cs != NULL)
			printf(" %s", mbedtls_ssl_ciphersuite_get_name(cs));
	}
	printf("\n");
	printf("x509: CRL %s, certificate and CSR writing %s\n",
#if defined(MBEDTLS_X509_CRL_PARSE_C)
	       "yes",
#else
	       "no",
#endif
#if defined(MBEDTLS_X509_CRT_WRITE_C) && defined(MBEDTLS_X509_CSR_WRITE_C)
	       "yes"
#else
	       "no"
#endif
	);
	return EXIT_OK;
}
