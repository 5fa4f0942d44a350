"""TLS routing on the mixed entry point `web`: termination (exact, wildcard, default
certificate), passthrough, re-encryption, whoami@internal, the unrecognized_name refusal,
and what the access log and log say about it."""
import re
import socket
import ssl
import uuid

import pytest

from harness.clients import curl, s_client, tls_connect, tls_context, tls_get_name
from harness.util import LOCALHOST, wait_until


def test_termination_exact_cert(gw, pki):
    r = curl("a.test", gw.web, "/name", ca=pki.ca_cert)
    assert r.rc == 0, r.stderr
    assert r.status == 200
    assert r.body.strip() == "plain-1"


def test_termination_wildcard_cert(gw, pki):
    r = curl("x.wild.test", gw.web, "/name", ca=pki.ca_cert)
    assert r.rc == 0, r.stderr  # --cacert: verification of *.wild.test for x.wild.test succeeded
    assert (r.status, r.body.strip()) == (200, "plain-1")


def test_passthrough_client_sees_backend_cert(gw, pki):
    r = curl("backend.test", gw.web, "/name", ca=pki.ca_cert)
    assert r.rc == 0, r.stderr
    assert (r.status, r.body.strip()) == (200, "tls-1")
    out = s_client(gw.web, "backend.test", pki.ca_cert).out
    assert re.search(r"subject=.*CN\s*=\s*backend\.test", out), out
    assert "Verify return code: 0 (ok)" in out, out


def test_reencryption(gw, pki):
    r = curl("b.test", gw.web, "/name", ca=pki.ca_cert)
    assert r.rc == 0, r.stderr
    assert (r.status, r.body.strip()) == (200, "tls-1")  # nginx's TLS server answered
    out = s_client(gw.web, "b.test", pki.ca_cert).out
    assert re.search(r"subject=.*CN\s*=\s*b\.test", out), out  # but the client saw snigate's b.test cert


def test_reencryption_verifies_backend_name(gw, pki, nginx):
    """serversTransport stbad expects serverName wrong.test; nginx presents backend.test: refuse."""
    mark, log_mark = gw.sg.access_mark(), gw.sg.log_mark()
    raw = socket.create_connection((LOCALHOST, gw.web), timeout=5)
    port = raw.getsockname()[1]
    got = b""
    try:
        # snigate finishes the client's handshake first, then fails the server's: the client's
        # request gets no answer, only the end of the connection.
        with tls_context(pki.ca_cert).wrap_socket(raw, server_hostname="badname.wild.test") as s:
            s.sendall(b"GET /name HTTP/1.1\r\nHost: badname.wild.test\r\nConnection: close\r\n\r\n")
            while chunk := s.recv(4096):
                got += chunk
    except (ssl.SSLError, ConnectionError):
        pass  # a reset, as the request was not read, ends it as well
    finally:
        raw.close()
    assert got == b"", got
    e = gw.sg.wait_access_from(port, after=mark)
    assert (e["router"], e["service"], e["end"]) == ("badname", "tlsbadname", "backend_tls_failed"), e
    client = f"{LOCALHOST}:{port}"
    want = (f'{client}: router badname: service tlsbadname: TLS handshake with 127.0.0.1:{nginx.tls_port} '
            f'(as "wrong.test") failed')
    lines = wait_until(lambda: [ln for ln in gw.sg.log_since(log_mark).splitlines() if want in ln], 5,
                       f"the log line {want!r}", on_timeout=gw.sg.logs)
    assert "warning" in lines[0] and "(certificate: " in lines[0], lines


def test_reencryption_interactive_to_s_server(gw, pki):
    """rev.wild.test (priority 100 over *.wild.test): terminate, re-encrypt to `s_server -rev`."""
    with tls_connect(gw.web, "rev.wild.test", pki.ca_cert) as s:
        for line in (b"hello snigate\n", b"second line\n"):
            s.sendall(line)
            got = b""
            while b"\n" not in got:
                chunk = s.recv(100)
                assert chunk, f"closed early, got {got!r}"
                got += chunk
            assert got.strip() == line.strip()[::-1]


def test_s_client_sees_exact_cert(gw, pki):
    r = s_client(gw.web, "a.test", pki.ca_cert)
    assert re.search(r"subject=.*CN\s*=\s*a\.test", r.out), r.out
    assert "Verify return code: 0 (ok)" in r.out, r.out


def test_default_certificate_when_no_san_matches(gw, pki):
    # who.test has a router but no certificate of its own: the default store's certificate is used.
    r = s_client(gw.web, "who.test", None)
    assert re.search(r"subject=.*CN\s*=\s*default\.test", r.out), r.out


def test_whoami_internal(gw, pki):
    r = curl("who.test", gw.web, "/", insecure=True, extra=["--tlsv1.3"])
    assert r.rc == 0, r.stderr
    assert r.status == 200
    lines = {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in r.body.splitlines()) if k}
    assert lines.get("sni") == "who.test", r.body
    assert lines.get("router") == "who", r.body
    assert lines.get("client", "").startswith("127.0.0.1"), r.body
    assert "1.3" in lines.get("tls_version", ""), r.body
    assert "alpn" in lines, r.body


def test_unknown_sni_gets_unrecognized_name_alert_fast(gw, pki):
    sni = f"nope-{uuid.uuid4().hex[:8]}.test"
    log_mark = gw.sg.log_mark()
    r = s_client(gw.web, sni, pki.ca_cert, timeout=5)
    assert r.rc != 0
    assert re.search(r"(alert|tlsv1) unrecognized name", r.out), r.out
    assert r.elapsed < 1.0, f"refusal took {r.elapsed:.2f}s"
    wait_until(lambda: any("no route" in ln and sni in ln for ln in gw.sg.log_since(log_mark).splitlines()),
               5, f"a `no route` log line naming {sni}", on_timeout=gw.sg.logs)


def test_unknown_sni_python_client(gw, pki):
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        tls_get_name(gw.web, f"nope-{uuid.uuid4().hex[:8]}.test", pki.ca_cert)


def test_access_log_terminated_connection(gw, pki):
    sni = f"log-{uuid.uuid4().hex[:8]}.wild.test"
    mark = gw.sg.access_mark()
    r = curl(sni, gw.web, "/name", ca=pki.ca_cert)
    assert (r.rc, r.body.strip()) == (0, "plain-1"), r.stderr
    e = gw.sg.wait_access(lambda e: e.get("sni") == sni, what=f"access log line for {sni}", after=mark)
    for key in ("time", "entry_point", "client", "sni", "alpn", "tls_version", "router", "service",
                "server", "bytes_in", "bytes_out", "duration_ms", "end"):
        assert key in e, f"missing {key}: {e}"
    assert e["entry_point"] == "web"
    assert e["router"] == "wild"
    assert e["service"] == "plainnginx"
    p1 = gw.sg.config["tcp"]["services"]["plainnginx"]["loadBalancer"]["servers"][1]["address"]
    assert e["server"] == p1  # the server that answered, not the refused one
    assert str(e["client"]).startswith("127.0.0.1")
    assert e["tls_version"]
    assert int(e["bytes_in"]) > 0 and int(e["bytes_out"]) > 0
    assert float(e["duration_ms"]) >= 0
    assert e["end"] == "closed"


def test_access_log_no_route(gw, pki):
    sni = f"nope-{uuid.uuid4().hex[:8]}.test"
    mark = gw.sg.access_mark()
    s_client(gw.web, sni, pki.ca_cert, timeout=5)
    e = gw.sg.wait_access(lambda e: e.get("sni") == sni, what=f"access log line for {sni}", after=mark)
    assert e["end"] == "no_route"
    assert not e.get("router")
