#!/usr/bin/env bash
# soak.sh: the seeded fault simulation (tests/sim/chaos.c) for hours.
#
#   tools/soak.sh [hours] [first_seed]      default: 1 hour, seeds from 1
#
# Builds the host preset's sim_chaos, then runs consecutive seeds in one
# process per core (TETHER_JOBS, default 2), each on its own range, under
# nice, until the time is up. Every seed is a schedule of 3-10 nodes with
# streams, reloads and faults, its invariants checked after each step; a
# violation prints the seed and the command that replays it
# (TETHER_SIM_SEED=n build/host/tests/sim_chaos). Progress lines and the
# final report (seeds, failures, CPU seconds, seeds per second of CPU and of
# wall time) go to stdout; each job's progress (a line every 100 seeds) and
# violations to build/host/soak/.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

HOURS=${1:-1}
FIRST=${2:-1}
JOBS=${TETHER_JOBS:-2}
RANGE=100000000 # seeds per job: ranges never overlap

cmake --preset host >/dev/null && cmake --build --preset host -j "$JOBS" --target sim_chaos >/dev/null || {
	echo "soak: the build failed" >&2
	exit 1
}
OUT=build/host/soak
mkdir -p "$OUT"
rm -f "$OUT"/job*.out "$OUT"/job*.err
END=$(($(date +%s) + $(awk "BEGIN { printf \"%d\", $HOURS * 3600 }")))
T0=$(date +%s)

pids=()
for j in $(seq 0 $((JOBS - 1))); do
	first=$((FIRST + j * RANGE))
	# One process per job; it starts no seed after END, and prints its summary.
	TETHER_CHAOS_UNTIL=$END TETHER_CHAOS_PROGRESS=100 TETHER_CHAOS_MAX_FAILED=1000 \
		nice -n 19 build/host/tests/sim_chaos "$first" "$RANGE" \
		>"$OUT/job$j.out" 2>"$OUT/job$j.err" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p"
done

wall=$(($(date +%s) - T0))
# Sum the jobs' final summaries: "chaos: N seeds from F, K failed; ... C s CPU, ..."
grep -hv "so far$" "$OUT"/job*.out | awk -v wall="$wall" '
	/^chaos: / {
		seeds += $2; failed += $6
		for (i = 1; i < NF; i++) if ($(i + 1) == "s" && $(i + 2) == "CPU,") cpu += $i
	}
	END {
		printf "soak: %d seeds, %d failed, %.0f s CPU, %d s wall; %.2f seeds/s CPU, %.2f seeds/s wall\n",
			seeds, failed, cpu, wall, (cpu > 0 ? seeds / cpu : 0), (wall > 0 ? seeds / wall : 0)
	}'
if grep -h "^VIOLATION" "$OUT"/job*.err; then
	grep -h "^replay:" "$OUT"/job*.err | sort -u
	exit 1
fi
