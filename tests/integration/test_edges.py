"""Edge routes: the interop matrix (README, "Edge routes").

One tether node A carries a peer session with C (C forwards to A's echo
service) and edge routes:
  in0  tls-in  -> echo target                     (curl via in_http, openssl, Python, stunnel)
  in1  tls-in  -> PROXY v2 parser, then echo      (proxy_protocol "v2")
  in2  tls-in  -> an HTTP file server             (curl)
  out0 tls-out -> openssl s_server -Verify        (client certificate required)
  out1 tls-out -> stunnel server mode -> echo
  out2 tls-out -> Python ssl echo server (client certificate required)
  out3 tls-out -> the same server, server_name wrong     -> "server name mismatch"
  out4 tls-out -> the same server, pin of another key    -> "pin mismatch"
  out5 tls-out -> openssl s_server with an RSA key only  -> refused, RSA named
Each refusal is checked by the client's failure and A's edge_refused reason;
after every group C's session is still up and carries a stream. The TLS
state of every edge connection is checked against its 40 KB budget from
the edge_up lines.
"""

import base64
import concurrent.futures
import hashlib
import http.server
import os
import socket
import ssl
import struct
import subprocess
import threading
import time

import harness as h
from harness import MiB, check, check_eq

h.sys.path.insert(0, os.path.join(h.HERE, "peers"))
import tls_probe  # noqa: E402

EDGE_BUDGET = 40 * 1024
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def parse_proxy_v2(read):
    """Parse a PROXY v2 header with read(n) -> exactly n bytes. Returns a dict."""
    head = read(16)
    check(head[:12] == SIG, "PROXY v2 signature wrong: %r" % head[:12])
    check(head[12] == 0x21, "version/command 0x%02x, want 0x21 (v2 PROXY)" % head[12])
    fam, length = head[13], struct.unpack(">H", head[14:16])[0]
    body = read(length)
    out = {"family": fam, "tlv": {}, "ssl": {}}
    off = 0
    if fam == 0x11:
        out["src"] = "%s:%d" % (socket.inet_ntoa(body[0:4]), struct.unpack(">H", body[8:10])[0])
        out["dst"] = "%s:%d" % (socket.inet_ntoa(body[4:8]), struct.unpack(">H", body[10:12])[0])
        off = 12
    elif fam == 0x21:
        off = 36
    while off < len(body):
        check(off + 3 <= len(body), "TLV header cut at %d of %d" % (off, len(body)))
        t, n = body[off], struct.unpack(">H", body[off + 1:off + 3])[0]
        v = body[off + 3:off + 3 + n]
        check(len(v) == n, "TLV 0x%02x: %d of %d bytes" % (t, len(v), n))
        if t == 0x20:
            out["ssl"]["client"], out["ssl"]["verify"] = v[0], struct.unpack(">I", v[1:5])[0]
            k = 5
            while k < len(v):
                st, sn = v[k], struct.unpack(">H", v[k + 1:k + 3])[0]
                out["ssl"][st] = v[k + 3:k + 3 + sn]
                k += 3 + sn
            check(k == len(v), "PP2_TYPE_SSL sub-TLVs overrun")
        else:
            out["tlv"][t] = v
        off += 3 + n
    return out


class ProxyEchoServer(h._Server):
    """Parses the PROXY v2 header, records it, then echoes."""

    def __init__(self):
        super().__init__("proxyecho")
        self.headers = []

    def handle(self, c, res, hh):
        buf = b""

        def read(n):
            nonlocal buf
            while len(buf) < n:
                b = c.recv(65536)
                check(b, "EOF inside the PROXY header")
                buf += b
            out, buf = buf[:n], buf[n:]
            return out
        hdr = parse_proxy_v2(read)
        with self.lock:
            self.headers.append(hdr)
        if buf:
            hh.update(buf)
            res["received"] += len(buf)
            c.sendall(buf)
        while True:
            b = c.recv(65536)
            if not b:
                res["eof"] = True
                c.shutdown(socket.SHUT_WR)
                return
            hh.update(b)
            res["received"] += len(b)
            c.sendall(b)


class TlsEchoServer:
    """Python ssl server requiring a client certificate; echoes until close_notify,
    then answers with its own close_notify."""

    def __init__(self, cert, key, ca, max_version=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if max_version is not None:
            self.ctx.maximum_version = max_version
        self.ctx.load_cert_chain(cert, key)
        self.ctx.load_verify_locations(ca)
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((h.LOOP, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.errors = []
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        try:
            c.settimeout(30)
            s = self.ctx.wrap_socket(c, server_side=True)
            while True:
                b = s.recv(65536)
                if not b:
                    break
                s.sendall(b)
            s.unwrap()
            c.close()
        except Exception as e:
            self.errors.append("%s: %s" % (type(e).__name__, e))
            c.close()

    def close(self):
        self.stopping = True
        self.sock.close()


def tls_send_recv(port, nbytes, seed, cert, key, ca, tls=None, ciphers=None, timeout=30.0):
    """Through a tls-in route to the echo target: send nbytes in 16 KB records
    while reading the echo, then close in order (close_notify both ways:
    Python's unwrap()). Returns (sent_sha, got_sha, n_got, version, clean).

    (Python's ssl has no one-way close_notify: its shutdown reads and drops
    application data until the peer's close_notify, so the half-close through
    TLS is tested with stunnel and the tls-out server instead.)"""
    import select
    ctx = tls_probe.context(cert=cert, key=key, ca=ca, tls=tls, ciphers=ciphers)
    ctx.check_hostname = True
    raw = socket.create_connection((h.LOOP, port), timeout=timeout)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    ver = s.version()
    data = h.pattern_bytes(seed, nbytes)
    got = hashlib.sha256()
    n_got = 0
    off = 0
    s.setblocking(False)
    deadline = time.monotonic() + timeout
    broken = False
    while n_got < nbytes and time.monotonic() < deadline and not broken:
        want_w = off < len(data)
        r, w, _ = select.select([s], [s] if want_w else [], [], 0.5)
        if s in w:
            try:
                off += s.send(data[off:off + 16384])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
            except (ssl.SSLError, OSError):
                broken = True
        while not broken:
            try:
                b = s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            except (ssl.SSLError, OSError):
                broken = True
                break
            if not b:
                deadline = 0
                break
            got.update(b)
            n_got += len(b)
    clean = False
    if broken:
        s.close()
        return hashlib.sha256(data).hexdigest(), got.hexdigest(), n_got, ver, False
    s.setblocking(True)
    s.settimeout(timeout)
    try:
        s.unwrap().close()
        clean = True
    except (ssl.SSLError, OSError, ValueError):
        s.close()
    return hashlib.sha256(data).hexdigest(), got.hexdigest(), n_got, ver, clean


def main():
    env = h.Env("edges", budget=170)
    pki = env.pki
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    ca = pki.ca("ca", tool="openssl")
    evil = pki.ca("evil", tool="openssl")
    c = {}

    def mk():
        c["srv"] = pki.node(ca, "edge-srv", dns="localhost", tool="openssl")
        c["broker"] = pki.node(ca, "broker", dns="broker.test", tool="openssl")
        c["ops"] = pki.node(ca, "ops", uri="spiffe://plant.example/ops")
        c["pinned"] = pki.node(ca, "pinned", tool="openssl")
        c["stranger"] = pki.node(ca, "stranger")
        c["foreign"] = pki.node(evil, "foreign")
        c["expired"] = pki.node(ca, "expired", uri="spiffe://plant.example/ops",
                                not_before=now - 10 * day, not_after=now - day)
        c["future"] = pki.node(ca, "future", uri="spiffe://plant.example/ops",
                               not_before=now + day, not_after=now + 30 * day)
        c["revoked"] = pki.node(ca, "revoked", uri="spiffe://plant.example/ops")
        c["late"] = pki.node(ca, "late", uri="spiffe://plant.example/ops")
        # tls-out servers named by a wildcard DNS SAN and by an IP address SAN.
        c["wild"] = pki.node(ca, "wild", dns="*.wild.test", tool="openssl")
        c["ipsrv"] = pki.node(ca, "ipsrv", ip=h.LOOP, tool="openssl")
        c["crl"] = pki.crl(ca, [c["revoked"]])
        # An RSA-only TLS server (tether compiles no RSA).
        d = os.path.join(env.dir, "rsa")
        os.makedirs(d)
        c["rsa_key"], c["rsa_crt"] = os.path.join(d, "rsa.key"), os.path.join(d, "rsa.crt")
        h.subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                          c["rsa_key"], "-out", c["rsa_crt"], "-days", "2", "-subj",
                          "/CN=rsa.test", "-addext", "subjectAltName=DNS:rsa.test"],
                         check=True, capture_output=True)
    env.setup("certificates made", mk)

    echo = env.server(h.EchoServer())
    pecho = env.server(ProxyEchoServer())
    pyserver = TlsEchoServer(c["broker"].cert, c["broker"].key, ca.cert)
    wildserver = TlsEchoServer(c["wild"].cert, c["wild"].key, ca.cert)
    ipserver = TlsEchoServer(c["ipsrv"].cert, c["ipsrv"].key, ca.cert)
    tls12server = TlsEchoServer(c["broker"].cert, c["broker"].key, ca.cert,
                                max_version=ssl.TLSVersion.TLSv1_2)

    # An HTTP file server for curl.
    web = os.path.join(env.dir, "web")
    os.makedirs(web)
    blob = h.pattern_bytes(99, 3 * MiB)
    with open(os.path.join(web, "blob"), "wb") as f:
        f.write(blob)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=web, **kw)

        def log_message(self, *a):
            pass
    httpd = http.server.ThreadingHTTPServer((h.LOOP, 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    # openssl s_server (client certificate required) and the RSA-only one.
    s_port, rsa_port, st_port = h.free_port(), h.free_port(), h.free_port()
    procs = []

    def spawn(args, **kw):
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, **kw)
        procs.append(p)
        return p
    spawn(["openssl", "s_server", "-accept", "%s:%d" % (h.LOOP, s_port), "-cert", c["broker"].cert,
           "-key", c["broker"].key, "-CAfile", ca.cert, "-Verify", "2", "-verify_return_error",
           "-rev", "-quiet"])
    spawn(["openssl", "s_server", "-accept", "%s:%d" % (h.LOOP, rsa_port), "-cert", c["rsa_crt"],
           "-key", c["rsa_key"], "-rev", "-quiet"])
    # tls-out's suite matrix: one route to an s_server started per case, allowing one suite.
    OUT_SUITES = [("1.3", ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"], "AES-128-GCM"),
                  ("1.3", ["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"], "AES-256-GCM"),
                  ("1.3", ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"],
                   "CHACHA20"),
                  ("1.2", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], "AES-128-GCM"),
                  ("1.2", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"], "AES-256-GCM"),
                  ("1.2", ["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"], "CHACHA20")]
    suite_port = h.free_port()
    # stunnel in server mode in front of the echo.
    st_dir = os.path.join(env.dir, "stunnel")
    os.makedirs(st_dir)
    st_cli_port = h.free_port()
    with open(os.path.join(st_dir, "st.conf"), "w") as f:
        f.write("foreground = yes\npid =\ndebug = 3\noutput = %s/st.log\n"
                "[srv]\naccept = %s:%d\nconnect = %s\ncert = %s\nkey = %s\nCAfile = %s\n"
                "verifyChain = yes\nrequireCert = yes\n"
                "[cli]\nclient = yes\naccept = %s:%d\nconnect = %s:%d\ncert = %s\nkey = %s\n"
                "CAfile = %s\nverifyChain = yes\ncheckHost = localhost\n" % (
                    st_dir, h.LOOP, st_port, echo.addr, c["broker"].cert, c["broker"].key,
                    ca.cert, h.LOOP, st_cli_port, h.LOOP, 0, c["ops"].cert, c["ops"].key,
                    ca.cert))

    a = env.node("A", ca=ca, crl=c["crl"],
                 extra={"tls": {"min_version": "1.2", "handshake_timeout_ms": 5000},
                        "limits": {"edge_connections": 64, "handshakes": 4}})
    cc = env.node("C", ca=ca, listen=False)
    a.add_peer(cc)
    cc.add_peer(a, dial=True)
    a.add_service("echo", echo, allow=[cc])
    fwd = cc.add_forward(a, "echo")
    a.add_service("who", pecho, allow=[cc])
    a.cfg["services"]["who"]["proxy_protocol"] = "v2"
    fwd_who = cc.add_forward(a, "who")
    a.cfg["status"] = "A.sock"
    ports = {k: h.free_port() for k in ("in0", "in1", "in2", "in3", "out0", "out1", "out2",
                                         "out3", "out4", "out5", "out6", "out7", "out8",
                                         "out9", "out10")}
    dead_port = h.free_port()  # nothing listens there
    allow = ["spiffe://plant.example/ops", pki.pin(c["pinned"])]
    srv = {"cert": a.rel(c["srv"].cert), "key": a.rel(c["srv"].key)}

    def lp(k):
        return "%s:%d" % (h.LOOP, ports[k])
    out_base = {"mode": "tls-out", "ca": a.rel(ca.cert), "server_name": "broker.test"}
    a.cfg["edges"] = [
        dict(mode="tls-in", listen=lp("in0"), target=echo.addr, allow=allow, **srv),
        dict(mode="tls-in", listen=lp("in1"), target=pecho.addr, allow=allow,
             proxy_protocol="v2", **srv),
        dict(mode="tls-in", listen=lp("in2"), target="%s:%d" % (h.LOOP, httpd.server_port),
             allow=allow, **srv),
        dict(mode="tls-in", listen=lp("in3"), target="%s:%d" % (h.LOOP, dead_port),
             allow=allow, **srv),
        dict(out_base, listen=lp("out0"), connect="%s:%d" % (h.LOOP, s_port)),
        dict(out_base, listen=lp("out1"), connect="%s:%d" % (h.LOOP, st_port)),
        dict(out_base, listen=lp("out2"), connect="%s:%d" % (h.LOOP, pyserver.port)),
        dict(out_base, listen=lp("out3"), connect="%s:%d" % (h.LOOP, pyserver.port),
             server_name="wrong.test"),
        dict(out_base, listen=lp("out4"), connect="%s:%d" % (h.LOOP, pyserver.port),
             pin=pki.pin(c["pinned"])),
        # An RSA certificate cannot even be parsed here: the route trusts our CA.
        dict(out_base, listen=lp("out5"), connect="%s:%d" % (h.LOOP, rsa_port),
             server_name="rsa.test"),
        # "*.wild.test" covers one label: mqtt.wild.test, not a.b.wild.test (RFC 6125).
        dict(out_base, listen=lp("out6"), connect="%s:%d" % (h.LOOP, wildserver.port),
             server_name="mqtt.wild.test"),
        dict(out_base, listen=lp("out7"), connect="%s:%d" % (h.LOOP, wildserver.port),
             server_name="a.b.wild.test"),
        # No server_name: the host part of connect, an IP address, matched to an IP SAN.
        {"mode": "tls-out", "ca": a.rel(ca.cert), "listen": lp("out8"),
         "connect": "%s:%d" % (h.LOOP, ipserver.port)},
        # A server that speaks TLS 1.2 at most (tls.min_version allows it here).
        dict(out_base, listen=lp("out9"), connect="%s:%d" % (h.LOOP, tls12server.port)),
        dict(out_base, listen=lp("out10"), connect="%s:%d" % (h.LOOP, suite_port)),
    ]
    # stunnel's client side dials in0.
    with open(os.path.join(st_dir, "st.conf")) as f:
        conf = f.read().replace("%s:%d\ncert = %s" % (h.LOOP, 0, c["ops"].cert),
                                "%s:%d\ncert = %s" % (h.LOOP, ports["in0"], c["ops"].cert))
    with open(os.path.join(st_dir, "st.conf"), "w") as f:
        f.write(conf)

    def start():
        spawn(["stunnel4", os.path.join(st_dir, "st.conf")])
        a.start()
        cc.start()
        for k in ports:
            h.wait_listening(ports[k], 10, a.proc)
        for p in (s_port, rsa_port, st_port, st_cli_port):
            h.wait_listening(p, 10)
        h.wait_session(a, cc)
    env.setup("fixture: A with 15 edge routes, C's session with A up", start)

    def c_still_up(what):
        downs = a.events("session_down", peer=cc.name) + cc.events("session_down")
        check(not downs, "C's session went down after %s: %s" % (what, [d["_line"] for d in downs]))
        res = h.tcp_client(fwd, 128 * 1024, seed=len(what), read_back=True, timeout=20)
        h.check_transfer(res, 128 * 1024, "C's stream after %s" % what, echo=True)

    def budget_ok(since):
        ups = a.events("edge_up", since)
        check(ups and all("mem" in u for u in ups),
              "edge_up without its heap figures (a handshake alone): %s" % ups)
        for up in ups:
            mem, peak = int(up["mem"]), int(up["handshake_peak"])
            check(0 < mem <= EDGE_BUDGET and 0 < peak <= EDGE_BUDGET,
                  "edge TLS state over its %d-byte budget: %s" % (EDGE_BUDGET, up["_line"]))

    # ---- tls-in
    def py_bulk(tls, ciphers, suite_word):
        m = a.mark()
        want, got, n, ver, eof = tls_send_recv(ports["in0"], 4 * MiB, 5, c["ops"].cert,
                                               c["ops"].key, ca.cert, tls=tls, ciphers=ciphers)
        check(eof, "no clean close (close_notify both ways) after the echo (got %d bytes)" % n)
        check_eq((n, got), (4 * MiB, want), "echoed bytes and sha256")
        up = a.wait_for("edge_up", 5, m, mode="tls-in")
        check_eq(up["tls"], tls or "1.3", "edge_up tls= (%s)" % up["_line"])
        if suite_word:
            check(suite_word in up["suite"], "suite %s, want %s" % (up["suite"], suite_word))
        down = a.wait_for("edge_down", 5, m)
        check_eq(down["reason"], "done", "edge_down reason (%s)" % down["_line"])
        budget_ok(m)
    env.case("tls-in: Python ssl TLS 1.3, 4 MiB of 16 KB records echoed byte-exact, clean end",
             py_bulk, None, None, None)
    env.case("tls-in: Python ssl TLS 1.2 ECDHE-ECDSA-AES256-GCM-SHA384, 4 MiB echoed",
             py_bulk, "1.2", "ECDHE-ECDSA-AES256-GCM-SHA384", "AES-256-GCM")
    env.case("tls-in: Python ssl TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305, 4 MiB echoed",
             py_bulk, "1.2", "ECDHE-ECDSA-CHACHA20-POLY1305", "CHACHA20")

    def s_client_ok(args, want_tls, want_suite):
        m = a.mark()
        cmd = ["openssl", "s_client", "-connect", "%s:%d" % (h.LOOP, ports["in0"]), "-cert",
               c["ops"].cert, "-key", c["ops"].key, "-CAfile", ca.cert, "-verify_return_error",
               "-verify_hostname", "localhost", "-servername", "localhost"] + args
        p = subprocess.run(cmd, input=b"hello edge\n", capture_output=True, timeout=15)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        up = a.wait_for("edge_up", 5, m)
        check_eq(up["tls"], want_tls, "edge_up tls= (%s)" % up["_line"])
        check(want_suite in up["suite"], "suite %s, want %s" % (up["suite"], want_suite))
        check("Verify return code: 0" in out, "s_client did not verify the route: %s" % out[-300:])
    for suite, word in (("TLS_AES_128_GCM_SHA256", "AES-128-GCM"),
                        ("TLS_AES_256_GCM_SHA384", "AES-256-GCM"),
                        ("TLS_CHACHA20_POLY1305_SHA256", "CHACHA20")):
        env.case("tls-in: openssl s_client TLS 1.3 %s" % suite, s_client_ok,
                 ["-tls1_3", "-ciphersuites", suite], "1.3", word)
    env.case("tls-in: openssl s_client TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256", s_client_ok,
             ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], "1.2", "AES-128-GCM")

    def curl_get():
        m = a.mark()
        out = os.path.join(env.dir, "curl.out")
        p = subprocess.run(["curl", "-sS", "--fail", "--cert", c["ops"].cert, "--key", c["ops"].key,
                            "--cacert", ca.cert, "--resolve", "localhost:%d:%s" % (ports["in2"], h.LOOP),
                            "-o", out, "https://localhost:%d/blob" % ports["in2"]],
                           capture_output=True, timeout=30)
        check(p.returncode == 0, "curl failed: %s" % p.stderr.decode()[-300:])
        with open(out, "rb") as f:
            check(hashlib.sha256(f.read()).digest() == hashlib.sha256(blob).digest(),
                  "curl's 3 MiB download differs")
        a.wait_for("edge_up", 5, m, mode="tls-in")
        budget_ok(m)
    env.case("tls-in: curl GET of 3 MiB through the route, byte-exact", curl_get)

    def curl_no_cert():
        m = a.mark()
        p = subprocess.run(["curl", "-sS", "--cacert", ca.cert, "--resolve",
                            "localhost:%d:%s" % (ports["in2"], h.LOOP),
                            "https://localhost:%d/blob" % ports["in2"]],
                           capture_output=True, timeout=30)
        check(p.returncode != 0, "curl without a certificate got through")
        ev = a.wait_for("edge_refused", 5, m)
        check_eq(ev["reason"], "no client certificate", "edge_refused reason (%s)" % ev["_line"])
    env.case("tls-in: curl without a client certificate -> \"no client certificate\"", curl_no_cert)

    def stunnel_client():
        m = a.mark()
        res = h.tcp_client(st_cli_port, 2 * MiB, seed=11, read_back=True, timeout=30)
        h.check_transfer(res, 2 * MiB, "stunnel client -> tls-in -> echo", echo=True)
        a.wait_for("edge_up", 5, m, mode="tls-in")
    env.case("tls-in: stunnel in client mode, 2 MiB echoed with half-close", stunnel_client)

    def proxy_v2():
        m = a.mark()
        before = len(pecho.headers)
        want, got, n, ver, eof = tls_send_recv(ports["in1"], 256 * 1024, 6, c["ops"].cert,
                                               c["ops"].key, ca.cert)
        check_eq((n, got), (256 * 1024, want), "echo behind the PROXY header")
        hdr = pecho.headers[before]
        check_eq(hdr["family"], 0x11, "address family (TCP over IPv4)")
        up = a.wait_for("edge_up", 5, m)
        check_eq(hdr["src"], up["addr"], "PROXY source address = the client's")
        check_eq(hdr["dst"], "%s:%d" % (h.LOOP, ports["in1"]), "PROXY destination")
        check_eq(hdr["tlv"].get(0xE0), b"spiffe://plant.example/ops", "TLV 0xE0 identity")
        pin = base64.b64decode(pki.pin(c["ops"])[len("sha256/"):])
        check_eq(hdr["tlv"].get(0xE1), pin, "TLV 0xE1 SPKI SHA-256")
        check_eq(hdr["ssl"].get("client"), 0x03, "PP2_TYPE_SSL client bits (SSL|CERT_CONN)")
        check_eq(hdr["ssl"].get("verify"), 0, "PP2_TYPE_SSL verify")
        check_eq(hdr["ssl"].get(0x21), b"TLSv1.3", "PP2_SUBTYPE_SSL_VERSION")
        check_eq(hdr["ssl"].get(0x22), b"ops", "PP2_SUBTYPE_SSL_CN")
        check(hdr["ssl"].get(0x23, b"").startswith(b"TLS1-3-"), "cipher %r" % hdr["ssl"].get(0x23))
    env.case("tls-in: PROXY v2 header parsed: addresses, PP2_TYPE_SSL, identity and SPKI TLVs",
             proxy_v2)

    def service_proxy():
        before = len(pecho.headers)
        res = h.tcp_client(fwd_who, 64 * 1024, seed=9, read_back=True, timeout=20)
        h.check_transfer(res, 64 * 1024, "C -> A's service with PROXY v2", echo=True)
        hdr = pecho.headers[before]
        check_eq(hdr["tlv"].get(0xE2), b"C", "TLV 0xE2: the calling peer's name")
        check_eq(hdr["tlv"].get(0xE0), b"C", "TLV 0xE0: its certificate's identity")
        check_eq(hdr["ssl"].get(0x21), b"TLSv1.3", "PP2_SUBTYPE_SSL_VERSION of the session")
        pin = base64.b64decode(pki.pin(cc.cert)[len("sha256/"):])
        check_eq(hdr["tlv"].get(0xE1), pin, "TLV 0xE1: the peer's SPKI SHA-256")
        check_eq(hdr["family"], 0x11, "address family")
    env.case("services: PROXY v2 tells the target which peer node calls", service_proxy)

    def client_vanishes():
        """A client that stops without close_notify: the target sees a reset, not an end."""
        before = len(echo.results)
        ctx = tls_probe.context(cert=c["ops"].cert, key=c["ops"].key, ca=ca.cert)
        raw = socket.create_connection((h.LOOP, ports["in0"]), timeout=10)
        s = ctx.wrap_socket(raw)
        s.sendall(h.pattern_bytes(3, 32 * 1024))
        time.sleep(0.2)
        s.close()  # FIN without close_notify: a truncation, as far as TLS can tell
        rs = echo.wait_results(before + 1, 10)
        r = rs[-1]
        check(r["error"] and "reset" in r["error"].lower() and not r["eof"],
              "the target saw %s, want a reset" % r)
        # FIN, or RST when the echo was still unread in the client's socket.
        a.wait_for("edge_down", 5, edge="0", reason=lambda v: v in (
            "connection closed without close_notify", "tls side reset"))
    env.case("tls-in: a client that vanishes mid-stream -> the target is reset (never a clean end)",
             client_vanishes)

    def target_down():
        m = a.mark()
        want, got, n, ver, clean = tls_send_recv(ports["in3"], 16 * 1024, 4, c["ops"].cert,
                                                 c["ops"].key, ca.cert, timeout=10)
        check(not clean and n == 0, "a route whose target is down ended cleanly (%d bytes)" % n)
        ev = a.wait_for("edge_down", 5, m, edge="3")
        check("refused" in ev["reason"], "edge_down reason %s" % ev["_line"])
    env.case("tls-in: target down -> the client gets an error, not a clean close", target_down)

    def pinned_allowed():
        m = a.mark()
        r = tls_probe.probe(ports["in0"], wait=1.0, cert=c["pinned"].cert, key=c["pinned"].key,
                            ca=ca.cert)
        check(r["outcome"] != "refused", "pinned client refused: %s" % r)
        a.wait_for("edge_up", 5, m)
    env.case("tls-in: a client allowed by its sha256/ SPKI pin", pinned_allowed)

    def refused(reason, who=None, tls=None, ciphers=None, s_client=None):
        m = a.mark()
        if s_client is not None:
            p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (h.LOOP, ports["in0"]),
                                "-cert", c["ops"].cert, "-key", c["ops"].key] + s_client,
                               input=b"", capture_output=True, timeout=15)
            check(p.returncode != 0, "s_client was not refused")
        else:
            kw = {"ca": ca.cert, "tls": tls, "ciphers": ciphers}
            if who:
                kw.update(cert=c[who].cert, key=c[who].key)
            r = tls_probe.probe(ports["in0"], wait=2.0, **kw)
            check_eq(r["outcome"], "refused", "client outcome (%s)" % r)
        ev = a.wait_for("edge_refused", 5, m)
        check_eq(ev["reason"], reason, "edge_refused reason (%s)" % ev["_line"])
        check(not a.events("edge_up", m), "an edge_up for a refused client")
    env.case("tls-in refuses: no client certificate", refused, "no client certificate")
    env.case("tls-in refuses: another CA -> \"unknown ca\"", refused, "unknown ca", "foreign")
    env.case("tls-in refuses: not in allow -> \"identity not allowed\"", refused,
             "identity not allowed", "stranger")
    env.case("tls-in refuses: expired", refused, "certificate expired", "expired")
    env.case("tls-in refuses: not yet valid", refused, "certificate not yet valid", "future")
    env.case("tls-in refuses: revoked (identity.crl)", refused, "certificate revoked", "revoked")
    env.case("tls-in refuses: TLS 1.1", refused, "protocol version",
             s_client=["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"])
    env.case("tls-in refuses: CBC-only client", refused, "no shared cipher suite or group",
             s_client=["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA"])
    env.case("peer session unaffected by the tls-in matrix", c_still_up, "tls-in")

    # ---- tls-out
    def out_bulk(route, what, tls="1.3", server=None):
        m = a.mark()
        res = h.tcp_client(ports[route], 2 * MiB, seed=21, read_back=True, timeout=30)
        h.check_transfer(res, 2 * MiB, what, echo=True)
        up = a.wait_for("edge_up", 5, m, mode="tls-out")
        check_eq(up["tls"], tls, "edge_up tls=")
        if server is not None:
            check_eq(up.get("id"), server, "the server's identity in edge_up")
        budget_ok(m)
    env.case("tls-out: Python ssl server (client cert required), 2 MiB echoed, half-close",
             out_bulk, "out2", "tls-out -> python ssl echo")
    env.case("tls-out: stunnel server mode, 2 MiB echoed", out_bulk, "out1",
             "tls-out -> stunnel -> echo")
    env.case("tls-out: server_name mqtt.wild.test matches a *.wild.test DNS SAN", out_bulk,
             "out6", "tls-out -> wildcard-named server", server="*.wild.test")
    env.case("tls-out: no server_name, connect's IP address matches the server's IP SAN",
             out_bulk, "out8", "tls-out -> IP-named server")
    env.case("tls-out: a TLS 1.2 server, 2 MiB echoed", out_bulk, "out9",
             "tls-out -> TLS 1.2 server", tls="1.2")

    def s_server_rev(route="out0", tls="1.3", suite_word=None):
        m = a.mark()
        s = socket.create_connection((h.LOOP, ports[route]), timeout=10)
        s.sendall(b"tether edge\n")
        buf = b""
        deadline = time.monotonic() + 10
        while b"egde rehtet" not in buf and time.monotonic() < deadline:
            b = s.recv(4096)
            if not b:
                break
            buf += b
        s.close()
        check(b"egde rehtet" in buf, "s_server -rev answer not seen: %r" % buf)
        up = a.wait_for("edge_up", 5, m, mode="tls-out")
        check(up.get("id") == "broker.test", "server identity %s" % up["_line"])
        check_eq(up["tls"], tls, "edge_up tls= (%s)" % up["_line"])
        if suite_word:
            check(suite_word in up["suite"], "suite %s, want %s" % (up["suite"], suite_word))
    env.case("tls-out: openssl s_server -Verify (client cert required) answers", s_server_rev)
    def one_suite(tls, args, word):
        p = spawn(["openssl", "s_server", "-accept", "%s:%d" % (h.LOOP, suite_port), "-cert",
                   c["broker"].cert, "-key", c["broker"].key, "-CAfile", ca.cert, "-Verify", "2",
                   "-verify_return_error", "-rev", "-quiet"] + args)
        try:
            h.wait_listening(suite_port, 10)
            s_server_rev("out10", tls, word)
        finally:
            p.kill()
            p.wait()
    for tls, args, word in OUT_SUITES:
        env.case("tls-out: openssl s_server TLS %s %s only" % (tls, args[-1]), one_suite, tls,
                 args, word)

    def out_refused(route, reason_part):
        m = a.mark()
        r = h.expect_reset(ports[route], timeout=10, send=b"x")
        check(r in ("reset", "eof"), "local client saw %s, want a reset" % r)
        check_eq(r, "reset", "the local client is reset, not closed in order")
        ev = a.wait_for("edge_refused", 5, m)
        check(reason_part in ev["reason"], "reason %r lacks %r (%s)" % (ev["reason"], reason_part,
                                                                         ev["_line"]))
    env.case("tls-out refuses: wrong server name -> \"server name mismatch\"", out_refused,
             "out3", "server name mismatch")
    env.case("tls-out refuses: wrong pin -> \"pin mismatch\"", out_refused, "out4", "pin mismatch")
    env.case("tls-out refuses: a.b.wild.test against *.wild.test -> \"server name mismatch\"",
             out_refused, "out7", "server name mismatch")
    env.case("tls-out refuses: RSA-only server, the reason names RSA", out_refused, "out5",
             "RSA is not compiled in")
    env.case("peer session unaffected by the tls-out matrix", c_still_up, "tls-out")

    # ---- load
    def fifty():
        def one(i):
            return h.tcp_client(st_cli_port, 64 * 1024, seed=100 + i, timeout=60) if i % 5 == 0 \
                else tls_send_recv(ports["in0"], 64 * 1024, 100 + i, c["ops"].cert, c["ops"].key,
                                   ca.cert)
        with concurrent.futures.ThreadPoolExecutor(50) as ex:
            rs = list(ex.map(one, range(50)))
        for i, r in enumerate(rs):
            if isinstance(r, dict):
                h.check_transfer(r, 64 * 1024, "client %d (stunnel)" % i, echo=True)
            else:
                check_eq((r[2], r[1]), (64 * 1024, r[0]), "client %d echo" % i)
    env.case("50 concurrent clients through tls-in (Python ssl and stunnel)", fifty)

    def idle_flood():
        m = a.mark()
        socks = []
        for _ in range(80):
            s = socket.create_connection((h.LOOP, ports["in0"]), timeout=5)
            socks.append(s)
        time.sleep(0.3)
        want, got, n, ver, eof = tls_send_recv(ports["in0"], 256 * 1024, 7, c["ops"].cert,
                                               c["ops"].key, ca.cert)
        check_eq((n, got), (256 * 1024, want), "a real client while 80 idle ones hold connections")
        ev = a.events("edge_refused", m, reason="evicted by a newer connection") + \
            a.events("pool_exhausted", m, pool="edges")
        check(ev, "80 idle connections on a pool of 64: no eviction or exhaustion logged")
        c_still_up("80 idle edge clients")
        # Silent ones cost no TLS state and go at the first-byte deadline (2 s).
        a.wait_for("edge_refused", 5, m, reason="silent: no ClientHello")
        ups = a.events("edge_up", m)
        check_eq(len(ups), 1, "edge connections up during the flood (the real client only)")
        for s in socks:
            s.close()
    env.case("idle clients exhaust only the edge pool: a real client and the peer get through",
             idle_flood)

    def slow_client():
        m = a.mark()
        ctx = tls_probe.context(cert=c["ops"].cert, key=c["ops"].key, ca=ca.cert)
        raw = socket.create_connection((h.LOOP, ports["in0"]), timeout=10)
        s = ctx.wrap_socket(raw)
        data = h.pattern_bytes(8, 64 * 1024)
        for i in range(0, len(data), 4096):
            s.sendall(data[i:i + 4096])
            time.sleep(0.02)
        got = b""
        s.settimeout(10)
        while len(got) < len(data):
            b = s.recv(65536)
            if not b:
                break
            got += b
        s.close()
        check(got == data, "slow client's echo differs (%d of %d bytes)" % (len(got), len(data)))
        c_still_up("a slow edge client")
    env.case("a slow client is carried whole; the peer session unaffected", slow_client)

    def reload_edges():
        import copy
        import json
        # A changed route needs a restart: refused, nothing changes.
        saved = copy.deepcopy(a.cfg["edges"])
        a.cfg["edges"][0]["allow"] = ["spiffe://plant.example/other"]
        a.write_config()
        rc, out, err = h.run_tether(["reload", "-c", a.cfg_path])
        check(rc == 2, "reload with changed edges: rc %d, want 2: %s %s" % (rc, out, err))
        check("edges: changed; needs a restart" in out + err, "reload words: %s %s" % (out, err))
        # The same routes, the node's identity reloaded (same files): routes follow it.
        a.cfg["edges"] = saved
        a.write_config()
        m = a.mark()
        rc, out, err = h.run_tether(["reload", "-c", a.cfg_path])
        check(rc == 0, "reload: rc %d: %s %s" % (rc, out, err))
        want, got, n, ver, eof = tls_send_recv(ports["in0"], 256 * 1024, 12, c["ops"].cert,
                                               c["ops"].key, ca.cert)
        check_eq((n, got), (256 * 1024, want), "tls-in after a reload")
        res = h.tcp_client(ports["out2"], 256 * 1024, seed=13, read_back=True, timeout=20)
        h.check_transfer(res, 256 * 1024, "tls-out after a reload", echo=True)
        check(a.events("edge_up", m), "no edge_up after the reload")
        c_still_up("a reload")
    env.case("reload: changed edges need a restart; an identity reload keeps routes working",
             reload_edges)

    def revoke_live():
        # Two tls-in clients relaying through in0; then "late" is revoked and
        # the node reloads: its connection is reset, the other carries on.
        def open_echo(crt):
            ctx = tls_probe.context(cert=crt.cert, key=crt.key, ca=ca.cert)
            s = ctx.wrap_socket(socket.create_connection((h.LOOP, ports["in0"]), timeout=20),
                                server_hostname="localhost")
            s.settimeout(20)
            return s

        def echo_once(s, seed):
            data = h.pattern_bytes(seed, 4096)
            s.sendall(data)
            got = b""
            while len(got) < len(data):
                b = s.recv(65536)
                if not b:
                    break
                got += b
            return got == data
        stay, late = open_echo(c["ops"]), open_echo(c["late"])
        check(echo_once(stay, 21) and echo_once(late, 22), "the two clients' first echoes")
        m = a.mark()
        pki.crl(ca, [c["late"]])
        rc, out, err = h.run_tether(["reload", "-c", a.cfg_path])
        check(rc == 0, "reload with the new CRL: rc %d: %s %s" % (rc, out, err))
        check("edges: 1 connection closed" in out + err,
              "tether reload does not say an edge connection closed: %s %s" % (out, err))
        a.wait_for("edge_down", since=m, reason="certificate revoked")
        # The revoked client sees an error (reset, no close_notify), never a clean end.
        ended = None
        try:
            late.sendall(h.pattern_bytes(23, 4096))
            b = late.recv(65536)
            ended = "clean end" if b == b"" else "more data"
        except (ssl.SSLError, OSError) as e:
            ended = "error: %s" % type(e).__name__
        late.close()
        check(ended is not None and ended.startswith("error"),
              "the revoked client's connection: %s, want an error" % ended)
        check(echo_once(stay, 24), "the other client's connection after the reload")
        stay.close()
        refused = a.mark()
        try:
            tls_send_recv(ports["in0"], 1024, 25, c["late"].cert, c["late"].key, ca.cert)
        except (ssl.SSLError, OSError):
            pass
        a.wait_for("edge_refused", since=refused, reason="certificate revoked")
        c_still_up("revoking a live edge client")
    env.case("reload with a new CRL resets a revoked client's live edge connection, no other",
             revoke_live)

    def status_and_metrics():
        rc, out, err = h.run_tether(["check", "-c", a.cfg_path])
        check(rc == 0, "tether check failed: %s %s" % (out, err))
        check("edges[0] tls-in" in out and "edges[4] tls-out" in out,
              "tether check does not list the routes: %s" % out)
        check("identity spiffe://plant.example/ops" in out and "names broker.test" in out,
              "tether check does not say what the routes accept: %s" % out)
        rc, out, err = h.run_tether(["status", "-c", a.cfg_path, "--json"])
        check(rc == 0, "tether status: %s %s" % (out, err))
        import json
        doc = json.loads(out)
        e = doc["pools"]["edges"]
        check(e["capacity"] == 64 and e["high_water"] >= 50, "status pools.edges: %s" % e)
        rc, out, err = h.run_tether(["status", "-c", a.cfg_path, "--prometheus"])
        check('tether_pool_capacity{pool="edges"} 64' in out, "metrics lack the edge pool")
        check('tether_edges_ended_total{reason="done"}' in out, "metrics lack edges ended")
        check('tether_handshake_failures_total{reason="unknown_ca"}' in out,
              "edge refusals not in tether_handshake_failures_total")
    env.case("tether check, status and metrics show the routes and the edge pool",
             status_and_metrics)

    for p in procs:
        p.kill()
    for srv in (pyserver, wildserver, ipserver, tls12server):
        srv.close()
    httpd.shutdown()
    env.finish()


if __name__ == "__main__":
    main()
