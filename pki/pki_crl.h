/*
 * pki_crl.h: X.509 v2 CRLs signed by a CA, written into a caller buffer.
 *
 * mbedTLS 3.6 parses CRLs but cannot write them: this builds the DER with
 * mbedtls/asn1write.h and signs it ECDSA P-256 / SHA-256 with the CA's key
 * (RFC 5280 section 5). Same rules as pki/pki.h: no file is touched, mbedTLS
 * allocates through its own allocator (base64 of the PEM), PSA MUST be
 * initialised, and the functions return 0 or a negative TETHER_ERR_*:
 *   TETHER_ERR_INVALID  bad spec (times, number, serials), the CA certificate
 *                       is not a CA allowed to sign CRLs, or ca_key is not its key
 *   TETHER_ERR_TOO_BIG  the CRL does not fit the buffer given
 *   TETHER_ERR_NOMEM    mbedTLS's allocator ran out
 *   TETHER_ERR_TLS      any other failure inside mbedTLS
 */
#ifndef TETHER_PKI_CRL_H
#define TETHER_PKI_CRL_H

#include <stddef.h>
#include <stdint.h>

#include "mbedtls/pk.h"
#include "mbedtls/x509_crl.h"
#include "mbedtls/x509_crt.h"

/* Longest serial (INTEGER content octets) and CRL Number (magnitude), RFC 5280. */
#define PKI_CRL_SERIAL_MAX 20
#define PKI_CRL_NUMBER_MAX 20

/*
 * PKI_CRL_PEM_SIZE(n): a buffer for a CRL of n entries whose issuer's subject
 * is at most 256 bytes of DER (every name `tether pki ca` makes; OpenSSL CAs
 * with a few attributes too). Longer issuers need a bigger buffer, which
 * TETHER_ERR_TOO_BIG reports.
 */
#define PKI_CRL_DER_SIZE(n) (600 + (size_t)(n)*45)
#define PKI_CRL_PEM_SIZE(n) (PKI_CRL_DER_SIZE(n) * 4 / 3 + PKI_CRL_DER_SIZE(n) / 48 + 64)

/* One revoked certificate. */
struct pki_crl_entry {
	/*
	 * The certificate's serialNumber exactly as it is encoded there: the
	 * INTEGER's content octets (mbedtls_x509_crt.serial, or an entry of a
	 * parsed CRL), 1..PKI_CRL_SERIAL_MAX octets of minimal DER. Copied
	 * verbatim, so that byte-wise matching (mbedTLS) finds it.
	 */
	const unsigned char *serial;
	size_t serial_len;
	int64_t revoked_at; /* revocationDate, Unix seconds */
};

/*
 * What to put in a CRL. Times are Unix seconds in PKI_TIME_MIN..PKI_TIME_MAX
 * (pki/pki.h), this_update <= next_update; UTCTime before 2050, then
 * GeneralizedTime (RFC 5280 5.1.2.4). number is the CRL Number as a big-endian
 * magnitude of 0..PKI_CRL_NUMBER_MAX octets (leading zeros allowed; length 0
 * is the number 0). entries are written in the order given; n_entries 0
 * leaves revokedCertificates out, as RFC 5280 requires. Everything is
 * borrowed for the call only.
 */
struct pki_crl_spec {
	int64_t this_update;
	int64_t next_update;
	const unsigned char *number;
	size_t number_len;
	const struct pki_crl_entry *entries;
	size_t n_entries;
};

/*
 * pki_crl_write_pem: write the CRL spec describes, issued and signed by the CA
 * (ca_crt MUST be a CA certificate whose keyUsage, if present, allows cRLSign,
 * and ca_key its P-256 private key) as PEM ("-----BEGIN X509 CRL-----"), NUL
 * terminated, into buf. The CRL is version 2, its issuer is ca_crt's subject
 * (the DER copied as is), signed ecdsa-with-SHA256, and carries the
 * extensions authorityKeyIdentifier (ca_crt's subjectKeyIdentifier, when it
 * has one) and cRLNumber. buf is used whole as scratch: the DER is built at
 * its end, then the PEM at its start. On failure buf[0] is '\0'.
 */
int pki_crl_write_pem(const struct pki_crl_spec *spec, const mbedtls_x509_crt *ca_crt,
		      mbedtls_pk_context *ca_key, unsigned char *buf, size_t len);

/*
 * pki_crt_signed_by / pki_crl_signed_by: 0 if the signature of crt (or crl)
 * verifies with ca's public key over its TBS part, TETHER_ERR_INVALID if not
 * (or the signature algorithm is not one mbedTLS has). Names are not compared.
 */
int pki_crt_signed_by(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *ca);
int pki_crl_signed_by(const mbedtls_x509_crl *crl, const mbedtls_x509_crt *ca);

#endif
