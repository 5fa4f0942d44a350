"""The admin HTTP server under bad input and load (docs/observability.md): long URLs and heads,
bodies, other methods, a silent client, a slow client, 1,000 clients at once, and garbage, none
of which may stop it from answering others or delay the TCP traffic next to it."""
from __future__ import annotations

import selectors
import socket
import time

import pytest

from harness.admin import get
from harness.configs import addr, router
from harness.snigate import Snigate
from harness.stubsrv import StubServer, echo
from harness.util import LOCALHOST, free_port


@pytest.fixture(scope="module")
def sg(request, tmp_path_factory):
    backend = StubServer(echo)
    request.addfinalizer(backend.close)
    ports = {"plain": free_port(), "traefik": free_port()}
    cfg = {
        "entryPoints": {name: {"address": addr(p)} for name, p in ports.items()},
        "api": {"insecure": True},
        "metrics": {"prometheus": {}},
        "ping": {},
        "tcp": {"routers": {"plain": router("HostSNI(`*`)", "echo", eps=["plain"])},
                "services": {"echo": {"loadBalancer": {"servers": [{"address": backend.address}]}}}},
    }
    inst = Snigate(tmp_path_factory.mktemp("admin-http"), cfg, name="snigate-admin")
    request.addfinalizer(inst.teardown)
    return inst.start()


def api(sg) -> int:
    return sg.ports["traefik"]


def raw(sg, data: bytes, timeout: float = 5.0) -> bytes:
    """Send data, read until the server closes."""
    with socket.create_connection((LOCALHOST, api(sg)), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def relay_works(sg) -> bool:
    with socket.create_connection((LOCALHOST, sg.ports["plain"]), timeout=5) as s:
        s.sendall(b"ping through")
        return s.recv(100) == b"ping through"


def test_every_route_and_a_404(sg):
    assert get(api(sg), "/ping")[2] == b"OK"
    assert get(api(sg), "/metrics")[0] == 200
    assert get(api(sg), "/api/stats")[0] == 200
    status, headers, _ = get(api(sg), "/")
    assert status == 302 and headers["location"] == "dashboard/"
    assert get(api(sg), "/nothing/here")[0] == 404


def test_head_has_no_body_and_keep_alive_serves_several(sg):
    reply = raw(sg, b"HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, rest = reply.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 2" in head
    assert rest.startswith(b"HTTP/1.1 200") and rest.endswith(b"\r\n\r\nOK"), reply


@pytest.mark.parametrize("request_bytes,status", [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", b"414"),
    (b"GET / HTTP/1.1\r\n" + b"X-Filler: " + b"b" * 17000 + b"\r\n\r\n", b"431"),
    (b"POST /api/stats HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody", b"413"),
    (b"DELETE /api/stats HTTP/1.1\r\nConnection: close\r\n\r\n", b"405"),
    (b"GET /ping HTTP/2.0\r\n\r\n", b"505"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n", b"400"),
    (b"GET /a%zz HTTP/1.1\r\nConnection: close\r\n\r\n", b"400"),
])
def test_bad_requests_get_a_status_and_a_close(sg, request_bytes, status):
    """A head that cannot be read ends the connection; a readable one that asks for something
    wrong (a method, a target) is answered like any other, so those ask for the close."""
    reply = raw(sg, request_bytes)
    assert reply.split(b" ", 2)[1] == status, reply[:200]
    assert b"Connection: close" in reply


def test_a_silent_client_is_closed_and_blocks_nobody(sg):
    started = time.monotonic()
    with socket.create_connection((LOCALHOST, api(sg)), timeout=20) as slow:
        slow.sendall(b"GET /ping HTTP/1.1\r\n")  # and nothing more
        # Meanwhile everyone else is served at once.
        for _ in range(20):
            assert get(api(sg), "/ping", timeout=2)[2] == b"OK"
        assert relay_works(sg)
        reply = b""
        while chunk := slow.recv(4096):
            reply += chunk
    waited = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert 8 < waited < 15, waited


def test_a_thousand_clients_at_once(sg):
    sel = selectors.DefaultSelector()
    socks = []
    try:
        for _ in range(1000):
            s = socket.create_connection((LOCALHOST, api(sg)), timeout=5)
            s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            s.setblocking(False)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, bytearray())
        answered_ok = 0
        assert relay_works(sg), "TCP traffic next to 1,000 API clients"
        done = 0
        deadline = time.monotonic() + 30
        while done < len(socks) and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                chunk = key.fileobj.recv(65536)
                if chunk:
                    key.data.extend(chunk)
                else:
                    sel.unregister(key.fileobj)
                    done += 1
                    answered_ok += key.data.startswith(b"HTTP/1.1 200 OK")
        assert done == 1000, f"{done} of 1000 answered"
        assert answered_ok == 1000, f"{answered_ok} of 1000 answered 200"
    finally:
        for s in socks:
            s.close()


def test_the_server_is_still_well(sg):
    assert get(api(sg), "/ping")[2] == b"OK"
    assert relay_works(sg)
    assert "admin: " not in sg.log(), "the admin server logged an error"
