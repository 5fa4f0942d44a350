"""SMTP routed by name (`protocol: smtp`): snigate greets the client, answers its EHLO, takes its
STARTTLS and routes by the SNI of the ClientHello that follows. Two mail sites (harness/mail.py),
each an SMTP server with its own certificate and a Dovecot reading the same Maildir, behind one
snigate port:

  entry point smtp (mail.hostname gw.mail.test)
    pa    a.mail.test     passthrough to site a (the client sees a's own certificate)
    pb    b.mail.test     passthrough to site b
    ta    mx-a.mail.test  terminate with snigate's certificate, plain link to site a
    tb    mx-b.mail.test  terminate, STARTTLS to site b (servers[].tls, verified as b.mail.test)
    down  down.mail.test  passthrough to a port where nothing listens
  entry point mixed: pb, and plain  HostSNI(`*`) to site a for clients that never start TLS
  entry point slow: clientHelloTimeout 1s, pa only
  entry point login: a.mail.test and b.mail.test terminated (b re-encrypted), for clients without SNI,
    routed by the domain of their AUTH login

Real clients: swaks, openssl s_client -starttls smtp, curl smtp:// --ssl-reqd, Python's smtplib.
Each message is read back from the site the name selects (IMAP, directly)."""
from __future__ import annotations

import smtplib
import socket
import ssl
import time

import pytest

from harness.configs import addr, lb, router
from harness.mail import read_greeting
from harness.mail_gateway import SITES, dialogue, mail_pki, start_sites, tls_section, transports
from harness.mail_clients import SMTPTo, delivered_by, imap_find, logs_on_failure, no_sni_context, unique_subject
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, run



class Gateway:
    def __init__(self, pki, sites, sg):
        self.pki, self.sites, self.sg = pki, sites, sg

    def ctx(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki.ca_cert))

    def port(self, ep: str = "smtp") -> int:
        return self.sg.ports[ep]


def gateway_config(pki, sites, ports, dead_port) -> dict:
    a, b = sites["a"], sites["b"]
    return {
        "entryPoints": {
            "smtp": {"address": addr(ports["smtp"]), "protocol": "smtp", "mail": {"hostname": "gw.mail.test"}},
            "mixed": {"address": addr(ports["mixed"]), "protocol": "smtp"},
            "slow": {"address": addr(ports["slow"]), "protocol": "smtp", "clientHelloTimeout": "1s"},
            "login": {"address": addr(ports["login"]), "protocol": "smtp"},
        },
        "tcp": {
            "routers": {
                "pa": router("HostSNI(`a.mail.test`)", "sa", eps=["smtp", "slow"], tls={"passthrough": True}),
                "pb": router("HostSNI(`b.mail.test`)", "sb", eps=["smtp", "mixed"], tls={"passthrough": True}),
                "ta": router("HostSNI(`mx-a.mail.test`)", "sa", eps=["smtp"], tls={}),
                "tb": router("HostSNI(`mx-b.mail.test`)", "sbtls", eps=["smtp"], tls={}),
                "down": router("HostSNI(`down.mail.test`)", "dead", eps=["smtp"], tls={"passthrough": True}),
                "plain": router("HostSNI(`*`)", "sa", eps=["mixed"]),
                "login-a": router("HostSNI(`a.mail.test`)", "sa", eps=["login"], tls={}),
                "login-b": router("HostSNI(`b.mail.test`)", "sbtls", eps=["login"], tls={}),
            },
            "services": {
                "sa": lb(addr(a.smtp_port)),
                "sb": lb(addr(b.smtp_port)),
                "sbtls": lb(addr(b.smtp_port), tls=True, transport="tob"),
                "dead": lb(addr(dead_port)),
            },
            "serversTransports": transports(pki),
        },
        "tls": tls_section(pki),
    }


@pytest.fixture(scope="module")
def gw(request, tmp_path_factory) -> Gateway:
    workdir = tmp_path_factory.mktemp("mail-smtp")
    pki = mail_pki(workdir / "pki")
    sites = start_sites(request, workdir, pki)
    ports = {"smtp": free_port(), "mixed": free_port(), "slow": free_port(), "login": free_port()}
    sg = Snigate(workdir / "snigate", gateway_config(pki, sites, ports, free_port()), name="snigate-smtp")
    request.addfinalizer(sg.teardown)
    sg.start()
    return Gateway(pki, sites, sg)


# ---------------------------------------------------------------- helpers

def swaks(gw: Gateway, name: str, subject: str, *extra: str, ep: str = "smtp"):
    return run(["swaks", "--server", LOCALHOST, "--port", str(gw.port(ep)), "--tls", "--tls-sni", name,
                "--to", "alice@example.test", "--from", "bob@x.test", "--ehlo", "client.test",
                "--header", f"Subject: {subject}", "--timeout", "10", *extra], timeout=30)



def sent_to(gw: Gateway, k: str, subject: str) -> bytes:
    """The message with this subject, read back over IMAP from site k: exactly one, delivered
    there and nowhere else."""
    other = gw.sites["b" if k == "a" else "a"]
    found = imap_find(gw.ctx(), gw.sites[k], subject)
    assert len(found) == 1 and delivered_by(found[0]) == SITES[k], found
    assert not any(subject.encode() in raw for raw in other.messages())
    return found[0]


# ---------------------------------------------------------------- snigate's own side

def test_greeting_and_ehlo_are_snigates(gw):
    assert read_greeting(gw.port()) == "220 gw.mail.test ESMTP snigate"
    said = dialogue(gw.port(), ["EHLO client.test", "NOOP", "QUIT"])
    assert "250-gw.mail.test\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n" in said, said
    assert "250 2.0.0 OK\r\n221 2.0.0 gw.mail.test closing the connection\r\n" in said, said


def test_mail_before_starttls_is_refused_with_the_reason(gw):
    said = dialogue(gw.port(), ["EHLO client.test", "MAIL FROM:<bob@x.test>", "QUIT"])
    assert "530 5.7.0 Must issue a STARTTLS command first: gw.mail.test chooses the server by the name" in said
    assert "221 2.0.0" in said, said


def test_smtplib_without_starttls_gets_530(gw):
    with SMTPTo("a.mail.test", gw.port(), local_hostname="client.test", timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            smtp.sendmail("bob@x.test", ["alice@a.mail.test"], "Subject: x\r\n\r\nx\r\n")
        assert e.value.smtp_code == 530 and b"STARTTLS" in e.value.smtp_error


def test_unknown_commands_then_too_many_errors_close(gw):
    said = dialogue(gw.port(), ["EHLO client.test", "XYZZY"] + ["MAIL FROM:<x@y>"] * 9)
    assert "500 5.5.2 Command not recognized: XYZZY" in said, said
    assert said.rstrip().endswith("421 4.7.0 gw.mail.test too many errors, closing the connection"), said


def test_bytes_after_starttls_are_refused(gw):
    """RFC 3207: nothing may follow STARTTLS before its reply (the command injection of
    CVE-2011-0411): snigate refuses rather than carry the bytes into TLS."""
    with socket.create_connection((LOCALHOST, gw.port()), timeout=5) as s:
        s.recv(4096)
        s.sendall(b"EHLO client.test\r\n")
        s.recv(4096)
        s.sendall(b"STARTTLS\r\nRSET\r\n")
        said = s.recv(4096).decode()
    assert said.startswith("554 5.5.2 snigate: the client sent more after STARTTLS"), said


def test_silent_client_gets_421_within_the_deadline(gw):
    start = time.monotonic()
    said = dialogue(gw.port("slow"), [], timeout=5)
    assert said.startswith("220 "), said
    assert "421 4.4.2 snigate: no STARTTLS and ClientHello within clientHelloTimeout (1000 ms)" in said, said
    assert time.monotonic() - start < 3


# ---------------------------------------------------------------- routed by name

@pytest.mark.parametrize("k", sorted(SITES))
def test_s_client_passthrough_shows_the_sites_own_certificate(gw, k):
    name = SITES[k]
    cp = run(["openssl", "s_client", "-starttls", "smtp", "-connect", f"{LOCALHOST}:{gw.port()}",
              "-servername", name, "-verify_hostname", name, "-CAfile", str(gw.pki.ca_cert),
              "-verify_return_error", "-brief"], input="QUIT\n", timeout=15)
    out = cp.stdout + cp.stderr
    assert cp.returncode == 0, out + gw.sg.logs()
    assert f"Peer certificate: CN = {name}" in out and "Verification: OK" in out, out


def test_s_client_terminate_shows_snigates_certificate(gw):
    cp = run(["openssl", "s_client", "-starttls", "smtp", "-connect", f"{LOCALHOST}:{gw.port()}",
              "-servername", "mx-a.mail.test", "-verify_hostname", "mx-a.mail.test",
              "-CAfile", str(gw.pki.ca_cert), "-verify_return_error", "-brief", "-crlf", "-ign_eof"],
             input="EHLO c.test\nQUIT\n", timeout=15)
    out = cp.stdout + cp.stderr
    assert cp.returncode == 0, out + gw.sg.logs()
    assert "Peer certificate: CN = mx-a.mail.test" in out, out
    assert "250-a.mail.test" in out, out  # the server answered the client's EHLO itself


@pytest.mark.parametrize("name,k", [("a.mail.test", "a"), ("b.mail.test", "b"),
                                    ("mx-a.mail.test", "a"), ("mx-b.mail.test", "b")])
def test_swaks_reaches_the_site_its_name_selects(gw, name, k):
    subject = unique_subject(f"swaks {name}")
    with logs_on_failure(*gw.sites.values()):
        cp = swaks(gw, name, subject, "--tls-verify", "--tls-ca-path", str(gw.pki.ca_cert),
                   "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret")
        assert cp.returncode == 0, cp.stdout + cp.stderr + gw.sg.logs()
        assert "<-  220 gw.mail.test ESMTP snigate" in cp.stdout, cp.stdout
        assert f'TLS peer DN="/CN={name}"' in cp.stdout, cp.stdout
        assert f"<~  250-{SITES[k]}" in cp.stdout, cp.stdout  # the site answered the EHLO after TLS
        raw = sent_to(gw, k, subject)
    # Passthrough and the re-encrypted link: the site saw TLS; the plain link to a: no TLS.
    assert (b"with ESMTPSA;" in raw) == (name != "mx-a.mail.test"), raw[:600]
    entry = gw.sg.wait_access(lambda e: e.get("sni") == name and e.get("bytes_in", 0) > 0)
    assert entry["router"] == {"a.mail.test": "pa", "b.mail.test": "pb", "mx-a.mail.test": "ta",
                               "mx-b.mail.test": "tb"}[name], entry


@pytest.mark.parametrize("k", sorted(SITES))
def test_smtplib_starttls_login_sends(gw, k):
    name = SITES[k]
    subject = unique_subject(f"smtplib {name}")
    with logs_on_failure(*gw.sites.values()):
        with SMTPTo(name, gw.port(), local_hostname="client.test", timeout=10) as smtp:
            smtp.starttls(context=gw.ctx())
            smtp.login(f"alice@{name}", "secret")
            assert smtp.sendmail("bob@x.test", [f"alice@{name}"], f"Subject: {subject}\r\n\r\nvia snigate\r\n") == {}
        sent_to(gw, k, subject)


def test_curl_smtp_ssl_reqd(gw, tmp_path):
    subject = unique_subject("curl")
    msg = tmp_path / "msg.eml"
    msg.write_bytes(f"From: bob@x.test\r\nTo: alice@b.mail.test\r\nSubject: {subject}\r\n\r\ncurl\r\n".encode())
    cp = run(["curl", "-sS", "-v", "--ssl-reqd", "--cacert", str(gw.pki.ca_cert), "--max-time", "10",
              "--resolve", f"b.mail.test:{gw.port()}:{LOCALHOST}", f"smtp://b.mail.test:{gw.port()}",
              "--mail-from", "bob@x.test", "--mail-rcpt", "alice@b.mail.test", "--upload-file", str(msg),
              "--user", "alice:secret"], timeout=20)
    assert cp.returncode == 0, cp.stderr + gw.sg.logs()
    assert "< 220 gw.mail.test ESMTP snigate" in cp.stderr, cp.stderr
    assert 'subjectAltName: host "b.mail.test" matched' in cp.stderr, cp.stderr
    sent_to(gw, "b", subject)


# ---------------------------------------------------------------- plain, unknown, down

def test_plain_client_goes_to_the_plain_router(gw):
    """On an entry point with a plain router, a client that starts a transaction without TLS is
    routed there: snigate gives the server the client's EHLO, then the client's MAIL."""
    subject = unique_subject("plain")
    with SMTPTo("anything.test", gw.port("mixed"), local_hostname="client.test", timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert smtp.sendmail("bob@x.test", ["alice@a.mail.test"], f"Subject: {subject}\r\n\r\nplain\r\n") == {}
    raw = sent_to(gw, "a", subject)
    assert b"from client.test" in raw and b"with ESMTP;" in raw, raw[:600]
    entry = gw.sg.wait_access(lambda e: e.get("router") == "plain" and e.get("bytes_in", 0) > 0)
    assert entry["entry_point"] == "mixed", entry


def test_unknown_name_gets_unrecognized_name(gw):
    mark = gw.sg.access_mark()
    cp = run(["openssl", "s_client", "-starttls", "smtp", "-connect", f"{LOCALHOST}:{gw.port()}",
              "-servername", "nope.mail.test", "-brief"], input="", timeout=15)
    out = cp.stdout + cp.stderr
    assert cp.returncode != 0 and "unrecognized name" in out, out
    entry = gw.sg.wait_access(lambda e: e.get("sni") == "nope.mail.test", after=mark)
    assert entry["end"] == "no_route", entry
    assert 'no route on entry point smtp for TLS client' in entry["detail"], entry


def test_dead_server_is_said_in_smtp_inside_tls(gw):
    """A passthrough route whose server does not answer: snigate ends the client's TLS itself
    (its default certificate) to say why in SMTP."""
    cp = swaks(gw, "down.mail.test", unique_subject("down"))
    assert cp.returncode != 0, cp.stdout
    assert "<~* 421 4.4.1 snigate: " in cp.stdout, \
        cp.stdout
    assert "router down" in cp.stdout, cp.stdout


def test_client_without_sni_must_authenticate(gw):
    """No SNI, and no router takes a client without one: snigate ends the client's TLS (its default
    certificate), offers AUTH, and refuses a transaction without it."""
    cp = run(["swaks", "--server", LOCALHOST, "--port", str(gw.port()), "--tls", "--to", "alice@a.mail.test",
              "--from", "bob@x.test", "--ehlo", "client.test", "--timeout", "10"], timeout=30)
    assert cp.returncode != 0, cp.stdout
    assert 'TLS peer DN="/CN=default.mail.test"' in cp.stdout, cp.stdout
    assert "<~  250-AUTH PLAIN LOGIN" in cp.stdout, cp.stdout
    assert ("<~* 530 5.7.0 Authentication required: the client sent no SNI, so gw.mail.test chooses the server by "
            "the domain of the login (AUTH as user@domain)") in cp.stdout, cp.stdout


@pytest.mark.parametrize("mech,k", [("LOGIN", "a"), ("PLAIN", "b")])
def test_swaks_without_sni_is_routed_by_its_auth(gw, mech, k):
    """AUTH LOGIN (the user name answers snigate's 334, so the server gets AUTH LOGIN and its 334
    first) and AUTH PLAIN: the login's domain picks the site, which checks the password itself."""
    subject = unique_subject(f"auth {mech}")
    cp = run(["swaks", "--server", LOCALHOST, "--port", str(gw.port("login")), "--tls", "--to",
              f"alice@{SITES[k]}", "--from", "bob@x.test", "--ehlo", "client.test", "--auth", mech,
              "--auth-user", f"alice@{SITES[k]}", "--auth-password", "secret", "--header", f"Subject: {subject}",
              "--timeout", "10"], timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr + gw.sg.logs()
    assert "<~  235 " in cp.stdout, cp.stdout
    raw = sent_to(gw, k, subject)
    assert b"with ESMTPA" in raw or b"with ESMTPSA" in raw, raw[:600]


def test_smtplib_without_sni_wrong_password_gets_the_servers_answer(gw):
    with SMTPTo("ignored.test", gw.port("login"), local_hostname="client.test", timeout=10) as smtp:
        smtp.starttls(context=no_sni_context(gw.pki.ca_cert))
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            smtp.login("alice@b.mail.test", "wrong")
        assert e.value.smtp_code == 535, e.value


def test_auth_with_an_unknown_domain_is_told(gw):
    with SMTPTo("ignored.test", gw.port("login"), local_hostname="client.test", timeout=10) as smtp:
        smtp.starttls(context=no_sni_context(gw.pki.ca_cert))
        smtp.ehlo()
        smtp.user, smtp.password = "alice@nope.test", "secret"
        # One mechanism: login() would try the next on a closed connection and lose the answer.
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            smtp.auth("PLAIN", smtp.auth_plain)
    assert e.value.smtp_code == 554, e.value
    assert b'no route on entry point login for "nope.test" (from the domain of the client\'s login)' in \
        e.value.smtp_error


def test_no_client_hello_after_the_go_ahead_gets_no_plaintext(gw):
    """After 220 the client reads nothing but TLS: a client that then sends no ClientHello gets
    the close at the deadline, not an SMTP reply its TLS stack would take for a bad record."""
    with socket.create_connection((LOCALHOST, gw.port("slow")), timeout=5) as s:
        s.recv(4096)
        s.sendall(b"EHLO client.test\r\n")
        s.recv(4096)
        s.sendall(b"STARTTLS\r\n")
        assert s.recv(4096).startswith(b"220 2.0.0")
        start = time.monotonic()
        assert s.recv(4096) == b""
        assert time.monotonic() - start < 3


def test_implicit_tls_client_is_told_where_it_belongs(gw):
    """A client of implicit TLS (as on 465) sent to an smtp entry point: the log says where it
    belongs, and the client gets a TLS alert, not an SMTP reply in plaintext."""
    mark = gw.sg.access_mark()
    cp = run(["openssl", "s_client", "-connect", f"{LOCALHOST}:{gw.port('slow')}", "-servername", "a.mail.test",
              "-brief"], input="", timeout=15)
    assert cp.returncode != 0
    entry = gw.sg.wait_access(lambda e: e.get("entry_point") == "slow", after=mark)
    assert "a TLS ClientHello on entry point slow, which speaks smtp and expects STARTTLS first" in entry["detail"], \
        entry
