"""Clients for the mail sites of harness/mail.py (and for snigate in front of them): Python's
smtplib, imaplib and poplib connected to 127.0.0.1 whatever name they are given (the name is
their SNI and the name they verify), and finding a message by subject."""
from __future__ import annotations

import contextlib
import imaplib
import poplib
import smtplib
import socket
import ssl
import uuid

from .mail import MailSite
from .util import LOCALHOST


@contextlib.contextmanager
def logs_on_failure(*sites: MailSite):
    """Any failure inside carries the end of the sites' logs."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - re-raised with the servers' side of the story
        logs = "\n\n".join(s.logs(lines=30) for s in sites)
        raise AssertionError(f"{type(e).__name__}: {e}\n\n{logs}") from e


def unique_subject(what: str) -> str:
    return f"snigate-e2e {what} {uuid.uuid4().hex}"


# The std-lib clients take the server's name for SNI and certificate checks from the host they
# connect to; these connect to 127.0.0.1 whatever the name (no /etc/hosts needed).
class SMTPTo(smtplib.SMTP):
    def _get_socket(self, host, port, timeout):
        return socket.create_connection((LOCALHOST, port), timeout)


class IMAPTo(imaplib.IMAP4):
    def _create_socket(self, timeout):
        return socket.create_connection((LOCALHOST, self.port), timeout)


class POP3To(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((LOCALHOST, self.port), timeout)


def imap_find(ctx: ssl.SSLContext, site: MailSite, subject: str, login: str = "alice", tls: bool = True,
              port: int = 0, name: str = "") -> list:
    """Every message (raw bytes) in alice's INBOX whose Subject contains `subject`, over IMAP."""
    imap = IMAPTo(name or site.domain, port or site.imap_port, timeout=10)
    try:
        if tls:
            imap.starttls(ssl_context=ctx)
        imap.login(login, site.password)
        typ, _ = imap.select("INBOX", readonly=True)
        assert typ == "OK"
        typ, data = imap.search(None, "SUBJECT", f'"{subject}"')
        assert typ == "OK", data
        found = []
        for num in data[0].split():
            typ, parts = imap.fetch(num, "(BODY.PEEK[])")
            assert typ == "OK", parts
            found.append(parts[0][1])
        return found
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def pop3_find(ctx: ssl.SSLContext, site: MailSite, subject: str, login: str, tls: bool = True,
              port: int = 0, name: str = "") -> list:
    """Every message (raw bytes, CRLF) whose Subject header contains `subject`, over POP3."""
    pop = POP3To(name or site.domain, port or site.pop3_port, timeout=10)
    try:
        if tls:
            pop.stls(ctx)
        pop.user(login)
        pop.pass_(site.password)
        found = []
        _, listing, _ = pop.list()
        for entry in listing:
            num = int(entry.split()[0])
            _, lines, _ = pop.retr(num)
            raw = b"\r\n".join(lines)
            if f"Subject: {subject}".encode() in raw:
                found.append(raw)
        return found
    finally:
        try:
            pop.quit()
        except (poplib.error_proto, OSError):
            pass


def delivered_by(raw: bytes) -> str:
    for line in raw.splitlines():
        if line.lower().startswith(b"x-delivered-by:"):
            return line.split(b":", 1)[1].strip().decode()
    return ""


def no_sni_context(ca) -> ssl.SSLContext:
    """A client context that sends no SNI (and so checks no name), verifying the chain against
    the test CA: what a script that connects to an address does."""
    class NoSni(ssl.SSLContext):
        def wrap_socket(self, sock, server_hostname=None, **kw):
            return super().wrap_socket(sock, server_hostname=None, **kw)
    ctx = NoSni(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(str(ca))
    return ctx
