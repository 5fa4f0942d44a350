"""Upload sink for throughput tests: run as `python3 hashsrv.py PORT [--until-eof]`.

Per connection: read an 8-byte big-endian length N, then N bytes, hashing as they arrive;
reply with the sha256 hex digest and a newline, then close. Length-prefixed so it works
through TLS too (no half-close needed).

With --until-eof: read until the client's end of stream, then reply with the byte count and
the sha256 hex digest ("N HEX\n") and close: a server that answers only once the client's
half-close has reached it."""
import hashlib
import socket
import struct
import sys
import threading


def serve(conn: socket.socket) -> None:
    with conn:
        head = b""
        while len(head) < 8:
            chunk = conn.recv(8 - len(head))
            if not chunk:
                return
            head += chunk
        (remaining,) = struct.unpack("!Q", head)
        h = hashlib.sha256()
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        while remaining:
            n = conn.recv_into(view, min(len(buf), remaining))
            if n == 0:
                conn.sendall(b"short\n")
                return
            h.update(view[:n])
            remaining -= n
        conn.sendall(h.hexdigest().encode() + b"\n")


def serve_until_eof(conn: socket.socket) -> None:
    with conn:
        h = hashlib.sha256()
        count = 0
        while True:
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            h.update(chunk)
            count += len(chunk)
        conn.sendall(f"{count} {h.hexdigest()}\n".encode())


def main() -> None:
    port = int(sys.argv[1])
    handler = serve_until_eof if "--until-eof" in sys.argv[2:] else serve
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(128)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
