#!/usr/bin/env python3
"""A board's tether against a host tether: mutual TLS on 127.0.0.1, streams
both ways, byte-exact.

usage: board_session.py [--mib N] [--keep] BOARD_CMD HOST_CMD

BOARD_CMD and HOST_CMD are tether command lines, split like a shell would:
e.g. "qemu-arm-static build/linux-armhf/tether" and "build/host/tether".
The host tether makes the PKI (`tether pki ca` and `pki issue`); then:

  1. both nodes' configs pass `tether check` (each with its own binary);
  2. round "board listens": the host node dials the board node;
     round "board dials": the board node dials the host node.
     In each round, each node exports a "sink" service to the other and
     forwards a local port to the other's sink; N MiB (default 8) go through
     each forward at the same time, and the SHA-256 of what each sink received
     must match what was sent. Both session_up lines must say TLS 1.3, and
     both nodes must exit 0 on SIGTERM, having made no allocation after
     start-up (their exit line says allocs_after_start=0).

The peers name each other by URI SAN (spiffe://tether.test/NAME); the host
node also pins the board's key (SPKI SHA-256), so the board's certificate
parsing, chain and pin checks all take part.

Exit status 0 if everything passed, 1 otherwise. Every wait has a deadline;
TETHER_BOARD_TIMEOUT (seconds, default 300) bounds the whole run.
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness as h  # noqa: E402  (free ports, local servers and clients, log parsing)

TRUST_DOMAIN = "spiffe://tether.test/"
MiB = 1024 * 1024


class Failed(Exception):
    pass


def run(cmd, timeout=120, cwd=None):
    """Run a command; return (rc, combined output)."""
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, cwd=cwd)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def must(cmd, what, timeout=120, cwd=None):
    rc, out = run(cmd, timeout, cwd)
    if rc != 0:
        raise Failed("%s: exit %d: %s\n%s" % (what, rc, " ".join(cmd), out))
    return out


class Node:
    """One tether process with its config and log."""

    def __init__(self, name, cmd, workdir, ca_dir, host_cmd, other):
        self.name = name
        self.cmd = cmd
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        must(host_cmd + ["pki", "issue", "--ca", ca_dir, "--name", name, "--out", self.dir,
                         "--uri", TRUST_DOMAIN + name], "pki issue " + name)
        shutil.copy(os.path.join(ca_dir, "ca.crt"), os.path.join(self.dir, "ca.crt"))
        self.other = other
        self.cfg_path = os.path.join(self.dir, name + ".json")
        self.log_path = None
        self.proc = None
        self.sink = None

    def pin(self, host_cmd):
        out = must(host_cmd + ["pki", "show", os.path.join(self.dir, self.name + ".crt")],
                   "pki show " + self.name)
        for line in out.splitlines():
            if line.startswith("pin:"):
                return line.split(None, 1)[1].strip()
        raise Failed("no pin: line in `tether pki show`:\n" + out)

    def configure(self, listen_port, dial_port, sink_addr, fwd_port, pin=None):
        peer = {"id": TRUST_DOMAIN + self.other}
        if dial_port:
            peer["connect"] = "%s:%d" % (h.LOOP, dial_port)
        if pin:
            peer["pin"] = pin
        cfg = {
            "node": self.name,
            "identity": {"cert": self.name + ".crt", "key": self.name + ".key", "ca": "ca.crt"},
            "peers": {self.other: peer},
            "services": {"sink": {"target": sink_addr, "allow": [self.other]}},
            "forwards": [{"listen": "%s:%d" % (h.LOOP, fwd_port), "peer": self.other,
                          "service": "sink"}],
            "keepalive": {"interval_ms": 2000, "timeout_ms": 20000},
            "reconnect": {"min_ms": 100, "max_ms": 1000},
            "log": {"level": "info", "format": "text"},
        }
        if listen_port:
            cfg["listen"] = "%s:%d" % (h.LOOP, listen_port)
        with open(self.cfg_path, "w") as f:
            json.dump(cfg, f, indent=2)
        self.listen_port = listen_port
        self.fwd_port = fwd_port

    def check(self):
        out = must(self.cmd + ["check", "-c", self.cfg_path], "%s: tether check" % self.name,
                   cwd=self.dir)
        return out

    def start(self, tag, timeout):
        self.log_path = os.path.join(self.dir, "%s-%s.log" % (self.name, tag))
        with open(self.log_path, "wb") as lf:
            self.proc = subprocess.Popen(self.cmd + ["run", "-c", self.cfg_path],
                                         stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                                         cwd=self.dir)
        ports = [p for p in (self.listen_port, self.fwd_port) if p]
        try:
            for p in ports:
                h.wait_listening(p, timeout, self.proc)
        except h.Failure as e:
            raise Failed("%s did not start: %s\n%s" % (self.name, e, self.tail()))

    def lines(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()
        except (OSError, TypeError):
            return []

    def wait_event(self, event, timeout, **match):
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines():
                rec = h.parse_log_line(line)
                if rec.get("event") == event and all(rec.get(k) == v for k, v in match.items()):
                    rec["_line"] = line
                    return rec
            if self.proc.poll() is not None and event != "exit":
                raise Failed("%s exited (rc=%s) waiting for event=%s\n%s" % (
                    self.name, self.proc.returncode, event, self.tail()))
            if time.monotonic() > deadline:
                raise Failed("%s: no event=%s %s within %.0fs\n%s" % (
                    self.name, event, match, timeout, self.tail()))
            time.sleep(0.05)

    def stop(self, timeout):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise Failed("%s did not exit within %.0fs of SIGTERM\n%s" % (
                self.name, timeout, self.tail()))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def tail(self, n=25):
        ls = self.lines()
        return "  --- %s (%s), last %d lines ---\n%s" % (
            self.name, self.log_path, min(n, len(ls)), "\n".join("    " + l for l in ls[-n:]))


def push(port, nbytes, seed, out):
    out[seed] = h.tcp_client(port, nbytes, seed=seed, read_back=True, timeout=180)


def session_round(tag, board, host, board_listens, nbytes, timeout, host_cmd):
    """One session between the two nodes and a transfer each way at once."""
    t0 = time.monotonic()
    for n in (board, host):
        n.sink = h.SinkServer()
    port = h.free_port()
    pin = board.pin(host_cmd)
    board.configure(port if board_listens else None, None if board_listens else port,
                    board.sink.addr, h.free_port())
    host.configure(None if board_listens else port, port if board_listens else None,
                   host.sink.addr, h.free_port(), pin=pin)
    try:
        first, second = (board, host) if board_listens else (host, board)
        first.start(tag, timeout)
        second.start(tag, timeout)
        ub = board.wait_event("session_up", timeout, peer=host.name)
        uh = host.wait_event("session_up", timeout, peer=board.name)
        for u, who in ((ub, board.name), (uh, host.name)):
            if u.get("tls") != "1.3":
                raise Failed("%s: session_up says tls=%s, expected 1.3" % (who, u.get("tls")))
        hs = time.monotonic() - t0
        # Each node's forward leads to the other's sink: board -> host and
        # host -> board, both at once.
        res = {}
        th = [threading.Thread(target=push, args=(board.fwd_port, nbytes, 1, res)),
              threading.Thread(target=push, args=(host.fwd_port, nbytes, 2, res))]
        t1 = time.monotonic()
        for t in th:
            t.start()
        for t in th:
            t.join(timeout)
        xfer = time.monotonic() - t1
        for seed, src, sink in ((1, board, host.sink), (2, host, board.sink)):
            what = "%s -> %s" % (src.name, src.other)
            r = res.get(seed)
            if r is None:
                raise Failed("%s: the sender did not finish within %.0fs" % (what, timeout))
            if r["sent"] != nbytes:
                raise Failed("%s: sent %d of %d bytes (%s)" % (what, r["sent"], nbytes, r["error"]))
            got = sink.wait_results(1, timeout=timeout)[0]
            if got["received"] != nbytes or got["sha"] != r["sent_sha"]:
                raise Failed("%s: the sink got %d bytes sha256 %s; sent %d bytes sha256 %s" % (
                    what, got["received"], got["sha"], nbytes, r["sent_sha"]))
        codes = {n.name: n.stop(30) for n in (board, host)}
        bad = {k: v for k, v in codes.items() if v != 0}
        if bad:
            raise Failed("exit codes after SIGTERM: %s (expected 0)\n%s\n%s" % (
                bad, board.tail(), host.tail()))
        # No allocation after start-up. In a static binary the counter also
        # sees the C library's own calls (a dynamic libc's are invisible).
        for n in (board, host):
            ev = n.wait_event("exit", 5)
            if ev.get("allocs_after_start") != "0":
                raise Failed("%s: %s (expected allocs_after_start=0)" % (n.name, ev["_line"]))
        mib = nbytes / MiB
        print("ok   %s: session up in %.1fs (tls %s, suite %s, board mem=%s handshake_peak=%s); "
              "%.0f MiB each way byte-exact in %.1fs (%.1f MiB/s total); both exit 0 with no "
              "allocation after start-up" % (
                  tag, hs, ub.get("tls"), ub.get("suite"), ub.get("mem", "?"),
                  ub.get("handshake_peak", "?"), mib, xfer, 2 * mib / max(xfer, 1e-3)), flush=True)
    finally:
        for n in (board, host):
            n.kill()
            if n.sink:
                n.sink.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("board_cmd")
    ap.add_argument("host_cmd")
    ap.add_argument("--mib", type=int, default=8, help="MiB each way per round (default 8)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    # The nodes run in their own folders: make relative paths absolute.
    board_cmd, host_cmd = ([os.path.abspath(w) if os.sep in w and os.path.exists(w) else w
                            for w in shlex.split(c)] for c in (a.board_cmd, a.host_cmd))
    budget = float(os.environ.get("TETHER_BOARD_TIMEOUT", "300"))
    timeout = 60.0

    def watchdog():
        print("FAIL board session: ran past %.0fs" % budget, flush=True)
        os._exit(1)
    wd = threading.Timer(budget, watchdog)
    wd.daemon = True
    wd.start()

    work = tempfile.mkdtemp(prefix="tether-board-")
    ok = False
    try:
        ca = os.path.join(work, "ca")
        must(host_cmd + ["pki", "ca", "--out", ca], "pki ca")
        board = Node("board", board_cmd, work, ca, host_cmd, "host")
        host = Node("host", host_cmd, work, ca, host_cmd, "board")

        # Configs for the first round, validated by each side's own binary.
        board.configure(h.free_port(), None, "127.0.0.1:9", h.free_port())
        host.configure(None, board.listen_port, "127.0.0.1:9", h.free_port(),
                       pin=board.pin(host_cmd))
        out = board.check()
        print("ok   board: tether check -c board.json\n" +
              "\n".join("       " + l for l in out.splitlines()), flush=True)
        host.check()
        print("ok   host: tether check -c host.json", flush=True)

        session_round("board listens, host dials", board, host, True, a.mib * MiB, timeout,
                      host_cmd)
        session_round("board dials, host listens", board, host, False, a.mib * MiB, timeout,
                      host_cmd)
        ok = True
    except (Failed, h.Failure) as e:
        print("FAIL %s" % e, flush=True)
    finally:
        if a.keep or not ok:
            print("work directory kept: %s" % work, flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
