"""Batched I/O: system calls per MB moved through a tunnel, counted with strace.

A node reads many TLS records ahead with one recv, sends the records one pump
produced with one send, writes what one read pass delivered to a stream with
one send, and reads a stream's local side as far as the peer's window allows
with one recv (TETHER_IO_BATCH; docs/DESIGN.md "Memory model"). Without it a
node makes about 350 system calls per MB (two recv per 4 KB record on the
receiving node, one recv and one send per record on the sending one); a
conventional TLS proxy with 16 KB records about 200-250.

Both nodes of a pair are traced (`strace -c -f`) while 32 MiB cross one
stream; each must stay under BOUND calls per MB. The bytes are checked too.
Needs strace (tools/setup.sh installs it) and ptrace permission."""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import harness as h
from harness import MiB, check

BOUND = 150  # system calls per MB (10^6 bytes), each node
NBYTES = 32 * MiB


def main():
    env = h.Env("syscalls")
    a, b = h.pair(env)
    sink = env.server(h.SinkServer())
    a.add_service("sink", sink, allow=[b])
    fwd = b.add_forward(a, "sink")

    def start():
        check(shutil.which("strace") is not None, "strace not installed (tools/setup.sh)")
        a.start()
        b.start()
        h.wait_session(a, b)
    env.setup("session up", start)

    def counted():
        tracers = []
        for n in (a, b):
            out = tempfile.mktemp(prefix="strace-", dir=env.dir)
            tr = subprocess.Popen(["strace", "-c", "-f", "-U", "calls,name", "-o", out,
                                   "-p", str(n.proc.pid)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            line = tr.stderr.readline()
            check("attached" in line, "strace could not attach to %s: %s" % (n.name, line))
            tracers.append((n, tr, out))
        time.sleep(0.2)
        try:
            res = h.tcp_client(fwd, NBYTES, seed=12, read_back=False, timeout=90)
            h.check_transfer(res, NBYTES, "32 MiB under strace", sink=sink)
        finally:
            for _, tr, _ in tracers:
                tr.send_signal(signal.SIGINT)
            for _, tr, _ in tracers:
                tr.wait(20)
        mb = NBYTES / 1e6
        for n, _, out in tracers:
            total, rows = 0, []
            with open(out) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 2 and p[0].isdigit():
                        if p[1] == "total":
                            total = int(p[0])
                        else:
                            rows.append((int(p[0]), p[1]))
            rows.sort(reverse=True)
            print("  %s: %d system calls, %.0f per MB (%s)" % (
                n.name, total, total / mb, ", ".join("%s %d" % (nm, c) for c, nm in rows[:4])))
            check(total > 0, "%s: strace counted nothing" % n.name)
            check(total / mb <= BOUND, "%s: %.0f system calls per MB, bound %d" % (
                n.name, total / mb, BOUND))
            os.unlink(out)
    env.case("at most %d system calls per MB on each node (32 MiB, one stream)" % BOUND, counted)

    def stop():
        a.stop()
        b.stop()
    env.case("clean exit, no allocation after start-up", stop)
    env.finish()


if __name__ == "__main__":
    main()
