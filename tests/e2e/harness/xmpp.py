"""XMPP "sites" for the STARTTLS tests: tools/xmpp_stub.py (asyncio, standard library) on a free
127.0.0.1 port with the site's own certificate, and a raw-socket XMPP client.

A site speaks the opening of an RFC 6120 client-to-server stream: its header and
`<stream:features>` offering STARTTLS (required), `<proceed/>` to `<starttls/>`, TLS, then after
the client's new header a new header, SASL PLAIN in the features (never used), and
`<message from='DOMAIN' to='client'><body>hello from DOMAIN over TLS</body></message>`. After
that `<ping/>` gets `<pong from='DOMAIN'/>`, a `<message>...</message>` comes back wrapped in
`<message from='DOMAIN'>...</message>`, and `</stream:stream>` is answered in kind and closes. A
header whose `to` is not DOMAIN gets `host-unknown`. With starttls=False the site offers no
STARTTLS and answers `<starttls/>` with `<failure/>` and the end of the stream. The exact bytes
are in the stub's docstring. The stub writes one line per connection on stderr (`to=`,
`tls=`, `sni=`, `end=`, `got=`): `site.log_lines()`.

    site = start_xmpp_site(workdir, "a.xmpp.test", cert, key)
    out = xmpp_client(site.port, "a.xmpp.test", ctx)   # everything read after TLS
    with XmppStream(site.port) as s:                    # step by step
        s.open("a.xmpp.test"); s.starttls(ctx, "a.xmpp.test"); s.open("a.xmpp.test", until=GREETING_END)
        s.ping(); s.close_stream()
"""
from __future__ import annotations

import contextlib
import re
import signal
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .util import LOCALHOST, Proc, free_port, read_text, wait_until

START_TIMEOUT = 10.0
PYTHON = "/usr/bin/python3"
XMPP_TOOL = Path(__file__).resolve().parent.parent / "tools" / "xmpp_stub.py"

STREAMS_NS = "http://etherx.jabber.org/streams"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
STARTTLS = f"<starttls xmlns='{TLS_NS}'/>"
CLOSE = "</stream:stream>"

# markers the client reads up to (regular expressions over the decoded text)
FEATURES_END = r"</stream:features>"
PROCEED = r"<proceed\b[^>]*>"
GREETING_END = r"</message>"
STREAM_END = r"</stream:stream>"
# seen before the marker, these end the read with an XmppError (after reading what follows)
FAILURES = (r"<stream:error\b", r"<failure\b", STREAM_END)


def stream_header(to: Optional[str], xml_decl: bool = True) -> bytes:
    """The client's stream header, as most clients write it; to=None leaves `to` out."""
    decl = "<?xml version='1.0'?>" if xml_decl else ""
    to_attr = f" to='{to}'" if to is not None else ""
    return (f"{decl}<stream:stream xmlns='jabber:client' xmlns:stream='{STREAMS_NS}'{to_attr} "
            "version='1.0'>").encode()


@dataclass
class XmppSite:
    domain: str
    port: int
    proc: Proc
    starttls: bool
    cert: Path
    key: Path
    workdir: Path

    def alive(self) -> bool:
        return self.proc.alive()

    def logs(self, lines: int = 0) -> str:
        """The stub's stderr (and stdout); with lines > 0 only the last `lines` lines of each."""
        def cut(text: str) -> str:
            return "\n".join(text.splitlines()[-lines:]) if lines > 0 else text
        p = self.proc
        return (f"=== xmpp site {self.domain} on 127.0.0.1:{self.port} "
                f"(starttls {'required' if self.starttls else 'not offered'})\n"
                f"--- {p.name}: {' '.join(p.argv)}\n--- stderr:\n{cut(read_text(p.stderr_path))}"
                f"\n--- stdout:\n{cut(read_text(p.stdout_path))}")

    def log_lines(self) -> list:
        """The stub's per-connection lines (`xmpp_stub DOMAIN: PEER to=... tls=... sni=...
        end=... got=...`), oldest first."""
        return [line for line in read_text(self.proc.stderr_path).splitlines()
                if line.startswith(f"xmpp_stub {self.domain}: ") and " end=" in line]

    def wait_log(self, *needles: str, timeout: float = 5.0) -> str:
        """The first connection line holding every needle, polled until it is written (the stub
        writes it when the connection ends)."""
        return wait_until(lambda: next((line for line in self.log_lines()
                                        if all(n in line for n in needles)), None),
                          timeout, f"an xmpp_stub line with {needles}",
                          on_timeout=lambda: self.logs(lines=30))

    def terminate(self) -> None:
        if self.proc.alive():
            self.proc.proc.send_signal(signal.SIGTERM)

    def stop(self) -> Optional[int]:
        """SIGTERM, wait; the exit status (0 when the stub stopped as it should)."""
        return self.proc.stop(timeout=10)


def stop_xmpp_sites(*sites: XmppSite) -> None:
    for s in sites:
        s.terminate()
    for s in sites:
        s.stop()


@contextlib.contextmanager
def logs_on_failure(*sites: XmppSite):
    """Any failure inside carries the end of the sites' logs."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - re-raised with the servers' side of the story
        logs = "\n\n".join(s.logs(lines=30) for s in sites)
        raise AssertionError(f"{type(e).__name__}: {e}\n\n{logs}") from e


# ---------------------------------------------------------------- the client

class XmppError(Exception):
    """The server answered otherwise than expected (or not in time); the message holds the
    whole transcript, `transcript` the same as text."""

    def __init__(self, what: str, transcript: str):
        super().__init__(f"{what}\n--- transcript (> sent, < received):\n{transcript}")
        self.what, self.transcript = what, transcript


class XmppStream:
    """A raw XMPP client connection to 127.0.0.1:port. Reads accumulate until a marker (a
    regular expression) shows up in what has not been consumed yet, the peer closes, or the
    deadline passes; everything sent and received is kept for error messages."""

    def __init__(self, port: int, host: str = LOCALHOST, timeout: float = 5.0):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.local_port = self.sock.getsockname()[1]  # the stub's log line names the peer by it
        self.buf = b""          # received, not consumed by a read yet
        self.log: list = []     # (">" or "<" or "*", text)
        self.tls_bytes = b""    # everything received after TLS

    # -- plumbing
    def __enter__(self) -> "XmppStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    @property
    def tls(self) -> bool:
        return isinstance(self.sock, ssl.SSLSocket)

    @property
    def tls_text(self) -> str:
        return self.tls_bytes.decode(errors="replace")

    def transcript(self) -> str:
        return "\n".join(f"{d} {t}" for d, t in self.log)

    def fail(self, what: str) -> XmppError:
        return XmppError(what, self.transcript())

    def send(self, data) -> None:
        data = data.encode() if isinstance(data, str) else data
        self.log.append((">", data.decode(errors="replace")))
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise self.fail(f"send failed: {e!r}") from e

    def _recv(self, deadline: float) -> bytes:
        """One recv within the deadline; b'' at end of stream. Raises XmppError on timeout."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            raise TimeoutError from None
        except ssl.SSLError as e:
            raise self.fail(f"TLS error while reading: {e!r}") from e
        except OSError as e:
            self.log.append(("*", f"read error {e!r}"))
            return b""
        if data:
            self.log.append(("<", data.decode(errors="replace")))
            if self.tls:
                self.tls_bytes += data
        else:
            self.log.append(("*", "end of stream"))
        return data

    def read_until(self, marker: str, timeout: Optional[float] = None,
                   failures=FAILURES) -> str:
        """Everything up to and including the first match of `marker`, consumed. A match of one
        of `failures` before it, the peer's end of stream or the deadline raises XmppError
        (after reading on for up to 1 s to the end of the stream, to show the whole error)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        pat = re.compile(marker.encode())
        bad = [re.compile(f.encode()) for f in failures]
        while True:
            m = pat.search(self.buf)
            f = min(filter(None, (b.search(self.buf) for b in bad)), key=lambda x: x.start(),
                    default=None)
            if f is not None and (m is None or f.start() < m.start()):
                self._drain(min(deadline, time.monotonic() + 1.0))
                raise self.fail(f"got {f.group(0).decode()!r} while waiting for {marker!r}")
            if m is not None:
                got, self.buf = self.buf[:m.end()], self.buf[m.end():]
                return got.decode(errors="replace")
            try:
                data = self._recv(deadline)
            except TimeoutError:
                raise self.fail(f"no {marker!r} within the deadline") from None
            if not data:
                raise self.fail(f"end of stream while waiting for {marker!r}")
            self.buf += data

    def _drain(self, deadline: float) -> None:
        try:
            while STREAM_END.encode() not in self.buf:
                data = self._recv(deadline)
                if not data:
                    return
                self.buf += data
        except (TimeoutError, XmppError):
            pass

    def read_to_eof(self, timeout: Optional[float] = None) -> str:
        """Everything until the peer closes (XmppError if it does not within the deadline)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                data = self._recv(deadline)
            except TimeoutError:
                raise self.fail("the server did not close the connection") from None
            if not data:
                text, self.buf = self.buf.decode(errors="replace"), b""
                return text
            self.buf += data

    # -- the protocol steps
    def open(self, to: Optional[str], until: str = FEATURES_END, xml_decl: bool = True,
             header: Optional[bytes] = None) -> str:
        """Send a stream header (or `header` as given) and read to `until`."""
        self.send(header if header is not None else stream_header(to, xml_decl))
        return self.read_until(until)

    def starttls(self, ctx: Optional[ssl.SSLContext] = None, server_hostname: Optional[str] = None,
                 request: bytes | str = STARTTLS) -> str:
        """Send <starttls/>, read <proceed/>, then the TLS handshake with ctx (None: a context
        that verifies nothing); server_hostname None sends no SNI. Returns what was read."""
        self.send(request)
        got = self.read_until(PROCEED)
        if self.buf:
            raise self.fail(f"bytes after <proceed/> before TLS: {self.buf!r}")
        if ctx is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        self.sock.settimeout(self.timeout)
        try:
            self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        except (ssl.SSLError, ssl.CertificateError, OSError) as e:
            raise self.fail(f"TLS handshake failed: {e!r}") from e
        self.log.append(("*", f"TLS up: {self.sock.version()} {self.sock.cipher()[0]}"))
        return got

    def ping(self) -> str:
        self.send("<ping/>")
        return self.read_until(r"<pong\b[^>]*/>")

    def echo(self, message: str) -> str:
        """Send one <message>...</message>; return the server's wrapped copy."""
        self.send(message)
        return self.read_until(r"</message></message>")

    def close_stream(self) -> str:
        """Send </stream:stream>, read the server's, then wait for it to close."""
        self.send(CLOSE)
        got = self.read_until(STREAM_END, failures=())
        rest = self.read_to_eof()
        return got + rest

    def peercert(self) -> dict:
        return self.sock.getpeercert() if self.tls else {}


def xmpp_client(port: int, to: str, ctx: Optional[ssl.SSLContext] = None, server_hostname=...,
                timeout: float = 5.0) -> str:
    """The whole client side: header with to=, features, <starttls/>, <proceed/>, TLS with ctx
    (None: no verification), SNI server_hostname (default `to`; None: no SNI), a new header,
    and read until the greeting's </message>. Returns everything read after TLS (the server's
    new header, features and greeting). Raises XmppError with the transcript on any failure."""
    if server_hostname is ...:
        server_hostname = to
    try:
        s = XmppStream(port, timeout=timeout)
    except OSError as e:
        raise XmppError(f"connect to 127.0.0.1:{port} failed: {e!r}", "") from e
    with s:
        features = s.open(to)
        if not re.search(rf"<starttls\s[^>]*xmlns=(['\"]){re.escape(TLS_NS)}\1", features):
            raise s.fail("the server offers no starttls")
        s.starttls(ctx, server_hostname)
        s.open(to, until=GREETING_END)
        with contextlib.suppress(XmppError):
            s.send(CLOSE)
        return s.tls_text


# ---------------------------------------------------------------- start-up

def _ready(port: int, domain: str) -> str:
    """'' when the site answers a header for its domain with its own header and features."""
    with XmppStream(port, timeout=1.0) as s:
        got = s.open(domain)
        with contextlib.suppress(XmppError):
            s.send(CLOSE)
    if f"from='{domain}'" not in got or "<stream:features>" not in got:
        return f"unexpected answer: {got}"
    return ""


def start_xmpp_site(workdir, domain: str, cert, key, starttls: bool = True) -> XmppSite:
    """Start one stub on a free port and wait until it answers a stream header with its own."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):  # a free port can be taken between free_port() and the bind
        port = free_port()
        proc = Proc(f"xmpp-{domain}-{port}", [PYTHON, str(XMPP_TOOL), "--port", str(port),
                                            "--domain", domain, "--cert", str(cert), "--key", str(key),
                                            *([] if starttls else ["--no-starttls"])], workdir)
        site = XmppSite(domain, port, proc, starttls, Path(cert), Path(key), workdir)
        seen = {}

        def ready():
            if not proc.alive():
                return "exited"
            try:
                seen["last"] = _ready(port, domain)
            except (OSError, XmppError) as e:
                seen["last"] = repr(e)
                return None
            return "ok" if not seen["last"] else None
        try:
            state = wait_until(ready, START_TIMEOUT, f"xmpp site {domain} on 127.0.0.1:{port}",
                               interval=0.05,
                               on_timeout=lambda: f"last answer: {seen.get('last')}\n{site.logs()}")
        except BaseException:
            proc.stop(timeout=5)
            raise
        if state == "ok":
            return site
        proc.stop(timeout=5)
        if "Address already in use" not in read_text(proc.stderr_path) or attempt == 2:
            raise RuntimeError(f"xmpp site {domain} exited with {proc.proc.returncode} before "
                               f"answering on 127.0.0.1:{port}\n{site.logs()}")
    raise AssertionError("unreachable")
