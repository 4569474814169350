"""A peer that completes mutual TLS with a valid certificate, then breaks the
tether frame protocol (docs/PROTOCOL.md) in one chosen way and records what
the node sends back before the connection closes.

Frame header: type u8, flags u8, length u16 BE, stream u32 BE; then payload.
HELLO payload: version u8, reserved u8, max_payload u16 BE, window u32 BE,
capabilities u32 BE, name_len u8, name.

Modes:
  garbage           bytes that are no frame at all, right after the handshake
  oversize          a valid HELLO, then the header of a DATA frame one byte longer
                    than the node's announced max_payload (4088 unless it says otherwise)
  wrong_name        a HELLO whose name is another peer's, not the certificate's
  bad_version       a HELLO with protocol version 2
  open_before_hello an OPEN frame before any HELLO
  second_hello      a valid HELLO, then another HELLO
  even_stream       a valid HELLO, then OPEN on stream 2 (the dialer must use odd ids)
  data_unused       a valid HELLO, then DATA on stream 99, never opened
  nonzero_flags     a valid HELLO, then a PING with flags 0x01
  silent            nothing at all after the TLS handshake (HELLO deadline)
  hello             a valid HELLO and nothing else (control: the session is accepted)

As a module: run(port, mode, cert, key, ca, name, ...) -> dict.
As a program: python3 bad_peer.py PORT MODE --cert F --key F --ca F --name N
"""

import json
import struct
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import tls_probe  # noqa: E402

HDR = struct.Struct(">BBHI")
HELLO, OPEN, DATA, WINDOW, CLOSE, RESET, PING, PONG, GOAWAY = range(9)
TYPE_NAMES = ["HELLO", "OPEN", "DATA", "WINDOW", "CLOSE", "RESET", "PING", "PONG", "GOAWAY"]
GOAWAY_NORMAL, GOAWAY_PROTOCOL, GOAWAY_FRAME_SIZE, GOAWAY_FLOW, GOAWAY_IDENTITY = range(5)
GOAWAY_DUPLICATE, GOAWAY_TIMEOUT, GOAWAY_INTERNAL, GOAWAY_VERSION, GOAWAY_LIFETIME = range(5, 10)
DEFAULT_MAX_PAYLOAD = 4088


def frame(ftype, stream=0, payload=b"", flags=0, length=None):
    return HDR.pack(ftype, flags, len(payload) if length is None else length, stream) + payload


def hello_payload(name, version=1, max_payload=DEFAULT_MAX_PAYLOAD, window=65536, caps=0):
    n = name.encode()
    return struct.pack(">BBHIIB", version, 0, max_payload, window, caps, len(n)) + n


def parse_hello(p):
    if len(p) < 13:
        return {"error": "short HELLO (%d bytes)" % len(p)}
    version, _, max_payload, window, caps, nlen = struct.unpack(">BBHIIB", p[:13])
    return {"version": version, "max_payload": max_payload, "window": window, "caps": caps,
            "name": p[13:13 + nlen].decode("utf-8", "replace")}


def parse_goaway(p):
    """code u32 BE, then 0..200 bytes of reason text (PROTOCOL.md section 3)."""
    if len(p) < 4:
        return {"code": None, "reason": "", "error": "short GOAWAY (%d bytes)" % len(p)}
    return {"code": struct.unpack(">I", p[:4])[0], "reason": p[4:].decode("ascii", "replace")}


class Reader:
    """Splits what the node sends into frames; notes how the connection ended."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.frames = []
        self.closed = None   # None while open; else "eof", "close_notify", "reset", "error: ..."

    def pump(self, timeout):
        """Read for up to timeout seconds or until closed; returns new frames."""
        n0 = len(self.frames)
        deadline = time.monotonic() + timeout
        while self.closed is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.s.settimeout(left)
            try:
                b = self.s.recv(65536)
            except TimeoutError:
                break
            except __import__("ssl").SSLZeroReturnError:
                self.closed = "close_notify"
                break
            except ConnectionResetError:
                self.closed = "reset"
                break
            except OSError as e:
                if "timed out" in str(e):
                    break
                self.closed = "error: %s: %s" % (type(e).__name__, e)
                break
            if not b:
                self.closed = "eof"
                break
            self.buf += b
            while len(self.buf) >= HDR.size:
                t, fl, ln, st = HDR.unpack(self.buf[:HDR.size])
                if len(self.buf) < HDR.size + ln:
                    break
                p = self.buf[HDR.size:HDR.size + ln]
                self.buf = self.buf[HDR.size + ln:]
                self.frames.append({"type": t, "flags": fl, "stream": st, "payload": p})
        return self.frames[n0:]

    def wait_type(self, ftype, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for f in self.frames:
                if f["type"] == ftype:
                    return f
            left = deadline - time.monotonic()
            if left <= 0 or self.closed is not None:
                return None
            self.pump(min(left, 0.2))


def run(port, mode, cert, key, ca, name, host="127.0.0.1", wait=5.0, other_name="C", **tls):
    """Connect as the peer `name`, misbehave per mode, return what came back:
    {"frames": [type names], "hello": {...}, "goaway": {...} or None, "closed": how,
     "sent": description, "tls": version, "cipher": suite}. tls: tls_probe.context()
    options (tls="1.2", ciphers=...)."""
    s = tls_probe.connect(port, host=host, cert=cert, key=key, ca=ca, **tls)
    r = Reader(s)
    out = {"mode": mode, "tls": s.version(), "cipher": s.cipher()[0], "sent": None}
    try:
        if mode == "garbage":
            junk = bytes((0xde, 0xad, 0xbe, 0xef)) * 16
            s.sendall(junk)
            out["sent"] = "64 bytes of 0xdeadbeef"
        elif mode == "open_before_hello":
            s.sendall(frame(OPEN, 1, b"\x04echo"))
            out["sent"] = "OPEN on stream 1 before HELLO"
        elif mode == "silent":
            out["sent"] = "nothing"
        elif mode in ("oversize", "hello", "second_hello", "even_stream", "data_unused",
                      "nonzero_flags"):
            s.sendall(frame(HELLO, 0, hello_payload(name)))
            their = r.wait_type(HELLO, 3.0)
            mp = DEFAULT_MAX_PAYLOAD
            if their is not None:
                out["hello"] = parse_hello(their["payload"])
                mp = out["hello"].get("max_payload") or mp
            if mode == "oversize":
                # the header alone says it all; sending no payload leaves nothing
                # unread at the node, so its close is not turned into a TCP reset
                n = mp + 1
                s.sendall(HDR.pack(DATA, 0, n, 1))
                out["sent"] = "HELLO, then a DATA header with length %d (their max_payload %d%s)" % (
                    n, mp, "" if their is not None else ", no HELLO seen: assumed")
            elif mode == "second_hello":
                s.sendall(frame(HELLO, 0, hello_payload(name)))
                out["sent"] = "HELLO, then a second HELLO"
            elif mode == "even_stream":
                s.sendall(frame(OPEN, 2, b"\x04echo"))
                out["sent"] = "HELLO, then OPEN on stream 2 from the dialer"
            elif mode == "data_unused":
                s.sendall(frame(DATA, 99, b"x"))
                out["sent"] = "HELLO, then DATA on unopened stream 99"
            elif mode == "nonzero_flags":
                s.sendall(frame(PING, 0, b"\0" * 8, flags=1))
                out["sent"] = "HELLO, then PING with flags 0x01"
            else:
                out["sent"] = "HELLO as %s" % name
        elif mode == "wrong_name":
            s.sendall(frame(HELLO, 0, hello_payload(other_name)))
            out["sent"] = "HELLO naming %s with %s's certificate" % (other_name, name)
        elif mode == "bad_version":
            s.sendall(frame(HELLO, 0, hello_payload(name, version=2)))
            out["sent"] = "HELLO version 2"
        else:
            raise ValueError("unknown mode %r" % mode)
    except OSError as e:
        out["send_error"] = "%s: %s" % (type(e).__name__, e)
    r.pump(wait)
    try:
        s.close()
    except OSError:
        pass
    out["frames"] = [TYPE_NAMES[f["type"]] if f["type"] < len(TYPE_NAMES) else hex(f["type"])
                     for f in r.frames]
    out["closed"] = r.closed
    out["goaway"] = None
    for f in r.frames:
        if f["type"] == HELLO and "hello" not in out:
            out["hello"] = parse_hello(f["payload"])
        if f["type"] == GOAWAY:
            out["goaway"] = parse_goaway(f["payload"])
            out["goaway"]["stream"] = f["stream"]
    return out


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("port", type=int)
    ap.add_argument("mode")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--other-name", default="C")
    ap.add_argument("--wait", type=float, default=5.0)
    a = ap.parse_args(argv)
    print(json.dumps(run(a.port, a.mode, a.cert, a.key, a.ca, a.name, wait=a.wait,
                         other_name=a.other_name)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
