"""Protocol breakers (peers/bad_peer.py): a client with a valid certificate for
the configured peer "mal" completes mutual TLS, then breaks the frame protocol
(docs/PROTOCOL.md). Each case checks that A sends GOAWAY with the right code
and closes, that A logs session_down with the reason, and that C's already
established session with A stays up and still carries a stream.
"""

import os
import re

import harness as h
from harness import check, check_eq

h.sys.path.insert(0, os.path.join(h.HERE, "peers"))
import bad_peer as bp  # noqa: E402

CODE_NAMES = {v: k for k, v in vars(bp).items() if k.startswith("GOAWAY_")}


def main():
    env = h.Env("reject_protocol")
    ca = env.pki.ca("ca")
    mal = env.pki.node(ca, "mal")
    a = env.node("A", ca=ca, extra={"tls": {"handshake_timeout_ms": 1500}})
    c = env.node("C", ca=ca, listen=False)
    a.add_peer(c)
    a.add_peer("mal")
    c.add_peer(a, dial=True)
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[c, "mal"])
    fwd = c.add_forward(a, "echo")

    def start():
        a.start()
        c.start()
        h.wait_session(a, c)
    env.setup("fixture: C's session with A up", start)

    def c_still_up(what):
        downs = a.events("session_down", peer=c.name) + c.events("session_down")
        check(not downs, "C's session went down after %s: %s" % (what, [d["_line"] for d in downs]))
        res = h.tcp_client(fwd, 256 * 1024, seed=len(what), read_back=True, timeout=20)
        h.check_transfer(res, 256 * 1024, "C's stream after %s" % what, echo=True)

    def control():
        m = a.mark()
        r = bp.run(a.port, "hello", mal.cert, mal.key, ca.cert, "mal", wait=1.0)
        hello = r.get("hello") or {}
        check_eq(hello.get("name"), "A", "name in A's HELLO (%s)" % r)
        check_eq(hello.get("version"), 1, "version in A's HELLO")
        check_eq(hello.get("max_payload"), 4088, "max_payload in A's HELLO")
        check_eq(hello.get("window"), 65536, "window in A's HELLO (limits.stream_window default)")
        check_eq(r["frames"][0], "HELLO", "A's first frame")
        check(r["goaway"] is None, "A sent GOAWAY to a well-behaved peer: %s" % r)
        a.wait_for("session_up", 5, m, peer="mal")
        # the probe has hung up: let that session_down be logged before the next case
        a.wait_for("session_down", 5, m, peer="mal")
    env.case("control: valid HELLO from mal is answered with A's HELLO, session up", control)

    def breaker(mode, code, log_rx, wait=5.0):
        m = a.mark()
        r = bp.run(a.port, mode, mal.cert, mal.key, ca.cert, "mal", wait=wait, other_name="C")
        g = r["goaway"]
        check(g is not None, "no GOAWAY before close; sent %s; got frames %s, closed=%s" % (
            r["sent"], r["frames"], r["closed"]))
        check_eq(g["code"], code, "GOAWAY code (%s = %s expected; reason %r; sent %s)" % (
            code, CODE_NAMES.get(code), g["reason"], r["sent"]))
        check_eq(g["stream"], 0, "GOAWAY stream id")
        check_eq(r["frames"][-1], "GOAWAY", "last frame before close (frames %s)" % r["frames"])
        check(r["closed"] is not None, "A kept the connection open %.0fs after GOAWAY" % wait)
        ev = a.wait_for("session_down", 5, m)
        check(re.search(log_rx, ev.get("reason", "")),
              "session_down reason should match /%s/: %s" % (log_rx, ev["_line"]))
        check(ev.get("peer") in ("mal", None), "session_down names peer %r, not mal (%s)" % (
            ev.get("peer"), ev["_line"]))
        c_still_up("mode %s" % mode)
        return r

    P, FS, ID, VER, TO = bp.GOAWAY_PROTOCOL, bp.GOAWAY_FRAME_SIZE, bp.GOAWAY_IDENTITY, \
        bp.GOAWAY_VERSION, bp.GOAWAY_TIMEOUT
    env.case("garbage after the handshake -> GOAWAY PROTOCOL, \"protocol error\"",
             breaker, "garbage", P, r"^protocol error: unknown frame type$")
    env.case("HELLO then oversize frame (4089) -> GOAWAY FRAME_SIZE, \"protocol error\"",
             breaker, "oversize", FS, r"^protocol error: frame too large$")
    env.case("HELLO naming C with mal's certificate -> GOAWAY IDENTITY, \"identity\"",
             breaker, "wrong_name", ID, r"identity")
    env.case("HELLO version 2 -> GOAWAY VERSION",
             breaker, "bad_version", VER, r"version")
    env.case("OPEN before HELLO -> GOAWAY PROTOCOL",
             breaker, "open_before_hello", P, r"^protocol error")
    env.case("second HELLO -> GOAWAY PROTOCOL",
             breaker, "second_hello", P, r"^protocol error")
    env.case("OPEN with an even stream id from the dialer -> GOAWAY PROTOCOL",
             breaker, "even_stream", P, r"^protocol error")
    env.case("DATA on a never-opened stream -> GOAWAY PROTOCOL",
             breaker, "data_unused", P, r"^protocol error")
    env.case("nonzero flags -> GOAWAY PROTOCOL \"nonzero flags\"",
             breaker, "nonzero_flags", P, r"^protocol error: nonzero flags$")
    env.case("no HELLO after the handshake -> GOAWAY TIMEOUT",
             breaker, "silent", TO, r"timeout", 8.0)

    def after_all():
        check(a.running(), "A is not running")
        c_still_up("all breakers")
        check_eq(len(a.events("session_up", peer=c.name)), 1, "C's session_up lines on A")
    env.case("C's session survived every breaker", after_all)

    env.finish()


if __name__ == "__main__":
    main()
