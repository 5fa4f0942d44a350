#!/usr/bin/python3
"""A small XMPP client-to-server endpoint for the STARTTLS e2e tests (harness/xmpp.py): the
opening of an RFC 6120 stream, STARTTLS with one certificate, and a toy exchange after TLS so a
test can tell which server it reached and that TLS was on. Standard library only (asyncio).

    xmpp_stub.py --port PORT --domain DOMAIN --cert CERT --key KEY [--no-starttls] [--host ADDR]

What it sends, byte for byte (DOMAIN is --domain, ID a fresh random hex id per header):

  header    <?xml version='1.0'?><stream:stream xmlns='jabber:client'
            xmlns:stream='http://etherx.jabber.org/streams' id='ID' from='DOMAIN' version='1.0'>
            (one line, one space between attributes), sent once the client's header is read.
  features  <stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>
            in the same write as the header (openssl s_client -starttls xmpp looks for the
            starttls element inside a single read); with --no-starttls:
            <stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>
  starttls  the client's <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/> (any prefix, quotes,
            or <starttls ...></starttls>) is answered with
            <proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/> and the TLS handshake follows
            (server side, --cert/--key, any SNI). With --no-starttls, or a second starttls
            after TLS: <failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>, close.
  after TLS the client's new header is answered with a new header (new ID) and
            <stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>
            <message from='DOMAIN' to='client'><body>hello from DOMAIN over TLS</body></message>
            (one write). Then, for each top-level element the client sends:
              <ping/> (any attributes, or <ping></ping>)  ->  <pong from='DOMAIN'/>
              <message ...>...</message>                  ->  <message from='DOMAIN'>THE SAME BYTES</message>
              </stream:stream>                            ->  </stream:stream>, close (close_notify)
              anything else                               ->  ignored (logged)
            With --no-starttls the same ping and message echo work on the plain stream.

Errors (each is the stream header first if none was sent yet, then the error, then
</stream:stream> and close):
  the header's `to` is missing or is not DOMAIN (case-insensitive), before or after TLS:
      <stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>
  not a stream header (namespace or name), or the default namespace is not jabber:client:
      <stream:error><invalid-namespace xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>
  XML the scanner cannot take (a DOCTYPE, a mismatched end tag, more than 1 MiB in one element):
      <stream:error><bad-format xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>
  before TLS, any element but starttls (with --no-starttls: but starttls, ping and message), and
  bytes pipelined behind <starttls/> before <proceed/> (a STARTTLS injection; never read as TLS):
      <stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>

Logs: `listening on HOST:PORT` once on stderr, then one line per connection on stderr when it
ends: peer, each `to` seen, whether TLS was on, the SNI the client sent, how the connection
ended, and the elements it got. SIGTERM (or SIGINT) closes the listener and exits 0.

Run with /usr/bin/python3 (3.11: StreamWriter.start_tls)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import re
import secrets
import signal
import ssl
import sys
import weakref

STREAMS_NS = "http://etherx.jabber.org/streams"
CLIENT_NS = "jabber:client"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
ERRORS_NS = "urn:ietf:params:xml:ns:xmpp-streams"
XML_NS = "http://www.w3.org/XML/1998/namespace"
MAX_ELEMENT = 1 << 20

FEATURES_TLS = (f"<stream:features><starttls xmlns='{TLS_NS}'><required/></starttls>"
                "</stream:features>")
FEATURES_SASL = (f"<stream:features><mechanisms xmlns='{SASL_NS}'><mechanism>PLAIN</mechanism>"
                 "</mechanisms></stream:features>")
PROCEED = f"<proceed xmlns='{TLS_NS}'/>"
FAILURE = f"<failure xmlns='{TLS_NS}'/>"
CLOSE = "</stream:stream>"


def header(domain: str) -> str:
    return (f"<?xml version='1.0'?><stream:stream xmlns='{CLIENT_NS}' xmlns:stream='{STREAMS_NS}' "
            f"id='{secrets.token_hex(8)}' from='{domain}' version='1.0'>")


def stream_error(condition: str) -> str:
    return f"<stream:error><{condition} xmlns='{ERRORS_NS}'/></stream:error>"


# ---------------------------------------------------------------- an incremental tag scanner

class XmlError(Exception):
    """Input the scanner refuses (answered with bad-format)."""


_NAME = r"[^\s/>=\"'<]+"
_ATTR = re.compile(rb"\s*(" + _NAME.encode() + rb")\s*=\s*(\"[^\"<]*\"|'[^'<]*')")
_START = re.compile(rb"<(" + _NAME.encode() + rb")")
_END = re.compile(rb"</(" + _NAME.encode() + rb")\s*>\Z")
_REF = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def unescape(text: str) -> str:
    def one(m: re.Match) -> str:
        ref = m.group(1)
        if ref.startswith("#x"):
            return chr(int(ref[2:], 16))
        if ref.startswith("#"):
            return chr(int(ref[1:]))
        return _ENTITIES[ref]
    return _REF.sub(one, text)


class Token:
    """kind: 'start', 'end', 'empty' (a self-closed tag), 'text', 'pi', 'comment'."""

    def __init__(self, kind: str, raw: bytes, name: str = "", attrs: dict | None = None):
        self.kind, self.raw, self.name, self.attrs = kind, raw, name, attrs or {}

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.raw[:60]!r})"


def _parse_tag(raw: bytes) -> Token:
    """raw is one whole `<...>` tag (not a PI, comment or CDATA)."""
    if raw.startswith(b"</"):
        m = _END.match(raw)
        if not m:
            raise XmlError(f"bad end tag {raw[:80]!r}")
        return Token("end", raw, m.group(1).decode())
    m = _START.match(raw)
    if not m:
        raise XmlError(f"bad tag {raw[:80]!r}")
    empty = raw.endswith(b"/>")
    body = raw[m.end():len(raw) - (2 if empty else 1)]
    attrs: dict = {}
    pos = 0
    while True:
        a = _ATTR.match(body, pos)
        if not a:
            break
        name = a.group(1).decode()
        if name in attrs:
            raise XmlError(f"attribute {name} twice in {raw[:80]!r}")
        attrs[name] = unescape(a.group(2)[1:-1].decode())
        pos = a.end()
    if body[pos:].strip():
        raise XmlError(f"bad attributes in {raw[:80]!r}")
    if pos and not body[:1].isspace():  # <namea='1'>: the name ran into an attribute
        raise XmlError(f"bad tag {raw[:80]!r}")
    return Token("empty" if empty else "start", raw, m.group(1).decode(), attrs)


class Scanner:
    """Bytes in, tokens out; a token is returned only once all its bytes have arrived."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > MAX_ELEMENT:
            raise XmlError("more than 1 MiB without a complete token")

    def _take(self, n: int) -> bytes:
        raw = bytes(self.buf[:n])
        del self.buf[:n]
        return raw

    def next(self) -> Token | None:
        buf = self.buf
        if not buf:
            return None
        if buf[0:1] != b"<":
            lt = buf.find(b"<")
            if lt < 0:
                # text runs to the end of what we have; hand it out (whitespace keepalives)
                return Token("text", self._take(len(buf)))
            return Token("text", self._take(lt))
        for opener, closer, kind in ((b"<?", b"?>", "pi"), (b"<!--", b"-->", "comment"),
                                     (b"<![CDATA[", b"]]>", "text")):
            if buf.startswith(opener):
                end = buf.find(closer, len(opener))
                return None if end < 0 else Token(kind, self._take(end + len(closer)))
            if len(buf) < len(opener) and opener.startswith(bytes(buf)):  # e.g. only "<!-" so far
                return None
        if buf.startswith(b"<!"):
            raise XmlError(f"markup declaration not allowed in XMPP: {bytes(buf[:40])!r}")
        quote = 0
        for i in range(1, len(buf)):
            c = buf[i]
            if quote:
                if c == quote:
                    quote = 0
            elif c in (0x22, 0x27):
                quote = c
            elif c == 0x3C:
                raise XmlError(f"'<' inside a tag: {bytes(buf[:i + 1])[-80:]!r}")
            elif c == 0x3E:
                return _parse_tag(self._take(i + 1))
        return None


def split_qname(qname: str) -> tuple:
    prefix, _, local = qname.rpartition(":")
    return prefix, local


def ns_scope(parent: dict, attrs: dict) -> dict:
    """parent's prefix -> namespace map with attrs' xmlns declarations on top ('' = default)."""
    scope = dict(parent)
    for k, v in attrs.items():
        if k == "xmlns":
            scope[""] = v
        elif k.startswith("xmlns:"):
            scope[k[6:]] = v
    return scope


def resolve(qname: str, scope: dict) -> tuple:
    """(namespace, local name) of an element name in scope; namespace None when unbound."""
    prefix, local = split_qname(qname)
    if prefix == "xml":
        return XML_NS, local
    return scope.get(prefix, None if prefix else ""), local


class Element:
    def __init__(self, name: str, ns, local: str, attrs: dict, raw: bytes):
        self.name, self.ns, self.local, self.attrs, self.raw = name, ns, local, attrs, raw


class StreamClosed(Exception):
    """The client's </stream:stream>."""


class Peer:
    """One XML stream from the client: its header, then whole top-level elements."""

    def __init__(self, reader: asyncio.StreamReader, log: list):
        self.reader, self.log = reader, log
        self.scanner = Scanner()
        self.scope: dict = {}
        self.stream_name = ""

    def restart(self) -> None:
        """A new stream (after TLS): nothing of the old one carries over."""
        self.scanner = Scanner()
        self.scope, self.stream_name = {}, ""

    async def _token(self) -> Token:
        while True:
            tok = self.scanner.next()
            if tok is not None:
                return tok
            data = await self.reader.read(65536)
            if not data:
                raise EOFError
            self.scanner.feed(data)

    async def read_header(self) -> Token:
        """Skip the XML declaration, comments and whitespace; return the first start tag."""
        while True:
            tok = await self._token()
            if tok.kind in ("pi", "comment") or (tok.kind == "text" and not tok.raw.strip()):
                continue
            if tok.kind != "start":
                raise XmlError(f"expected a stream header, got {tok.raw[:80]!r}")
            self.scope = ns_scope({}, tok.attrs)
            self.stream_name = tok.name
            return tok

    async def read_element(self) -> Element:
        """The next top-level element of the stream, whole; StreamClosed at </stream:stream>."""
        while True:
            tok = await self._token()
            if tok.kind in ("text", "pi", "comment"):
                if tok.kind == "text" and tok.raw.strip():
                    self.log.append("text-ignored")
                continue
            if tok.kind == "end":
                if tok.name != self.stream_name:
                    raise XmlError(f"end tag {tok.name} at the stream's level")
                raise StreamClosed
            scope = ns_scope(self.scope, tok.attrs)
            ns, local = resolve(tok.name, scope)
            if tok.kind == "empty":
                return Element(tok.name, ns, local, tok.attrs, tok.raw)
            raw, stack = [tok.raw], [tok.name]
            size = len(tok.raw)
            while stack:
                t = await self._token()
                raw.append(t.raw)
                size += len(t.raw)
                if size > MAX_ELEMENT:
                    raise XmlError("element larger than 1 MiB")
                if t.kind == "start":
                    stack.append(t.name)
                elif t.kind == "end":
                    if t.name != stack[-1]:
                        raise XmlError(f"</{t.name}> closes <{stack[-1]}>")
                    stack.pop()
            return Element(tok.name, ns, local, tok.attrs, b"".join(raw))


# ---------------------------------------------------------------- the server

class Conn:
    def __init__(self, server: "Server", reader, writer):
        self.server, self.reader, self.writer = server, reader, writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.tos: list = []
        self.got: list = []
        self.tls = False
        self.sni = None
        self.header_sent = False
        self.stream = Peer(reader, self.got)

    async def send(self, text: str) -> None:
        self.writer.write(text.encode())
        await self.writer.drain()

    async def fail(self, condition: str) -> str:
        out = "" if self.header_sent else header(self.server.domain)
        await self.send(out + stream_error(condition) + CLOSE)
        return condition

    async def open_stream(self) -> str | None:
        """Read the client's header and check it; None when good, else the error sent."""
        self.header_sent = False
        tok = await self.stream.read_header()
        to = tok.attrs.get("to")
        self.tos.append("-" if to is None else to or "''")  # - : no `to`; '' : an empty one
        ns, local = resolve(tok.name, self.stream.scope)
        if ns != STREAMS_NS or local != "stream" or self.stream.scope.get("") != CLIENT_NS:
            return await self.fail("invalid-namespace")
        if to is None or to.lower().rstrip(".") != self.server.domain.lower():
            return await self.fail("host-unknown")
        return None

    async def run(self) -> str:
        d = self.server.domain
        if err := await self.open_stream():
            return err
        self.header_sent = True
        starttls = self.server.starttls
        await self.send(header(d) + (FEATURES_TLS if starttls else FEATURES_SASL))
        while True:  # before TLS
            try:
                el = await self.stream.read_element()
            except StreamClosed:
                await self.send(CLOSE)
                return "client-closed"
            self.got.append(el.local)
            if el.local == "starttls" and el.ns == TLS_NS:
                if not starttls:
                    await self.send(FAILURE + CLOSE)
                    return "starttls-failure-sent"
                if self.stream.scanner.buf or self.reader._buffer:  # noqa: SLF001
                    # bytes behind <starttls/> before our <proceed/>: never read them as TLS
                    return await self.fail("policy-violation") + "(pipelined-after-starttls)"
                await self.send(PROCEED)
                break
            if not starttls and el.local in ("ping", "message"):
                await self.answer(el)
                continue
            return await self.fail("policy-violation")
        await self.writer.start_tls(self.server.ctx, ssl_handshake_timeout=10)
        self.tls = True
        self.stream.restart()
        if err := await self.open_stream():
            return err
        self.header_sent = True
        await self.send(header(d) + FEATURES_SASL +
                        f"<message from='{d}' to='client'><body>hello from {d} over TLS</body></message>")
        while True:
            try:
                el = await self.stream.read_element()
            except StreamClosed:
                await self.send(CLOSE)
                return "client-closed"
            self.got.append(el.local)
            if el.local == "starttls" and el.ns == TLS_NS:
                await self.send(FAILURE + CLOSE)
                return "starttls-again-failure-sent"
            await self.answer(el)

    async def answer(self, el: Element) -> None:
        d = self.server.domain
        if el.local == "ping":
            await self.send(f"<pong from='{d}'/>")
        elif el.local == "message":
            self.writer.write(f"<message from='{d}'>".encode() + el.raw + b"</message>")
            await self.writer.drain()
        else:
            self.got[-1] += "(ignored)"


class Server:
    def __init__(self, args):
        self.domain = args.domain
        self.starttls = not args.no_starttls
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(args.cert, args.key)
        self.tasks: set = set()
        self.snis = weakref.WeakKeyDictionary()  # SSLObject -> the SNI it got

        def sni_cb(sslobj, name, _ctx):
            self.snis[sslobj] = name
        self.ctx.sni_callback = sni_cb

    async def handle(self, reader, writer) -> None:
        task = asyncio.current_task()
        self.tasks.add(task)
        conn = Conn(self, reader, writer)
        end = "?"
        try:
            end = await conn.run()
        except EOFError:
            end = "eof"
        except XmlError as e:
            end = f"bad-format: {e}"
            try:
                await conn.fail("bad-format")
            except (OSError, ssl.SSLError, RuntimeError):
                pass
        except ssl.SSLError as e:
            end = f"tls-error: {e.reason or e}"
        except (ConnectionError, OSError, asyncio.TimeoutError, RuntimeError) as e:
            end = f"{type(e).__name__}: {e}"
        except asyncio.CancelledError:
            end = "cancelled"
        finally:
            self.tasks.discard(task)
            sslobj = writer.get_extra_info("ssl_object")
            if sslobj is not None:
                conn.sni = self.snis.get(sslobj)
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - closing a broken transport
                pass
            print(f"xmpp_stub {self.domain}: {conn.peer} to={','.join(conn.tos) or '-'} "
                  f"tls={'yes' if conn.tls else 'no'} sni={conn.sni or '-'} end={end} "
                  f"got={','.join(conn.got) or '-'}", file=sys.stderr, flush=True)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--domain", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--no-starttls", action="store_true",
                    help="offer no starttls and answer one with <failure/>")
    args = ap.parse_args()
    # asyncio's StreamReaderProtocol under start_tls logs this at every client EOF; it is noise
    logging.getLogger("asyncio").addFilter(
        lambda r: "eof_received() has no effect" not in r.getMessage())
    server = Server(args)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    srv = await asyncio.start_server(server.handle, args.host, args.port, reuse_address=True)
    print(f"xmpp_stub {args.domain}: listening on {args.host}:{args.port} "
          f"starttls={'yes' if server.starttls else 'no'}", file=sys.stderr, flush=True)
    await stop.wait()
    srv.close()
    for t in list(server.tasks):
        t.cancel()
    await asyncio.gather(*server.tasks, return_exceptions=True)
    print(f"xmpp_stub {args.domain}: stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
