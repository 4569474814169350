#!/usr/bin/env bash
# musl-build.sh: build musl (static libraries only, -Os) for a static Linux
# board with Debian's GCC for that target. Debian has no musl toolchain for
# Arm; for x86-64 it has one (musl-tools), but compiled -O2, which costs the
# linux-x86_64 board 16 KiB, so that board builds its own too.
#
# usage: tools/musl-build.sh [--soft-float] TRIPLE [DEST]
#        tools/musl-build.sh --fetch-only [--soft-float] [TRIPLE [DEST]]
#   TRIPLE  the GCC prefix: x86_64-linux-gnu, arm-linux-gnueabihf,
#           aarch64-linux-gnu, mips-linux-gnu, mipsel-linux-gnu
#   DEST    the dependency cache (default <repo>/.deps)
#
# Result: DEST/musl-<triple> (a symlink to musl-<version>-<triple>) holding
# include/, lib/libc.a, lib/crt*.o and lib/musl-gcc.specs, the GCC specs file
# that points <triple>-gcc at musl instead of glibc (-specs=...). Running it
# again when that is present does nothing. --fetch-only stops after the source
# tarball is in DEST/downloads (the step that needs root; tools/setup.sh runs
# it so that builds afterwards need neither root nor apt).
#
# --soft-float (MIPS only): musl compiled -march=mips32r2 -msoft-float, in
# DEST/musl-<triple>-sfnp, for CPUs without an FPU (OpenWrt's ath79 and ramips
# routers; their kernels have no FPU emulator, so one FPU instruction kills
# the process). Debian has no soft-float libgcc for MIPS: its libgcc.a's
# __adddf3 and friends are single FPU instructions with hard-float argument
# passing. So the soft-float arithmetic comes from the IEEE software
# floating-point routines of glibc's soft-fp/ (the same code as GCC's own
# soft-float libgcc; LGPL-2.1+ with the libgcc link exception), taken from
# Debian's glibc source package for this machine's release (apt-verified) and
# compiled into lib/libsoftfp.a, which the specs file links before libgcc.a.
# Its C files are also compiled without position-independent code and without
# abicalls (-fno-pic -mno-abicalls, as boards/common/mips.cmake does for
# tether): Debian's MIPS GCC otherwise makes SVR4 PIC, every call and global
# through the GOT, which a static program does not need (4.6 KB smaller). The
# few objects musl itself compiles -fPIC (rcrt1.o, the dynamic linker's) stay
# PIC (GCC refuses -fPIC without abicalls), and so do its assembly files
# (setjmp, syscall_cp, pipe, ...), which set up $gp from $t9 themselves: the
# linker marks them PIC and puts an $t9-loading stub before them for non-PIC
# callers. Code that is PIC must not be called through a pointer from non-PIC
# code (which need not pass the callee's address in $t9): so the specs file
# starts the program with crt1.o, not the PIC Scrt1.o, and leaves out GCC's
# crtbeginS.o and crtendS.o (PIC; musl would call their frame_dummy and
# __do_global_dtors_aux through .init_array and .fini_array; tether has no
# unwind tables and no C++, which is all they serve). The cache is
# DEST/musl-<triple>-sfnp. The soft-fp routines are non-PIC too.
#
# Source: musl's upstream tarball, from
#  1. TETHER_DEPS_DIR, when set: musl-<ver>.tar.gz or musl_<ver>.orig.tar.gz
#     whose SHA-256 is listed in cmake/deps.sha256; else
#  2. Debian's source package for this machine's own release (the musl that
#     Debian's musl-tools uses on x86_64), through `apt-get source` with a
#     deb-src entry derived from the machine's apt sources (tools/deb-src.sh),
#     written to /etc/apt/sources.list.d/tether-musl-src.sources. apt verifies
#     it through the archive's signature chain. Only the .orig tarball is used
#     (Debian's package carries no patches to musl's code).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUMS="$ROOT/cmake/deps.sha256"

FETCH_ONLY=0
SOFT_FLOAT=0
while [ $# -gt 0 ]; do
	case "$1" in
	--fetch-only) FETCH_ONLY=1 ;;
	--soft-float) SOFT_FLOAT=1 ;;
	*) break ;;
	esac
	shift
done
TRIPLE=${1:-}
case "$FETCH_ONLY:$SOFT_FLOAT:$TRIPLE" in
*:0:x86_64-linux-gnu | *:0:arm-linux-gnueabihf | *:0:aarch64-linux-gnu) ;;
*:mips-linux-gnu | *:mipsel-linux-gnu | 1:*:) ;;
*)
	echo "usage: tools/musl-build.sh [--fetch-only] [--soft-float (mips only)]" \
		"x86_64-linux-gnu|arm-linux-gnueabihf|aarch64-linux-gnu|mips-linux-gnu|mipsel-linux-gnu [DEST]" >&2
	exit 2
	;;
esac
DEST=${2:-$ROOT/.deps}
JOBS=${TETHER_JOBS:-2}

log() { echo "musl-build: $*" >&2; }
die() {
	echo "musl-build: error: $*" >&2
	exit 1
}

mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)

# The lock tools/fetch-deps.sh takes: one apt or unpack job on DEST at a time.
exec 9>"$DEST/.lock"
flock -w 1800 9 || die "timed out waiting for the lock $DEST/.lock"

TMP=$(mktemp -d "$DEST/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

. "$ROOT/tools/deb-src.sh"

sha256_of() { sha256sum "$1" | awk '{print $1}'; }
hash_listed() { awk -v h="$1" '$1 !~ /^#/ && $1 == h { f = 1 } END { exit !f }' "$SUMS"; }

# tarball_version FILE: the musl version in a tarball's name, or nothing.
tarball_version() {
	local b
	b=$(basename "$1")
	if [[ "$b" =~ ^musl-([0-9.]+)\.tar\.gz$ ]] || [[ "$b" =~ ^musl_([0-9.]+)\.orig\.tar\.gz$ ]]; then
		echo "${BASH_REMATCH[1]}"
	fi
}

# find_tarball: the newest musl tarball already in DEST/downloads, if any.
find_tarball() {
	local f v
	for f in "$DEST"/downloads/musl_*.orig.tar.gz "$DEST"/downloads/musl-*.tar.gz; do
		[ -f "$f" ] || continue
		v=$(tarball_version "$f")
		[ -n "$v" ] && echo "$v $f"
	done | sort -V -r | head -n1 | cut -d' ' -f2-
}

fetch_from_dir() {
	local f v sha best=
	[ -d "$TETHER_DEPS_DIR" ] || die "TETHER_DEPS_DIR=$TETHER_DEPS_DIR is not a directory"
	best=$(for f in "$TETHER_DEPS_DIR"/musl*; do
		[ -f "$f" ] || continue
		v=$(tarball_version "$f")
		[ -n "$v" ] && echo "$v $f"
	done | sort -V -r | head -n1 | cut -d' ' -f2-)
	[ -n "$best" ] || die "no musl-<ver>.tar.gz in TETHER_DEPS_DIR=$TETHER_DEPS_DIR"
	sha=$(sha256_of "$best")
	hash_listed "$sha" || die "$(basename "$best") has SHA-256 $sha, which is not listed in
  cmake/deps.sha256. Refusing unverified source; if it is genuine, add:
  $sha  $(basename "$best")"
	mkdir -p "$DEST/downloads"
	cp -f "$best" "$DEST/downloads/"
	echo "dir" >"$DEST/downloads/$(basename "$best").source"
}

fetch_from_debian() {
	local suite line file want got
	command -v apt-get >/dev/null 2>&1 || die "no apt-get: set TETHER_DEPS_DIR to a directory with musl's tarball"
	suite=$(deb_codename)
	deb_src_setup "$APT_RELEASE_SRC_FILE" "$suite" "$APT_RELEASE_SRC_PURPOSE"
	line=$(apt-get source --print-uris -qq "musl/$suite" 2>/dev/null |
		awk '$2 ~ /^musl_[0-9.]+\.orig\.tar\.gz$/ { print; exit }')
	[ -n "$line" ] || die "Debian $suite has no musl source package"
	file=$(echo "$line" | awk '{print $2}')
	want=$(echo "$line" | awk '{print $4}')
	want=${want#SHA256:}
	log "downloading $file from Debian $suite"
	got=$(deb_fetch_orig "$TMP/deb" musl "$suite" "$file" "$want")
	if ! hash_listed "$got"; then
		log "note: $file is not in cmake/deps.sha256 (apt verified it); to pin it add:"
		log "  $got  $file"
	fi
	mkdir -p "$DEST/downloads"
	cp -f "$TMP/deb/$file" "$DEST/downloads/$file"
	echo "debian:$suite" >"$DEST/downloads/$file.source"
}

# ---------------------------------------------------------------- glibc's soft-fp

# find_glibc: the newest glibc source tarball already in DEST/downloads, if any.
find_glibc() {
	local f
	for f in "$DEST"/downloads/glibc_*.orig.tar.xz "$DEST"/downloads/glibc-*.tar.xz; do
		[ -f "$f" ] || continue
		echo "$f"
	done | sort -V -r | head -n1
}

fetch_glibc() {
	local suite line file want got best sha f
	if [ -n "${TETHER_DEPS_DIR:-}" ]; then
		best=$(for f in "$TETHER_DEPS_DIR"/glibc_*.orig.tar.xz "$TETHER_DEPS_DIR"/glibc-*.tar.xz; do
			[ -f "$f" ] || continue
			echo "$f"
		done | sort -V -r | head -n1)
		[ -n "$best" ] || die "no glibc-<ver>.tar.xz in TETHER_DEPS_DIR=$TETHER_DEPS_DIR (soft-float needs its soft-fp/)"
		sha=$(sha256_of "$best")
		hash_listed "$sha" || die "$(basename "$best") has SHA-256 $sha, which is not listed in
  cmake/deps.sha256. Refusing unverified source; if it is genuine, add:
  $sha  $(basename "$best")"
		mkdir -p "$DEST/downloads"
		cp -f "$best" "$DEST/downloads/"
		echo "dir" >"$DEST/downloads/$(basename "$best").source"
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 || die "no apt-get: set TETHER_DEPS_DIR to a directory with glibc's tarball"
	suite=$(deb_codename)
	deb_src_setup "$APT_RELEASE_SRC_FILE" "$suite" "$APT_RELEASE_SRC_PURPOSE"
	line=$(apt-get source --print-uris -qq "glibc/$suite" 2>/dev/null |
		awk '$2 ~ /^glibc_[0-9.]+\.orig\.tar\.xz$/ { print; exit }')
	[ -n "$line" ] || die "Debian $suite has no glibc source package"
	file=$(echo "$line" | awk '{print $2}')
	want=$(echo "$line" | awk '{print $4}')
	want=${want#SHA256:}
	log "downloading $file from Debian $suite (only its soft-fp/ is used)"
	got=$(deb_fetch_orig "$TMP/deb-glibc" glibc "$suite" "$file" "$want")
	if ! hash_listed "$got"; then
		log "note: $file is not in cmake/deps.sha256 (apt verified it); to pin it add:"
		log "  $got  $file"
	fi
	mkdir -p "$DEST/downloads"
	cp -f "$TMP/deb-glibc/$file" "$DEST/downloads/$file"
	echo "debian:$suite" >"$DEST/downloads/$file.source"
}

# The routines GCC calls for float and double arithmetic under -msoft-float
# (long double is double on o32).
SOFTFP_FUNCS="addsf3 subsf3 mulsf3 divsf3 negsf2 eqsf2 gesf2 lesf2 unordsf2
	adddf3 subdf3 muldf3 divdf3 negdf2 eqdf2 gedf2 ledf2 unorddf2
	fixsfsi fixunssfsi fixsfdi fixunssfdi fixdfsi fixunsdfsi fixdfdi fixunsdfdi
	floatsisf floatunsisf floatdisf floatundisf floatsidf floatunsidf floatdidf floatundidf
	extendsfdf2 truncdfsf2"

# build_softfp PREFIX: PREFIX/lib/libsoftfp.a from glibc's soft-fp/.
build_softfp() {
	local prefix=$1 tarball src f objs=() sha
	tarball=$(find_glibc)
	[ -n "$tarball" ] || die "no glibc tarball in $DEST/downloads"
	src="$TMP/glibc"
	mkdir -p "$src"
	tar -xJf "$tarball" -C "$src" --strip-components=1 --no-same-owner --wildcards \
		'*/soft-fp/*' '*/stdlib/longlong.h' '*/sysdeps/mips/mips32/sfp-machine.h' ||
		die "cannot unpack soft-fp/ from $tarball"
	# glibc's MIPS32 sfp-machine.h, plus what glibc's own build supplies
	# around it: the byte order and strong_alias().
	cat >"$src/soft-fp/sfp-machine.h" <<-'EOT'
		#define __LITTLE_ENDIAN 1234
		#define __BIG_ENDIAN 4321
		#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		#define __BYTE_ORDER __BIG_ENDIAN
		#else
		#define __BYTE_ORDER __LITTLE_ENDIAN
		#endif
		#define strong_alias(name, aliasname) \
			extern __typeof(name) aliasname __attribute__((alias(#name)));
		#include "../sysdeps/mips/mips32/sfp-machine.h"
	EOT
	for f in $SOFTFP_FUNCS; do
		"$TRIPLE-gcc" $MUSL_CFLAGS -fno-pic -mno-abicalls -Os -ffunction-sections -fdata-sections \
			-fno-asynchronous-unwind-tables -I"$src/stdlib" -w \
			-c "$src/soft-fp/$f.c" -o "$src/soft-fp/$f.o" ||
			die "soft-fp/$f.c failed to compile"
		objs+=("$src/soft-fp/$f.o")
	done
	rm -f "$prefix/lib/libsoftfp.a"
	"$TRIPLE-ar" rcs "$prefix/lib/libsoftfp.a" "${objs[@]}" || die "cannot write libsoftfp.a"
	# Linked before libgcc.a, wherever the specs name libgcc: its hard-float
	# __adddf3 and friends are never reached.
	sed -i "/^\*libgcc:\$/{n;s|^|$prefix/lib/libsoftfp.a |}" "$prefix/lib/musl-gcc.specs"
	grep -q "libsoftfp.a libgcc.a" "$prefix/lib/musl-gcc.specs" ||
		die "could not add libsoftfp.a to the specs file"
	sha=$(sha256_of "$tarball")
	echo "softfp glibc $(basename "$tarball") $sha $(cat "$tarball.source" 2>/dev/null || echo unknown)" \
		>>"$prefix/BUILT"
}

# ---------------------------------------------------------------- main

MUSL_CFLAGS=
NAME=$TRIPLE
if [ "$SOFT_FLOAT" = 1 ]; then
	MUSL_CFLAGS="-march=mips32r2 -msoft-float"
	NAME=$TRIPLE-sfnp
fi

LINK="$DEST/musl-$NAME"
if [ "$FETCH_ONLY" = 0 ] && [ -f "$LINK/lib/musl-gcc.specs" ] && [ -f "$LINK/lib/libc.a" ]; then
	exit 0
fi

TARBALL=$(find_tarball)
if [ -z "$TARBALL" ]; then
	if [ -n "${TETHER_DEPS_DIR:-}" ]; then
		fetch_from_dir
	else
		fetch_from_debian
	fi
	TARBALL=$(find_tarball)
	[ -n "$TARBALL" ] || die "no musl tarball in $DEST/downloads after the fetch"
fi
if [ "$SOFT_FLOAT" = 1 ] && [ -z "$(find_glibc)" ]; then
	fetch_glibc
fi
[ "$FETCH_ONLY" = 1 ] && exit 0

VER=$(tarball_version "$TARBALL")
SHA=$(sha256_of "$TARBALL")
SOURCE=$(cat "$TARBALL.source" 2>/dev/null || echo unknown)
command -v "$TRIPLE-gcc" >/dev/null 2>&1 ||
	die "no $TRIPLE-gcc; run tools/setup.sh (Debian package gcc-$TRIPLE)"

log "building musl $VER for $NAME with $TRIPLE-gcc ($("$TRIPLE-gcc" -dumpfullversion)), -j$JOBS"
t0=$SECONDS
SRC="$TMP/musl-$VER"
mkdir -p "$SRC"
tar -xzf "$TARBALL" -C "$SRC" --strip-components=1 --no-same-owner || die "cannot unpack $TARBALL"
DIR="musl-$VER-$NAME"
PREFIX="$DEST/$DIR"
rm -rf "$PREFIX"
# musl's configure picks -Os for most files (-O2 for its hot paths) and
# -ffunction-sections -fdata-sections on its own; the wrapper option makes it
# install lib/musl-gcc.specs.
MUSL_CC="$TRIPLE-gcc${MUSL_CFLAGS:+ $MUSL_CFLAGS}"
BUILT_FLAGS=${MUSL_CFLAGS:+ $MUSL_CFLAGS}
if [ "$SOFT_FLOAT" = 1 ]; then
	# Non-PIC except where musl asks for -fPIC.
	MUSL_CC="$TMP/cc"
	cat >"$MUSL_CC" <<-EOT
		#!/bin/sh
		for a in "\$@"; do
			case "\$a" in
			-fPIC | *.s | *.S) exec $TRIPLE-gcc $MUSL_CFLAGS "\$@" ;;
			esac
		done
		exec $TRIPLE-gcc $MUSL_CFLAGS -fno-pic -mno-abicalls "\$@"
	EOT
	chmod +x "$MUSL_CC"
	BUILT_FLAGS="$BUILT_FLAGS -fno-pic -mno-abicalls (not -fPIC files)"
fi
(
	cd "$SRC"
	./configure --target="$TRIPLE" --prefix="$PREFIX" --syslibdir="$PREFIX/lib" \
		--disable-shared --enable-wrapper=gcc \
		CROSS_COMPILE="$TRIPLE-" CC="$MUSL_CC" \
		>"$TMP/configure.log" 2>&1 ||
		{
			tail -n 30 "$TMP/configure.log" >&2
			exit 1
		}
	make -j"$JOBS" >"$TMP/make.log" 2>&1 || {
		tail -n 30 "$TMP/make.log" >&2
		exit 1
	}
	make install >"$TMP/install.log" 2>&1 || {
		tail -n 30 "$TMP/install.log" >&2
		exit 1
	}
) || die "musl $VER for $NAME failed to build (logs above)"
[ -f "$PREFIX/lib/musl-gcc.specs" ] || die "musl's install left no lib/musl-gcc.specs"
echo "musl $VER $SOURCE $(basename "$TARBALL") $SHA $TRIPLE-gcc $("$TRIPLE-gcc" -dumpfullversion)$BUILT_FLAGS" \
	>"$PREFIX/BUILT"
[ "$SOFT_FLOAT" = 1 ] && build_softfp "$PREFIX"
if [ "$SOFT_FLOAT" = 1 ]; then
	sed -i 's|/lib/Scrt1.o}|/lib/crt1.o}|; s| crtbeginS.o%s||; s|^crtendS.o%s ||' \
		"$PREFIX/lib/musl-gcc.specs"
	! grep -q 'Scrt1.o\|crtbeginS\|crtendS' "$PREFIX/lib/musl-gcc.specs" ||
		die "could not take Scrt1.o, crtbeginS.o and crtendS.o out of the specs file"
fi
ln -sfn "$DIR" "$LINK"
log "musl $VER for $NAME in $PREFIX ($((SECONDS - t0))s)"
