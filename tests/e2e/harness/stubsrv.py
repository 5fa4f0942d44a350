"""A TCP server in a thread that does one scripted thing with each connection, for backends
whose misbehaviour is the point of a test (a reset, a half-close and then silence, a fake
MySQL greeting). Connections stay open until the server is closed, so the snigate under test,
not this server, decides when they end."""
from __future__ import annotations

import socket
import struct
import threading
from typing import Callable

from .util import LOCALHOST


class StubServer:
    def __init__(self, handle: Callable[[socket.socket], None]):
        self.handle = handle
        self.listener = socket.create_server((LOCALHOST, 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.conns: list = []
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"stub-{self.port}", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            self.conns.append(conn)
            conn.settimeout(10)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self.handle(conn)
        except OSError:
            pass  # the peer went away: that is what these tests provoke

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


# ---------------------------------------------------------------- behaviours

def hold(conn: socket.socket) -> None:
    """Say nothing and keep the connection open (reads what comes, until the peer closes)."""
    while conn.recv(65536):
        pass


def greet_then_half_close(conn: socket.socket) -> None:
    """Send a line and close the sending half; never close the rest."""
    conn.sendall(b"bye from the server\n")
    conn.shutdown(socket.SHUT_WR)
    hold(conn)


def reset_after_first_bytes(conn: socket.socket) -> None:
    """Read the client's first bytes, then abort the connection (RST, via SO_LINGER 0)."""
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def close_after_first_bytes(conn: socket.socket) -> None:
    """Read the client's first bytes, then close normally (FIN)."""
    conn.recv(65536)
    conn.close()


def sends(data: bytes) -> Callable[[socket.socket], None]:
    """Send data at once, then hold the connection."""
    def handle(conn: socket.socket) -> None:
        conn.sendall(data)
        hold(conn)
    return handle


def echo(conn: socket.socket) -> None:
    """Sends back every byte it gets, until the client closes."""
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)
