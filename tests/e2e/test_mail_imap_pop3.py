"""IMAP and POP3 routed by name (`protocol: imap`, `protocol: pop3`): snigate greets the client,
answers CAPABILITY (CAPA), takes STARTTLS (STLS) and routes by the SNI of the ClientHello that
follows. Two mail sites (harness/mail.py), each a Dovecot with its own certificate:

  entry points imap and pop3 (mail.hostname gw.mail.test), the same routers on each:
    a.mail.test     passthrough to site a (the client sees a's own certificate)
    b.mail.test     passthrough to site b
    mx-a.mail.test  terminate with snigate's certificate, plain link to site a
    mx-b.mail.test  terminate, STARTTLS to site b (servers[].tls, verified as b.mail.test)
    down.mail.test  passthrough to a port where nothing listens
  entry points imapmixed and pop3mixed: b.mail.test, and a plain HostSNI(`*`) router to site a
  entry points imapslow and pop3slow: clientHelloTimeout 1s
  entry points imaplogin and pop3login: a.mail.test and b.mail.test terminated (b re-encrypted), for
    clients without SNI, routed by the domain of their login
  entry point smtp: a.mail.test passthrough, for the whole journey of a message through snigate

Messages are sent to each site's own SMTP server, then read through snigate with imaplib,
poplib, curl and openssl s_client."""
from __future__ import annotations

import imaplib
import poplib
import socket
import ssl
import time

import pytest

from harness.configs import addr, lb, router
from harness.mail import read_greeting
from harness.mail_gateway import SITES, dialogue, mail_pki, start_sites, tls_section, transports
from harness.mail_clients import (IMAPTo, POP3To, SMTPTo, delivered_by, imap_find, logs_on_failure,
                                  no_sni_context, pop3_find, unique_subject)
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, run

NAMES = [("a.mail.test", "a"), ("b.mail.test", "b"), ("mx-a.mail.test", "a"), ("mx-b.mail.test", "b")]
PROTOCOLS = ("imap", "pop3")


class Gateway:
    def __init__(self, pki, sites, sg, subjects):
        self.pki, self.sites, self.sg, self.subjects = pki, sites, sg, subjects

    def ctx(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki.ca_cert))


def routers_for(proto: str) -> dict:
    return {
        f"{proto}-a": router("HostSNI(`a.mail.test`)", f"{proto}-sa", eps=[proto], tls={"passthrough": True}),
        f"{proto}-b": router("HostSNI(`b.mail.test`)", f"{proto}-sb", eps=[proto, f"{proto}mixed"],
                             tls={"passthrough": True}),
        f"{proto}-ta": router("HostSNI(`mx-a.mail.test`)", f"{proto}-sa", eps=[proto], tls={}),
        f"{proto}-tb": router("HostSNI(`mx-b.mail.test`)", f"{proto}-sbtls", eps=[proto], tls={}),
        f"{proto}-down": router("HostSNI(`down.mail.test`)", "dead", eps=[proto, f"{proto}slow"],
                                tls={"passthrough": True}),
        f"{proto}-plain": router("HostSNI(`*`)", f"{proto}-sa", eps=[f"{proto}mixed"]),
        f"{proto}-login-a": router("HostSNI(`a.mail.test`)", f"{proto}-sa", eps=[f"{proto}login"], tls={}),
        f"{proto}-login-b": router("HostSNI(`b.mail.test`)", f"{proto}-sbtls", eps=[f"{proto}login"], tls={}),
    }


def services_for(proto: str, sites) -> dict:
    port = f"{proto}_port"
    return {
        f"{proto}-sa": lb(addr(getattr(sites["a"], port))),
        f"{proto}-sb": lb(addr(getattr(sites["b"], port))),
        f"{proto}-sbtls": lb(addr(getattr(sites["b"], port)), tls=True, transport="tob"),
    }


def gateway_config(pki, sites, ports, dead_port) -> dict:
    eps = {}
    for proto in PROTOCOLS:
        eps[proto] = {"address": addr(ports[proto]), "protocol": proto, "mail": {"hostname": "gw.mail.test"}}
        eps[f"{proto}mixed"] = {"address": addr(ports[f"{proto}mixed"]), "protocol": proto}
        eps[f"{proto}slow"] = {"address": addr(ports[f"{proto}slow"]), "protocol": proto, "clientHelloTimeout": "1s"}
        eps[f"{proto}login"] = {"address": addr(ports[f"{proto}login"]), "protocol": proto}
    eps["smtp"] = {"address": addr(ports["smtp"]), "protocol": "smtp"}
    return {
        "entryPoints": eps,
        "tcp": {
            "routers": {**routers_for("imap"), **routers_for("pop3"),
                        "smtp-a": router("HostSNI(`a.mail.test`)", "smtp-sa", eps=["smtp"], tls={"passthrough": True})},
            "services": {**services_for("imap", sites), **services_for("pop3", sites),
                         "smtp-sa": lb(addr(sites["a"].smtp_port)), "dead": lb(addr(dead_port))},
            "serversTransports": transports(pki),
        },
        "tls": tls_section(pki),
    }


@pytest.fixture(scope="module")
def gw(request, tmp_path_factory) -> Gateway:
    workdir = tmp_path_factory.mktemp("mail-imap-pop3")
    pki = mail_pki(workdir / "pki")
    sites = start_sites(request, workdir, pki)
    # One message on each site, sent to its own SMTP server: what the clients look for.
    subjects = {}
    for k, site in sites.items():
        subjects[k] = unique_subject(f"for {site.domain}")
        with SMTPTo(site.domain, site.smtp_port, local_hostname="client.test", timeout=10) as smtp:
            smtp.sendmail("bob@x.test", [f"alice@{site.domain}"], f"Subject: {subjects[k]}\r\n\r\nhello\r\n")
    ports = {name: free_port() for proto in PROTOCOLS for name in (proto, f"{proto}mixed", f"{proto}slow", f"{proto}login")}
    ports["smtp"] = free_port()
    sg = Snigate(workdir / "snigate", gateway_config(pki, sites, ports, free_port()), name="snigate-mail")
    request.addfinalizer(sg.teardown)
    sg.start()
    return Gateway(pki, sites, sg, subjects)



def s_client(gw: Gateway, proto: str, name: str, *extra: str, port: int = 0):
    cp = run(["openssl", "s_client", "-starttls", proto, "-connect", f"{LOCALHOST}:{port or gw.sg.ports[proto]}",
              "-servername", name, "-verify_hostname", name, "-CAfile", str(gw.pki.ca_cert),
              "-verify_return_error", "-brief", *extra], timeout=15)
    return cp, cp.stdout + cp.stderr


# ---------------------------------------------------------------- snigate's own side

def test_imap_greeting_capability_and_login_before_tls(gw):
    port = gw.sg.ports["imap"]
    assert read_greeting(port) == "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] gw.mail.test ready (snigate)"
    said = dialogue(port, ["a1 CAPABILITY", "a2 LOGIN alice secret", "a3 NOOP", "a4 LOGOUT"])
    assert "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK CAPABILITY completed\r\n" in said, said
    assert "a2 NO [PRIVACYREQUIRED] STARTTLS first: gw.mail.test chooses the server by the name" in said, said
    assert "a3 OK NOOP completed\r\n* BYE gw.mail.test logging out\r\na4 OK LOGOUT completed\r\n" in said, said


def test_pop3_greeting_capa_and_user_before_tls(gw):
    port = gw.sg.ports["pop3"]
    assert read_greeting(port) == "+OK gw.mail.test ready (snigate)"
    said = dialogue(port, ["CAPA", "USER alice", "QUIT"])
    assert "+OK Capability list follows\r\nSTLS\r\n.\r\n" in said, said
    assert "-ERR STLS first: gw.mail.test chooses the server by the name" in said, said
    assert said.endswith("+OK gw.mail.test closing the connection\r\n"), said


def test_mixed_entry_points_offer_plain_login(gw):
    assert "LOGINDISABLED" not in read_greeting(gw.sg.ports["imapmixed"])
    said = dialogue(gw.sg.ports["pop3mixed"], ["CAPA", "QUIT"])
    assert "+OK Capability list follows\r\nSTLS\r\nUSER\r\n.\r\n" in said, said


@pytest.mark.parametrize("proto,expect", [
    ("imap", "* BYE [UNAVAILABLE] snigate: no STARTTLS and ClientHello within clientHelloTimeout (1000 ms)"),
    ("pop3", "-ERR [SYS/TEMP] snigate: no STLS and ClientHello within clientHelloTimeout (1000 ms)")])
def test_silent_client_is_told_within_the_deadline(gw, proto, expect):
    start = time.monotonic()
    # Read until snigate closes: a quiet spell as long as the deadline itself would end the read
    # too early on a loaded machine.
    said = dialogue(gw.sg.ports[f"{proto}slow"], [], quiet=5.0)
    assert expect in said, said
    assert time.monotonic() - start < 3


# ---------------------------------------------------------------- routed by name

@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("name", ["a.mail.test", "b.mail.test", "mx-a.mail.test"])
def test_s_client_sees_the_certificate_of_the_mode(gw, proto, name):
    cp, out = s_client(gw, proto, name)
    assert cp.returncode == 0, out + gw.sg.logs()
    assert f"Peer certificate: CN = {name}" in out and "Verification: OK" in out, out


@pytest.mark.parametrize("name,k", NAMES)
def test_imaplib_reads_the_site_its_name_selects(gw, name, k):
    with logs_on_failure(*gw.sites.values()):
        for login in ("alice", f"alice@{SITES[k]}"):
            found = imap_find(gw.ctx(), gw.sites[k], gw.subjects[k], login=login, port=gw.sg.ports["imap"], name=name)
            assert len(found) == 1 and delivered_by(found[0]) == SITES[k], found
        other = "b" if k == "a" else "a"
        assert imap_find(gw.ctx(), gw.sites[k], gw.subjects[other], port=gw.sg.ports["imap"], name=name) == []


@pytest.mark.parametrize("name,k", NAMES)
def test_poplib_reads_the_site_its_name_selects(gw, name, k):
    with logs_on_failure(*gw.sites.values()):
        found = pop3_find(gw.ctx(), gw.sites[k], gw.subjects[k], login=f"alice@{SITES[k]}",
                          port=gw.sg.ports["pop3"], name=name)
        assert len(found) == 1 and delivered_by(found[0]) == SITES[k], found
    entry = gw.sg.wait_access(lambda e: e.get("sni") == name and e.get("entry_point") == "pop3"
                              and e.get("bytes_out", 0) > 0)
    assert entry["mode"] == "pop3", entry


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_curl_ssl_reqd(gw, proto):
    port = gw.sg.ports[proto]
    cp = run(["curl", "-sS", "--ssl-reqd", "--cacert", str(gw.pki.ca_cert), "--max-time", "10",
              "--resolve", f"mx-b.mail.test:{port}:{LOCALHOST}", f"{proto}://mx-b.mail.test:{port}/",
              "--user", "alice:secret"], timeout=20)
    assert cp.returncode == 0, cp.stderr + gw.sg.logs()
    if proto == "imap":
        assert "INBOX" in cp.stdout, cp.stdout
    else:
        listing = [line.split() for line in cp.stdout.splitlines() if line.strip()]
        assert listing and all(len(e) == 2 and e[0].isdigit() for e in listing), cp.stdout


def test_a_message_sent_and_read_back_through_snigate(gw):
    """The whole journey through snigate: sent with smtplib over the smtp entry point
    (passthrough), read back with imaplib (termination, mx-a) and poplib (no SNI, routed by the
    login's domain)."""
    subject = unique_subject("journey")
    with logs_on_failure(*gw.sites.values()):
        with SMTPTo("a.mail.test", gw.sg.ports["smtp"], local_hostname="client.test", timeout=10) as smtp:
            smtp.starttls(context=gw.ctx())
            smtp.login("alice@a.mail.test", "secret")
            smtp.sendmail("bob@x.test", ["alice@a.mail.test"], f"Subject: {subject}\r\n\r\nround trip\r\n")
        found = imap_find(gw.ctx(), gw.sites["a"], subject, port=gw.sg.ports["imap"], name="mx-a.mail.test")
        assert len(found) == 1 and b"with ESMTPSA;" in found[0], found
        found = pop3_find(no_sni_context(gw.pki.ca_cert), gw.sites["a"], subject, login="alice@a.mail.test",
                          port=gw.sg.ports["pop3login"], name="ignored.test")
        assert len(found) == 1 and b"round trip" in found[0], found


# ---------------------------------------------------------------- plain, unknown, down

def test_plain_login_goes_to_the_plain_router(gw):
    """On an entry point with a plain router, a client that logs in without TLS goes there."""
    a = gw.sites["a"]
    found = imap_find(gw.ctx(), a, gw.subjects["a"], tls=False, port=gw.sg.ports["imapmixed"], name="x.test")
    assert len(found) == 1 and delivered_by(found[0]) == "a.mail.test", found
    found = pop3_find(gw.ctx(), a, gw.subjects["a"], login="alice", tls=False, port=gw.sg.ports["pop3mixed"],
                      name="x.test")
    assert len(found) == 1, found
    entry = gw.sg.wait_access(lambda e: e.get("router") == "pop3-plain" and e.get("bytes_out", 0) > 0)
    assert entry["tls"] is False, entry


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_unknown_name_gets_unrecognized_name(gw, proto):
    cp, out = s_client(gw, proto, "nope.mail.test")
    assert cp.returncode != 0 and "unrecognized name" in out, out


def test_imap_dead_server_is_said_inside_tls(gw):
    imap = IMAPTo("down.mail.test", gw.sg.ports["imap"], timeout=10)
    ctx = gw.ctx()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # snigate's default certificate
    with pytest.raises(imaplib.IMAP4.abort, match=r"\[UNAVAILABLE\] snigate: router imap-down: service dead: no "
                                                  r"server answered"):
        imap.starttls(ssl_context=ctx)
    imap.shutdown()


def test_pop3_dead_server_is_said_inside_tls(gw):
    pop = POP3To("down.mail.test", gw.sg.ports["pop3"], timeout=10)
    ctx = gw.ctx()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    pop.stls(ctx)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[SYS/TEMP\] snigate: router pop3-down: service dead"):
        pop.user("alice")
    pop.close()


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_client_without_sni_is_asked_for_its_login(gw, proto):
    """No SNI, and no router takes a client without one: snigate ends the client's TLS (its default
    certificate) and offers the login that names the server."""
    ctx = no_sni_context(gw.pki.ca_cert)
    with socket.create_connection((LOCALHOST, gw.sg.ports[proto]), timeout=5) as raw:
        raw.recv(4096)
        raw.sendall(b"a STARTTLS\r\n" if proto == "imap" else b"STLS\r\n")
        assert raw.recv(4096).startswith(b"a OK" if proto == "imap" else b"+OK")
        with ctx.wrap_socket(raw) as tls:
            assert tls.getpeercert()["subject"] == ((("commonName", "default.mail.test"),),)
            tls.sendall(b"b CAPABILITY\r\n" if proto == "imap" else b"CAPA\r\n")
            said = tls.recv(4096).decode()
            tls.sendall(b"c LOGIN alice secret\r\n" if proto == "imap" else b"USER alice\r\n")
            said += tls.recv(4096).decode()
    if proto == "imap":
        assert said.startswith("* CAPABILITY IMAP4rev1\r\nb OK CAPABILITY completed\r\n"), said
        assert "* BYE snigate: the client sent no SNI, and its login \"alice\" names no domain" in said, said
    else:
        assert said.startswith("+OK Capability list follows\r\nUSER\r\n.\r\n"), said
        assert "-ERR snigate: the client sent no SNI, and its login \"alice\" names no domain" in said, said


@pytest.mark.parametrize("k", sorted(SITES))
def test_imap_without_sni_is_routed_by_its_login(gw, k):
    """imaplib with no SNI: LOGIN alice@a.mail.test reaches site a (plain link), alice@b.mail.test
    site b (STARTTLS to it); the server sees the login as the client sent it."""
    imap = IMAPTo("ignored.test", gw.sg.ports["imaplogin"], timeout=10)
    try:
        imap.starttls(ssl_context=no_sni_context(gw.pki.ca_cert))
        imap.login(f"alice@{SITES[k]}", "secret")
        assert imap.select("INBOX", readonly=True)[0] == "OK"
        typ, data = imap.search(None, "SUBJECT", f'"{gw.subjects[k]}"')
        assert typ == "OK" and len(data[0].split()) == 1, data
        other = gw.subjects["b" if k == "a" else "a"]
        assert imap.search(None, "SUBJECT", f'"{other}"')[1] == [b""]
    finally:
        imap.logout()
    entry = gw.sg.wait_access(lambda e: e.get("entry_point") == "imaplogin" and e.get("sni") == SITES[k])
    assert entry["router"] == f"imap-login-{k}", entry


def test_pop3_without_sni_is_routed_by_its_login(gw):
    found = pop3_find(no_sni_context(gw.pki.ca_cert), gw.sites["b"], gw.subjects["b"], login="alice@b.mail.test",
                      port=gw.sg.ports["pop3login"], name="ignored.test")
    assert len(found) == 1 and delivered_by(found[0]) == "b.mail.test", found


def test_login_with_an_unknown_domain_is_told(gw):
    imap = IMAPTo("ignored.test", gw.sg.ports["imaplogin"], timeout=10)
    imap.starttls(ssl_context=no_sni_context(gw.pki.ca_cert))
    with pytest.raises(imaplib.IMAP4.abort, match=r'no route on entry point imaplogin for "nope.test" \(from the '
                                                  r"domain of the client's login\)"):
        imap.login("alice@nope.test", "secret")
    imap.shutdown()


def test_login_naming_a_passthrough_router_is_told(gw):
    """A passthrough router cannot take a client whose TLS snigate ended to read the login."""
    pop = POP3To("ignored.test", gw.sg.ports["pop3"], timeout=10)
    pop.stls(no_sni_context(gw.pki.ca_cert))
    with pytest.raises(poplib.error_proto, match=r"router pop3-a passes TLS through to its server, but this client "
                                                 r"sent no SNI"):
        pop.user("alice@a.mail.test")
    pop.close()
