"""Revocation through the mesh (project issue 7, docs/PROTOCOL.md section 12)
with real processes.

Topology: A, B and C listen; B dials A, C dials B (a chain A-B-C), X dials
A and C. One CA made by `tether pki ca`; every node has its own copy of the
CA's empty CRL (`tether pki crl`, number 1) named in identity.crl.

  revocation  X revoked by `tether pki revoke`; only A's file gets the new
              CRL and A reloads: A closes X at once, B then C fetch it from
              their peer, check it, store it over their own file (B and C log
              crl_received result=stored) and apply it: C, two hops away,
              closes X within a few seconds; C's file is now the revoked CRL
              (openssl reads X's serial in it); the metrics count it; X
              cannot come back
  forged      an OpenSSL CA with the real CA's subject name signs a CRL with a
              higher number (1000); B trusts both CAs (a bundle) and names it
              in identity.crl, so that it would announce and serve it, and A
              and C (trusting only the real CA) would refuse it ("not signed
              by one of our CAs"). B's reload is refused instead (its own
              certificate does not verify with a CRL of its CA's name that its
              CA did not sign): printed as SKIP with that reason, and checked
              that nothing changed anywhere
"""

import os
import re
import shutil
import subprocess
import time

import harness as h
from harness import check, check_eq


def read(path):
    with open(path, "rb") as f:
        return f.read()


def put_file(path, data, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def openssl(*args, stdin=None):
    p = subprocess.run(["openssl"] + list(args), capture_output=True, input=stdin, timeout=30)
    check(p.returncode == 0, "openssl %s: %s" % (" ".join(args), p.stderr.decode()))
    return p.stdout


def crl_der(path):
    return openssl("crl", "-in", path, "-outform", "DER")


def crl_text(path):
    return openssl("crl", "-in", path, "-noout", "-text").decode()


def crl_number(path):
    m = re.search(r"X509v3 CRL Number:\s*\n\s*(\d+)", crl_text(path))
    check(m is not None, "no CRL Number in %s" % path)
    return int(m.group(1))


def crl_serials(path):
    return set(s.upper() for s in re.findall(r"Serial Number:\s*([0-9A-Fa-f]+)", crl_text(path)))


def cert_serial(path):
    out = openssl("x509", "-in", path, "-noout", "-serial").decode().strip()
    return out.split("=", 1)[1].upper()


def subject(path):
    out = openssl("x509", "-in", path, "-noout", "-subject", "-nameopt", "RFC2253").decode()
    return out.strip().split("=", 1)[1]  # "subject=CN=..."


def reload_ok(node, *want):
    rc, out, err = h.run_tether(["reload", "-c", node.cfg_path], timeout=20)
    check(rc == 0, "tether reload of %s: exit %d\nstdout: %s\nstderr: %s" % (node.name, rc, out, err))
    for w in want:
        check(w in out, "tether reload of %s: %r not printed; stdout:\n%s" % (node.name, w, out))
    return out


def metric(node, name, **labels):
    rc, out, err = h.run_tether(["status", "-c", node.cfg_path, "--prometheus"])
    check_eq(rc, 0, "tether status --prometheus of %s (stderr %s)" % (node.name, err))
    want = name + ("{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
                   if labels else "")
    for line in out.splitlines():
        if line.startswith(want + " "):
            return int(float(line.split()[-1]))
    raise h.Failure("%s: no metric %s in:\n%s" % (node.name, want, out))


def no_events(node, event, since, what, **match):
    ev = node.events(event, since, **match)
    check(not ev, lambda: "%s: %s: %s" % (node.name, what, [e["_line"] for e in ev]))


def main():
    env = h.Env("crl_mesh", budget=float(os.environ.get("TETHER_TEST_TIMEOUT", "180")))
    ca = env.pki.ca("ca", tool="tether")
    ca_dir = ca.raw.dir
    rc, out, err = h.run_tether(["pki", "crl", "--ca", ca_dir])
    check_eq(rc, 0, "tether pki crl (stderr %s)" % err)
    empty = os.path.join(ca_dir, "ca.crl")
    check_eq(crl_number(empty), 1, "the number of the empty CRL")

    a = env.node("A", ca=ca)
    b = env.node("B", ca=ca)
    c = env.node("C", ca=ca)
    x = env.node("X", ca=ca, listen=False)
    b.add_peer(a, dial=True)
    a.add_peer(b)
    c.add_peer(b, dial=True)
    b.add_peer(c)
    x.add_peer(a, dial=True)
    x.add_peer(c, dial=True)
    a.add_peer(x)
    c.add_peer(x)
    crl = {}
    for n in (a, b, c, x):
        crl[n.name] = os.path.join(n.dir, "crl.pem")
        shutil.copyfile(empty, crl[n.name])
        n.cfg["identity"]["crl"] = n.rel(crl[n.name])
        n.cfg["status"] = os.path.join(env.dir, n.name + ".sock")
        n.cfg["reload"] = {"watch_s": 0}

    def start():
        for n in (a, b, c, x):
            n.start()
        h.wait_session(a, b)
        h.wait_session(b, c)
        h.wait_session(a, x)
        h.wait_session(c, x)
        for n in (a, b, c, x):
            no_events(n, "crl_received", 0, "a CRL taken while everybody holds number 1")
    env.setup("A-B-C in a chain, X on A and C, every node with CRL number 1", start)

    x_serial = cert_serial(x.cert.cert)
    revoked = {}

    def revocation():
        rc, out, err = h.run_tether(["pki", "revoke", "--ca", ca_dir, "--cert", x.cert.cert])
        check_eq(rc, 0, "tether pki revoke (stderr %s)" % err)
        revoked["path"] = os.path.join(env.dir, "revoked.crl")
        shutil.copyfile(empty, revoked["path"])  # ca.crl now holds the revoked CRL
        check_eq(crl_number(revoked["path"]), 2, "the revoked CRL's number")
        check(x_serial in crl_serials(revoked["path"]), "X's serial not in the revoked CRL")
        marks = {n.name: n.mark() for n in (a, b, c, x)}
        put_file(crl[a.name], read(revoked["path"]))
        t0 = time.monotonic()
        reload_ok(a, "changed: identity.crl")
        down = a.wait_for("session_down", 2, marks["A"], peer="X")
        check_eq(down["reason"], "certificate revoked", "why A closed X")
        # B then C take it from their peer, and C (two hops away) closes X.
        sb = b.wait_for("crl_received", 5, marks["B"])
        sc = c.wait_for("crl_received", 5, marks["C"])
        down = c.wait_for("session_down", 5, marks["C"], peer="X")
        spent = time.monotonic() - t0
        check(spent < 5, "C closed X %.1fs after A's reload" % spent)
        check_eq(down["reason"], "certificate revoked", "why C closed X")
        for rec, peer in ((sb, "A"), (sc, "B")):
            check_eq(rec["result"], "stored", "crl_received result: " + rec["_line"])
            check_eq(rec["peer"], peer, "crl_received peer: " + rec["_line"])
            check_eq(rec["number"], "0x02", "crl_received number: " + rec["_line"])
        # The files on disk are the revoked CRL.
        for n in (b, c):
            check_eq(crl_der(crl[n.name]), crl_der(revoked["path"]),
                     "%s's CRL file (DER) against the revoked CRL" % n.name)
            check(x_serial in crl_serials(crl[n.name]), "X's serial not in %s's file" % n.name)
            check_eq(crl_number(crl[n.name]), 2, "%s's CRL number" % n.name)
            check_eq(metric(n, "tether_crls_received_total", result="stored"), 1,
                     "%s's crls received (stored)" % n.name)
            check_eq(metric(n, "tether_crls_received_total", result="refused"), 0,
                     "%s's crls received (refused)" % n.name)
        check_eq(metric(a, "tether_crls_received_total", result="stored"), 0,
                 "A's crls received (it was given its CRL)")
        check_eq(crl_number(crl[x.name]), 1, "X's own CRL number (nobody talks to X)")
        # X cannot come back.
        a.wait_for("handshake_fail", 5, marks["A"], reason="certificate revoked")
        c.wait_for("handshake_fail", 5, marks["C"], reason="certificate revoked")
        for n in (a, c):
            no_events(n, "session_up", marks[n.name], "X came back", peer="X")
        # The chain itself is untouched.
        no_events(a, "session_down", marks["A"], "A's session with B ended", peer="B")
        no_events(b, "session_down", marks["B"], "a session of B ended")
        no_events(c, "session_down", marks["C"], "C's session with B ended", peer="B")
    env.case("X revoked on A only: A closes X, B then C store the CRL, C closes X "
             "(two hops), the files are the revoked CRL, X stays out", revocation)

    def forged():
        check("path" in revoked, "needs the revocation case")
        real_subject = subject(ca.cert)
        cn = real_subject.split("CN=", 1)[1]
        forge = env.pki.ca("forge", tool="openssl", subject="/CN=%s" % cn)
        check_eq(subject(forge.cert), real_subject, "the forged CA's subject")
        path = env.pki.crl(forge, [], out=os.path.join(env.dir, "forged.crl"))
        check(crl_number(path) > 2, "the forged CRL's number %d is not higher" % crl_number(path))
        check_eq(openssl("crl", "-in", path, "-noout", "-issuer", "-nameopt", "RFC2253")
                 .decode().strip().split("=", 1)[1], real_subject, "the forged CRL's issuer")
        bundle = os.path.join(b.dir, "bundle.pem")
        put_file(bundle, read(ca.cert) + read(forge.cert))
        good = read(crl[b.name])
        put_file(crl[b.name], read(path))
        b.cfg["identity"]["ca"] = b.rel(bundle)
        b.write_config()
        before = {n.name: read(crl[n.name]) for n in (a, c)}
        marks = {n.name: n.mark() for n in (a, b, c)}
        rc, out, err = h.run_tether(["reload", "-c", b.cfg_path], timeout=20)
        if rc == 2 and "The CRL is not correctly signed by the trusted CA" in err:
            # B's own certificate chains to the real CA, and mbedTLS applies every CRL
            # whose issuer name matches a CA of the chain: the forged one fails its
            # signature there, so tether refuses B's config (as check and run do). A
            # tether node can hold the forged CRL only with a certificate from the forging
            # CA, which A and C (trusting only the real CA) refuse at the handshake; the
            # forged CRL reaches them only from a peer that is not tether (crl_judge's
            # refusal is covered by unit.crlmesh, test_twin_ca).
            print("SKIP a forged CRL served by B: not constructible with tether nodes: "
                  "B's reload is refused: %s" % err.strip().splitlines()[0], flush=True)
            b.wait_for("reload", 2, marks["B"], result="failed")
            # Time passes by an event: X's next refused handshake at A and at C.
            for n in (a, c):
                n.wait_for("handshake_fail", 5, n.mark(), reason="certificate revoked")
            for n in (a, c):
                check_eq(read(crl[n.name]), before[n.name], "%s's CRL file" % n.name)
                no_events(n, "crl_received", marks[n.name], "%s took a CRL" % n.name)
                no_events(n, "session_down", marks[n.name], "a session of %s ended" % n.name,
                          peer="B")
            no_events(b, "session_down", marks["B"], "a session of B ended")
            # Put B back as it was.
            put_file(crl[b.name], good)
            b.cfg["identity"]["ca"] = b.rel(ca.cert)
            b.write_config()
            reload_ok(b)
            return
        check(rc == 0, "tether reload of B: exit %d\nstdout: %s\nstderr: %s" % (rc, out, err))
        for n in (a, c):
            rec = n.wait_for("crl_received", 5, marks[n.name], peer="B")
            check_eq(rec["result"], "refused", "%s: %s" % (n.name, rec["_line"]))
            check_eq(rec.get("reason"), "not signed by one of our CAs",
                     "%s's reason: %s" % (n.name, rec["_line"]))
        # Let time pass by an event: X's next refused handshake after the refusal.
        for n in (a, c):
            n.wait_for("handshake_fail", 5, n.mark(), reason="certificate revoked")
        for n in (a, c):
            check_eq(read(crl[n.name]), before[n.name], "%s's CRL file after the forgery" % n.name)
            check_eq(metric(n, "tether_crls_received_total", result="refused"), 1,
                     "%s's crls refused" % n.name)
            no_events(n, "session_down", marks[n.name], "a session of %s ended" % n.name,
                      peer="B")
            check_eq(len(n.events("crl_received", marks[n.name])), 1,
                     "%s: crl_received lines after the forgery" % n.name)
        no_events(b, "session_down", marks["B"], "a session of B ended")
    env.case("a forged CRL (an OpenSSL CA of the same name, number 1000) named by B: refused "
             "(by B's reload, or by A and C if served), nothing else changes", forged)

    env.finish()


if __name__ == "__main__":
    main()
