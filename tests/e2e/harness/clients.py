"""Client-side helpers: curl, openssl s_client, Python TLS sockets, streaming hashes."""
from __future__ import annotations

import hashlib
import socket
import ssl
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .util import LOCALHOST, run


@dataclass
class CurlResult:
    rc: int
    status: int
    body: str
    stderr: str
    elapsed: float


def curl(host: str, port: int, path: str = "/name", ca: Path | None = None, insecure: bool = False,
         timeout: float = 10.0, scheme: str = "https", extra: list | None = None) -> CurlResult:
    """curl https://host:port/path with host resolved to 127.0.0.1 (so SNI is `host`)."""
    argv = ["curl", "-sS", "--max-time", str(timeout), "--resolve", f"{host}:{port}:{LOCALHOST}",
            "-w", "\n%{http_code}", "--noproxy", "*"]
    if ca is not None:
        argv += ["--cacert", str(ca)]
    if insecure:
        argv += ["-k"]
    argv += list(extra or [])
    argv.append(f"{scheme}://{host}:{port}{path}")
    t0 = time.monotonic()
    cp = run(argv, timeout=timeout + 5)
    elapsed = time.monotonic() - t0
    body, _, code = cp.stdout.rpartition("\n")
    try:
        status = int(code)
    except ValueError:
        status = 0
    return CurlResult(cp.returncode, status, body, cp.stderr, elapsed)


@dataclass
class SClientResult:
    rc: int
    out: str
    elapsed: float


def s_client(port: int, servername: str | None, ca: Path | None = None, timeout: float = 10.0,
             extra: list | None = None, stdin: bytes = b"") -> SClientResult:
    argv = ["openssl", "s_client", "-connect", f"{LOCALHOST}:{port}"]
    if servername:
        argv += ["-servername", servername]
    else:
        argv += ["-noservername"]
    if ca is not None:
        argv += ["-CAfile", str(ca), "-verify_return_error"]
    argv += list(extra or [])
    t0 = time.monotonic()
    cp = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
    elapsed = time.monotonic() - t0
    out = cp.stdout.decode(errors="replace") + cp.stderr.decode(errors="replace")
    return SClientResult(cp.returncode, out, elapsed)


def tls_context(ca: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = True
    return ctx


def tls_connect(port: int, sni: str, ca: Path, timeout: float = 10.0, alpn: list | None = None) -> ssl.SSLSocket:
    ctx = tls_context(ca)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    raw = socket.create_connection((LOCALHOST, port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


def recv_http_response(sock) -> tuple[int, dict, bytes]:
    """Read one HTTP/1.1 response with Content-Length from sock (keep-alive safe)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed in headers: {buf!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed in body")
        rest += chunk
    return status, headers, rest[:length]


def http_get(sock, host: str, path: str = "/name", keepalive: bool = True) -> tuple[int, bytes]:
    conn = "keep-alive" if keepalive else "close"
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: {conn}\r\n\r\n".encode())
    status, _, body = recv_http_response(sock)
    return status, body


def tls_get_name(port: int, sni: str, ca: Path, timeout: float = 5.0) -> str:
    """One TLS connection, GET /name, return the body stripped."""
    with tls_connect(port, sni, ca, timeout=timeout) as s:
        status, body = http_get(s, sni, "/name", keepalive=False)
        if status != 200:
            raise AssertionError(f"HTTP {status}: {body!r}")
        return body.decode().strip()


def curl_sha256(url_host: str, port: int, path: str, ca: Path | None, scheme: str = "https",
                timeout: float = 60.0) -> tuple[str, int, str]:
    """Stream a download from curl's stdout into sha256; returns (hex, size, curl stderr)."""
    argv = ["curl", "-sS", "--fail", "--max-time", str(timeout), "--noproxy", "*",
            "--resolve", f"{url_host}:{port}:{LOCALHOST}"]
    if ca is not None:
        argv += ["--cacert", str(ca)]
    argv.append(f"{scheme}://{url_host}:{port}{path}")
    h = hashlib.sha256()
    size = 0
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) as p:
        try:
            while True:
                chunk = p.stdout.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                size += len(chunk)
            p.wait(timeout=timeout)
        finally:
            if p.poll() is None:
                p.kill()
        err = p.stderr.read().decode(errors="replace")
        if p.returncode != 0:
            raise AssertionError(f"curl exited {p.returncode}: {err}")
    return h.hexdigest(), size, err


def upload_sha256(sock, path: Path, size: int) -> str:
    """Send size bytes of path, length-prefixed, to the hash server; return its digest reply."""
    sock.sendall(struct.pack("!Q", size))
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            sock.sendall(block)
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(256)
        if not chunk:
            break
        reply += chunk
    return reply.decode().strip()
