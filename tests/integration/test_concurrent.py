"""100 concurrent streams on one session, each echoed byte-exact."""

import threading

import harness as h
from harness import check, check_eq

STREAMS = 100
SIZE = 64 * 1024


def main():
    env = h.Env("concurrent")
    a, b = h.pair(env)
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[b])
    fwd = b.add_forward(a, "echo")

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
    env.setup("session A<-B up", start)

    def concurrent():
        results = [None] * STREAMS
        barrier = threading.Barrier(STREAMS)

        def one(i):
            try:
                barrier.wait(10)
                # distinct data and slightly distinct sizes per stream
                results[i] = h.tcp_client(fwd, SIZE + i, seed=1000 + i, read_back=True, timeout=60)
            except Exception as e:
                results[i] = {"exc": "%s: %s" % (type(e).__name__, e)}
        ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(STREAMS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(90)
        bad = []
        for i, r in enumerate(results):
            if r is None:
                bad.append("stream %d: client thread did not finish" % i)
            elif "exc" in r:
                bad.append("stream %d: %s" % (i, r["exc"]))
            elif not (r["sent"] == SIZE + i and r["received"] == SIZE + i
                      and r["recv_sha"] == r["sent_sha"] and r["eof"]):
                bad.append("stream %d: sent %d, echoed %d, sha %s, eof %s, error %s" % (
                    i, r["sent"], r["received"],
                    "ok" if r["recv_sha"] == r["sent_sha"] else "MISMATCH", r["eof"], r["error"]))
        check(not bad, "%d of %d streams failed:\n  %s" % (len(bad), STREAMS, "\n  ".join(bad[:20])))
        done = echo.wait_results(STREAMS, timeout=10)
        check_eq(len(done), STREAMS, "connections at the echo service")
    env.case("%d concurrent streams echoed byte-exact" % STREAMS, concurrent)

    def logs():
        check_eq(len(a.events("session_up")), 1, "session_up lines on A")
        check_eq(len(b.events("session_up")), 1, "session_up lines on B")
        check_eq(len(a.events("session_down")) + len(b.events("session_down")), 0,
                 "session_down lines")
        opened = a.events("stream_open", service="echo")
        check_eq(len(opened), STREAMS, "stream_open service=echo lines on A")
        refused = a.events("stream_refused") + b.events("stream_refused")
        check(not refused, "streams refused: %s" % [e["_line"] for e in refused[:5]])
    env.case("one session per side, %d stream_open lines, none refused" % STREAMS, logs)

    env.finish()


if __name__ == "__main__":
    main()
