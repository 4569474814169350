"""Both nodes dial each other (docs/PROTOCOL.md section 8): exactly one session
per pair survives, seen the same way from both sides; a session that loses
ends with GOAWAY DUPLICATE, and when two sessions did meet, the one kept is the
one dialed by the smaller name ("A"). No churn afterwards; streams work both
ways. Whether two sessions meet naturally depends on timing (a node that
already holds a session does not dial), so a steerable TCP proxy forces both
cases of the rule:
  rule 1: p's dial is held in the proxy until q's own dial has a session, then
          released: both sessions meet, the one p dialed (p < q) is kept;
  rule 2: r's session to s is blackholed; r (short keepalive) finds it dead
          and dials again while s (long keepalive) still holds the old one:
          s keeps the newer, and ends the old one as "replaced by a newer session"."""

import signal
import time

import harness as h
from harness import MiB, check, check_eq


def live(node, peer):
    """session_up lines (since the node's start) not yet followed by a session_down
    for the same connection (matched by addr)."""
    ups = node.events("session_up", node.start_mark, peer=peer)
    downs = node.events("session_down", node.start_mark, peer=peer)
    gone = {}
    for d in downs:
        gone[d.get("addr")] = gone.get(d.get("addr"), 0) + 1
    out = []
    for u in ups:
        k = u.get("addr")
        if gone.get(k):
            gone[k] -= 1
        else:
            out.append(u)
    return out


def status_sessions(node):
    """Every session the node holds now, handshakes included (SIGUSR1 status)."""
    mark = node.mark()
    node.send_signal(signal.SIGUSR1)
    node.wait_for("status", 5, mark)
    return node.events("status_session", mark)


def main():
    env = h.Env("dual_dial")
    ca = env.pki.ca("ca")
    a = env.node("A", ca=ca)
    b = env.node("B", ca=ca)
    a.add_peer(b, dial=True)
    b.add_peer(a, dial=True)
    echo_a = env.server(h.EchoServer())
    echo_b = env.server(h.EchoServer())
    a.add_service("echo", echo_a, allow=[b])
    b.add_service("echo", echo_b, allow=[a])
    fwd_b = b.add_forward(a, "echo")
    fwd_a = a.add_forward(b, "echo")

    def start():
        a.start(wait=False)
        b.start(wait=False)
        h.wait_listening(a.port, 10, a.proc)
        h.wait_listening(b.port, 10, b.proc)
        h.wait_session(a, b)
    env.setup("A and B both dial, a session comes up", start)

    def settles():
        deadline = time.monotonic() + 10
        while True:
            la, lb = live(a, b.name), live(b, a.name)
            # The logs show sessions that came up; a dial still in its handshake only
            # shows in status: settled means one session each side and nothing else.
            if len(la) == 1 and len(lb) == 1 and {la[0].get("dir"), lb[0].get("dir")} == {
                    "in", "out"} and len(status_sessions(a)) == 1 and \
                    len(status_sessions(b)) == 1:
                la, lb = live(a, b.name), live(b, a.name)
                if len(la) == 1 and len(lb) == 1:
                    break
            if time.monotonic() > deadline:
                raise h.Failure("not one consistent session after 10 s: live on A %s, on B %s"
                                "\n%s\n%s" % ([x["_line"] for x in la], [x["_line"] for x in lb],
                                              a.tail(20), b.tail(20)))
            time.sleep(0.05)
        dups = 0
        for n in (a, b):
            for d in n.events("session_down", n.start_mark):
                check("duplicate" in d.get("reason", ""),
                      "%s: a session ended for another reason than the duplicate rule: %s" % (
                          n.name, d["_line"]))
                dups += 1
        if dups:
            check_eq(la[0].get("dir"), "out", "direction of the session A kept after a "
                     "duplicate (the smaller name's dial wins): %s" % la[0]["_line"])
        print("     (%s)" % ("two sessions met, %d duplicate lines" % dups if dups else
                             "only one session ever formed"))
        ma, mb = a.mark(), b.mark()
        time.sleep(2.0)  # several reconnect.max_ms: nobody dials again
        churn = a.events("session_up", ma) + a.events("session_down", ma) + \
            b.events("session_up", mb) + b.events("session_down", mb)
        check(not churn, lambda: "sessions churn after settling: %s" % [c["_line"] for c in churn])
    env.case("one consistent session kept (A's after a duplicate); no churn", settles)

    def both_ways():
        for fwd, what in ((fwd_b, "B -> A/echo"), (fwd_a, "A -> B/echo")):
            res = h.tcp_client(fwd, MiB, seed=len(what), read_back=True, timeout=20)
            h.check_transfer(res, MiB, what, echo=True)
        check_eq(len(live(a, b.name)), 1, "live sessions on A after the streams")
    env.case("streams both ways over the kept session", both_ways)

    def streams(x, y, fx, fy):
        for fwd, what in ((fx, "%s -> %s/echo" % (x.name, y.name)),
                          (fy, "%s -> %s/echo" % (y.name, x.name))):
            if fwd is None:
                continue
            res = h.tcp_client(fwd, MiB, seed=len(what), read_back=True, timeout=20)
            h.check_transfer(res, MiB, what, echo=True)

    def wait_live(n, peer, want_dir, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            lv = live(n, peer)
            if len(lv) == 1 and lv[0].get("dir") == want_dir:
                return lv[0]
            if time.monotonic() > deadline:
                raise h.Failure("%s: expected one live session with %s, dir=%s; live: %s\n%s" % (
                    n.name, peer, want_dir, [x["_line"] for x in lv], n.tail(20)))
            time.sleep(0.05)

    def rule1():
        p = env.node("p", ca=ca)
        q = env.node("q", ca=ca)
        proxy = env.server(h.TcpProxy(q.port))
        p.add_peer("q", dial=False)
        p.cfg["peers"]["q"] = {"connect": proxy.addr}
        q.add_peer(p, dial=True)
        ep, eq = env.server(h.EchoServer()), env.server(h.EchoServer())
        p.add_service("echo", ep, allow=["q"])
        q.add_service("echo", eq, allow=["p"])
        fp, fq = p.add_forward("q", "echo"), q.add_forward(p, "echo")
        proxy.hold()
        p.start()
        proxy.wait_accepted(1)          # p's dial to q is parked in the proxy
        q.start()
        p.wait_for("session_up", 10, peer="q", dir="in")     # q's dial made a session
        q.wait_for("session_up", 10, peer="p", dir="out")
        proxy.release()                  # now p's dial completes too
        kp = wait_live(p, "q", "out")
        kq = wait_live(q, "p", "in")
        for n in (p, q):
            downs = n.events("session_down", n.start_mark)
            check(downs, "%s: no session ended, yet two met" % n.name)
            for d in downs:
                check("duplicate" in d.get("reason", ""),
                      "%s: session_down for another reason than the duplicate rule: %s" % (
                          n.name, d["_line"]))
        check(kp and kq, "kept sessions")
        streams(p, q, fp, fq)
        check_eq((len(live(p, "q")), len(live(q, "p"))), (1, 1), "live sessions after streams")
        p.stop()
        q.stop()
    env.case("rule 1: both dialed, the session dialed by the smaller name is kept", rule1)

    def rule2():
        r = env.node("r", ca=ca)
        s_ = env.node("s", ca=ca, fast=False)   # default keepalive: 15 s interval, 45 s timeout
        proxy = env.server(h.TcpProxy(s_.port))
        r.cfg["peers"]["s"] = {"connect": proxy.addr}
        s_.add_peer(r)
        es = env.server(h.EchoServer())
        s_.add_service("echo", es, allow=["r"])
        fr = r.add_forward("s", "echo")
        s_.start()
        r.start()
        h.wait_session(r, s_)
        mr, ms = r.mark(), s_.mark()
        proxy.blackhole()
        down = r.wait_for("session_down", 6, mr, peer="s")
        check("timeout" in down.get("reason", ""), "r's reason for the dead path: %s" % down["_line"])
        r.wait_for("session_up", 10, mr, peer="s")
        s_.wait_for("session_up", 10, ms, peer="r")
        d = s_.wait_for("session_down", 5, ms, peer="r")
        check(d.get("reason") == "replaced by a newer session",
              "s should end the stale session as replaced by the newer one: %s" % d["_line"])
        wait_live(s_, "r", "in")
        wait_live(r, "s", "out")
        streams(r, s_, fr, None)
        r.stop()
        s_.stop()
    env.case("rule 2: the same dialer again, the newer session is kept", rule2)

    env.finish()


if __name__ == "__main__":
    main()
