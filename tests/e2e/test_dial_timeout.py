"""dialTimeout against a server that never answers SYN (harness/blackhole.py: a listener with a
full accept queue, whose SYNs the kernel drops). The refusal comes about dialTimeout after the
client arrived, not before and not at the 30 s default, with `end: backend_unreachable` and the
documented detail: `SERVER: no answer within N ms`, and `not tried, dialTimeout spent` for a
server the shared budget did not reach (docs/logging.md, docs/configuration.md)."""
from __future__ import annotations

import socket
import ssl
import time

import pytest

from harness.blackhole import start_blackhole
from harness.configs import addr, lb, router
from harness.snigate import Snigate
from harness.tlsprobe import attempt, client_context
from harness.util import LOCALHOST, free_port

DIAL_MS = 1000
# Refused after dialTimeout, well before the 30 s default; the upper bound leaves room for a
# loaded machine (two cores shared with other test runs).
LOWER, UPPER = 0.9, 4.0


@pytest.fixture(scope="module")
def hole(request):
    h = start_blackhole()
    request.addfinalizer(h.close)
    return h


@pytest.fixture(scope="module")
def sg(request, snigate_bin, tmp_path_factory, pki, hole, dead_port):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not implement dialTimeout")
    web, plain = free_port(), free_port()
    st = "fast"
    cfg = {
        "entryPoints": {"web": {"address": addr(web)}, "plain": {"address": addr(plain)}},
        "tcp": {
            "routers": {
                "pass": router("HostSNI(`pass.wild.test`)", "hole", tls={"passthrough": True}),
                "term": router("HostSNI(`term.wild.test`)", "holethendead", tls={}),
                "plain": router("HostSNI(`*`)", "plainhole", eps=["plain"]),
            },
            "services": {
                "hole": lb(hole.address, transport=st),
                # Used by one connection only, so the round robin starts at the black hole.
                "holethendead": lb(hole.address, addr(dead_port), transport=st),
                "plainhole": lb(hole.address, transport=st),
            },
            "serversTransports": {st: {"dialTimeout": f"{DIAL_MS}ms"}},
        },
        "tls": {"certificates": [{"certFile": str(pki["wild"].cert), "keyFile": str(pki["wild"].key)}]},
    }
    inst = Snigate(tmp_path_factory.mktemp("snigate-dial"), cfg, name="snigate-dial")
    request.addfinalizer(inst.teardown)
    return inst.start()


def timed(fn):
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0


def line_of(sg, client):
    return sg.wait_access(lambda e: e.get("client") == client, what=f"access log line of {client}")


def assert_warning(sg, client, router_, service):
    log = sg.wait_log(f"{client}: router {router_}: service {service}: ")
    line = next(ln for ln in log.splitlines() if f"{client}: router {router_}" in ln)
    assert " warning " in line and f"no answer within {DIAL_MS} ms" in line, line


def test_passthrough_client_gets_internal_error_after_dial_timeout(sg, pki, hole):
    a, took = timed(lambda: attempt(sg.ports["web"], "pass.wild.test", client_context(pki.ca_cert), timeout=10))
    assert isinstance(a.error, ssl.SSLError) and "INTERNAL_ERROR" in str(a.error), a
    assert LOWER <= took <= UPPER, f"refused after {took:.2f}s, dialTimeout is {DIAL_MS} ms"
    e = line_of(sg, a.client)
    assert (e["end"], e["router"], e["server"]) == ("backend_unreachable", "pass", ""), e
    assert f"{hole.address}: no answer within {DIAL_MS} ms" in e["detail"], e
    assert LOWER * 1000 <= e["duration_ms"] <= UPPER * 1000, e
    assert_warning(sg, a.client, "pass", "hole")


def test_budget_is_shared_by_the_servers(sg, pki, hole, dead_port):
    """The black hole takes the whole 1 s budget (each server gets at least 1 s while there is
    that much left); the refusing server after it is not tried at all."""
    a, took = timed(lambda: attempt(sg.ports["web"], "term.wild.test", client_context(pki.ca_cert), timeout=10))
    assert a.reply == "", a  # terminated: the handshake completes, then the connection is closed
    assert LOWER <= took <= UPPER, f"closed after {took:.2f}s, dialTimeout is {DIAL_MS} ms"
    e = line_of(sg, a.client)
    assert e["end"] == "backend_unreachable", e
    assert f"{hole.address}: no answer within {DIAL_MS} ms" in e["detail"], e
    assert f"{addr(dead_port)}: not tried, dialTimeout spent" in e["detail"], e
    assert_warning(sg, a.client, "term", "holethendead")


def test_plain_client_is_closed_after_dial_timeout(sg, hole):
    with socket.create_connection((LOCALHOST, sg.ports["plain"]), timeout=10) as s:
        client = f"{LOCALHOST}:{s.getsockname()[1]}"
        t0 = time.monotonic()
        s.sendall(b"hello\n")
        try:
            got = s.recv(100)
        except ConnectionResetError:
            got = b""
        took = time.monotonic() - t0
    assert got == b"", got
    assert LOWER <= took <= UPPER, f"closed after {took:.2f}s, dialTimeout is {DIAL_MS} ms"
    e = line_of(sg, client)
    assert (e["end"], e["mode"]) == ("backend_unreachable", "plain"), e
    assert f"no answer within {DIAL_MS} ms" in e["detail"], e
