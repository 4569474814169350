"""Regression: many streams opened at once on one session must not end it.

A node that opens streams faster than its session output drains owes several
OPEN frames at once; they must leave in stream-id order, or the peer ends the
whole session ("OPEN with a stream id out of sequence", docs/PROTOCOL.md)
and resets every stream on it. Here A is stopped (SIGSTOP) while 64 clients
connect to B's forward at once and push 32 MiB in all (A grants 1 MiB
windows), so B's output to A fills up and B accepts the later connections
while it cannot send; then A runs again.
Every stream must be echoed byte-exact, none reset, and the one session must
stay up. tests/sim/test_open_order.c checks the same on the virtual clock."""

import signal
import threading
import time

import harness as h
from harness import check, check_eq

STREAMS = 64
SIZE = 512 * 1024


def main():
    env = h.Env("open_order")
    a, b = h.pair(env)
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[b])
    fwd = b.add_forward(a, "echo")
    # A grants 1 MiB per stream: 64 streams then carry more towards the stopped
    # A than the loopback socket buffers hold, so B's output blocks. B's one
    # session may hold them all (the default cap would be 80 / 2)
    a.cfg["limits"] = {"streams": 80, "stream_window": 1024 * 1024, "streams_per_session": 80}

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
    env.setup("session A<-B up", start)

    def many_at_once():
        results = [None] * STREAMS
        barrier = threading.Barrier(STREAMS + 1)
        mb = b.mark()

        def one(i):
            try:
                barrier.wait(10)
                results[i] = h.tcp_client(fwd, SIZE + i, seed=500 + i, read_back=True,
                                          timeout=60)
            except Exception as e:
                results[i] = {"exc": "%s: %s" % (type(e).__name__, e)}
        ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(STREAMS)]
        for t in ts:
            t.start()
        a.send_signal(signal.SIGSTOP)
        try:
            barrier.wait(10)
            # B accepts every connection while A reads nothing
            deadline = time.monotonic() + 20
            while len(b.events("stream_open", mb)) < STREAMS:
                check(time.monotonic() < deadline, "B opened %d of %d streams in 20s" % (
                    len(b.events("stream_open", mb)), STREAMS))
                time.sleep(0.02)
        finally:
            a.send_signal(signal.SIGCONT)
        for t in ts:
            t.join(90)
        bad = []
        for i, r in enumerate(results):
            if r is None:
                bad.append("stream %d: client thread did not finish" % i)
            elif "exc" in r:
                bad.append("stream %d: %s" % (i, r["exc"]))
            elif r["reset"] or not (r["sent"] == SIZE + i and r["received"] == SIZE + i
                                    and r["recv_sha"] == r["sent_sha"] and r["eof"]):
                bad.append("stream %d: sent %d, echoed %d, sha %s, eof %s, reset %s, error %s" % (
                    i, r["sent"], r["received"],
                    "ok" if r["recv_sha"] == r["sent_sha"] else "MISMATCH", r["eof"],
                    r["reset"], r["error"]))
        check(not bad, "%d of %d streams failed:\n  %s" % (len(bad), STREAMS,
                                                          "\n  ".join(bad[:10])))
    env.case("%d streams opened at once: none reset, all echoed byte-exact" % STREAMS,
             many_at_once)

    def one_session():
        downs = a.events("session_down") + b.events("session_down")
        check(not downs, lambda: "a session went down: %s" % downs[0]["_line"])
        check_eq(len(a.events("session_up")), 1, "session_up lines on A")
        check_eq(len(b.events("session_up")), 1, "session_up lines on B")
        bad = [e["_line"] for n in (a, b) for e in n.events("stream_close")
               if e.get("reason") != "done"]
        check(not bad, lambda: "streams that did not end with reason=done: %s" % bad[:5])
    env.case("the session stayed up and every stream ended normally", one_session)

    env.finish()


if __name__ == "__main__":
    main()
