"""Peers that misbehave on purpose, and what test_hostile.py measures of snigate's process.

Backends (threads in the test process, except the streamer, which must be killable):
- `AnswerServer`: reads a line `N\\n`, answers N bytes of a known pattern, then reads the next line.
- `StallServer`: accepts and never reads.
- `python3 hostile.py stream PORT`: writes bytes to every client until killed, never reading.
"""
from __future__ import annotations

import os
import resource
import selectors
import socket
import ssl
import sys
import threading
import time
from pathlib import Path

LOCALHOST = "127.0.0.1"
PATTERN = bytes(range(256)) * 256  # 64 KiB


def pattern(n: int) -> bytes:
    """The first n bytes of what AnswerServer sends."""
    reps = n // len(PATTERN) + 1
    return (PATTERN * reps)[:n]


# ------------------------------------------------------------------ the process under test

def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def snigate_argv(binary: Path, config_path: Path, prefix: tuple = ()) -> list:
    """The command line for a snigate whose memory a test measures. Under ASan, freed memory
    stays in a quarantine of up to 256 MiB, which would hide whether snigate gave its memory
    back: it is capped at 16 MiB here, added to whatever ASAN_OPTIONS snigate inherits (a build
    without ASan ignores the variable)."""
    cap = 'ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16" exec "$@"'
    return [*prefix, "sh", "-c", cap, "sh", str(binary), "--config", str(config_path)]


def raise_nofile(want: int) -> int:
    """Raise this process's soft descriptor limit towards want (at most the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


# ------------------------------------------------------------------ backends

class _Server:
    """A listening socket on 127.0.0.1 and an accept thread; stop() closes everything."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOCALHOST, 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
            self.accepted(conn)

    def accepted(self, conn: socket.socket) -> None:
        pass

    def close_all(self) -> None:
        with self.lock:
            for c in self.conns:
                c.close()
            self.conns.clear()

    def stop(self) -> None:
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.close_all()


class AnswerServer(_Server):
    """Each line `N\\n` is answered with N pattern bytes, on a thread per connection."""

    def accepted(self, conn):
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        f = conn.makefile("rb")
        try:
            while True:
                line = f.readline(64)
                if not line.endswith(b"\n"):
                    break
                conn.sendall(pattern(int(line)))
        except (OSError, ValueError):
            pass
        finally:
            f.close()
            conn.close()
            with self.lock:
                if conn in self.conns:
                    self.conns.remove(conn)


class StallServer(_Server):
    """Accepts and never reads, with a small receive buffer so that it fills soon."""

    def accepted(self, conn):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)


def stream_forever(port: int) -> None:
    """`python3 hostile.py stream PORT`: listen on 127.0.0.1:PORT, then write to every client
    until killed, reading nothing."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((LOCALHOST, port))
    srv.listen(16)

    def send(conn):
        try:
            while True:
                conn.sendall(PATTERN)
        except OSError:
            conn.close()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=send, args=(conn,), daemon=True).start()


# ------------------------------------------------------------------ clients

def ask(sock, n: int, timeout: float = 10.0) -> bytes:
    """Sends `n\\n` on a connected socket (plain or TLS), reads exactly n bytes."""
    sock.settimeout(timeout)
    sock.sendall(b"%d\n" % n)
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(65536, n - len(buf)))
        if not chunk:
            raise ConnectionError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def client_hello(sni: str, ctx: ssl.SSLContext) -> bytes:
    """A real ClientHello for sni, as the ssl module would send it."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    assert hello[:1] == b"\x16", hello[:16]
    return hello


class BioTls:
    """TLS over a plain socket through memory BIOs, so the test decides how the bytes go out."""

    def __init__(self, sock: socket.socket, sni: str, ctx: ssl.SSLContext):
        self.sock = sock
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=sni)

    def first_flight(self) -> bytes:
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.out.read()

    def _pump_in(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed during TLS")
        self.inc.write(data)

    def finish_handshake(self) -> None:
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._pump_in()
        self._flush()

    def _flush(self) -> None:
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def sendall(self, data: bytes) -> None:
        self.obj.write(data)
        self._flush()

    def recv(self, n: int) -> bytes:
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                self._flush()
                self._pump_in()
            except ssl.SSLZeroReturnError:
                return b""

    def settimeout(self, t: float) -> None:
        self.sock.settimeout(t)


def wait_all_closed(socks: list, deadline: float) -> dict:
    """Waits until the peer closed each socket (end of stream or reset), reading and discarding
    what comes first. Returns {socket: monotonic time it was seen closed}; sockets still open
    at the deadline are missing."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    closed = {}
    while len(closed) < len(socks):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(timeout=min(left, 0.5)):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if not data:
                closed[s] = time.monotonic()
                sel.unregister(s)
    sel.close()
    return closed


def main(argv: list) -> None:
    if len(argv) == 3 and argv[1] == "stream":
        stream_forever(int(argv[2]))
    else:
        sys.exit(f"usage: {argv[0]} stream PORT")


if __name__ == "__main__":
    main(sys.argv)
