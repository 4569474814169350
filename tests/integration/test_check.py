"""The command line: `tether check`, help, usage errors, exit codes
(0 success, 1 run-time failure, 2 usage or config error)."""

import datetime
import json
import os
import re
import subprocess

import harness as h
from harness import check, check_eq


def write(path, obj):
    with open(path, "w") as f:
        if isinstance(obj, str):
            f.write(obj)
        else:
            json.dump(obj, f, indent=2)
    return path


def not_after(certfile):
    """The certificate's notAfter as an aware datetime (read by openssl)."""
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", certfile],
                         capture_output=True, check=True).stdout.decode()
    s = out.strip().split("=", 1)[1]
    return datetime.datetime.strptime(s, "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=datetime.timezone.utc)


def main():
    env = h.Env("check")
    d = env.dir
    ca = env.pki.ca("ca")
    gw = env.pki.node(ca, "gw-01", uri="spiffe://test.example/gw-01", dns="gw-01.test.example",
                      days=30)

    def ident():
        return {"cert": os.path.relpath(gw.cert, d), "key": os.path.relpath(gw.key, d),
                "ca": os.path.relpath(ca.cert, d)}

    good = write(os.path.join(d, "good.json"), {
        "node": "gw-01", "identity": ident(), "listen": "127.0.0.1:%d" % h.free_port(),
        "peers": {"core-01": {"connect": "127.0.0.1:%d" % h.free_port(),
                              "id": "spiffe://test.example/core-01"}},
        "services": {"echo": {"target": "127.0.0.1:7", "allow": ["core-01"]}},
    })

    def run(*args, **kw):
        rc, out, err = h.run_tether(list(args), **kw)
        return rc, out + err

    def good_config():
        rc, out = run("check", "-c", good)
        check_eq(rc, 0, "`tether check` exit code on a good config; output:\n%s" % out)
        check(re.search(r"gw-01", out), "no subject (CN gw-01) in:\n%s" % out)
        check("spiffe://test.example/gw-01" in out, "URI SAN missing from:\n%s" % out)
        check("gw-01.test.example" in out, "DNS SAN missing from:\n%s" % out)
        na = not_after(gw.cert)
        forms = [na.strftime("%Y-%m-%d"), na.strftime("%b %d %Y"), na.strftime("%b %e %Y"),
                 na.strftime("%b %d %H:%M:%S %Y"), na.strftime("%b %e %H:%M:%S %Y")]
        check(any(f in out for f in forms), "expiry %s missing from:\n%s" % (na, out))
        left = (na - datetime.datetime.now(datetime.timezone.utc)).days
        check(re.search(r"\b(%d|%d)\b[^\n]*day|day[^\n]*\b(%d|%d)\b" % (left, left + 1, left,
                                                                         left + 1), out),
              "days left (%d) missing from:\n%s" % (left, out))
    env.case("check: good config exits 0, prints subject, SANs, expiry, days left", good_config)

    def many_problems():
        p = write(os.path.join(d, "bad.json"), {
            "node": "bad name!",
            "identity": ident(),
            "listen": "nonsense",
            "peers": {"core-01": {"connect": "nohostport"}},
            "services": {"echo": {"target": "127.0.0.1:7", "allow": ["nobody"]}},
            "forwards": [{"listen": "127.0.0.1:15020", "peer": "ghost", "service": "x"}],
            "limits": {"streams": "many"},
            "log": {"level": "loud"},
        })
        rc, out = run("check", "-c", p)
        check_eq(rc, 2, "`tether check` exit code with config errors; output:\n%s" % out)
        want = ["node", "listen", "peers.core-01.connect", "services.echo.allow[0]",
                "forwards[0].peer", "limits.streams", "log.level"]
        missing = [w for w in want if not re.search(r"(^|\s)%s(:|\s|$)" % re.escape(w), out, re.M)]
        check(not missing, "errors not reported for %s in:\n%s" % (missing, out))
        check("ghost" in out and "nobody" in out, "unknown peer names not quoted in:\n%s" % out)
    env.case("check: several problems -> exit 2, every one listed with its JSON path",
             many_problems)

    def unknown_key():
        cfg = {"node": "gw-01", "identity": ident(), "listen": "127.0.0.1:1", "colour": "blue",
               "peers": {"core-01": {"conect": "127.0.0.1:2"}}}
        p = write(os.path.join(d, "unknown.json"), cfg)
        rc, out = run("check", "-c", p)
        check_eq(rc, 2, "exit code with unknown keys; output:\n%s" % out)
        check(re.search(r"colour\b.*unknown key", out), "top-level unknown key not reported:\n" + out)
        check(re.search(r"peers\.core-01\.conect\b.*unknown key", out),
              "nested unknown key not reported with its path:\n" + out)
    env.case("check: unknown keys are errors, with their paths", unknown_key)

    def missing_files():
        p = os.path.join(d, "does-not-exist.json")
        rc, out = run("check", "-c", p)
        check_eq(rc, 2, "exit code for a missing config file; output:\n%s" % out)
        check("does-not-exist.json" in out, "missing config file not named in:\n%s" % out)
        cfg = {"node": "gw-01", "identity": dict(ident(), cert="nowhere/missing.crt"),
               "listen": "127.0.0.1:1"}
        p = write(os.path.join(d, "missing-cert.json"), cfg)
        rc, out = run("check", "-c", p)
        check_eq(rc, 2, "exit code for a missing certificate file; output:\n%s" % out)
        check("missing.crt" in out, "missing certificate file not named in:\n%s" % out)
        check("identity.cert" in out, "missing certificate not tied to identity.cert in:\n%s" % out)
    env.case("check: missing config file and missing certificate are named", missing_files)

    def outside_bytes():
        # issue 11, item 5: a C1 control (0x85, 0x9b) or bytes that are no UTF-8
        # (0xff) in a path, a key or a value reach the terminal escaped as the
        # log escapes them (\xNN), never raw. The config file's own name has
        # raw 0x85 and 0xff; the cert path and an unknown key have C1 controls
        # as UTF-8 (0xc2 0x85, 0xc2 0x9b).
        def ascii_only(what, out):
            bad = sorted({c for c in out if not (c in "\n\t" or " " <= c <= "~")})
            check(not bad, "%s: raw bytes %r reached the terminal:\n%s" % (what, bad, out))

        name = os.path.join(os.fsencode(d), b"c1-\x85-\xff.json")
        with open(name, "w") as f:
            json.dump({"node": "gw-01", "identity": ident(), "listen": "127.0.0.1:1",
                       "col\u009bour": "x"}, f)
        rc, out = run("check", "-c", name)
        check_eq(rc, 2, "exit code with an unknown key; output:\n%s" % out)
        ascii_only("check, config errors", out)
        check("c1-\\x85-\\xff.json" in out, "config path not escaped as \\x85 \\xff:\n%s" % out)
        check("col\\xc2\\x9bour" in out, "unknown key not escaped as \\xc2\\x9b:\n%s" % out)

        with open(name, "w") as f:
            json.dump({"node": "gw-01", "identity": dict(ident(), cert="cert-\u0085.pem"),
                       "listen": "127.0.0.1:1"}, f)
        rc, out = run("check", "-c", name)
        check_eq(rc, 2, "exit code for a missing certificate; output:\n%s" % out)
        ascii_only("check, certificate problem", out)
        check("cert-\\xc2\\x85.pem" in out, "cert path not escaped:\n%s" % out)
        check("c1-\\x85-\\xff.json" in out, "config path not escaped:\n%s" % out)

        rc, out = run("run", "-c", name, timeout=10)
        check_eq(rc, 2, "`tether run` exit code for a missing certificate; output:\n%s" % out)
        ascii_only("run, certificate problem", out)
        check("cert-\\xc2\\x85.pem" in out, "run: cert path not escaped:\n%s" % out)
    env.case("check and run print C1 bytes and invalid UTF-8 from paths and keys escaped (\\xNN)",
             outside_bytes)

    def bad_json():
        p = write(os.path.join(d, "syntax.json"), '{"node": "gw-01", "listen": }')
        rc, out = run("check", "-c", p)
        check_eq(rc, 2, "exit code for invalid JSON; output:\n%s" % out)
        check("syntax.json" in out or re.search(r"line|offset|column|position", out),
              "JSON syntax error gives no location:\n%s" % out)
    env.case("check: invalid JSON -> exit 2 with a location", bad_json)

    def key_perms():
        k = os.path.join(d, "open.key")
        with open(gw.key, "rb") as src, open(k, "wb") as dst:
            dst.write(src.read())
        os.chmod(k, 0o644)
        p = write(os.path.join(d, "openkey.json"),
                  {"node": "gw-01", "identity": dict(ident(), key="open.key"),
                   "listen": "127.0.0.1:1"})
        rc, out = run("check", "-c", p)
        check_eq(rc, 2, "exit code for a group/other-readable key; output:\n%s" % out)
        check("identity.key" in out and "open.key" in out,
              "unsafe key permissions not reported for identity.key:\n%s" % out)
    env.case("check: group/other-readable private key is refused", key_perms)

    def run_bad_config():
        p = os.path.join(d, "bad.json")
        rc, out = run("run", "-c", p, timeout=10)
        check_eq(rc, 2, "`tether run` exit code with config errors; output:\n%s" % out)
        check("peers.core-01.connect" in out, "`tether run` does not list the errors:\n%s" % out)
    env.case("run: bad config -> exit 2 with the errors", run_bad_config)

    def helps():
        bad = []
        for args in (["--help"], ["run", "--help"], ["check", "--help"], ["pki", "--help"],
                     ["version"]):
            rc, out = run(*args)
            if rc != 0 or not out.strip():
                bad.append("`tether %s`: rc=%d, output %r" % (" ".join(args), rc, out[:200]))
        check(not bad, "\n".join(bad))
        rc, out = run("--help")
        for sub in ("run", "check", "pki", "version"):
            check(re.search(r"\b%s\b" % sub, out), "`tether --help` does not mention %s:\n%s" % (
                sub, out))
        rc, out = run("version")
        check(re.search(r"mbed ?TLS[^\n]*3\.6\.\d+", out, re.I),
              "`tether version` does not print the mbedTLS 3.6.x version:\n%s" % out)
        check(re.search(r"cJSON[^\n]*1\.7\.\d+", out, re.I),
              "`tether version` does not print the cJSON 1.7.x version:\n%s" % out)
    env.case("help and version exit 0", helps)

    def usage():
        bad = []
        for args in (["frobnicate"], ["run", "--bogus"], ["check", "--bogus"], ["run", "-c"],
                     ["check", "-c", good, "extra"]):
            rc, out = run(*args, timeout=10)
            if rc != 2:
                bad.append("`tether %s`: rc=%d (expected 2), output %r" % (" ".join(args), rc,
                                                                           out[:200]))
            elif not out.strip():
                bad.append("`tether %s`: rc=2 but says nothing" % " ".join(args))
        check(not bad, "\n".join(bad))
    env.case("bad usage exits 2 with a message", usage)

    env.finish()


if __name__ == "__main__":
    main()
