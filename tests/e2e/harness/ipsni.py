"""A TLS client that sends an IP address as SNI, as PHP's mysqlnd does when it connects to an
address (RFC 6066 forbids it). Python's ssl module never sends an IP as SNI, so this uses
pyOpenSSL (python3-openssl), which sends whatever name it is given. The handshake does not
verify the certificate: the tests are about routing, and nothing was issued for an address."""
from __future__ import annotations

import io
import socket
import ssl
import struct

from OpenSSL import SSL


class IpSniSocket:
    """Just enough of a socket for harness.pg.read_message (recv, sendall) and PyMySQL (makefile,
    sendall, settimeout, close). Every wait is bounded by SO_RCVTIMEO/SO_SNDTIMEO on the raw socket:
    OpenSSL reads the descriptor itself, so it must be in blocking mode, where Python's own
    timeouts do not apply."""

    def __init__(self, raw: socket.socket, sni: str, timeout: float = 5.0):
        raw.settimeout(None)
        tv = struct.pack("ll", int(timeout), int((timeout % 1) * 1e6))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        ctx.set_verify(SSL.VERIFY_NONE, lambda *_: True)
        self.raw = raw
        self.conn = SSL.Connection(ctx, raw)
        self.conn.set_tlsext_host_name(sni.encode())
        self.conn.set_connect_state()
        self.conn.do_handshake()

    def recv(self, n: int) -> bytes:
        try:
            return self.conn.recv(n)
        except (SSL.ZeroReturnError, SSL.SysCallError):
            return b""

    def recv_into(self, buf, nbytes: int = 0) -> int:
        try:
            return self.conn.recv_into(buf, nbytes or None)
        except (SSL.ZeroReturnError, SSL.SysCallError):
            return 0

    def sendall(self, data: bytes) -> None:
        self.conn.sendall(data)

    def settimeout(self, _timeout) -> None:
        pass  # SO_RCVTIMEO and SO_SNDTIMEO bound every wait (see the class comment)

    def _decref_socketios(self) -> None:
        pass  # socket.SocketIO calls it when the file from makefile closes

    def makefile(self, _mode: str = "rb"):
        return io.BufferedReader(socket.SocketIO(self, "rb"))

    def close(self) -> None:
        self.raw.close()


class IpSniContext(ssl.SSLContext):
    """For PyMySQL's ssl= (it must be an ssl.SSLContext): its TLS goes through IpSniSocket with
    `sni` as the name, whatever host PyMySQL connects to."""

    def __new__(cls, sni: str):
        ctx = super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)
        ctx.ip_sni = sni
        return ctx

    def wrap_socket(self, sock, server_hostname=None, **_kw):
        return IpSniSocket(sock, self.ip_sni)
