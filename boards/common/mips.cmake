# mips.cmake: code generation of the MIPS boards (linux-mips, linux-mipsel),
# included by their board.cmake before linux-static.cmake. Measured on
# linux-mips (stripped, every feature; musl as tools/musl-build.sh makes it):
#   Debian's defaults (SVR4 PIC, abicalls), LTO     444,988 B
#   + -fno-pic -mno-abicalls                         416,220 B
#   + MIPS16e for the cold code below                see README (Sizes)
#
# Not position-independent and no abicalls: Debian's MIPS GCC makes SVR4 PIC
# code by default (every call and global through the GOT and $gp), which a
# fixed-address static program does not need. musl stays as its build makes
# it: the linker warns that it links abicalls and non-abicalls files, which is
# harmless in a static program (nothing is resolved at run time).
add_compile_options(-fno-pic -mno-abicalls -minterlink-mips16)
add_link_options(-fno-pic -mno-abicalls)

# MIPS16e, the 16-bit encoding (as OpenWrt builds its packages with
# CONFIG_USE_MIPS16): every MIPS32r2 router core of these targets has it
# (24Kc, 74Kc, 1004Kc). It makes code about a third smaller and somewhat
# slower, so it is used only where neither matters: start-up, the config
# loader and cJSON, the commands, certificate issuing, and mbedTLS's
# certificate, ASN.1, PEM, key-parsing and handshake code. The data path (core,
# the OS port, the record layer, AES, GCM, ChaCha20-Poly1305, SHA-2) and the
# bignum and ECP code (MIPS assembly) stay MIPS32.
set(TETHER_MIPS16 tether_base tether_config tether_pki tether_cjson tether)
set(TETHER_MIPS16_MBEDTLS
	asn1parse.c asn1write.c base64.c error.c oid.c pem.c pk.c pk_ecc.c pk_wrap.c pkparse.c
	pkwrite.c x509.c x509_create.c x509_crl.c x509_crt.c x509_csr.c x509write.c
	x509write_crt.c x509write_csr.c ssl_ciphersuites.c ssl_client.c ssl_tls12_client.c
	ssl_tls12_server.c ssl_tls13_client.c ssl_tls13_server.c ssl_tls13_generic.c
	ssl_tls13_keys.c ssl_ticket.c ssl_cookie.c ssl_cache.c version.c version_features.c)
