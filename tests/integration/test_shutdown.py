"""Graceful shutdown: SIGTERM (and SIGINT) end tether with exit code 0 after a
GOAWAY NORMAL; the peer logs session_down with the normal reason and streams
that are already open may finish within the drain deadline. How long each
step takes (at once when idle, the drain deadline exactly) is checked on the
virtual clock by tests/sim/test_shutdown.c."""

import re
import signal
import socket
import threading

import harness as h
from harness import MiB, check, check_eq


def main():
    env = h.Env("shutdown")
    a, b = h.pair(env)
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[b])
    fwd = b.add_forward(a, "echo")

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
        res = h.tcp_client(fwd, MiB, seed=1, read_back=True, timeout=20)
        h.check_transfer(res, MiB, "stream before shutdown", echo=True)
    env.setup("session A<-B up, stream works", start)

    def sigterm_idle():
        mb = b.mark()
        rc = a.stop(timeout=10)
        check_eq(rc, 0, "A's exit code after SIGTERM")
        check(a.events("shutdown"), "A logged no event=shutdown")
        down = b.wait_for("session_down", 5, mb, peer=a.name)
        check(re.search(r"\bnormal\b", down.get("reason", "")),
              "B's session_down reason should name GOAWAY normal: %s" % down["_line"])
        ups = b.events("session_up", mb)
        check(not ups, lambda: "B logged session_up while A was down: %s" % ups[0]["_line"])
    env.case("SIGTERM A (idle): exit 0, B logs session_down reason normal", sigterm_idle)

    def restart():
        ma, mb = a.mark(), b.mark()
        a.start()
        h.wait_session(a, b, ma, mb)
    env.case("A restarted, B reconnects", restart)

    def sigterm_with_stream():
        # a stream in the middle of a transfer when A is told to stop: it either
        # finishes within the drain deadline or is reset; it is never truncated
        # into a clean success
        s = socket.create_connection((h.LOOP, fwd), timeout=5)
        s.settimeout(15)
        s.sendall(b"x" * 1000)
        got = b""
        while len(got) < 1000:
            got += s.recv(4096)
        mb = b.mark()
        result = {}

        def finish_stream():
            try:
                s.sendall(b"y" * 1000)
                s.shutdown(socket.SHUT_WR)
                data = b""
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    data += c
                result["data"] = data
            except OSError as e:
                result["error"] = "%s: %s" % (type(e).__name__, e)
        a.send_signal(signal.SIGTERM)
        t = threading.Thread(target=finish_stream, daemon=True)
        t.start()
        rc = a.wait_exit(20)
        t.join(10)
        s.close()
        check_eq(rc, 0, "A's exit code after SIGTERM with a stream open")
        if "data" in result:
            check_eq(result["data"], b"y" * 1000,
                     "the open stream ended cleanly but its data is not complete")
        else:
            check(re.search(r"reset|Broken pipe", result.get("error", "")),
                  "the open stream ended with %r (expected completion or a reset)" % result)
        down = b.wait_for("session_down", 10, mb, peer=a.name)
        check(re.search(r"\bnormal\b", down.get("reason", "")),
              "B's session_down reason should name GOAWAY normal: %s" % down["_line"])
    env.case("SIGTERM A with a stream open: exit 0, stream completes or is reset",
             sigterm_with_stream)

    def sigint_dialer():
        ma, mb = a.mark(), b.mark()
        a.start()
        h.wait_session(a, b, ma, mb)
        rc = b.stop(timeout=10, sig=signal.SIGINT)
        check_eq(rc, 0, "B's exit code after SIGINT")
        down = a.wait_for("session_down", 5, ma, peer=b.name)
        check(re.search(r"\bnormal\b", down.get("reason", "")),
              "A's session_down reason should name GOAWAY normal: %s" % down["_line"])
    env.case("SIGINT B (dialer): exit 0, A logs session_down reason normal", sigint_dialer)

    env.finish()


if __name__ == "__main__":
    main()
