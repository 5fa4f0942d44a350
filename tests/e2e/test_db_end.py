"""The access log's `end` values of MySQL and PostgreSQL entry points (docs/logging.md,
docs/mysql.md, docs/postgres.md) that test_mysql.py and test_postgres.py do not assert, each
with the error the client gets in its own protocol.

MySQL: the `mariadb` client against servers played by harness/stubsrv.py (an ERR instead of a
greeting, not a MySQL server at all, a clear-text password plugin on a plain link, a server
without CLIENT_PLUGIN_AUTH), and raw clients for what no real client sends. No MariaDB is needed:
every refusal here happens before a real server would have been asked anything.
PostgreSQL: one real cluster (ssl on) behind a `protocol: postgres` entry point, psql and the
raw client of harness/pg.py."""
from __future__ import annotations

import socket
import ssl
import struct
import time

import pytest

from harness import mysqlwire as mw
from harness import servers
from harness.configs import addr, lb, router
from harness.pg import (SSL_REQUEST, PgError, gw_conninfo, parse_error_fields, psql, raw_query,
                        read_message, startup_message)
from harness.pki import make_pki
from harness.snigate import Snigate
from harness.stubsrv import StubServer, close_after_first_bytes, sends
from harness.util import LOCALHOST, free_port, run

HELLO_TIMEOUT_MS = 1000


@pytest.fixture(scope="module")
def dpki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("dbend-pki"), {
        "my": ["*.my.test"], "pg": ["pgt.test", "pgtls.test", "pgclose.test", "pgbad.test"], "pgserver": ["pgserver.test"],
        "default": ["default.test"],
    })


@pytest.fixture(scope="module")
def mystubs(request):
    made = {
        "refuse": StubServer(sends(mw.err_packet(1040, "08004", "Too many connections"))),
        # A complete packet that is no greeting (protocol byte "H", not 10).
        "garbage": StubServer(sends(mw.packet(0, b"HTTP/1.1 400 Bad Request\r\n\r\n"))),
        "clear": StubServer(sends(mw.greeting(plugin=b"mysql_clear_password"))),
        "old": StubServer(sends(mw.greeting(caps=mw.ALL_BUT_SSL & ~mw.CLIENT_PLUGIN_AUTH))),
    }
    for s in made.values():
        request.addfinalizer(s.close)
    return made


@pytest.fixture(scope="module")
def pgdb(request, tmp_path_factory, dpki, snigate_bin):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not speak PostgreSQL")
    try:
        db = servers.start_postgres(tmp_path_factory.mktemp("dbend-pg"), dpki["pgserver"].cert,
                                    dpki["pgserver"].key, dpki.ca_cert)
    except Exception as e:  # noqa: BLE001 - any start-up failure means "not available here"
        pytest.skip(f"PostgreSQL could not be started: {e}")
    request.addfinalizer(db.stop)
    return db


@pytest.fixture(scope="module")
def mysg(request, snigate_bin, tmp_path_factory, dpki, mystubs):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not speak MySQL")
    ep = {"address": addr(free_port()), "protocol": "mysql", "clientHelloTimeout": f"{HELLO_TIMEOUT_MS}ms"}
    routers = {name: router(f"HostSNI(`{name}.my.test`)", name, eps=["mysql"], tls={}) for name in mystubs}
    routers["tlsonly"] = router("HostSNI(`tlsonly.my.test`)", "refuse", eps=["mysql"], tls={})
    cfg = {
        "entryPoints": {"mysql": ep},
        "tcp": {"routers": routers,
                "services": {name: lb(s.address, transport="quick") for name, s in mystubs.items()},
                "serversTransports": {"quick": {"dialTimeout": "2s"}}},
        "tls": {"certificates": [{"certFile": str(dpki["my"].cert), "keyFile": str(dpki["my"].key)}],
                "stores": {"default": {"defaultCertificate": {"certFile": str(dpki["default"].cert),
                                                              "keyFile": str(dpki["default"].key)}}}},
    }
    inst = Snigate(tmp_path_factory.mktemp("snigate-dbend-mysql"), cfg, name="snigate-dbend-mysql")
    request.addfinalizer(inst.teardown)
    return inst.start()


@pytest.fixture(scope="module")
def pgstubs(request):
    """PostgreSQL servers that misbehave during the login: one closes after the StartupMessage,
    one answers it with an authentication request too short to hold its code."""
    made = {"pgclose": StubServer(close_after_first_bytes),
            "pgbad": StubServer(sends(b"R" + struct.pack("!I", 6) + b"\0\0"))}
    for s in made.values():
        request.addfinalizer(s.close)
    return made


@pytest.fixture(scope="module")
def pgsg(request, snigate_bin, tmp_path_factory, dpki, pgdb, pgstubs):
    cfg = {
        "entryPoints": {"pg": {"address": addr(free_port()), "protocol": "postgres",
                               "clientHelloTimeout": f"{HELLO_TIMEOUT_MS}ms"}},
        "tcp": {
            "routers": {
                "pgt": router("HostSNI(`pgt.test`)", "plainlink", eps=["pg"], tls={}),
                "pgtls": router("HostSNI(`pgtls.test`)", "tlslink", eps=["pg"], tls={}),
                **{name: router(f"HostSNI(`{name}.test`)", name, eps=["pg"], tls={}) for name in pgstubs},
            },
            "services": {**{name: lb(stub.address) for name, stub in pgstubs.items()},
                         "plainlink": lb(addr(pgdb.port)),
                         "tlslink": lb(addr(pgdb.port), tls=True, transport="pgserver")},
            "serversTransports": {"pgserver": {"dialTimeout": "2s", "tls": {
                "serverName": "pgserver.test", "rootCAs": [str(dpki.ca_cert)]}}},
        },
        "tls": {"certificates": [{"certFile": str(dpki["pg"].cert), "keyFile": str(dpki["pg"].key)}],
                "stores": {"default": {"defaultCertificate": {"certFile": str(dpki["default"].cert),
                                                              "keyFile": str(dpki["default"].key)}}}},
    }
    inst = Snigate(tmp_path_factory.mktemp("snigate-dbend-pg"), cfg, name="snigate-dbend-pg")
    request.addfinalizer(inst.teardown)
    return inst.start()


def by_client(sg, client):
    return sg.wait_access(lambda e: e.get("client") == client, what=f"access log line of {client}")


def by_name(sg, sni, end):
    """The line of a name used once in this module (sni and end together)."""
    return sg.wait_access(lambda e: e.get("sni") == sni and e.get("end") == end,
                          what=f"access log line for {sni} with end {end}")


# ================================================================ MySQL

def mariadb(sg, user, tls=True, ca=None):
    argv = ["mariadb", "--no-defaults", "-h", LOCALHOST, "-P", str(sg.ports["mysql"]), "-u", user, "-psecret",
            "--connect-timeout=5", "-N", "-B", "-e", "select 1"]
    argv += ["--ssl", f"--ssl-ca={ca}"] if tls else ["--skip-ssl"]
    return run(argv, timeout=20)


def raw_mysql(sg):
    """Connected to the mysql entry point, snigate's greeting read; (socket, client address)."""
    s = socket.create_connection((LOCALHOST, sg.ports["mysql"]), timeout=10)
    seq, payload = mw.recv_packet(s)
    assert seq == 0 and payload[0] == 10 and b"snigate" in payload, payload
    return s, f"{LOCALHOST}:{s.getsockname()[1]}"


def test_mysql_backend_refused_passes_the_servers_err(mysg, dpki):
    cp = mariadb(mysg, "alice@refuse.my.test", ca=dpki.ca_cert)
    assert "ERROR 1040" in cp.stderr and "Too many connections" in cp.stderr, cp.stderr
    e = by_name(mysg, "refuse.my.test", "backend_refused")
    assert e["mode"] == "mysql" and "Too many connections" in e["detail"], e


def test_mysql_backend_bad_greeting(mysg, dpki, mystubs):
    cp = mariadb(mysg, "alice@garbage.my.test", ca=dpki.ca_cert)
    assert "ERROR 1429" in cp.stderr and "did not greet as a MySQL server" in cp.stderr, cp.stderr
    e = by_name(mysg, "garbage.my.test", "backend_bad_greeting")
    assert mystubs["garbage"].address in e["detail"], e


def test_mysql_auth_refused_for_a_clear_text_plugin_on_a_plain_link(mysg, dpki):
    cp = mariadb(mysg, "alice@clear.my.test", ca=dpki.ca_cert)
    assert "ERROR 1045" in cp.stderr and "clear text" in cp.stderr and "tls: true" in cp.stderr, cp.stderr
    e = by_name(mysg, "clear.my.test", "auth_refused")
    assert "mysql_clear_password" in e["detail"], e


def test_mysql_server_without_plugin_auth_is_not_supported(mysg, dpki):
    cp = mariadb(mysg, "alice@old.my.test", ca=dpki.ca_cert)
    assert "ERROR 1235" in cp.stderr and "CLIENT_PLUGIN_AUTH" in cp.stderr, cp.stderr
    by_name(mysg, "old.my.test", "not_supported")


def test_mysql_plaintext_refused(mysg):
    cp = mariadb(mysg, "alice@tlsonly.my.test", tls=False)
    assert "ERROR 1045" in cp.stderr and "router tlsonly requires TLS" in cp.stderr, cp.stderr
    e = by_name(mysg, "tlsonly.my.test", "plaintext_refused")
    assert (e["router"], e["tls"]) == ("tlsonly", False), e


def test_mysql_no_route(mysg, dpki):
    cp = mariadb(mysg, "alice@nope.my.test", ca=dpki.ca_cert)
    assert "ERROR 1130" in cp.stderr, cp.stderr
    e = by_name(mysg, "nope.my.test", "no_route")
    assert e["router"] == "", e


def test_mysql_client_without_plugin_auth_is_not_supported(mysg):
    s, client = raw_mysql(mysg)
    with s:
        s.sendall(mw.login_without_plugin_auth("alice@refuse.my.test"))
        _, payload = mw.recv_packet(s)
    code, message = mw.err_of(payload)
    assert code == 1235 and "CLIENT_PLUGIN_AUTH" in message, (code, message)
    assert by_client(mysg, client)["end"] == "not_supported"


def test_mysql_bad_handshake(mysg):
    s, client = raw_mysql(mysg)
    with s:
        s.sendall(mw.packet(1, b"\x05\x00"))  # two bytes where a login packet belongs
        _, payload = mw.recv_packet(s)
    code, message = mw.err_of(payload)
    assert code == 1043 and "bad handshake" in message, (code, message)
    e = by_client(mysg, client)
    assert e["end"] == "bad_handshake" and e["detail"], e


def test_mysql_timeout(mysg):
    s, client = raw_mysql(mysg)
    with s:
        _, payload = mw.recv_packet(s)  # nothing sent
    code, message = mw.err_of(payload)
    assert code == 1159 and "clientHelloTimeout" in message, (code, message)
    e = by_client(mysg, client)
    assert e["end"] == "timeout", e


def test_mysql_client_closed(mysg):
    s, client = raw_mysql(mysg)
    s.close()
    e = by_client(mysg, client)
    assert (e["end"], e["mode"]) == ("client_closed", "mysql"), e


# ================================================================ PostgreSQL

def gw_psql(sg, host, ca, **kw):
    return psql(gw_conninfo(sg.ports["pg"], host, ca, **kw), "select 1", password="secret")


def raw_pg(sg):
    s = socket.create_connection((LOCALHOST, sg.ports["pg"]), timeout=10)
    return s, f"{LOCALHOST}:{s.getsockname()[1]}"


def error_reply(s) -> PgError:
    mtype, body = read_message(s)
    assert mtype == "E", (mtype, body)
    return PgError(parse_error_fields(body))


def test_pg_backend_refused_passes_the_servers_error(pgsg, dpki):
    r = gw_psql(pgsg, "pgt.test", dpki.ca_cert, dbname="nosuchdb")
    assert not r.ok and 'database "nosuchdb" does not exist' in r.err, r
    e = by_name(pgsg, "pgt.test", "backend_refused")
    assert "3D000" in e["detail"], e


def test_pg_channel_binding(pgsg, dpki):
    # prefer: snigate withholds SCRAM-SHA-256-PLUS, libpq answers with the GS2 flag 'y', which a server
    # on TLS would reject as a downgrade; snigate refuses first (require: libpq gives up by itself).
    r = gw_psql(pgsg, "pgtls.test", dpki.ca_cert, channel_binding="prefer")
    assert not r.ok and "snigate" in r.err and "channel binding" in r.err, r
    e = by_name(pgsg, "pgtls.test", "channel_binding")
    assert e["router"] == "pgtls", e
    ok = gw_psql(pgsg, "pgtls.test", dpki.ca_cert, channel_binding="disable")
    assert ok.ok and ok.out == "1", ok  # the route itself works


def test_pg_plaintext_refused(pgsg):
    r = psql(f"host={LOCALHOST} port={pgsg.ports['pg']} sslmode=disable user=alice@pgt.test dbname=app "
             "connect_timeout=5", "select 1", password="secret")
    assert not r.ok and "router pgt requires TLS" in r.err, r
    e = by_name(pgsg, "pgt.test", "plaintext_refused")
    assert e["tls"] is False, e


def test_pg_no_route(pgsg, dpki):
    r = gw_psql(pgsg, "nope.pg.test", None, sslmode="require")
    assert not r.ok and 'no route on entry point pg for "nope.pg.test"' in r.err, r
    by_name(pgsg, "nope.pg.test", "no_route")


def test_pg_not_postgres(pgsg):
    s, client = raw_pg(pgsg)
    with s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        err = error_reply(s)
    assert err.sqlstate == "08P01" and "speaks PostgreSQL" in err.message, err
    assert by_client(pgsg, client)["end"] == "not_postgres"


def test_pg_direct_tls_without_alpn(pgsg, dpki):
    with pytest.raises(ssl.SSLError) as ei:
        raw_query(pgsg.ports["pg"], "pgt.test", dpki.ca_cert, mode="direct", alpn=None)
    assert "no application protocol" in str(ei.value).lower(), ei.value
    e = pgsg.wait_access(lambda e: e.get("end") == "no_alpn" and e.get("sni") == "pgt.test",
                         what="no_alpn line")
    assert "ALPN" in e["detail"], e


def test_pg_bad_request(pgsg):
    s, client = raw_pg(pgsg)
    with s:
        s.sendall(startup_message({"database": "app"}))  # no user
        err = error_reply(s)
    assert "no user name" in err.message, err
    assert by_client(pgsg, client)["end"] == "bad_request"


def test_pg_timeout(pgsg):
    s, client = raw_pg(pgsg)
    with s:
        t0 = time.monotonic()
        s.sendall(SSL_REQUEST)
        assert s.recv(1) == b"S"
        rest = s.recv(100)  # nothing more from the client: snigate gives up
        took = time.monotonic() - t0
    assert 0.8 <= took <= 4.0, (took, rest)
    e = by_client(pgsg, client)
    assert e["end"] == "timeout", e


def test_pg_client_closed(pgsg):
    s, client = raw_pg(pgsg)
    s.sendall(SSL_REQUEST)
    assert s.recv(1) == b"S"
    s.close()
    assert by_client(pgsg, client)["end"] == "client_closed"


@pytest.mark.parametrize("name,end,said", [
    ("pgclose", "backend_closed", "during the login"),
    ("pgbad", "backend_bad_message", "malformed authentication request"),
])
def test_pg_server_misbehaving_during_the_login(pgsg, pgstubs, name, end, said):
    r = gw_psql(pgsg, f"{name}.test", None, sslmode="require")
    assert not r.ok and f"snigate: router {name}: server {pgstubs[name].address}" in r.err and said in r.err, r
    e = by_name(pgsg, f"{name}.test", end)
    assert e["server"] == pgstubs[name].address, e
