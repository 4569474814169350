#!/usr/bin/env bash
# fetch-deps.sh: fetch the sources of mbedTLS (3.6 LTS, >= 3.6.6) and cJSON (1.7.x).
#
# usage: tools/fetch-deps.sh [--force] [--cmocka] [DEST]  (DEST defaults to <repo>/.deps)
#
# Result: DEST/mbedtls and DEST/cjson (symlinks to versioned source trees) and
# DEST/deps.txt, one line per dependency: "<name> <version> <source> <file> <sha256>".
# Running it again when everything is present does nothing.
#
# --cmocka also fetches cmocka's source (1.1.x) into DEST/cmocka, recorded in
# DEST/cmocka.txt (same format; not in deps.txt, which the program's build
# reads): a board's test build compiles it for the target (cmake/TetherCmocka.cmake),
# where no packaged cmocka exists. The host build uses the system's.
#
# Sources, in order:
#  1. TETHER_DEPS_DIR set: upstream release tarballs from that directory
#     (mbedtls-<ver>.tar.bz2; cJSON-<ver>.tar.gz or v<ver>.tar.gz; Debian
#     .orig tarballs are accepted too). Each tarball's SHA-256 must be listed in
#     cmake/deps.sha256, else it is refused.
#  2. Otherwise Debian source packages through `apt-get source`: a deb-src entry
#     for the suites in TETHER_DEB_SUITES (default "trixie sid", first suite with
#     a suitable version wins) is derived from the machine's own apt sources and
#     written to /etc/apt/sources.list.d/tether-src.sources (needs root or sudo).
#     apt verifies the files through the archive's signature chain; only the
#     upstream .orig tarball is unpacked (no distribution patches).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUMS="$ROOT/cmake/deps.sha256"
MBEDTLS_MIN=3.6.6
SUITES=${TETHER_DEB_SUITES:-"trixie sid"}
APT_SRC_FILE=/etc/apt/sources.list.d/tether-src.sources

FORCE=0
CMOCKA=0
while [ $# -gt 0 ]; do
	case "$1" in
	--force) FORCE=1 ;;
	--cmocka) CMOCKA=1 ;;
	*) break ;;
	esac
	shift
done
DEST=${1:-$ROOT/.deps}

log() { echo "fetch-deps: $*" >&2; }
die() {
	echo "fetch-deps: error: $*" >&2
	exit 1
}

mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)

# Two configures (e.g. build/host and build/host-asan) may run at once.
exec 9>"$DEST/.lock"
if ! flock -w 1800 9; then
	die "timed out waiting for the lock $DEST/.lock"
fi

TMP=$(mktemp -d "$DEST/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---------------------------------------------------------------- helpers

# ver_ge A B: true if version A >= B.
ver_ge() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]; }

sha256_of() { sha256sum "$1" | awk '{print $1}'; }

# listed_hash NAME: the hash cmake/deps.sha256 lists for file NAME, if any.
listed_hash() { awk -v n="$1" '$1 !~ /^#/ && $2 == n { print $1; exit }' "$SUMS"; }

# hash_listed SHA: true if SHA appears in cmake/deps.sha256 under any name.
hash_listed() { awk -v h="$1" '$1 !~ /^#/ && $1 == h { f = 1 } END { exit !f }' "$SUMS"; }

# want_version NAME VERSION: true if VERSION is acceptable for NAME.
want_version() {
	case "$1" in
	mbedtls) [[ "$2" =~ ^3\.6\.[0-9]+$ ]] && ver_ge "$2" "$MBEDTLS_MIN" ;;
	cjson) [[ "$2" =~ ^1\.7\.[0-9]+$ ]] ;;
	cmocka) [[ "$2" =~ ^1\.1\.[0-9]+$ ]] ;;
	*) return 1 ;;
	esac
}

# marker NAME: a file that proves the unpacked tree is there.
marker() {
	case "$1" in
	mbedtls) echo "include/mbedtls/build_info.h" ;;
	cjson) echo "cJSON.h" ;;
	cmocka) echo "src/cmocka.c" ;;
	esac
}

# header_version NAME DIR: the version the sources say they are.
header_version() {
	local f n
	case "$1" in
	mbedtls)
		f="$2/include/mbedtls/build_info.h"
		[ -f "$f" ] || die "$f missing: not an mbedTLS source tree"
		n=$(awk '$1 == "#define" && $2 == "MBEDTLS_VERSION_NUMBER" { print $3 }' "$f")
		[ -n "$n" ] || die "no MBEDTLS_VERSION_NUMBER in $f"
		n=$((n))
		echo "$(((n >> 24) & 255)).$(((n >> 16) & 255)).$(((n >> 8) & 255))"
		;;
	cjson)
		f="$2/cJSON.h"
		[ -f "$f" ] || die "$f missing: not a cJSON source tree"
		awk '$1 == "#define" && $2 ~ /^CJSON_VERSION_(MAJOR|MINOR|PATCH)$/ { v[$2] = $3 }
		     END { print v["CJSON_VERSION_MAJOR"] "." v["CJSON_VERSION_MINOR"] "." v["CJSON_VERSION_PATCH"] }' "$f"
		;;
	cmocka)
		f="$2/CMakeLists.txt"
		[ -f "$f" ] || die "$f missing: not a cmocka source tree"
		sed -n 's/^project(cmocka VERSION \([0-9.]*\).*/\1/p' "$f" | head -n1
		;;
	esac
}

# install_tarball NAME TARBALL SOURCE: unpack, check the version, record.
install_tarball() {
	local name=$1 tarball=$2 source=$3 sha ver x dir
	sha=$(sha256_of "$tarball")
	x="$TMP/unpack-$name"
	rm -rf "$x"
	mkdir -p "$x"
	tar -xf "$tarball" -C "$x" --strip-components=1 --no-same-owner ||
		die "cannot unpack $tarball"
	ver=$(header_version "$name" "$x")
	if ! want_version "$name" "$ver"; then
		case "$name" in
		mbedtls) die "$tarball holds mbedTLS $ver; need 3.6.x with x >= ${MBEDTLS_MIN##*.} (3.6 LTS, >= $MBEDTLS_MIN)" ;;
		cjson) die "$tarball holds cJSON $ver; need 1.7.x" ;;
		cmocka) die "$tarball holds cmocka $ver; need 1.1.x" ;;
		esac
	fi
	dir="$name-$ver"
	rm -rf "${DEST:?}/$dir"
	mv "$x" "$DEST/$dir"
	ln -sfn "$dir" "$DEST/$name"
	mkdir -p "$DEST/downloads"
	if [ "$(dirname "$tarball")" != "$DEST/downloads" ]; then
		cp -f "$tarball" "$DEST/downloads/"
	fi
	echo "$name $ver $source $(basename "$tarball") $sha" >"$DEST/.$name.rec"
	log "$name $ver from $source ($(basename "$tarball"), sha256 $sha)"
}

have() {
	local name=$1
	[ "$FORCE" = 0 ] && [ -s "$DEST/.$name.rec" ] && [ -f "$DEST/$name/$(marker "$name")" ]
}

# ---------------------------------------------------------------- source 1: a directory

# dir_candidates NAME: "<version> <path>" for each tarball of NAME in TETHER_DEPS_DIR.
dir_candidates() {
	local f b v
	for f in "$TETHER_DEPS_DIR"/*; do
		[ -f "$f" ] || continue
		b=$(basename "$f")
		v=
		case "$1" in
		mbedtls)
			[[ "$b" =~ ^mbedtls-([0-9.]+)\.tar\.(bz2|gz|xz)$ ]] && v=${BASH_REMATCH[1]}
			[[ "$b" =~ ^mbedtls_([0-9.]+)\.orig\.tar\.(bz2|gz|xz)$ ]] && v=${BASH_REMATCH[1]}
			;;
		cjson)
			[[ "$b" =~ ^cJSON-([0-9.]+)\.tar\.gz$ ]] && v=${BASH_REMATCH[1]}
			[[ "$b" =~ ^v([0-9.]+)\.tar\.gz$ ]] && v=${BASH_REMATCH[1]}
			[[ "$b" =~ ^cjson_([0-9.]+)\.orig\.tar\.(gz|bz2|xz)$ ]] && v=${BASH_REMATCH[1]}
			;;
		cmocka)
			[[ "$b" =~ ^cmocka-([0-9.]+)\.tar\.(xz|gz)$ ]] && v=${BASH_REMATCH[1]}
			[[ "$b" =~ ^cmocka_([0-9.]+)\.orig\.tar\.(xz|gz)$ ]] && v=${BASH_REMATCH[1]}
			;;
		esac
		if [ -n "$v" ] && want_version "$1" "$v"; then
			echo "$v $f"
		fi
	done | sort -V -r
}

fetch_from_dir() {
	local name=$1 best f sha
	[ -d "$TETHER_DEPS_DIR" ] || die "TETHER_DEPS_DIR=$TETHER_DEPS_DIR is not a directory"
	best=$(dir_candidates "$name" | head -n1)
	if [ -z "$best" ]; then
		case "$name" in
		mbedtls) die "no mbedtls-3.6.x.tar.bz2 (x >= ${MBEDTLS_MIN##*.}) in TETHER_DEPS_DIR=$TETHER_DEPS_DIR" ;;
		cjson) die "no cJSON-1.7.x.tar.gz or v1.7.x.tar.gz in TETHER_DEPS_DIR=$TETHER_DEPS_DIR" ;;
		cmocka) die "no cmocka-1.1.x.tar.xz in TETHER_DEPS_DIR=$TETHER_DEPS_DIR" ;;
		esac
	fi
	f=${best#* }
	sha=$(sha256_of "$f")
	if ! hash_listed "$sha"; then
		die "$(basename "$f") has SHA-256 $sha, which is not listed in cmake/deps.sha256.
  Refusing unverified source. If this tarball is genuine (check upstream's release
  notes or a signed distribution archive), add this line to cmake/deps.sha256:
  $sha  $(basename "$f")"
	fi
	install_tarball "$name" "$f" dir
}

# ---------------------------------------------------------------- source 2: Debian

# as_root, deb_src_setup: shared with tools/musl-build.sh.
. "$ROOT/tools/deb-src.sh"

DEB_READY=0
fetch_from_debian() {
	local name=$1 suites=$SUITES suite uris line file ver sha want got listed
	command -v apt-get >/dev/null 2>&1 || die "no apt-get: set TETHER_DEPS_DIR to a directory of tarballs"
	if [ "$name" = cmocka ]; then
		# The machine's own release: the cmocka the host tests use.
		suites=$(deb_codename)
		deb_src_setup "$APT_RELEASE_SRC_FILE" "$suites" "$APT_RELEASE_SRC_PURPOSE"
	elif [ "$DEB_READY" = 0 ]; then
		deb_src_setup "$APT_SRC_FILE" "$SUITES" "source packages of mbedTLS and cJSON"
		DEB_READY=1
	fi
	for suite in $suites; do
		uris=$(apt-get source --print-uris -qq "$name/$suite" 2>/dev/null || true)
		line=$(printf '%s\n' "$uris" | awk -v n="$name" '$2 ~ ("^" n "_[0-9.]+\\.orig\\.tar\\.(gz|bz2|xz)$") { print; exit }')
		[ -n "$line" ] || continue
		file=$(echo "$line" | awk '{print $2}')
		want=$(echo "$line" | awk '{print $4}')
		want=${want#SHA256:}
		ver=${file#"${name}"_}
		ver=${ver%.orig.tar.*}
		if ! want_version "$name" "$ver"; then
			log "$name $ver in $suite does not fit, trying the next suite"
			continue
		fi
		log "downloading $name $ver from Debian $suite"
		got=$(deb_fetch_orig "$TMP/deb-$name" "$name" "$suite" "$file" "$want")
		listed=$(listed_hash "$file")
		if [ -n "$listed" ] && [ "$listed" != "$got" ]; then
			die "$file: SHA-256 $got differs from cmake/deps.sha256 ($listed)"
		fi
		if [ -z "$listed" ]; then
			log "note: $file is not in cmake/deps.sha256 (apt verified it); to pin it add:"
			log "  $got  $file"
		fi
		mkdir -p "$DEST/downloads"
		cp -f "$TMP/deb-$name/$file" "$DEST/downloads/$file"
		install_tarball "$name" "$DEST/downloads/$file" "debian:$suite"
		return 0
	done
	case "$name" in
	mbedtls) die "no Debian suite of '$SUITES' has mbedtls 3.6.x >= $MBEDTLS_MIN; set TETHER_DEB_SUITES or TETHER_DEPS_DIR" ;;
	cjson) die "no Debian suite of '$SUITES' has cjson 1.7.x; set TETHER_DEB_SUITES or TETHER_DEPS_DIR" ;;
	cmocka) die "Debian $suites has no cmocka 1.1.x; set TETHER_DEPS_DIR" ;;
	esac
}

# ---------------------------------------------------------------- main

NAMES="mbedtls cjson"
[ "$CMOCKA" = 1 ] && NAMES="$NAMES cmocka"
for name in $NAMES; do
	if have "$name"; then
		continue
	fi
	if [ -n "${TETHER_DEPS_DIR:-}" ]; then
		fetch_from_dir "$name"
	else
		fetch_from_debian "$name"
	fi
done

{
	echo "# Dependency sources, written by tools/fetch-deps.sh."
	echo "# name version source file sha256"
	cat "$DEST/.mbedtls.rec" "$DEST/.cjson.rec"
} >"$TMP/deps.txt"
if ! cmp -s "$TMP/deps.txt" "$DEST/deps.txt" 2>/dev/null; then
	mv "$TMP/deps.txt" "$DEST/deps.txt"
	cat "$DEST/deps.txt" >&2
fi
if [ "$CMOCKA" = 1 ] && ! cmp -s "$DEST/.cmocka.rec" "$DEST/cmocka.txt" 2>/dev/null; then
	cp -f "$DEST/.cmocka.rec" "$DEST/cmocka.txt"
fi
