"""Stream and HELLO rules checked with a hand-driven peer (peers/bad_peer.py
frames over Python ssl) that holds a valid certificate for the peer "mal"
(docs/PROTOCOL.md sections 3, 5, 6 and 7):

- a HELLO with another version is answered with GOAWAY VERSION even when the
  rest of it does not parse as a version 1 HELLO;
- a WINDOW increment of 0 or above 2^31-1 is GOAWAY PROTOCOL "bad WINDOW
  increment";
- DATA after the peer's CLOSE is answered with RESET STREAM_ERROR on that
  stream only, and the session goes on;
- every stream refused while the node's output is blocked gets its RESET once
  the peer reads again, or the session ends: never a stream left hanging.
"""

import os
import struct
import time

import harness as h
from harness import check, check_eq

h.sys.path.insert(0, os.path.join(h.HERE, "peers"))
import bad_peer as bp  # noqa: E402
import tls_probe  # noqa: E402

RESET_UNREACHABLE = 4
RESET_STREAM_ERROR = 6


def u32(v):
    return struct.pack(">I", v)


def open_payload(service):
    return bytes((len(service),)) + service.encode()


class SourceServer(h._Server):
    """Sends zeros until the connection breaks."""

    def __init__(self):
        super().__init__("source")

    def handle(self, c, res, hh):
        block = b"\0" * 65536
        while True:
            c.sendall(block)
            res["received"] += len(block)


def main():
    env = h.Env("peer_frames")
    ca = env.pki.ca("ca")
    mal = env.pki.node(ca, "mal")
    # keepalive slower than the cases below: a session must not end by timeout here
    a = env.node("A", ca=ca, extra={"keepalive": {"interval_ms": 5000, "timeout_ms": 15000},
                                    "tls": {"drain_s": 5}})
    a.add_peer("mal")
    echo = env.server(h.EchoServer())
    source = env.server(SourceServer())
    a.add_service("echo", echo, allow=["mal"])
    a.add_service("source", source, allow=["mal"])
    a.add_service("down", h.free_port(), allow=["mal"])

    env.setup("A up", a.start)

    def session(window=65536):
        """TLS up and HELLOs exchanged; returns (sock, reader)."""
        s = tls_probe.connect(a.port, cert=mal.cert, key=mal.key, ca=ca.cert)
        r = bp.Reader(s)
        s.sendall(bp.frame(bp.HELLO, 0, bp.hello_payload("mal", window=window)))
        check(r.wait_type(bp.HELLO, 3.0) is not None, "no HELLO from A")
        return s, r

    def goaway_case(send, code, reason):
        m = a.mark()
        s, r = session()
        s.sendall(send)
        g = r.wait_type(bp.GOAWAY, 5.0)
        s.close()
        check(g is not None, "no GOAWAY; frames %s, closed=%s" % (
            [bp.TYPE_NAMES[f["type"]] for f in r.frames], r.closed))
        g = bp.parse_goaway(g["payload"])
        check_eq((g["code"], g["reason"]), (code, reason), "GOAWAY code and reason")
        a.wait_for("session_down", 5, m, peer="mal", reason=reason)

    def bad_version():
        m = a.mark()
        s = tls_probe.connect(a.port, cert=mal.cert, key=mal.key, ca=ca.cert)
        r = bp.Reader(s)
        # version 2, and a name_len that does not match the length: not a v1 HELLO
        p = bytearray(bp.hello_payload("mal", version=2))
        p[12] = 9
        s.sendall(bp.frame(bp.HELLO, 0, bytes(p)))
        g = r.wait_type(bp.GOAWAY, 5.0)
        s.close()
        check(g is not None, "no GOAWAY (frames %s)" % [f["type"] for f in r.frames])
        check_eq(bp.parse_goaway(g["payload"])["code"], bp.GOAWAY_VERSION, "GOAWAY code")
        a.wait_for("session_down", 5, m, peer="mal")
    env.case("HELLO version 2 that is no valid v1 HELLO -> GOAWAY VERSION", bad_version)

    env.case("WINDOW increment 2^31 -> GOAWAY PROTOCOL \"bad WINDOW increment\"", goaway_case,
             bp.frame(bp.OPEN, 1, open_payload("echo")) +
             bp.frame(bp.WINDOW, 1, u32(0x80000000)),
             bp.GOAWAY_PROTOCOL, "protocol error: bad WINDOW increment")
    env.case("WINDOW increment 0 -> GOAWAY PROTOCOL \"bad WINDOW increment\"", goaway_case,
             bp.frame(bp.OPEN, 1, open_payload("echo")) + bp.frame(bp.WINDOW, 1, u32(0)),
             bp.GOAWAY_PROTOCOL, "protocol error: bad WINDOW increment")

    def data_after_close():
        m = a.mark()
        s, r = session()
        # one write: A sees the second DATA while the stream is half-closed (remote)
        s.sendall(bp.frame(bp.OPEN, 1, open_payload("echo")) + bp.frame(bp.DATA, 1, b"x") +
                  bp.frame(bp.CLOSE, 1) + bp.frame(bp.DATA, 1, b"y"))
        f = r.wait_type(bp.RESET, 5.0)
        check(f is not None, "no RESET for DATA after CLOSE; frames %s, closed=%s" % (
            [bp.TYPE_NAMES[f["type"]] for f in r.frames], r.closed))
        check_eq((f["stream"], struct.unpack(">I", f["payload"])[0]), (1, RESET_STREAM_ERROR),
                 "RESET stream and code")
        # the session is still there: a PING is answered
        s.sendall(bp.frame(bp.PING, 0, b"12345678"))
        p = r.wait_type(bp.PONG, 3.0)
        s.close()
        check(p is not None and p["payload"] == b"12345678",
              "no PONG after the RESET: the session did not survive (closed=%s)" % r.closed)
        check(bp.GOAWAY not in [f["type"] for f in r.frames], "A sent GOAWAY")
        a.wait_for("stream_close", 5, m, peer="mal", stream="1", reason="data after close")
    env.case("DATA after CLOSE -> RESET STREAM_ERROR, session goes on", data_after_close)

    def drain_deadline():
        # a peer that sends GOAWAY NORMAL again and again while a stream stays
        # open does not push back A's drain deadline (5 s)
        m = a.mark()
        s, r = session()
        s.sendall(bp.frame(bp.OPEN, 1, open_payload("echo")) + bp.frame(bp.DATA, 1, b"x") +
                  bp.frame(bp.GOAWAY, 0, u32(bp.GOAWAY_NORMAL) + b"leaving"))
        t0 = time.monotonic()
        while r.closed is None and time.monotonic() - t0 < 9:
            try:
                s.sendall(bp.frame(bp.GOAWAY, 0, u32(bp.GOAWAY_NORMAL) + b"leaving"))
            except OSError:
                break
            r.pump(1.0)
        dt = time.monotonic() - t0
        s.close()
        # each GOAWAY would push a 5 s deadline past the 9 s of the loop; the
        # deadline's exact time is checked on the virtual clock (tests/sim)
        check(r.closed is not None, "A still holds the draining session after %.0fs" % dt)
        a.wait_for("session_down", 5, m, peer="mal", reason="drain deadline passed")
    env.case("repeated GOAWAY NORMAL does not extend the drain deadline", drain_deadline)

    def resets_while_blocked():
        # A's output is blocked (a stream from "source" and a peer that does not
        # read) when 24 streams to a dead target fail: more than A's queue of
        # refusals. Once the peer reads, each one has a RESET, or A ended the
        # session; a stream left without either would hang forever.
        n = 24
        s, r = session(window=0x7fffffff)
        s.sendall(bp.frame(bp.OPEN, 1, open_payload("source")))
        time.sleep(1.5)  # A fills the socket buffers, then waits for room
        ids = list(range(3, 3 + 2 * n, 2))
        s.sendall(b"".join(bp.frame(bp.OPEN, i, open_payload("down")) for i in ids))
        time.sleep(1.0)  # the connects fail meanwhile
        s.sendall(bp.frame(bp.RESET, 1, u32(1)))  # stop the source
        resets = {}
        # read for a few seconds (A's keepalive timeout is 15 s): enough to drain
        # what A buffered and to receive whatever it still owes
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and r.closed is None and len(resets) < n:
            for f in r.pump(0.5):
                if f["type"] == bp.RESET and f["stream"] in ids:
                    resets[f["stream"]] = struct.unpack(">I", f["payload"])[0]
            r.frames = []  # the source's DATA is large: keep only what is new
        s.close()
        missing = [i for i in ids if i not in resets]
        check(not missing or r.closed is not None,
              "streams %s got no RESET and the session is still open (%d of %d reset)" % (
                  missing, len(resets), n))
        check(all(c == RESET_UNREACHABLE for c in resets.values()),
              "RESET codes %s" % sorted(set(resets.values())))
    env.case("refusals while the output is blocked: each RESET arrives, or the session ends",
             resets_while_blocked)

    env.finish()


if __name__ == "__main__":
    main()
