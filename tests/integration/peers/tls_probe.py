"""A Python ssl client that tries to open a tether session and says how it ended.

As a module: probe(port, cert=None, key=None, ca=None, ...) -> dict.
As a program: python3 tls_probe.py PORT [--cert F --key F] --ca F [--tls 1.2|1.3]
prints the result as JSON.

Outcomes:
  "refused"  the handshake failed, or the server closed/alerted right after it
             without sending any application data;
  "data"     the server sent application data (a tether HELLO): accepted;
  "open"     nothing happened for `wait` seconds: the server neither refused nor
             spoke (not a refusal).
"""

import json
import socket
import ssl
import sys
import time


def context(cert=None, key=None, ca=None, tls=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # tether nodes are named by CN/URI SAN, not by host name
    if ca:
        ctx.load_verify_locations(ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    if tls == "1.2":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif tls == "1.3":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def connect(port, host="127.0.0.1", timeout=5.0, **kw):
    """TCP connect and complete the TLS handshake; returns the SSLSocket (raises on failure)."""
    raw = socket.create_connection((host, port), timeout=timeout)
    raw.settimeout(timeout)
    try:
        return context(**kw).wrap_socket(raw, server_hostname=None)
    except Exception:
        raw.close()
        raise


def probe(port, host="127.0.0.1", wait=3.0, timeout=5.0, **kw):
    res = {"outcome": None, "stage": None, "error": None, "bytes": 0, "version": None,
           "cipher": None}
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        res.update(outcome="refused", stage="connect", error="%s: %s" % (type(e).__name__, e))
        return res
    raw.settimeout(timeout)
    try:
        s = context(**kw).wrap_socket(raw, server_hostname=None)
    except (ssl.SSLError, OSError) as e:
        raw.close()
        res.update(outcome="refused", stage="handshake", error="%s: %s" % (type(e).__name__, e))
        return res
    res["version"] = s.version()
    res["cipher"] = s.cipher()[0] if s.cipher() else None
    deadline = time.monotonic() + wait
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                res.update(outcome="open", stage="after")
                break
            s.settimeout(left)
            try:
                b = s.recv(4096)
            except socket.timeout:
                continue
            if not b:
                res.update(outcome="refused", stage="after", error="EOF")
                break
            res["bytes"] += len(b)
            res.update(outcome="data", stage="after")
            break
    except (ssl.SSLError, OSError) as e:
        res.update(outcome="refused", stage="after", error="%s: %s" % (type(e).__name__, e))
    finally:
        try:
            s.close()
        except OSError:
            pass
    return res


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("port", type=int)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--ca")
    ap.add_argument("--tls", choices=["1.2", "1.3"])
    ap.add_argument("--ciphers")
    ap.add_argument("--wait", type=float, default=3.0)
    a = ap.parse_args(argv)
    r = probe(a.port, cert=a.cert, key=a.key, ca=a.ca, tls=a.tls, ciphers=a.ciphers, wait=a.wait)
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
