"""Byte-exact transfer through one session, both directions, and half-close.

A listens and exports "sink" and "echo" (and "reply", which answers only after
EOF) to B. B dials A and forwards local ports to them. B exports "sink" to A,
and A forwards a local port to it.
"""

import re

import harness as h
from harness import MiB, check, check_eq

N = 64 * MiB


def main():
    env = h.Env("transfer")
    a, b = h.pair(env)
    sink_a = env.server(h.SinkServer())
    echo_a = env.server(h.EchoServer())
    reply_a = env.server(h.EofReplyServer(reply_seed=99, reply_len=MiB))
    sink_b = env.server(h.SinkServer())
    a.add_service("sink", sink_a, allow=[b])
    a.add_service("echo", echo_a, allow=[b])
    a.add_service("reply", reply_a, allow=[b])
    b.add_service("sink", sink_b, allow=[a])
    fwd_b_sink = b.add_forward(a, "sink")
    fwd_b_echo = b.add_forward(a, "echo")
    fwd_b_reply = b.add_forward(a, "reply")
    fwd_a_sink = a.add_forward(b, "sink")

    def start():
        a.start()
        b.start()
        ua, ub = h.wait_session(a, b)
        check_eq(ub.get("dir"), "out", "B's session_up dir")
        check_eq(ua.get("dir"), "in", "A's session_up dir")
        for u, who in ((ua, "A"), (ub, "B")):
            for k in ("tls", "suite", "handshake_ms"):
                check(u.get(k), "%s session_up lacks %s=: %s" % (who, k, u["_line"]))
        check_eq(ub.get("tls"), "1.3", "negotiated TLS version (both sides default to 1.3)")
    env.setup("session A<-B up", start)

    def push(fwd, sink, node_svc, what, seed):
        node, peer = node_svc
        mark = node.mark()
        res = h.tcp_client(fwd, N, seed=seed, read_back=True, timeout=90)
        check(res["sent"] == N, "%s: client sent %d of %d (%s)" % (what, res["sent"], N, res["error"]))
        got = sink.wait_results(1, timeout=30)[0]
        check_eq(got["received"], N, "%s: bytes at the sink" % what)
        check(got["eof"], "%s: sink saw no EOF (%s)" % (what, got["error"]))
        check_eq(got["sha"], res["sent_sha"], "%s: sha256 at the sink" % what)
        # the sink closed after EOF: the client sees EOF too, with no data
        check(res["eof"] and res["received"] == 0,
              "%s: client expected clean EOF with 0 bytes after the sink closed, got eof=%s "
              "received=%d error=%s" % (what, res["eof"], res["received"], res["error"]))
        # the service side accounts for the bytes in stream_close
        ev = node.wait_for("stream_close", 10, mark, service="sink", peer=peer.name)
        check(node.events("stream_open", mark, service="sink", peer=peer.name, dir="in"),
              "%s: no stream_open dir=in for sink on %s" % (what, node.name))
        counts = sorted([int(ev.get("sent", -1)), int(ev.get("received", -1))])
        check_eq(counts, [0, N], "%s: stream_close sent/received on %s (%s)" % (what, node.name,
                                                                                  ev["_line"]))

    env.case("64 MiB B -> A/sink byte-exact", push, fwd_b_sink, sink_a, (a, b), "B->A", 1)
    env.case("64 MiB A -> B/sink byte-exact", push, fwd_a_sink, sink_b, (b, a), "A->B", 2)

    def echo():
        res = h.tcp_client(fwd_b_echo, 8 * MiB, seed=5, read_back=True, timeout=60)
        h.check_transfer(res, 8 * MiB, "8 MiB echo via B -> A/echo", echo=True)
    env.case("8 MiB echo round trip", echo)

    def half_close():
        n = 3 * MiB + 17
        res = h.tcp_client(fwd_b_reply, n, seed=11, read_back=True, half_close=True, timeout=60)
        check(res["sent"] == n, "sent %d of %d (%s)" % (res["sent"], n, res["error"]))
        srv = reply_a.wait_results(1, timeout=20)[0]
        check(srv["eof"], "the service never saw EOF after the client's shutdown(SHUT_WR): %s" % srv)
        check_eq(srv["received"], n, "bytes at the service before EOF")
        head, _, _ = res["data"].partition(b"\n")
        m = re.match(rb"(\d+) ([0-9a-f]{64})$", head)
        check(m, "no reply header from the service after EOF; client got %d bytes, error %s" % (
            res["received"], res["error"]))
        check_eq(int(m.group(1)), n, "count the service reports")
        check_eq(m.group(2).decode(), res["sent_sha"], "sha the service reports")
        want = len(head) + 1 + MiB
        check_eq(res["received"], want, "reply bytes after half-close")
        exp = h.hashlib.sha256(head + b"\n" + h.pattern_bytes(99, MiB)).hexdigest()
        check_eq(res["recv_sha"], exp, "sha256 of the reply")
        check(res["eof"], "client saw no EOF after the reply (error %s)" % res["error"])
        check(not res["reset"], "client connection reset instead of a clean close: %s" % res["error"])
    env.case("half-close: EOF reaches the service, reply comes back, then EOF", half_close)

    def one_session():
        check_eq(len(a.events("session_up")), 1, "session_up lines on A")
        check_eq(len(b.events("session_up")), 1, "session_up lines on B")
        check_eq(len(a.events("session_down")) + len(b.events("session_down")), 0,
                 "session_down lines while running")
    env.case("one session for the whole run", one_session)

    env.finish()


if __name__ == "__main__":
    main()
