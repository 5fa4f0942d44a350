"""XMPP routed by name (`protocol: xmpp`, RFC 6120): the client's stream header names its domain
(to=); snigate answers with its own header and features offering STARTTLS, says <proceed/>, and
routes by the SNI of the ClientHello that follows, or by to= when the client sent no SNI. Two
XMPP sites (tests/e2e/tools/xmpp_stub.py), each with its own certificate:

  entry point xmpp (mail.hostname is not used: snigate's header is from= the client's to=)
    a.xmpp.test     passthrough to site a (the client sees a's own certificate)
    b.xmpp.test     passthrough to site b
    plain.xmpp.test terminate, plain link to the no-STARTTLS site
    bare.xmpp.test  passthrough to the no-STARTTLS site (refused: it offers no STARTTLS)
    down.xmpp.test  passthrough to a port where nothing listens
  entry point slow: clientHelloTimeout 1s
  entry point xmppterm: a.xmpp.test terminated (snigate holds a certificate for it), STARTTLS to
    site a (servers[].tls): the client's stream names the site's own domain, as a real one does"""
from __future__ import annotations

import ssl
import time

import pytest

from harness.configs import addr, lb, router
from harness.pki import make_pki
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, run
from harness.xmpp import XmppError, XmppStream, start_xmpp_site, stop_xmpp_sites, xmpp_client

SITES = {"a": "a.xmpp.test", "b": "b.xmpp.test"}


class Gateway:
    def __init__(self, pki, sites, sg):
        self.pki, self.sites, self.sg = pki, sites, sg

    def ctx(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki.ca_cert))

    def port(self, ep: str = "xmpp") -> int:
        return self.sg.ports[ep]


@pytest.fixture(scope="module")
def gw(request, tmp_path_factory) -> Gateway:
    workdir = tmp_path_factory.mktemp("xmpp")
    pki = make_pki(workdir / "pki", {"a": ["a.xmpp.test"], "b": ["b.xmpp.test"], "bare": ["bare.xmpp.test"],
                                     "a-gw": ["a.xmpp.test"], "plain": ["plain.xmpp.test"],
                                     "default": ["default.xmpp.test"]})
    sites: dict = {}
    request.addfinalizer(lambda: stop_xmpp_sites(*sites.values()))
    for k, domain in SITES.items():
        sites[k] = start_xmpp_site(workdir / domain, domain, pki[k].cert, pki[k].key)
    sites["bare"] = start_xmpp_site(workdir / "bare", "bare.xmpp.test", pki["bare"].cert, pki["bare"].key,
                                    starttls=False)
    plain_site = start_xmpp_site(workdir / "plain", "plain.xmpp.test", pki["plain"].cert, pki["plain"].key,
                                 starttls=False)
    sites["plain"] = plain_site
    ports = {"xmpp": free_port(), "slow": free_port(), "xmppterm": free_port()}
    config = {
        "entryPoints": {
            "xmpp": {"address": addr(ports["xmpp"]), "protocol": "xmpp"},
            "slow": {"address": addr(ports["slow"]), "protocol": "xmpp", "clientHelloTimeout": "1s"},
            "xmppterm": {"address": addr(ports["xmppterm"]), "protocol": "xmpp"},
        },
        "tcp": {
            "routers": {
                "xa": router("HostSNI(`a.xmpp.test`)", "sa", eps=["xmpp", "slow"], tls={"passthrough": True}),
                "xb": router("HostSNI(`b.xmpp.test`)", "sb", eps=["xmpp"], tls={"passthrough": True}),
                "xterm": router("HostSNI(`a.xmpp.test`)", "satls", eps=["xmppterm"], tls={}),
                "xplain": router("HostSNI(`plain.xmpp.test`)", "splain", eps=["xmpp"], tls={}),
                "xbare": router("HostSNI(`bare.xmpp.test`)", "sbare", eps=["xmpp"], tls={"passthrough": True}),
                "xdown": router("HostSNI(`down.xmpp.test`)", "dead", eps=["xmpp"], tls={"passthrough": True}),
            },
            "services": {
                "sa": lb(addr(sites["a"].port)),
                "sb": lb(addr(sites["b"].port)),
                "satls": lb(addr(sites["a"].port), tls=True, transport="toa"),
                "splain": lb(addr(plain_site.port)),
                "sbare": lb(addr(sites["bare"].port)),
                "dead": lb(addr(free_port())),
            },
            "serversTransports": {
                "toa": {"dialTimeout": "2s", "tls": {"serverName": "a.xmpp.test", "rootCAs": [str(pki.ca_cert)]}},
            },
        },
        "tls": {
            "certificates": [{"certFile": str(pki[n].cert), "keyFile": str(pki[n].key)} for n in ("a-gw", "plain")],
            "stores": {"default": {"defaultCertificate": {"certFile": str(pki["default"].cert),
                                                          "keyFile": str(pki["default"].key)}}},
        },
    }
    sg = Snigate(workdir / "snigate", config, name="snigate-xmpp")
    request.addfinalizer(sg.teardown)
    sg.start()
    return Gateway(pki, sites, sg)


def subject_cn(s: XmppStream) -> str:
    return dict(x[0] for x in s.peercert()["subject"])["commonName"]


@pytest.mark.parametrize("k", sorted(SITES))
def test_s_client_passthrough_shows_the_sites_own_certificate(gw, k):
    name = SITES[k]
    cp = run(["openssl", "s_client", "-starttls", "xmpp", "-xmpphost", name, "-servername", name,
              "-connect", f"{LOCALHOST}:{gw.port()}", "-verify_hostname", name, "-CAfile", str(gw.pki.ca_cert),
              "-verify_return_error", "-brief"], input="", timeout=15)
    out = cp.stdout + cp.stderr
    assert cp.returncode == 0, out + gw.sg.logs()
    assert f"Peer certificate: CN = {name}" in out and "Verification: OK" in out, out


@pytest.mark.parametrize("k", sorted(SITES))
def test_client_reaches_the_site_its_name_selects(gw, k):
    said = xmpp_client(gw.port(), SITES[k], ctx=gw.ctx())
    assert f"hello from {SITES[k]} over TLS" in said, said


def test_client_without_sni_is_routed_by_to(gw):
    ctx = gw.ctx()
    ctx.check_hostname = False
    with XmppStream(gw.port()) as s:
        s.open("b.xmpp.test")
        s.starttls(ctx, server_hostname=None)
        assert subject_cn(s) == "b.xmpp.test"  # passthrough: the site's own certificate
        s.open("b.xmpp.test", until="</message>")
        assert "hello from b.xmpp.test over TLS" in s.tls_text
    entry = gw.sg.wait_access(lambda e: e.get("entry_point") == "xmpp" and e.get("sni") == "b.xmpp.test"
                              and e.get("router") == "xb")
    assert entry["mode"] == "xmpp", entry


def test_termination_with_starttls_to_the_server(gw):
    mark = gw.sg.access_mark()
    with XmppStream(gw.port("xmppterm")) as s:
        s.open("a.xmpp.test")
        s.starttls(gw.ctx(), server_hostname="a.xmpp.test")
        assert subject_cn(s) == "a.xmpp.test"
        s.open("a.xmpp.test", until="</message>")
        assert "hello from a.xmpp.test over TLS" in s.tls_text
        assert "<pong from='a.xmpp.test'/>" in s.ping()
    entry = gw.sg.wait_access(lambda e: e.get("entry_point") == "xmppterm", after=mark)
    assert entry["router"] == "xterm" and entry["tls_version"] == "TLSv1.3", entry


def test_termination_with_a_plain_link(gw):
    with XmppStream(gw.port()) as s:
        s.open("plain.xmpp.test")
        s.starttls(gw.ctx(), server_hostname="plain.xmpp.test")
        got = s.open("plain.xmpp.test")
        assert "from='plain.xmpp.test'" in got and "<mechanism>PLAIN</mechanism>" in got, got
        assert "<pong from='plain.xmpp.test'/>" in s.ping()


def test_snigates_features_offer_only_starttls(gw):
    with XmppStream(gw.port()) as s:
        got = s.open("a.xmpp.test")
    assert got.startswith("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                          "xmlns:stream='http://etherx.jabber.org/streams' id='"), got
    assert "from='a.xmpp.test' version='1.0'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>" \
           "<required/></starttls></stream:features>" in got, got


def test_stanza_before_tls_is_a_policy_violation(gw):
    with XmppStream(gw.port()) as s:
        s.open("a.xmpp.test")
        s.send("<message to='x'><body>hi</body></message>")
        said = s.read_to_eof()
    assert "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" in said, said
    assert "snigate: &lt;message&gt; before STARTTLS" in said, said


def test_unknown_name_gets_unrecognized_name(gw):
    cp = run(["openssl", "s_client", "-starttls", "xmpp", "-xmpphost", "nope.xmpp.test", "-servername",
              "nope.xmpp.test", "-connect", f"{LOCALHOST}:{gw.port()}", "-brief"], input="", timeout=15)
    out = cp.stdout + cp.stderr
    assert cp.returncode != 0 and "unrecognized name" in out, out


def test_no_name_at_all_is_a_stream_error_inside_tls(gw):
    with XmppStream(gw.port()) as s:
        s.open(None)
        s.starttls(None, server_hostname=None)
        s.send(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
               b"version='1.0'>")
        said = s.read_to_eof()
    assert "<host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" in said, said
    assert "snigate: the client sent no SNI and no stream to=, so entry point xmpp cannot choose a server" in said


@pytest.mark.parametrize("name,expect", [
    ("bare.xmpp.test", "router xbare: server 127.0.0.1:"),
    ("down.xmpp.test", "router xdown: service dead: no server answered")])
def test_server_failure_on_passthrough_is_said_inside_tls(gw, name, expect):
    with XmppStream(gw.port()) as s:
        s.open(name)
        s.starttls(None, server_hostname=name)  # snigate's default certificate, to say why
        s.send(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
               b"to='" + name.encode() + b"' version='1.0'>")
        said = s.read_to_eof()
    assert "<stream:error><" in said and expect in said, said
    if name.startswith("bare"):
        assert "does not offer STARTTLS in its stream features" in said, said


def test_silent_client_is_told_within_the_deadline(gw):
    start = time.monotonic()
    with XmppStream(gw.port("slow"), timeout=5) as s:
        s.open("a.xmpp.test")
        said = s.read_to_eof()
    assert "<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" in said, said
    assert time.monotonic() - start < 3


def test_bad_header_is_not_well_formed(gw):
    with XmppStream(gw.port()) as s:
        s.send(b"<!DOCTYPE x><stream:stream to='a.xmpp.test'>")
        said = s.read_to_eof()
    assert said.startswith("<?xml version='1.0'?><stream:stream "), said
    assert "<not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" in said, said


def test_pipelined_bytes_after_starttls_are_refused(gw):
    with XmppStream(gw.port()) as s:
        s.open("a.xmpp.test")
        s.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message/>")
        with pytest.raises(XmppError):
            s.read_until("<proceed")
        assert "not-well-formed" in s.transcript() and "sent more after &lt;starttls/&gt;" in s.transcript()


def test_without_sni_to_also_chooses_the_certificate(gw):
    """A terminating router reached by to= (no SNI) ends TLS with the certificate for that name,
    as XMPP clients check it against their domain."""
    mark = gw.sg.access_mark()
    ctx = gw.ctx()
    ctx.check_hostname = False
    with XmppStream(gw.port("xmppterm")) as s:
        s.open("a.xmpp.test")
        s.starttls(ctx, server_hostname=None)
        assert subject_cn(s) == "a.xmpp.test"
        s.open("a.xmpp.test", until="</message>")
    entry = gw.sg.wait_access(lambda e: e.get("entry_point") == "xmppterm", after=mark)
    assert entry["router"] == "xterm" and entry["sni"] == "a.xmpp.test", entry


def test_without_sni_an_unknown_to_gets_unrecognized_name(gw):
    mark = gw.sg.access_mark()
    with XmppStream(gw.port()) as s:
        s.open("nope.xmpp.test")
        with pytest.raises(XmppError, match="UNRECOGNIZED_NAME|unrecognized name"):
            s.starttls(None, server_hostname=None)
    entry = gw.sg.wait_access(lambda e: e.get("sni") == "nope.xmpp.test", after=mark)
    assert entry["end"] == "no_route", entry


def test_direct_tls_on_the_xmpp_port_is_told_where_it_belongs(gw):
    cp = run(["openssl", "s_client", "-connect", f"{LOCALHOST}:{gw.port()}", "-servername", "a.xmpp.test",
              "-brief"], input="", timeout=15)
    assert cp.returncode != 0
    entry = gw.sg.wait_access(lambda e: "direct TLS" in e.get("detail", ""))
    assert "direct TLS (port 5223) belongs on a tcp entry point" in entry["detail"], entry


def test_a_stream_closed_before_tls_is_closed_in_turn(gw):
    with XmppStream(gw.port()) as s:
        s.open("a.xmpp.test")
        s.send("</stream:stream>")
        assert s.read_to_eof().endswith("</stream:stream>")
