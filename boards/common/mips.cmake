# mips.cmake: code generation of the MIPS boards (linux-mips, linux-mipsel),
# included by their board.cmake before linux-static.cmake. Measured on
# linux-mips (stripped, every feature; the tree with reload, CRL exchange and
# expiry):
#   -fno-pic -mno-abicalls, musl PIC (as before)     ~444,000 B
#   + musl non-PIC (tools/musl-build.sh)              439,360 B
#   + MIPS16e for the cold code, as listed below      378,224 B
#
# Not position-independent and no abicalls: Debian's MIPS GCC makes SVR4 PIC
# code by default (every call and global through the GOT and $gp), which a
# fixed-address static program does not need. musl is built the same way
# (tools/musl-build.sh --soft-float; its assembly files stay PIC, the linker
# puts a $t9-loading stub before them for non-PIC callers).
add_compile_options(-fno-pic -mno-abicalls -minterlink-mips16)
add_link_options(-fno-pic -mno-abicalls)

# MIPS16e, the 16-bit encoding (OpenWrt's CONFIG_USE_MIPS16), for the cold
# code: config, cJSON, the commands, pki, core's cold files and mbedTLS's
# X.509/ASN.1/PEM and handshake files (ssl_tls.c, the key schedule's md.c and
# hkdf.c, ECDSA's and PSA's glue; their arithmetic stays MIPS32). The record
# path (core's session, mux, frame, stream, tls; the port; mbedTLS's ciphers,
# hashes, bignum, ECP and record layer) stays MIPS32. It needs the non-PIC musl: with musl PIC, every
# indirect call from MIPS16 code into musl crashed (`tether check`, the config
# and pki unit tests), because a PIC function computes $gp from $t9, which
# its caller must load with its address, and MIPS16 code cannot name $t9 (it
# calls `jalr $v0`): e.g. mbedTLS's X.509 code calling mbedtls_time (= musl's
# time()) and cJSON calling its malloc hook. linux-static.cmake applies it to
# the libraries in TETHER_MIPS16, the project files in TETHER_MIPS16_SOURCES
# and the mbedTLS files in TETHER_MIPS16_MBEDTLS, except TETHER_MIPS16_EXCEPT.
set(TETHER_MIPS16 tether_base tether_config tether_pki tether_cjson tether)
# Files of those libraries that stay MIPS32: the allocator wrappers
# (--wrap=malloc,...), which musl's non-PIC code reaches by direct jumps (tail
# calls), and a jump cannot switch to MIPS16.
set(TETHER_MIPS16_EXCEPT cli/alloc_count.c)
# The cold files of core: reload, the CRL exchange, expiry, status, metrics,
# logs and identity checks; the data path (session, mux, frame, stream, tls,
# node, pool) and the port stay MIPS32.
set(TETHER_MIPS16_SOURCES core/reload.c core/crlmesh.c core/crlnum.c core/expiry.c
	core/statusdoc.c core/metrics.c core/prom.c core/http.c core/status.c core/reason.c
	core/identity.c core/listener.c core/log.c core/x509_time.c core/textbuf.c core/peer.c)
set(TETHER_MIPS16_MBEDTLS
	asn1parse.c asn1write.c base64.c error.c oid.c pem.c pk.c pk_ecc.c pk_wrap.c pkparse.c
	pkwrite.c x509.c x509_create.c x509_crl.c x509_crt.c x509_csr.c x509write.c
	x509write_crt.c x509write_csr.c ssl_ciphersuites.c ssl_client.c ssl_tls12_client.c
	ssl_tls12_server.c ssl_tls13_client.c ssl_tls13_server.c ssl_tls13_generic.c
	ssl_tls13_keys.c ssl_ticket.c ssl_cookie.c ssl_cache.c version.c version_features.c
	ssl_tls.c md.c hkdf.c ecdsa.c psa_crypto_ecp.c psa_crypto_slot_management.c psa_util.c
	entropy.c)
