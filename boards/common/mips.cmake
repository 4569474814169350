# mips.cmake: code generation of the MIPS boards (linux-mips, linux-mipsel),
# included by their board.cmake before linux-static.cmake. Measured on
# linux-mips (stripped, every feature; musl as tools/musl-build.sh makes it):
#   Debian's defaults (SVR4 PIC, abicalls), LTO     444,988 B
#   + -fno-pic -mno-abicalls                         416,220 B
#   + MIPS16e for the cold code (off, see below)     387,512 B
#
# Not position-independent and no abicalls: Debian's MIPS GCC makes SVR4 PIC
# code by default (every call and global through the GOT and $gp), which a
# fixed-address static program does not need. musl stays as its build makes
# it: the linker warns that it links abicalls and non-abicalls files, which is
# harmless in a static program (nothing is resolved at run time).
add_compile_options(-fno-pic -mno-abicalls -minterlink-mips16)
add_link_options(-fno-pic -mno-abicalls)

# MIPS16e, the 16-bit encoding (OpenWrt's CONFIG_USE_MIPS16), was tried for
# the cold code (config, cJSON, commands, pki, mbedTLS's X.509/ASN.1/PEM and
# handshake files): about 30 KB smaller, but `tether check` and the config unit
# tests crashed under qemu-mips(el)-static with it, which is not understood
# yet; it stays off (empty lists) until it is. linux-static.cmake applies it
# to the libraries in TETHER_MIPS16 and the mbedTLS files in
# TETHER_MIPS16_MBEDTLS.
set(TETHER_MIPS16 "")
set(TETHER_MIPS16_MBEDTLS "")
