"""The access log's `end` values (docs/logging.md) that no other module causes on a `tcp` entry
point: client_closed, timeout, bad_hello, no_route for a plain client on a TLS-only entry point,
termination_delay, idle_timeout and reset. (no_certificate, tls_handshake_failed and
backend_tls_failed: test_tls_options.py; backend_unreachable with a server that never answers:
test_dial_timeout.py; MySQL and PostgreSQL entry points: test_db_end.py.) `error` is snigate's
own bug report and cannot be caused on purpose.

Each line is found by the client's own address, so a line of another connection cannot match."""
from __future__ import annotations

import socket
import time

import pytest

from harness.configs import addr, lb, router
from harness.snigate import Snigate
from harness.stubsrv import StubServer, greet_then_half_close, hold, reset_after_first_bytes
from harness.tlsprobe import client_hello
from harness.util import LOCALHOST, free_port

HELLO_TIMEOUT_MS = 1000
IDLE_MS = 1000
READ_TIMEOUT_MS = 1200  # readTimeout of the `readtimeout` entry point (clientHelloTimeout left at 5 s)
TERMINATION_DELAY_MS = 300


@pytest.fixture(scope="module")
def stubs(request):
    made = {"halfclose": StubServer(greet_then_half_close), "idle": StubServer(hold),
            "reset": StubServer(reset_after_first_bytes)}
    for s in made.values():
        request.addfinalizer(s.close)
    return made


@pytest.fixture(scope="module")
def sg(request, snigate_bin, tmp_path_factory, pki, stubs):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not implement these access log end values")
    ports = {n: free_port() for n in ("tls", "halfclose", "idle", "reset", "readtimeout")}
    cfg = {
        "entryPoints": {
            # TLS routers only: client-first, clientHelloTimeout bounds the ClientHello.
            "tls": {"address": addr(ports["tls"]), "clientHelloTimeout": f"{HELLO_TIMEOUT_MS}ms"},
            "halfclose": {"address": addr(ports["halfclose"])},
            "idle": {"address": addr(ports["idle"]), "tcpIdleTimeout": f"{IDLE_MS}ms"},
            # Traefik's readTimeout on a TCP entry point: the deadline for the first bytes,
            # i.e. clientHelloTimeout.
            "readtimeout": {"address": addr(ports["readtimeout"]),
                            "transport": {"respondingTimeouts": {"readTimeout": f"{READ_TIMEOUT_MS}ms"}}},
            "reset": {"address": addr(ports["reset"])},
        },
        "tcp": {
            "routers": {
                "who": router("HostSNI(`a.test`)", "whoami@internal", eps=["tls", "readtimeout"], tls={}),
                "halfclose": router("HostSNI(`*`)", "halfclose", eps=["halfclose"]),
                "idle": router("HostSNI(`*`)", "idle", eps=["idle"]),
                "reset": router("HostSNI(`*`)", "reset", eps=["reset"]),
            },
            "services": {
                "halfclose": lb(stubs["halfclose"].address, transport="short"),
                "idle": lb(stubs["idle"].address),
                "reset": lb(stubs["reset"].address),
            },
            "serversTransports": {"short": {"terminationDelay": f"{TERMINATION_DELAY_MS}ms"}},
        },
        "tls": {"certificates": [{"certFile": str(pki["a"].cert), "keyFile": str(pki["a"].key)}]},
    }
    inst = Snigate(tmp_path_factory.mktemp("snigate-end"), cfg, name="snigate-end")
    request.addfinalizer(inst.teardown)
    return inst.start()


def connect(sg, ep: str) -> tuple[socket.socket, str]:
    s = socket.create_connection((LOCALHOST, sg.ports[ep]), timeout=10)
    return s, f"{LOCALHOST}:{s.getsockname()[1]}"


def line_of(sg, client, timeout: float = 5.0):
    return sg.wait_access(lambda e: e.get("client") == client, timeout=timeout,
                          what=f"access log line of {client}")


def read_to_end(s: socket.socket) -> tuple[bytes, bool]:
    """Everything until the peer closes; (data, reset) where reset is True for an RST."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, False
        data += chunk


# A TLS record header (handshake, TLS 1.0 record version, 512 bytes) and the start of a
# ClientHello: a client that stops here has not sent a complete hello.
PARTIAL_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"


# ---------------------------------------------------------------- before a server is contacted

def test_client_closed_in_the_middle_of_its_hello(sg):
    s, client = connect(sg, "tls")
    s.sendall(PARTIAL_HELLO)
    s.close()
    e = line_of(sg, client)
    assert (e["end"], e["mode"], e["tls"]) == ("client_closed", "", False), e


def test_timeout_on_an_incomplete_hello(sg):
    s, client = connect(sg, "tls")
    with s:
        t0 = time.monotonic()
        s.sendall(PARTIAL_HELLO)
        data, _ = read_to_end(s)
        took = time.monotonic() - t0
    assert 0.8 <= took <= 4.0, f"closed after {took:.2f}s; clientHelloTimeout is {HELLO_TIMEOUT_MS} ms"
    e = line_of(sg, client)
    assert e["end"] == "timeout", e
    assert "ClientHello" in e["detail"] and str(HELLO_TIMEOUT_MS) in e["detail"], e
    log = sg.wait_log(client)
    assert any(client in ln and " info " in ln and "ClientHello" in ln for ln in log.splitlines()), log


def test_timeout_on_an_unfinished_handshake(sg):
    """A whole ClientHello, then nothing: snigate, terminating, waits for the rest of the
    handshake until clientHelloTimeout (counted from accept)."""
    s, client = connect(sg, "tls")
    with s:
        t0 = time.monotonic()
        s.sendall(client_hello("a.test"))
        read_to_end(s)  # snigate's ServerHello flight, then its close
        took = time.monotonic() - t0
    assert 0.8 <= took <= 4.0, f"closed after {took:.2f}s; clientHelloTimeout is {HELLO_TIMEOUT_MS} ms"
    e = line_of(sg, client)
    assert (e["end"], e["router"], e["sni"]) == ("timeout", "who", "a.test"), e
    assert "handshake" in e["detail"], e


def test_timeout_on_a_silent_client(sg):
    """Nothing at all: the kernel hands the connection over about a second after the connect
    (TCP_DEFER_ACCEPT), and clientHelloTimeout runs from then (docs/configuration.md)."""
    s, client = connect(sg, "tls")
    with s:
        t0 = time.monotonic()
        data, _ = read_to_end(s)
        took = time.monotonic() - t0
    assert data == b"", data
    assert 1.5 <= took <= 6.0, f"closed after {took:.2f}s; expected about 1 s + clientHelloTimeout"
    e = line_of(sg, client)
    assert (e["end"], e["tls"]) == ("timeout", False), e


def test_read_timeout_bounds_a_silent_client(sg):
    """transport.respondingTimeouts.readTimeout sets the deadline for the first bytes, as on
    Traefik's TCP entry points: after the deferred accept (about 1 s) a silent client is closed
    after readTimeout, not after the 5 s default."""
    s, client = connect(sg, "readtimeout")
    with s:
        t0 = time.monotonic()
        data, _ = read_to_end(s)
        took = time.monotonic() - t0
    assert data == b"", data
    assert READ_TIMEOUT_MS / 1000 <= took <= 4.5, \
        f"closed after {took:.2f}s; expected about 1 s + readTimeout ({READ_TIMEOUT_MS} ms)"
    e = line_of(sg, client)
    assert e["end"] == "timeout" and f"({READ_TIMEOUT_MS} ms)" in e["detail"], e


def test_read_timeout_bounds_an_incomplete_hello(sg):
    s, client = connect(sg, "readtimeout")
    with s:
        t0 = time.monotonic()
        s.sendall(PARTIAL_HELLO)
        read_to_end(s)
        took = time.monotonic() - t0
    assert READ_TIMEOUT_MS / 1000 - 0.2 <= took <= 4.0, f"closed after {took:.2f}s; readTimeout is {READ_TIMEOUT_MS} ms"
    e = line_of(sg, client)
    assert e["end"] == "timeout" and f"({READ_TIMEOUT_MS} ms" in e["detail"], e


def test_bad_hello_gets_decode_error(sg):
    s, client = connect(sg, "tls")
    with s:
        # A handshake record that holds a ServerHello (type 2), not a ClientHello.
        s.sendall(b"\x16\x03\x01\x00\x06\x02\x00\x00\x02\x03\x03")
        data, _ = read_to_end(s)
    # An alert record: content type 21, level fatal (2), description decode_error (50).
    assert data[:1] == b"\x15" and data[-2:] == b"\x02\x32", data
    e = line_of(sg, client)
    assert (e["end"], e["mode"]) == ("bad_hello", ""), e
    assert e["detail"], e


def test_plain_client_on_a_tls_only_entry_point_is_no_route(sg):
    s, client = connect(sg, "tls")
    with s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data, _ = read_to_end(s)
    assert data == b"", data  # a plain client is closed, without an answer
    e = line_of(sg, client)
    assert (e["end"], e["mode"], e["tls"]) == ("no_route", "plain", False), e
    assert "plain" in e["detail"], e


# ---------------------------------------------------------------- while relaying

def test_termination_delay(sg):
    """The server sends a line and half-closes; the client keeps its half open. After the
    transport's terminationDelay snigate closes both."""
    s, client = connect(sg, "halfclose")
    with s:
        t0 = time.monotonic()
        s.sendall(b"hello\n")
        data, _ = read_to_end(s)  # the server's line, then snigate's end of stream
        assert data == b"bye from the server\n", data
        e = line_of(sg, client)  # written while the client still has its half open
        took = time.monotonic() - t0
    assert e["end"] == "termination_delay", e
    assert e["detail"] == "", e
    assert e["bytes_in"] == 6 and e["bytes_out"] == len(data), e
    assert TERMINATION_DELAY_MS * 0.9 <= e["duration_ms"] < took * 1000 + 50, (e, took)


def test_idle_timeout(sg, stubs):
    s, client = connect(sg, "idle")
    with s:
        t0 = time.monotonic()
        s.sendall(b"x")
        data, _ = read_to_end(s)
        took = time.monotonic() - t0
    assert data == b"", data
    assert 0.9 <= took <= 4.0, f"closed after {took:.2f}s; tcpIdleTimeout is {IDLE_MS} ms"
    e = line_of(sg, client)
    assert (e["end"], e["detail"], e["bytes_in"]) == ("idle_timeout", "", 1), e
    assert e["server"] == stubs["idle"].address, e


def test_reset_by_the_server(sg):
    s, client = connect(sg, "reset")
    with s:
        s.sendall(b"hello\n")
        read_to_end(s)
    e = line_of(sg, client)
    assert e["end"] == "reset", e
    assert "server" in e["detail"] and "reset" in e["detail"].lower(), e
