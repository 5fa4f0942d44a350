"""Half-close: a client's end of stream reaches the server, however soon it follows the client's
bytes. The server here answers only once it has read the client's end of stream (hashsrv.py
--until-eof), as a client of `nc -N`, a batch upload or an HTTP/1.0-style exchange needs."""
import hashlib
import socket
import ssl
import time

import pytest

from harness import servers
from harness.configs import addr, lb, router
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port

ROUNDS = 20  # the race was lost in 11 to 20 of 20 tries before the fix


@pytest.fixture(scope="module")
def eof_server(request, tmp_path_factory) -> servers.HashServer:
    srv = servers.start_hash_server(tmp_path_factory.mktemp("hashsrv-eof"), until_eof=True)
    request.addfinalizer(srv.stop)
    return srv


@pytest.fixture(scope="module")
def hcgw(request, snigate_bin, tmp_path_factory, eof_server):
    """A mixed entry point (snigate reads the first bytes): TLS passthrough for eof.test and a
    plain catch-all, both to the until-EOF server. terminationDelay is long, so that the answer,
    which comes after the client's end of stream, is never cut however loaded the machine."""
    cfg = {
        "entryPoints": {"mixed": {"address": addr(free_port())}},
        "tcp": {
            "routers": {
                "tls": router("HostSNI(`eof.test`)", "eof", eps=["mixed"], tls={"passthrough": True}),
                "plain": router("HostSNI(`*`)", "eof", eps=["mixed"]),
            },
            "services": {"eof": lb(addr(eof_server.port), transport="patient")},
            "serversTransports": {"patient": {"terminationDelay": "10s"}},
        },
    }
    sg = Snigate(tmp_path_factory.mktemp("snigate-hc"), cfg, name="snigate-hc")
    request.addfinalizer(sg.teardown)
    return sg.start()


def client_hello(sni: str) -> bytes:
    """The ClientHello Python's TLS client would send first."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def exchange(port: int, parts: list, pause: float = 0.0) -> tuple:
    """Sends parts (a pause between them), half-closes at once after the last, and reads the
    answer until the server closes. (answer, seconds from the half-close to the answer)."""
    with socket.create_connection((LOCALHOST, port), timeout=3) as c:
        for i, part in enumerate(parts):
            if i and pause:
                time.sleep(pause)
            c.sendall(part)
        c.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        answer = b""
        try:
            while chunk := c.recv(4096):
                answer += chunk
        except socket.timeout:
            answer += b"(no answer within 3 s)"
        return answer, time.monotonic() - t0


def expected(parts: list) -> bytes:
    data = b"".join(parts)
    return f"{len(data)} {hashlib.sha256(data).hexdigest()}\n".encode()


def test_plain_bytes_then_end_of_stream_at_once(hcgw):
    parts = [b"PING\r\n"]
    for _ in range(ROUNDS):
        answer, took = exchange(hcgw.ports["mixed"], parts)
        assert answer == expected(parts)
        assert took < 1.0, f"the end of stream took {took:.2f}s to reach the server"


def test_client_hello_then_end_of_stream_at_once(hcgw):
    parts = [client_hello("eof.test")]
    for _ in range(ROUNDS):
        answer, took = exchange(hcgw.ports["mixed"], parts)
        assert answer == expected(parts)
        assert took < 1.0, f"the end of stream took {took:.2f}s to reach the server"


def test_end_of_stream_right_behind_later_bytes(hcgw):
    # The relay's own reads: each part is read alone, the last one together with the end of
    # stream right behind it.
    parts = [b"first\n", b"second\n", b"third\n"]
    for _ in range(5):
        answer, took = exchange(hcgw.ports["mixed"], parts, pause=0.02)
        assert answer == expected(parts)
        assert took < 1.0, f"the end of stream took {took:.2f}s to reach the server"
