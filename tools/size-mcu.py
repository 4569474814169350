#!/usr/bin/env python3
"""size-mcu.py: flash and RAM of a bare-metal tether image (board cortex-m4).

usage: size-mcu.py --readelf PROG [--map FILE] [--budget BYTES] [--out FILE] [--top N] ELF

Flash is what the image stores: the vector table, code (.text), read-only
data (.rodata, unwind index) and the initial values of .data, which the reset
handler copies to RAM. RAM is .data + .bss + the stack. Within RAM the report
names the big blocks: the self-test's pool (node regions and the mbedTLS heap,
the memory tether itself is configured to use), the in-memory port's world
(the simulated network's buffers, which a real board's TCP/IP stack replaces)
and the stack; the rest are static variables of mbedTLS, tether and newlib.

With the link map (-Wl,-Map=FILE; default ELF.map) the report also splits
flash by part: mbedTLS, tether core, pki (certificate issuing, for the
self-test's certificates), base, the port, the board's own code (self-test,
start-up), newlib (libc) and libgcc.

With --budget (flash bytes), the last line says whether the image fits:
"budget N bytes (K KiB): ok" or "...: OVER by N bytes" (tools/cortex-m4.sh
fails the board on the latter).

Exit status: 0, or 1 if the image cannot be read.
"""

import argparse
import os
import re
import subprocess
import sys

PARTS = ("mbedTLS", "core", "pki", "base", "port/mem", "board", "libc", "libgcc", "other")
# Blocks of RAM named in the report: symbol -> description.
BLOCKS = (
    ("pool", "pool: node regions + mbedTLS heap (tests/sim/sim.c)"),
    ("port_mem_world", "in-memory network, files, ports (port/mem)"),
)
FLASH_SECTIONS = (".isr_vector", ".text", ".rodata", ".ARM.exidx")


def sections(readelf, elf):
    """{name: (index, size)} of the allocated sections."""
    out = subprocess.run([readelf, "-SW", elf], check=True, capture_output=True,
                         text=True).stdout
    res = {}
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)"
                     r"\s+[0-9a-f]+\s+(\S*)", line)
        if m and "A" in m.group(4):
            res[m.group(2)] = (int(m.group(1)), int(m.group(3), 16))
    return res


def objects(readelf, elf, secs):
    """[(size, name, section)] of the data objects in RAM."""
    by_index = {idx: name for name, (idx, _) in secs.items()}
    out = subprocess.run([readelf, "-sW", elf], check=True, capture_output=True,
                         text=True).stdout
    res = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 8 or f[3] != "OBJECT" or not f[6].isdigit():
            continue
        sec = by_index.get(int(f[6]), "")
        if sec in (".data", ".bss"):
            res.append((int(f[2], 0), f[7], sec))
    return res


def part_of(path):
    base = os.path.basename(path)
    m = re.match(r"^(.*\.a)\((.*)\)$", path)
    lib, member = (os.path.basename(m.group(1)), m.group(2)) if m else ("", base)
    if lib == "libtether_mbedtls.a":
        return "mbedTLS", member
    if lib == "libtether_core.a":
        return "core", member
    if lib == "libtether_pki.a":
        return "pki", member
    if lib == "libtether_base.a":
        return "base", member
    if lib == "libtether_port.a":
        return "port/mem", member
    if lib.startswith("libc") or lib.startswith("libm") or lib.startswith("libg_nano"):
        return "libc", "%s(%s)" % (lib, member)
    if lib.startswith("libgcc"):
        return "libgcc", "%s(%s)" % (lib, member)
    if "CMakeFiles/tether-selftest.dir/" in path:
        return "board", member
    return "other", base or "(linker)"


def kind_of(out_section):
    if out_section in (".isr_vector", ".text"):
        return "code"
    if out_section in (".rodata", ".ARM.exidx"):
        return "ro"
    if out_section == ".data":
        return "data"
    if out_section == ".bss":
        return "bss"
    return None


def parse_map(path):
    """{part: {kind: bytes}}, {(part, name): flash bytes}."""
    parts = {p: {"code": 0, "ro": 0, "data": 0, "bss": 0} for p in PARTS}
    inputs = {}
    started, out_sec, pending = False, None, None
    entry = re.compile(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not started:
                started = line.startswith("Linker script and memory map")
                continue
            m = re.match(r"^(\.\S+)", line)
            if m:
                out_sec = m.group(1)
                continue
            if re.match(r"^ (\S+)$", line) and not line.startswith(" *"):
                pending = line.strip()
                continue
            m = entry.match(line)
            name = None
            if m and (m.group(1) or pending):
                name = m.group(1) or pending
            pending = None
            if not m or name is None or name.startswith("*"):
                continue
            kind, size = kind_of(out_sec), int(m.group(3), 16)
            if kind is None or size == 0:
                continue
            part, short = part_of(m.group(4).strip())
            parts[part][kind] += size
            if kind != "bss":
                inputs[(part, short)] = inputs.get((part, short), 0) + size
    return parts, inputs


def kib(n):
    return "%.1f" % (n / 1024.0)


def report(args):
    secs = sections(args.readelf, args.elf)
    size = {name: secs.get(name, (0, 0))[1] for name in
            FLASH_SECTIONS + (".data", ".bss", ".stack")}
    code = size[".isr_vector"] + size[".text"]
    ro = size[".rodata"] + size[".ARM.exidx"]
    flash = code + ro + size[".data"]
    ram = size[".data"] + size[".bss"] + size[".stack"]
    lines = []
    add = lines.append
    add("cortex-m4 image %s" % os.path.basename(args.elf))
    add("  flash %d B (%s KiB) = code %d + read-only data %d + initial values of data %d"
        % (flash, kib(flash), code, ro, size[".data"]))
    add("  RAM   %d B (%s KiB) = data %d + bss %d + stack %d"
        % (ram, kib(ram), size[".data"], size[".bss"], size[".stack"]))
    objs = objects(args.readelf, args.elf, secs)
    parts, inputs = (parse_map(args.map) if args.map and os.path.exists(args.map)
                     else (None, None))
    named = {}
    for sym, desc in BLOCKS:
        named[sym] = sum(s for s, name, _ in objs if name == sym)
        add("    %8d B (%6s KiB)  %s" % (named[sym], kib(named[sym]), desc))
    add("    %8d B (%6s KiB)  stack (the self-test reports its peak)"
        % (size[".stack"], kib(size[".stack"])))
    if parts is not None:
        # The rest of RAM by part: what each part's own static variables take.
        rest = {p: parts[p]["data"] + parts[p]["bss"] for p in PARTS}
        rest["board"] -= named["pool"]
        rest["port/mem"] -= named["port_mem_world"]
        labels = {"board": "self-test and sim driver: configs, certificates, log lines, buffers",
                  "mbedTLS": "mbedTLS static data (PSA key slots, RNG state)",
                  "core": "tether core static data", "libc": "newlib static data",
                  "port/mem": "port/mem other static data"}
        for p in PARTS:
            if rest[p] > 0:
                add("    %8d B (%6s KiB)  %s"
                    % (rest[p], kib(rest[p]), labels.get(p, p + " static data")))
    else:
        other = size[".data"] + size[".bss"] - sum(named.values())
        add("    %8d B (%6s KiB)  other static data" % (other, kib(other)))
    others = sorted((o for o in objs if o[1] not in dict(BLOCKS)), reverse=True)
    big = ["%s %d" % (name, s) for s, name, _ in others[:args.top] if s >= 64]
    if big:
        add("      largest: " + ", ".join(big))
    if parts is not None:
        add("  part        flash KiB    code      ro    data     bss   flash%")
        for p in sorted(PARTS, key=lambda p: -(parts[p]["code"] + parts[p]["ro"]
                                                + parts[p]["data"])):
            v = parts[p]
            f = v["code"] + v["ro"] + v["data"]
            if f == 0 and v["bss"] == 0:
                continue
            add("  %-10s %10s %7s %7s %7s %7s %7.1f%%"
                % (p, kib(f), kib(v["code"]), kib(v["ro"]), kib(v["data"]), kib(v["bss"]),
                   100.0 * f / flash if flash else 0))
        add("  largest flash inputs (KiB):")
        for (p, name), n in sorted(inputs.items(), key=lambda x: -x[1])[:args.top]:
            add("    %6s  %-8s %s" % (kib(n), p, name))
    if args.budget:
        verdict = "ok" if flash <= args.budget else "OVER by %d bytes" % (flash - args.budget)
        add("  flash budget %d bytes (%s KiB): %s" % (args.budget, kib(args.budget), verdict))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--readelf", default="arm-none-eabi-readelf")
    ap.add_argument("--map")
    ap.add_argument("--out")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--budget", type=int, default=0, help="flash bytes (0: none)")
    ap.add_argument("elf")
    args = ap.parse_args()
    if args.map is None:
        args.map = args.elf + ".map"
    try:
        text = report(args)
    except (OSError, subprocess.CalledProcessError) as e:
        print("size-mcu: %s" % e, file=sys.stderr)
        return 1
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
