#!/usr/bin/env python3
"""Test PKIs for the integration tests, made by two independent tools.

Every function can use `tether pki` (tether's own certificate code) or the
openssl command line; tests mix them so each checks the other: openssl verifies
what tether made, tether accepts what openssl made. All keys are ECDSA P-256.

    ca = make_ca(tmp, "ca", tool="openssl")
    gw = make_node(ca, "gw-01", uri="spiffe://plant.example/gw-01", tool="tether")
    old = make_expired(ca, "old")
    crl = make_crl(ca, revoked=[gw])
    pin = spki_pin(gw.crt)            # "sha256/..." computed by openssl

`tether` is found through $TETHER (set by CTest for integration tests). Every CA
folder also holds the bookkeeping `openssl ca` needs, so openssl can sign and
revoke under a CA that tether made.

Self-check: python3 gen_certs.py --selftest DIR [--tether PATH]
"""

import base64
import os
import subprocess
import sys
import time

TOOLS = ("tether", "openssl")
DAY = 86400
# seconds for any one command (tools/valgrind.sh stretches it: TETHER_TIME_SCALE)
TIMEOUT = 60 * float(os.environ.get("TETHER_TIME_SCALE", "1") or "1")


class Ca:
    """A CA folder: ca.crt, ca.key and openssl's bookkeeping (index.txt, ...)."""

    def __init__(self, folder, name, tool, parent=None):
        self.dir = folder
        self.name = name
        self.tool = tool
        self.parent = parent  # the issuing Ca for an intermediate, else None
        self.crt = os.path.join(folder, "ca.crt")
        self.key = os.path.join(folder, "ca.key")
        self.cnf = os.path.join(folder, "openssl-ca.cnf")

    def intermediates(self):
        """Certificate files from this CA up to (not including) the root."""
        out, ca = [], self
        while ca.parent is not None:
            out.append(ca.crt)
            ca = ca.parent
        return out

    def root(self):
        ca = self
        while ca.parent is not None:
            ca = ca.parent
        return ca

    def __repr__(self):
        return "Ca(%r, tool=%r)" % (self.dir, self.tool)


class Node:
    """A node's key and certificate. chain = leaf + intermediates (== crt under a root)."""

    def __init__(self, name, crt, key, chain, ca, tool):
        self.name = name
        self.crt = crt
        self.key = key
        self.chain = chain
        self.ca = ca
        self.tool = tool

    def __repr__(self):
        return "Node(%r, tool=%r)" % (self.crt, self.tool)


class ToolError(RuntimeError):
    pass


def run(args, stdin=None, check=True):
    """Runs a command; returns (returncode, stdout, stderr) as text (stdout bytes if stdin is bytes)."""
    binary = isinstance(stdin, (bytes, bytearray))
    p = subprocess.run(args, input=stdin, capture_output=True, timeout=TIMEOUT,
                       text=not binary)
    if check and p.returncode != 0:
        err = p.stderr if isinstance(p.stderr, str) else p.stderr.decode(errors="replace")
        raise ToolError("%s failed (%d): %s" % (" ".join(args), p.returncode, err.strip()))
    return p.returncode, p.stdout, p.stderr


def tether_bin():
    path = os.environ.get("TETHER")
    if not path:
        raise ToolError("$TETHER is not set (the path of the tether program)")
    return path


def _check_tool(tool):
    if tool not in TOOLS:
        raise ValueError("tool must be one of %s, not %r" % (TOOLS, tool))


def _stamp(t):
    """Unix seconds -> openssl ca's GeneralizedTime form."""
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))


def _write(path, text, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def _openssl_key(path, key_format):
    """A P-256 key: PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY") PEM, mode 0600."""
    if key_format == "pkcs8":
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", path])
    elif key_format == "sec1":
        run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path])
    else:
        raise ValueError("key_format must be pkcs8 or sec1")
    os.chmod(path, 0o600)


def _ca_bookkeeping(ca):
    """What `openssl ca` needs to sign and revoke under ca (whoever made it)."""
    d = ca.dir
    os.makedirs(os.path.join(d, "newcerts"), exist_ok=True)
    for name, text in (("index.txt", ""), ("crlnumber", "1000\n"), ("serial", "1000\n")):
        if not os.path.exists(os.path.join(d, name)):
            _write(os.path.join(d, name), text)
    _write(ca.cnf, """\
[ ca ]
default_ca = tether_test_ca

[ tether_test_ca ]
dir = %(dir)s
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
rand_serial = yes
crl_extensions = crl_ext

[ policy_any ]
commonName = supplied

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ req ]
distinguished_name = req_dn

[ req_dn ]

[ v3_root ]
basicConstraints = critical,CA:TRUE%(pathlen)s
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
""" % {"dir": d, "pathlen": getattr(ca, "_pathlen", "")})


def make_ca(folder, name="ca", tool="tether", cn=None, days=3650, subject=None,
            key_format="pkcs8", pathlen=1):
    """A self-signed root CA in folder/name. Returns a Ca.

    tether: `tether pki ca` (SEC1 key, CA:TRUE pathlen 1, CN only).
    openssl: subject may be a full "/C=../O=../CN=.." DN; key_format "pkcs8"
    or "sec1"; pathlen None for unlimited.
    """
    _check_tool(tool)
    cn = cn or ("%s test CA" % name)
    ca = Ca(os.path.join(folder, name), name, tool)
    ca._pathlen = "" if pathlen is None else ",pathlen:%d" % pathlen
    os.makedirs(ca.dir, exist_ok=True)
    if tool == "tether":
        if subject is not None:
            raise ValueError("tether pki ca takes a CN only")
        run([tether_bin(), "pki", "ca", "--out", ca.dir, "--cn", cn, "--days", str(days)])
        _ca_bookkeeping(ca)
    else:
        _ca_bookkeeping(ca)
        _openssl_key(ca.key, key_format)
        run(["openssl", "req", "-new", "-x509", "-config", ca.cnf, "-extensions", "v3_root",
             "-key", ca.key, "-out", ca.crt, "-days", str(days), "-sha256",
             "-subj", subject or "/CN=%s" % cn])
    return ca


def make_intermediate(parent, name, cn=None, days=1825, pathlen=0, key_format="pkcs8"):
    """An intermediate CA signed by parent (openssl only: `tether pki` makes roots)."""
    cn = cn or ("%s test intermediate" % name)
    ca = Ca(os.path.join(os.path.dirname(parent.dir), name), name, "openssl", parent)
    ca._pathlen = "" if pathlen is None else ",pathlen:%d" % pathlen
    os.makedirs(ca.dir, exist_ok=True)
    _ca_bookkeeping(ca)
    _openssl_key(ca.key, key_format)
    csr = os.path.join(ca.dir, "ca.csr")
    run(["openssl", "req", "-new", "-config", ca.cnf, "-key", ca.key, "-out", csr,
         "-subj", "/CN=%s" % cn])
    ext = os.path.join(ca.dir, "int-ext.cnf")
    _write(ext, "[ v3_int ]\nbasicConstraints = critical,CA:TRUE%s\n"
                "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
                "authorityKeyIdentifier = keyid:always\n" % ca._pathlen)
    now = int(time.time())
    run(["openssl", "ca", "-batch", "-config", parent.cnf, "-in", csr, "-out", ca.crt,
         "-notext", "-md", "sha256", "-startdate", _stamp(now - 300),
         "-enddate", _stamp(now + days * DAY), "-extfile", ext, "-extensions", "v3_int"])
    return ca


def make_node(ca, name, uri=None, dns=None, days=365, not_before=None, not_after=None,
              tool="tether", out=None, cn=None, key_format="pkcs8", ip=None):
    """A node key and certificate signed by ca, in out (default: ca's parent folder).

    Files: NAME.key (0600), NAME.crt and, under an intermediate, NAME-chain.crt
    (leaf then intermediates). Times are Unix seconds; by default the
    certificate starts 5 minutes ago and lasts `days`. key_format applies to
    openssl-made keys (tether writes SEC1); ip (an IP address SAN) only to
    openssl-made certificates. Returns a Node.
    """
    _check_tool(tool)
    if ip and tool == "tether":
        raise ValueError("an IP address SAN needs tool=\"openssl\"")
    out = out or os.path.dirname(ca.dir)
    os.makedirs(out, exist_ok=True)
    now = int(time.time())
    nb = now - 300 if not_before is None else int(not_before)
    if not_after is not None:
        na = int(not_after)
    elif not_before is not None:
        na = nb + days * DAY
    else:
        na = now + days * DAY
    crt = os.path.join(out, name + ".crt")
    key = os.path.join(out, name + ".key")
    if tool == "tether":
        args = [tether_bin(), "pki", "issue", "--ca", ca.dir, "--name", name, "--out", out,
                "--not-before", str(nb), "--not-after", str(na)]
        if uri:
            args += ["--uri", uri]
        if dns:
            args += ["--dns", dns]
        if cn:
            args += ["--cn", cn]
        run(args)
    else:
        _openssl_key(key, key_format)
        csr = os.path.join(out, name + ".csr")
        run(["openssl", "req", "-new", "-config", ca.cnf, "-key", key, "-out", csr,
             "-subj", "/CN=%s" % (cn or name)])
        sans = ((["URI:" + uri] if uri else []) + (["DNS:" + dns] if dns else [])
                + (["IP:" + ip] if ip else []))
        ext = os.path.join(out, name + "-ext.cnf")
        _write(ext, "[ leaf ]\nbasicConstraints = critical,CA:FALSE\n"
                    "keyUsage = critical,digitalSignature\n"
                    "extendedKeyUsage = serverAuth,clientAuth\n"
                    "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
               + ("subjectAltName = %s\n" % ",".join(sans) if sans else ""))
        run(["openssl", "ca", "-batch", "-config", ca.cnf, "-in", csr, "-out", crt, "-notext",
             "-md", "sha256", "-startdate", _stamp(nb), "-enddate", _stamp(na),
             "-extfile", ext, "-extensions", "leaf"])
    chain = crt
    if ca.parent is not None:
        chain = os.path.join(out, name + "-chain.crt")
        with open(chain, "w") as f:
            for path in [crt] + ca.intermediates():
                with open(path) as part:
                    f.write(part.read())
    return Node(name, crt, key, chain, ca, tool)


def make_expired(ca, name, tool="tether", **kw):
    """Valid from 10 days ago until yesterday."""
    now = int(time.time())
    return make_node(ca, name, tool=tool, not_before=now - 10 * DAY, not_after=now - DAY, **kw)


def make_not_yet_valid(ca, name, tool="tether", **kw):
    """Valid from tomorrow for 10 days."""
    now = int(time.time())
    return make_node(ca, name, tool=tool, not_before=now + DAY, not_after=now + 10 * DAY, **kw)


def make_crl(ca, revoked=(), days=30, out=None):
    """A PEM CRL from ca revoking the given Nodes or certificate files (openssl:
    mbedTLS 3.6 cannot write CRLs). Revocations accumulate per CA. Returns the path
    (default ca.dir/ca.crl)."""
    for r in revoked:
        path = r.crt if isinstance(r, Node) else r
        run(["openssl", "ca", "-batch", "-config", ca.cnf, "-revoke", path])
    out = out or os.path.join(ca.dir, "ca.crl")
    run(["openssl", "ca", "-batch", "-config", ca.cnf, "-gencrl", "-crldays", str(days),
         "-md", "sha256", "-out", out])
    return out


def spki_pin(certfile):
    """"sha256/<base64>" of the certificate's SubjectPublicKeyInfo DER, all by openssl."""
    _, pem, _ = run(["openssl", "x509", "-in", certfile, "-noout", "-pubkey"])
    _, der, _ = run(["openssl", "pkey", "-pubin", "-outform", "DER"], stdin=pem.encode())
    _, digest, _ = run(["openssl", "dgst", "-sha256", "-binary"], stdin=der)
    return "sha256/" + base64.b64encode(digest).decode()


def key_spki_pin(keyfile):
    """The same pin computed from a private key file (openssl)."""
    _, der, _ = run(["openssl", "pkey", "-in", keyfile, "-pubout", "-outform", "DER"],
                    stdin=b"")
    _, digest, _ = run(["openssl", "dgst", "-sha256", "-binary"], stdin=der)
    return "sha256/" + base64.b64encode(digest).decode()


def tether_show(certfile):
    """`tether pki show` parsed into a dict (first certificate; lists for uri/dns)."""
    _, text, _ = run([tether_bin(), "pki", "show", certfile])
    info = {"uri": [], "dns": []}
    for line in text.splitlines():
        if not line.strip():
            break
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k in ("uri", "dns"):
            info[k].append(v)
        else:
            info[k] = v
    return info


def verify(ca, cert, crl=None, purpose="sslclient"):
    """openssl verify of cert (a Node or file) against ca's root; returns (ok, output).
    purpose None skips the extended key usage check (e.g. for a CA itself)."""
    node = cert if isinstance(cert, Node) else None
    path = node.crt if node else cert
    args = ["openssl", "verify", "-CAfile", ca.root().crt]
    if purpose:
        args += ["-purpose", purpose]
    inter = ca.intermediates()
    if inter:
        bundle = os.path.join(ca.dir, "untrusted.pem")
        with open(bundle, "w") as f:
            for p in inter:
                with open(p) as part:
                    f.write(part.read())
        args += ["-untrusted", bundle]
    if crl:
        args += ["-crl_check", "-CRLfile", crl]
    rc, out, err = run(args + [path], check=False)
    return rc == 0, (out + err).strip()


def _name(certfile, which):
    """-subject or -issuer as RFC 2253 text with each value's ASN.1 string type."""
    _, out, _ = run(["openssl", "x509", "-in", certfile, "-noout", which,
                     "-nameopt", "RFC2253,show_type"])
    return out.strip().partition("=")[2]


def text_of(certfile):
    _, out, _ = run(["openssl", "x509", "-in", certfile, "-noout", "-text"])
    return out


# ---------------------------------------------------------------- self-check

def selftest(folder):
    failures = []
    count = [0]

    def check(ok, what):
        count[0] += 1
        print("%s %s" % ("ok  " if ok else "FAIL", " / ".join(what.splitlines())))
        if not ok:
            failures.append(what)

    os.makedirs(folder, exist_ok=True)
    for ca_tool in TOOLS:
        top = os.path.join(folder, "by-" + ca_tool)
        subject = "/C=DE/O=Plant Example, Inc./CN=Plant Root" if ca_tool == "openssl" else None
        ca = make_ca(top, "ca", tool=ca_tool, subject=subject)
        check(verify(ca, ca.crt, purpose=None)[0], "%s CA verifies as its own root" % ca_tool)
        check(os.stat(ca.key).st_mode & 0o077 == 0, "%s CA key is private" % ca_tool)
        for node_tool in TOOLS:
            tag = "%s node under %s CA" % (node_tool, ca_tool)
            name = "n-%s" % node_tool
            uri = "spiffe://plant.example/%s" % name
            dns = "%s.plant.example" % name
            n = make_node(ca, name, uri=uri, dns=dns, tool=node_tool,
                          key_format="sec1" if ca_tool == "tether" else "pkcs8")
            ok, msg = verify(ca, n)
            check(ok, "%s: openssl verify (%s)" % (tag, msg))
            text = text_of(n.crt)
            check("URI:" + uri in text and "DNS:" + dns in text, "%s: SANs in x509 -text" % tag)
            check("TLS Web Server Authentication, TLS Web Client Authentication" in text,
                  "%s: extKeyUsage serverAuth+clientAuth" % tag)
            check("CA:FALSE" in text, "%s: CA:FALSE" % tag)
            check(spki_pin(n.crt) == key_spki_pin(n.key), "%s: key matches certificate" % tag)
            check(os.stat(n.key).st_mode & 0o077 == 0, "%s: key file is private" % tag)
            show = tether_show(n.crt)
            check(show.get("pin") == spki_pin(n.crt),
                  "%s: tether pin %s == openssl pin" % (tag, show.get("pin")))
            check(show["uri"] == [uri] and show["dns"] == [dns], "%s: tether shows SANs" % tag)

            exp = make_expired(ca, name + "-expired", tool=node_tool)
            ok, msg = verify(ca, exp)
            check(not ok and "expired" in msg, "%s: expired is refused (%s)" % (tag, msg))
            fut = make_not_yet_valid(ca, name + "-future", tool=node_tool)
            ok, msg = verify(ca, fut)
            check(not ok and "not yet valid" in msg, "%s: not yet valid is refused" % tag)
            check(tether_show(fut.crt).get("days left", "").endswith("(not yet valid)"),
                  "%s: tether show says not yet valid" % tag)

            bad = make_node(ca, name + "-revoked", tool=node_tool)
            crl = make_crl(ca, revoked=[bad])
            ok, msg = verify(ca, bad, crl=crl)
            check(not ok and "revoked" in msg, "%s: revoked is refused with the CRL" % tag)
            check(verify(ca, n, crl=crl)[0], "%s: unrevoked still verifies with the CRL" % tag)

        # The issuer name is copied, string types and all, from the CA's subject.
        n = Node("n-tether", os.path.join(top, "n-tether.crt"), None, None, ca, "tether")
        check(_name(n.crt, "-issuer") == _name(ca.crt, "-subject"),
              "tether node under %s CA: issuer name == CA subject (%s)"
              % (ca_tool, _name(ca.crt, "-subject")))

        inter = make_intermediate(ca, "int-%s" % ca_tool)
        leaf = make_node(inter, "below-int", uri="spiffe://plant.example/below-int",
                         tool="tether")
        ok, msg = verify(inter, leaf)
        check(ok, "tether node under an openssl intermediate of a %s root (%s)" % (ca_tool, msg))

    # A SEC1 CA key made by openssl is usable by tether too (PKCS#8 was used above).
    ca = make_ca(os.path.join(folder, "sec1"), "ca", tool="openssl", key_format="sec1")
    n = make_node(ca, "n-sec1", dns="n-sec1.plant.example", tool="tether")
    check(verify(ca, n)[0], "tether node under an openssl CA with a SEC1 key")

    print("%d checks, %d failed" % (count[0], len(failures)))
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "--selftest":
        if len(argv) >= 4 and argv[2] == "--tether":
            os.environ["TETHER"] = os.path.abspath(argv[3])
        try:
            return selftest(argv[1])
        except ToolError as e:
            print("FAIL %s" % e)
            return 1
    print("usage: gen_certs.py --selftest DIR [--tether PATH]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
