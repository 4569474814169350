#!/usr/bin/env python3
"""Unauthenticated clients cannot lock peers out (core/admit.c).

With the default limits, attackers from twenty other loopback addresses hold
and churn as many TCP connections to A's session listener as they can
(re-opening each as soon as A drops it), most of them sending a record
header and then stalling (more than A's waiting table holds), the rest
silent; meanwhile B, a configured peer, is restarted several
times and must have its session within 2 s every time, and A keeps serving
B's streams. Afterwards A has dropped the attackers' connections (counted in
tether_arrivals_dropped_total) and allocated nothing after start-up.
"""

import socket
import threading
import time
import urllib.request

import harness as h
from harness import MiB, check

ATTACKERS = ["127.0.0.%d" % i for i in range(2, 22)]  # 20 source addresses
PER_ATTACKER = 16  # connections each keeps open (320 in all)


class Attacker:
    def __init__(self, port, src, stall_header):
        self.port, self.src, self.stall_header = port, src, stall_header
        self.stop = threading.Event()
        self.opened = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((self.src, 0))
        try:
            s.connect((h.LOOP, self.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return None
        self.opened += 1
        return s

    def run(self):
        socks = []
        while not self.stop.is_set():
            # Re-open whatever A closed, at once.
            alive = []
            for s in socks:
                try:
                    if s.recv(1) == b"":
                        s.close()
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    continue
                alive.append(s)
            socks = alive
            while len(socks) < PER_ATTACKER and not self.stop.is_set():
                s = self.connect()
                if s is None:
                    break
                if self.stall_header:
                    try:
                        s.send(b"\x16\x03\x01\x02\x00")  # a record header, then nothing
                    except OSError:
                        pass
                socks.append(s)
            time.sleep(0.005)
        for s in socks:
            s.close()


def main():
    env = h.Env("lockout")
    ca = env.pki.ca("ca")
    a = env.node("A", ca=ca, extra={"metrics": "127.0.0.1:0"})
    b = env.node("B", ca=ca, listen=False)
    a.add_peer(b)
    b.add_peer(a, dial=True)
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[b])
    fwd = b.add_forward(a, "echo")
    attackers = []

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
    env.setup("A (default limits) and B up", start)

    def under_attack():
        for i, src in enumerate(ATTACKERS):
            # Three in four send a record header and stall: more of them than
            # the waiting table holds, so it fills with connections that spoke.
            attackers.append(Attacker(a.port, src, stall_header=(i % 4 != 0)))
        for t in attackers:
            t.thread.start()
        try:
            time.sleep(1.0)  # let them fill every table they can
            for round_ in range(4):
                ma = a.mark()
                b.kill()
                mb = b.mark()
                b.start(wait=False)
                a.wait_for("session_up", 5, ma, peer="B")
                # B's own count, from its dial (TCP connect) to the session up.
                up = b.wait_for("session_up", 5, mb, peer="A")
                ms = int(up.get("handshake_ms", "99999"))
                check(ms < 2000, "round %d: B's session took %d ms under attack (%s)" % (
                    round_, ms, up["_line"]))
                print("     round %d: B up %d ms after its dial" % (round_, ms), flush=True)
                res = h.tcp_client(fwd, MiB, seed=round_, read_back=True, timeout=20)
                h.check_transfer(res, MiB, "B's stream under attack", echo=True)
        finally:
            for t in attackers:
                t.stop.set()
            for t in attackers:
                t.thread.join(10)
        opened = sum(t.opened for t in attackers)
        check(opened > len(ATTACKERS) * PER_ATTACKER,
              "the attackers opened %d connections: they were not churning" % opened)
    env.case("B gets its session within 2 s, four times, while %d addresses hold and churn "
             "idle and stalled connections" % len(ATTACKERS), under_attack)

    def counted():
        addr = a.wait_for("listen", 5, what="metrics")["addr"]
        with urllib.request.urlopen("http://%s/metrics" % addr, timeout=5) as r:
            text = r.read().decode()
        line = [x for x in text.splitlines() if x.startswith("tether_arrivals_dropped_total ")]
        check(line and int(line[0].split()[1]) > 0, "tether_arrivals_dropped_total: %s" % line)
        check(a.running(), "A is not running")
    env.case("A dropped the attackers' connections and counts them", counted)

    env.finish()


if __name__ == "__main__":
    main()
