"""The handler of this example's SMTP servers (start-backends.sh):

    python3 -m aiosmtpd -n -c sink.Sink NAME ...

aiosmtpd takes every message; this handler prints one line per message and
names the server in its EHLO reply, in its answer to a login and in its
answer to the message, so a client sees which server it reached. The
servers have no accounts: AUTH PLAIN and LOGIN take any user name and
password (over TLS only, as aiosmtpd requires). Nothing is stored."""
import base64
import binascii

from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword


class Sink:
    def __init__(self, name: str):
        self.name = name

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("sink.Sink takes one argument: the server's name")
        return cls(args[0])

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [f"250-{self.name}"] + responses[1:]

    def welcome(self, user: bytes, password: bytes) -> AuthResult:
        who = user.decode(errors="replace")
        return AuthResult(success=True, auth_data=LoginPassword(user, password),
                          message=f"235 2.7.0 {self.name} took the login of {who}")

    async def auth_PLAIN(self, server, args):
        if len(args) > 1:
            try:
                response = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, message="501 5.5.2 Cannot decode base64")
        else:
            response = await server.challenge_auth("")
            if response is MISSING:
                return AuthResult(success=False, handled=True)
        parts = response.split(b"\0")
        if len(parts) != 3:
            return AuthResult(success=False, message="501 5.5.2 Not authzid NUL user NUL password")
        return self.welcome(parts[1], parts[2])

    async def auth_LOGIN(self, server, args):
        if len(args) > 1:
            try:
                user = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, message="501 5.5.2 Cannot decode base64")
        else:
            user = await server.challenge_auth("Username:")
            if user is MISSING:
                return AuthResult(success=False, handled=True)
        password = await server.challenge_auth("Password:")
        if password is MISSING:
            return AuthResult(success=False, handled=True)
        return self.welcome(user, password)

    async def handle_DATA(self, server, session, envelope):
        subject = ""
        for line in envelope.content.decode(errors="replace").splitlines():
            if not line:
                break
            if line.lower().startswith("subject:"):
                subject = line.split(":", 1)[1].strip()
        tls = "over TLS" if session.ssl is not None else "without TLS"
        print(f"{self.name}: from <{envelope.mail_from}> to <{', '.join(envelope.rcpt_tos)}> "
              f"{tls}, subject {subject!r}", flush=True)
        return f"250 2.0.0 Ok: {self.name} took it"
