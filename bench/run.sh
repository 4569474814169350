#!/usr/bin/env bash
# run.sh: build tether (Release, in build/bench) if needed, then run bench/run.py.
# Arguments go to run.py (--quick, --mib N, --streams N, ...; see --help).
# Needs the packages tools/setup.sh installs (stunnel4 among them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${TETHER:-}" ]; then
	build=build/bench
	if [ ! -f "$build/CMakeCache.txt" ]; then
		# -Wno-error=maybe-uninitialized: GCC 12 at -O3 reports a false
		# "may be used uninitialized" in port/posix/tcp.c, which -Werror turns
		# into a build failure; the warning is still printed.
		cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTETHER_TESTS=OFF \
			-DCMAKE_C_FLAGS=-Wno-error=maybe-uninitialized >/dev/null
	fi
	echo "run.sh: building $build/tether (Release)" >&2
	cmake --build "$build" --target tether aead_bench -j2 >/dev/null
	TETHER="$PWD/$build/tether"
fi
exec python3 bench/run.py --tether "$TETHER" "$@"
