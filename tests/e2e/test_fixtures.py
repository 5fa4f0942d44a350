"""The fixtures themselves, checked directly against the backends (no snigate needed).
If these fail, the snigate tests' failures mean nothing."""
import re
import socket
import ssl
import threading
import time

from harness.clients import curl, curl_sha256, s_client, tls_connect
from harness.util import LOCALHOST, port_refuses, run


def test_pki_chain_verifies(pki):
    for name in ("a", "b", "wild", "backend", "default"):
        cp = run(["openssl", "verify", "-CAfile", str(pki.ca_cert), str(pki[name].cert)], check=True)
        assert cp.stdout.strip().endswith(": OK")
    cp = run(["openssl", "x509", "-in", str(pki["wild"].cert), "-noout", "-ext", "subjectAltName"], check=True)
    assert "DNS:*.wild.test" in cp.stdout
    cp = run(["openssl", "pkey", "-in", str(pki["a"].key), "-noout", "-text"], check=True)
    assert "P-256" in cp.stdout or "prime256v1" in cp.stdout


def test_nginx_plain_and_tls_names(nginx, pki):
    for name, port in nginx.plain_ports.items():
        r = curl("plain.test", port, "/name", scheme="http")
        assert (r.rc, r.status, r.body.strip()) == (0, 200, name), r.stderr
    r = curl("backend.test", nginx.tls_port, "/name", ca=pki.ca_cert)
    assert (r.rc, r.status, r.body.strip()) == (0, 200, "tls-1"), r.stderr
    # The TLS server's certificate does not verify for another name.
    r = curl("a.test", nginx.tls_port, "/name", ca=pki.ca_cert)
    assert r.rc != 0


def test_nginx_big_file(nginx, big_file, pki):
    sha, size, _ = curl_sha256("backend.test", nginx.tls_port, "/big", pki.ca_cert)
    assert (sha, size) == (big_file.sha256, big_file.size)


def test_redis_ping(redis):
    cp = run(["redis-cli", "-h", LOCALHOST, "-p", str(redis.port), "ping"], check=True)
    assert cp.stdout.strip() == "PONG"


def test_mariadb_alice(mariadb):
    t0 = time.monotonic()
    cp = run(mariadb.client_argv(mariadb.port, "select 40+2"), timeout=10)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "42"
    assert time.monotonic() - t0 < 0.8
    bad = run(mariadb.client_argv(mariadb.port)[:-2] + ["-pwrong", "-e", "select 1"], timeout=10)
    assert bad.returncode != 0 and "1045" in bad.stderr


def test_s_server_reverses(s_server, pki):
    with tls_connect(s_server.port, "backend.test", pki.ca_cert) as s:
        s.sendall(b"hello snigate\n")
        got = b""
        while b"\n" not in got:
            chunk = s.recv(100)
            assert chunk, f"closed early, got {got!r}"
            got += chunk
    assert got.strip() == b"etagins olleh"


def test_hash_server(hash_server):
    import hashlib
    data = b"x" * 1000003
    with socket.create_connection((LOCALHOST, hash_server.port), timeout=10) as s:
        s.sendall(len(data).to_bytes(8, "big") + data)
        reply = s.makefile("rb").readline().strip().decode()
    assert reply == hashlib.sha256(data).hexdigest()


def test_unrecognized_name_alert_is_visible_to_s_client(pki):
    """The s_client helper shows a server's unrecognized_name alert the way
    test_unknown_sni_gets_unrecognized_name_alert_fast looks for it, and a normal handshake
    otherwise. The server: Python's TLS, refusing every name but backend.test."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki["backend"].cert), str(pki["backend"].key))
    ctx.sni_callback = lambda _sock, name, _ctx: (None if name == "backend.test"
                                                  else ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME)
    listener = socket.create_server((LOCALHOST, 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve(count: int) -> None:
        for _ in range(count):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    with ctx.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(1)  # until s_client closes
                except (ssl.SSLError, OSError):
                    pass
    server = threading.Thread(target=serve, args=(2,), daemon=True)
    server.start()
    try:
        refused = s_client(port, "nope.test", pki.ca_cert, timeout=10)
        ok = s_client(port, "backend.test", pki.ca_cert, timeout=10)
    finally:
        listener.close()
        server.join(10)
    assert refused.rc != 0
    assert re.search(r"(alert|tlsv1) unrecognized name", refused.out), refused.out
    assert "CN = backend.test" in ok.out and "Verify return code: 0 (ok)" in ok.out, ok.out
    assert not re.search(r"unrecognized name", ok.out), ok.out


def test_dead_port_refuses(dead_port):
    assert port_refuses(dead_port)
