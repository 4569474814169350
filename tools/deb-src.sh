# shellcheck shell=bash
# deb-src.sh: shared by the scripts that fetch Debian source packages
# (tools/fetch-deps.sh for mbedTLS and cJSON, tools/musl-build.sh for musl).
# Sourced, not run. The caller defines log MESSAGE and die MESSAGE, and TMP,
# a scratch directory.
#
# APT_RELEASE_SRC_FILE, APT_RELEASE_SRC_PURPOSE
#   The deb-src file for the machine's own release, which both scripts use.
# deb_src_setup FILE "SUITES" PURPOSE
#   Writes FILE (an apt .sources file) with one deb-src entry for SUITES,
#   derived from this machine's own Debian archive entry (same URI, same
#   Signed-By), then updates the indexes of FILE only. Needs root or sudo.
#   apt then verifies downloaded source files through the archive's signature
#   chain.
# deb_codename
#   The machine's Debian release (e.g. bookworm), from /etc/os-release.
# deb_fetch_orig DIR NAME SUITE FILE WANT
#   Downloads source package NAME from SUITE into DIR (apt-get source
#   --download-only), checks that FILE (its .orig tarball) arrived and, when
#   WANT is a SHA-256, that it matches the archive index. Prints the SHA-256.

APT_RELEASE_SRC_FILE=/etc/apt/sources.list.d/tether-musl-src.sources
APT_RELEASE_SRC_PURPOSE="source packages of this release (musl, glibc's soft-fp, cmocka), for the boards"

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@" || die "'$*' needs root; run as root, allow sudo, or set TETHER_DEPS_DIR"
	else
		die "'$*' needs root (no sudo); run as root or set TETHER_DEPS_DIR to a directory of tarballs"
	fi
}

deb_codename() {
	local codename
	codename=$( (. /etc/os-release && echo "${VERSION_CODENAME:-}") 2>/dev/null || true)
	[ -n "$codename" ] || die "cannot tell the Debian release from /etc/os-release"
	echo "$codename"
}

# apt_entries: one line per enabled "deb" entry of the machine's apt sources:
# "<uri>\t<suites>\t<components>\t<signed-by>" (signed-by may be empty).
# The deb-src files these scripts write (tether-*.sources) are skipped.
apt_entries() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		case "$(basename "$f")" in tether-*.sources) continue ;; esac
		awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false|0)$/ && uris != "") {
				n = split(uris, u, " ")
				for (i = 1; i <= n; i++)
					printf "%s\t%s\t%s\t%s\n", u[i], suites, comps, signed
			}
			types = uris = suites = comps = signed = enabled = ""; field = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ { if (field == "signed-by") multiline = 1; next }
		{
			field = tolower(substr($0, 1, index($0, ":") - 1))
			val = substr($0, index($0, ":") + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", val)
			gsub(/[ \t]+/, " ", val)
			if (field == "types") types = val
			else if (field == "uris") uris = val
			else if (field == "suites") suites = val
			else if (field == "components") comps = val
			else if (field == "enabled") enabled = tolower(val)
			else if (field == "signed-by") signed = val
		}
		END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '
		$1 != "deb" { next }
		{
			signed = ""; i = 2
			if ($2 ~ /^\[/) {
				while (i <= NF) {
					o = $i; gsub(/[\[\]]/, "", o)
					if (tolower(o) ~ /^signed-by=/) signed = substr(o, 11)
					if ($i ~ /\]$/) { i++; break }
					i++
				}
			}
			uri = $i; suite = $(i + 1); comps = ""
			for (j = i + 2; j <= NF; j++) comps = comps (comps == "" ? "" : " ") $j
			printf "%s\t%s\t%s\t%s\n", uri, suite, comps, signed
		}' "$f"
	done
}

# debian_archive: "<uri>\t<signed-by>" of the Debian archive this machine uses:
# the entry carrying the machine's own release (e.g. bookworm) with "main".
debian_archive() {
	local codename
	codename=$(deb_codename)
	apt_entries | awk -F '\t' -v c="$codename" '
		{
			n = split($2, s, " "); ok = 0
			for (i = 1; i <= n; i++) if (s[i] == c) ok = 1
			if (ok && (" " $3 " ") ~ / main /) { print $1 "\t" $4; exit }
		}'
}

deb_src_setup() {
	local file=$1 suites=$2 purpose=$3 arch uri signed content
	arch=$(debian_archive)
	[ -n "$arch" ] || die "found no Debian archive entry (deb ... <release> main) in the apt sources;
  set TETHER_DEPS_DIR to a directory of upstream tarballs instead"
	uri=${arch%%$'\t'*}
	signed=${arch#*$'\t'}
	if [ -n "$signed" ] && [ ! -f "$signed" ]; then
		# an inline key or a missing file: fall back to the distribution keyring
		signed=/usr/share/keyrings/debian-archive-keyring.gpg
		[ -f "$signed" ] || signed=
	fi
	content="# Written by tether's tools: $purpose.
# Derived from this machine's Debian archive entry; safe to delete.
Types: deb-src
URIs: $uri
Suites: $suites
Components: main"
	[ -n "$signed" ] && content="$content
Signed-By: $signed"
	if [ ! -f "$file" ] || [ "$(cat "$file")" != "$content" ]; then
		log "adding deb-src for $suites from $uri in $file"
		printf '%s\n' "$content" >"$TMP/deb-src.sources"
		as_root install -m 0644 "$TMP/deb-src.sources" "$file"
	fi
	log "apt-get update (source indexes for $suites)"
	# Only this file's indexes: the rest of the machine's lists are left alone.
	as_root apt-get update -qq \
		-o Dir::Etc::sourcelist="$file" \
		-o Dir::Etc::sourceparts=- \
		-o APT::Get::List-Cleanup=0 >&2 ||
		die "apt-get update failed for $file"
}

deb_fetch_orig() {
	local dir=$1 name=$2 suite=$3 file=$4 want=$5 got
	mkdir -p "$dir"
	chmod 755 "$TMP" "$dir"
	(cd "$dir" && apt-get source --download-only -qq "$name/$suite" >&2) ||
		die "apt-get source $name/$suite failed"
	[ -f "$dir/$file" ] || die "apt-get source did not produce $file"
	got=$(sha256sum "$dir/$file" | awk '{print $1}')
	if [[ "$want" =~ ^[0-9a-f]{64}$ ]] && [ "$got" != "$want" ]; then
		die "$file: SHA-256 $got differs from the archive index ($want)"
	fi
	echo "$got"
}
