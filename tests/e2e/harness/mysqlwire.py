"""Just enough of the MySQL wire protocol to play a misbehaving server (a greeting with chosen
capabilities and plugin, an ERR instead of a greeting) and a misbehaving client (a login packet
that is malformed, or that lacks CLIENT_PLUGIN_AUTH) against snigate's `protocol: mysql`."""
from __future__ import annotations

import socket
import struct

CLIENT_LONG_PASSWORD = 1 << 0
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_SSL = 1 << 11
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_PLUGIN_AUTH = 1 << 19

# Every capability of the low 32 bits but TLS: whatever a client asks for, this server has it.
ALL_BUT_SSL = 0xFFFFFFFF & ~CLIENT_SSL


def packet(seq: int, body: bytes) -> bytes:
    return struct.pack("<I", len(body))[:3] + bytes([seq]) + body


def greeting(caps: int = ALL_BUT_SSL, plugin: bytes = b"mysql_native_password") -> bytes:
    """A protocol-10 initial handshake packet (sequence 0)."""
    scramble = b"0123456789abcdefghij"
    body = (b"\x0a" + b"5.5.5-10.11.0-stub\0" + struct.pack("<I", 7) + scramble[:8] + b"\0"
            + struct.pack("<H", caps & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
            + struct.pack("<H", caps >> 16 & 0xFFFF) + bytes([len(scramble) + 1]) + b"\0" * 10
            + scramble[8:] + b"\0" + plugin + b"\0")
    return packet(0, body)


def err_packet(code: int, state: str, message: str, seq: int = 0) -> bytes:
    return packet(seq, b"\xff" + struct.pack("<H", code) + b"#" + state.encode() + message.encode())


def login_without_plugin_auth(user: str) -> bytes:
    """A HandshakeResponse41 from a pre-5.5 client: no CLIENT_PLUGIN_AUTH (sequence 1)."""
    caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION
    body = struct.pack("<IIB", caps, 1 << 24, 0x21) + b"\0" * 23 + user.encode() + b"\0" + bytes([20]) + b"\1" * 20
    return packet(1, body)


def recv_packet(sock: socket.socket) -> tuple[int, bytes] | None:
    """(sequence, payload), or None when the peer closed."""
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    n = head[0] | head[1] << 8 | head[2] << 16
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return head[3], body


def err_of(payload: bytes) -> tuple[int, str]:
    """(code, message) of an ERR payload."""
    assert payload[:1] == b"\xff", payload
    code = struct.unpack("<H", payload[1:3])[0]
    rest = payload[3:]
    if rest[:1] == b"#":
        rest = rest[6:]
    return code, rest.decode(errors="replace")
