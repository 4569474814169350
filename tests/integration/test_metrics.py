"""The Prometheus endpoint (`metrics`): GET /metrics over HTTP/1.1.

A listens with metrics on 127.0.0.1:0 (the port it reports in its listen
line), exports "echo" to B, and also names a peer "ghost" that never comes.
One handshake without a client certificate is provoked. The text is parsed
by a strict parser (HELP and TYPE before samples, names, labels, escapes,
values) and checked for every required metric and for values that follow
what happened; counters never go back. HEAD, 404, 405, 400 and 431 are
answered; clients that connect and say nothing, or dribble junk, neither
block a scrape nor slow a stream running at full speed; A allocates nothing
after start-up across it all.
"""

import re
import socket
import threading
import time

import harness as h
from harness import check, check_eq

REQUIRED = [
    "tether_info", "tether_sessions", "tether_peer_connected", "tether_bytes_total",
    "tether_streams", "tether_streams_total", "tether_handshakes_total",
    "tether_handshake_failures_total", "tether_cert_expiry_seconds", "tether_reloads_total",
    "tether_pool_used", "tether_pool_capacity", "tether_pool_high_water",
    "tether_tls_heap_bytes",
]

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')
VALUE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?")


def sample(ln):
    """name, labels, value of a sample line, or None if it is not one."""
    m = re.match(NAME, ln)
    if not m:
        return None
    name, rest, labels = m.group(0), ln[m.end():], []
    if rest.startswith("{"):
        rest = rest[1:]
        while True:
            lm = LABEL.match(rest)
            if not lm:
                return None
            labels.append((lm.group(1), lm.group(2)))
            rest = rest[lm.end():]
            if rest.startswith(","):
                rest = rest[1:]
                continue
            if not rest.startswith("}"):
                return None
            rest = rest[1:]
            break
    if not rest.startswith(" ") or not VALUE.fullmatch(rest[1:]):
        return None
    return name, frozenset(labels), float(rest[1:])


def parse(text):
    """Strict text format 0.0.4: {(name, frozenset(labels)): value}, {name: type}."""
    check(text.endswith("\n"), "exposition does not end with a line feed")
    types, helps, samples = {}, set(), {}
    for ln in text.split("\n")[:-1]:
        if ln.startswith("# HELP "):
            name = ln.split(" ", 3)[2]
            check(re.fullmatch(NAME, name) is not None, "bad HELP name: %r" % ln)
            check(name not in helps, "second HELP for %s" % name)
            helps.add(name)
            continue
        if ln.startswith("# TYPE "):
            parts = ln.split(" ")
            check(len(parts) == 4 and parts[3] in ("gauge", "counter"), "bad TYPE line: %r" % ln)
            check(parts[2] not in types, "second TYPE for %s" % parts[2])
            check(parts[2] in helps, "TYPE before HELP for %s" % parts[2])
            types[parts[2]] = parts[3]
            continue
        check(not ln.startswith("#"), "unexpected comment: %r" % ln)
        got = sample(ln)
        check(got is not None, "not a valid sample line: %r" % ln)
        name, labels, v = got
        check(name in types, "sample before its TYPE: %r" % ln)
        key = (name, labels)
        check(key not in samples, "duplicate series: %r" % ln)
        if types[name] == "counter":
            check(v >= 0, "negative counter: %r" % ln)
        samples[key] = v
    return samples, types


def value(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    check(key in samples, "no series %s%s" % (name, labels))
    return samples[key]


def http(port, request, timeout=5.0):
    """Send request bytes, read to EOF; (status code, headers dict, body)."""
    with socket.create_connection((h.LOOP, port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    code = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return code, headers, body


def scrape(port):
    code, headers, body = http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    check_eq(code, 200, "GET /metrics status")
    check("version=0.0.4" in headers.get("content-type", ""),
          "content type: %r" % headers.get("content-type"))
    check_eq(int(headers["content-length"]), len(body), "Content-Length")
    check_eq(headers.get("connection"), "close", "Connection header")
    return parse(body.decode("utf-8"))


def main():
    env = h.Env("metrics")
    ca = env.pki.ca("ca")
    a, b = h.pair(env, ca)
    a.add_peer("ghost")
    a.cfg["metrics"] = "127.0.0.1:0"
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[b])
    fwd = b.add_forward(a, "echo")
    port = {}

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
        ev = a.wait_for("listen", 5, what="metrics")
        port["m"] = int(ev["addr"].rsplit(":", 1)[1])
        check(port["m"] != 0, "metrics listen line names no port: %s" % ev["_line"])
    env.setup("A (metrics on a port it reports) and B up", start)

    def provoke():
        h.provoke_no_client_cert(a, ca)
    env.case("a handshake without a client certificate is refused", provoke)

    def content():
        res = h.tcp_client(fwd, 64 * 1024, seed=1, read_back=True, timeout=20)
        h.check_transfer(res, 64 * 1024, "echo stream", echo=True)
        s, types = scrape(port["m"])
        for name in REQUIRED:
            check(name in types, "required metric %s missing" % name)
        info = [k for k in s if k[0] == "tether_info"]
        check_eq(len(info), 1, "tether_info series")
        check_eq(dict(info[0][1]).get("node"), "A", "tether_info node label")
        check_eq(value(s, "tether_sessions"), 1, "tether_sessions")
        check_eq(value(s, "tether_peer_connected", peer="B"), 1, "B connected")
        check_eq(value(s, "tether_peer_connected", peer="ghost"), 0, "ghost connected")
        check(value(s, "tether_bytes_total", peer="B", direction="received") >= 64 * 1024,
              "bytes received from B")
        check(value(s, "tether_bytes_total", peer="B", direction="sent") >= 64 * 1024,
              "bytes sent to B")
        check_eq(value(s, "tether_bytes_total", peer="ghost", direction="sent"), 0, "ghost bytes")
        check(value(s, "tether_handshake_failures_total", reason="no_client_certificate") >= 1,
              "no_client_certificate counted")
        check_eq(value(s, "tether_handshake_failures_total", reason="unknown_ca"), 0,
                 "unknown_ca shown as 0")
        check(value(s, "tether_handshakes_total", result="ok") >= 1, "handshakes ok")
        check(value(s, "tether_streams_total", result="done") >= 1, "streams done")
        ids = [k for k in s if k[0] == "tether_cert_expiry_seconds"]
        kinds = {dict(k[1])["cert"] for k in ids}
        check(kinds >= {"identity", "ca", "peer"}, "certificate kinds: %s" % kinds)
        for k in ids:
            check(s[k] > 0, "certificate %s expires in %s s" % (dict(k[1]), s[k]))
        check(value(s, "tether_pool_capacity", pool="sessions") >= 1, "session pool capacity")
        check_eq(value(s, "tether_pool_used", pool="sessions"), 1, "session slots in use")
        check(value(s, "tether_tls_heap_bytes", kind="size") > 0, "heap size")
    env.case("every required metric, with values that follow what happened", content)

    def answers():
        code, hd, body = http(port["m"], b"HEAD /metrics HTTP/1.1\r\n\r\n")
        check_eq((code, body), (200, b""), "HEAD /metrics")
        check(int(hd["content-length"]) > 0, "HEAD Content-Length")
        check_eq(http(port["m"], b"GET /other HTTP/1.1\r\n\r\n")[0], 404, "GET /other")
        check_eq(http(port["m"], b"POST /metrics HTTP/1.1\r\n\r\n")[0], 405, "POST /metrics")
        check_eq(http(port["m"], b"hello there\r\n\r\n")[0], 400, "junk request")
        check_eq(http(port["m"], b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 2000 + b"\r\n\r\n")[0],
                 431, "over-long request")
        check_eq(http(port["m"], b"GET /metrics?x=1 HTTP/1.0\n\n")[0], 200, "HTTP/1.0, LF only")
    env.case("HEAD, 404, 405, 400, 431 and HTTP/1.0", answers)

    def hostile():
        # Idle and dribbling clients while a stream runs at full speed and a
        # scraper keeps scraping: neither the stream nor the scrapes notice.
        idle = [socket.create_connection((h.LOOP, port["m"])) for _ in range(12)]
        stop = threading.Event()

        def dribble():
            while not stop.is_set():
                try:
                    with socket.create_connection((h.LOOP, port["m"]), timeout=2) as s:
                        for ch in b"GET /met":
                            if stop.is_set():
                                break
                            s.sendall(bytes([ch]))
                            time.sleep(0.05)
                except OSError:
                    pass
        t = threading.Thread(target=dribble, daemon=True)
        t.start()
        result = {}

        def stream():
            result["r"] = h.tcp_client(fwd, 8 * 1024 * 1024, seed=2, read_back=True, timeout=60)
        st = threading.Thread(target=stream)
        st.start()
        last = None
        try:
            for _ in range(20):
                s, _ = scrape(port["m"])
                got = value(s, "tether_bytes_total", peer="B", direction="received")
                check(last is None or got >= last, "bytes counter went back: %s < %s" % (got, last))
                last = got
        finally:
            stop.set()
            st.join(90)
            t.join(5)
            for c in idle:
                c.close()
        h.check_transfer(result["r"], 8 * 1024 * 1024, "stream beside hostile scrapers", echo=True)
        s, _ = scrape(port["m"])
        check(value(s, "tether_metrics_refused_total") >= 1, "refusals counted")
        check(a.running(), "A is not running")
    env.case("idle and junk clients block neither scrapes nor a full-speed stream", hostile)

    def lingering_and_flood():
        # Answered clients that neither read nor close give way to newcomers;
        # one that floods after its request is cut off without stalling the node.
        m = a.mark()
        held = []
        for _ in range(6):
            s = socket.create_connection((h.LOOP, port["m"]))
            s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
            held.append(s)
        flood = socket.create_connection((h.LOOP, port["m"]))
        flood.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        try:
            t0 = time.monotonic()
            sent = 0
            try:
                flood.settimeout(2)
                while sent < 8 * 1024 * 1024 and time.monotonic() - t0 < 3:
                    sent += flood.send(b"x" * 65536)
            except OSError:
                pass
            s, _ = scrape(port["m"])
            check_eq(value(s, "tether_peer_connected", peer="B"), 1, "B still connected")
        finally:
            for c in held + [flood]:
                c.close()
        downs = a.events("session_down", m)
        check(not downs, "a session went down: %s" % [d["_line"] for d in downs])
    env.case("lingering and flooding clients neither lock out scrapers nor stall the node",
             lingering_and_flood)

    def many():
        for _ in range(500):
            http(port["m"], b"GET /metrics HTTP/1.1\r\n\r\n")
        a.stop()
        b.stop()
    env.case("500 scrapes, then A exits 0 with no allocation after start-up", many)

    env.finish()


if __name__ == "__main__":
    main()
