#!/usr/bin/env python3
"""seeds.py: write hand-made seed inputs for the fuzz targets.

    python3 tests/fuzz/seeds.py OUT_DIR [PKI_DIR]

OUT_DIR/<target>/ gets a few inputs per target, each in the layout that
target's header comment describes. PKI_DIR, if given, holds PEM and DER files
(ca.pem, node.crt, node.key, crl.pem and their .der forms) made with
`openssl` (see make_pki() below, used when PKI_DIR is not given) for
fuzz_material and fuzz_crlnum. The corpora kept in tests/fuzz/corpus/ were
grown from these by fuzzing, then minimized with -merge=1.
"""
import os
import struct
import subprocess
import sys
import tempfile


def frame(t, stream, payload=b""):
    return struct.pack(">BBHI", t, 0, len(payload), stream) + payload


def hello(name=b"peer", caps=0, window=4096, max_payload=4088, version=1):
    return frame(0, 0, struct.pack(">BBHII", version, 0, max_payload, window, caps)
                 + bytes([len(name)]) + name)


def op(svc=b"svc"):
    return bytes([len(svc)]) + svc


def crl_have(entries):
    out = bytes([len(entries)])
    for issuer, num in entries:
        out += issuer + bytes([len(num)]) + num
    return out


def put(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frames_seeds(out):
    iss = bytes(range(1, 9))
    s = {
        "hello": hello(),
        "hello_caps": hello(caps=3),
        "open_data": hello() + frame(1, 1, op()) + frame(2, 1, b"hello") + frame(4, 1),
        "window_reset": frame(3, 1, struct.pack(">I", 4096)) + frame(5, 1, struct.pack(">I", 2)),
        "ping_pong": frame(6, 0, b"12345678") + frame(7, 0, b"abcdefgh"),
        "goaway": frame(8, 0, struct.pack(">I", 1) + b"protocol error"),
        "crl": hello(caps=1) + frame(9, 0, crl_have([(iss, b"\x07")]))
        + frame(10, 0, iss) + frame(11, 0, struct.pack(">II", 4, 0) + b"\x30\x02\x05\x00"),
        "roll": hello(caps=2) + frame(12, 0),
    }
    for k, v in s.items():
        put(out, "fuzz_frame", k, v)
        # fuzz_mux: flags, then a quarter of control bytes, then the peer's frames.
        for flags in (0x00, 0x02, 0x33):
            peer = v if flags & 2 == 0 or not v.startswith(b"\x00") else v[len(hello()):]
            # The target takes (size - 1) // 4 control bytes: len(peer) // 3 of them.
            ctl = bytes([(i * 37 + 11) & 0xff for i in range(len(peer) // 3)])
            body = ctl + peer
            assert len(body) // 4 == len(ctl)
            put(out, "fuzz_mux", "%s_%02x" % (k, flags), bytes([flags]) + body)


def http_seeds(out):
    for k, v in {
        "get": b"GET /metrics HTTP/1.1\r\nHost: node\r\nAccept: */*\r\n\r\n",
        "head": b"HEAD /metrics?x=1 HTTP/1.0\n\n",
        "post": b"POST /metrics HTTP/1.1\r\n\r\n",
        "other": b"GET /status HTTP/1.1\r\nX-A: b\r\n\r\n",
        "bad": b"GET /metrics HTTP/2.0\r\n\r\n",
    }.items():
        put(out, "fuzz_http", k, v)
    for k, v in {"status": b"status\n", "table": b"table\r\n", "metrics": b"metrics\n",
                 "reload": b"reload\n", "bad": b"statuss\n", "long": b"x" * 70}.items():
        put(out, "fuzz_status", k, v)


def config_seeds(out, root):
    ex = os.path.join(root, "config", "examples")
    for dirpath, _, files in os.walk(ex):
        for f in files:
            if f.endswith(".json"):
                with open(os.path.join(dirpath, f), "rb") as fh:
                    put(out, "fuzz_config", f.replace("/", "_"), fh.read())


def crl_seeds(out, pki):
    # Bit 0 set: one of the CRLs the target signed at start, [mode, index, flip at, flip].
    for i in range(12):
        put(out, "fuzz_crl", "signed_%02d" % i, bytes([0x01, i]))
    put(out, "fuzz_crl", "flip", bytes([0x03, 4, 0, 200, 0x40]))
    if pki:
        with open(os.path.join(pki, "crl.der"), "rb") as f:
            der = f.read()
        put(out, "fuzz_crl", "foreign_der", b"\x00" + der)
        put(out, "fuzz_crl", "foreign_asked", b"\x02" + bytes(8) + der)
        put(out, "fuzz_crlnum", "crl_der", der)


def material_seeds(out, pki):
    def rd(n):
        with open(os.path.join(pki, n), "rb") as f:
            return f.read()
    sep = b"%%\n"
    ca, crt, key, crl = rd("ca.pem"), rd("node.crt"), rd("node.key"), rd("crl.pem")
    s = {
        "pem": b"\x00" + sep.join([ca, crt, key]),
        "pem_crl": b"\x00" + sep.join([ca, crt, key, crl]),
        "pem_two_crls": b"\x00" + sep.join([ca, crt, key, crl, crl]),
        "der": b"\x00" + sep.join([rd("ca.der"), rd("node.der"), rd("node.key.der"), rd("crl.der")]),
        "bundle": b"\x00" + sep.join([ca + rd("other.pem"), crt, key]),
        "mismatch": b"\x00" + sep.join([ca, crt, rd("other.key")]),
        "key_open": b"\x01" + sep.join([ca, crt, key]),
        "expired_clock": b"\xfe" + sep.join([ca, crt, key, crl]),
        "sec1": b"\x00" + sep.join([ca, crt, rd("node.sec1")]),
    }
    for k, v in s.items():
        put(out, "fuzz_material", k, v)


def make_pki(d):
    def run(*a):
        subprocess.run(a, cwd=d, check=True, capture_output=True)
    conf = os.path.join(d, "ca.cnf")
    with open(conf, "w") as f:
        f.write("[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ncrlnumber=crlnumber\n"
                "default_md=sha256\ndefault_crl_days=30\n"
                "[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\n"
                "[v3_node]\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                "subjectAltName=URI:spiffe://fleet/node\n")
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "crlnumber"), "w") as f:
        f.write("05\n")
    for name in ("ca", "other"):
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name + ".key")
        run("openssl", "req", "-new", "-x509", "-key", name + ".key", "-subj", "/CN=Fuzz " + name,
            "-days", "3650", "-config", conf, "-extensions", "v3_ca", "-out", name + ".pem")
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "node.sec1")
    run("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", "node.sec1", "-out", "node.key")
    run("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", "node.sec1", "-outform", "DER",
        "-out", "node.key.der")
    run("openssl", "req", "-new", "-key", "node.key", "-subj", "/CN=node", "-out", "node.csr")
    run("openssl", "x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-set_serial", "0x1234", "-days", "365", "-extfile", conf, "-extensions", "v3_node",
        "-out", "node.crt")
    run("openssl", "ca", "-config", conf, "-gencrl", "-keyfile", "ca.key", "-cert", "ca.pem",
        "-out", "crl.pem")
    for src, dst, kind in (("ca.pem", "ca.der", "x509"), ("node.crt", "node.der", "x509"),
                           ("crl.pem", "crl.der", "crl")):
        run("openssl", kind, "-in", src, "-outform", "DER", "-out", dst)


def main():
    out = sys.argv[1]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with tempfile.TemporaryDirectory() as tmp:
        pki = sys.argv[2] if len(sys.argv) > 2 else tmp
        if len(sys.argv) <= 2:
            make_pki(pki)
        frames_seeds(out)
        http_seeds(out)
        config_seeds(out, root)
        crl_seeds(out, pki)
        material_seeds(out, pki)


if __name__ == "__main__":
    main()
