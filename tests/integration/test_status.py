"""The status socket (`status`), `tether status` and `tether reload`.

A listens with a status socket and names three peers: B (connected, a stream
through it), "ghost" (dialed at a closed port: down, with its last error and
its next dial) and "quiet" (never dials, never comes). One handshake without a
client certificate is provoked. Then the table, the JSON document and the
metrics text are checked against all that; reload answers that it is not
supported (exit 2); junk and idle clients get an error or are dropped without
blocking anyone; the socket's mode is 0660; a second agent on the same socket
is refused; a stale socket file from a crashed run is replaced; no agent
means exit 1; A allocates nothing after start-up across 500 requests (and
500 more scrapes in integration.metrics).
"""

import json
import os
import socket
import stat

import harness as h
from harness import check, check_eq


def raw(path, data, timeout=5.0):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out.decode("utf-8", "replace")
            out += chunk


def main():
    env = h.Env("status")
    ca = env.pki.ca("ca")
    a, b = h.pair(env, ca)
    sock = os.path.join(env.dir, "A.sock")
    a.cfg["status"] = sock
    a.cfg.setdefault("peers", {})["ghost"] = {"connect": "%s:%d" % (h.LOOP, h.free_port())}
    a.add_peer("quiet")
    echo = env.server(h.EchoServer())
    a.add_service("echo", echo, allow=[b])
    fwd = b.add_forward(a, "echo")

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
        a.wait_for("listen", 5, what="status")
        a.wait_for("handshake_fail", 10, peer="ghost")
        res = h.tcp_client(fwd, 100000, seed=3, read_back=True, timeout=20)
        h.check_transfer(res, 100000, "echo stream", echo=True)
        h.provoke_no_client_cert(a, ca)
    env.setup("A with a status socket, B connected, ghost refused, one bad handshake", start)

    def table():
        rc, out, err = h.run_tether(["status", "-c", a.cfg_path])
        check_eq(rc, 0, "tether status exit code (stderr: %s)" % err)
        lines = out.splitlines()
        check(lines[0].startswith("node A  up "), "first line: %r" % lines[0])
        row = {ln.split()[0]: ln for ln in lines if ln.split() and ln.split()[0] in
               ("B", "ghost", "quiet")}
        check("connected" in row.get("B", "") and "TLS1-3" in row["B"], "B's row: %r" % row.get("B"))
        check("down" in row.get("ghost", "") and "connection refused" in row["ghost"] and
              "next dial in" in row["ghost"], "ghost's row: %r" % row.get("ghost"))
        check("never connected" in row.get("quiet", "") and "waits to be dialed" in row["quiet"],
              "quiet's row: %r" % row.get("quiet"))
        check(any("no_client_certificate 1" in ln for ln in lines), "handshake failures:\n" + out)
        check(any(ln.startswith("pools") and "sessions 1/" in ln for ln in lines), "pools:\n" + out)
    env.case("tether status: a table of the node, every peer, pools, failures", table)

    def as_json():
        rc, out, err = h.run_tether(["status", "-s", sock, "--json"])
        check_eq(rc, 0, "tether status --json exit code (stderr: %s)" % err)
        doc = json.loads(out)
        check_eq(doc["node"], "A", "node")
        check(doc["certificate"]["expires_in_s"] > 86400, "own certificate: %s" % doc["certificate"])
        peers = {p["name"]: p for p in doc["peers"]}
        check_eq(sorted(peers), ["B", "ghost", "quiet"], "peers listed")
        pb = peers["B"]
        check(pb["connected"] and pb["tls"] == "1.3" and pb["dir"] == "in", "B: %s" % pb)
        check(pb["bytes_received"] >= 100000 and pb["bytes_sent"] >= 100000, "B bytes: %s" % pb)
        check(pb["cert_expires_in_s"] > 86400, "B certificate: %s" % pb)
        pg = peers["ghost"]
        check(not pg["connected"] and "refused" in pg["last_error"] and "next_dial_in_ms" in pg,
              "ghost: %s" % pg)
        check(not peers["quiet"]["connected"] and "next_dial_in_ms" not in peers["quiet"],
              "quiet: %s" % peers["quiet"])
        check(doc["handshake_failures"].get("no_client_certificate", 0) >= 1,
              "handshake failures: %s" % doc["handshake_failures"])
        check_eq(doc["pools"]["sessions"]["used"], 1, "session slots in use")
        check(doc["pools"]["streams"]["high_water"] >= 1, "stream high water")
        check_eq(doc["reloads"], {"ok": 0, "failed": 0}, "reloads")
    env.case("tether status --json: the same as one document", as_json)

    def prometheus():
        rc, out, err = h.run_tether(["status", "-c", a.cfg_path, "--prometheus"])
        check_eq(rc, 0, "tether status --prometheus (stderr: %s)" % err)
        check('tether_peer_connected{peer="B"} 1' in out, "B connected in:\n" + out[:400])
        check('tether_peer_connected{peer="ghost"} 0' in out, "ghost down")
    env.case("tether status --prometheus: the metrics text", prometheus)

    def reload():
        m = a.mark()
        rc, out, err = h.run_tether(["reload", "-c", a.cfg_path])
        check_eq(rc, 0, "tether reload exit code (%r %r)" % (out, err))
        check("nothing changed" in out, "reload's words: %r" % out)
        a.wait_for("reload", 5, m, result="ok")
        # A broken config: refused with its place, the agent keeps running.
        with open(a.cfg_path) as f:
            good = f.read()
        try:
            with open(a.cfg_path, "w") as f:
                f.write(good.replace('"node"', '"nod"', 1))
            m = a.mark()
            rc, out, err = h.run_tether(["reload", "-c", a.cfg_path])
            check_eq(rc, 2, "tether reload exit code for a bad config")
            check("nod: unknown key" in err + out, "reload's words: %r %r" % (out, err))
            a.wait_for("reload", 5, m, result="failed")
        finally:
            with open(a.cfg_path, "w") as f:
                f.write(good)
        check(a.running(), "A stopped after a refused reload")
        rc, out, _ = h.run_tether(["status", "-s", sock, "--json"])
        check_eq(json.loads(out)["reloads"], {"ok": 1, "failed": 1}, "reloads counted")
    env.case("tether reload: ok with nothing changed, exit 0; a broken config refused, exit 2",
             reload)

    def hostile():
        idle = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(10)]
        for s in idle:
            s.connect(sock)
        try:
            check(raw(sock, b"bogus\n").startswith("error\n"), "junk request answered error")
            check(raw(sock, b"x" * 200).startswith("error\n"), "over-long request answered error")
            rc, out, _ = h.run_tether(["status", "-s", sock, "--json"])
            check_eq(rc, 0, "status beside idle clients")
        finally:
            for s in idle:
                s.close()
        mode = stat.S_IMODE(os.stat(sock).st_mode)
        check_eq(oct(mode), oct(0o660), "socket file mode")
    env.case("junk and idle clients do not block status; the socket is 0660", hostile)

    def second_agent():
        c = env.node("C", ca=ca, listen=True)
        c.cfg["status"] = sock
        c.write_config()
        rc, out, err = h.run_tether(["run", "-c", c.cfg_path], timeout=15)
        check(rc != 0, "a second agent on A's socket started")
        check("another agent answers there" in err, "its words: %r" % err)
        # Something that is not a socket at the path is never replaced.
        other = os.path.join(env.dir, "not-a-socket")
        with open(other, "w") as f:
            f.write("keep me\n")
        c.cfg["status"] = other
        c.write_config()
        rc, out, err = h.run_tether(["run", "-c", c.cfg_path], timeout=15)
        check(rc != 0 and "not a socket" in err, "agent on a regular file: rc=%s %r" % (rc, err))
        with open(other) as f:
            check_eq(f.read(), "keep me\n", "the file at the status path")
    env.case("a second agent on a live socket is refused", second_agent)

    def stale_and_gone():
        for i in range(500):
            raw(sock, (b"status\n", b"table\n", b"metrics\n")[i % 3])
        a.stop()
        check(not os.path.exists(sock), "A left its socket file behind")
        rc, _, err = h.run_tether(["status", "-s", sock])
        check_eq(rc, 1, "tether status with no agent")
        check("no agent answers" in err, "its words: %r" % err)
        # A crashed run leaves a socket file nobody answers on: replaced.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(sock)
        s.close()
        check(os.path.exists(sock), "stale socket file made")
        a.start()
        rc, out, _ = h.run_tether(["status", "-s", sock, "--json"])
        check_eq(rc, 0, "status after replacing a stale socket")
        a.stop()
    env.case("500 requests, no allocation; no agent -> exit 1; a stale socket is replaced",
             stale_and_gone)

    env.finish()


if __name__ == "__main__":
    main()
