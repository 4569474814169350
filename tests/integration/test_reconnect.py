"""Sessions come back: kill -9 either side of real processes, restart it on
the same port, the dialer reconnects and new streams work. The timing (the
back-off windows, keepalive dropping a stopped peer at its exact deadline) is
checked on the virtual clock by tests/sim/test_reconnect.c and
test_keepalive.c."""

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
        a.start()  # same port: the listener must rebind right after a crash
        up = b.wait_for("session_up", 10, mb, peer=a.name)
        a.wait_for("session_up", 5, ma, peer=b.name)
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
