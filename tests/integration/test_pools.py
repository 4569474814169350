"""Pool exhaustion is a normal event: the new work is refused with a log line
and a counter, nothing else is affected.

- limits.sessions = 1: a second peer's connection is refused
  (pool_exhausted pool=sessions) while the first peer's session carries
  streams; once the first goes away, the second gets in.
- limits.handshakes = 1: silent TCP connections, however many, never hold
  the handshake slot: a peer that connects beside twenty of them gets its
  session at once, and the silent ones are closed at the first-byte deadline
  (or evicted by newer ones).
"""

import socket

import harness as h
from harness import MiB, check


def main():
    env = h.Env("pools")
    ca = env.pki.ca("ca")
    a = env.node("A", ca=ca, extra={"limits": {"sessions": 1, "streams": 8, "handshakes": 1},
                                    "tls": {"handshake_timeout_ms": 1000}})
    b = env.node("B", ca=ca, listen=False)
    c = env.node("C", ca=ca, listen=False)
    for n in (b, c):
        a.add_peer(n)
        n.add_peer(a, dial=True)
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[b, c])
    fwd_b = b.add_forward(a, "echo")
    fwd_c = c.add_forward(a, "echo")

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
    env.setup("A (1 session slot) and B up", start)

    def sessions_full():
        ma = a.mark()
        c.start()
        a.wait_for("pool_exhausted", 10, ma, pool="sessions")
        res = h.tcp_client(fwd_b, MiB, seed=3, read_back=True, timeout=20)
        h.check_transfer(res, MiB, "B's stream while C is refused", echo=True)
        check(not a.events("session_up", ma, peer="C"), "C got a session past the limit")
    env.case("second peer refused with pool=sessions; B unaffected", sessions_full)

    def slot_freed():
        ma = a.mark()
        b.stop()
        a.wait_for("session_up", 15, ma, peer="C")
        res = h.tcp_client(fwd_c, MiB, seed=4, read_back=True, timeout=20)
        h.check_transfer(res, MiB, "C's stream once the slot is free", echo=True)
    env.case("B leaves: C gets the slot, its streams work", slot_freed)

    def handshakes_full():
        c.stop()
        ma = a.mark()
        silent = [socket.create_connection((h.LOOP, a.port), timeout=5) for _ in range(20)]
        try:
            b.start()
            up = a.wait_for("session_up", 5, ma, peer="B")
            check(int(up.get("handshake_ms", "9999")) < 1000,
                  "B's handshake took %s ms beside silent connections" % up.get("handshake_ms"))
            check(not a.events("pool_exhausted", ma),
                  lambda: "a silent connection held a slot: %s" % a.events("pool_exhausted",
                                                                           ma)[0]["_line"])
            # Each silent one is closed: at the first-byte deadline, or evicted earlier.
            for s in silent:
                s.settimeout(5)
                try:
                    got = s.recv(10)
                except ConnectionResetError:
                    got = b""
                check(got == b"", "a silent connection got %r" % got)
        finally:
            for s in silent:
                s.close()
        res = h.tcp_client(fwd_b, MiB, seed=5, read_back=True, timeout=20)
        h.check_transfer(res, MiB, "B's stream beside the silent connections", echo=True)
    env.case("silent connections never hold the handshake slot: B gets its session at once",
             handshakes_full)

    env.finish()


if __name__ == "__main__":
    main()
