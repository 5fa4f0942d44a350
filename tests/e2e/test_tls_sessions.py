"""TLS session resumption on terminating routers: one ticket per full handshake, tickets
that work on every worker and after a reload (unless the TLS options changed), and
`disableSessionTickets` turning resumption off."""
import re
import socket
import ssl

import pytest

from harness.clients import http_get, s_client, tls_context
from harness.configs import addr, lb, router
from harness.util import LOCALHOST, free_port


def sessions_config(pki, nginx) -> dict:
    return {
        "snigate": {"workers": 2},  # a resumption may land on either worker
        "entryPoints": {"web": {"address": addr(free_port())}},
        "tcp": {
            "routers": {
                "a": router("HostSNI(`a.test`)", "p1", tls={}),
                "off": router("HostSNI(`off.wild.test`)", "p1", tls={"options": "noresume"}),
            },
            "services": {"p1": lb(addr(nginx.plain_ports["plain-1"]))},
        },
        "tls": {
            "certificates": [{"certFile": str(pki[n].cert), "keyFile": str(pki[n].key)} for n in ("a", "wild")],
            "options": {"noresume": {"disableSessionTickets": True}},
        },
    }


def get_name(port: int, sni: str, ctx: ssl.SSLContext, session=None):
    """GET /name over TLS; returns (body, session for the next connection, was this one resumed)."""
    raw = socket.create_connection((LOCALHOST, port), timeout=5)
    with ctx.wrap_socket(raw, server_hostname=sni, session=session) as s:
        status, body = http_get(s, sni, "/name", keepalive=False)
        assert status == 200, body
        return body.decode().strip(), s.session, s.session_reused


def tickets_received(port: int, sni: str, ca) -> int:
    # -ign_eof: read until the server closes, so every ticket sent has arrived.
    r = s_client(port, sni, ca, extra=["-msg", "-ign_eof"],
                 stdin=f"GET /name HTTP/1.0\r\nHost: {sni}\r\n\r\n".encode())
    assert "plain-1" in r.out, r.out
    return len(re.findall(r"<<< TLS 1.3, Handshake \[length [0-9a-f]+\], NewSessionTicket", r.out))


def test_one_ticket_per_handshake_and_it_resumes_on_every_worker(make_snigate, pki, nginx):
    sg = make_snigate(sessions_config(pki, nginx), name="snigate-sessions")
    port = sg.ports["web"]
    assert tickets_received(port, "a.test", pki.ca_cert) == 1  # OpenSSL's default would be 2

    ctx = tls_context(pki.ca_cert)
    body, first, reused = get_name(port, "a.test", ctx)
    assert (body, reused) == ("plain-1", False)
    # The same ticket, presented again and again: both workers take it (they share
    # the ticket keys), and every resumed handshake still routes.
    for _ in range(8):
        body, _, reused = get_name(port, "a.test", ctx, session=first)
        assert (body, reused) == ("plain-1", True)


def test_tls12_session_resumes(make_snigate, pki, nginx):
    sg = make_snigate(sessions_config(pki, nginx), name="snigate-sessions12")
    ctx = tls_context(pki.ca_cert)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    _, first, _ = get_name(sg.ports["web"], "a.test", ctx)
    body, _, reused = get_name(sg.ports["web"], "a.test", ctx, session=first)
    assert (body, reused) == ("plain-1", True)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2])
def test_disable_session_tickets_turns_resumption_off(make_snigate, pki, nginx, version):
    sg = make_snigate(sessions_config(pki, nginx), name="snigate-noresume")
    port = sg.ports["web"]
    if version == ssl.TLSVersion.TLSv1_3:
        assert tickets_received(port, "off.wild.test", pki.ca_cert) == 0
    ctx = tls_context(pki.ca_cert)
    ctx.maximum_version = version
    _, first, _ = get_name(port, "off.wild.test", ctx)
    body, _, reused = get_name(port, "off.wild.test", ctx, session=first)
    assert (body, reused) == ("plain-1", False)  # a full handshake, neither ticket nor session ID


def session_before_a_reload(make_snigate, pki, nginx, name):
    """A gateway, its configuration and a TLS 1.3 session (with its ticket) to a.test."""
    cfg = sessions_config(pki, nginx)
    sg = make_snigate(cfg, name=name)
    ctx = tls_context(pki.ca_cert)
    _, first, reused = get_name(sg.ports["web"], "a.test", ctx)
    assert not reused
    return sg, cfg, ctx, first


def test_a_ticket_resumes_after_a_reload_that_keeps_the_route(make_snigate, pki, nginx):
    sg, cfg, ctx, first = session_before_a_reload(make_snigate, pki, nginx, "snigate-reload-resume")
    # A reload that changes something else (a new router) builds every TLS context again.
    cfg["tcp"]["routers"]["b"] = router("HostSNI(`b.wild.test`)", "p1", tls={})
    sg.reload(cfg)
    assert get_name(sg.ports["web"], "b.wild.test", ctx)[0] == "plain-1"  # the new configuration serves
    body, _, reused = get_name(sg.ports["web"], "a.test", ctx, session=first)
    assert (body, reused) == ("plain-1", True)


def test_a_reload_that_changes_the_tls_options_makes_a_full_handshake(make_snigate, pki, nginx):
    sg, cfg, ctx, first = session_before_a_reload(make_snigate, pki, nginx, "snigate-reload-options")
    # Now the router asks for a client certificate: a resumed session would skip asking.
    cfg["tls"]["options"]["ask"] = {"clientAuth": {"clientAuthType": "RequestClientCert"}}
    cfg["tcp"]["routers"]["a"] = router("HostSNI(`a.test`)", "p1", tls={"options": "ask"})
    sg.reload(cfg)
    body, _, reused = get_name(sg.ports["web"], "a.test", ctx, session=first)
    assert (body, reused) == ("plain-1", False)
