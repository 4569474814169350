"""Every handshake refusal, each checked three ways:
(a) the connecting client is refused,
(b) A logs event=handshake_fail with the exact reason words,
(c) C's already established session with A stays up and still carries a stream.

The fixture (A listening with a CRL, tls.min_version 1.2 and a 1.5 s handshake
timeout; C dialing A with a forward to A's echo) is built once. Clients are
Python ssl (peers/tls_probe.py), openssl s_client, raw TCP, and tether itself.
The last cases turn it around: a tether node dialing servers with bad
certificates (openssl s_server) must refuse them.
"""

import datetime
import os
import signal
import socket
import subprocess
import time
import types

import harness as h
from harness import check, check_eq

h.sys.path.insert(0, os.path.join(h.HERE, "peers"))
import bad_peer  # noqa: E402
import tls_probe  # noqa: E402

UTC = datetime.timezone.utc


def s_client(port, args, timeout=10.0):
    """Run openssl s_client; returns (refused, detail). Refused = it exited
    non-zero before the timeout (a refused handshake or an alert right after it)."""
    cmd = ["openssl", "s_client", "-connect", "%s:%d" % (h.LOOP, port), "-ign_eof"] + args
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "s_client still connected after %.0fs: not refused (%s)" % (timeout,
                                                                                  " ".join(cmd))
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    errs = [l for l in out.splitlines() if ":error:" in l or "alert" in l or "Cipher is" in l]
    return p.returncode != 0, "rc=%d %s" % (p.returncode, " | ".join(errs[:3]))


def main():
    env = h.Env("reject_tls")
    pki = env.pki
    now = datetime.datetime.now(UTC)
    day = datetime.timedelta(days=1)
    ca = pki.ca("ca")
    evil = pki.ca("evil")
    cert = {}

    def mk():
        cert["good"] = pki.node(ca, "good")
        cert["foreign"] = pki.node(evil, "foreign")
        cert["expired"] = pki.node(ca, "expired", not_before=now - 10 * day, not_after=now - day)
        cert["future"] = pki.node(ca, "future", not_before=now + day, not_after=now + 30 * day)
        cert["stranger"] = pki.node(ca, "stranger")
        cert["pinned"] = pki.node(ca, "pinned")
        cert["pinned-other"] = pki.node(ca, "pinned-other")
        cert["pinok"] = pki.node(ca, "pinok")
        cert["revoked"] = pki.node(ca, "revoked")
        cert["crl"] = pki.crl(ca, [cert["revoked"]])
    env.setup("certificates made (%s)" % pki.tool, mk)

    a = env.node("A", ca=ca, crl=cert["crl"],
                 extra={"tls": {"min_version": "1.2", "handshake_timeout_ms": 1500}})
    c = env.node("C", ca=ca, listen=False)
    a.add_peer(c)
    c.add_peer(a, dial=True)
    # configured peers, so only the one check under test can fail for each
    for n in ("good", "foreign", "expired", "future", "revoked"):
        a.add_peer(n)
    a.add_peer("pinned", pin=pki.pin(cert["pinned-other"]))
    a.add_peer("pinok", pin=pki.pin(cert["pinok"]))
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[c])
    fwd = c.add_forward(a, "echo")

    def start():
        a.start()
        c.start()
        h.wait_session(a, c)
    env.setup("fixture: C's session with A up", start)

    def c_still_up(what):
        downs = a.events("session_down", peer=c.name) + c.events("session_down")
        check(not downs, lambda: "C's session went down after %s: %s" % (what, [d["_line"] for d in downs]))
        res = h.tcp_client(fwd, 256 * 1024, seed=len(what), read_back=True, timeout=20)
        h.check_transfer(res, 256 * 1024, "C's stream after %s" % what, echo=True)

    def rejected(reason, attempt, peer=None):
        m = a.mark()
        refused, detail = attempt()
        check(refused, "client was not refused: %s" % detail)
        ev = a.wait_for("handshake_fail", 5, m)
        check_eq(ev.get("reason"), reason, "handshake_fail reason (%s; client: %s)" % (
            ev["_line"], detail))
        check(ev.get("addr"), "handshake_fail without addr=: %s" % ev["_line"])
        if peer:
            ups = a.events("session_up", m, peer=peer)
            check(not ups, lambda: "A logged session_up for %s: %s" % (peer, ups[0]["_line"]))
        c_still_up("a %r refusal" % reason)

    def accepted(name, tls_version, **tls):
        """A well-behaved peer (valid certificate, valid HELLO) gets a session."""
        m = a.mark()
        r = bad_peer.run(a.port, "hello", cert[name].cert, cert[name].key, ca.cert, name,
                         wait=1.0, **tls)
        check_eq((r.get("hello") or {}).get("name"), "A", "HELLO from A to %s (%s)" % (name, r))
        check(r["goaway"] is None, "A sent GOAWAY to a valid peer: %s" % r)
        up = a.wait_for("session_up", 5, m, peer=name)
        check_eq(up.get("tls"), tls_version, "session_up tls= (%s)" % up["_line"])
        fails = a.events("handshake_fail", m)
        check(not fails, lambda: "handshake_fail for a valid client: %s" % fails[0]["_line"])
        a.wait_for("session_down", 5, m, peer=name)  # the peer hung up

    def probe(name, **kw):
        def attempt():
            kw.setdefault("ca", ca.cert)
            if name:
                kw.setdefault("cert", cert[name].cert)
                kw.setdefault("key", cert[name].key)
            r = tls_probe.probe(a.port, wait=3.0, **kw)
            return r["outcome"] == "refused", "python ssl %s: %s" % (name or "(no cert)", r)
        return attempt

    # controls first: the probes themselves get in when they should
    env.case("control: valid TLS 1.3 peer gets a session", accepted, "good", "1.3")
    env.case("control: valid TLS 1.2 ECDHE-ECDSA-AES128-GCM peer gets a session (min 1.2)",
             accepted, "good", "1.2", tls="1.2", ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    env.case("control: peer with the configured SPKI pin gets a session", accepted, "pinok", "1.3")

    env.case("certificate from another CA -> \"unknown ca\"",
             rejected, "unknown ca", probe("foreign"), "foreign")
    env.case("expired certificate -> \"certificate expired\"",
             rejected, "certificate expired", probe("expired"), "expired")
    env.case("not yet valid certificate -> \"certificate not yet valid\"",
             rejected, "certificate not yet valid", probe("future"), "future")
    env.case("identity not in peers -> \"identity not allowed\"",
             rejected, "identity not allowed", probe("stranger"), "stranger")
    env.case("wrong SPKI pin -> \"pin mismatch\"",
             rejected, "pin mismatch", probe("pinned"), "pinned")
    env.case("revoked by identity.crl -> \"certificate revoked\"",
             rejected, "certificate revoked", probe("revoked"), "revoked")
    env.case("python ssl without client certificate -> \"no client certificate\"",
             rejected, "no client certificate", probe(None))
    env.case("python ssl TLS 1.2 without client certificate -> \"no client certificate\"",
             rejected, "no client certificate", probe(None, tls="1.2"))
    env.case("openssl s_client without -cert -> \"no client certificate\"",
             rejected, "no client certificate",
             lambda: s_client(a.port, ["-CAfile", ca.cert]))
    env.case("openssl s_client -tls1_1 -> \"protocol version\"",
             rejected, "protocol version",
             lambda: s_client(a.port, ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0",
                                       "-CAfile", ca.cert, "-cert", cert["good"].cert,
                                       "-key", cert["good"].key]))
    env.case("openssl s_client -tls1 -> \"protocol version\"",
             rejected, "protocol version",
             lambda: s_client(a.port, ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0",
                                       "-CAfile", ca.cert, "-cert", cert["good"].cert,
                                       "-key", cert["good"].key]))
    env.case("TLS 1.2 CBC suite only -> \"no shared cipher suite or group\"",
             rejected, "no shared cipher suite or group",
             lambda: s_client(a.port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA",
                                       "-CAfile", ca.cert, "-cert", cert["good"].cert,
                                       "-key", cert["good"].key]))

    def silent():
        s = socket.create_connection((h.LOOP, a.port), timeout=5)
        s.settimeout(6)
        t0 = time.monotonic()
        try:
            b = s.recv(100)
            how = "EOF" if not b else "data %r" % b[:20]
        except ConnectionResetError:
            how = "reset"
        except socket.timeout:
            how = None
        finally:
            s.close()
        dt = time.monotonic() - t0
        if how is None:
            return False, "connection still open after 6 s (handshake_timeout_ms 1500)"
        return how in ("EOF", "reset") and dt >= 1.0, "closed by A after %.1fs: %s" % (dt, how)
    env.case("TCP connect, no ClientHello -> \"handshake timeout\"",
             rejected, "handshake timeout", silent)

    # a real tether node as the refused client: it keeps retrying; A keeps refusing
    def tether_client():
        # Its own CA and A's: it would start with its certificate and trusts A; A does not trust it.
        bundle = os.path.join(env.dir, "foreign-bundle.crt")
        with open(bundle, "w") as out:
            for src in (evil.cert, ca.cert):
                with open(src) as f:
                    out.write(f.read())
        x = env.node("foreign", cert=cert["foreign"], ca=types.SimpleNamespace(cert=bundle),
                     listen=False)
        x.add_peer(a, dial=True)
        m = a.mark()
        x.start()
        try:
            ev = a.wait_for("handshake_fail", 5, m)
            check_eq(ev.get("reason"), "unknown ca", "A's handshake_fail reason (%s)" % ev["_line"])
            xf = x.wait_for("handshake_fail", 5)
            check(xf.get("reason"), "the refused tether logs no reason: %s" % xf["_line"])
            check(not x.events("session_up"), "the refused tether logged session_up")
        finally:
            x.stop()
        c_still_up("a refused tether node")
    env.case("tether node with another CA's certificate dials A -> \"unknown ca\"", tether_client)

    # the dialing side checks the server too
    def dialer_checks():
        servers = []
        dcert = pki.node(ca, "D")
        srv = {
            "srv-foreign": (pki.node(evil, "srv-foreign"), "unknown ca"),
            "srv-expired": (pki.node(ca, "srv-expired", not_before=now - 10 * day,
                                     not_after=now - day), "certificate expired"),
            "srv-wrongid": (pki.node(ca, "impostor"), "identity not allowed"),
        }
        d = env.node("D", cert=dcert, ca=ca, listen=False)
        ports = {}
        try:
            for name, (sc, _) in srv.items():
                port = h.free_port()
                ports[name] = port
                p = subprocess.Popen(
                    ["openssl", "s_server", "-accept", "%s:%d" % (h.LOOP, port), "-cert", sc.cert,
                     "-key", sc.key, "-CAfile", ca.cert, "-Verify", "1", "-quiet"],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                servers.append(p)
                h.wait_listening(port, 5, p)
                d.cfg["peers"][name] = {"connect": "%s:%d" % (h.LOOP, port)}
            d.start()
            bad = []
            for name, (_, reason) in srv.items():
                def mine(rec, name=name):
                    return rec.get("peer") == name or rec.get("addr", "").endswith(
                        ":%d" % ports[name])
                deadline = time.monotonic() + 5
                evs = []
                while time.monotonic() < deadline:
                    evs = [e for e in d.events("handshake_fail") if mine(e)]
                    if evs:
                        break
                    time.sleep(0.05)
                if not evs:
                    bad.append("%s: no handshake_fail within 5 s" % name)
                elif evs[0].get("reason") != reason:
                    bad.append("%s: reason %r, expected %r (%s)" % (
                        name, evs[0].get("reason"), reason, evs[0]["_line"]))
            ups = d.events("session_up")
            check(not ups, lambda: "D accepted a bad server: %s" % ups[0]["_line"])
            check(not bad, "dialer-side refusals:\n  " + "\n  ".join(bad) + "\n" + d.tail(20))
        finally:
            if d.running():
                d.stop()
            for p in servers:
                p.kill()
                p.wait(5)
    env.case("dialer refuses servers: other CA, expired, wrong identity", dialer_checks)

    def after_all():
        # every refusal left C alone, and A never crashed
        check(a.running(), "A is not running")
        c_still_up("all refusals")
        check_eq(len(a.events("session_up", peer=c.name)), 1, "C's session_up lines on A")
    env.case("C's session survived every refusal", after_all)

    def counted():
        # every refusal is counted under its reason, and the status says so
        m = a.mark()
        a.send_signal(signal.SIGUSR1)
        a.wait_for("status", 5, m)
        seen = {ev.get("reason"): int(ev.get("count", "0"))
                for ev in a.events("status_reason", m) if ev.get("what") == "handshake"}
        for label in ("unknown_ca", "expired", "not_yet_valid", "identity_not_allowed",
                      "revoked", "no_client_certificate", "tls_version", "no_shared_suite",
                      "handshake_timeout"):
            check(seen.get(label, 0) >= 1, "A's status_reason what=handshake reason=%s: %s"
                  % (label, seen))
        fails = len(a.events("handshake_fail"))
        check_eq(sum(seen.values()), fails, "refusals counted by reason vs handshake_fail lines")
    env.case("every refusal is counted by reason (SIGUSR1 status)", counted)

    env.finish()


if __name__ == "__main__":
    main()
