#!/usr/bin/env bash
# valgrind.sh: memcheck over the integration suite (or the tests named).
#
#   tools/valgrind.sh [test_name ...]      e.g. tools/valgrind.sh transfer reload
#
# Runs the integration tests of the host build (build/host, built first) with
# every tether process they start under valgrind's memcheck, each writing its
# own report. Fails if a test fails or if any report has an error: invalid
# reads or writes, uses of uninitialised values, bad frees, or memory
# definitely or indirectly lost. Memory still reachable at exit is
# not an error (the arena and the pools live until the process ends).
#
# Without names it runs VALGRIND_TESTS below: the CLI and config paths
# (check), sessions, streams and every policy refusal (policy), signals and
# draining (shutdown). Tests that depend on tight timing or move 64 MiB
# (reconnect, reload, status, transfer) are too slow under memcheck on a busy
# machine; name them to run them.
#
# The harness's waits and the agents' keepalive timing are stretched
# (TETHER_TIME_SCALE, default 10 here), and each test file may run 900 s.
#
# Environment: TETHER_VALGRIND_TESTS replaces the default list;
# VALGRIND_FLAGS adds options. Reports stay in build/host/valgrind/.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VALGRIND_TESTS=${TETHER_VALGRIND_TESTS:-"check policy shutdown"}
if [ "$#" -gt 0 ]; then
	VALGRIND_TESTS="$*"
fi

command -v valgrind >/dev/null || {
	echo "valgrind: not installed (tools/setup.sh installs it)" >&2
	exit 1
}
SRC=$PWD
BUILD=build/host
REAL=$SRC/$BUILD/tether
[ -x "$REAL" ] || {
	echo "valgrind: $REAL is missing: build the host preset first" >&2
	exit 1
}
OUT=$PWD/$BUILD/valgrind
rm -rf "$OUT"
mkdir -p "$OUT"

# The harness starts $TETHER: a wrapper that runs the real program under memcheck.
WRAP=$OUT/tether
cat >"$WRAP" <<WRAPPER
#!/bin/sh
exec valgrind --tool=memcheck --quiet --error-exitcode=99 \\
	--leak-check=full --show-leak-kinds=definite,indirect \\
	--errors-for-leak-kinds=definite,indirect --track-origins=yes \\
	--log-file="$OUT/vg.%p.log" ${VALGRIND_FLAGS:-} "$REAL" "\$@"
WRAPPER
chmod +x "$WRAP"

failed=()
for t in $VALGRIND_TESTS; do
	script=tests/integration/test_$t.py
	[ -f "$script" ] || {
		echo "valgrind: no test $script" >&2
		failed+=("$t (missing)")
		continue
	}
	echo "valgrind: integration.$t" >&2
	t0=$SECONDS
	if ! (cd "$BUILD/tests" && TETHER=$WRAP TETHER_SRC=$SRC TETHER_BUILD=$SRC/$BUILD \
		PYTHONDONTWRITEBYTECODE=1 TETHER_TIME_SCALE=${TETHER_TIME_SCALE:-10} \
		TETHER_TEST_TIMEOUT=${TETHER_VALGRIND_TEST_TIMEOUT:-900} python3 "$SRC/$script") \
		>"$OUT/test_$t.out" 2>&1; then
		failed+=("$t (test failed: $OUT/test_$t.out)")
		tail -20 "$OUT/test_$t.out" >&2
	fi
	echo "valgrind: integration.$t took $((SECONDS - t0)) s" >&2
done

# --quiet: a report holds only errors, so any non-empty one is a failure.
runs=0
bad=0
for f in "$OUT"/vg.*.log; do
	[ -e "$f" ] || continue
	runs=$((runs + 1))
	if [ -s "$f" ]; then
		bad=$((bad + 1))
		echo "---- $f" >&2
		head -60 "$f" >&2
	fi
done
echo "valgrind: $runs tether processes checked, $bad with errors" >&2
[ "$runs" -gt 0 ] || failed+=("no tether process ran under valgrind")
[ "$bad" -eq 0 ] || failed+=("$bad processes with memcheck errors")
if [ "${#failed[@]}" -ne 0 ]; then
	printf 'valgrind: FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "valgrind: ok" >&2
