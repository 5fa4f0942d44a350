"""PostgreSQL clients for the e2e tests: psql and pgbench (libpq 15), psycopg2, node `pg`, and a
small raw protocol client that can do what libpq 15 cannot (direct TLS, a GSSENCRequest first,
a chosen ALPN). Every call has a timeout; nothing here waits without a deadline.

Names without /etc/hosts: libpq takes `host=<name> hostaddr=127.0.0.1`, connects to the
address and uses the name for SNI (sslsni=1, the default) and for verify-full."""
from __future__ import annotations

import json
import socket
import ssl
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .servers import pg_env
from .util import LOCALHOST, recv_exact

SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102
PROTOCOL_3_0 = 3 << 16

SSL_REQUEST = struct.pack("!II", 8, SSL_REQUEST_CODE)
GSSENC_REQUEST = struct.pack("!II", 8, GSSENC_REQUEST_CODE)

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


# ---------------------------------------------------------------- libpq command-line clients

def conninfo(**kw) -> str:
    """A libpq connection string; values quoted ('...' with \\ and ' escaped); None is left out."""
    parts = []
    for k, v in kw.items():
        if v is None:
            continue
        v = str(v).replace("\\", "\\\\").replace("'", "\\'")
        parts.append(f"{k}='{v}'")
    return " ".join(parts)


def gw_conninfo(port: int, host: Optional[str], ca: Optional[Path] = None, user: str = "alice",
                dbname: str = "app", sslmode: str = "verify-full", **kw) -> str:
    """Connection string for a name served on 127.0.0.1:port (host=NAME hostaddr=127.0.0.1)."""
    return conninfo(host=host, hostaddr=LOCALHOST, port=port, user=user, dbname=dbname, sslmode=sslmode,
                    sslrootcert=ca, connect_timeout=5, **kw)


@dataclass
class ClientResult:
    rc: int
    out: str
    err: str
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def __str__(self) -> str:
        return f"rc={self.rc} elapsed={self.elapsed:.2f}s\nstdout:\n{self.out}\nstderr:\n{self.err}"


def psql(dsn: str, sql: str = "select inet_server_port()", password: Optional[str] = None,
         timeout: float = 20.0, env: Optional[dict] = None) -> ClientResult:
    """psql -X -A -t (unaligned, tuples only), ON_ERROR_STOP; the password via PGPASSWORD."""
    extra = dict(env or {})
    if password is not None:
        extra["PGPASSWORD"] = password
    argv = ["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql]
    t0 = time.monotonic()
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                        env=pg_env(**extra))
    return ClientResult(cp.returncode, cp.stdout.strip(), cp.stderr, time.monotonic() - t0)


def pgbench(args: list, env: dict, timeout: float = 120.0) -> ClientResult:
    """pgbench with the connection given by PG* variables in env (PGHOST, PGHOSTADDR, PGSSLMODE...)."""
    t0 = time.monotonic()
    cp = subprocess.run(["pgbench", *args], capture_output=True, text=True, timeout=timeout,
                        stdin=subprocess.DEVNULL, env=pg_env(**env))
    return ClientResult(cp.returncode, cp.stdout, cp.stderr, time.monotonic() - t0)


# ---------------------------------------------------------------- psycopg2

def psycopg2_connect(port: int, host: str, ca: Optional[Path], user: str = "alice", password: str = "secret",
                     dbname: str = "app", sslmode: str = "verify-full", **kw):
    import psycopg2  # Debian's python3-psycopg2 (libpq 15)
    return psycopg2.connect(host=host, hostaddr=LOCALHOST, port=port, user=user, password=password,
                            dbname=dbname, sslmode=sslmode, sslrootcert=str(ca) if ca else None,
                            connect_timeout=5, **kw)


def one(conn, sql: str):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


# ---------------------------------------------------------------- node pg

def node_pg_available() -> bool:
    return (NODE_DIR / "node_modules" / "pg").is_dir()


def node_pg_query(port: int, servername: str, ca: Path, sql: str, user: str = "alice",
                  password: str = "secret", database: str = "app", timeout: float = 20.0) -> dict:
    """node pg_query.js: TLS to 127.0.0.1:port with SNI servername, certificate verified against
    ca and servername. Returns {"rows": [...]} or {"error": ..., "code": SQLSTATE or null}."""
    args = {"port": port, "servername": servername, "ca": str(ca), "user": user, "password": password,
            "database": database, "sql": sql}
    cp = subprocess.run(["node", str(NODE_DIR / "pg_query.js"), json.dumps(args)], capture_output=True,
                        text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=pg_env())
    lines = cp.stdout.strip().splitlines()
    if not lines:
        raise AssertionError(f"node pg_query.js printed nothing (rc {cp.returncode}):\n{cp.stderr}")
    return json.loads(lines[-1])


# ---------------------------------------------------------------- raw protocol client

class PgError(Exception):
    """An ErrorResponse: fields by their one-letter codes (S severity, C SQLSTATE, M message...)."""

    def __init__(self, fields: dict):
        self.fields = fields
        super().__init__(f"{fields.get('S', '?')} {fields.get('C', '?')}: {fields.get('M', '')}"
                         + (f" (hint: {fields['H']})" if fields.get("H") else ""))

    @property
    def message(self) -> str:
        return self.fields.get("M", "")

    @property
    def sqlstate(self) -> str:
        return self.fields.get("C", "")


def read_message(sock, max_body: int = 1 << 24) -> tuple[str, bytes]:
    """One typed backend message: (type, body)."""
    head = recv_exact(sock, 5)
    mtype, length = chr(head[0]), struct.unpack("!I", head[1:])[0]
    if length < 4 or length - 4 > max_body:
        raise ValueError(f"bad message length {length} for type {mtype!r} (first bytes {head!r})")
    return mtype, recv_exact(sock, length - 4)


def parse_error_fields(body: bytes) -> dict:
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors="replace")
    return fields


def startup_message(params: dict) -> bytes:
    body = struct.pack("!I", PROTOCOL_3_0)
    for k, v in params.items():
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def query_message(sql: str) -> bytes:
    body = sql.encode() + b"\0"
    return b"Q" + struct.pack("!I", len(body) + 4) + body


def _data_row(body: bytes) -> list:
    (n,) = struct.unpack("!H", body[:2])
    pos, row = 2, []
    for _ in range(n):
        (ln,) = struct.unpack("!i", body[pos:pos + 4])
        pos += 4
        if ln < 0:
            row.append(None)
        else:
            row.append(body[pos:pos + ln].decode())
            pos += ln
    return row


@dataclass
class RawResult:
    rows: list
    alpn: Optional[str]           # the ALPN protocol the TLS server selected (None: none / no TLS)
    tls_version: Optional[str]
    peer_cert: Optional[dict]     # the verified certificate as ssl.getpeercert() gives it
    params: dict = field(default_factory=dict)   # ParameterStatus
    backend_pid: Optional[int] = None
    gssenc_reply: Optional[bytes] = None


def tls_client_context(ca: Optional[Path], alpn=("postgresql",)) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca is not None:
        ctx.load_verify_locations(str(ca))
        ctx.check_hostname = True
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def raw_query(port: int, sni: Optional[str], ca: Optional[Path], mode: str = "ssl_request",
              sql: str = "select inet_server_port()", user: str = "trusty", database: str = "postgres",
              alpn=("postgresql",), gssenc_first: bool = False, timeout: float = 5.0,
              tls_wrap=None) -> RawResult:
    """Log in (trust auth only) and run one simple Query; returns its rows as text.
    mode: "ssl_request" (SSLRequest, expect b"S", then TLS: what libpq does), "direct" (TLS from
    the first byte, PostgreSQL 17's sslnegotiation=direct; ALPN "postgresql" is mandatory there),
    "plain" (no TLS). gssenc_first: send a GSSENCRequest first and expect exactly b"N" (the reply
    is in gssenc_reply). tls_wrap(raw socket): another TLS client instead of Python's (e.g.
    harness.ipsni.IpSniSocket, to send an IP address as SNI). Raises PgError on an ErrorResponse, ConnectionError on a close,
    ssl.SSLError on a TLS failure, AssertionError on an unexpected reply."""
    raw = socket.create_connection((LOCALHOST, port), timeout=timeout)
    sock = raw
    try:
        gss = None
        if gssenc_first:
            raw.sendall(GSSENC_REQUEST)
            gss = raw.recv(1)
            if gss != b"N":
                raise AssertionError(f"GSSENCRequest answered {gss!r}, expected b'N'")
        if mode == "ssl_request":
            raw.sendall(SSL_REQUEST)
            answer = raw.recv(1)
            if answer != b"S":
                raise AssertionError(f"SSLRequest answered {answer!r}, expected b'S'"
                                     + (f": {raw.recv(4096)!r}" if answer else " (closed)"))
        if mode in ("ssl_request", "direct"):
            sock = tls_wrap(raw) if tls_wrap else tls_client_context(ca, alpn).wrap_socket(raw, server_hostname=sni)
        elif mode != "plain":
            raise ValueError(f"mode {mode!r}")
        sock.sendall(startup_message({"user": user, "database": database, "application_name": "snigate-e2e-raw"}))
        result = RawResult([], None, None, None, gssenc_reply=gss)
        if isinstance(sock, ssl.SSLSocket):
            result.alpn, result.tls_version, result.peer_cert = \
                sock.selected_alpn_protocol(), sock.version(), sock.getpeercert()
        while True:
            mtype, body = read_message(sock)
            if mtype == "E":
                raise PgError(parse_error_fields(body))
            if mtype == "R":
                (code,) = struct.unpack("!I", body[:4])
                if code != 0:
                    raise AssertionError(f"the raw client only does trust auth; the server asked for auth code {code}")
            elif mtype == "S":
                k, v, _ = body.split(b"\0", 2)
                result.params[k.decode()] = v.decode()
            elif mtype == "K":
                result.backend_pid = struct.unpack("!I", body[:4])[0]
            elif mtype == "Z":
                break
        sock.sendall(query_message(sql))
        error = None
        while True:
            mtype, body = read_message(sock)
            if mtype == "D":
                result.rows.append(_data_row(body))
            elif mtype == "E":
                error = PgError(parse_error_fields(body))
            elif mtype == "Z":
                break
        if error is not None:
            raise error
        sock.sendall(b"X\0\0\0\4")  # Terminate
        return result
    finally:
        sock.close()
        if sock is not raw:
            raw.close()


def read_reply(sock, timeout: float) -> bytes:
    """Everything the peer sends until it closes, or until timeout seconds pass without data
    (returns what arrived so far). A reset counts as a close."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
