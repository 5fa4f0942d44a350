"""The XMPP sites of harness/xmpp.py (tools/xmpp_stub.py), directly (no snigate): two sites,
a.xmpp.test and b.xmpp.test, each with its own certificate and STARTTLS required, and one site
that offers no STARTTLS. Clients: `openssl s_client -starttls xmpp` and the harness's raw
client, verifying against the test CA and the site's name."""
from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.pki import Pki, make_pki
from harness.util import LOCALHOST, read_text, run
from harness.xmpp import (STARTTLS, XmppError, XmppSite, XmppStream, logs_on_failure,
                          start_xmpp_site, stop_xmpp_sites, stream_header, xmpp_client)

DOMAINS = {"a": "a.xmpp.test", "b": "b.xmpp.test"}
PLAIN_DOMAIN = "c.xmpp.test"  # the site without STARTTLS
STREAMS = "http://etherx.jabber.org/streams"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"


def server_header(domain: str) -> str:
    """The stub's stream header, its random id as a group."""
    return (r"<\?xml version='1\.0'\?><stream:stream xmlns='jabber:client' "
            rf"xmlns:stream='{re.escape(STREAMS)}' id='([0-9a-f]{{16}})' "
            rf"from='{re.escape(domain)}' version='1\.0'>")


TLS_FEATURES = (f"<stream:features><starttls xmlns='{TLS_NS}'><required/></starttls>"
                "</stream:features>")
SASL_FEATURES = ("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                 "<mechanism>PLAIN</mechanism></mechanisms></stream:features>")


def greeting(domain: str) -> str:
    return f"<message from='{domain}' to='client'><body>hello from {domain} over TLS</body></message>"


def stream_error(condition: str) -> str:
    return (f"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            "</stream:error></stream:stream>")


@dataclass
class Xmpp:
    pki: Pki
    sites: dict  # "a" / "b" -> XmppSite (STARTTLS required), "plain" -> no STARTTLS
    workdir: Path

    def ctx(self) -> ssl.SSLContext:
        """A client context that trusts only the test CA (and checks the server's name)."""
        return ssl.create_default_context(cafile=str(self.pki.ca_cert))


@pytest.fixture(scope="module")
def xmpp(request, tmp_path_factory) -> Xmpp:
    workdir = tmp_path_factory.mktemp("xmpp")
    pki = make_pki(workdir / "pki", {k: [d] for k, d in DOMAINS.items()})
    sites: dict = {}
    request.addfinalizer(lambda: stop_xmpp_sites(*sites.values()))
    for k, domain in DOMAINS.items():
        sites[k] = start_xmpp_site(workdir / domain, domain, pki[k].cert, pki[k].key)
    sites["plain"] = start_xmpp_site(workdir / PLAIN_DOMAIN, PLAIN_DOMAIN, pki["a"].cert,
                                     pki["a"].key, starttls=False)
    return Xmpp(pki, sites, workdir)


def s_client(x: Xmpp, site: XmppSite, xmpphost: str, name: str):
    return run(["openssl", "s_client", "-starttls", "xmpp", "-xmpphost", xmpphost,
                "-servername", name, "-verify_hostname", name,
                "-connect", f"{LOCALHOST}:{site.port}", "-CAfile", str(x.pki.ca_cert),
                "-verify_return_error", "-brief"], timeout=15, input="")


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("k", sorted(DOMAINS))
def test_s_client_starttls_xmpp_shows_the_sites_certificate(xmpp, k):
    site = xmpp.sites[k]
    with logs_on_failure(site):
        cp = s_client(xmpp, site, site.domain, site.domain)
        out = cp.stdout + cp.stderr  # -brief writes the summary on stderr
        assert cp.returncode == 0, out
        assert f"Peer certificate: CN = {site.domain}" in out, out
        assert "Verification: OK" in out, out
        assert f"Verified peername: {site.domain}" in out, out
        # s_client sends no second header after TLS: it closes when its stdin ends
        site.wait_log(f" to={site.domain} tls=yes sni={site.domain} end=eof got=starttls")


def test_s_client_other_sites_name_fails_verification(xmpp):
    """Site b serves its own certificate only: asking it for a.xmpp.test does not verify."""
    b = xmpp.sites["b"]
    with logs_on_failure(b):
        cp = s_client(xmpp, b, b.domain, "a.xmpp.test")
        out = cp.stdout + cp.stderr
        assert cp.returncode != 0, out
        assert "CN = b.xmpp.test" in out and "hostname mismatch" in out, out


@pytest.mark.parametrize("k", sorted(DOMAINS))
def test_client_gets_the_greeting_over_tls(xmpp, k):
    site = xmpp.sites[k]
    with logs_on_failure(site):
        out = xmpp_client(site.port, site.domain, xmpp.ctx())
        assert f"hello from {site.domain} over TLS" in out, out
        assert re.fullmatch(server_header(site.domain) + re.escape(SASL_FEATURES + greeting(site.domain)),
                            out), out


def test_session_bytes_ping_echo_and_close(xmpp):
    """Every byte the stub sends, step by step, on one connection; the ids differ per header."""
    a = xmpp.sites["a"]
    with logs_on_failure(a), XmppStream(a.port) as s:
        first = s.open(a.domain)
        m1 = re.fullmatch(server_header(a.domain) + re.escape(TLS_FEATURES), first)
        assert m1, first
        assert s.starttls(xmpp.ctx(), a.domain) == f"<proceed xmlns='{TLS_NS}'/>"
        assert s.peercert()["subject"] == ((("commonName", a.domain),),)
        second = s.open(a.domain, until="</message>")
        m2 = re.fullmatch(server_header(a.domain) + re.escape(SASL_FEATURES + greeting(a.domain)),
                          second)
        assert m2 and m2.group(1) != m1.group(1), second
        assert s.ping() == f"<pong from='{a.domain}'/>"
        msg = "<message to='x@a.xmpp.test' type='chat'><body>caf\u00e9 &amp; &lt;b&gt;</body></message>"
        assert s.echo(msg) == f"<message from='{a.domain}'>{msg}</message>"
        assert s.ping() == f"<pong from='{a.domain}'/>"
        assert s.close_stream() == "</stream:stream>"
    a.wait_log(f"127.0.0.1:{s.local_port} to={a.domain},{a.domain} tls=yes sni={a.domain} "
               "end=client-closed got=starttls,ping,message,ping")


def test_no_sni_still_gets_the_certificate(xmpp):
    b = xmpp.sites["b"]
    ctx = xmpp.ctx()
    ctx.check_hostname = False  # still verified against the CA
    with logs_on_failure(b), XmppStream(b.port) as s:
        s.open(b.domain)
        s.starttls(ctx, server_hostname=None)
        assert s.peercert()["subject"] == ((("commonName", b.domain),),)
        assert greeting(b.domain) in s.open(b.domain, until="</message>")
    b.wait_log(f"127.0.0.1:{s.local_port} to={b.domain},{b.domain} tls=yes sni=- ")


@pytest.mark.parametrize("to", ["b.xmpp.test", "", None])
def test_wrong_to_gets_host_unknown(xmpp, to):
    a = xmpp.sites["a"]
    with logs_on_failure(a), XmppStream(a.port) as s:
        s.send(stream_header(to))
        got = s.read_to_eof()
        assert re.fullmatch(server_header(a.domain) + re.escape(stream_error("host-unknown")), got), got
    logged_to = {None: "-", "": "''"}.get(to, to)  # how the stub logs a missing or empty `to`
    a.wait_log(f"127.0.0.1:{s.local_port} to={logged_to} tls=no sni=- end=host-unknown got=-")
    with pytest.raises(XmppError, match="host-unknown"):
        xmpp_client(a.port, to or "", xmpp.ctx(), server_hostname=a.domain)


def test_to_compares_case_insensitively(xmpp):
    a = xmpp.sites["a"]
    with logs_on_failure(a):
        assert greeting(a.domain) in xmpp_client(a.port, "A.Xmpp.Test.", xmpp.ctx(),
                                                 server_hostname=a.domain)


def test_wrong_to_after_tls_gets_host_unknown(xmpp):
    a = xmpp.sites["a"]
    with logs_on_failure(a), XmppStream(a.port) as s:
        s.open(a.domain)
        s.starttls(xmpp.ctx(), a.domain)
        s.send(stream_header("b.xmpp.test"))
        got = s.read_to_eof()
        assert re.fullmatch(server_header(a.domain) + re.escape(stream_error("host-unknown")), got), got


@pytest.mark.parametrize("variant", ["double-quotes", "reordered", "byte-at-a-time", "prefixed",
                                     "long-form"])
def test_lenient_but_correct_parsing(xmpp, variant):
    """Other spellings of the same header and starttls, and a header split into 1-byte sends."""
    a = xmpp.sites["a"]
    header = stream_header(a.domain)
    request = STARTTLS
    if variant == "double-quotes":
        header = (b'<?xml version="1.0" encoding="UTF-8"?>\n<stream:stream xmlns="jabber:client" '
                  b'xmlns:stream="http://etherx.jabber.org/streams" to="a.xmpp.test" version="1.0">')
        request = f'<starttls xmlns="{TLS_NS}"/>'
    elif variant == "reordered":  # and a '>' inside a quoted value, xml:lang, newlines, a comment
        header = (b"<!-- hi -->\n<stream:stream version='1.0'\n  from='me@x.test/a>b' to = 'a.xmpp.test'"
                  b" xml:lang='en' xmlns:stream='http://etherx.jabber.org/streams'\n"
                  b"  xmlns='jabber:client'  >\n ")
    elif variant == "prefixed":
        request = f"<tls:starttls xmlns:tls='{TLS_NS}'/>"
    elif variant == "long-form":
        request = f"<starttls xmlns='{TLS_NS}'>\n</starttls>"
    with logs_on_failure(a), XmppStream(a.port) as s:
        if variant == "byte-at-a-time":
            for i in range(len(header)):
                s.send(header[i:i + 1])
            first = s.read_until("</stream:features>")
        else:
            first = s.open(None, header=header)
        assert re.fullmatch(r"\s*" + server_header(a.domain) + re.escape(TLS_FEATURES), first), first
        s.starttls(xmpp.ctx(), a.domain, request=request)
        assert greeting(a.domain) in s.open(None, header=header, until="</message>")


def test_other_elements_before_tls_are_refused(xmpp):
    a = xmpp.sites["a"]
    with logs_on_failure(a), XmppStream(a.port) as s:
        s.open(a.domain)
        s.send("<ping/>")
        got = s.read_to_eof()
        assert got == stream_error("policy-violation"), got


def test_bytes_pipelined_behind_starttls_are_refused(xmpp):
    """A STARTTLS injection: plaintext behind <starttls/> in one write gets no <proceed/>."""
    a = xmpp.sites["a"]
    with logs_on_failure(a), XmppStream(a.port) as s:
        s.open(a.domain)
        s.send(STARTTLS + stream_header(a.domain).decode())
        got = s.read_to_eof()
        assert got == stream_error("policy-violation"), got
    a.wait_log(f"127.0.0.1:{s.local_port} to={a.domain} tls=no sni=- "
               "end=policy-violation(pipelined-after-starttls) got=starttls")


def test_not_jabber_client_gets_invalid_namespace(xmpp):
    a = xmpp.sites["a"]
    with logs_on_failure(a), XmppStream(a.port) as s:
        s.send(stream_header(a.domain).replace(b"jabber:client", b"jabber:server"))
        got = s.read_to_eof()
        assert re.fullmatch(server_header(a.domain) + re.escape(stream_error("invalid-namespace")),
                            got), got


def test_no_starttls_site_answers_starttls_with_failure(xmpp):
    plain = xmpp.sites["plain"]
    with logs_on_failure(plain):
        with XmppStream(plain.port) as s:
            first = s.open(PLAIN_DOMAIN)
            assert re.fullmatch(server_header(PLAIN_DOMAIN) + re.escape(SASL_FEATURES), first), first
            assert s.ping() == f"<pong from='{PLAIN_DOMAIN}'/>"  # the toy exchange works in the clear
            s.send(STARTTLS)
            got = s.read_to_eof()
            assert got == f"<failure xmlns='{TLS_NS}'/></stream:stream>", got
        plain.wait_log(f"127.0.0.1:{s.local_port} to={PLAIN_DOMAIN} tls=no sni=- "
                       "end=starttls-failure-sent got=ping,starttls")
        with pytest.raises(XmppError, match="offers no starttls"):
            xmpp_client(plain.port, PLAIN_DOMAIN, xmpp.ctx())


def test_stub_exits_0_on_sigterm(xmpp, tmp_path):
    site = start_xmpp_site(tmp_path, "d.xmpp.test", xmpp.pki["a"].cert, xmpp.pki["a"].key)
    try:
        with XmppStream(site.port) as s:  # an open connection does not hold it up
            s.open("d.xmpp.test")
            client_port = s.local_port
            assert site.stop() == 0, site.logs()
    finally:
        site.proc.kill()
    stderr = read_text(site.proc.stderr_path).splitlines()
    assert stderr[-2:] == [f"xmpp_stub d.xmpp.test: 127.0.0.1:{client_port} to=d.xmpp.test "
                           "tls=no sni=- end=cancelled got=-", "xmpp_stub d.xmpp.test: stopped"], stderr
