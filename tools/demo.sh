#!/usr/bin/env bash
# demo.sh: install what is needed, build the host program, run `tether demo`
# (two nodes on loopback with a throwaway PKI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh
cmake --preset host >/dev/null
cmake --build --preset host
exec build/host/tether demo "$@"
