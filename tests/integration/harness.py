"""Shared utilities for tether's integration tests (python3 standard library only).

Each test_*.py file is one CTest test. It builds an Env, starts real tether
processes on 127.0.0.1, drives local TCP clients and servers through them,
and checks both the bytes (sha256) and the log lines. Every wait has a
deadline; a watchdog ends a test that runs past its budget.

Environment:
  TETHER        path to the tether binary (required)
  TETHER_SRC    repository root (for docs and example files)
  TETHER_BUILD  build directory (unused by most tests)
  TETHER_KEEP=1 keep the temporary directory (logs, configs, certificates)
  TETHER_PKI_TOOL  "mixed" (default), "tether" or "openssl": which tool makes certificates
  TETHER_TEST_TIMEOUT  seconds before the watchdog fails a test file (default 115)
"""

import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

LOOP = "127.0.0.1"
TETHER = os.environ.get("TETHER", "")
TETHER_SRC = os.environ.get("TETHER_SRC", os.path.normpath(os.path.join(HERE, "..", "..")))
TETHER_BUILD = os.environ.get("TETHER_BUILD", "")
KEEP = os.environ.get("TETHER_KEEP", "") not in ("", "0")
# Waits for the agent (start, log lines, exit, CLI runs) last this many times
# longer: tools/valgrind.sh runs every agent under memcheck, many times slower.
TIME_SCALE = float(os.environ.get("TETHER_TIME_SCALE", "1") or "1")
PKI_TOOL = os.environ.get("TETHER_PKI_TOOL", "mixed")

MiB = 1024 * 1024


class Failure(Exception):
    """A check failed; the message says which behaviour and what was seen."""


def check(cond, msg):
    """Raise Failure(msg) unless cond; msg may be a callable (built only on failure)."""
    if not cond:
        raise Failure(msg() if callable(msg) else msg)


def check_eq(got, want, what):
    if got != want:
        raise Failure("%s: expected %r, got %r" % (what, want, got))


# ---------------------------------------------------------------------------
# Ports

_given_ports = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A free loopback TCP port for tether to bind later. Taken below the kernel's
    ephemeral range when there is room, so that outgoing connections (of this
    or a concurrently running test) cannot take it before tether binds it."""
    low = _ephemeral_low()
    r = random.Random()
    for _ in range(200 if low > 12000 else 0):
        port = r.randrange(10000, low)
        if port in _given_ports:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((LOOP, port))
        except OSError:
            continue
        finally:
            s.close()
        _given_ports.add(port)
        return port
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((LOOP, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _listening_ports():
    ports = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 3 and parts[3] == "0A":
                        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def port_listening(port):
    return port in _listening_ports()


def wait_listening(port, timeout=10.0, proc=None):
    """Wait until something listens on port (read from /proc, no connection made)."""
    timeout *= TIME_SCALE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_listening(port):
            return
        if proc is not None and proc.poll() is not None:
            raise Failure("process exited (rc=%s) before port %d was listening"
                      % (proc.returncode, port))
        time.sleep(0.02)
    raise Failure("nothing listening on %s:%d after %.1fs" % (LOOP, port, timeout))


# ---------------------------------------------------------------------------
# Log lines: key=value, values with spaces double-quoted.

_KV = re.compile(r'([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')


def _unescape(m):
    e = m.group(1)
    if e[0] == "x":
        return chr(int(e[1:], 16))
    return e


def _unquote(v):
    """Undo the log's quoting: \\" \\\\ and \\xNN escapes."""
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return re.sub(r'\\(x[0-9a-fA-F]{2}|.)', _unescape, v[1:-1])
    return v


def parse_log_line(line):
    """Parse 'level=info event=x a="b c"' into a dict; {} if not a key=value line."""
    out = {}
    for m in _KV.finditer(line):
        out[m.group(1)] = _unquote(m.group(2))
    return out


def _matches(rec, match):
    for k, want in match.items():
        if k not in rec:
            return False
        got = rec[k]
        if callable(want) and not isinstance(want, (str, re.Pattern)):
            if not want(got):
                return False
        elif isinstance(want, re.Pattern):
            if not want.search(got):
                return False
        elif got != str(want):
            return False
    return True


def fmt_match(event, match):
    parts = ["event=%s" % event] if event else []
    for k, v in match.items():
        if isinstance(v, re.Pattern):
            parts.append("%s~/%s/" % (k, v.pattern))
        elif callable(v):
            parts.append("%s=<predicate>" % k)
        else:
            parts.append("%s=%r" % (k, v))
    return " ".join(parts)


# ---------------------------------------------------------------------------
# Deterministic data

def pattern_chunks(seed, n, chunk=64 * 1024):
    """n bytes of seeded pseudo-random data, in chunks (same seed, same bytes)."""
    r = random.Random(seed)
    left = n
    while left > 0:
        k = min(chunk, left)
        yield r.randbytes(k)
        left -= k


def pattern_bytes(seed, n):
    return b"".join(pattern_chunks(seed, n))


# ---------------------------------------------------------------------------
# Local TCP servers (the targets tether services point at)

class _Server:
    """Accept loop on a thread; one thread per connection running self.handle."""

    def __init__(self, name):
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOP, 0))
        self.sock.listen(256)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.addr = "%s:%d" % (LOOP, self.port)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.results = []   # one dict per finished connection
        self.accepted = 0
        self.stopping = False
        self.threads = []
        self.t = threading.Thread(target=self._loop, name="srv-" + name, daemon=True)
        self.t.start()

    def _loop(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(60)
            with self.lock:
                self.accepted += 1
            t = threading.Thread(target=self._run, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _run(self, c):
        res = {"received": 0, "sha": None, "eof": False, "error": None}
        h = hashlib.sha256()
        try:
            self.handle(c, res, h)
        except Exception as e:  # reported through results, the test decides
            res["error"] = "%s: %s" % (type(e).__name__, e)
        finally:
            res["sha"] = h.hexdigest()
            try:
                c.close()
            except OSError:
                pass
            with self.cond:
                self.results.append(res)
                self.cond.notify_all()

    def wait_results(self, count, timeout=30.0):
        """Wait until count connections have finished; return their results."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.results) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure("%s server: %d of %d connections finished after %.0fs "
                              "(accepted %d)" % (self.name, len(self.results), count,
                                    timeout, self.accepted))
                self.cond.wait(left)
            return list(self.results)

    def close(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass


class SinkServer(_Server):
    """Reads until EOF, hashing; results: received bytes and sha256."""

    def __init__(self):
        super().__init__("sink")

    def handle(self, c, res, h):
        while True:
            b = c.recv(256 * 1024)
            if not b:
                res["eof"] = True
                return
            h.update(b)
            res["received"] += len(b)


class EchoServer(_Server):
    """Echoes everything; on EOF shuts its write side and closes."""

    def __init__(self):
        super().__init__("echo")

    def handle(self, c, res, h):
        while True:
            b = c.recv(256 * 1024)
            if not b:
                res["eof"] = True
                c.shutdown(socket.SHUT_WR)
                return
            h.update(b)
            res["received"] += len(b)
            c.sendall(b)


class EofReplyServer(_Server):
    """Reads until EOF, then replies "<count> <sha256>\\n" + reply_len bytes of
    pattern(reply_seed) and closes. A reply proves the EOF got through."""

    def __init__(self, reply_seed=7, reply_len=MiB):
        super().__init__("eofreply")
        self.reply_seed = reply_seed
        self.reply_len = reply_len

    def handle(self, c, res, h):
        while True:
            b = c.recv(256 * 1024)
            if not b:
                break
            h.update(b)
            res["received"] += len(b)
        res["eof"] = True
        c.sendall(("%d %s\n" % (res["received"], h.hexdigest())).encode())
        for chunk in pattern_chunks(self.reply_seed, self.reply_len):
            c.sendall(chunk)
        c.shutdown(socket.SHUT_WR)


class TcpProxy:
    """A loopback TCP relay to target_port that a test can steer:
    hold()       new connections are accepted but not relayed until release();
    blackhole()  the connections relayed so far go silent both ways (bytes are
                 read and dropped, closes are not passed on): a dead path that
                 neither end can see; new connections relay normally."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((LOOP, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.addr = "%s:%d" % (LOOP, self.port)
        self.released = threading.Event()
        self.released.set()
        self.lock = threading.Lock()
        self.pairs = []      # [client socket, upstream socket, silenced Event]
        self.accepted = 0
        self.stopping = False
        threading.Thread(target=self._loop, daemon=True).start()

    def hold(self):
        self.released.clear()

    def release(self):
        self.released.set()

    def blackhole(self):
        with self.lock:
            for p in self.pairs:
                p[2].set()

    def wait_accepted(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while self.accepted < n:
            if time.monotonic() > deadline:
                raise Failure("proxy: %d of %d connections after %.0fs" % (self.accepted, n,
                                                                           timeout))
            time.sleep(0.02)

    def _loop(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._pair, args=(c,), daemon=True).start()

    def _pair(self, c):
        if not self.released.wait(60):
            c.close()
            return
        try:
            u = socket.create_connection((LOOP, self.target), timeout=5)
        except OSError:
            c.close()
            return
        u.settimeout(None)
        c.settimeout(None)
        silenced = threading.Event()
        with self.lock:
            self.pairs.append([c, u, silenced])
        for src, dst in ((c, u), (u, c)):
            threading.Thread(target=self._pump, args=(src, dst, silenced), daemon=True).start()

    @staticmethod
    def _pump(src, dst, silenced):
        try:
            while True:
                b = src.recv(65536)
                if silenced.is_set():
                    if not b:
                        return  # swallow the close too
                    continue
                if not b:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(b)
        except OSError:
            if not silenced.is_set():
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def close(self):
        self.stopping = True
        for s in [self.sock] + [x for p in self.pairs for x in p[:2]]:
            try:
                s.close()
            except OSError:
                pass


# ---------------------------------------------------------------------------
# Local TCP client

def tcp_client(port, nbytes, seed, read_back=True, half_close=True, timeout=60.0,
           connect_timeout=5.0, expect_eof=True):
    """Connect to 127.0.0.1:port, send nbytes of pattern(seed), shut down the write
    side (half_close), and read until EOF on a second thread (read_back).

    Returns a dict: sent, sent_sha, received, recv_sha, eof (clean EOF seen),
    error (text of the first socket error), reset (ECONNRESET seen), data (first
    64 KiB received, for reply parsing)."""
    res = {"sent": 0, "sent_sha": None, "received": 0, "recv_sha": None, "eof": False,
           "error": None, "reset": False, "data": b""}
    s = socket.create_connection((LOOP, port), timeout=connect_timeout)
    s.settimeout(timeout)
    rh = hashlib.sha256()
    deadline = time.monotonic() + timeout

    def reader():
        try:
            while True:
                b = s.recv(256 * 1024)
                if not b:
                    res["eof"] = True
                    return
                rh.update(b)
                if len(res["data"]) < 65536:
                    res["data"] += b[:65536 - len(res["data"])]
                res["received"] += len(b)
        except ConnectionResetError as e:
            res["reset"] = True
            res["error"] = res["error"] or "recv: %s" % e
        except OSError as e:
            res["error"] = res["error"] or "recv: %s: %s" % (type(e).__name__, e)

    rt = None
    if read_back:
        rt = threading.Thread(target=reader, daemon=True)
        rt.start()
    sh = hashlib.sha256()
    try:
        for chunk in pattern_chunks(seed, nbytes):
            s.sendall(chunk)
            sh.update(chunk)
            res["sent"] += len(chunk)
        if half_close:
            s.shutdown(socket.SHUT_WR)
    except ConnectionResetError as e:
        res["reset"] = True
        res["error"] = res["error"] or "send: %s" % e
    except OSError as e:
        res["error"] = res["error"] or "send: %s: %s" % (type(e).__name__, e)
    res["sent_sha"] = sh.hexdigest()
    if rt is not None:
        rt.join(max(0.1, deadline - time.monotonic()))
        if rt.is_alive():
            res["error"] = res["error"] or "timeout: no EOF after %.0fs (%d bytes read)" % (
                timeout, res["received"])
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            rt.join(2)
    res["recv_sha"] = rh.hexdigest()
    s.close()
    return res


def expect_reset(port, timeout=10.0, send=b""):
    """Connect, optionally send, then read: return what happened as a string:
    "reset" (ECONNRESET), "eof" (clean EOF with zero bytes), "data:<n>" or
    "timeout"."""
    try:
        s = socket.create_connection((LOOP, port), timeout=5)
    except ConnectionResetError:
        # tether accepted, the stream was refused and the RST came back before
        # the non-blocking connect() was confirmed: still a reset
        return "reset"
    s.settimeout(timeout)
    try:
        if send:
            s.sendall(send)
        got = 0
        while True:
            b = s.recv(65536)
            if not b:
                return "eof" if got == 0 else "data:%d" % got
            got += len(b)
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return "error:%s" % e
    finally:
        s.close()


# ---------------------------------------------------------------------------
# PKI: thin layer over gen_certs (written with both tether and openssl)

def _field(obj, *names):
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    raise Failure("gen_certs result %r has none of the fields %s" % (obj, names))


class Cert:
    """A certificate and key pair made by gen_certs (paths are absolute)."""

    def __init__(self, raw, name):
        self.raw = raw
        self.name = name
        self.cert = os.path.abspath(_field(raw, "chain", "cert", "crt", "cert_path", "certfile"))
        self.key = os.path.abspath(_field(raw, "key", "key_path", "keyfile"))
        if os.path.exists(self.key):
            # tether refuses group/other-readable keys; that is not what these tests test
            os.chmod(self.key, 0o600)


class CA(Cert):
    pass


def gen_certs():
    import gen_certs as g  # tests/integration/gen_certs.py
    return g


class PKI:
    """Certificates for one test. tool: "tether", "openssl", or "mixed" (the
    default: CAs by openssl, nodes alternately by tether and openssl, so each
    tool's output meets the other's)."""

    def __init__(self, env, tool=None):
        self.env = env
        self.tool = tool or PKI_TOOL
        self.dir = os.path.join(env.dir, "pki")
        self.count = 0
        os.makedirs(self.dir, exist_ok=True)

    def _tool(self, tool, ca):
        if tool:
            return tool
        if self.tool != "mixed":
            return self.tool
        if ca:
            return "openssl"
        self.count += 1
        return "tether" if self.count % 2 else "openssl"

    def ca(self, name, tool=None, **kw):
        return CA(gen_certs().make_ca(self.dir, name, tool=self._tool(tool, True), **kw), name)

    def node(self, ca, name, tool=None, **kw):
        for k in ("not_before", "not_after"):
            if hasattr(kw.get(k), "timestamp"):
                kw[k] = int(kw[k].timestamp())
        return Cert(gen_certs().make_node(ca.raw, name, tool=self._tool(tool, False), **kw), name)

    def crl(self, ca, revoked, **kw):
        return os.path.abspath(gen_certs().make_crl(ca.raw, revoked=[c.raw for c in revoked], **kw))

    def pin(self, cert):
        p = gen_certs().spki_pin(cert.cert if isinstance(cert, Cert) else cert)
        return p if p.startswith("sha256/") else "sha256/" + p


# ---------------------------------------------------------------------------
# tether nodes

FAST = {
    "keepalive": {"interval_ms": int(500 * TIME_SCALE), "timeout_ms": int(3000 * TIME_SCALE)},
    "reconnect": {"min_ms": 100, "max_ms": 1000},
}


# systemd's variables for the service it runs (sd_notify(3)); set per node only.
_MANAGER_VARS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


class Node:
    """One tether process: config builder, start/stop, log access.

    Config paths are written relative to the config file's folder."""

    def __init__(self, env, name, cert, ca, listen=True, fast=True, crl=None, extra=None):
        self.env = env
        self.name = name
        self.dir = os.path.join(env.dir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.cfg_path = os.path.join(self.dir, name + ".json")
        self.log_path = os.path.join(self.dir, name + ".log")
        self.cert = cert
        self.ca = ca
        self.port = free_port() if listen else None
        self.addr = "%s:%d" % (LOOP, self.port) if listen else None
        self.proc = None
        self.starts = 0
        self.start_mark = 0
        self.environ = {}  # added to the process's environment at start()
        self.cfg = {
            "node": name,
            "identity": {"cert": self.rel(cert.cert), "key": self.rel(cert.key),
                     "ca": self.rel(ca.cert)},
            "peers": {},
            "log": {"level": "info", "format": "text"},
        }
        if crl:
            self.cfg["identity"]["crl"] = self.rel(crl)
        if listen:
            self.cfg["listen"] = self.addr
        if fast:
            self.cfg.update(json.loads(json.dumps(FAST)))
        if extra:
            self.cfg.update(extra)
        env.nodes.append(self)

    def rel(self, path):
        return os.path.relpath(path, self.dir)

    # -- config builder
    def add_peer(self, other, dial=False, id=None, pin=None, name=None):
        """Name other (a Node or a name) as a peer; dial=True adds its connect address."""
        pname = name or (other.name if isinstance(other, Node) else other)
        p = {}
        if dial:
            p["connect"] = other.addr
        if id:
            p["id"] = id
        if pin:
            p["pin"] = pin
        self.cfg.setdefault("peers", {})[pname] = p
        return self

    def add_service(self, name, target, allow):
        if isinstance(target, int):
            target = "%s:%d" % (LOOP, target)
        elif isinstance(target, _Server):
            target = target.addr
        allow = [a.name if isinstance(a, Node) else a for a in allow]
        self.cfg.setdefault("services", {})[name] = {"target": target, "allow": allow}
        return self

    def add_forward(self, peer, service, port=None):
        """Forward a new local port to peer's service; returns the local port."""
        port = port or free_port()
        pname = peer.name if isinstance(peer, Node) else peer
        self.cfg.setdefault("forwards", []).append(
            {"listen": "%s:%d" % (LOOP, port), "peer": pname, "service": service})
        return port

    def write_config(self):
        cfg = dict(self.cfg)
        if not cfg.get("peers"):
            cfg.pop("peers", None)
        with open(self.cfg_path, "w") as f:
            json.dump(cfg, f, indent=2)
        return self.cfg_path

    # -- process
    def start(self, wait=True, timeout=10.0):
        check(self.proc is None or self.proc.poll() is not None,
              "%s: start while running" % self.name)
        self.write_config()
        self.start_mark = self.mark()
        with open(self.log_path, "ab") as lf:
            lf.write(("# harness: start #%d\n" % (self.starts + 1)).encode())
            self.proc = subprocess.Popen([TETHER, "run", "-c", self.cfg_path], stdin=subprocess.DEVNULL,
                             stdout=lf, stderr=lf, cwd=self.dir, env=self._environ())
        self.starts += 1
        if wait:
            ports = []
            if self.cfg.get("listen"):
                ports.append(self.port)
            ports += [int(f["listen"].rsplit(":", 1)[1]) for f in self.cfg.get("forwards", [])]
            try:
                for p in ports:
                    wait_listening(p, timeout, self.proc)
            except Failure as e:
                raise Failure("%s did not start: %s\n%s" % (self.name, e, self.tail()))
        return self

    def _environ(self):
        # A service manager running the tests is not the agents' manager.
        e = {k: v for k, v in os.environ.items() if k not in _MANAGER_VARS}
        e.update(self.environ)
        return e

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        check(self.running(), "%s: not running (rc=%s)" % (self.name, self.proc and self.proc.returncode))
        self.proc.send_signal(sig)

    def stop(self, timeout=15.0, expect_rc=0, sig=signal.SIGTERM):
        """SIGTERM, wait, and check the exit code (default 0). Returns the code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            timeout *= TIME_SCALE
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise Failure("%s did not exit within %.0fs of %s (killed)\n%s" % (
                    self.name, timeout, signal.Signals(sig).name, self.tail()))
        rc = self.proc.returncode
        if expect_rc is not None and rc != expect_rc:
            raise Failure("%s exited with %s, expected %s\n%s" % (self.name, rc, expect_rc, self.tail()))
        if rc == 0:
            self.check_no_allocs()
        return rc

    def check_no_allocs(self):
        """The agent makes no malloc after start-up: its exit line counts them."""
        ex = self.events("exit", self.start_mark)
        if ex and "allocs_after_start" in ex[-1]:
            check(ex[-1]["allocs_after_start"] == "0",
                  "%s: allocations after start-up: %s" % (self.name, ex[-1]["_line"]))

    def wait_exit(self, timeout=15.0):
        """Wait for the process to exit on its own; returns the exit code."""
        timeout *= TIME_SCALE
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise Failure("%s did not exit within %.0fs (killed)\n%s" % (self.name, timeout,
                                                                          self.tail()))

    def kill(self):
        """kill -9 and reap."""
        if self.running():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(5)

    # -- logs
    def lines(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return []

    def mark(self):
        """A cursor: the number of log lines so far; pass as since= to see only newer ones."""
        return len(self.lines())

    def events(self, event=None, since=0, **match):
        out = []
        for line in self.lines()[since:]:
            rec = parse_log_line(line)
            if not rec:
                continue
            if event is not None and rec.get("event") != event:
                continue
            if _matches(rec, match):
                rec["_line"] = line
                out.append(rec)
        return out

    def wait_for(self, event, timeout=10.0, since=0, **match):
        """Wait for a log line with event= and the given fields (str exact, re.Pattern
        searched, or a predicate); returns the parsed line."""
        timeout *= TIME_SCALE
        deadline = time.monotonic() + timeout
        while True:
            ev = self.events(event, since, **match)
            if ev:
                return ev[0]
            if time.monotonic() > deadline:
                break
            if self.proc is not None and self.proc.poll() is not None:
                ev = self.events(event, since, **match)
                if ev:
                    return ev[0]
                raise Failure("%s exited (rc=%s) while waiting for %s\n%s" % (
                    self.name, self.proc.returncode, fmt_match(event, match), self.tail()))
            time.sleep(0.02)
        seen = self.events(event, since) if event else []
        raise Failure("%s: no log line %s within %.1fs%s\n%s" % (
            self.name, fmt_match(event, match), timeout,
            ("; lines with event=%s: %s" % (event, [e["_line"] for e in seen[-5:]])) if seen else "",
            self.tail(since=since)))

    def wait_for_log(self, regex, timeout=10.0, since=0):
        """Wait for a raw line matching regex; returns the line."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines()[since:]:
                if rx.search(line):
                    return line
            if time.monotonic() > deadline:
                raise Failure("%s: no log line /%s/ within %.1fs\n%s" % (
                    self.name, regex, timeout, self.tail(since=since)))
            if self.proc is not None and self.proc.poll() is not None:
                for line in self.lines()[since:]:
                    if rx.search(line):
                        return line
                raise Failure("%s exited (rc=%s) while waiting for /%s/\n%s" % (
                    self.name, self.proc.returncode, regex, self.tail()))
            time.sleep(0.02)

    def tail(self, n=30, since=0):
        ls = self.lines()[since:]
        body = "\n".join("    " + l for l in ls[-n:])
        return "  --- %s log (%s, last %d of %d lines) ---\n%s" % (
            self.name, self.log_path, min(n, len(ls)), len(ls), body)


# ---------------------------------------------------------------------------
# One test file = one Env

class Env:
    def __init__(self, name, budget=None):
        check(TETHER and os.access(TETHER, os.X_OK), "TETHER must name the tether binary (got %r)" % TETHER)
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="tether-it-%s-" % name)
        self.nodes = []
        self.servers = []
        self.passed = 0
        self.failed = 0
        self.failures = []
        self._pki = None
        budget = budget or float(os.environ.get("TETHER_TEST_TIMEOUT", "115"))
        self._done = threading.Event()
        self._wd = threading.Thread(target=self._watchdog, args=(budget,), daemon=True)
        self._wd.start()
        print("%s: tether=%s dir=%s" % (name, TETHER, self.dir), flush=True)

    def _watchdog(self, budget):
        if self._done.wait(budget):
            return
        print("FAIL %s: watchdog: test ran past %.0fs" % (self.name, budget), flush=True)
        for n in self.nodes:
            print(n.tail(40), flush=True)
            try:
                n.kill()
            except Exception:
                pass
        print("%d passed, %d failed" % (self.passed, self.failed + 1), flush=True)
        os._exit(1)

    @property
    def pki(self):
        if self._pki is None:
            self._pki = PKI(self)
        return self._pki

    def node(self, name, cert=None, ca=None, **kw):
        """A Node; cert defaults to a fresh certificate for name from ca."""
        if cert is None:
            cert = self.pki.node(ca, name)
        return Node(self, name, cert, ca, **kw)

    def server(self, srv):
        self.servers.append(srv)
        return srv

    def case(self, title, fn, *args, **kw):
        """Run one sub-case; print ok/FAIL with the log lines written during it."""
        marks = {n: n.mark() for n in self.nodes}
        t0 = time.monotonic()
        try:
            r = fn(*args, **kw)
        except Exception as e:
            self.failed += 1
            self.failures.append(title)
            if isinstance(e, Failure):
                msg = str(e)
            else:
                msg = "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
            print("FAIL %s (%.1fs): %s" % (title, time.monotonic() - t0, msg), flush=True)
            if "--- " not in msg:
                for n in self.nodes:
                    if n.starts:
                        print(n.tail(25, since=marks.get(n, 0)), flush=True)
            return False
        self.passed += 1
        print("ok   %s (%.1fs)" % (title, time.monotonic() - t0), flush=True)
        return r if r is not None else True

    def setup(self, title, fn, *args, **kw):
        """Like case() but a failure ends the file (everything after depends on it)."""
        r = self.case(title, fn, *args, **kw)
        if r is False:
            self.finish()
        return r

    def finish(self):
        """Stop running nodes (each must exit 0 on SIGTERM), print the tally, exit."""
        running = [n for n in self.nodes if n.running()]
        if running:
            def stop_all():
                errs = []
                for n in running:
                    try:
                        n.stop()
                    except Failure as e:
                        errs.append(str(e))
                check(not errs, "\n".join(errs))
            self.case("nodes exit 0 on SIGTERM (%s)" % ",".join(n.name for n in running), stop_all)
        for n in self.nodes:
            if n.running():
                n.kill()
        for s in self.servers:
            s.close()
        self._done.set()
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        if self.failed:
            print("failed: " + "; ".join(self.failures), flush=True)
        if KEEP or self.failed:
            print("kept %s" % self.dir, flush=True) if KEEP else None
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)
        sys.stdout.flush()
        os._exit(1 if self.failed else 0)


def run_tether(args, timeout=30, cwd=None, input=None):
    """Run the tether CLI; returns (rc, stdout, stderr)."""
    p = subprocess.run([TETHER] + list(args), capture_output=True, timeout=timeout * TIME_SCALE, cwd=cwd,
               input=input, stdin=None if input is not None else subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# Common fixtures

def pair(env, ca=None, a_name="A", b_name="B"):
    """A listens, B dials A. Returns (a, b) not yet started."""
    ca = ca or env.pki.ca("ca")
    a = env.node(a_name, ca=ca)
    b = env.node(b_name, ca=ca, listen=False)
    a.add_peer(b)
    b.add_peer(a, dial=True)
    return a, b


def provoke_no_client_cert(node, ca):
    """A TLS client without a certificate at node's listener; waits for node's refusal."""
    import ssl
    ctx = ssl.create_default_context(cafile=ca.cert)
    ctx.check_hostname = False
    try:
        with socket.create_connection((LOOP, node.port), timeout=5) as s:
            with ctx.wrap_socket(s) as t:
                t.recv(1)
    except (OSError, ssl.SSLError):
        pass
    return node.wait_for("handshake_fail", 5, reason="no client certificate")


def wait_session(a, b, since_a=0, since_b=0, timeout=15.0):
    """Wait for session_up on both sides (a sees peer b, b sees peer a)."""
    ua = a.wait_for("session_up", timeout, since_a, peer=b.name)
    ub = b.wait_for("session_up", timeout, since_b, peer=a.name)
    return ua, ub


def check_transfer(res, n, what, echo=False, sink=None):
    """Check a tcp_client result: all sent, and for echo all read back byte-exact."""
    check(res["sent"] == n, "%s: sent %d of %d bytes (%s)" % (what, res["sent"], n, res["error"]))
    if echo:
        check(res["received"] == n and res["recv_sha"] == res["sent_sha"],
              "%s: echo mismatch: sent %d sha %s, got back %d sha %s (error %s, eof %s)" % (
                  what, n, res["sent_sha"][:16], res["received"], res["recv_sha"][:16],
                  res["error"], res["eof"]))
        check(res["eof"], "%s: no EOF after the echo (%s)" % (what, res["error"]))
