"""Backends that say who they are, and a probe that asks through a passthrough route: the probe
sends a ClientHello for a name, the backend that gets it answers with its own name and a newline
and then echoes, so a test (or a benchmark) learns which server a new connection reached without
certificates, and can check that an open connection still passes bytes."""
from __future__ import annotations

import functools
import socket
import ssl

from .stubsrv import StubServer
from .util import LOCALHOST, recv_exact


def says_name(name: str):
    """Stub behaviour: read the client's first TLS record (the ClientHello), answer with name and
    a newline, then echo every byte until the client closes."""
    def handle(conn: socket.socket) -> None:
        head = recv_exact(conn, 5)
        recv_exact(conn, int.from_bytes(head[3:5], "big"))
        conn.sendall(name.encode() + b"\n")
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)
    return handle


def named_servers(names) -> dict:
    """{name: StubServer} answering with their names; close() each when done."""
    return {name: StubServer(says_name(name)) for name in names}


@functools.lru_cache(maxsize=1)
def _hello_context() -> ssl.SSLContext:
    # One context without CAs: tlsprobe.client_hello's default context loads the system's CAs
    # each time (about 0.1 s), which would be most of what a probe measures. Nothing is verified:
    # the handshake never gets past the ClientHello.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@functools.lru_cache(maxsize=4096)
def cached_hello(sni: str) -> bytes:
    """A ClientHello for sni, made once per name."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = _hello_context().wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        return outgoing.read()
    raise AssertionError("a TLS handshake cannot complete without the server")


def open_route(port: int, sni: str, timeout: float = 2.0) -> tuple[socket.socket, str]:
    """Connect to 127.0.0.1:port, send a ClientHello for sni, read the first reply. Returns the
    socket, still open, and what came back: a server's name, `alert:<description>` for a TLS
    alert (112 is unrecognized_name), `closed`, or `error:<why>`."""
    s = socket.create_connection((LOCALHOST, port), timeout=timeout)
    data = b""
    try:
        s.sendall(cached_hello(sni))
        while not data.endswith(b"\n") and len(data) < 7:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        if not data:
            return s, f"error:{e}"
    if data[:1] == b"\x15" and len(data) >= 7:
        return s, f"alert:{data[6]}"
    return s, data.decode(errors="replace").strip() or "closed"


def route_of(port: int, sni: str, timeout: float = 2.0) -> str:
    """open_route's answer, the connection closed again."""
    s, reply = open_route(port, sni, timeout)
    s.close()
    return reply
