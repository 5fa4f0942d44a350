"""256 MiB through every relay mode, compared by sha256 (streamed, never held in memory)."""
import hashlib
import socket

import pytest

from harness.clients import curl_sha256, recv_http_response, tls_connect, tls_context, upload_sha256
from harness.util import LOCALHOST


@pytest.mark.parametrize("mode,host,scheme", [
    ("passthrough", "backend.test", "https"),
    ("termination", "a.test", "https"),
    ("reencryption", "b.test", "https"),
    ("plain", "plain.test", "http"),
])
def test_download_256mib(gw, pki, big_file, mode, host, scheme):
    port = gw.plainhttp if mode == "plain" else gw.web
    sha, size, err = curl_sha256(host, port, "/big", pki.ca_cert if scheme == "https" else None, scheme=scheme)
    assert size == big_file.size, err
    assert sha == big_file.sha256


def test_upload_256mib_plain(gw, big_file):
    with socket.create_connection((LOCALHOST, gw.upload), timeout=60) as s:
        assert upload_sha256(s, big_file.path, big_file.size) == big_file.sha256


def test_upload_256mib_terminated(gw, pki, big_file):
    with tls_connect(gw.web, "up.wild.test", pki.ca_cert, timeout=60) as s:
        assert upload_sha256(s, big_file.path, big_file.size) == big_file.sha256


def test_download_to_a_tls_client_with_a_small_window(gw, pki, big_file):
    """A 4 KiB receive buffer: the records snigate gathers for one send go out a
    few kilobytes at a time, the send stopping halfway again and again. Every
    byte must still arrive, in order."""
    n = 4 << 20
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(60)
    raw.connect((LOCALHOST, gw.web))
    with tls_context(pki.ca_cert).wrap_socket(raw, server_hostname="a.test") as s:
        s.sendall(f"GET /big HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-{n - 1}\r\n"
                  "Connection: close\r\n\r\n".encode())
        status, _, body = recv_http_response(s)
    assert status == 206
    with open(big_file.path, "rb") as f:
        assert hashlib.sha256(body).hexdigest() == hashlib.sha256(f.read(n)).hexdigest()
