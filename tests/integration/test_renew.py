"""Renewal through the mesh (project issue 10, docs/PROTOCOL.md section 13)
with real processes.

PKI: an OpenSSL root (the only CA every node trusts) and an intermediate
"issuing" CA under it. Every node certificate is signed by the intermediate
(its file: leaf then intermediate). The hub holds the intermediate's cert and
key as "issuer" (days 1, allow gw1, gw2, gw3); gw1..gw3 and gwx have
"renew": {"peer": "hub"}; gwx is not in allow. gw1..gw3 start with
certificates that have less than a third of their life left, so each renews
by itself at start.

  automatic     each gateway renews at start without being asked
  streams       three more renewals of every gateway by `tether renew` while
                an echo stream per gateway carries data: every byte comes back
                exact, no stream is reset, the certificates change each time
  not allowed   gwx asks: refused with the reason in words (exit 1), its
                files untouched, the hub counts the refusal
  unreachable   the hub stops: gw2's renewal fails ("issuer unreachable"),
                status shows the failure; the hub comes back: gw2 renews by
                itself as soon as its session is up again
  files         key files mode 0600 (new and .prev), the .prev pair is the one
                before, each renewal a new key, and the key matches its cert
  openssl       every issued certificate verifies against the root with
                `openssl verify`; same subject and SANs as the original,
                CA:FALSE, the original's key usage and extended key usage,
                validity within the intermediate's
  rate limit    (last) four renewals of gw1 in a row, then a fifth: refused,
                rate limited (a burst of 4 per peer)
(A CSR for another identity is refused by the issuer: unit.renew drives
issue_sign() with forged CSRs.)
"""

import hashlib
import json
import os
import re
import socket
import stat
import subprocess
import threading
import time

import harness as h
from harness import check, check_eq


def openssl(*args):
    p = subprocess.run(["openssl"] + list(args), capture_output=True, timeout=30)
    check(p.returncode == 0, "openssl %s: %s" % (" ".join(args), p.stderr.decode()))
    return p.stdout.decode()


def first_pem(path):
    with open(path) as f:
        text = f.read()
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----\n")
    return text[:end]


def cert_text(pem_path):
    return openssl("x509", "-in", pem_path, "-noout", "-text", "-nameopt", "RFC2253")


def field(text, name):
    m = re.search(r"%s:.*\n\s*(.*)\n" % re.escape(name), text)
    return m.group(1).strip() if m else None


def serial(pem_path):
    return openssl("x509", "-in", pem_path, "-noout", "-serial").strip().split("=", 1)[1]


def metric(node, name, **labels):
    rc, out, err = h.run_tether(["status", "-c", node.cfg_path, "--prometheus"])
    check_eq(rc, 0, "tether status --prometheus of %s (stderr %s)" % (node.name, err))
    want = name + ("{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
                   if labels else "")
    for line in out.splitlines():
        if line.startswith(want + " "):
            return int(float(line.split()[-1]))
    raise h.Failure("%s: no metric %s in:\n%s" % (node.name, want, out))


def identity_left(n):
    rc, out, err = h.run_tether(["status", "-c", n.cfg_path, "--prometheus"])
    m = re.search(r'tether_cert_expiry_seconds\{cert="identity"[^}]*\} (-?\d+)', out)
    check(m is not None, "%s: no identity expiry metric in:\n%s" % (n.name, out))
    return int(m.group(1))


class Streamer:
    """One echo stream through a forward, fed in small chunks until stopped."""

    def __init__(self, port, seed):
        self.sock = socket.create_connection((h.LOOP, port), timeout=20)
        self.seed = seed
        self.sent = hashlib.sha256()
        self.got = hashlib.sha256()
        self.n_sent = 0
        self.n_got = 0
        self.error = None
        self.stop = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.writer = threading.Thread(target=self._write, daemon=True)
        self.reader.start()
        self.writer.start()

    def _write(self):
        i = 0
        try:
            while not self.stop.is_set():
                chunk = hashlib.sha256(b"%d-%d" % (self.seed, i)).digest() * 512  # 16 KiB
                self.sock.sendall(chunk)
                self.sent.update(chunk)
                self.n_sent += len(chunk)
                i += 1
                time.sleep(0.02)
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            self.error = "send: %s" % e

    def _read(self):
        try:
            while True:
                b = self.sock.recv(65536)
                if not b:
                    return
                self.got.update(b)
                self.n_got += len(b)
        except OSError as e:
            self.error = "recv: %s" % e

    def finish(self, what):
        self.stop.set()
        self.writer.join(20)
        self.reader.join(20)
        self.sock.close()
        check(self.error is None, "%s: %s" % (what, self.error))
        check(self.n_sent > 0, "%s: nothing sent" % what)
        check_eq(self.n_got, self.n_sent, "%s: bytes echoed" % what)
        check_eq(self.got.hexdigest(), self.sent.hexdigest(), "%s: SHA-256 of the echo" % what)
        return self.n_sent


def main():
    env = h.Env("renew", budget=float(os.environ.get("TETHER_TEST_TIMEOUT", "240")))
    g = h.gen_certs()
    root = env.pki.ca("root", tool="openssl")
    issuing_raw = g.make_intermediate(root.raw, "issuing", days=30)
    issuing = h.CA(issuing_raw, "issuing")
    os.chmod(issuing_raw.key, 0o600)
    now = int(time.time())

    hub = env.node("hub", cert=env.pki.node(issuing, "hub", tool="openssl",
                                            uri="spiffe://test.example/hub"), ca=root)
    gws = []
    for i in (1, 2, 3):
        name = "gw%d" % i
        # Less than a third of its life left: due for renewal at once.
        cert = env.pki.node(issuing, name, tool="openssl", uri="spiffe://test.example/" + name,
                            dns=name + ".test.example", not_after=now + 120)
        gws.append(env.node(name, cert=cert, ca=root, listen=False))
    gwx = env.node("gwx", cert=env.pki.node(issuing, "gwx", tool="openssl", dns="gwx.test"),
                   ca=root, listen=False)
    echo = env.server(h.EchoServer())
    everyone = gws + [gwx]
    hub.add_service("echo", echo, allow=everyone)
    hub.cfg["issuer"] = {"cert": hub.rel(issuing_raw.crt), "key": hub.rel(issuing_raw.key),
                         "days": 1, "allow": [n.name for n in gws]}
    hub.cfg["status"] = os.path.join(env.dir, "hub.sock")
    hub.cfg["reload"] = {"watch_s": 0}
    fwd = {}
    originals = {}
    for n in everyone:
        hub.add_peer(n)
        n.add_peer(hub, dial=True)
        n.cfg["renew"] = {"peer": "hub"}
        n.cfg["status"] = os.path.join(env.dir, n.name + ".sock")
        n.cfg["reload"] = {"watch_s": 0}
        fwd[n.name] = n.add_forward(hub, "echo")
        originals[n.name] = cert_text(n.cert.cert)
    issued = []  # every certificate the hub signed, as PEM files

    def take(n, tag):
        path = os.path.join(env.dir, "%s-%s.pem" % (n.name, tag))
        with open(path, "w") as f:
            f.write(first_pem(n.cert.cert))
        issued.append((n, path))
        return path

    def start():
        hub.start()
        for n in everyone:
            n.start()
        for n in everyone:
            h.wait_session(hub, n)
    env.setup("a hub issuing for gw1..gw3; gwx not allowed; every gateway renews through hub",
              start)

    def automatic():
        for n in gws:
            rec = n.wait_for("renewed", 20, 0)
            check_eq(rec["peer"], "hub", "renewed through: " + rec["_line"])
            take(n, "auto")
        check_eq(metric(hub, "tether_certs_issued_total"), 3, "hub's issued count")
        for n in gws:
            check_eq(metric(n, "tether_renewals_total", result="ok"), 1, n.name + " renewals ok")
            left = identity_left(n)
            check(left > 20 * 3600, "%s: %ds left after renewal (days 1)" % (n.name, left))
            nxt = metric(n, "tether_renew_next_seconds")
            check(8 * 3600 < nxt <= 16 * 3600 + 60,
                  "%s: next renewal in %ds (a third of a day left, less jitter)" % (n.name, nxt))
        for n in gws + [hub]:
            peak = metric(n, "tether_tls_heap_bytes", kind="peak")
            size = metric(n, "tether_tls_heap_bytes", kind="size")
            check(0 < peak < size, "%s: TLS heap peak %d of %d" % (n.name, peak, size))
            print("     %s: TLS heap peak %d of %d bytes" % (n.name, peak, size), flush=True)
    env.case("gw1..gw3 renew by themselves at start (less than a third of life left)",
             automatic)

    def streams():
        st = {n.name: Streamer(fwd[n.name], i) for i, n in enumerate(gws)}
        marks = {n.name: n.mark() for n in gws + [hub]}
        for cycle in (1, 2, 3):
            for n in gws:
                before = serial(n.cert.cert)
                rc, out, err = h.run_tether(["renew", "-c", n.cfg_path], timeout=20)
                check(rc == 0, "cycle %d: tether renew of %s: exit %d\nstdout: %s\nstderr: %s"
                      % (cycle, n.name, rc, out, err))
                check("renewed through hub" in out, "tether renew printed: %r" % out)
                check(serial(n.cert.cert) != before, "%s: the certificate did not change"
                      % n.name)
                take(n, "cycle%d" % cycle)
            time.sleep(0.5)
        time.sleep(1.0)
        total = 0
        for n in gws:
            total += st[n.name].finish("%s's echo stream" % n.name)
        for n in gws + [hub]:
            ev = n.events("stream_end", marks[n.name])
            bad = [e["_line"] for e in ev if e.get("result", "ok") not in ("ok", "closed")
                   and "reset" in e["_line"]]
            check(not bad, "%s: streams reset during renewals: %s" % (n.name, bad))
        check_eq(metric(hub, "tether_certs_issued_total"), 12, "hub's issued count")
        print("     streams carried %d bytes byte-exact through 9 renewals" % total, flush=True)
    env.case("three renewals of each gateway by `tether renew` while echo streams run: "
             "byte-exact, nothing reset", streams)

    def not_allowed():
        before = open(gwx.cert.cert).read()
        mark = hub.mark()
        rc, out, err = h.run_tether(["renew", "-c", gwx.cfg_path], timeout=20)
        check_eq(rc, 1, "tether renew of gwx (stdout %r, stderr %r)" % (out, err))
        check("not allowed" in err and "issuer.allow" in err,
              "the refusal's words: %r" % err)
        rec = hub.wait_for("renew_refused", 5, mark, peer="gwx")
        check_eq(rec["kind"], "not_allowed", rec["_line"])
        check_eq(metric(hub, "tether_renew_refused_total", reason="not_allowed"), 1,
                 "hub's not_allowed refusals")
        check_eq(open(gwx.cert.cert).read(), before, "gwx's certificate file")
        check(not os.path.exists(gwx.cert.cert + ".next"), "gwx has a .next file")
        rc, out, err = h.run_tether(["status", "-c", gwx.cfg_path, "--json"])
        doc = json.loads(out)
        check("not allowed" in doc["renew"]["last_error"], "gwx status: %r" % doc["renew"])
        check(doc["renew"]["failed"] >= 1, "gwx status: %r" % doc["renew"])
    env.case("gwx (not in issuer.allow) is refused with the reason; nothing changes",
             not_allowed)

    def unreachable():
        n = gws[1]
        hub.stop()
        n.wait_for("session_down", 10, 0, peer="hub")
        mark = n.mark()
        rc, out, err = h.run_tether(["renew", "-c", n.cfg_path], timeout=20)
        check_eq(rc, 1, "renewal with the hub down (stdout %r, stderr %r)" % (out, err))
        check("issuer unreachable" in err, "the failure's words: %r" % err)
        rc, out, err = h.run_tether(["status", "-c", n.cfg_path])
        check("issuer unreachable" in out, "the status table: %s" % out)
        check_eq(metric(n, "tether_renewals_total", result="failed"), 1, "gw2's failures")
        before = serial(n.cert.cert)
        hub.start()
        rec = n.wait_for("renewed", 20, mark)
        check(serial(n.cert.cert) != before, "gw2's certificate did not change")
        take(n, "catchup")
        h.wait_session(hub, gws[0], since_a=hub.start_mark)
    env.case("the hub down: gw2's renewal fails (issuer unreachable) and shows in status; "
             "the hub back: gw2 renews as soon as its session is up", unreachable)

    def files():
        for n in gws:
            for p in (n.cert.key, n.cert.key + ".prev"):
                mode = stat.S_IMODE(os.stat(p).st_mode)
                check_eq(oct(mode), oct(0o600), "mode of " + p)
            check(not os.path.exists(n.cert.key + ".next"), n.name + ": key.next left behind")
            check(os.path.exists(n.cert.cert + ".prev"), n.name + ": no cert.prev")
            prev_pub = openssl("pkey", "-in", n.cert.key + ".prev", "-pubout")
            cur_pub = openssl("pkey", "-in", n.cert.key, "-pubout")
            check(prev_pub != cur_pub, n.name + ": the key did not change")
            check_eq(openssl("x509", "-in", n.cert.cert, "-noout", "-pubkey"), cur_pub,
                     n.name + ": the certificate's key against the key file")
            check_eq(openssl("x509", "-in", n.cert.cert + ".prev", "-noout", "-pubkey"),
                     prev_pub, n.name + ": the .prev pair")
            # The chain file still carries the intermediate after the leaf.
            with open(n.cert.cert) as f:
                check_eq(f.read().count("BEGIN CERTIFICATE"), 2, n.name + ": certificates "
                         "in the file")
        keys = set()
        for n, path in issued:
            keys.add(openssl("x509", "-in", path, "-noout", "-pubkey"))
        check_eq(len(keys), len(issued), "distinct keys among the issued certificates")
    env.case("files: keys 0600 (new and .prev), .prev is the pair before, a new key each "
             "time", files)

    def verify():
        int_end = field(cert_text(issuing_raw.crt), "Not After ") or \
            re.search(r"Not After : (.*)", cert_text(issuing_raw.crt)).group(1)
        check_eq(len(issued), 3 + 9 + 1, "issued certificates collected")
        for n, path in issued:
            out = openssl("verify", "-CAfile", root.cert, "-untrusted", issuing_raw.crt,
                          "-purpose", "sslclient", path)
            check(out.strip().endswith("OK"), "openssl verify %s: %s" % (path, out))
            t, o = cert_text(path), originals[n.name]
            for what in ("Subject:", "X509v3 Subject Alternative Name:",
                         "X509v3 Key Usage:", "X509v3 Extended Key Usage:"):
                if what == "Subject:":
                    a = re.search(r"Subject: (.*)", t).group(1)
                    b = re.search(r"Subject: (.*)", o).group(1)
                else:
                    a, b = field(t, what[:-1]), field(o, what[:-1])
                check_eq(a, b, "%s %s: %s" % (n.name, path, what))
            check("CA:FALSE" in t, "%s: not CA:FALSE" % path)
            na = re.search(r"Not After : (.*)", t).group(1)
            rc = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-checkend",
                                 str(20 * 3600)], capture_output=True).returncode
            check_eq(rc, 0, "%s expires within 20 h (%s)" % (path, na))
            rc = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-checkend",
                                 str(24 * 3600 + 120)], capture_output=True).returncode
            check_eq(rc, 1, "%s outlives days 1 (%s; intermediate %s)" % (path, na, int_end))
        print("     openssl verified %d issued certificates" % len(issued), flush=True)
    env.case("openssl verifies every issued certificate against the root; identity, usages "
             "and CA:FALSE as the original's", verify)

    def rate_limit():
        # The hub restarted (unreachable case): its rate limits started over.
        n = gws[0]
        for i in range(4):
            rc, out, err = h.run_tether(["renew", "-c", n.cfg_path], timeout=20)
            check_eq(rc, 0, "renewal %d of gw1 within the burst (stderr %r)" % (i + 1, err))
        rc, out, err = h.run_tether(["renew", "-c", n.cfg_path], timeout=20)
        check_eq(rc, 1, "a fifth renewal of gw1 (stdout %r, stderr %r)" % (out, err))
        check("rate limited" in err, "the refusal's words: %r" % err)
        check_eq(metric(hub, "tether_renew_refused_total", reason="rate_limited"), 1,
                 "hub's rate_limited refusals")
    env.case("four renewals in a row, then a fifth is refused: rate limited", rate_limit)

    env.finish()


if __name__ == "__main__":
    main()
