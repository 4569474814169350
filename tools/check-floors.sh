#!/usr/bin/env bash
# check-floors.sh: the project's include graph runs downhill only.
#
#   cli/, boards/ -> config/ -> core/ -> port/ -> base/
#   cli/, boards/ -> pki/ -> core/ -> port/ -> base/
#   boards/ -> tests/sim/ (the cortex-m4 self-test image is the simulation driver's)
#
# Every #include in base/ port/ core/ pki/ config/ cli/ boards/ is checked:
#   1. a project header is named from the repository root ("core/frame.h",
#      never "frame.h" or "../core/frame.h") and exists;
#   2. it lives on the including file's floor or one allowed below it (config/
#      does not include port/: it needs nothing there);
#   3. only config/ includes cJSON.h (STYLE: config fills plain structs and
#      lets go of the tree).
# Headers found through the include path rather than the root are allowed by
# name: the board's board.h, mbedtls_board.h and mbedtls_board_post.h, the
# generated tether_version.h, and mbedTLS's own "mbedtls/..." and "psa/...".
# tests/ may include anything and is not checked.
#
# usage: tools/check-floors.sh   (from anywhere; CTest runs it as "floors")
# Prints FILE:LINE: what is wrong, for every violation; exits 1 if any.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FLOORS=(base port core pki config cli boards tests)
CHECKED=(base port core pki config cli boards) # tests/ may include anything

# may_include FROM: the floors a file under FROM/ may include from.
may_include() {
	case "$1" in
	base) echo "base" ;;
	port) echo "port base" ;;
	core) echo "core port base" ;;
	pki) echo "pki core port base" ;;
	config) echo "config core base" ;;
	cli) echo "cli config pki core port base" ;;
	boards) echo "boards tests config pki core port base" ;;
	esac
}

is_floor() {
	local f
	for f in "${FLOORS[@]}"; do
		[ "$f" = "$1" ] && return 0
	done
	return 1
}

problems=0

# check FILE:LINE TEXT: one #include line.
check() {
	local where=$1 text=$2 from=${1%%/*} target top
	local re_quote='^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)"'
	local re_angle='^[[:space:]]*#[[:space:]]*include[[:space:]]*<([^>]+)>'

	if [[ $text =~ $re_angle ]]; then
		target=${BASH_REMATCH[1]}
		if [ "$target" = cJSON.h ] && [ "$from" != config ]; then
			report "$where" "includes <cJSON.h>: only config/ may see JSON"
		elif is_floor "${target%%/*}" && [[ $target == */* ]]; then
			report "$where" "includes <$target>: project headers are included with quotes"
		fi
		return 0
	fi
	[[ $text =~ $re_quote ]] || return 0
	target=${BASH_REMATCH[1]}
	case "$target" in
	mbedtls/* | psa/*) return 0 ;;
	board.h | mbedtls_board.h | mbedtls_board_post.h | tether_version.h) return 0 ;;
	cJSON.h)
		[ "$from" = config ] ||
			report "$where" "includes \"cJSON.h\": only config/ may see JSON"
		return 0
		;;
	esac
	top=${target%%/*}
	if [[ $target != */* ]] || ! is_floor "$top" || [[ $target == *./* ]]; then
		report "$where" "includes \"$target\": not a root-relative path to a project header" \
			"(write e.g. \"core/frame.h\")"
		return 0
	fi
	if [ ! -f "$target" ]; then
		report "$where" "includes \"$target\": no such file in the repository"
		return 0
	fi
	case " $(may_include "$from") " in
	*" $top "*) ;;
	*)
		report "$where" "includes \"$target\": $from/ may include only from" \
			"$(may_include "$from" | sed 's/\([a-z]*\)/\1\//g; s/ /, /g')"
		;;
	esac
}

report() {
	local where=$1
	shift
	echo "$where: $*" >&2
	problems=$((problems + 1))
}

files=0
while IFS= read -r -d '' f; do
	files=$((files + 1))
	n=0
	while IFS= read -r text || [ -n "$text" ]; do
		n=$((n + 1))
		case "$text" in
		*include*) check "$f:$n" "$text" ;;
		esac
	done <"$f"
done < <(find "${CHECKED[@]}" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)

if [ "$problems" -ne 0 ]; then
	echo "check-floors: $problems include(s) break the floors (see tools/check-floors.sh)" >&2
	exit 1
fi
echo "check-floors: $files files, every include runs downhill"
