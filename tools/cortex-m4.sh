#!/usr/bin/env bash
# cortex-m4.sh: build the cortex-m4 self-test image and run it under qemu.
#
# usage: tools/cortex-m4.sh   (tools/boards.sh calls it for the board cortex-m4)
#
#   1. cmake --preset cortex-m4 && cmake --build --preset cortex-m4:
#      build/cortex-m4/tether-selftest.elf (core + port/mem, bare metal,
#      newlib-nano) and its size report (build/cortex-m4/size-report.txt);
#      the board fails if the image's flash is over its budget
#      (TETHER_FLASH_BUDGET in boards/cortex-m4/board.cmake, 192 KiB);
#   2. qemu-system-arm -M mps2-an386 (a Cortex-M4 board) runs the image with
#      semihosting; the image's exit status is the verdict: 0 pass, 1 set-up,
#      2 handshake, 3 transfer, 4 shutdown, 5 CPU fault. Its output must end
#      with "selftest: PASS". The run's output: build/cortex-m4/selftest.log.
#
# Environment: TETHER_JOBS (default 2); TETHER_QEMU_TIMEOUT seconds (default 120).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

JOBS=${TETHER_JOBS:-2}
TIMEOUT=${TETHER_QEMU_TIMEOUT:-120}
DIR=build/cortex-m4
ELF=$DIR/tether-selftest.elf

say() { echo "cortex-m4: $*" >&2; }

for tool in arm-none-eabi-gcc qemu-system-arm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		say "$tool is missing (tools/setup.sh installs gcc-arm-none-eabi," \
			"libnewlib-arm-none-eabi and qemu-system-arm)"
		exit 1
	fi
done

mkdir -p build
t0=$SECONDS
if ! cmake --preset cortex-m4 >build/.boards-cortex-m4-configure.log 2>&1; then
	cat build/.boards-cortex-m4-configure.log >&2
	say "configure failed"
	exit 1
fi
if ! cmake --build --preset cortex-m4 -j "$JOBS" >build/.boards-cortex-m4-build.log 2>&1; then
	tail -n 40 build/.boards-cortex-m4-build.log >&2
	say "build failed"
	exit 1
fi
cat "$DIR/size-report.txt" >&2
say "built in $((SECONDS - t0))s"
if ! grep -q "flash budget .*: ok" "$DIR/size-report.txt"; then
	say "FAILED: $(grep -o 'flash budget .*' "$DIR/size-report.txt" || echo 'no flash budget in the report')"
	exit 1
fi
say "WARNING: this image uses TEST-ONLY ENTROPY (port/mem/entropy_test.c, fixed seed): NOT SECURE"

t0=$SECONDS
timeout "$TIMEOUT" qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
	-semihosting-config enable=on,target=native -kernel "$ELF" </dev/null >"$DIR/selftest.log" 2>&1
rc=$?
grep -v ' event=stream_' "$DIR/selftest.log" | tail -n 12 >&2
if [ "$rc" -eq 124 ]; then
	say "FAILED: qemu did not finish within ${TIMEOUT}s (output: $DIR/selftest.log)"
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	say "FAILED: exit status $rc (1 set-up, 2 handshake, 3 transfer, 4 shutdown, 5 CPU fault);" \
		"output: $DIR/selftest.log"
	exit 1
fi
if ! grep -q '^selftest: PASS' "$DIR/selftest.log"; then
	say "FAILED: exit status 0 but no PASS line (output: $DIR/selftest.log)"
	exit 1
fi
say "self-test passed under qemu-system-arm -M mps2-an386 in $((SECONDS - t0))s"
exit 0
