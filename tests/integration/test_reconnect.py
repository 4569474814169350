"""Sessions come back: kill -9 either side, restart it, the dialer reconnects
(reconnect min 100 ms, max 1000 ms) and new streams work. A frozen peer
(SIGSTOP) is detected by keepalive (interval 500 ms, timeout 2000 ms)."""

import re
import signal
import time

import harness as h
from harness import MiB, check, check_eq


def main():
    env = h.Env("reconnect")
    a, b = h.pair(env)
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[b])
    fwd = b.add_forward(a, "echo")

    def stream_works(what, seed):
        res = h.tcp_client(fwd, MiB, seed=seed, read_back=True, timeout=20)
        h.check_transfer(res, MiB, what, echo=True)

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
        stream_works("stream before any failure", 1)
    env.setup("session A<-B up, stream works", start)

    def kill_listener():
        mb = b.mark()
        a.kill()
        down = b.wait_for("session_down", 5, mb, peer=a.name)
        check(down.get("reason"), "session_down without a reason: %s" % down["_line"])
        ma = a.mark()
        t0 = time.monotonic()
        a.start()  # same port: the listener must rebind right after a crash
        up = b.wait_for("session_up", 10, mb, peer=a.name)
        a.wait_for("session_up", 5, ma, peer=b.name)
        dt = time.monotonic() - t0
        # reconnect.max_ms is 1000: one attempt per second at worst, plus a handshake
        check(dt < 4.0, "B took %.1fs to reconnect after A came back (reconnect max 1000 ms)" % dt)
        check_eq(up.get("dir"), "out", "B's new session direction")
        stream_works("stream after A restarted", 2)
    env.case("kill -9 A: B logs session_down, reconnects when A is back", kill_listener)

    def kill_dialer():
        ma = a.mark()
        b.kill()
        a.wait_for("session_down", 5, ma, peer=b.name)
        mb = b.mark()
        b.start()
        h.wait_session(a, b, ma, mb)
        stream_works("stream after B restarted", 3)
    env.case("kill -9 B: A logs session_down, B restarts and reconnects", kill_dialer)

    def frozen_peer():
        ma, mb = a.mark(), b.mark()
        a.send_signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            down = b.wait_for("session_down", 6, mb, peer=a.name)
            dt = time.monotonic() - t0
            check(dt >= 1.0, "B dropped the session %.1fs after A froze, before the "
                  "keepalive timeout (2000 ms)" % dt)
            check(re.search(r"timeout|keepalive", down.get("reason", ""), re.I),
                  "session_down reason for a silent peer should say timeout/keepalive: %s"
                  % down["_line"])
        finally:
            a.send_signal(signal.SIGCONT)
        # A wakes up with a stale session; one way or another a working session returns
        b.wait_for("session_up", 10, mb, peer=a.name)
        deadline = time.monotonic() + 10
        while True:
            try:
                stream_works("stream after the frozen peer woke up", 4)
                break
            except h.Failure:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        ups = a.events("session_up", ma, peer=b.name)
        check(ups, "A logged no new session_up for B after waking")
    env.case("SIGSTOP A: keepalive timeout on B, session comes back after SIGCONT", frozen_peer)

    def single_session():
        # since its last start, each side has exactly as many session_up as session_down + 1
        for n, p in ((a, b), (b, a)):
            ups = len(n.events("session_up", n.start_mark, peer=p.name))
            downs = len(n.events("session_down", n.start_mark, peer=p.name))
            check_eq(ups - downs, 1, "%s: session_up minus session_down for %s (%d up, %d down)"
                     % (n.name, p.name, ups, downs))
    env.case("exactly one live session per side at the end", single_session)

    env.finish()


if __name__ == "__main__":
    main()
