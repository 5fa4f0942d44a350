#!/usr/bin/python3
"""An SMTP server for bench/smtp_starttls.py that accepts every message and throws it away:
STARTTLS with one certificate, AUTH PLAIN and LOGIN for one user (offered, not required), and
DATA read in bulk (recv of up to 256 KiB, scanned for CRLF.CRLF) instead of line by line.

    /usr/bin/python3 bench/smtp_sink.py --port P --hostname NAME --cert C --key K \\
        [--user alice --password secret]

Why not aiosmtpd (tests/e2e/tools/smtp_maildir.py): it reads DATA one line at a time in Python
coroutines (about 1,400 awaits for 100 KiB of 76-character lines) and the e2e tool fsyncs each
message into a Maildir; either makes the server the bottleneck of a message-throughput run and
hides what a proxy costs. This one is plain blocking sockets, one thread per connection
(socketserver), TCP_NODELAY, no pipelining offered. Replies follow RFC 5321 closely enough for
smtplib, swaks and snigate's passthrough (which wants STARTTLS in the EHLO reply and nothing
after the 220 to STARTTLS). SIGTERM or SIGINT ends it; it then prints what it took on stdout."""
import argparse
import base64
import signal
import socket
import socketserver
import ssl
import sys
import threading

MAX_LINE = 4096
CHUNK = 256 * 1024


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = self.tls = self.messages = self.bytes = 0

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


class Closed(Exception):
    pass


class Session:
    def __init__(self, sock, opts, stats):
        self.sock, self.opts, self.stats = sock, opts, stats
        self.buf = b""
        self.tls = False
        self.authenticated = False
        self.greeted = False
        self.mail = False
        self.rcpts = 0

    # ---------------------------------------------------------------- I/O
    def recv(self) -> bytes:
        chunk = self.sock.recv(CHUNK)
        if not chunk:
            raise Closed
        return chunk

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode())

    def readline(self) -> str:
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 1:]
                return line.rstrip(b"\r").decode("utf-8", "replace")
            if len(self.buf) > MAX_LINE:
                self.send("500 5.5.6 Line too long\r\n")
                raise Closed
            self.buf += self.recv()

    def read_data(self) -> int:
        """Discards the message up to and including the CRLF.CRLF that ends it (or the .CRLF
        right after the 354, for an empty one); returns its size. Keeps what follows."""
        prev, buf, size = b"\r\n", self.buf, 0  # as if the line before the data just ended
        while True:
            hay = prev + buf
            i = hay.find(b"\r\n.\r\n")
            if i >= 0:
                end = i + 5 - len(prev)  # in buf, just after the terminator
                self.buf = buf[end:]
                return size + end
            size += len(buf)
            prev = hay[-4:]
            buf = self.recv()

    # ---------------------------------------------------------------- the dialogue
    def ehlo(self, arg: str) -> None:
        host = self.opts.hostname
        lines = [host, "SIZE 104857600", "8BITMIME", "ENHANCEDSTATUSCODES"]
        if not self.tls:
            lines.append("STARTTLS")
        if self.opts.password:
            lines.append("AUTH PLAIN LOGIN")
        self.send("".join(f"250-{x}\r\n" for x in lines[:-1]) + f"250 {lines[-1]}\r\n")
        self.greeted, self.mail, self.rcpts = True, False, 0

    def check(self, user: bytes, password: bytes) -> None:
        if user.decode("utf-8", "replace") in self.opts.user and password == self.opts.password.encode():
            self.authenticated = True
            self.send("235 2.7.0 Authentication successful\r\n")
        else:
            self.send("535 5.7.8 Authentication credentials invalid\r\n")

    def auth(self, arg: str) -> None:
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if not self.opts.password or mech not in ("PLAIN", "LOGIN"):
            self.send("504 5.5.4 Unrecognized authentication type\r\n")
            return
        if self.authenticated:
            self.send("503 5.5.1 Already authenticated\r\n")
            return
        try:
            if mech == "PLAIN":
                if len(parts) > 1:
                    blob = parts[1]
                else:
                    self.send("334 \r\n")
                    blob = self.readline()
                _, user, password = base64.b64decode(blob, validate=True).split(b"\0", 2)
            else:
                self.send("334 VXNlcm5hbWU6\r\n")
                user = base64.b64decode(self.readline(), validate=True)
                self.send("334 UGFzc3dvcmQ6\r\n")
                password = base64.b64decode(self.readline(), validate=True)
        except ValueError:
            self.send("501 5.5.2 Cannot decode the response\r\n")
            return
        self.check(user, password)

    def starttls(self) -> None:
        if self.tls:
            self.send("503 5.5.1 Already in TLS\r\n")
            return
        if self.buf:  # RFC 3207: nothing may follow STARTTLS before the reply
            self.send("554 5.5.2 Bytes after STARTTLS\r\n")
            raise Closed
        self.send("220 2.0.0 Ready to start TLS\r\n")
        self.sock = self.opts.ctx.wrap_socket(self.sock, server_side=True)
        self.tls, self.greeted, self.authenticated, self.mail, self.rcpts = True, False, False, False, 0
        self.stats.add(tls=1)

    def run(self) -> None:
        self.send(f"220 {self.opts.hostname} ESMTP snigate-bench sink\r\n")
        while True:
            line = self.readline()
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                if verb == "HELO":
                    self.send(f"250 {self.opts.hostname}\r\n")
                    self.greeted, self.mail, self.rcpts = True, False, 0
                else:
                    self.ehlo(arg)
            elif verb == "STARTTLS":
                self.starttls()
            elif verb == "AUTH":
                self.auth(arg)
            elif verb == "MAIL":
                if not self.greeted:
                    self.send("503 5.5.1 Send EHLO first\r\n")
                else:
                    self.mail, self.rcpts = True, 0
                    self.send("250 2.1.0 Ok\r\n")
            elif verb == "RCPT":
                if not self.mail:
                    self.send("503 5.5.1 Need MAIL first\r\n")
                else:
                    self.rcpts += 1
                    self.send("250 2.1.5 Ok\r\n")
            elif verb == "DATA":
                if not self.rcpts:
                    self.send("503 5.5.1 Need RCPT first\r\n")
                    continue
                self.send("354 End data with <CR><LF>.<CR><LF>\r\n")
                size = self.read_data()
                self.stats.add(messages=1, bytes=size)
                self.mail, self.rcpts = False, 0
                self.send(f"250 2.0.0 Ok: discarded {size} bytes\r\n")
            elif verb == "RSET":
                self.mail, self.rcpts = False, 0
                self.send("250 2.0.0 Ok\r\n")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye\r\n")
                return
            else:
                self.send("500 5.5.2 Command not recognized\r\n")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        server = self.server
        server.stats.add(connections=1)
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s = Session(sock, server.opts, server.stats)
        try:
            s.run()
        except (Closed, OSError, ssl.SSLError):
            pass
        finally:
            try:
                s.sock.close()
            except OSError:
                pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 256  # not 5: concurrent clients would wait for SYN retransmits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--hostname", required=True, help="greeting and EHLO name")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", action="append", default=[], help="a login name (repeat)")
    ap.add_argument("--password", default="", help="AUTH is offered only with a password")
    opts = ap.parse_args()
    opts.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    opts.ctx.load_cert_chain(opts.cert, opts.key)

    def stop(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = Server((opts.listen, opts.port), Handler)
    server.opts, server.stats = opts, Stats()
    print(f"listening on {opts.listen}:{opts.port} as {opts.hostname}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        st = server.stats
        print(f"connections {st.connections} tls {st.tls} messages {st.messages} bytes {st.bytes}", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
