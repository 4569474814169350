"""Resident memory follows use: idle RSS with the default limits, and growth bounded.

The node reserves its pools and its TLS heap at start-up for the limits it
is given (README, "Memory"), but touches only what it uses: pool slots and
stream rings are not zeroed ahead of use, and the TLS heap's pages are given
back after mbedTLS's allocator has zeroed them. So a node with the default
limits (hundreds of streams with 64 KB windows: more than 16 MiB reserved)
holds little more than its code and one session at idle.

Checked from /proc/PID/status, for both nodes of a pair with the default
limits, at idle (session up, no stream): RssAnon (the memory tether itself
touches) at most ANON_BOUND, and VmRSS at most IDLE_BOUND when the program is
statically linked as the boards ship it (a dynamically linked build's VmRSS
is mostly the shared C library's and its own debug-built text); after a
bulk transfer and many concurrent streams, RssAnon grows by no more than the
node's reservation (node region plus TLS heap, from the status line); and the
pages a transfer touched are not more than its streams could buffer.

Under sanitizers (ASan maps shadow memory) the RSS figures mean nothing and
the bounds are not checked; the transfers still are."""

import concurrent.futures
import signal

import harness as h
from harness import MiB, check

IDLE_BOUND = 2 * 1024 * 1024  # bytes of VmRSS at idle, default limits, static program
ANON_BOUND = 1024 * 1024  # bytes of RssAnon at idle, default limits, any build


def sanitized():
    with open(h.TETHER, "rb") as f:
        return b"__asan_init" in f.read()


def static_program():
    """True if the program has no ELF interpreter (PT_INTERP names ld-*.so near the start)."""
    with open(h.TETHER, "rb") as f:
        head = f.read(8192)
    return b"/ld-" not in head and b"ld-linux" not in head


def status_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


def reserved(node):
    """Node region + TLS heap reserved at start, from a SIGUSR1 status line."""
    m = node.mark()
    node.send_signal(signal.SIGUSR1)
    st = node.wait_for("status", 5, m)
    return int(st["mem_node"]), int(st["heap_size"])


def main():
    env = h.Env("rss")
    a, b = h.pair(env)
    sink = env.server(h.SinkServer())
    echo = env.server(h.EchoServer())
    a.add_service("sink", sink, allow=[b])
    a.add_service("echo", echo, allow=[b])
    fwd_sink = b.add_forward(a, "sink")
    fwd_echo = b.add_forward(a, "echo")
    san = sanitized()
    state = {}

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
    env.setup("session up, default limits", start)

    def idle():
        static = static_program()
        for n in (a, b):
            s = status_kb(n.proc.pid)
            node_b, heap_b = reserved(n)
            state[n.name] = (s, node_b, heap_b)
            print("  %s idle: VmRSS %d KiB (anon %d, file %d); reserved: node region %d KiB, "
                  "TLS heap %d KiB; %s program" % (
                      n.name, s["VmRSS"] // 1024, s["RssAnon"] // 1024, s["RssFile"] // 1024,
                      node_b // 1024, heap_b // 1024, "static" if static else "dynamic"))
        if san:
            print("  built with sanitizers: RSS bounds not checked")
            return
        for n in (a, b):
            s, node_b, _ = state[n.name]
            # The reservation is far above the bounds: the test means something.
            check(node_b > 4 * IDLE_BOUND,
                  "%s: node region only %d bytes; the default limits changed?" % (n.name, node_b))
            check(s["RssAnon"] <= ANON_BOUND,
                  "%s: RssAnon %d bytes at idle, bound %d" % (n.name, s["RssAnon"], ANON_BOUND))
            if static:
                check(s["VmRSS"] <= IDLE_BOUND,
                      "%s: VmRSS %d bytes at idle, bound %d" % (n.name, s["VmRSS"], IDLE_BOUND))
    env.case("idle RSS bounded with the default limits (anon 1 MiB; static VmRSS 2 MiB)", idle)

    def loaded():
        res = h.tcp_client(fwd_sink, 32 * MiB, seed=3, read_back=False, timeout=60)
        h.check_transfer(res, 32 * MiB, "bulk 32 MiB", sink=sink)

        def one(i):
            return h.tcp_client(fwd_echo, 256 * 1024, seed=50 + i, read_back=True, timeout=60)
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as ex:
            results = list(ex.map(one, range(32)))
        for i, r in enumerate(results):
            h.check_transfer(r, 256 * 1024, "stream %d" % i, echo=True)
        for n in (a, b):
            s0, node_b, heap_b = state[n.name]
            s = status_kb(n.proc.pid)
            grew = s["RssAnon"] - s0["RssAnon"]
            print("  %s after 32 MiB and 32 concurrent streams: VmRSS %d KiB, VmHWM %d KiB, "
                  "anon +%d KiB" % (n.name, s["VmRSS"] // 1024, s["VmHWM"] // 1024, grew // 1024))
            if san:
                continue
            check(grew <= node_b + heap_b,
                  "%s: anonymous memory grew by %d bytes, more than the %d reserved" % (
                      n.name, grew, node_b + heap_b))
    env.case("RSS after load grows by no more than the reservation", loaded)

    def stop():
        a.stop()
        b.stop()
    env.case("clean exit, no allocation after start-up", stop)
    env.finish()


if __name__ == "__main__":
    main()
