#!/usr/bin/python3
"""An SMTP server for the mail e2e tests (harness/mail.py): aiosmtpd (Debian python3-aiosmtpd 1.4)
on one address, STARTTLS offered with one certificate (optional: plain works too), AUTH PLAIN and
LOGIN for the given users (allowed without TLS), and every accepted message written into one
Maildir (tmp/ then rename into new/), whoever the recipients are, with `X-Delivered-By: HOSTNAME`
on top so a test can tell which site stored it. HOSTNAME is also the greeting's and the EHLO
reply's name. One line per delivery on stdout; aiosmtpd's own log on stderr. SIGTERM ends it.

Run with /usr/bin/python3 (Debian's python3 holds aiosmtpd; a pyenv python3 may not)."""
import argparse
import asyncio
import email.utils
import itertools
import logging
import os
import signal
import socket
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

IDENT = "ESMTP snigate-e2e aiosmtpd"


class MaildirHandler:
    def __init__(self, maildir: str, hostname: str, owner):
        self.maildir, self.hostname, self.owner = maildir, hostname, owner
        self.seq = itertools.count(1)

    def _store(self, data: bytes) -> str:
        now = time.time()
        name = (f"{int(now)}.M{int((now % 1) * 1e6)}P{os.getpid()}Q{next(self.seq)}"
                f".{self.hostname}")
        tmp = os.path.join(self.maildir, "tmp", name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)  # a regular file takes it all at once
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.owner is not None:
            os.chown(tmp, *self.owner)
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        return name

    async def handle_DATA(self, server, session, envelope):
        tls = session.ssl is not None
        auth = session.authenticated
        user = ""
        if auth and isinstance(session.auth_data, LoginPassword):
            user = session.auth_data.login.decode(errors="replace")
        with_ = "ESMTP" + ("S" if tls else "") + ("A" if auth else "")
        rcpts = ", ".join(envelope.rcpt_tos)
        trace = (f"Return-Path: <{envelope.mail_from}>\n"
                 f"X-Delivered-By: {self.hostname}\n"
                 f"X-Envelope-To: {rcpts}\n"
                 f"Received: from {session.host_name} ([{session.peer[0]}]) by {self.hostname} "
                 f"with {with_}; {email.utils.formatdate(localtime=True)}\n").encode()
        # Maildir files hold LF line endings; SMTP brings CRLF.
        body = envelope.original_content.replace(b"\r\n", b"\n")
        name = self._store(trace + body)
        print(f"delivered {name} from=<{envelope.mail_from}> to=<{rcpts}> tls={tls} "
              f"auth={user or '-'} size={len(body)}", flush=True)
        return f"250 2.0.0 Ok: queued as {name}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--hostname", required=True, help="greeting and EHLO name, X-Delivered-By")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--maildir", required=True, help="a Maildir (cur, new, tmp)")
    ap.add_argument("--user", action="append", default=[], help="a login name (repeat)")
    ap.add_argument("--password", required=True)
    ap.add_argument("--owner", default="", help="UID:GID to chown delivered files to")
    args = ap.parse_args()

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # aiosmtpd 1.4 itself sets the deprecated Session.login_data on every AUTH and warns about it.
    logging.getLogger("mail.log").addFilter(
        lambda rec: "login_data is deprecated" not in rec.getMessage())
    owner = tuple(int(x) for x in args.owner.split(":")) if args.owner else None
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(args.maildir, sub), exist_ok=True)
    handler = MaildirHandler(args.maildir, args.hostname, owner)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    users = {u.encode() for u in args.user}
    password = args.password.encode()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login in users
              and auth_data.password == password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        server = await loop.create_server(
            lambda: SMTP(handler, hostname=args.hostname, ident=IDENT, tls_context=ctx,
                         require_starttls=False, auth_require_tls=False, authenticator=authenticator,
                         loop=loop),
            host=args.listen, port=args.port, family=socket.AF_INET, reuse_address=True)
        print(f"listening on {args.listen}:{args.port} as {args.hostname}", flush=True)
        await stop.wait()
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
