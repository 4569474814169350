"""Stream policy: a stream the peer may not open is reset, with a log line on
the service side saying why; the session stays up and other streams work.

A exports "echo" to B, "secret" only to C (a configured peer that is not
running), and "down" whose target has nothing listening. B forwards local
ports to each of those and to "nothere", which A does not export. A also
limits itself to 4 streams, to see "no stream slots".
"""

import socket
import time

import harness as h
from harness import check, check_eq

STREAM_LIMIT = 4


def main():
    env = h.Env("policy")
    ca = env.pki.ca("ca")
    a, b = h.pair(env, ca)
    a.add_peer("C")
    # B's session may take every slot (the default cap would be 4 / 3): this
    # case is about the node's pool; tests/sim/test_stream_share.c the cap
    a.cfg["limits"] = {"streams": STREAM_LIMIT, "streams_per_session": STREAM_LIMIT}
    echo = env.server(h.EchoServer())
    secret = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[b])
    a.add_service("secret", secret, allow=["C"])
    a.add_service("down", h.free_port(), allow=[b])
    fwd = {s: b.add_forward(a, s) for s in ("echo", "secret", "down", "nothere")}

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
    env.setup("session A<-B up", start)

    def still_up(what):
        res = h.tcp_client(fwd["echo"], 256 * 1024, seed=len(what), read_back=True, timeout=20)
        h.check_transfer(res, 256 * 1024, "echo stream after %s" % what, echo=True)
        downs = a.events("session_down") + b.events("session_down")
        check(not downs, lambda: "session went down after %s: %s" % (what, [d["_line"] for d in downs]))

    def refused(service, reason):
        ma, mb = a.mark(), b.mark()
        got = h.expect_reset(fwd[service], timeout=10)
        check_eq(got, "reset", "local client of B's forward to A/%s (tether resets refused "
                 "streams: ECONNRESET expected)" % service)
        ev = a.wait_for("stream_refused", 5, ma, service=service)
        check_eq(ev.get("reason"), reason, "A's stream_refused reason (%s)" % ev["_line"])
        check_eq(ev.get("peer"), b.name, "A's stream_refused peer")
        bc = b.wait_for("stream_close", 5, mb, service=service)
        check_eq(bc.get("reason"), reason, "B's stream_close reason for its refused stream (%s)"
                 % bc["_line"])
        opened = a.events("stream_open", ma, service=service)
        check(not opened, lambda: "A logged stream_open for a refused stream: %s" % opened[0]["_line"])
        if service == "secret":
            check_eq(secret.accepted, 0, "connections reaching the forbidden service's target")
        still_up("a %s refusal" % reason)

    env.case("forbidden service -> RST, stream_refused reason=\"forbidden\"",
             refused, "secret", "forbidden")
    env.case("unknown service -> RST, stream_refused reason=\"no such service\"",
             refused, "nothere", "no such service")
    env.case("target down -> RST, stream_refused reason=\"target unreachable\"",
             refused, "down", "target unreachable")

    mark_exhausted = [0]

    def slots():
        held = []
        try:
            for i in range(STREAM_LIMIT):
                s = socket.create_connection((h.LOOP, fwd["echo"]), timeout=5)
                s.settimeout(5)
                held.append(s)
                s.sendall(b"ping %d\n" % i)
                got = b""
                while not got.endswith(b"\n"):
                    c = s.recv(100)
                    check(c, "held stream %d of %d closed early (limit %d)" % (i + 1, STREAM_LIMIT,
                                                                            STREAM_LIMIT))
                    got += c
                check_eq(got, b"ping %d\n" % i, "echo on held stream %d" % (i + 1))
            ma = a.mark()
            got = h.expect_reset(fwd["echo"], timeout=10)
            check_eq(got, "reset", "stream %d with limits.streams=%d" % (STREAM_LIMIT + 1,
                                                                         STREAM_LIMIT))
            mark_exhausted[0] = ma
            ev = a.wait_for("stream_refused", 5, ma, service="echo")
            check_eq(ev.get("reason"), "no stream slots", "stream_refused reason (%s)" % ev["_line"])
            # the held streams still work
            for i, s in enumerate(held):
                s.sendall(b"again %d\n" % i)
                check_eq(s.recv(100), b"again %d\n" % i, "held stream %d after the refusal" % i)
        finally:
            for s in held:
                s.close()
        # the slots come back once the held streams close
        deadline = time.monotonic() + 5
        while True:
            try:
                still_up("freeing the held streams")
                break
            except h.Failure:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        ev = a.events("pool_exhausted", mark_exhausted[0])
        check(ev, "A logged no event=pool_exhausted when the stream pool ran out")
        check(ev[0].get("pool"), lambda: "pool_exhausted names no pool=: %s" % ev[0]["_line"])
    env.case("stream pool exhausted -> RST, reason=\"no stream slots\", others unaffected", slots)

    env.finish()


if __name__ == "__main__":
    main()
