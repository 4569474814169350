#!/usr/bin/env bash
# test.sh: the full check, as CI runs it.
#   1. install the tools (tools/setup.sh)
#   2. build preset host, run its tests
#   3. build preset host-asan (ASan + UBSan), run its tests
#   3b. valgrind memcheck over integration tests of the host build
#      (tools/valgrind.sh): zero errors
#   4. build preset host-fuzz (clang, ASan, UBSan, libFuzzer), run its tests:
#      the suite once more built by clang, and each fuzz target for 8 seconds
#      from its corpus (tests/fuzz/corpus)
#   5. board checks (tools/boards.sh), when that script exists
# Exits non-zero if any step fails; every step runs, and a summary is printed.
#
# Environment: TETHER_JOBS (default 2) parallel jobs for build and ctest;
# TETHER_TEST_TIMEOUT (default 600) seconds per test.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

JOBS=${TETHER_JOBS:-2}
TIMEOUT=${TETHER_TEST_TIMEOUT:-600}
FAILED=()
PASSED=()

step() {
	local name=$1
	shift
	echo "==== $name" >&2
	local t0=$SECONDS
	if "$@"; then
		PASSED+=("$name ($((SECONDS - t0))s)")
	else
		FAILED+=("$name")
		echo "==== $name FAILED" >&2
	fi
}

build_and_test() {
	local preset=$1
	cmake --preset "$preset" >/dev/null &&
		cmake --build --preset "$preset" -j "$JOBS" &&
		ctest --preset "$preset" -j "$JOBS" --output-on-failure --timeout "$TIMEOUT" \
			--no-tests=ignore
}

boards() {
	bash tools/boards.sh
}

step setup bash tools/setup.sh
if [ "${#FAILED[@]}" -ne 0 ]; then
	echo "test: setup failed; stopping" >&2
	exit 1
fi
# Fetch once up front so that the two configures below do not both report it.
step deps bash tools/fetch-deps.sh
step host build_and_test host
step host-asan build_and_test host-asan
step valgrind bash tools/valgrind.sh
step host-fuzz build_and_test host-fuzz
if [ -f tools/boards.sh ]; then
	step boards boards
fi

echo "==== summary" >&2
for s in "${PASSED[@]}"; do
	echo "  ok      $s" >&2
done
for s in "${FAILED[@]}"; do
	echo "  FAILED  $s" >&2
done
[ "${#FAILED[@]}" -eq 0 ]
