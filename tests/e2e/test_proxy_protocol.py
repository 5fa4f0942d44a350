"""PROXY protocol in and out, with real peers (docs/proxy-protocol.md).

In: HAProxy sends `send-proxy-v2` and `send-proxy` to snigate's entry points that trust
127.0.0.1; clients connect to HAProxy from 127.0.0.2, so the client snigate believes (access log
`client`, whoami) differs from the peer it sees (`peer`: HAProxy). A malformed header is refused; a
header from 127.0.0.3, which is not trusted, is taken off and ignored (logged); a client without a
header is its own client; a MySQL entry point (server-first) works behind HAProxy and directly, and
a PostgreSQL one behind HAProxy, its cancel included.

Out: snigate sends headers to HAProxy `accept-proxy` (logging %ci and fc_pp_authority; also with
`ssl` for a re-encrypted server and behind a passthrough route), to nginx stream `listen ...
proxy_protocol` with versions 1 and 2 (and the deprecated loadBalancer.proxyProtocol), to HAProxy
in front of MariaDB (a MySQL entry point's server: AUTHORITY is user@host's host), and to a raw
receiver in this module that checks the v2 TLVs byte by byte. Skipped with the fake snigate."""
from __future__ import annotations

import shutil
import socket
import ssl
import struct
import threading
import time

import pymysql
import pytest

from harness import proxyproto, servers
from harness.clients import http_get, tls_context
from harness.configs import addr, lb, router
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, wait_until

CLIENT = "127.0.0.2"      # connects through HAProxy, so the addresses differ
UNTRUSTED = "127.0.0.3"   # sends its own header, which must not be believed


class RawReceiver:
    """A server that reads one PROXY header (v1 line or v2 block) per connection, keeps its bytes,
    and answers `ok`: to check what snigate sent, byte by byte."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((LOCALHOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.headers: list[bytes] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _read(self, c: socket.socket, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = c.recv(n - len(out))
            if not chunk:
                break
            out += chunk
        return out

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(5)
                try:
                    head = self._read(c, 16)
                    if head.startswith(proxyproto.V2_SIGNATURE):
                        head += self._read(c, struct.unpack("!H", head[14:16])[0])
                    else:
                        while not head.endswith(b"\r\n") and len(head) < 107:
                            head += self._read(c, 1)
                    with self.lock:
                        self.headers.append(head)
                    c.sendall(b"ok\n")
                except OSError:
                    pass

    def close(self):
        self.sock.close()


def parse_v2(h: bytes) -> dict:
    """Addresses and TLVs of a v2 AF_INET header."""
    assert h[:12] == proxyproto.V2_SIGNATURE and h[12] == 0x21 and h[13] == 0x11, h
    src, dst = socket.inet_ntoa(h[16:20]), socket.inet_ntoa(h[20:24])
    sport, dport = struct.unpack("!HH", h[24:28])
    tlvs, pos = {}, 28
    while pos < len(h):
        t, n = h[pos], struct.unpack("!H", h[pos + 1:pos + 3])[0]
        tlvs[t] = h[pos + 3:pos + 3 + n]
        pos += 3 + n
    assert pos == len(h), h
    return {"src": f"{src}:{sport}", "dst": f"{dst}:{dport}", "tlvs": tlvs}


def subtlvs(ssl_value: bytes) -> tuple[int, int, dict]:
    client, verify = ssl_value[0], struct.unpack("!I", ssl_value[1:5])[0]
    out, pos = {}, 5
    while pos < len(ssl_value):
        t, n = ssl_value[pos], struct.unpack("!H", ssl_value[pos + 1:pos + 3])[0]
        out[t] = ssl_value[pos + 3:pos + 3 + n]
        pos += 3 + n
    return client, verify, out


@pytest.fixture(scope="module")
def peers(request, tmp_path_factory, pki, nginx, mariadb, snigate_bin):
    """One snigate with entry points `web` (TLS routes) and `db` (MySQL), both trusting
    127.0.0.1; HAProxy senders in front of them and receivers behind; nginx stream; the raw receiver."""
    if snigate_bin.suffix == ".py":
        pytest.skip("the fake snigate does not speak the PROXY protocol")
    if not shutil.which("haproxy"):
        pytest.skip("haproxy is not installed (scripts/install-deps.sh --test)")
    work = tmp_path_factory.mktemp("proxy-protocol")
    web, db = free_port(), free_port()
    stream = proxyproto.start_nginx_stream(work / "nginx-stream")
    request.addfinalizer(stream.stop)
    raw = RawReceiver()
    request.addfinalizer(raw.close)
    pem = work / "backend.pem"
    pem.write_text(pki["backend"].cert.read_text() + pki["backend"].key.read_text())
    haproxy = proxyproto.start_haproxy(
        work / "haproxy",
        senders={"to_web_v2": (web, "send-proxy-v2"), "to_web_v1": (web, "send-proxy"),
                 "to_db_v2": (db, "send-proxy-v2")},
        receivers={"pp_plain": (nginx.plain_ports["plain-1"], ""),
                   "pp_tls": (nginx.plain_ports["plain-1"], f"ssl crt {pem}"),
                   "pp_db": (mariadb.port, "")})
    request.addfinalizer(haproxy.stop)
    hp = haproxy.ports
    cfg = {
        "entryPoints": {
            "web": {"address": addr(web), "proxyProtocol": {"trustedIPs": ["127.0.0.1"]}},
            "db": {"address": addr(db), "protocol": "mysql", "firstByteTimeout": "300ms",
                   "proxyProtocol": {"trustedIPs": ["127.0.0.0/30"]}},
        },
        "tcp": {
            "routers": {
                "who": router("HostSNI(`a.test`)", "whoami@internal", tls={}),
                "hap": router("HostSNI(`hap.wild.test`)", "hap", tls={}),
                "re": router("HostSNI(`re.wild.test`)", "re", tls={}),
                "pass": router("HostSNI(`backend.test`)", "pass", tls={"passthrough": True}),
                "ng1": router("HostSNI(`ng1.wild.test`)", "ng1", tls={}),
                "ng2": router("HostSNI(`ng2.wild.test`)", "ng2", tls={}),
                "old": router("HostSNI(`old.wild.test`)", "old", tls={}),
                "raw": router("HostSNI(`raw.wild.test`)", "raw", tls={"options": "alpn"}),
                "db": {**router("HostSNI(`db.test`)", "db", eps=["db"], tls={}), "mysql": {"allowPlaintext": True}},
                "dbpp": {**router("HostSNI(`dbpp.test`)", "dbpp", eps=["db"], tls={}),
                         "mysql": {"allowPlaintext": True}},
            },
            "services": {
                "hap": lb(addr(hp["pp_plain"]), transport="pp2"),
                "re": lb(addr(hp["pp_tls"]), tls=True, transport="pp2tls"),
                "pass": lb(addr(hp["pp_tls"]), transport="pp2"),
                "ng1": lb(addr(stream.port), transport="pp1"),
                "ng2": lb(addr(stream.port), transport="pp2"),
                # The deprecated place: version 1 here wins over the transport's 2.
                "old": {"loadBalancer": {"servers": [{"address": addr(stream.port)}], "serversTransport": "pp2",
                                         "proxyProtocol": {"version": 1}}},
                "raw": lb(addr(raw.port), transport="pp2"),
                "db": lb(addr(mariadb.port)),
                "dbpp": lb(addr(hp["pp_db"]), transport="pp2"),
            },
            "serversTransports": {
                "pp1": {"proxyProtocol": {"version": 1}},
                "pp2": {"proxyProtocol": {}},
                "pp2tls": {"proxyProtocol": {"version": 2},
                           "tls": {"rootCAs": [str(pki.ca_cert)], "serverName": "backend.test"}},
            },
        },
        "tls": {
            "certificates": [{"certFile": str(pki[n].cert), "keyFile": str(pki[n].key)} for n in ("a", "wild")],
            "options": {"alpn": {"alpnProtocols": ["pp/1"]}},
        },
    }
    sg = Snigate(work / "snigate", cfg, name="snigate-pp").start()
    request.addfinalizer(sg.teardown)
    return {"sg": sg, "web": web, "db": db, "hp": hp, "haproxy": haproxy, "raw": raw}


def tls_over(sock: socket.socket, sni: str, ca, alpn=None) -> ssl.SSLSocket:
    ctx = tls_context(ca)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx.wrap_socket(sock, server_hostname=sni)


def whoami_via(port: int, source: str, pki, before: bytes = b"") -> tuple[str, int]:
    """whoami@internal's text for a TLS client from `source`; before: bytes sent ahead of TLS."""
    raw = proxyproto.connect_from(source, port)
    own_port = raw.getsockname()[1]
    if before:
        raw.sendall(before)
    with tls_over(raw, "a.test", pki.ca_cert) as s:
        status, body = http_get(s, "a.test", "/", keepalive=False)
    assert status == 200, body
    return body.decode(), own_port


def read_all(s) -> bytes:
    out = b""
    while chunk := s.recv(4096):
        out += chunk
    return out


# ---------------------------------------------------------------- in


@pytest.mark.parametrize("frontend", ["to_web_v2", "to_web_v1"])
def test_haproxy_sender_gives_the_client_address(peers, pki, frontend):
    sg = peers["sg"]
    mark = sg.access_mark()
    text, port = whoami_via(peers["hp"][frontend], CLIENT, pki)
    assert f"client: {CLIENT}:{port}\n" in text, text
    assert "\npeer: 127.0.0.1:" in text, text  # HAProxy's own connection
    e = sg.wait_access_from(port, after=mark, host=CLIENT)
    assert e["peer"].startswith("127.0.0.1:") and e["peer"] != e["client"], e
    assert (e["router"], e["mode"]) == ("who", "terminate"), e


def test_client_without_header_is_its_own(peers, pki):
    sg = peers["sg"]
    mark = sg.access_mark()
    text, port = whoami_via(peers["web"], CLIENT, pki)
    assert f"client: {CLIENT}:{port}\n" in text and "peer:" not in text, text
    assert sg.wait_access_from(port, after=mark, host=CLIENT)["peer"] == ""


def test_untrusted_header_is_ignored_and_logged(peers, pki):
    sg = peers["sg"]
    mark, log_mark = sg.access_mark(), sg.log_mark()
    text, port = whoami_via(peers["web"], UNTRUSTED, pki,
                            before=proxyproto.v1_header("10.9.9.9", 1111, LOCALHOST, peers["web"]))
    assert f"client: {UNTRUSTED}:{port}\n" in text and "10.9.9.9" not in text, text
    assert sg.wait_access_from(port, after=mark, host=UNTRUSTED)["peer"] == ""
    wait_until(lambda: "not in proxyProtocol.trustedIPs ignored (it named client 10.9.9.9:1111)"
               in sg.log_since(log_mark), 5, "the warning about the untrusted header", on_timeout=sg.logs)


def test_local_command_is_the_peers_own(peers, pki):
    sg = peers["sg"]
    mark = sg.access_mark()
    text, port = whoami_via(peers["web"], LOCALHOST, pki, before=proxyproto.v2_header("", 0, "", 0, local=True))
    assert f"client: {LOCALHOST}:{port}\n" in text and "peer:" not in text, text
    assert sg.wait_access_from(port, after=mark)["peer"] == f"{LOCALHOST}:{port}"


@pytest.mark.parametrize("version", [1, 2])
def test_header_in_one_byte_segments(peers, pki, version):
    """A header that arrives a byte at a time is waited for (the wait wakes only once the bytes
    still needed are in) and still names the client; the TLS that follows is untouched."""
    sg = peers["sg"]
    mark = sg.access_mark()
    make = proxyproto.v1_header if version == 1 else proxyproto.v2_header
    header = make("10.9.8.7", 4242, LOCALHOST, peers["web"])
    raw = proxyproto.connect_from(LOCALHOST, peers["web"])
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(header)):
        raw.send(header[i:i + 1])  # one segment each (TCP_NODELAY, nothing else queued)
        time.sleep(0.002)          # so that snigate peeks at them one at a time
    with tls_over(raw, "a.test", pki.ca_cert) as s:
        status, body = http_get(s, "a.test", "/", keepalive=False)
    assert status == 200 and "client: 10.9.8.7:4242\npeer: 127.0.0.1:" in body.decode(), body
    e = sg.wait_access(lambda e: e["client"] == "10.9.8.7:4242", after=mark)
    assert (e["router"], e["end"]) == ("who", "closed"), e


def test_incomplete_header_is_refused_at_first_byte_timeout(peers):
    sg = peers["sg"]
    mark = sg.access_mark()
    with proxyproto.connect_from(LOCALHOST, peers["web"]) as s:
        port = s.getsockname()[1]
        s.sendall(b"PROXY TCP4 10.1.2.3 ")
        t0 = time.monotonic()
        try:
            assert read_all(s) == b""
        except ConnectionResetError:
            pass
        waited = time.monotonic() - t0
    e = sg.wait_access_from(port, after=mark)
    assert (e["end"], e["detail"]) == ("bad_proxy_header",
                                       "PROXY protocol header incomplete after firstByteTimeout (1000 ms)"), e
    assert 0.8 < waited < 4, waited


@pytest.mark.parametrize("header, why", [
    (b"PROXY TCP4 10.1.2 127.0.0.1 1 2\r\n", "source address is not an IPv4 address at offset 11"),
    (proxyproto.V2_SIGNATURE + bytes([0x31, 0x11, 0, 12]) + bytes(12), "version 3 is not 2 at offset 12"),
])
def test_malformed_header_is_refused(peers, header, why):
    sg = peers["sg"]
    mark, log_mark = sg.access_mark(), sg.log_mark()
    with proxyproto.connect_from(LOCALHOST, peers["web"]) as s:
        port = s.getsockname()[1]
        s.sendall(header + b"\x16\x03\x01")
        try:  # closed without a byte, no protocol having been spoken; a reset, as bytes were unread
            assert read_all(s) == b""
        except ConnectionResetError:
            pass
    e = sg.wait_access_from(port, after=mark)
    assert (e["end"], e["router"]) == ("bad_proxy_header", ""), e
    assert why in e["detail"], e
    wait_until(lambda: why in sg.log_since(log_mark), 5, "the refusal's log line", on_timeout=sg.logs)


def mysql_select(port: int, user: str) -> int:
    """Logs in from CLIENT as user (password secret), runs a query; the client's own port."""
    conn = pymysql.connect(host=LOCALHOST, port=port, user=user, password="secret", bind_address=CLIENT,
                           connect_timeout=10)
    try:
        with conn.cursor() as cur:
            cur.execute("select 7")
            assert cur.fetchone() == (7,)
        return conn._sock.getsockname()[1]
    finally:
        conn.close()


def test_mysql_entry_point_behind_haproxy_and_direct(peers, mariadb):
    sg = peers["sg"]
    for port, peer in ((peers["hp"]["to_db_v2"], True), (peers["db"], False)):
        mark = sg.access_mark()
        own = mysql_select(port, "alice@db.test")
        e = sg.wait_access_from(own, after=mark, host=CLIENT)
        assert (e["mode"], e["router"], e["end"]) == ("mysql", "db", "closed"), e
        assert e["peer"].startswith("127.0.0.1:") if peer else e["peer"] == "", e


# ---------------------------------------------------------------- out


def haproxy_line(peers, frontend: str, client_port: int) -> str:
    needle = f"pp name={frontend} ci={CLIENT} cp={client_port} "
    return wait_until(lambda: next((l for l in peers["haproxy"].log().splitlines() if needle in l), None), 5,
                      f"haproxy's log line {needle!r}", on_timeout=peers["haproxy"].log)


@pytest.mark.parametrize("sni, frontend, via_sender", [
    ("hap.wild.test", "pp_plain", False),   # terminated, plain server
    ("hap.wild.test", "pp_plain", True),    # the address a trusted header gave goes on
    ("re.wild.test", "pp_tls", False),      # header before the re-encrypted server's handshake
])
def test_haproxy_receiver_gets_client_and_name(peers, pki, sni, frontend, via_sender):
    port = peers["hp"]["to_web_v2"] if via_sender else peers["web"]
    raw = proxyproto.connect_from(CLIENT, port)
    own = raw.getsockname()[1]
    with tls_over(raw, sni, pki.ca_cert) as s:
        status, body = http_get(s, "x", "/name", keepalive=False)
    assert (status, body.strip()) == (200, b"plain-1")
    # Through the sender too the receiver sees the client's own address: HAProxy's header named
    # it, snigate trusted it and sent it on.
    assert f"authority={sni}" in haproxy_line(peers, frontend, own)


def test_mysql_server_behind_haproxy_gets_client_and_host(peers, mariadb):
    """The MySQL driver's server connection starts with the header too; AUTHORITY is the host of
    user@host, the name the client was routed by."""
    for port in (peers["db"], peers["hp"]["to_db_v2"]):
        own = mysql_select(port, "alice@dbpp.test")
        assert "authority=dbpp.test" in haproxy_line(peers, "pp_db", own)


def test_passthrough_route_sends_the_sni(peers, pki):
    raw = proxyproto.connect_from(CLIENT, peers["web"])
    own = raw.getsockname()[1]
    with tls_over(raw, "backend.test", pki.ca_cert) as s:  # HAProxy's own certificate
        status, body = http_get(s, "backend.test", "/name", keepalive=False)
    assert (status, body.strip()) == (200, b"plain-1")
    assert "authority=backend.test" in haproxy_line(peers, "pp_tls", own)


@pytest.mark.parametrize("sni", ["ng1.wild.test", "ng2.wild.test", "old.wild.test"])
def test_nginx_stream_gets_the_client(peers, pki, sni):
    raw = proxyproto.connect_from(CLIENT, peers["web"])
    own = raw.getsockname()[1]
    with tls_over(raw, sni, pki.ca_cert) as s:
        answer = read_all(s).decode()
    assert answer == f"{CLIENT}:{own} 127.0.0.1\n"


def test_v2_tlvs_after_termination(peers, pki):
    raw_recv = peers["raw"]
    before = len(raw_recv.headers)
    raw = proxyproto.connect_from(CLIENT, peers["web"])
    own = raw.getsockname()[1]
    with tls_over(raw, "raw.wild.test", pki.ca_cert, alpn=["pp/1"]) as s:
        assert s.selected_alpn_protocol() == "pp/1"
        assert read_all(s) == b"ok\n"
        version, cipher = s.version(), s.cipher()[0]
    wait_until(lambda: len(raw_recv.headers) > before, 5, "the raw receiver's header")
    h = parse_v2(raw_recv.headers[-1])
    assert (h["src"], h["dst"]) == (f"{CLIENT}:{own}", f"{LOCALHOST}:{peers['web']}"), h
    assert h["tlvs"][0x02] == b"raw.wild.test" and h["tlvs"][0x01] == b"pp/1", h
    client, verify, sub = subtlvs(h["tlvs"][0x20])
    assert (client, verify) == (0x01, 0), h
    assert (sub[0x21].decode(), sub[0x23].decode()) == (version, cipher), sub


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def pgpeers(request, tmp_path_factory, snigate_bin):
    """A `protocol: postgres` entry point trusting 127.0.0.1, behind an HAProxy sender; its router
    (plaintext, by user@host) reaches PostgreSQL through an HAProxy receiver."""
    if snigate_bin.suffix == ".py":
        pytest.skip("the fake snigate does not speak the PROXY protocol")
    if not servers.PG_BIN.is_dir():
        pytest.skip(f"PostgreSQL server not installed ({servers.PG_BIN}): scripts/install-deps.sh --test")
    if not shutil.which("haproxy"):
        pytest.skip("haproxy is not installed (scripts/install-deps.sh --test)")
    work = tmp_path_factory.mktemp("proxy-protocol-pg")
    db = servers.start_postgres(work / "pg")
    request.addfinalizer(db.stop)
    pg = free_port()
    haproxy = proxyproto.start_haproxy(work / "haproxy", senders={"to_pg_v2": (pg, "send-proxy-v2")},
                                       receivers={"pp_pg": (db.port, "")})
    request.addfinalizer(haproxy.stop)
    cfg = {
        "entryPoints": {"pg": {"address": addr(pg), "protocol": "postgres",
                               "proxyProtocol": {"trustedIPs": ["127.0.0.1"]}}},
        "tcp": {
            "routers": {"pgpp": {**router("HostSNI(`pgpp.test`)", "pgpp", eps=["pg"], tls={}),
                                 "postgres": {"allowPlaintext": True}}},
            "services": {"pgpp": lb(addr(haproxy.ports["pp_pg"]), transport="pp2")},
            "serversTransports": {"pp2": {"proxyProtocol": {"version": 2}}},
        },
    }
    sg = Snigate(work / "snigate", cfg, name="snigate-pp-pg").start()
    request.addfinalizer(sg.teardown)
    return {"sg": sg, "db": db, "haproxy": haproxy, "via": haproxy.ports["to_pg_v2"]}


def test_postgres_behind_haproxy_login_and_cancel_carry_the_header(pgpeers):
    """A PostgreSQL session through HAProxy (send-proxy-v2) to snigate and on through HAProxy
    (accept-proxy) to the server; its CancelRequest, which snigate forwards on a connection of its
    own, starts with a header too, or the receiver would drop it and the query would run on."""
    import psycopg2  # Debian's python3-psycopg2

    from test_postgres import run_cancel_check
    hap = pgpeers["haproxy"]
    before = hap.log().count("pp name=pp_pg ci=127.0.0.1 ")
    conn = psycopg2.connect(host=LOCALHOST, port=pgpeers["via"], user="alice@pgpp.test", password="secret",
                            dbname="app", sslmode="disable", connect_timeout=5)
    conn.autocommit = True
    try:
        run_cancel_check(conn, pgpeers["db"])
    finally:
        conn.close()
    wait_until(lambda: hap.log().count("pp name=pp_pg ci=127.0.0.1 ") >= before + 2, 5,
               "the session's and the cancel's lines in haproxy's log", on_timeout=hap.log)
    assert "authority=pgpp.test" in hap.log()
    e = pgpeers["sg"].wait_access(lambda e: e["mode"] == "postgres-cancel")
    assert (e["end"], e["peer"][:10]) == ("cancel_forwarded", "127.0.0.1:"), e
