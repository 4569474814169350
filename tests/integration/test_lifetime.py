"""Session lifetime (docs/PROTOCOL.md section 7): when B's session reaches
tls.session_lifetime_s it sends GOAWAY LIFETIME and dials a new session at
once, while the old one drains. A stream open across the rotation finishes
byte-exact on the old session; new streams go to the new session right away,
not only after the old one has drained."""

import socket

import harness as h
from harness import check, check_eq

LIFETIME_S = 2


def main():
    env = h.Env("lifetime")
    a, b = h.pair(env)
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[b])
    fwd = b.add_forward(a, "echo")
    b.cfg["tls"] = {"session_lifetime_s": LIFETIME_S}

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
    env.setup("session A<-B up", start)

    def rotation():
        mb = b.mark()
        # a stream open across the rotation, on the first session
        s = socket.create_connection((h.LOOP, fwd), timeout=5)
        s.settimeout(10)
        s.sendall(b"a" * 1000)
        got = b""
        while len(got) < 1000:
            got += s.recv(4096)
        # the old session drains for as long as the stream is open (up to 5 s):
        # the new one comes up at the rotation (tests/sim/test_lifetime.c checks
        # it is the same millisecond)
        up = b.wait_for("session_up", LIFETIME_S + 2.5, mb, peer=a.name)
        check_eq(up.get("dir"), "out", "direction of B's new session")
        # a new stream works while the old one is still draining
        res = h.tcp_client(fwd, 64 * 1024, seed=3, read_back=True, timeout=10)
        h.check_transfer(res, 64 * 1024, "new stream during the drain", echo=True)
        # the old stream still carries data both ways, then ends cleanly
        s.sendall(b"b" * 1000)
        s.shutdown(socket.SHUT_WR)
        while True:
            c = s.recv(65536)
            if not c:
                break
            got += c
        s.close()
        check_eq(got, b"a" * 1000 + b"b" * 1000, "echo on the stream open across the rotation")
        down = b.wait_for("session_down", 5, mb, peer=a.name)
        check("lifetime" in down.get("reason", ""),
              "the old session's session_down should name the lifetime: %s" % down["_line"])
    env.case("lifetime: new session at once, old stream drains byte-exact", rotation)

    env.finish()


if __name__ == "__main__":
    main()
