"""256 MiB through every relay mode, compared by sha256 (streamed, never held in memory)."""
import pytest

from harness.clients import curl_sha256, tls_connect, upload_sha256
from harness.util import LOCALHOST

import socket


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
