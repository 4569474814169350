#!/usr/bin/env bash
# fuzz.sh: a long fuzzing run of one target, and corpus upkeep.
#
#   tools/fuzz.sh run TARGET [RUNS] [JOBS]   fuzz TARGET (e.g. fuzz_mux) for RUNS
#        executions (default 10000000) with JOBS processes (default 1), under
#        nice -n 19, growing build/host-fuzz/tests/fuzz-work/TARGET from the
#        kept corpus; prints libFuzzer's final stats (executions, cov, ft).
#        A crash, leak, sanitizer report or failed CHECK stops it, leaving
#        crash-*/leak-*/timeout-* in build/host-fuzz/tests/fuzz-work/.
#        FUZZ_SECONDS=N in the environment stops it after N seconds instead.
#   tools/fuzz.sh merge TARGET              minimize the work corpus and the kept
#        one into tests/fuzz/corpus/TARGET (libFuzzer -merge=1).
#
# Build the targets first: cmake --preset host-fuzz && cmake --build --preset host-fuzz
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cmd=${1:-}
target=${2:-}
if [ -z "$cmd" ] || [ -z "$target" ]; then
	sed -n '2,13p' "$0" >&2
	exit 2
fi
exe=build/host-fuzz/tests/$target
kept=tests/fuzz/corpus/$target
work=build/host-fuzz/tests/fuzz-work/$target
if [ ! -x "$exe" ]; then
	echo "fuzz: $exe not built (cmake --build --preset host-fuzz)" >&2
	exit 1
fi
mkdir -p "$work" "$kept"

case $cmd in
run)
	runs=${3:-10000000}
	jobs=${4:-1}
	args=(-max_total_time="${FUZZ_SECONDS:-0}" -max_len=4096 -timeout=120 -print_final_stats=1
		-artifact_prefix="$(dirname "$work")/$target-" "$work" "$kept")
	if [ "$jobs" -gt 1 ]; then
		# Each job runs RUNS/JOBS; they share the work corpus.
		exec nice -n 19 "$exe" -runs=$((runs / jobs)) -jobs="$jobs" -workers="$jobs" "${args[@]}"
	fi
	exec nice -n 19 "$exe" -runs="$runs" "${args[@]}"
	;;
merge)
	new=$(mktemp -d)
	nice -n 19 "$exe" -merge=1 -max_len=4096 -timeout=10 "$new" "$kept" "$work"
	rm -rf "$kept"
	mkdir -p "$kept"
	cp "$new"/* "$kept"/ 2>/dev/null || true
	rm -rf "$new"
	echo "fuzz: $kept: $(ls "$kept" | wc -l) inputs, $(cat "$kept"/* | wc -c) bytes" >&2
	;;
*)
	echo "fuzz: unknown command $cmd (run, merge)" >&2
	exit 2
	;;
esac
