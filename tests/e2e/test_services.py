"""Services: round robin over servers, refused servers skipped, all servers down."""
import os
import ssl
import time

from harness.clients import curl, http_get, tls_connect, tls_get_name
from harness.configs import addr, lb, router
from harness.util import free_port


def test_dead_first_server_is_skipped(gw, pki):
    # plainnginx = [dead port, plain-1]; whatever the round-robin position, every request succeeds.
    bodies = [tls_get_name(gw.web, "a.test", pki.ca_cert) for _ in range(8)]
    assert bodies == ["plain-1"] * 8


def test_passthrough_skips_a_refused_server(gw, pki, nginx):
    # tlsnginx = [dead port, nginx TLS]: the ClientHello goes out with the connect, so a refusal
    # is seen on that first send; the hello must then reach the live server whole.
    mark = gw.sg.access_mark()
    bodies, ports = [], []
    for _ in range(8):
        with tls_connect(gw.web, "backend.test", pki.ca_cert) as s:
            ports.append(s.getsockname()[1])
            bodies.append(http_get(s, "backend.test", "/name", keepalive=False))
            # Read to nginx's close_notify: closing with it unread would make this client's
            # kernel send a reset, which races nginx's own FIN to snigate.
            while s.recv(4096):
                pass
    assert bodies == [(200, b"tls-1\n")] * 8
    for port in ports:  # each of these connections, not another test's
        e = gw.sg.wait_access_from(port, after=mark)
        assert e["router"] == "pass", e
        assert e["server"] == f"127.0.0.1:{nginx.tls_port}", e
        assert e["end"] == "closed", e


def test_round_robin_uses_every_server(gw, pki):
    # Enough requests that some worker gets at least 3 even if each worker balances on its own.
    n = 2 * (os.cpu_count() or 1) + 2
    bodies = [tls_get_name(gw.web, "rr.wild.test", pki.ca_cert) for _ in range(n)]
    assert set(bodies) == {"plain-1", "plain-2"}, bodies


def test_all_servers_down(gw, pki):
    mark = gw.sg.access_mark()
    t0 = time.monotonic()
    got = b""
    # Terminated: the client's handshake completes, then the only server refuses and snigate
    # closes the connection without an answer.
    with tls_connect(gw.web, "down.wild.test", pki.ca_cert) as s:
        port = s.getsockname()[1]
        try:
            s.sendall(b"GET /name HTTP/1.1\r\nHost: down.wild.test\r\nConnection: close\r\n\r\n")
            while chunk := s.recv(4096):
                got += chunk
        except (ssl.SSLError, ConnectionError):
            pass  # a reset, as the request was not read, ends it as well
    elapsed = time.monotonic() - t0
    assert got == b"", got
    assert elapsed < 3.0, f"a refused server should fail fast, took {elapsed:.2f}s"
    e = gw.sg.wait_access_from(port, after=mark)
    assert (e["router"], e["service"], e["end"]) == ("down", "deadsvc", "backend_unreachable"), e
    assert "Connection refused" in e.get("detail", ""), e


def test_plain_only_entry_point_http(gw):
    r = curl("plain.test", gw.plainhttp, "/name", scheme="http")
    assert (r.rc, r.status, r.body.strip()) == (0, 200, "plain-1"), r.stderr


def test_server_named_by_host_name(make_snigate, nginx):
    # A server given by name is resolved at each connect, on a resolver thread
    # of Asio's that hands the answer back to the worker: the one thing that
    # crosses threads on a connection's way (workers run their sockets
    # without locks).
    cfg = {
        "snigate": {"workers": 2},
        "entryPoints": {"web": {"address": addr(free_port())}},
        "tcp": {"routers": {"all": router("HostSNI(`*`)", "named")},
                "services": {"named": lb(f"localhost:{nginx.plain_ports['plain-1']}")}},
    }
    sg = make_snigate(cfg, name="snigate-named")
    for _ in range(6):
        r = curl("plain.test", sg.ports["web"], "/name", scheme="http")
        assert (r.rc, r.status, r.body.strip()) == (0, 200, "plain-1"), r.stderr
