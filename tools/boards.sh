#!/usr/bin/env bash
# boards.sh: build every static Linux board and prove each binary works; build
# the cortex-m4 self-test image and run it under qemu-system-arm.
#
# usage: tools/boards.sh [BOARD...]
#        (default: linux-x86_64 linux-armhf linux-aarch64 cortex-m4)
#
# For each board:
#   1. cmake --preset BOARD && cmake --build --preset BOARD: the static, stripped
#      build/BOARD/tether and its size report (build/BOARD/size-report.txt);
#   2. the binary is static: `readelf -d` finds no dynamic section, there is no
#      program interpreter, and the ELF machine is the board's;
#   3. it runs, under qemu-user for foreign architectures (the emulator is
#      called directly, binfmt_misc is not needed): `tether version`;
#   4. tests/boards/board_session.py: `tether check` on sample configs, then a
#      mutual-TLS session between the board's binary and a host-built tether
#      on 127.0.0.1, dialing each way, streams both ways compared by SHA-256.
# The host tether is TETHER_HOST, else build/host/tether (built from the host
# preset if missing). cortex-m4 is a bare-metal image: tools/cortex-m4.sh
# builds it and runs its self-test (two nodes, mutual TLS 1.3, 64 KiB echoed).
#
# Environment: TETHER_JOBS (default 2); TETHER_HOST; TETHER_SIZE_STRICT=1 makes
# a board over its size budget a failure (otherwise it is a warning).
# Exits non-zero if any check fails; prints a summary with timings.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

JOBS=${TETHER_JOBS:-2}
BOARDS=("$@")
[ "${#BOARDS[@]}" -eq 0 ] && BOARDS=(linux-x86_64 linux-armhf linux-aarch64 cortex-m4)
RESULTS=()
FAILED=0
T_ALL=$SECONDS

say() { echo "boards: $*" >&2; }

# emulator BOARD: the command that runs the board's binaries here ("" if native).
emulator() {
	local arch
	arch=$(uname -m)
	case "$1" in
	linux-x86_64) [ "$arch" = x86_64 ] && echo "" || echo qemu-x86_64-static ;;
	linux-armhf) [ "$arch" = armv7l ] && echo "" || echo qemu-arm-static ;;
	linux-aarch64) [ "$arch" = aarch64 ] && echo "" || echo qemu-aarch64-static ;;
	*) return 1 ;;
	esac
}

# machine BOARD: what `readelf -h` calls the board's architecture.
machine() {
	case "$1" in
	linux-x86_64) echo "Advanced Micro Devices X86-64" ;;
	linux-armhf) echo "ARM" ;;
	linux-aarch64) echo "AArch64" ;;
	esac
}

host_tether() {
	if [ -n "${TETHER_HOST:-}" ]; then
		echo "$TETHER_HOST"
		return 0
	fi
	if [ ! -x build/host/tether ]; then
		say "no build/host/tether: building the host preset"
		cmake --preset host >/dev/null && cmake --build --preset host -j "$JOBS" --target tether >&2 ||
			return 1
	fi
	echo build/host/tether
}

# check_board BOARD: every step for one board; prints what failed.
check_board() {
	local b=$1 bin="build/$1/tether" emu t0 out m run

	t0=$SECONDS
	if ! cmake --preset "$b" >"build/.boards-$b-configure.log" 2>&1; then
		cat "build/.boards-$b-configure.log" >&2
		echo "configure failed"
		return 1
	fi
	if ! cmake --build --preset "$b" -j "$JOBS" >"build/.boards-$b-build.log" 2>&1; then
		tail -n 40 "build/.boards-$b-build.log" >&2
		echo "build failed"
		return 1
	fi
	cat "build/$b/size-report.txt" >&2
	say "$b: built in $((SECONDS - t0))s"

	out=$(readelf -d "$bin" 2>&1)
	if ! grep -q "There is no dynamic section" <<<"$out"; then
		echo "readelf -d shows a dynamic section"
		return 1
	fi
	if readelf -lW "$bin" | grep -q "INTERP"; then
		echo "the binary names a program interpreter"
		return 1
	fi
	m=$(readelf -h "$bin" | awk -F: '/Machine:/ { sub(/^[ \t]+/, "", $2); print $2 }')
	if [ "$m" != "$(machine "$b")" ]; then
		echo "ELF machine is '$m', expected '$(machine "$b")'"
		return 1
	fi
	if [ "$b" = linux-armhf ] && ! readelf -h "$bin" | grep -q "hard-float ABI"; then
		echo "the ARM binary does not use the hard-float ABI"
		return 1
	fi
	say "$b: static ($m, no dynamic section, no interpreter)"

	emu=$(emulator "$b") || {
		echo "no emulator known for $b"
		return 1
	}
	if [ -n "$emu" ] && ! command -v "$emu" >/dev/null 2>&1; then
		echo "$emu is missing (tools/setup.sh installs qemu-user-static)"
		return 1
	fi
	run=("$bin")
	[ -n "$emu" ] && run=("$emu" "$bin")
	if ! out=$(timeout 60 "${run[@]}" version 2>&1); then
		echo "tether version failed: $out"
		return 1
	fi
	if ! grep -q "(board $b," <<<"$out"; then
		echo "tether version does not name board $b: $out"
		return 1
	fi
	say "$b: ${emu:-native}: $(head -n1 <<<"$out")"

	t0=$SECONDS
	if ! timeout 600 python3 tests/boards/board_session.py "${emu:+$emu }$bin" "$HOST" >&2; then
		echo "board session failed"
		return 1
	fi
	say "$b: board session passed in $((SECONDS - t0))s"
	return 0
}

mkdir -p build
HOST=$(host_tether) || {
	say "cannot build the host tether"
	exit 1
}
say "host tether: $HOST"

for b in "${BOARDS[@]}"; do
	t0=$SECONDS
	say "==== $b"
	if [ "$b" = cortex-m4 ]; then
		if bash tools/cortex-m4.sh; then
			rep="build/$b/size-report.txt"
			sizes="$(grep -o 'flash [0-9]* B' "$rep"), $(grep -o 'RAM *[0-9]* B' "$rep" | tr -s ' ')"
			RESULTS+=("ok      $b: $sizes, self-test passed under qemu ($((SECONDS - t0))s)")
		else
			FAILED=1
			RESULTS+=("FAILED  $b: see the messages above ($((SECONDS - t0))s)")
		fi
		continue
	fi
	if why=$(check_board "$b"); then
		size=$(stat -c %s "build/$b/tether")
		note=""
		if grep -q "OVER by" "build/$b/size-report.txt"; then
			note=" [over budget: $(grep -o 'budget .*' "build/$b/size-report.txt")]"
			if [ "${TETHER_SIZE_STRICT:-0}" = 1 ]; then
				FAILED=1
				RESULTS+=("FAILED  $b: $size bytes$note ($((SECONDS - t0))s)")
				continue
			fi
		fi
		RESULTS+=("ok      $b: $size bytes$note ($((SECONDS - t0))s)")
	else
		FAILED=1
		say "$b: FAILED: $why"
		RESULTS+=("FAILED  $b: $why ($((SECONDS - t0))s)")
	fi
done

echo "==== boards summary ($((SECONDS - T_ALL))s)" >&2
for r in "${RESULTS[@]}"; do
	echo "  $r" >&2
done
exit "$FAILED"
