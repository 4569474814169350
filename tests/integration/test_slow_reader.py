"""A local client that stops reading (docs/PROTOCOL.md section 6): the service
behind the far node keeps writing, but once the windows and socket buffers are
full nothing moves. Both nodes' status (SIGUSR1) then shows the same bytes and
the same mbedTLS heap over time, and one stream; when the client reads again,
every byte arrives intact and the stream ends cleanly."""

import hashlib
import signal
import socket
import time

import harness as h
from harness import MiB, check, check_eq

N = 32 * MiB
SEED = 5


class SourceServer(h._Server):
    """Sends N bytes of pattern(SEED), then closes its write side."""

    def __init__(self):
        self.sent = 0
        super().__init__("source")

    def handle(self, c, res, hh):
        for chunk in h.pattern_chunks(SEED, N):
            c.sendall(chunk)
            self.sent += len(chunk)
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536):
            pass


def status(node):
    m = node.mark()
    node.send_signal(signal.SIGUSR1)
    st = node.wait_for("status", 5, m)
    return st


def main():
    env = h.Env("slow_reader")
    a, b = h.pair(env)
    src = env.server(SourceServer())
    a.add_service("src", src, allow=[b])
    fwd = b.add_forward(a, "src")

    def start():
        a.start()
        b.start()
        h.wait_session(a, b)
    env.setup("session A<-B up", start)

    def stalled():
        s = socket.create_connection((h.LOOP, fwd), timeout=5)
        s.settimeout(30)
        got = s.recv(1000)
        time.sleep(1.5)  # windows and socket buffers fill up, then the writer stops
        before = {n.name: status(n) for n in (a, b)}
        sent = src.sent
        time.sleep(1.5)
        after = {n.name: status(n) for n in (a, b)}
        check(src.sent < N, "the service wrote all %d bytes into a stream nobody reads" % N)
        check_eq(src.sent, sent, "bytes the service wrote while the reader was stalled")
        for n in (a, b):
            b0, b1 = before[n.name], after[n.name]
            check_eq(b1["streams"], "1", "%s: streams while stalled" % n.name)
            for k in ("bytes_in", "bytes_out", "heap_used"):
                check_eq(b1[k], b0[k], "%s: %s while the reader was stalled" % (n.name, k))
        hh = hashlib.sha256(got)
        n = len(got)
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            hh.update(d)
            n += len(d)
        s.close()
        check_eq(n, N, "bytes read once the reader came back")
        check_eq(hh.hexdigest(), h.pattern_sha(SEED, N), "sha256 of what was read")
        for n_ in (a, b):
            ev = n_.wait_for("stream_close", 5, service="src")
            check_eq(ev.get("reason"), "done", "%s: stream_close reason" % n_.name)
    env.case("client stops reading: the writer stops, memory stays, data intact after",
             stalled)

    env.finish()


if __name__ == "__main__":
    main()
