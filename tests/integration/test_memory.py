"""Memory: the per-session budget and no allocation after start-up.

Budget (README, "Memory"): between tether nodes, with 4 KB records, one
established session holds at most 16 KB (TLS state and the session struct,
allocator headers included, stream buffers not) and at most 24 KB at the
handshake peak, plus 12 KB in a build with edge routes (TETHER_EDGES, which
the tests need): mbedTLS sizes every handshake's input buffer for the 16 KB
records foreign stacks send, and a peer session gives the excess back once
its handshake is over (tls_resize_input), so the established figure is the
same. Each node logs both figures in its session_up line; this test
fails if either goes over.

No malloc after start-up: the agent counts calls to the C allocator made by
its own code and libraries after start-up and logs the count at exit. After
handshakes, many streams opened and closed, a bulk transfer, and a peer lost
and reconnected, the count must be zero (checked by Node.stop())."""

import concurrent.futures

import harness as h
from harness import MiB, check

SESSION_BUDGET = 16 * 1024
HANDSHAKE_BUDGET = 24 * 1024 + 12 * 1024


def check_budget(up, who):
    mem = int(up.get("mem", "-1"))
    peak = int(up.get("handshake_peak", "-1"))
    check(0 < mem <= SESSION_BUDGET,
          "%s: %d bytes per established session, budget %d: %s" % (who, mem, SESSION_BUDGET,
                                                                  up["_line"]))
    check(0 < peak <= HANDSHAKE_BUDGET,
          "%s: %d bytes at the handshake peak, budget %d: %s" % (who, peak, HANDSHAKE_BUDGET,
                                                                up["_line"]))
    print("  %s: session %d bytes (budget %d), handshake peak %d bytes (budget %d)" % (
        who, mem, SESSION_BUDGET, peak, HANDSHAKE_BUDGET))


def main():
    env = h.Env("memory")
    a, b = h.pair(env)
    echo = env.server(h.EchoServer())
    sink = env.server(h.SinkServer())
    a.add_service("echo", echo, allow=[b])
    a.add_service("sink", sink, allow=[b])
    fwd_echo = b.add_forward(a, "echo")
    fwd_sink = b.add_forward(a, "sink")
    # 40 streams at once on one session: above the default share (streams / 2
    # with one peer), which a slow build (sanitizers) reaches before any ends.
    a.cfg["limits"] = {"sessions": 4, "streams": 64, "stream_window": 65536, "handshakes": 2,
                       "streams_per_session": 64}
    b.cfg["limits"] = dict(a.cfg["limits"])

    state = {}

    def start():
        a.start()
        b.start()
        state["up"] = h.wait_session(a, b)
    env.setup("session up", start)

    def budget():
        ua, ub = state["up"]
        check_budget(ua, "A (accepting)")
        check_budget(ub, "B (dialing)")
    env.case("session and handshake memory within budget", budget)

    def many_streams():
        def one(i):
            return h.tcp_client(fwd_echo, 32 * 1024, seed=100 + i, read_back=True, timeout=30)
        for rnd in range(3):
            with concurrent.futures.ThreadPoolExecutor(max_workers=40) as ex:
                results = list(ex.map(one, range(40)))
            for i, res in enumerate(results):
                h.check_transfer(res, 32 * 1024, "round %d stream %d" % (rnd, i), echo=True)
    env.case("120 streams opened and closed", many_streams)

    def bulk():
        res = h.tcp_client(fwd_sink, 16 * MiB, seed=9, read_back=False, timeout=60)
        h.check_transfer(res, 16 * MiB, "bulk 16 MiB", sink=sink)
    env.case("bulk transfer 16 MiB", bulk)

    def lose_peer():
        ma, mb = a.mark(), b.mark()
        b.kill()
        a.wait_for("session_down", 10, ma, peer=b.name)
        b.start()
        h.wait_session(a, b, ma, b.mark() - 1 if b.mark() > 0 else 0)
        res = h.tcp_client(fwd_echo, MiB, seed=77, read_back=True, timeout=30)
        h.check_transfer(res, MiB, "stream after reconnect", echo=True)
    env.case("peer lost (kill -9) and reconnected; streams work again", lose_peer)

    def no_allocs():
        # Node.stop() checks the exit line's allocs_after_start=0.
        a.stop()
        b.stop()
    env.case("no allocation after start-up (A and B exit lines)", no_allocs)

    env.finish()


if __name__ == "__main__":
    main()
