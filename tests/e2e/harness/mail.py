"""Mail "sites" for the STARTTLS tests: one SMTP server (tools/smtp_maildir.py, aiosmtpd) and one
Dovecot (IMAP + POP3) per site, on free 127.0.0.1 ports, sharing one Maildir, with the site's own
certificate. Both offer STARTTLS (STLS) on their plain ports and accept logins without TLS too.

One user per site, `alice` / `secret`, who may also log in as `alice@<domain>` (same mailbox).
Anyone else is refused. The SMTP server stores every message it accepts in alice's Maildir,
with `X-Delivered-By: <domain>` on top; Dovecot reads it right away.

Running as root: Dovecot refuses mail access as root (only its standalone mode may), and
passwd-file refuses UID 0, so alice's mail processes run as Debian's `mail` user (mail_uid and
mail_gid, first_valid_uid/gid lowered to it) and the SMTP server (root) chowns what it
delivers to that user. The auth process runs as `dovecot` and login processes as
`dovenull`. None of them can get into pytest's 0700 directories, so the passwd-file, the
Maildirs and Dovecot's base_dir (its sockets) live in their own /tmp/snigate-e2e-mail-* directory
(0755), removed by stop(). The configuration and the logs stay in the pytest workdir, and the
certificates where the caller has them: Dovecot reads its config and certificates as root
before dropping privileges, and writes its log as root.

Greetings (domain a.mail.test):
  SMTP  `220 a.mail.test ESMTP snigate-e2e aiosmtpd`; EHLO `250-a.mail.test`, then SIZE,
        8BITMIME, STARTTLS (before TLS only), `AUTH LOGIN PLAIN`, HELP
  IMAP  `* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS
        AUTH=PLAIN AUTH=LOGIN] a.mail.test ready`
  POP3  `+OK a.mail.test ready`
A failed login is answered after about 0.5 s (auth_failure_delay 0, anvil's auth penalty off)."""
from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .util import LOCALHOST, Proc, free_port, read_text, wait_until

START_TIMEOUT = 15.0
PYTHON = "/usr/bin/python3"  # Debian's: it has python3-aiosmtpd (a pyenv python3 may not)
DOVECOT = "/usr/sbin/dovecot"
SMTP_TOOL = Path(__file__).resolve().parent.parent / "tools" / "smtp_maildir.py"
MAIL_USER = "mail"  # owns the Maildirs when we run as root (Debian base-passwd: uid 8)

USER = "alice"
PASSWORD = "secret"


@dataclass
class MailSite:
    domain: str          # e.g. "a.mail.test": greeting names, X-Delivered-By, alice@<domain>
    smtp_port: int       # SMTP, STARTTLS offered
    imap_port: int       # IMAP, STARTTLS offered
    pop3_port: int       # POP3, STLS offered
    maildir_root: Path   # root/mail; alice's Maildir is maildir_root/alice/Maildir/{cur,new,tmp}
    cert: Path
    key: Path
    workdir: Path        # dovecot.conf, dovecot.log, the processes' stdout/stderr
    root: Path           # /tmp/snigate-e2e-mail-*: users file, maildir_root, Dovecot's base_dir
    smtp: Proc
    dovecot: Proc
    user: str = USER
    password: str = PASSWORD
    logins: tuple = ()   # every accepted login name: ("alice", "alice@<domain>")

    @property
    def procs(self) -> list:
        return [self.smtp, self.dovecot]

    @property
    def maildir(self) -> Path:
        """alice's Maildir (the only mailbox)."""
        return self.maildir_root / self.user / "Maildir"

    @property
    def dovecot_log(self) -> Path:
        return self.workdir / "dovecot.log"

    def messages(self) -> list:
        """The raw bytes of every message in alice's Maildir (new/ and cur/), oldest first."""
        files = [p for d in ("new", "cur") for p in (self.maildir / d).iterdir() if p.is_file()]
        return [p.read_bytes() for p in sorted(files, key=lambda p: p.stat().st_mtime)]

    def alive(self) -> bool:
        return all(p.alive() for p in self.procs)

    def logs(self, lines: int = 0) -> str:
        """Both servers' output and Dovecot's log file; with lines > 0, only the last `lines`
        lines of each (SMTP stdout, SMTP stderr, Dovecot stderr, dovecot.log)."""
        def cut(text: str) -> str:
            return "\n".join(text.splitlines()[-lines:]) if lines > 0 else text

        def proc(p: Proc) -> str:
            return (f"--- {p.name}: {' '.join(p.argv)}\n--- stdout:\n{cut(read_text(p.stdout_path))}"
                    f"\n--- stderr:\n{cut(read_text(p.stderr_path))}")
        return (f"=== mail site {self.domain}: smtp {self.smtp_port}, imap {self.imap_port}, "
                f"pop3 {self.pop3_port}\n{proc(self.smtp)}\n{proc(self.dovecot)}\n"
                f"--- {self.dovecot_log}:\n{cut(read_text(self.dovecot_log))}")

    def terminate(self) -> None:
        """Send SIGTERM to both servers without waiting (stop_sites stops several at once)."""
        for p in self.procs:
            if p.alive():
                p.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM both, wait for them (Dovecot's master takes about 1 s), remove `root`."""
        try:
            self.terminate()
            for p in self.procs:
                p.stop(timeout=10)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def stop_sites(*sites: MailSite) -> None:
    """Stop several sites in parallel: about 1 s in all instead of 1 s each."""
    for s in sites:
        s.terminate()
    for s in sites:
        s.stop()


# ---------------------------------------------------------------- readiness

def read_greeting(port: int, timeout: float = 2.0, host: str = LOCALHOST) -> str:
    """Connect and return the server's first line (without CRLF); '' if none came."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        data = b""
        while b"\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\n", 1)[0].rstrip(b"\r").decode(errors="replace")


def _wait_greeting(port: int, prefix: str, what: str, procs: list, logs) -> str:
    seen = {}

    def ready():
        for p in procs:
            if not p.alive():
                raise RuntimeError(f"{what}: {p.name} exited with {p.proc.returncode} before "
                                   f"greeting on 127.0.0.1:{port}\n{logs()}")
        try:
            line = read_greeting(port)
        except OSError as e:
            seen["last"] = repr(e)
            return None
        seen["last"] = line
        return line if line.startswith(prefix) else None
    return wait_until(ready, START_TIMEOUT, f"{what} greeting {prefix!r} on 127.0.0.1:{port}",
                      interval=0.05,
                      on_timeout=lambda: f"last answer: {seen.get('last')}\n{logs()}")


# ---------------------------------------------------------------- start-up

def _dovecot_conf(domain: str, root: Path, workdir: Path, cert: Path, key: Path,
                  imap_port: int, pop3_port: int, mail_uid: int, mail_gid: int) -> str:
    return f"""# snigate e2e mail site {domain} (harness/mail.py); no /etc/dovecot
instance_name = dovecot-{domain}
base_dir = {root}/run
state_dir = {root}/state
log_path = {workdir}/dovecot.log
protocols = imap pop3
listen = {LOCALHOST}
login_greeting = {domain} ready

ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}

disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
# answer a failed login at once (0.5 s timer) and without anvil's growing per-IP penalty (2-15 s):
# tests log in from 127.0.0.1 only. Without the socket, auth skips the penalty.
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}

# passwd-file: user:password:uid:gid:gecos:home:shell:extra; uid/gid empty (0 is refused there)
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = passwd-file
  args = {root}/users
}}
# Dovecot never gives mail access to root: the mail processes run as `{MAIL_USER}`.
mail_uid = {mail_uid}
mail_gid = {mail_gid}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
mail_location = maildir:~/Maildir

service imap-login {{
  inet_listener imap {{
    address = {LOCALHOST}
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = {LOCALHOST}
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


def _distinct_ports(n: int) -> list:
    ports: list = []
    while len(ports) < n:
        p = free_port()
        if p not in ports:
            ports.append(p)
    return ports


def start_mail_site(workdir: Path, domain: str, cert: Path, key: Path) -> MailSite:
    """Start the SMTP server and Dovecot of one site; return once each port has greeted.
    Raises RuntimeError/TimeoutError with the servers' logs if they are not up within 15 s."""
    if os.geteuid() != 0:
        raise RuntimeError("harness/mail.py runs Dovecot as root (mail processes as "
                           f"`{MAIL_USER}`); run the tests as root")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    mail_pw = pwd.getpwnam(MAIL_USER)
    uid, gid = mail_pw.pw_uid, mail_pw.pw_gid

    root = Path(tempfile.mkdtemp(prefix=f"snigate-e2e-mail-{domain}-"))
    atexit.register(shutil.rmtree, root, True)
    smtp = dovecot = None
    try:
        os.chmod(root, 0o755)
        maildir_root = root / "mail"
        maildir = maildir_root / USER / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        for d in (maildir_root, maildir_root / USER, maildir, *(maildir / s for s in ("cur", "new", "tmp"))):
            os.chown(d, uid, gid)
        home = maildir_root / USER
        logins = (USER, f"{USER}@{domain}")
        # The domain form is renamed to the bare user (extra field user=), so both share
        # one userdb entry, one home and one Maildir.
        users = (f"{USER}:{{PLAIN}}{PASSWORD}::::{home}::\n"
                 f"{USER}@{domain}:{{PLAIN}}{PASSWORD}::::{home}::user={USER}\n")
        (root / "users").write_text(users)
        os.chmod(root / "users", 0o644)

        smtp_port, imap_port, pop3_port = _distinct_ports(3)
        conf = workdir / "dovecot.conf"
        conf.write_text(_dovecot_conf(domain, root, workdir, Path(cert), Path(key), imap_port,
                                      pop3_port, uid, gid))
        dovecot = Proc("dovecot", [DOVECOT, "-F", "-c", str(conf)], workdir)
        smtp = Proc("smtp", [PYTHON, str(SMTP_TOOL), "--port", str(smtp_port), "--hostname", domain,
                             "--cert", str(cert), "--key", str(key), "--maildir", str(maildir),
                             *[a for u in logins for a in ("--user", u)], "--password", PASSWORD,
                             "--owner", f"{uid}:{gid}"], workdir)
        site = MailSite(domain, smtp_port, imap_port, pop3_port, maildir_root, Path(cert), Path(key),
                        workdir, root, smtp, dovecot, logins=logins)
        procs = [smtp, dovecot]
        _wait_greeting(smtp_port, f"220 {domain} ", f"{domain} SMTP", procs, site.logs)
        _wait_greeting(imap_port, "* OK ", f"{domain} IMAP", procs, site.logs)
        _wait_greeting(pop3_port, "+OK ", f"{domain} POP3", procs, site.logs)
        return site
    except BaseException:
        for p in (smtp, dovecot):
            if p is not None:
                p.stop(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
        raise
