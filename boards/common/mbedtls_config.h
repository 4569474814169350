/*
 * mbedtls_config.h: tether's mbedTLS 3.6 configuration, shared by all boards.
 *
 * Selected through MBEDTLS_CONFIG_FILE (see CMakeLists.txt); mbedTLS's
 * build_info.h includes it and then runs its own check_config.h, so an
 * impossible combination fails at compile time.
 *
 * The board's mbedtls_board.h (boards/<board>/, on the include path) comes
 * first and may set any of the sizes below or add features; the #ifndef
 * defaults fill in the rest.
 *
 * Scope: TLS 1.3 (preferred) and TLS 1.2 with ECDHE-ECDSA and AEAD only;
 * P-256 certificates; X25519 and P-256 key exchange; X.509 parsing with CRLs;
 * CSR and certificate writing for `tether pki`. Deliberately absent: RSA, DHM,
 * CBC suites, renegotiation, TLS 1.0/1.1, file I/O (files are read through the
 * port), sockets (NET_C), TIMING_C and DEBUG_C.
 */
#ifndef TETHER_MBEDTLS_CONFIG_H
#define TETHER_MBEDTLS_CONFIG_H

#include "mbedtls_board.h" /* boards/<board>/mbedtls_board.h */

/* ---- System support ---- */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE /* certificate validity periods */
/*
 * mbedtls_time() is a pointer, time() until mbedtls_platform_set_time() says
 * otherwise: the programs keep the C library's clock; a simulation on port/mem
 * sets its virtual wall clock, so X.509 validity follows simulated time.
 */
#define MBEDTLS_PLATFORM_TIME_ALT
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY /* allocations go to the buffer allocator's arena */
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
/*
 * Usage counters of the buffer allocator (mbedtls_memory_buffer_alloc_cur_get
 * and _max_get) for the per-session memory in the logs and the high-water
 * marks in status. A board may opt out with TETHER_MBEDTLS_NO_MEMORY_STATS.
 */
#ifndef TETHER_MBEDTLS_NO_MEMORY_STATS
#define MBEDTLS_MEMORY_DEBUG
#endif
/*
 * Allocation alignment. mbedTLS's default (4) hands out blocks that are
 * misaligned for 64-bit fields on every target (UBSan catches it); 8 suits
 * 32- and 64-bit ABIs alike.
 */
#ifndef MBEDTLS_MEMORY_ALIGN_MULTIPLE
#define MBEDTLS_MEMORY_ALIGN_MULTIPLE 8
#endif
#define MBEDTLS_ERROR_C
#define MBEDTLS_VERSION_C
#define MBEDTLS_VERSION_FEATURES

/* ---- Entropy: only the port's source (mbedtls_hardware_poll()) ---- */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_HMAC_DRBG_C /* deterministic ECDSA signatures */

/* ---- Hashes, MACs, KDFs ---- */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA224_C /* SHA256_C's companion; costs nothing extra */
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_HKDF_C

/* ---- Ciphers: AEAD only ---- */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_AESNI_C
#define MBEDTLS_AESCE_C

/* ---- Public key: elliptic curves only ---- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#ifndef MBEDTLS_ECP_WINDOW_SIZE
#define MBEDTLS_ECP_WINDOW_SIZE 2 /* RAM over speed */
#endif
#ifndef MBEDTLS_ECP_FIXED_POINT_OPTIM
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0 /* saves the precomputed tables */
#endif
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C /* SEC1 and unencrypted PKCS#8 EC keys */
#define MBEDTLS_PK_WRITE_C

/* ---- Encodings ---- */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C

/* ---- X.509 ---- */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
/* DESIGN.md: chains of up to 4 intermediates below the configured CA. */
#ifndef MBEDTLS_X509_MAX_INTERMEDIATE_CA
#define MBEDTLS_X509_MAX_INTERMEDIATE_CA 4
#endif
#define MBEDTLS_X509_CRL_PARSE_C
#define MBEDTLS_X509_CSR_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CSR_WRITE_C
#define MBEDTLS_X509_CRT_WRITE_C

/* ---- PSA crypto ---- */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_USE_PSA_CRYPTO
#define MBEDTLS_PSA_ASSUME_EXCLUSIVE_BUFFERS /* no copies of in/out buffers */
/*
 * Key store: dynamic by default, so the number of keys follows the configured
 * session and handshake limits (an established session holds 2 keys, a
 * handshake a few more) with slices taken from the mbedTLS heap region, which
 * is sized from those limits. A small board may instead set a fixed
 * MBEDTLS_PSA_KEY_SLOT_COUNT in its mbedtls_board.h.
 */
#if !defined(MBEDTLS_PSA_KEY_SLOT_COUNT) && !defined(MBEDTLS_PSA_KEY_STORE_DYNAMIC)
#define MBEDTLS_PSA_KEY_STORE_DYNAMIC
#endif

/* ---- TLS ---- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED /* resumption */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED		   /* TLS 1.2 */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_TICKET_C
/*
 * Peer identity is checked in the verify callback, so tether itself does not
 * need the peer's certificate after the handshake; but mbedTLS 3.6 refuses
 * TLS 1.3 without MBEDTLS_SSL_KEEP_PEER_CERTIFICATE (check_config.h), so it
 * stays on (about 1 KB per session for a P-256 certificate).
 */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE

/*
 * Record payload each way. Between tether nodes 4 KB suffices (both sides
 * agree). Edge routes (TETHER_EDGES) must take full 16 KB records from
 * foreign TLS stacks, and mbedTLS sizes every context's input buffer from
 * this one constant. VARIABLE_BUFFER_LENGTH makes its record layer bound
 * reads by each context's own buffer length, so a peer session can give the
 * excess back after its handshake (tls_resize_input() in core/tls.c;
 * docs/DESIGN.md, "Edge routes: memory").
 */
#if defined(TETHER_EDGES) && TETHER_EDGES
#ifndef MBEDTLS_SSL_IN_CONTENT_LEN
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#endif
#define MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH /* check_config.h: VARIABLE_BUFFER_LENGTH needs it */
#endif
#ifndef MBEDTLS_SSL_IN_CONTENT_LEN
#define MBEDTLS_SSL_IN_CONTENT_LEN 4096
#endif
#ifndef MBEDTLS_SSL_OUT_CONTENT_LEN
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096
#endif

/* TLS 1.3 AEAD suites, then TLS 1.2 ECDHE-ECDSA AEAD suites, in preference order. */
#ifndef MBEDTLS_SSL_CIPHERSUITES
#define MBEDTLS_SSL_CIPHERSUITES                                              \
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS1_3_AES_256_GCM_SHA384, \
		MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,                      \
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,              \
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,              \
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
#endif

/*
 * A board that must remove something defined above (the board header comes
 * first, so it can only add or size) sets TETHER_MBEDTLS_BOARD_POST and
 * provides mbedtls_board_post.h with its #undef lines.
 */
#ifdef TETHER_MBEDTLS_BOARD_POST
#include "mbedtls_board_post.h"
#endif

#endif /* TETHER_MBEDTLS_CONFIG_H */
