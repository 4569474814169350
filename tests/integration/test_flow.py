"""Per-stream flow control: a stream whose far application stops reading stalls
only itself. Other streams on the same session keep moving, the stalled one
resumes byte-exact when its reader comes back, and nothing is reset."""

import threading
import time

import harness as h
from harness import MiB, check, check_eq

STALLED = 32 * MiB


def main():
    env = h.Env("flow")
    a, b = h.pair(env)
    gated = env.server(h.GatedSink())
    echo = env.server(h.EchoServer())
    a.add_service("gated", gated, allow=[b])
    a.add_service("echo", echo, allow=[b])
    fwd_gated = b.add_forward(a, "gated")
    fwd_echo = b.add_forward(a, "echo")

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
    env.setup("session A<-B up", start)

    def stalled_stream_blocks_nothing_else():
        res1 = {}
        rss0 = {n.name: n.rss_kib() for n in (a, b)}

        def push():
            res1.update(h.tcp_client(fwd_gated, STALLED, seed=21, read_back=True, timeout=90))
        t = threading.Thread(target=push, daemon=True)
        t.start()
        a.wait_for("stream_open", 5, service="gated")
        time.sleep(0.5)  # let the stalled stream fill its window and the socket buffers
        check(t.is_alive(), "the push into a sink that reads nothing finished: %s" % res1)
        # what tether holds for a stalled stream is bounded by its window, not by
        # what the writer pushes
        for n in (a, b):
            grew = n.rss_kib() - rss0[n.name]
            check(grew < 8 * 1024, "%s grew by %d KiB while a stream was stalled" % (n.name, grew))
        # other streams on the same session are not held up by the stalled one
        t0 = time.monotonic()
        for i in range(3):
            res = h.tcp_client(fwd_echo, 4 * MiB, seed=30 + i, read_back=True, timeout=20)
            h.check_transfer(res, 4 * MiB, "echo stream %d beside a stalled stream" % i,
                             echo=True)
        dt = time.monotonic() - t0
        check(dt < 15, "3 x 4 MiB echo took %.1fs beside a stalled stream" % dt)
        check(t.is_alive(), "the stalled push finished before its reader came back: %s" % res1)
        gated.release()
        t.join(60)
        check(not t.is_alive(), "the stalled push did not finish after the reader came back")
        check_eq(res1.get("sent"), STALLED, "bytes sent into the stalled stream (%s)" % res1.get(
            "error"))
        got = gated.wait_results(1, timeout=30)[0]
        check_eq(got["received"], STALLED, "bytes at the gated sink")
        check_eq(got["sha"], res1["sent_sha"], "sha256 at the gated sink")
        check(res1.get("eof") and not res1.get("reset"),
              "client of the stalled stream: eof=%s reset=%s error=%s" % (
                  res1.get("eof"), res1.get("reset"), res1.get("error")))
    env.case("a stalled stream does not block others, then completes byte-exact",
             stalled_stream_blocks_nothing_else)

    def clean():
        bad = [e["_line"] for n in (a, b) for e in n.events("stream_close")
               if e.get("reason") != "done"]
        check(not bad, lambda: "streams that did not end with reason=done: %s" % bad)
        check_eq(len(a.events("session_up")) + len(b.events("session_up")), 2,
                 "session_up lines (one per side)")
        check(not a.events("session_down") and not b.events("session_down"),
              "a session went down")
    env.case("every stream ended normally on one session", clean)

    env.finish()


if __name__ == "__main__":
    main()
