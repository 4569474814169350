"""One session per pair: when both nodes dial each other, both apply the rule
of docs/PROTOCOL.md (keep the session dialed by the node whose name sorts
first) and end up with the same single session, which carries streams both
ways. Repeated after a restart of either node."""

import signal
import socket
import threading
import time

import harness as h
from harness import MiB, check, check_eq


def live_sessions(node):
    """Ask for status (SIGUSR1) and return its status_session lines."""
    mark = node.mark()
    node.send_signal(signal.SIGUSR1)
    node.wait_for("status", 5, mark)
    return node.events("status_session", mark)


def settled(a, b, timeout=10.0):
    """Wait until each node reports exactly one open session; return them."""
    deadline = time.monotonic() + timeout
    while True:
        sa, sb = live_sessions(a), live_sessions(b)
        if (len(sa) == 1 and len(sb) == 1 and sa[0].get("state") == "open" and
                sb[0].get("state") == "open"):
            return sa[0], sb[0]
        check(time.monotonic() < deadline,
              "no single open session after %.0fs: A %s, B %s" % (
                  timeout, [x["_line"] for x in sa], [x["_line"] for x in sb]))
        time.sleep(0.2)


class DelayRelay:
    """A TCP relay on 127.0.0.1 that waits `delay` seconds before it connects
    each accepted connection to `target`, then copies bytes both ways: a
    dial through it completes after the direct dial the other way."""

    def __init__(self, target_port, delay):
        self.target = target_port
        self.delay = delay
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((h.LOOP, 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        time.sleep(self.delay)
        try:
            u = socket.create_connection((h.LOOP, self.target), timeout=5)
        except OSError:
            c.close()
            return
        self.socks += [c, u]
        for x, y in ((c, u), (u, c)):
            threading.Thread(target=self._pump, args=(x, y), daemon=True).start()

    @staticmethod
    def _pump(x, y):
        try:
            while True:
                d = x.recv(65536)
                if not d:
                    y.shutdown(socket.SHUT_WR)
                    return
                y.sendall(d)
        except OSError:
            pass

    def close(self):
        self.ls.close()
        for x in self.socks:
            try:
                x.close()
            except OSError:
                pass


def main():
    env = h.Env("tiebreak")
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

    def both_ways():
        for port, what in ((fwd_b, "B -> A"), (fwd_a, "A -> B")):
            res = h.tcp_client(port, MiB, seed=port, read_back=True, timeout=20)
            h.check_transfer(res, MiB, what, echo=True)

    def one_session(since_a=0, since_b=0):
        sa, sb = settled(a, b)
        check(sa.get("dir") != sb.get("dir"),
              "A and B disagree on the surviving session: %s / %s" % (sa["_line"], sb["_line"]))
        dup = [e for n, m in ((a, since_a), (b, since_b)) for e in n.events("session_down", m)
               if "duplicate" in e.get("reason", "")]
        if dup:
            # Both sessions came up: "A" sorts before "B", so the one A dialed is kept.
            check_eq(sa.get("dir"), "out", "direction of A's surviving session after a race")
            check_eq(sb.get("dir"), "in", "direction of B's surviving session after a race")
        print("  survivor dialed by %s; %d duplicate session(s) closed" % (
            "A" if sa.get("dir") == "out" else "B", len(dup)))

    def start():
        # Both listen at once and dial at once: usually both sessions come up.
        a.start(wait=False)
        b.start(wait=False)
        h.wait_session(a, b)
    env.setup("A and B start together, both dial", start)
    env.case("one session survives; after a race, the one A dialed", one_session)
    env.case("streams both ways on it", both_ways)

    def restart(node):
        ma, mb = a.mark(), b.mark()
        node.stop()
        node.start()
        one_session(ma, mb)
        both_ways()
    env.case("restart B: one session again, streams work", restart, b)
    env.case("restart A: one session again, streams work", restart, a)

    def forced_race():
        # A dials B through a relay that holds the connection for 0.7 s, so B's
        # direct dial is up first and A's arrives second: both sessions exist and
        # the rule must close B's and keep A's, on both nodes.
        a.stop()
        b.stop()
        relay = DelayRelay(b.port, 0.7)
        try:
            a.cfg["peers"]["B"]["connect"] = "%s:%d" % (h.LOOP, relay.port)
            ma, mb = a.mark(), b.mark()
            a.start()
            b.start()
            a.wait_for("session_down", 10, ma, reason=lambda r: "duplicate" in r)
            b.wait_for("session_down", 10, mb, reason=lambda r: "duplicate" in r)
            sa, sb = settled(a, b)
            check_eq(sa.get("dir"), "out", "direction of A's surviving session")
            check_eq(sb.get("dir"), "in", "direction of B's surviving session")
            both_ways()
        finally:
            relay.close()
    env.case("forced race: both sessions up, the one A dialed is kept on both sides",
             forced_race)

    env.finish()


if __name__ == "__main__":
    main()
