#!/usr/bin/env bash
# boards.sh: build every static Linux board and prove each binary works; build
# the cortex-m4 self-test image and run it under qemu-system-arm.
#
# usage: tools/boards.sh [BOARD...]
#        (default: linux-x86_64 linux-armhf linux-aarch64 linux-mips linux-mipsel
#        cortex-m4)
#
# For each board:
#   1. cmake --preset BOARD && cmake --build --preset BOARD: the static, stripped
#      build/BOARD/tether and its size report (build/BOARD/size-report.txt);
#      the board fails if the binary is over its size budget (TETHER_SIZE_BUDGET
#      in boards/BOARD/board.cmake);
#   2. the binary is static: `readelf -d` finds no dynamic section, there is no
#      program interpreter, and the ELF machine (and for MIPS the byte order)
#      is the board's; armhf uses the hard-float ABI; the MIPS boards are
#      soft-float (FP ABI attribute, and not one FPU instruction in the code);
#   3. it runs, under qemu-user for foreign architectures (the emulator is
#      called directly, binfmt_misc is not needed): `tether version`;
#   4. tests/boards/board_session.py: `tether check` on sample configs, then a
#      mutual-TLS session between the board's binary and a host-built tether
#      on 127.0.0.1, dialing each way, streams both ways compared by SHA-256;
#   5. linux-mips only (a big-endian target, where byte-order bugs show): the
#      unit and sim tests, built for the board in the same build tree
#      (TETHER_TESTS=ON, cmocka compiled from source) and run by ctest under
#      qemu-mips-static.
# The host tether is TETHER_HOST, else build/host/tether (built from the host
# preset if missing). cortex-m4 is a bare-metal image: tools/cortex-m4.sh
# builds it, checks its flash budget and runs its self-test (two nodes, mutual
# TLS 1.3, 64 KiB echoed).
#
# Environment: TETHER_JOBS (default 2); TETHER_HOST.
# Exits non-zero if any check fails; prints a summary with timings.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

JOBS=${TETHER_JOBS:-2}
BOARDS=("$@")
[ "${#BOARDS[@]}" -eq 0 ] && BOARDS=(linux-x86_64 linux-armhf linux-aarch64 linux-mips linux-mipsel
	cortex-m4)
# Boards whose unit and sim tests run under their emulator (step 5).
TEST_BOARDS=" linux-mips "
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
	linux-mips) echo qemu-mips-static ;;
	linux-mipsel) echo qemu-mipsel-static ;;
	*) return 1 ;;
	esac
}

# machine BOARD: what `readelf -h` calls the board's architecture.
machine() {
	case "$1" in
	linux-x86_64) echo "Advanced Micro Devices X86-64" ;;
	linux-armhf) echo "ARM" ;;
	linux-aarch64) echo "AArch64" ;;
	linux-mips | linux-mipsel) echo "MIPS R3000" ;;
	esac
}

# FPU instructions of MIPS (coprocessor 1): loads, stores, moves, arithmetic,
# conversions, compares and branches on its condition codes. Matched against
# the mnemonic alone (objdump's third tab-separated column): the encoding
# column of MIPS16e code shows halfwords such as "cfc1" that are not one.
MIPS_FPU_RE='^(l[wd]c1|s[wd]c1|[wd]?mtc1|[wd]?mfc1|m[ft]hc1|[ct]fc1|bc1[ft]l?|(add|sub|mul|div|abs|neg|mov|sqrt|madd|msub)\.[sd]|cvt\..*|trunc\..*|round\..*|ceil\..*|floor\..*|c\.[a-z]+\.[sd])$'

# mips_fpu_lines OBJDUMP BIN: the disassembled lines whose mnemonic is an FPU
# instruction.
mips_fpu_lines() {
	"$1" -d "$2" | awk -F'\t' -v re="$MIPS_FPU_RE" 'NF >= 3 && $3 ~ re'
}

# soft_float BOARD BIN: the MIPS binary is soft-float: the ABI attribute says
# so and the code holds no FPU instruction (a router without an FPU and
# without the kernel's emulator would kill tether on the first one).
soft_float() {
	local bin=$2 triple n attrs fpu
	triple=mips-linux-gnu
	[ "$1" = linux-mipsel ] && triple=mipsel-linux-gnu
	# (Whole outputs into variables: grep -q ending a pipe early would make
	# the pipe fail under pipefail.)
	attrs=$(readelf -A "$bin")
	if ! grep -q "FP ABI: Soft float" <<<"$attrs"; then
		echo "the MIPS binary is not marked soft-float: $(grep 'FP ABI' <<<"$attrs")"
		return 1
	fi
	# The unstripped program: its symbols tell MIPS16e functions from MIPS32.
	bin=$bin.debug
	fpu=$(mips_fpu_lines "$triple-objdump" "$bin")
	if [ -n "$fpu" ]; then
		n=$(wc -l <<<"$fpu")
		echo "the MIPS binary holds $n FPU instructions, e.g.: $(head -n3 <<<"$fpu" | tr -s ' \t' ' ')"
		return 1
	fi
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
	local b=$1 bin="build/$1/tether" emu t0 out m run hdr extra=()

	emu=$(emulator "$b") || {
		echo "no emulator known for $b"
		return 1
	}
	if [ -n "$emu" ] && ! command -v "$emu" >/dev/null 2>&1; then
		echo "$emu is missing (tools/setup.sh installs qemu-user-static)"
		return 1
	fi

	t0=$SECONDS
	# --fresh: a build tree configured before keeps CMAKE_C_FLAGS, which names
	# the musl it was first configured with (its specs file), in its cache.
	if ! cmake --fresh --preset "$b" "${extra[@]}" >"build/.boards-$b-configure.log" 2>&1; then
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
	if grep -q "OVER by" "build/$b/size-report.txt"; then
		echo "over its size budget: $(grep -o 'budget .*' "build/$b/size-report.txt")"
		return 1
	fi
	if ! grep -q "budget .*: ok" "build/$b/size-report.txt"; then
		echo "no size budget in the report (set TETHER_SIZE_BUDGET in boards/$b/board.cmake)"
		return 1
	fi

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
	case "$b" in
	linux-mips | linux-mipsel)
		out=big
		[ "$b" = linux-mipsel ] && out=little
		hdr=$(readelf -h "$bin")
		if ! grep -q "Data:.*, $out endian" <<<"$hdr"; then
			echo "the binary is not $out-endian: $(grep 'Data:' <<<"$hdr")"
			return 1
		fi
		if ! grep -q "Flags:.*mips32r2" <<<"$hdr"; then
			echo "the binary is not MIPS32r2: $(grep 'Flags:' <<<"$hdr")"
			return 1
		fi
		m="$m, $out-endian MIPS32r2, soft-float: no FPU instruction"
		out=$(soft_float "$b" "$bin") || {
			echo "$out"
			return 1
		}
		;;
	esac
	say "$b: static ($m, no dynamic section, no interpreter)"

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

	if [[ "$TEST_BOARDS" == *" $b "* ]]; then
		t0=$SECONDS
		# TETHER_QEMU_USER: the tests that meet qemu-user's known gaps skip
		# themselves and say why (tests/unit/test_port_posix.c).
		# The tests need every core feature, which the shipped binary may
		# leave out for its budget: they build in a tree of their own
		# (TETHER_BOARD_TESTS) and ctest runs them under the emulator, with
		# 40 seeds of sim.chaos (about 0.6 seeds per second under qemu).
		if ! cmake --fresh --preset "$b" -B "build/$b-tests" -DTETHER_TESTS=ON \
			-DTETHER_BOARD_TESTS=ON "-DCMAKE_CROSSCOMPILING_EMULATOR=$emu" \
			-DTETHER_CHAOS_SEEDS=40 \
			>"build/.boards-$b-tests-configure.log" 2>&1 ||
			! cmake --build "build/$b-tests" -j "$JOBS" >"build/.boards-$b-tests-build.log" 2>&1; then
			tail -n 40 "build/.boards-$b-tests-configure.log" "build/.boards-$b-tests-build.log" >&2
			echo "the test tree failed to build"
			return 1
		fi
		if ! TETHER_QEMU_USER=1 ctest --test-dir "build/$b-tests" -R '^(unit|sim)\.' -j "$JOBS" --output-on-failure \
			--timeout 600 >"build/.boards-$b-tests.log" 2>&1; then
			grep -v '^ *[0-9]*/[0-9]* Test *#[0-9]*: .* Passed' "build/.boards-$b-tests.log" |
				tail -n 60 >&2
			echo "unit and sim tests failed under $emu (build/.boards-$b-tests.log)"
			return 1
		fi
		say "$b: $(grep -E '^[0-9]+% tests passed' "build/.boards-$b-tests.log") under $emu" \
			"in $((SECONDS - t0))s"
	fi
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
		note=$(grep -o 'budget .*' "build/$b/size-report.txt")
		tests=""
		if [[ "$TEST_BOARDS" == *" $b "* ]]; then
			tests=", unit+sim tests passed under $(emulator "$b")"
		fi
		RESULTS+=("ok      $b: $size bytes, $note$tests ($((SECONDS - t0))s)")
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
