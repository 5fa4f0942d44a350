"""One TLS attempt with Python's ssl, recorded with the client's own port, so a test can find the
access log line of exactly that connection (`client` is "127.0.0.1:PORT") and not another test's."""
from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .util import LOCALHOST


@dataclass
class Attempt:
    client: str                   # "127.0.0.1:PORT" (or "[::1]:PORT") as the access log writes it
    reply: str                    # what the server sent before closing ("" on an error)
    error: Optional[BaseException]
    version: Optional[str] = None  # the TLS version agreed, when the handshake completed

    def __str__(self) -> str:
        return f"client {self.client}: error {self.error!r}, version {self.version}, reply {self.reply!r}"


def client_context(ca: Optional[Path], cert=None, min_version=None, max_version=None,
                   alpn: Optional[list] = None, check_hostname: bool = True) -> ssl.SSLContext:
    """A verifying client context; cert is a harness Leaf (client certificate)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca is not None:
        ctx.load_verify_locations(str(ca))
        ctx.check_hostname = check_hostname
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def _address(sockname) -> str:
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def attempt(port: int, sni: Optional[str], ctx: ssl.SSLContext, send: bytes = b"GET / HTTP/1.0\r\n\r\n",
            host: str = LOCALHOST, timeout: float = 5.0, until: Optional[bytes] = None,
            source: Optional[str] = None) -> Attempt:
    """Connect, handshake (SNI `sni`, none when None), send `send`, read until the server closes
    (or until `until` is in the reply). Errors (TLS alerts, resets) are returned, not raised.
    source: the local address to connect from (e.g. 127.0.0.2, for ClientIP rules)."""
    raw = socket.create_connection((host, port), timeout=timeout,
                                   source_address=(source, 0) if source else None)
    client = _address(raw.getsockname())
    data = b""
    try:
        tls = ctx.wrap_socket(raw, server_hostname=sni)
        version = tls.version()
        tls.sendall(send)
        while until is None or until not in data:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        tls.close()
        return Attempt(client, data.decode(errors="replace"), None, version)
    except (ssl.SSLError, OSError) as e:
        return Attempt(client, data.decode(errors="replace"), e)
    finally:
        raw.close()


def fields(whoami_text: str) -> dict:
    """whoami@internal's `key: value` lines as a dict."""
    out = {}
    for line in whoami_text.splitlines():
        k, sep, v = line.partition(": ")
        if sep:
            out[k.strip()] = v.strip()
    return out


def client_hello(sni: str) -> bytes:
    """The first flight (ClientHello) Python's TLS client sends, to play a client that stops there."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        return outgoing.read()
    raise AssertionError("a TLS handshake cannot complete without the server")
