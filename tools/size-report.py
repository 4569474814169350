#!/usr/bin/env python3
"""size-report.py: what a statically linked tether is made of.

usage: size-report.py [--board NAME] [--map FILE] [--budget BYTES] [--top N]
                      [--parts-map FILE --parts-binary FILE] [--out FILE] BINARY

Reads the GNU ld link map (-Wl,-Map=FILE; default BINARY.map) and sums the
sizes of the input sections that were kept, per part of the program:

  mbedTLS   libtether_mbedtls.a
  cJSON     libtether_cjson.a
  tether    the project's own code (core, config, port, cli)
  libc      the C library (musl's libc.a and crt files)
  libgcc    the compiler's runtime (libgcc.a, crtbegin/crtend); on aarch64
            mostly the software 128-bit long double that musl's printf and
            strtod use
  other     alignment padding between inputs, linker-made sections

Columns: code (.text), ro (read-only data: .rodata, unwind index, ...),
data (initialized writable data, also in the file), bss (zeroed at start-up,
not in the file). "file" is code + ro + data. The stripped size of BINARY
is what ls -l shows; the difference from the parts' sum is ELF headers and
alignment. With --budget, the last line says whether the binary fits.

Link-time optimization mixes the parts in its output, so an LTO build passes
--parts-map and --parts-binary: the same objects linked without LTO. The
breakdown then comes from that link, and the report says how much LTO saved.

Exit status: 0, or 1 if the map cannot be read (a budget overrun is reported,
not an error: the caller decides).
"""

import argparse
import os
import re
import sys

GROUPS = ("mbedTLS", "cJSON", "tether", "libc", "libgcc", "other")

NOBITS = re.compile(r"^\.(bss|tbss|sbss)(\.|$)|^COMMON$")
CODE = re.compile(r"^\.(text|init|fini|plt|iplt)(\.|$)")
DATA = re.compile(r"^\.(data|tdata|sdata|got|init_array|fini_array|preinit_array|ctors|dtors)"
                  r"(\.|$)|^\.data\.rel")
# Non-allocated sections: not loaded, not counted.
SKIP = re.compile(r"^\.(comment|debug|note\.GNU-stack|ARM\.attributes|gnu\.attributes|stab|"
                  r"gnu_debuglink|symtab|strtab|shstrtab)")


def classify_file(path):
    """The group and a short name for an input file of the link map."""
    base = os.path.basename(path)
    m = re.match(r"^(.*\.a)\((.*)\)$", path)
    if m:
        lib, member = os.path.basename(m.group(1)), m.group(2)
        short = "%s(%s)" % (lib, member)
        if lib == "libtether_mbedtls.a":
            return "mbedTLS", member
        if lib == "libtether_cjson.a":
            return "cJSON", member
        if lib.startswith("libtether_"):
            return "tether", short
        if lib in ("libc.a", "libm.a", "libpthread.a", "librt.a", "libcrypt.a",
                   "libresolv.a", "libdl.a", "libutil.a", "libxnet.a"):
            return "libc", short
        if lib.startswith("libgcc"):
            return "libgcc", short
        return "other", short
    if re.match(r"^(S|r|g)?crt1\.o$|^crt[in]\.o$", base):
        return "libc", base
    if re.match(r"^crt(begin|end)", base):
        return "libgcc", base
    if "/CMakeFiles/tether.dir/" in path or base.endswith(".c.o"):
        return "tether", base
    return "other", base or "(linker)"


def kind_of(out_section, in_section):
    name = in_section or out_section
    if NOBITS.search(name) or NOBITS.search(out_section):
        return "bss"
    if CODE.search(out_section):
        return "code"
    if DATA.search(out_section):
        return "data"
    return "ro"


def parse_map(path):
    """Yield (output section, input section, size, input file) for kept sections."""
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    try:
        start = lines.index("Linker script and memory map")
    except ValueError:
        raise SystemExit("size-report: %s: not a GNU ld link map" % path)
    out = None
    pending = None  # an input section name whose numbers are on the next line
    num = r"0x[0-9a-fA-F]+"
    re_out = re.compile(r"^(\.[^\s]+|[A-Za-z_][^\s]*)(\s+(%s)\s+(%s))?\s*(.*)$" % (num, num))
    re_in = re.compile(r"^ (\S+)\s+(%s)\s+(%s)\s+(.+)$" % (num, num))
    re_in_name = re.compile(r"^ (\S+)$")
    re_in_cont = re.compile(r"^\s+(%s)\s+(%s)\s+(.+)$" % (num, num))
    re_fill = re.compile(r"^ \*fill\*\s+(%s)\s+(%s)" % (num, num))
    for line in lines[start + 1:]:
        if line.startswith("OUTPUT(") or line.startswith("LOAD ") or not line.strip():
            pending = None if not line.strip() else pending
            continue
        if not line.startswith(" "):
            m = re_out.match(line)
            if m:
                out = m.group(1)
            pending = None
            continue
        if out is None or SKIP.search(out) or out.startswith("/DISCARD/"):
            continue
        m = re_fill.match(line)
        if m:
            pending = None
            yield out, "*fill*", int(m.group(2), 16), "(alignment)"
            continue
        m = re_in.match(line)
        if m:
            name, size, what = m.group(1), int(m.group(3), 16), m.group(4).strip()
            pending = None
            if size:
                yield out, name, size, what
            continue
        m = re_in_name.match(line)
        if m and not m.group(1).startswith("0x") and not m.group(1).startswith("*("):
            pending = m.group(1)
            continue
        if pending is not None:
            m = re_in_cont.match(line)
            if m:
                size, what = int(m.group(2), 16), m.group(3).strip()
                if size:
                    yield out, pending, size, what
            pending = None


def kb(n):
    return "%.1f" % (n / 1024.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--map")
    ap.add_argument("--board", default="")
    ap.add_argument("--budget", type=int, default=0, help="bytes (0: none)")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--parts-map")
    ap.add_argument("--parts-binary")
    ap.add_argument("--out")
    a = ap.parse_args()
    mp = a.parts_map or a.map or a.binary + ".map"
    if not os.path.exists(mp):
        print("size-report: no link map %s" % mp, file=sys.stderr)
        return 1

    groups = {g: {"code": 0, "ro": 0, "data": 0, "bss": 0} for g in GROUPS}
    objs = {}
    for out, sec, size, what in parse_map(mp):
        if what == "(alignment)":
            g, short = "other", "(alignment)"
        else:
            g, short = classify_file(what)
        k = kind_of(out, sec)
        groups[g][k] += size
        if k != "bss":
            key = (g, short)
            objs[key] = objs.get(key, 0) + size

    size = os.path.getsize(a.binary)
    lines = []
    with open(a.binary, "rb") as f:
        stripped = b"\0.symtab\0" not in f.read()
    title = "size of %s%s: %d bytes (%s KiB)%s" % (
        os.path.basename(a.binary), " (board %s)" % a.board if a.board else "", size, kb(size),
        " stripped" if stripped else ", not stripped")
    lines.append(title)
    if a.parts_binary:
        psize = os.path.getsize(a.parts_binary)
        lines.append("  link-time optimization saved %d bytes (%s KiB); the parts below are from"
                     % (psize - size, kb(psize - size)))
        lines.append("  the same objects linked without it (%d bytes stripped)" % psize)
    lines.append("  %-8s %9s %9s %9s %9s %9s %6s" % ("part", "file KiB", "code", "ro", "data",
                                                      "bss", "file%"))
    total = {"code": 0, "ro": 0, "data": 0, "bss": 0}
    parts = []
    for g in GROUPS:
        v = groups[g]
        f = v["code"] + v["ro"] + v["data"]
        for k in total:
            total[k] += v[k]
        parts.append((f, g, v))
    allfile = sum(p[0] for p in parts) or 1
    for f, g, v in sorted(parts, key=lambda p: -p[0]):
        if f == 0 and v["bss"] == 0:
            continue
        lines.append("  %-8s %9s %9s %9s %9s %9s %5.1f%%" % (
            g, kb(f), kb(v["code"]), kb(v["ro"]), kb(v["data"]), kb(v["bss"]), 100.0 * f / allfile))
    tf = total["code"] + total["ro"] + total["data"]
    lines.append("  %-8s %9s %9s %9s %9s %9s" % ("sum", kb(tf), kb(total["code"]), kb(total["ro"]),
                                                kb(total["data"]), kb(total["bss"])))
    lines.append("  ELF headers and segment alignment: %s KiB" % kb(max(0, (
        os.path.getsize(a.parts_binary) if a.parts_binary else size) - tf)))
    lines.append("  largest inputs (file KiB):")
    for (g, short), n in sorted(objs.items(), key=lambda kv: -kv[1])[:a.top]:
        lines.append("    %7s  %-8s %s" % (kb(n), g, short))
    if a.budget:
        verdict = "ok" if size <= a.budget else "OVER by %d bytes" % (size - a.budget)
        lines.append("  budget %d bytes (%s KiB): %s" % (a.budget, kb(a.budget), verdict))
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
