#!/usr/bin/env python3
"""Back-off after failed handshakes deprioritises a source, never locks it out
(core/backoff.c, core/admit.c).

A has one handshake slot for connections it accepts (limits.handshakes 1).
A client on 127.0.0.2 fails handshakes in a loop (bytes that are not TLS)
and keeps one more connection stalled in its handshake, so the slot is
mostly its own. A puts 127.0.0.2 in back-off, counts it in
tether_handshake_backoff_total and logs it once, not once per connection.
B, a configured peer dialing from 127.0.0.1, is restarted several times and
must have its session within 2 s every time: its connection takes the slot
from the source in back-off. Then the same failing client runs from B's own
address, 127.0.0.1: B is deprioritised with it, yet gets its session as soon
as a slot is free, and its success takes the address out of back-off.
The same holds on a tls-in edge route, which shares the table: a client
from another address gets through at once although the failing client
keeps a handshake stalled in the route's only slot, and one from the
failing address gets through when a slot is free.
"""

import socket
import ssl
import threading
import time
import urllib.request

import harness as h
from harness import check


class Failing:
    """Opens connections from src in a loop: most send bytes that are not TLS,
    one (if stall) sends a record header and then nothing."""

    def __init__(self, port, src, stall):
        self.port, self.src, self.stall = port, src, stall
        self.stop = threading.Event()
        self.opened = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self, payload):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.bind((self.src, 0))
            s.connect((h.LOOP, self.port))
            s.sendall(payload)
        except OSError:
            s.close()
            return None
        self.opened += 1
        s.setblocking(False)
        return s

    def run(self):
        staller = None
        while not self.stop.is_set():
            if self.stall:
                alive = staller is not None
                if alive:
                    try:
                        alive = staller.recv(1) != b""
                    except BlockingIOError:
                        pass
                    except OSError:
                        alive = False
                if not alive:
                    if staller is not None:
                        staller.close()
                    staller = self.connect(b"\x16\x03\x01\x02\x00")
            s = self.connect(b"GET / HTTP/1.0\r\n\r\n")
            if s is not None:
                time.sleep(0.02)
                s.close()
        if staller is not None:
            staller.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def metric(addr, name):
    with urllib.request.urlopen("http://%s/metrics" % addr, timeout=5) as r:
        text = r.read().decode()
    line = [x for x in text.splitlines() if x.startswith(name + " ")]
    check(line, "%s missing from the metrics" % name)
    return int(line[0].split()[1])


def edge_client(port, src, cert, ca):
    """A tls-in client from src: handshake, 4 bytes echoed; returns the handshake's ms."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca.cert)
    ctx.load_cert_chain(cert.cert, cert.key)
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.settimeout(10)
    raw.bind((src, 0))
    raw.connect((h.LOOP, port))
    t0 = time.monotonic()
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        ms = int((time.monotonic() - t0) * 1000)
        s.sendall(b"ping")
        got = b""
        while len(got) < 4:
            chunk = s.recv(4 - len(got))
            check(chunk, "the edge route closed before echoing")
            got += chunk
        check(got == b"ping", "echoed %r" % got)
    return ms


def main():
    env = h.Env("backoff")
    ca = env.pki.ca("ca")
    srv = env.pki.node(ca, "edge-srv", dns="localhost")
    ops = env.pki.node(ca, "ops", uri="spiffe://plant.example/ops")
    edge_port = h.free_port()
    echo = env.server(h.EchoServer())
    a = env.node("A", ca=ca, extra={"metrics": "127.0.0.1:0", "limits": {"handshakes": 1},
                                   "tls": {"handshake_timeout_ms": 10000}})
    a.cfg["edges"] = [{"mode": "tls-in", "listen": "%s:%d" % (h.LOOP, edge_port),
                       "target": echo.addr, "allow": ["spiffe://plant.example/ops"],
                       "cert": a.rel(srv.cert), "key": a.rel(srv.key)}]
    b = env.node("B", ca=ca, listen=False)
    a.add_peer(b)
    b.add_peer(a, dial=True)
    st = {}

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
        st["metrics"] = a.wait_for("listen", 5, what="metrics")["addr"]
        h.wait_listening(edge_port, 10, a.proc)
    env.setup("A (one accepting handshake slot) and B up", start)

    def other_address():
        ma = a.mark()
        with Failing(a.port, "127.0.0.2", stall=True) as f:
            a.wait_for("handshake_backoff", 5, ma, addr=h.re.compile(r"^127\.0\.0\.2:"))
            time.sleep(1.0)
            evicted = 0
            for round_ in range(4):
                mr = a.mark()
                b.kill()
                mb = b.mark()
                b.start(wait=False)
                a.wait_for("session_up", 5, mr, peer="B")
                up = b.wait_for("session_up", 5, mb, peer="A")
                ms = int(up.get("handshake_ms", "99999"))
                check(ms < 2000, "round %d: B's session took %d ms (%s)" % (round_, ms, up["_line"]))
                evicted += len(a.events("handshake_fail", mr,
                                        reason=h.re.compile("in back-off")))
                print("     round %d: B up %d ms after its dial" % (round_, ms), flush=True)
            check(f.opened > 20, "the failing client opened only %d connections" % f.opened)
        # Its handshakes were taken off the slot for B's (not once per round is fine:
        # the slot may have been free when B's ClientHello came).
        check(evicted > 0, "no handshake of the source in back-off gave its slot to B")
        lines = a.events("handshake_backoff", ma)
        check(all(x["addr"].startswith("127.0.0.2:") for x in lines),
              "back-off lines for other addresses: %s" % [x["_line"] for x in lines])
        check(len(lines) <= 3, "%d handshake_backoff lines for one source in a few seconds: "
              "not rate-limited" % len(lines))
        check(metric(st["metrics"], "tether_handshake_backoff_total") >= 1,
              "tether_handshake_backoff_total did not count")
    env.case("a source failing handshakes in a loop is put in back-off, logged once, and a "
             "peer from another address still gets its session within 2 s", other_address)

    def same_address():
        c0 = metric(st["metrics"], "tether_handshake_backoff_total")
        with Failing(a.port, "127.0.0.1", stall=False):
            # Its line may fall in the log's quiet window: the counter tells.
            deadline = time.monotonic() + 5
            while metric(st["metrics"], "tether_handshake_backoff_total") <= c0:
                check(time.monotonic() < deadline, "127.0.0.1 never entered back-off")
                time.sleep(0.05)
            time.sleep(0.5)
            before = metric(st["metrics"], "tether_handshake_backoff_total")
            mr = a.mark()
            b.kill()
            mb = b.mark()
            b.start(wait=False)
            a.wait_for("session_up", 5, mr, peer="B")
            up = b.wait_for("session_up", 5, mb, peer="A")
            ms = int(up.get("handshake_ms", "99999"))
            check(ms < 2000, "B's session from an address in back-off took %d ms" % ms)
            print("     B up %d ms after its dial, from the failing client's address" % ms,
                  flush=True)
            # B's success cleared the address: the client's next failure enters anew.
            deadline = time.monotonic() + 5
            after = before
            while after <= before and time.monotonic() < deadline:
                time.sleep(0.1)
                after = metric(st["metrics"], "tether_handshake_backoff_total")
            check(after > before, "B's session did not take its address out of back-off "
                  "(tether_handshake_backoff_total stayed %d)" % after)
        check(a.running(), "A is not running")
    env.case("a peer from the failing client's own address gets in when a slot is free, "
             "and its success clears the back-off", same_address)

    def edge_route():
        c0 = metric(st["metrics"], "tether_handshake_backoff_total")
        with Failing(edge_port, "127.0.0.4", stall=True):
            deadline = time.monotonic() + 5
            while metric(st["metrics"], "tether_handshake_backoff_total") <= c0:
                check(time.monotonic() < deadline, "127.0.0.4 never entered back-off")
                time.sleep(0.05)
            time.sleep(0.5)
            for round_ in range(3):
                m = a.mark()
                ms = edge_client(edge_port, "127.0.0.5", ops, ca)
                # Its handshake slot was the stalled one's: without back-off it
                # would wait for the 10 s handshake timeout.
                check(ms < 2000, "round %d: the tls-in handshake took %d ms" % (round_, ms))
                a.wait_for("edge_up", 5, m, addr=h.re.compile(r"^127\.0\.0\.5:"))
                print("     round %d: tls-in client from another address up in %d ms" % (
                    round_, ms), flush=True)
        refused = a.events("edge_refused", reason=h.re.compile("in back-off"))
        check(refused, "no tls-in handshake of the source in back-off gave up its slot")
        with Failing(edge_port, "127.0.0.4", stall=False):
            time.sleep(0.5)
            ms = edge_client(edge_port, "127.0.0.4", ops, ca)
            check(ms < 5000, "the tls-in client from the address in back-off took %d ms" % ms)
            print("     tls-in client from the failing address up in %d ms" % ms, flush=True)
    env.case("tls-in route: a client from another address takes the slot of a source in "
             "back-off; one from that address gets in when a slot is free", edge_route)

    env.finish()


if __name__ == "__main__":
    main()
