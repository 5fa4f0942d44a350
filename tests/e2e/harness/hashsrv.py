"""Upload sink for throughput tests: run as `python3 hashsrv.py PORT`.

Per connection: read an 8-byte big-endian length N, then N bytes, hashing as they arrive;
reply with the sha256 hex digest and a newline, then close. Length-prefixed so it works
through TLS too (no half-close needed)."""
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


def main() -> None:
    port = int(sys.argv[1])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(128)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
