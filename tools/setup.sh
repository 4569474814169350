#!/usr/bin/env bash
# setup.sh: install the Debian packages that building and testing tether need.
# Idempotent and quiet when everything is present. Runs apt-get as root (or
# through sudo). Usage: tools/setup.sh
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

# Build and host test tools.
PACKAGES=(
	build-essential cmake pkg-config make
	libcmocka-dev
	openssl curl python3 stunnel4
	strace # integration.syscalls and bench/run.py count system calls per MB
	clang libclang-rt-14-dev clang-format
	dpkg-dev ca-certificates xz-utils bzip2 tar
	debian-archive-keyring
	systemd # systemd-analyze: integration.service_files verifies tools/systemd/tether.service
	libssl-dev # OpenSSL's libcrypto: the AEAD reference test (ref.aead_openssl) and bench/aead_bench
)

# ---- board toolchains (cross compilers, qemu) --------------------------------
# Boards append their packages here, e.g.:
#   PACKAGES+=(gcc-arm-linux-gnueabihf qemu-user)
# Static Linux boards (tools/boards.sh): GCC for Arm, qemu-user to run their
# binaries, Debian's x86-64 musl (musl-tools), and musl's source package, which
# tools/musl-build.sh compiles for each board into .deps on first use.
PACKAGES+=(musl-tools gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu qemu-user-static)
# linux-mips and linux-mipsel: GCC for big- and little-endian MIPS (their
# binutils' objdump checks that the binaries hold no FPU instruction); musl is
# built soft-float for them, with glibc's soft-fp routines (its source package,
# fetched below); qemu-mips-static and qemu-mipsel-static are in qemu-user-static.
PACKAGES+=(gcc-mips-linux-gnu gcc-mipsel-linux-gnu)
# cortex-m4 (tools/cortex-m4.sh): bare-metal GCC, newlib, qemu's system emulator.
PACKAGES+=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)
# memcheck over the integration tests (tools/valgrind.sh).
PACKAGES+=(valgrind)
# -------------------------------------------------------------------------------

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "setup: '$*' needs root and there is no sudo" >&2
		exit 1
	fi
}

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -ne 0 ]; then
	echo "setup: installing ${missing[*]}" >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
	echo "setup: done" >&2
fi

# musl's source for the static boards, and glibc's for the MIPS boards'
# soft-fp, after the packages (and any sudo prompt).
bash "$(dirname "${BASH_SOURCE[0]}")/musl-build.sh" --fetch-only --soft-float ||
	echo "setup: musl's or glibc's source was not fetched; the board builds will try again" >&2
