/*
 * crlmesh.h: judging a CRL a peer sent (crlmesh.c), on its own so that it is
 * tested on real CRLs without a session.
 */
#ifndef TETHER_CRLMESH_H
#define TETHER_CRLMESH_H

#include <stddef.h>
#include <stdint.h>

#include "core/crlnum.h"
#include "core/frame.h"
#include "core/tls.h"

/*
 * crl_judge: may der (len bytes), sent as the CRL of issuer id asked, replace
 * the one m holds? NULL if so, with *index the place of ours in m's chain and
 * num the new CRL number; else why not, in words: "not one DER CRL", "not the
 * issuer asked for", "not signed by one of our CAs" (name, cRLSign key usage
 * and signature are all checked), "no CRL number", "we keep no CRL of this
 * issuer", "not newer than ours". The relay that sent it is not trusted.
 */
const char *crl_judge(const struct tls_material *m, const uint8_t *der, size_t len,
		      const uint8_t asked[FRAME_CRL_ISSUER_ID], unsigned *index,
		      uint8_t num[CRL_NUMBER_MAX], size_t *num_len);

/* The issuer id CRL_HAVE and CRL_GET use: SHA-256 of the issuer's DER name, first 8 bytes. */
void crl_issuer_id(const uint8_t *issuer_der, size_t len, uint8_t out[FRAME_CRL_ISSUER_ID]);

#endif
