"""tether pki against OpenSSL: certificates made by each tool are checked by the
other (gen_certs.selftest), `tether pki` reports usage errors with exit 2, and
CRLs made by `tether pki revoke` / `tether pki crl` are verified by openssl
(signature, entries, CRL Number, `openssl verify -crl_check`), also on top of a
CRL openssl made."""

import calendar
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen_certs  # noqa: E402


def run(*args):
    return subprocess.run([os.environ["TETHER"], "pki"] + list(args), capture_output=True,
                          text=True, timeout=60)


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=60)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        print("%s %s%s" % ("ok  " if cond else "FAIL", what,
                           "" if cond or not detail else "\n     " + detail.strip()[:2000]))
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        return cond


def serial_of(cert):
    """The certificate's serial as openssl prints it in a CRL: upper-case hex."""
    r = openssl("x509", "-in", cert, "-noout", "-serial")
    return r.stdout.strip().split("=", 1)[1].upper()


def crl_text(ca_dir):
    """`openssl crl -CAfile ca.crt -noout -text` of ca_dir/ca.crl: (verified, text)."""
    r = openssl("crl", "-in", os.path.join(ca_dir, "ca.crl"), "-CAfile",
                os.path.join(ca_dir, "ca.crt"), "-noout", "-text")
    return r.returncode == 0 and "verify OK" in r.stderr, r.stdout + r.stderr


def crl_number(text):
    m = re.search(r"X509v3 CRL Number:\s*\n\s*(\S+)", text)
    if not m:
        return None
    v = m.group(1)
    return int(v, 16) if v.lower().startswith("0x") else int(v)


def crl_serials(text):
    return re.findall(r"Serial Number: ([0-9A-F]+)", text)


def verify(ca_dir, cert):
    r = openssl("verify", "-crl_check", "-CAfile", os.path.join(ca_dir, "ca.crt"), "-CRLfile",
                os.path.join(ca_dir, "ca.crl"), cert)
    return r.returncode == 0, (r.stdout + r.stderr)


def check_crl(c, ca_dir, number, serials, tag):
    ok, text = crl_text(ca_dir)
    c.check(ok, "%s: openssl verifies the CRL's signature with ca.crt" % tag, text)
    c.check(crl_number(text) == number, "%s: X509v3 CRL Number is %d" % (tag, number), text)
    got = crl_serials(text)
    c.check(sorted(got) == sorted(serials), "%s: the CRL lists exactly %s" % (tag, serials),
            "got %s" % got)
    c.check("Version 2" in text and "ecdsa-with-SHA256" in text,
            "%s: a v2 CRL signed ecdsa-with-SHA256" % tag, text)


def refuse(c, args, words, what):
    r = run(*args)
    c.check(r.returncode == 2 and words in r.stderr,
            "%s -> exit %d (want 2, \"%s\")" % (what, r.returncode, words),
            r.stdout + r.stderr)


def crl_tests(c, folder):
    ca = os.path.join(folder, "crl-ca")
    nodes = os.path.join(folder, "crl-nodes")
    other = os.path.join(folder, "crl-other")
    r = run("ca", "--out", ca, "--cn", "CRL test CA")
    r2 = run("ca", "--out", other, "--cn", "Other CA")
    if not c.check(r.returncode == 0 and r2.returncode == 0, "tether pki ca (twice)",
                   r.stderr + r2.stderr):
        return
    for n in ("gw-01", "gw-02", "gw-03"):
        r = run("issue", "--ca", ca, "--name", n, "--out", nodes)
        c.check(r.returncode == 0, "tether pki issue %s" % n, r.stderr)
    r = run("issue", "--ca", other, "--name", "stranger", "--out", nodes)
    c.check(r.returncode == 0, "tether pki issue stranger (other CA)", r.stderr)
    gw1, gw2, gw3 = (os.path.join(nodes, n + ".crt") for n in ("gw-01", "gw-02", "gw-03"))
    s1, s2 = serial_of(gw1), serial_of(gw2)
    crl = os.path.join(ca, "ca.crl")

    # Revocation before any CRL exists: created, number 1.
    r = run("revoke", "--ca", ca, "--cert", gw1)
    c.check(r.returncode == 0 and "crl number:  1" in r.stdout and "CN=gw-01" in r.stdout,
            "revoke gw-01: exit 0, says subject and CRL number 1", r.stdout + r.stderr)
    c.check(os.path.exists(crl) and (os.stat(crl).st_mode & 0o777) == 0o644,
            "ca.crl written with mode 0644")
    c.check(not os.path.exists(crl + ".tmp"), "no ca.crl.tmp left behind")
    check_crl(c, ca, 1, [s1], "first revoke")

    # A second revocation keeps the first and bumps the number.
    r = run("revoke", "--ca", ca, "--cert", gw2, "--days", "7")
    c.check(r.returncode == 0 and "crl number:  2" in r.stdout, "revoke gw-02 --days 7",
            r.stdout + r.stderr)
    check_crl(c, ca, 2, [s1, s2], "second revoke")
    r = openssl("crl", "-in", crl, "-noout", "-nextupdate")
    m = re.search(r"nextUpdate=(.*GMT)", r.stdout)
    nxt = calendar.timegm(time.strptime(m.group(1), "%b %d %H:%M:%S %Y GMT")) if m else 0
    c.check(abs(nxt - (time.time() + 7 * 86400)) < 300, "next update is 7 days from now",
            r.stdout + r.stderr)

    for cert, name in ((gw1, "gw-01"), (gw2, "gw-02")):
        ok, out = verify(ca, cert)
        c.check(not ok and "revoked" in out, "openssl verify -crl_check: %s revoked" % name,
                out)
    ok, out = verify(ca, gw3)
    c.check(ok and "OK" in out, "openssl verify -crl_check: gw-03 OK", out)

    # pki crl: same entries, number + 1.
    r = run("crl", "--ca", ca)
    c.check(r.returncode == 0 and "crl number:  3" in r.stdout, "pki crl: exit 0, number 3",
            r.stdout + r.stderr)
    check_crl(c, ca, 3, [s1, s2], "pki crl")

    # Revoking again: kept once, the number still goes up, and it says so.
    r = run("revoke", "--ca", ca, "--cert", gw1)
    c.check(r.returncode == 0 and "already" in r.stdout and "crl number:  4" in r.stdout,
            "revoke gw-01 again: says already revoked, number 4", r.stdout + r.stderr)
    check_crl(c, ca, 4, [s1, s2], "revoke again")

    # pki show reads it back.
    r = run("show", crl)
    c.check(r.returncode == 0 and "crl number:  4" in r.stdout and "revoked:     2" in r.stdout
            and "CN=CRL test CA" in r.stdout, "pki show ca.crl", r.stdout + r.stderr)

    # Refusals: exit 2, a clear message, and ca.crl untouched.
    with open(crl, "rb") as f:
        before = f.read()
    stranger = os.path.join(nodes, "stranger.crt")
    refuse(c, ["revoke", "--ca", ca, "--cert", stranger], "was not issued by",
           "revoke a certificate of another CA")
    refuse(c, ["revoke", "--ca", ca, "--cert", os.path.join(ca, "ca.crt")],
           "the CA certificate itself", "revoke the CA itself")
    refuse(c, ["revoke", "--ca", ca, "--cert", os.path.join(nodes, "none.crt")],
           "No such file", "revoke a missing certificate")
    refuse(c, ["revoke", "--ca", os.path.join(folder, "no-ca"), "--cert", gw3],
           "No such file", "revoke with a missing CA folder")
    refuse(c, ["revoke", "--ca", ca, "--cert", os.path.join(ca, "ca.key")],
           "not a certificate", "revoke a key file")
    for days in ("0", "-1", "abc", "100001", ""):
        refuse(c, ["revoke", "--ca", ca, "--cert", gw3, "--days", days], "--days",
               "revoke --days '%s'" % days)
    refuse(c, ["crl", "--ca", ca, "--days", "x"], "--days", "crl --days x")
    refuse(c, ["revoke", "--ca", ca], "--cert FILE is required", "revoke without --cert")
    refuse(c, ["crl"], "--ca DIR is required", "crl without --ca")
    refuse(c, ["crl", "--ca", ca, "--cert", gw3], "unexpected argument", "crl --cert")
    with open(crl, "rb") as f:
        c.check(f.read() == before, "ca.crl unchanged by the refusals")

    # A CRL signed by another CA in the folder: refused, left as it is.
    r = run("crl", "--ca", other)
    c.check(r.returncode == 0, "pki crl for the other CA", r.stderr)
    shutil.copy(os.path.join(other, "ca.crl"), crl)
    refuse(c, ["revoke", "--ca", ca, "--cert", gw3], "not signed by",
           "revoke with another CA's CRL in the folder")
    refuse(c, ["crl", "--ca", ca], "not signed by", "crl with another CA's CRL in the folder")
    with open(crl, "w") as f:
        f.write("not a CRL\n")
    refuse(c, ["crl", "--ca", ca], "not a CRL", "crl with garbage in ca.crl")
    with open(crl, "wb") as f:
        f.write(before)
    os.rename(os.path.join(ca, "ca.key"), os.path.join(ca, "ca.key.away"))
    refuse(c, ["crl", "--ca", ca], "ca.key", "crl without ca.key")
    os.rename(os.path.join(ca, "ca.key.away"), os.path.join(ca, "ca.key"))

    # On top of a CRL openssl made (its number is 0x1000; a full DN, PrintableString C).
    try:
        oca = gen_certs.make_ca(folder, "ossl-ca", tool="openssl",
                                subject="/C=DE/O=Example Plant/CN=Plant CA")
        a = gen_certs.make_node(oca, "a", tool="openssl")
        b = gen_certs.make_node(oca, "b", tool="tether")
        d = gen_certs.make_node(oca, "d", tool="tether")
        gen_certs.make_crl(oca, revoked=[a])
    except gen_certs.ToolError as e:
        c.check(False, "openssl CA, nodes and CRL", str(e))
        return
    r = run("revoke", "--ca", oca.dir, "--cert", b.crt)
    c.check(r.returncode == 0 and "crl number:  4097" in r.stdout,
            "revoke on top of openssl's CRL: number 0x1000 + 1", r.stdout + r.stderr)
    check_crl(c, oca.dir, 4097, [serial_of(a.crt), serial_of(b.crt)], "openssl CA")
    for node, want in ((a, False), (b, False), (d, True)):
        ok, out = verify(oca.dir, node.crt)
        c.check(ok == want, "openssl verify -crl_check %s: %s" % (
            node.name, "OK" if want else "revoked"), out)


def main():
    folder = tempfile.mkdtemp(prefix="tether-it-pki-")
    c = Checks()
    try:
        rc = gen_certs.selftest(os.path.join(folder, "self"))
        c.check(rc == 0, "gen_certs selftest (tether pki vs openssl)")
        for args, want in ((["--help"], 0), (["ca"], 2), (["issue", "--ca", folder], 2),
                           (["frobnicate"], 2), (["show", os.path.join(folder, "none.crt")], 1),
                           (["revoke", "--help"], 0), (["crl", "--help"], 0)):
            r = run(*args)
            ok = r.returncode == want and (want == 0 or r.stderr.strip() != "")
            c.check(ok, "tether pki %s -> exit %d (want %d)" % (" ".join(args), r.returncode,
                                                               want))
        crl_tests(c, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
