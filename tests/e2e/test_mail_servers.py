"""The mail sites of harness/mail.py, directly (no snigate): two sites, a.mail.test and
b.mail.test, each an SMTP server (aiosmtpd) and a Dovecot (IMAP, POP3) sharing one Maildir, each
with its own certificate. Real clients: swaks, openssl s_client, curl, and Python's smtplib,
imaplib and poplib, with STARTTLS (STLS) verified against the test CA and the site's name."""
from __future__ import annotations

import imaplib
import poplib
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.mail import MailSite, read_greeting, start_mail_site, stop_sites
from harness.mail_clients import (IMAPTo, POP3To, SMTPTo, delivered_by, imap_find, logs_on_failure,
                                  pop3_find, unique_subject)
from harness.pki import Pki, make_pki
from harness.util import LOCALHOST, run

DOMAINS = {"a": "a.mail.test", "b": "b.mail.test"}


@dataclass
class Mail:
    pki: Pki
    sites: dict  # "a" / "b" -> MailSite
    workdir: Path

    def ctx(self) -> ssl.SSLContext:
        """A client context that trusts only the test CA (and checks the server's name)."""
        return ssl.create_default_context(cafile=str(self.pki.ca_cert))


@pytest.fixture(scope="module")
def mail(request, tmp_path_factory) -> Mail:
    workdir = tmp_path_factory.mktemp("mail")
    pki = make_pki(workdir / "pki", {k: [d] for k, d in DOMAINS.items()})
    sites: dict = {}
    request.addfinalizer(lambda: stop_sites(*sites.values()))
    for k, domain in DOMAINS.items():
        sites[k] = start_mail_site(workdir / domain, domain, pki[k].cert, pki[k].key)
    return Mail(pki, sites, workdir)


def curl(m: Mail, site: MailSite, scheme: str, port: int, path: str, *args: str):
    """curl with STARTTLS required, the test CA, and the site's name resolved to 127.0.0.1."""
    return run(["curl", "-sS", "--ssl-reqd", "--cacert", str(m.pki.ca_cert), "--max-time", "10",
                "--resolve", f"{site.domain}:{port}:{LOCALHOST}",
                f"{scheme}://{site.domain}:{port}{path}", *args], timeout=20)


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("k", sorted(DOMAINS))
def test_greetings_name_the_site(mail, k):
    site = mail.sites[k]
    with logs_on_failure(site):
        assert read_greeting(site.smtp_port) == f"220 {site.domain} ESMTP snigate-e2e aiosmtpd"
        imap = read_greeting(site.imap_port)
        assert imap.startswith("* OK [CAPABILITY ") and imap.endswith(f"] {site.domain} ready"), imap
        assert " STARTTLS " in imap, imap
        assert read_greeting(site.pop3_port) == f"+OK {site.domain} ready"


@pytest.mark.parametrize("k", sorted(DOMAINS))
def test_smtp_ehlo_offers_starttls_then_auth(mail, k):
    site = mail.sites[k]
    with logs_on_failure(site), SMTPTo(site.domain, site.smtp_port, local_hostname="client.test",
                                       timeout=10) as smtp:
        code, text = smtp.ehlo()
        assert code == 250 and text.splitlines()[0] == site.domain.encode(), text
        assert smtp.has_extn("starttls"), smtp.esmtp_features
        assert smtp.esmtp_features.get("auth", "").split() == ["LOGIN", "PLAIN"], smtp.esmtp_features
        smtp.starttls(context=mail.ctx())  # verifies the site's certificate for its name
        code, text = smtp.ehlo()
        assert code == 250 and text.splitlines()[0] == site.domain.encode(), text
        assert not smtp.has_extn("starttls"), smtp.esmtp_features
        assert smtp.sock.getpeercert()["subject"] == ((("commonName", site.domain),),)


def test_swaks_delivers_imap_and_pop3_read_it(mail):
    a, b = mail.sites["a"], mail.sites["b"]
    subject = unique_subject("swaks")
    with logs_on_failure(a, b):
        cp = run(["swaks", "--server", LOCALHOST, "--port", str(a.smtp_port), "--tls",
                  "--tls-sni", a.domain, "--tls-verify", "--tls-ca-path", str(mail.pki.ca_cert),
                  "--to", f"alice@{a.domain}", "--from", "bob@x.test", "--ehlo", "client.test",
                  "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret",
                  "--header", f"Subject: {subject}", "--timeout", "10"], timeout=30)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        out = cp.stdout
        assert f"<-  220 {a.domain} ESMTP" in out, out
        assert "<-  250-STARTTLS" in out and "=== TLS started" in out, out
        assert f'TLS peer DN="/CN={a.domain}"' in out, out
        assert "<~  235 2.7.0 Authentication successful" in out, out
        assert "<~  250 2.0.0 Ok: queued as" in out, out

        # IMAP with STARTTLS as the bare user
        found = imap_find(mail.ctx(), a, subject, login="alice")
        assert len(found) == 1, found
        assert delivered_by(found[0]) == a.domain, found[0][:400]
        assert b"\nReceived: from client.test ([127.0.0.1]) by a.mail.test with ESMTPSA;" in found[0]
        # POP3 with STLS as alice@domain: the same mailbox
        found = pop3_find(mail.ctx(), a, subject, login=f"alice@{a.domain}")
        assert len(found) == 1 and delivered_by(found[0]) == a.domain, found
        # site b never saw it
        assert not any(subject.encode() in raw for raw in b.messages())


@pytest.mark.parametrize("proto", ["smtp", "imap", "pop3"])
@pytest.mark.parametrize("k", sorted(DOMAINS))
def test_s_client_starttls_shows_the_sites_certificate(mail, k, proto):
    site = mail.sites[k]
    port = {"smtp": site.smtp_port, "imap": site.imap_port, "pop3": site.pop3_port}[proto]
    with logs_on_failure(site):
        cp = run(["openssl", "s_client", "-starttls", proto, "-connect", f"{LOCALHOST}:{port}",
                  "-servername", site.domain, "-verify_hostname", site.domain,
                  "-CAfile", str(mail.pki.ca_cert), "-verify_return_error", "-brief"], timeout=15)
        out = cp.stdout + cp.stderr  # -brief writes the summary on stderr
        assert cp.returncode == 0, out
        assert f"Peer certificate: CN = {site.domain}" in out, out
        assert "Verification: OK" in out, out
        assert f"Verified peername: {site.domain}" in out, out


def test_s_client_other_sites_name_fails_verification(mail):
    """Each site serves its own certificate only: asking site b for a.mail.test does not verify."""
    b = mail.sites["b"]
    with logs_on_failure(b):
        cp = run(["openssl", "s_client", "-starttls", "pop3", "-connect", f"{LOCALHOST}:{b.pop3_port}",
                  "-servername", "a.mail.test", "-verify_hostname", "a.mail.test",
                  "-CAfile", str(mail.pki.ca_cert), "-verify_return_error", "-brief"], timeout=15)
        out = cp.stdout + cp.stderr
        assert cp.returncode != 0, out
        assert "CN = b.mail.test" in out and "hostname mismatch" in out, out


def test_curl_sends_over_smtp_and_lists_over_imap_and_pop3(mail, tmp_path):
    a, b = mail.sites["a"], mail.sites["b"]
    subject = unique_subject("curl")
    msg = tmp_path / "msg.eml"
    msg.write_bytes((f"From: bob@x.test\r\nTo: alice@{b.domain}\r\nSubject: {subject}\r\n\r\n"
                     "sent by curl\r\n").encode())
    with logs_on_failure(a, b):
        cp = curl(mail, b, "smtp", b.smtp_port, "", "--mail-from", "bob@x.test",
                  "--mail-rcpt", f"alice@{b.domain}", "--upload-file", str(msg),
                  "--user", f"alice@{b.domain}:secret", "-v")
        assert cp.returncode == 0, cp.stderr
        assert f"< 220 {b.domain} ESMTP" in cp.stderr and "> STARTTLS" in cp.stderr, cp.stderr
        assert f'subjectAltName: host "{b.domain}" matched' in cp.stderr, cp.stderr
        assert "< 250 2.0.0 Ok: queued as" in cp.stderr, cp.stderr

        # IMAP: list the mailboxes, search by subject, fetch that message
        cp = curl(mail, b, "imap", b.imap_port, "/", "--user", "alice:secret")
        assert cp.returncode == 0 and "INBOX" in cp.stdout, cp.stdout + cp.stderr
        cp = curl(mail, b, "imap", b.imap_port, "/INBOX?SUBJECT%20" + subject.split()[-1],
                  "--user", "alice:secret")
        assert cp.returncode == 0, cp.stderr
        nums = cp.stdout.split()[2:]  # "* SEARCH n"
        assert cp.stdout.startswith("* SEARCH ") and len(nums) == 1, cp.stdout
        cp = curl(mail, b, "imap", b.imap_port, f"/INBOX/;MAILINDEX={nums[0]}",
                  "--user", f"alice@{b.domain}:secret")
        assert cp.returncode == 0, cp.stderr
        assert f"Subject: {subject}" in cp.stdout and f"X-Delivered-By: {b.domain}" in cp.stdout, cp.stdout

        # POP3: list, then retrieve every message and find ours
        cp = curl(mail, b, "pop3", b.pop3_port, "/", "--user", f"alice@{b.domain}:secret")
        assert cp.returncode == 0, cp.stderr
        listing = [line.split() for line in cp.stdout.splitlines() if line.strip()]
        assert listing and all(len(e) == 2 and e[0].isdigit() for e in listing), cp.stdout
        bodies = [curl(mail, b, "pop3", b.pop3_port, f"/{n}", "--user", "alice:secret")
                  for n, _ in listing]
        assert all(c.returncode == 0 for c in bodies), [c.stderr for c in bodies]
        assert sum(f"Subject: {subject}" in c.stdout for c in bodies) == 1, [c.stdout for c in bodies]
        assert not any(subject.encode() in raw for raw in a.messages())


def test_smtplib_starttls_login_then_imap(mail):
    """smtplib: STARTTLS, AUTH LOGIN (site b) and AUTH PLAIN as alice@domain (site a); each
    message lands on its own site only."""
    with logs_on_failure(*mail.sites.values()):
        subjects = {}
        for k, mech in (("a", "PLAIN"), ("b", "LOGIN")):
            site = mail.sites[k]
            subjects[k] = unique_subject(f"smtplib {mech}")
            with SMTPTo(site.domain, site.smtp_port, local_hostname="client.test", timeout=10) as smtp:
                smtp.starttls(context=mail.ctx())
                smtp.ehlo()
                smtp.user, smtp.password = f"alice@{site.domain}", site.password
                code, text = smtp.auth(mech, getattr(smtp, f"auth_{mech.lower()}"))
                assert code == 235, (code, text)
                refused = smtp.sendmail("bob@x.test", [f"alice@{site.domain}"],
                                        f"Subject: {subjects[k]}\r\n\r\nsent by smtplib\r\n")
                assert refused == {}
        for k, site in mail.sites.items():
            other = "b" if k == "a" else "a"
            found = imap_find(mail.ctx(), site, subjects[k])
            assert len(found) == 1 and delivered_by(found[0]) == site.domain, found
            assert b"with ESMTPSA;" in found[0]
            assert imap_find(mail.ctx(), site, subjects[other]) == []


def test_plaintext_logins_work_and_wrong_ones_are_refused(mail):
    """No TLS needed (disable_plaintext_auth = no, auth_require_tls off); alice only, with her
    password, and on her own site's domain."""
    a = mail.sites["a"]
    with logs_on_failure(a):
        subject = unique_subject("plain")
        with SMTPTo(a.domain, a.smtp_port, local_hostname="client.test", timeout=10) as smtp:
            with pytest.raises(smtplib.SMTPAuthenticationError) as e:
                smtp.login("alice", "wrong")
            assert e.value.smtp_code == 535
            smtp.login("alice", "secret")
            smtp.sendmail("bob@x.test", ["someone@elsewhere.test"],
                          f"Subject: {subject}\r\n\r\nplain\r\n")
        found = imap_find(mail.ctx(), a, subject, login=f"alice@{a.domain}", tls=False)
        assert len(found) == 1 and b"with ESMTPA;" in found[0], found
        assert len(pop3_find(mail.ctx(), a, subject, login="alice", tls=False)) == 1

        imap = IMAPTo(a.domain, a.imap_port, timeout=10)
        try:
            with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
                imap.login("alice", "wrong")
        finally:
            imap.shutdown()
        pop = POP3To(a.domain, a.pop3_port, timeout=10)
        try:
            pop.user("alice@b.mail.test")  # the other site's domain
            with pytest.raises(poplib.error_proto, match="Authentication failed"):
                pop.pass_("secret")
        finally:
            pop.close()
