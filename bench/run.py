#!/usr/bin/env python3
"""bench/run.py: tether's throughput and memory next to reference runs, in one invocation.

Everything runs on 127.0.0.1. One sink process counts bytes (no hashing in the
timed path; the first 64 bytes of every connection are compared with what was
sent, and every byte is counted). One pusher process sends. Between them:

  tcp      nothing: the pusher connects to the sink directly (loopback ceiling)
  stunnel  two stunnel processes, client mode -> server mode, TLS 1.3,
           TLS_AES_128_GCM_SHA256, mutual certificate verification with the
           same P-256 certificates tether uses (a conventional TLS proxy pair)
  tether   two tether nodes: B forwards a local port to A's service, whose
           target is the sink; same suite, same certificates

Parts: (1) one stream of --mib MiB, MB/s measured at the sink and the CPU
seconds the tunnel processes used (utime+stime from /proc/<pid>/stat);
(2) --streams concurrent connections of --stream-mib MiB each, total MB/s
and wall time; (3) VmRSS/VmHWM of every tunnel process at idle, with one open
connection, after (1) and after (2), and for tether the session_up mem= and
handshake_peak= fields and the SIGUSR1 status line's heap_used/heap_peak;
(4) --conns connections of 4 KiB at once: connections per second and tunnel
CPU per connection; (5) system calls per MB: one more stream of --syscall-mib
MiB with each tunnel process under strace -c (counted, not timed); (6) server
CPU (and instructions, where perf can count them) per full TLS 1.3 mTLS
handshake, from openssl s_client against each tunnel's TLS server.
The AEAD micro-benchmark table has its own section, apart from these.

MB is 10^6 bytes, MiB 2^20. Python 3 standard library only. Not a test: it
measures and prints; it fails only if a transfer is incomplete or a process
misbehaves. Usage: bench/run.sh [--quick] [options]; see --help.
"""

import argparse
import json
import os
import queue
import random
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

LOOP = "127.0.0.1"
MiB = 1 << 20
PREFIX = 64
SEED = 20240601
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")


def payload():
    """1 MiB of seeded pseudo-random bytes: the pusher sends it over and over."""
    return random.Random(SEED).randbytes(MiB)


# ---------------------------------------------------------------------------
# Child roles. The sink and the pusher run as separate processes so neither
# competes with the other (or with this script) for one interpreter lock.

def role_sink():
    """Listen on a port (printed first), then serve commands read from stdin:
    "expect K NOTIFY TIMEOUT" accepts K connections and reads each to EOF,
    then prints "result <json>"; with NOTIFY=1 it prints "first" when the
    first connection's first bytes arrive. "quit" ends it."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((LOOP, 0))
    ls.listen(1024)
    want = payload()[:PREFIX]
    print("port %d" % ls.getsockname()[1], flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        k, notify, timeout = int(parts[1]), parts[2] == "1", float(parts[3])
        if k == 1:
            res = sink_one(ls, want, notify, timeout)
        else:
            res = sink_many(ls, want, k, timeout)
        print("result " + json.dumps(res), flush=True)


def sink_one(ls, want, notify, timeout):
    """One connection, a plain blocking read loop into one buffer."""
    res = {"bytes": [], "prefix_bad": 0, "errors": [], "t_accept": None, "t_eof": None}
    ls.settimeout(timeout)
    try:
        c, _ = ls.accept()
    except OSError as e:
        res["errors"].append("accept: %s" % e)
        return res
    res["t_accept"] = time.monotonic()
    c.settimeout(timeout)
    buf = bytearray(1 << 20)
    mv = memoryview(buf)
    head = b""
    n = 0
    try:
        while True:
            r = c.recv_into(mv)
            if r == 0:
                break
            if len(head) < PREFIX:
                head += bytes(mv[:min(r, PREFIX - len(head))])
                if notify and n == 0:
                    print("first", flush=True)
            n += r
    except OSError as e:
        res["errors"].append("recv: %s" % e)
    res["t_eof"] = time.monotonic()
    c.close()
    res["bytes"].append(n)
    if head != want[:len(head)] or (n >= PREFIX and len(head) < PREFIX):
        res["prefix_bad"] += 1
    return res


def sink_many(ls, want, k, timeout):
    """k connections at once, one thread, epoll through selectors."""
    res = {"bytes": [], "prefix_bad": 0, "errors": [], "t_accept": None, "t_eof": None}
    sel = selectors.DefaultSelector()
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ, None)
    buf = bytearray(1 << 20)
    mv = memoryview(buf)
    accepted = done = 0
    deadline = time.monotonic() + timeout
    while done < k:
        left = deadline - time.monotonic()
        if left <= 0:
            res["errors"].append("timeout: %d accepted, %d finished of %d" % (accepted, done, k))
            break
        for key, _ in sel.select(min(left, 1.0)):
            if key.data is None:
                while accepted < k:
                    try:
                        c, _ = ls.accept()
                    except BlockingIOError:
                        break
                    if res["t_accept"] is None:
                        res["t_accept"] = time.monotonic()
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, {"n": 0, "head": b""})
                    accepted += 1
                continue
            st, c = key.data, key.fileobj
            try:
                r = c.recv_into(mv)
            except BlockingIOError:
                continue
            except OSError as e:
                res["errors"].append("recv: %s" % e)
                r = 0
            if r:
                if len(st["head"]) < PREFIX:
                    st["head"] += bytes(mv[:min(r, PREFIX - len(st["head"]))])
                st["n"] += r
                continue
            sel.unregister(c)
            c.close()
            done += 1
            res["bytes"].append(st["n"])
            if st["head"] != want[:len(st["head"])] or (st["n"] >= PREFIX and
                                                         len(st["head"]) < PREFIX):
                res["prefix_bad"] += 1
    res["t_eof"] = time.monotonic()
    for key in list(sel.get_map().values()):
        if key.fileobj is not ls:
            key.fileobj.close()
    sel.close()
    ls.setblocking(True)
    return res


def role_push(port, conns, nbytes, timeout):
    """conns connections (one thread each) push nbytes each, half-close, wait for
    EOF. Prints one JSON line: t0 (before the first connect), t1, errors."""
    data = memoryview(payload())
    errors = []
    lock = threading.Lock()

    def one():
        try:
            s = socket.create_connection((LOOP, port), timeout=timeout)
            left = nbytes
            while left > 0:
                k = min(left, len(data))
                s.sendall(data[:k])
                left -= k
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
            s.close()
        except OSError as e:
            with lock:
                errors.append("%s: %s" % (type(e).__name__, e))

    t0 = time.monotonic()
    if conns == 1:
        one()
    else:
        ts = [threading.Thread(target=one, daemon=True) for _ in range(conns)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout)
    print(json.dumps({"t0": t0, "t1": time.monotonic(), "errors": errors[:5],
                      "nerrors": len(errors)}), flush=True)


# ---------------------------------------------------------------------------
# /proc readings

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """utime+stime of the whole process (all threads), seconds."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_mem(pid):
    """(VmRSS, VmHWM) in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def listening(port):
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if len(p) > 3 and p[3] == "0A" and int(p[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((LOOP, 0))
    p = s.getsockname()[1]
    s.close()
    return p


class BenchError(Exception):
    pass


def wait_until(cond, timeout, what, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise BenchError("%s: process exited (rc=%s)%s" % (what, proc.returncode,
                                                              tail(log)))
        if time.monotonic() > deadline:
            raise BenchError("%s: not within %.0fs%s" % (what, timeout, tail(log)))
        time.sleep(0.02)


def tail(path, n=15):
    if not path:
        return ""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return ""
    return "\n  --- %s ---\n  " % os.path.basename(path) + "\n  ".join(lines[-n:])


# ---------------------------------------------------------------------------
# Processes this script starts (all of them, so cleanup can find them)

PROCS = []


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    PROCS.append(p)
    return p


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except OSError:
                pass
    deadline = time.monotonic() + 5
    for p in PROCS:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


class Sink:
    def __init__(self):
        self.p = spawn([sys.executable, os.path.abspath(__file__), "_sink"],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        line = self.line(10)
        self.port = int(line.split()[1])

    def _read(self):
        for line in self.p.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def line(self, timeout):
        try:
            line = self.q.get(timeout=timeout)
        except queue.Empty:
            raise BenchError("sink: no answer within %.0fs" % timeout)
        if line is None:
            raise BenchError("sink exited")
        return line

    def expect(self, k, notify=False, timeout=60):
        self.p.stdin.write("expect %d %d %g\n" % (k, 1 if notify else 0, timeout))
        self.p.stdin.flush()

    def wait_first(self, timeout):
        line = self.line(timeout)
        if line != "first":
            raise BenchError("sink: expected 'first', got %r" % line)

    def result(self, timeout):
        line = self.line(timeout)
        if not line.startswith("result "):
            raise BenchError("sink: unexpected %r" % line)
        return json.loads(line[7:])


# ---------------------------------------------------------------------------
# The two tunnels

def parse_kv(line):
    return {m.group(1): m.group(2).strip('"')
            for m in re.finditer(r'([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\S*)', line)}


class Stunnel:
    name = "stunnel"

    def __init__(self, exe, d, pki, sink_port, suite):
        self.exe, self.dir, self.suite = exe, d, suite
        self.srv_port, self.port = free_port(), free_port()
        # syslog = no: with no syslog daemon the C library would copy every log line
        # to the console (LOG_CONS), which on a serial console costs milliseconds
        common = ["foreground = yes", "syslog = no", "pid =", "debug = info", "[tunnel]",
                  "CAfile = %s" % pki["ca"], "verifyChain = yes",
                  "sslVersionMin = TLSv1.3", "ciphersuites = %s" % suite,
                  # tether sets TCP_NODELAY on every socket it opens; so does this pair
                  "socket = l:TCP_NODELAY=1", "socket = r:TCP_NODELAY=1"]
        srv = common + ["accept = %s:%d" % (LOOP, self.srv_port),
                        "connect = %s:%d" % (LOOP, sink_port),
                        "cert = %s" % pki["A"][0], "key = %s" % pki["A"][1],
                        "requireCert = yes"]
        cli = common + ["client = yes", "accept = %s:%d" % (LOOP, self.port),
                        "connect = %s:%d" % (LOOP, self.srv_port),
                        "cert = %s" % pki["B"][0], "key = %s" % pki["B"][1]]
        self.procs, self.logs = [], []
        for role, lines in (("server", srv), ("client", cli)):
            conf = os.path.join(d, "stunnel-%s.conf" % role)
            log = os.path.join(d, "stunnel-%s.log" % role)
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            with open(log, "wb") as lf:
                p = spawn([exe, conf], stdin=subprocess.DEVNULL, stdout=lf, stderr=lf, cwd=d)
            self.procs.append(p)
            self.logs.append(log)
            port = self.srv_port if role == "server" else self.port
            wait_until(lambda: listening(port), 10, "stunnel %s listening" % role, p, log)
        self.labels = ["stunnel server", "stunnel client"]
        self.server_port = self.srv_port

    def pids(self):
        return [p.pid for p in self.procs]

    def suite_seen(self):
        with open(self.logs[1], errors="replace") as f:
            m = re.search(r"(TLSv1\.\d) ciphersuite: (\S+)", f.read())
        if not m or m.group(1) != "TLSv1.3" or m.group(2) != self.suite:
            raise BenchError("stunnel negotiated %s, not TLSv1.3 %s" % (
                m and m.group(0), self.suite))
        return "%s %s" % (m.group(1), m.group(2))

    def extra(self, phase):
        return {}

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        return []


class Tether:
    name = "tether"

    def __init__(self, exe, d, pki, sink_port, suite, window=None):
        self.exe, self.dir, self.suite = exe, d, suite
        a_port, self.port = free_port(), free_port()
        tls = {"min_version": "1.3", "ciphersuites": [suite]}
        ident = lambda n: {"cert": pki[n][0], "key": pki[n][1], "ca": pki["ca"]}
        cfg_a = {"node": "A", "identity": ident("A"), "listen": "%s:%d" % (LOOP, a_port),
                 "peers": {"B": {"id": pki["uri"]("B")}},
                 "services": {"sink": {"target": "%s:%d" % (LOOP, sink_port), "allow": ["B"]}},
                 "tls": tls}
        cfg_b = {"node": "B", "identity": ident("B"),
                 "peers": {"A": {"connect": "%s:%d" % (LOOP, a_port), "id": pki["uri"]("A")}},
                 "forwards": [{"listen": "%s:%d" % (LOOP, self.port), "peer": "A",
                               "service": "sink"}],
                 "tls": tls}
        if window:
            cfg_a["limits"] = cfg_b["limits"] = {"stream_window": window}
        self.server_port = a_port
        self.procs, self.logs, self.labels = [], [], ["tether A (service)", "tether B (forward)"]
        for name, cfg in (("A", cfg_a), ("B", cfg_b)):
            path = os.path.join(d, "tether-%s.json" % name)
            log = os.path.join(d, "tether-%s.log" % name)
            with open(path, "w") as f:
                json.dump(cfg, f, indent=2)
            with open(log, "wb") as lf:
                p = spawn([exe, "run", "-c", path], stdin=subprocess.DEVNULL, stdout=lf,
                          stderr=lf, cwd=d)
            self.procs.append(p)
            self.logs.append(log)
        self.up = []
        for p, log in zip(self.procs, self.logs):
            wait_until(lambda: self.events(log, "session_up"), 15, "tether session_up", p, log)
            self.up.append(self.events(log, "session_up")[0])
        wait_until(lambda: listening(self.port), 10, "tether forward listening", self.procs[1],
                   self.logs[1])

    @staticmethod
    def events(log, event):
        with open(log, errors="replace") as f:
            return [kv for kv in map(parse_kv, f.read().splitlines())
                    if kv.get("event") == event]

    def pids(self):
        return [p.pid for p in self.procs]

    def suite_seen(self):
        u = self.up[1]
        # tether names suites the mbedTLS way: TLS1-3-AES-128-GCM-SHA256
        if u.get("tls") != "1.3" or u.get("suite") != "TLS1-3-" + self.suite[4:].replace("_", "-"):
            raise BenchError("tether negotiated %s %s, not TLS 1.3 %s" % (
                u.get("tls"), u.get("suite"), self.suite))
        return "TLSv%s %s" % (u.get("tls"), u.get("suite"))

    def status(self):
        """SIGUSR1 to both nodes; their new status lines, parsed."""
        before = [len(self.events(log, "status")) for log in self.logs]
        for p in self.procs:
            p.send_signal(signal.SIGUSR1)
        out = []
        for p, log, n in zip(self.procs, self.logs, before):
            wait_until(lambda: len(self.events(log, "status")) > n, 5, "tether status", p, log)
            out.append(self.events(log, "status")[n])
        return out

    def extra(self, phase):
        st = self.status()
        return {"heap_used": [s.get("heap_used") for s in st],
                "heap_peak": [s.get("heap_peak") for s in st],
                "streams_high": [s.get("streams_high") for s in st],
                "mem_node": [s.get("mem_node") for s in st],
                "heap_size": [s.get("heap_size") for s in st]}

    def stop(self):
        """SIGTERM; returns the exit lines (allocs_after_start)."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        notes = []
        for p, log, label in zip(self.procs, self.logs, self.labels):
            try:
                rc = p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
                rc = "killed"
            ex = self.events(log, "exit")
            notes.append("%s: exit rc=%s allocs_after_start=%s" % (
                label, rc, ex[-1].get("allocs_after_start") if ex else "?"))
        return notes


# ---------------------------------------------------------------------------
# Measurements

def transfer(sink, port, pids, conns, nbytes, timeout):
    """Push conns x nbytes through port; returns figures or raises."""
    cpu0 = [proc_cpu(p) for p in pids]
    sink.expect(conns, timeout=timeout)
    push = subprocess.Popen([sys.executable, os.path.abspath(__file__), "_push", str(port),
                             str(conns), str(nbytes), str(timeout)],
                            stdout=subprocess.PIPE, text=True)
    PROCS.append(push)
    try:
        out, _ = push.communicate(timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        push.kill()
        push.communicate()
        raise BenchError("pusher did not finish within %.0fs" % timeout)
    res = sink.result(timeout + 5)
    cpu1 = [proc_cpu(p) for p in pids]
    pr = json.loads(out.strip().splitlines()[-1])
    total = sum(res["bytes"])
    if (pr["nerrors"] or res["errors"] or res["prefix_bad"] or len(res["bytes"]) != conns
            or any(b != nbytes for b in res["bytes"])):
        raise BenchError("incomplete transfer: %d of %d connections, %d of %d bytes, "
                         "%d bad prefixes, pusher errors %s, sink errors %s" % (
                             len(res["bytes"]), conns, total, conns * nbytes,
                             res["prefix_bad"], pr["errors"], res["errors"][:3]))
    stream_s = res["t_eof"] - res["t_accept"]
    wall_s = res["t_eof"] - pr["t0"]
    cpu = sum(b - a for a, b in zip(cpu0, cpu1))
    return {"bytes": total, "stream_s": stream_s, "wall_s": wall_s,
            "mbps": total / 1e6 / (stream_s if conns == 1 else wall_s),
            "cpu": cpu if pids else None,
            "mb_per_cpu": total / 1e6 / cpu if pids and cpu > 0 else None}


def strace_counts(pids, fn):
    """Run fn() with every tunnel process under `strace -c -f` (one strace each,
    attached to all its threads); returns fn's result and, per process,
    {"total": calls, "top": [(calls, name), ...]}. strace slows the processes
    down: these runs count system calls, they are not timed."""
    tracers, outs = [], []
    for pid in pids:
        out = tempfile.mktemp(prefix="strace-%d-" % pid)
        tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
        argv = ["strace", "-c", "-f", "-U", "calls,name", "-o", out]
        for t in tids:
            argv += ["-p", str(t)]
        tracers.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True))
        outs.append(out)
    for tr in tracers:  # strace says "Process N attached" once it holds each thread
        line = tr.stderr.readline()
        if "attached" not in line:
            raise BenchError("strace could not attach: %s" % line.strip())
    time.sleep(0.2)
    try:
        res = fn()
    finally:
        for tr in tracers:
            tr.send_signal(signal.SIGINT)
        for tr in tracers:
            try:
                tr.wait(15)
            except subprocess.TimeoutExpired:
                tr.kill()
                tr.wait(5)
    counts = []
    for out in outs:
        rows = []
        total = 0
        try:
            with open(out) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 2 and p[0].isdigit():
                        if p[1] == "total":
                            total = int(p[0])
                        else:
                            rows.append((int(p[0]), p[1]))
            os.unlink(out)
        except OSError:
            pass
        rows.sort(reverse=True)
        counts.append({"total": total, "top": rows[:4]})
    return res, counts


def perf_instructions_ok():
    """True if `perf stat` can count instructions here (not in most VMs)."""
    if not shutil.which("perf"):
        return False
    try:
        p = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", "--", "true"],
                           capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(l.split(",")[0].strip().isdigit() for l in p.stderr.splitlines())


def handshakes(t, pki, n, suite, group, use_perf):
    """n full TLS 1.3 handshakes with client certificates against the tunnel's
    TLS server (tether A's session listener, the stunnel server), one at a time
    from `openssl s_client` with node B's certificate; the server process's CPU
    seconds (and instructions, with perf) per handshake. Each client closes
    right after its handshake: for tether the session then ends before HELLO."""
    pid = t.pids()[0]
    perf = None
    if use_perf:
        pf = tempfile.mktemp(prefix="perf-")
        perf = subprocess.Popen(["perf", "stat", "-x,", "-e", "instructions", "-o", pf,
                                 "-p", str(pid)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(0.3)
    argv = ["openssl", "s_client", "-connect", "%s:%d" % (LOOP, t.server_port), "-tls1_3",
            "-ciphersuites", suite, "-groups", group, "-cert", pki["B"][0], "-key", pki["B"][1],
            "-CAfile", pki["ca"], "-verify_return_error", "-quiet", "-no_ign_eof"]
    cpu0 = proc_cpu(pid)
    failed = 0
    for _ in range(n):
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        failed += r.returncode != 0
    time.sleep(0.3)  # the server finishes with the last connection
    cpu = proc_cpu(pid) - cpu0
    instr = None
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        perf.wait(10)
        try:
            with open(pf) as f:
                for line in f:
                    v = line.split(",")[0].strip()
                    if v.isdigit():
                        instr = int(v) / n
            os.unlink(pf)
        except OSError:
            pass
    if failed:
        raise BenchError("%s: %d of %d handshakes failed (openssl s_client)" % (t.name, failed, n))
    return {"n": n, "cpu_ms": cpu * 1000 / n, "instructions": instr}


def memory(tunnels, phase, mem):
    for t in tunnels:
        rec = {"procs": [proc_mem(p) for p in t.pids()]}
        rec.update(t.extra(phase))
        mem.setdefault(t.name, {})[phase] = rec


def one_open_connection(sink, tunnels, mem, timeout):
    """Memory with one open, idle connection through each tunnel (4 KiB carried)."""
    data = payload()[:4096]
    for t in tunnels:
        sink.expect(1, notify=True, timeout=timeout)
        s = socket.create_connection((LOOP, t.port), timeout=timeout)
        s.sendall(data)
        sink.wait_first(timeout)
        time.sleep(0.2)
        memory([t], "1 conn", mem)
        s.shutdown(socket.SHUT_WR)
        res = sink.result(timeout)
        s.settimeout(timeout)
        while s.recv(65536):
            pass
        s.close()
        if res["bytes"] != [4096] or res["prefix_bad"]:
            raise BenchError("%s: one-connection check got %r" % (t.name, res))


# ---------------------------------------------------------------------------
# Output

def fmt_rate(x):
    return "%.0f MB/s" % x if x is not None else "-"


def row(label, cells, w0=38, w=22):
    print(label.ljust(w0) + "".join(c.ljust(w) for c in cells).rstrip())


def version_of(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def main():
    ap = argparse.ArgumentParser(description="tether benchmark: throughput, many streams and "
                                 "memory next to plain TCP and a stunnel pair (127.0.0.1)")
    ap.add_argument("--mib", type=int, help="MiB for the one-stream run (default 256; quick 32)")
    ap.add_argument("--streams", type=int, help="concurrent connections (default 100; quick 20)")
    ap.add_argument("--stream-mib", type=int, default=1, help="MiB per concurrent connection")
    ap.add_argument("--repeat", type=int, help="one-stream runs per setup, interleaved; the "
                    "median is shown (default 3; quick 1)")
    ap.add_argument("--quick", action="store_true", help="32 MiB, 20 streams, 1 repeat")
    ap.add_argument("--tether", default=os.environ.get("TETHER", ""),
                    help="tether binary (default $TETHER, else build/bench/tether)")
    ap.add_argument("--stunnel", default="", help="stunnel binary (default stunnel4 or stunnel)")
    ap.add_argument("--suite", default=SUITES[0], choices=SUITES,
                    help="TLS 1.3 suite both tunnels must use (default %(default)s)")
    ap.add_argument("--window", type=int, help="tether limits.stream_window in bytes "
                    "(default: tether's own default)")
    ap.add_argument("--only", default="aead,tcp,stunnel,tether", help="parts to run: aead "
                    "(the AEAD micro-benchmark) and the setups")
    ap.add_argument("--aead-bench", default="", help="aead_bench binary (default: bench/"
                    "aead_bench beside the tether binary's build)")
    ap.add_argument("--conns", type=int, help="connections at once for the connection rate "
                    "(default 200; quick 50)")
    ap.add_argument("--syscall-mib", type=int, help="MiB of the one-stream run under strace "
                    "that counts system calls (default 64; quick 16; 0: skip)")
    ap.add_argument("--handshakes", type=int, help="full mTLS handshakes against each tunnel's "
                    "TLS server for its CPU per handshake (default 200; quick 40; 0: skip)")
    ap.add_argument("--group", default="X25519", choices=("X25519", "P-256"),
                    help="key exchange the handshake client offers (default %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (configs, logs)")
    ap.add_argument("--timeout", type=float, help="whole-run limit, seconds (default 900; "
                    "quick 120)")
    ap.add_argument("--json", help="also write the figures to this file")
    o = ap.parse_args()
    o.mib = o.mib or (32 if o.quick else 256)
    o.streams = o.streams or (20 if o.quick else 100)
    o.repeat = o.repeat or (1 if o.quick else 3)
    o.timeout = o.timeout or (120 if o.quick else 900)
    o.conns = o.conns or (50 if o.quick else 200)
    o.syscall_mib = o.syscall_mib if o.syscall_mib is not None else (16 if o.quick else 64)
    o.handshakes = o.handshakes if o.handshakes is not None else (40 if o.quick else 200)
    only = set(o.only.split(","))
    tether = os.path.abspath(o.tether or os.path.join(ROOT, "build", "bench", "tether"))
    stunnel = o.stunnel or shutil.which("stunnel4") or shutil.which("stunnel")
    if not os.access(tether, os.X_OK):  # `tether pki` makes every setup's certificates
        sys.exit("run.py: no tether binary at %s (bench/run.sh builds one; or --tether)" % tether)
    if "stunnel" in only and not stunnel:
        sys.exit("run.py: stunnel4 not found (tools/setup.sh installs it; or --stunnel, or "
                 "--only tcp,tether)")

    d = tempfile.mkdtemp(prefix="tether-bench-")
    t_start = time.monotonic()

    def watchdog():
        time.sleep(o.timeout)
        print("run.py: past --timeout %.0fs, stopping" % o.timeout, flush=True)
        # the main thread then fails its next wait and cleans up; this is the backstop
        stop_all()
        time.sleep(10)
        print("work folder kept: %s" % d, flush=True)
        os._exit(1)
    threading.Thread(target=watchdog, daemon=True).start()
    signal.signal(signal.SIGTERM, on_term)

    load0 = loadavg()
    print("tether benchmark, 127.0.0.1 only; MB = 10^6 bytes")
    print("  machine: %d CPUs, %s; load average %s at start" % (
        os.cpu_count(), cpu_model(), load0))
    if "tether" in only:
        v = version_of([tether, "version"]).splitlines()
        print("  tether:  %s; %s" % (v[0].strip() if v else "?", " ".join(
            (v[1].split() if len(v) > 1 else [])[:2])))
    if "stunnel" in only:
        v = version_of([stunnel, "-version"]).splitlines()
        print("  stunnel: %s" % " / ".join(l.strip() for l in v if "stunnel" in l or
                                           "OpenSSL" in l)[:160])
    print("  plan: 1 stream of %d MiB x %d runs per setup (interleaved, median shown); "
          "%d concurrent streams of %d MiB; memory at each phase" % (
              o.mib, o.repeat, o.streams, o.stream_mib))
    print("  work folder: %s%s" % (d, " (kept)" if o.keep else ""), flush=True)

    ok = False
    notes = []
    figures = {"load_start": load0, "mib": o.mib, "streams": o.streams}
    if "aead" in only:
        figures["aead"] = aead_table(o.aead_bench or os.path.join(
            os.path.dirname(tether), "bench", "aead_bench"))
        if only == {"aead"}:
            shutil.rmtree(d, ignore_errors=True)
            return 0
    try:
        pki = make_pki(tether, d)
        sink = Sink()
        tunnels = []
        if "stunnel" in only:
            tunnels.append(Stunnel(stunnel, d, pki, sink.port, o.suite))
        if "tether" in only:
            tunnels.append(Tether(tether, d, pki, sink.port, o.suite, o.window))
        setups = ([("tcp", sink.port, [])] if "tcp" in only else []) + \
                 [(t.name, t.port, t.pids()) for t in tunnels]
        mem = {}
        memory(tunnels, "idle", mem)
        one_open_connection(sink, tunnels, mem, 20)
        for t in tunnels:
            print("  %s negotiated: %s" % (t.name, t.suite_seen()), flush=True)

        # (1) one stream
        nbytes = o.mib * MiB
        tmo = max(30.0, nbytes / 5e6)   # no slower than 5 MB/s
        runs = {name: [] for name, _, _ in setups}
        for r in range(o.repeat):
            for name, port, pids in setups:
                f = transfer(sink, port, pids, 1, nbytes, tmo)
                runs[name].append(f)
                print("  run %d %-8s %7.0f MB/s  %6.2f s%s" % (
                    r + 1, name, f["mbps"], f["stream_s"],
                    "  tunnel CPU %.2f s" % f["cpu"] if f["cpu"] is not None else ""),
                    flush=True)
        memory(tunnels, "after 1 stream", mem)

        # (2) many streams
        many = {}
        per = o.stream_mib * MiB
        for name, port, pids in setups:
            many[name] = transfer(sink, port, pids, o.streams, per,
                                  max(30.0, o.streams * per / 2e6))
            print("  %d streams %-8s %7.0f MB/s  %6.2f s wall" % (
                o.streams, name, many[name]["mbps"], many[name]["wall_s"]), flush=True)
        time.sleep(0.3)
        memory(tunnels, "after %d streams" % o.streams, mem)

        # (3) connection rate: many short connections at once
        conns = {}
        for name, port, pids in setups:
            conns[name] = transfer(sink, port, pids, o.conns, 4096, max(30.0, o.conns / 20.0))
            print("  %d connections %-8s %6.2f s wall" % (o.conns, name, conns[name]["wall_s"]),
                  flush=True)

        # (4) system calls per MB, one stream under strace (not timed)
        sysc = {}
        if o.syscall_mib > 0 and shutil.which("strace"):
            nb = o.syscall_mib * MiB
            for t in tunnels:
                _, sysc[t.name] = strace_counts(
                    t.pids(), lambda: transfer(sink, t.port, [], 1, nb, max(60.0, nb / 1e6)))
                print("  %s under strace: %s system calls" % (
                    t.name, " + ".join(str(c["total"]) for c in sysc[t.name])), flush=True)
        elif o.syscall_mib > 0:
            notes.append("system calls not counted: strace not installed")

        # (5) handshakes: server CPU per full TLS 1.3 mTLS handshake
        hs = {}
        use_perf = perf_instructions_ok()
        if o.handshakes > 0 and shutil.which("openssl"):
            for t in tunnels:
                hs[t.name] = handshakes(t, pki, o.handshakes, o.suite, o.group, use_perf)
                print("  %s: %d handshakes, %.2f ms server CPU each" % (
                    t.name, o.handshakes, hs[t.name]["cpu_ms"]), flush=True)
        elif o.handshakes > 0:
            notes.append("handshakes not measured: openssl not installed")
        time.sleep(0.3)
        memory(tunnels, "end", mem)
        load1 = loadavg()

        names = [n for n, _, _ in setups]
        med = {n: {k: (statistics.median([f[k] for f in runs[n]]) if runs[n][0][k] is not None
                       else None) for k in ("mbps", "cpu", "mb_per_cpu", "stream_s")}
               for n in names}
        print()
        cell = lambda n, v: "%s %s" % (n, v)
        row("throughput %d MiB, 1 stream" % o.mib,
            [cell(n, fmt_rate(med[n]["mbps"])) for n in names])
        if o.repeat > 1:
            row("  min..max of %d runs" % o.repeat,
                [cell(n, "%.0f..%.0f" % (min(f["mbps"] for f in runs[n]),
                                         max(f["mbps"] for f in runs[n]))) for n in names])
        row("  tunnel CPU seconds", [cell(n, "%.2f s" % med[n]["cpu"]
                                          if med[n]["cpu"] is not None else "-") for n in names])
        row("  MB per tunnel CPU-second", [cell(n, "%.0f" % med[n]["mb_per_cpu"]
                                                if med[n]["mb_per_cpu"] else "-") for n in names])
        row("%d streams x %d MiB" % (o.streams, o.stream_mib),
            [cell(n, fmt_rate(many[n]["mbps"])) for n in names])
        row("  wall time", [cell(n, "%.2f s" % many[n]["wall_s"]) for n in names])
        row("  tunnel CPU seconds", [cell(n, "%.2f s" % many[n]["cpu"]
                                          if many[n]["cpu"] is not None else "-") for n in names])
        row("  MB per tunnel CPU-second", [cell(n, "%.0f" % many[n]["mb_per_cpu"]
                                                if many[n]["mb_per_cpu"] else "-") for n in names])
        row("%d connections x 4 KiB at once" % o.conns,
            [cell(n, "%.0f conn/s" % (o.conns / conns[n]["wall_s"])) for n in names])
        row("  tunnel CPU per connection", [cell(n, "%.2f ms" % (conns[n]["cpu"] * 1000 / o.conns)
                                                 if conns[n]["cpu"] is not None else "-")
                                          for n in names])
        if sysc:
            mb = o.syscall_mib * MiB / 1e6
            tn = [t.name for t in tunnels]
            row("system calls per MB, %d MiB, 1 stream" % o.syscall_mib,
                [cell(n, "%.0f" % (sum(c["total"] for c in sysc[n]) / mb)) for n in tn])
            for i in range(2):
                row("  " + ("server side" if i == 0 else "client side"),
                    [cell(n, "%.0f" % (sysc[n][i]["total"] / mb)) for n in tn])
        if hs:
            row("handshake, server CPU (%d, %s)" % (o.handshakes, o.group),
                [cell(n, "%.2f ms" % hs[n]["cpu_ms"]) for n in hs])
            row("  instructions per handshake",
                [cell(n, "%.1f M" % (hs[n]["instructions"] / 1e6)
                      if hs[n]["instructions"] else "n/a") for n in hs])
        if sysc:
            print()
            print("system calls during the strace run (per process, most frequent first)")
            for t in tunnels:
                for i, label in enumerate(t.labels):
                    print("  %-22s %s" % (label, ", ".join(
                        "%s %d" % (nm, c) for c, nm in sysc[t.name][i]["top"])))
        if hs and not use_perf:
            print("  (instructions: perf cannot count them here, e.g. no PMU in a VM)")
        # The AEAD micro-benchmark (per suite and record size: tether's driver,
        # mbedTLS, OpenSSL) has its own section, printed by its own code.
        print()
        phases = ["idle", "1 conn", "after 1 stream", "after %d streams" % o.streams, "end"]
        print("memory per process, VmRSS / VmHWM in MiB (idle: started, tether's session up, "
              "no connection; 1 conn: one open connection that carried 4 KiB)")
        row("", phases, w=20)
        for t in tunnels:
            for i, label in enumerate(t.labels):
                row("  " + label, ["%.1f / %.1f" % (mem[t.name][ph]["procs"][i][0] / 1024,
                                                    mem[t.name][ph]["procs"][i][1] / 1024)
                                   for ph in phases], w=20)
            if t.name == "tether":
                for i, label in enumerate(t.labels):
                    row("  %s TLS heap used/peak, bytes" % label.split(" (")[0],
                        ["%s / %s" % (mem["tether"][ph]["heap_used"][i],
                                      mem["tether"][ph]["heap_peak"][i]) for ph in phases],
                        w=20)
                for i, label in enumerate(t.labels):
                    u, st = t.up[i], mem["tether"]["idle"]
                    print("  %s session_up: mem=%s handshake_peak=%s handshake_ms=%s; "
                          "reserved at start: node region %s B, TLS heap %s B" % (
                              label.split(" (")[0], u.get("mem"), u.get("handshake_peak"),
                              u.get("handshake_ms"), st["mem_node"][i], st["heap_size"][i]))
        for t in tunnels:
            notes += t.stop()
        for n in notes:
            print("  " + n)
        print("load average %s at start, %s at end; %.0f s in all" % (
            load0, load1, time.monotonic() - t_start))
        figures.update({"load_end": load1, "one_stream": runs, "many": many, "memory": mem,
                        "conns": conns, "syscalls": sysc, "handshakes": hs,
                        "session_up": {t.name: t.up for t in tunnels if t.name == "tether"}})
        if o.json:
            with open(o.json, "w") as f:
                json.dump(figures, f, indent=1)
        ok = all("rc=0" in n and "allocs_after_start=0" in n for n in notes)
        if not ok:
            print("run.py: a tunnel process did not exit cleanly (see above)")
    except BenchError as e:
        print("run.py: %s" % e, flush=True)
    except KeyboardInterrupt:
        print("run.py: interrupted", flush=True)
    finally:
        try:
            if "sink" in locals():
                sink.p.stdin.write("quit\n")
                sink.p.stdin.flush()
        except OSError:
            pass
        stop_all()
        if o.keep or not ok:
            print("work folder kept: %s" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    return 0 if ok else 1


def aead_table(exe, seconds=0.3):
    """The AEAD micro-benchmark (bench/aead_bench.c), printed as a table.

    Per suite and record size: MB per CPU-second of sealing and of opening one
    record at a time (fresh nonce, 13 bytes of associated data, in place) with
    tether's AEAD driver, mbedTLS's own code and OpenSSL's EVP, all in one
    process; CPU time, so other load slows the run more than it moves the
    figures. Returns {"suite/size": {"tether": (seal, open), ...}} or None
    when there is no aead_bench binary.
    """
    if not os.access(exe, os.X_OK):
        print("  AEAD: no %s (bench/run.sh builds it; needs libssl-dev)" % exe, flush=True)
        return None
    out = subprocess.run([exe, str(seconds)], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise BenchError("aead_bench failed: %s" % out.stderr.strip()[-300:])
    table, notes, codes = {}, [], {}
    for line in out.stdout.splitlines():
        kv = parse_kv(line)
        if "note" in kv:
            notes.append(line.split("note=", 1)[1])
            continue
        if "suite" not in kv:
            continue
        key = "%s/%s" % (kv["suite"], kv["size"])
        cell = table.setdefault(key, {}).setdefault(kv["impl"], [None, None])
        cell[0 if kv["op"] == "seal" else 1] = float(kv["mbps"])
        if "code" in kv:
            codes[kv["suite"]] = kv["code"]
    print("  AEAD, MB per CPU-second, seal / open, one record at a time (bench/aead_bench):")
    print("    %-18s %6s  %-13s  %-13s  %-13s  %s" % (
        "suite", "record", "tether", "mbedTLS", "OpenSSL", "tether/mbedTLS"))

    def cell(c):
        return "%5.0f / %5.0f" % tuple(c) if c and None not in c else "%13s" % "-"
    for key, impls in table.items():
        suite, size = key.split("/")
        t, m = impls.get("tether"), impls.get("mbedtls")
        ratio = "%.1fx" % ((t[0] + t[1]) / (m[0] + m[1])) if t and m else "-"
        print("    %-18s %6s  %s  %s  %s  %s" % (suite, size, cell(t), cell(m),
                                                cell(impls.get("openssl")), ratio))
    for suite, code in codes.items():
        print("    tether's code for %s: %s" % (suite, code))
    for n in notes:
        print("    note: %s" % n)
    sys.stdout.flush()
    return {k: {i: tuple(c) for i, c in v.items()} for k, v in table.items()}


def on_term(signum, frame):
    raise KeyboardInterrupt


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def make_pki(tether, d):
    """A CA and two P-256 node certificates, made with `tether pki` (stunnel reads them too)."""
    pd = os.path.join(d, "pki")
    uri = lambda n: "spiffe://bench.tether/%s" % n

    def run(args):
        p = subprocess.run([tether, "pki"] + args, capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise BenchError("tether pki %s: %s" % (args[0], p.stderr.strip()))
    run(["ca", "--out", os.path.join(pd, "ca"), "--cn", "bench CA"])
    out = {"ca": os.path.join(pd, "ca", "ca.crt"), "uri": uri}
    for n in ("A", "B"):
        run(["issue", "--ca", os.path.join(pd, "ca"), "--name", n, "--uri", uri(n),
             "--out", os.path.join(pd, n)])
        out[n] = (os.path.join(pd, n, n + ".crt"), os.path.join(pd, n, n + ".key"))
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        # a Ctrl-C reaches the whole process group: children end quietly, the
        # parent reports and cleans up
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    if len(sys.argv) > 1 and sys.argv[1] == "_sink":
        role_sink()
    elif len(sys.argv) > 1 and sys.argv[1] == "_push":
        role_push(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(main())
