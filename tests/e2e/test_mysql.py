"""MySQL routing (`protocol: mysql`): two MariaDB servers behind one snigate port, chosen by the
client's SNI (PyMySQL) or by `user@host` (the `mariadb` client, which sends no SNI). snigate
greets, terminates TLS, has the client answer the chosen server's own challenge, then relays."""
from __future__ import annotations

import hashlib
import json
import re
import socket
import ssl
import struct
import threading
import time
from pathlib import Path

import pymysql
import pytest

from harness import servers
from harness.configs import addr, lb, router
from harness.ipsni import IpSniContext
from harness.mysqlwire import recv_packet
from harness.pki import make_pki
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, run, wait_until

ED_SQL = ("INSTALL SONAME 'auth_ed25519';"
          "CREATE USER 'bob'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('edsecret');"
          "GRANT ALL ON *.* TO 'bob'@'%';")


@pytest.fixture(scope="module")
def dbpki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("mysql-pki"), {
        "db1": ["db1.test"], "db2": ["db2.test"], "backend": ["backend.test"], "default": ["default.test"],
    })


def _start(request, tmp_path_factory, name, extra=(), sql=ED_SQL):
    try:
        db = servers.start_mariadb(tmp_path_factory.mktemp(name), extra_args=extra, setup_sql=sql)
    except Exception as e:  # noqa: BLE001 - any start-up failure means "not available here"
        pytest.skip(f"MariaDB could not be started: {e}")
    request.addfinalizer(db.stop)
    return db


@pytest.fixture(scope="module")
def db1(request, tmp_path_factory):
    """Plain MariaDB: snigate's link to it is plain TCP."""
    return _start(request, tmp_path_factory, "mysql-db1")


@pytest.fixture(scope="module")
def db2(request, tmp_path_factory, dbpki):
    """MariaDB with TLS (cert backend.test): snigate re-encrypts to it (servers[].tls)."""
    return _start(request, tmp_path_factory, "mysql-db2",
                  (f"--ssl-cert={dbpki['backend'].cert}", f"--ssl-key={dbpki['backend'].key}",
                   f"--ssl-ca={dbpki.ca_cert}"))


@pytest.fixture(scope="module")
def mygw(request, snigate_bin, tmp_path_factory, dbpki, db1, db2):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not speak MySQL")
    port, slow_port = free_port(), free_port()
    cfg = {
        "entryPoints": {
            "mysql": {"address": addr(port), "protocol": "mysql"},
            "slow": {"address": addr(slow_port), "protocol": "mysql", "clientHelloTimeout": "1s"},
        },
        "tcp": {
            "routers": {
                "db1": router("HostSNI(`db1.test`)", "db1", eps=["mysql", "slow"], tls={}),
                "db2": {**router("HostSNI(`db2.test`)", "db2", eps=["mysql"], tls={}),
                        "mysql": {"allowPlaintext": True}},
                "down": router("HostSNI(`down.test`)", "down", eps=["mysql"], tls={}),
            },
            "services": {
                "db1": lb(addr(db1.port)),
                "db2": lb(addr(db2.port), tls=True, transport="db2tls"),
                "down": lb(addr(free_port())),
            },
            "serversTransports": {
                "db2tls": {"dialTimeout": "2s",
                           "tls": {"serverName": "backend.test", "rootCAs": [str(dbpki.ca_cert)]}},
            },
        },
        "tls": {
            "certificates": [{"certFile": str(dbpki[n].cert), "keyFile": str(dbpki[n].key)} for n in ("db1", "db2")],
            "stores": {"default": {"defaultCertificate": {"certFile": str(dbpki["default"].cert),
                                                          "keyFile": str(dbpki["default"].key)}}},
        },
    }
    sg = Snigate(tmp_path_factory.mktemp("snigate-mysql"), cfg, name="snigate-mysql")
    request.addfinalizer(sg.teardown)
    return sg.start()


# ---------------------------------------------------------------- clients

def _ctx(ca, sni: str) -> ssl.SSLContext:
    """A verifying context that sends `sni`: PyMySQL passes its `host` (here an IP, for which
    it would send no SNI) as server_hostname, so the name is given here instead of in /etc/hosts."""
    class Ctx(ssl.SSLContext):
        def wrap_socket(self, sock, server_hostname=None, **kw):
            return super().wrap_socket(sock, server_hostname=sni, **kw)
    ctx = Ctx(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca))
    return ctx


def pymysql_connect(gw, ca, sni, user="alice", password="secret", **kw):
    return pymysql.connect(host=LOCALHOST, port=gw.ports["mysql"], user=user, password=password,
                           ssl=_ctx(ca, sni), connect_timeout=5, **kw)


def one(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def mariadb_cli(port, user, password="secret", sql="select @@port", tls=True, ca=None):
    argv = ["mariadb", "--no-defaults", "-h", LOCALHOST, "-P", str(port), "-u", user, f"-p{password}",
            "--connect-timeout=5", "-N", "-B", "-e", sql]
    argv += ["--ssl", f"--ssl-ca={ca}"] if tls else ["--skip-ssl"]
    return run(argv, timeout=20)


# ---------------------------------------------------------------- routing by SNI and by user@host

@pytest.mark.parametrize("name,which", [("db1.test", "db1"), ("db2.test", "db2")])
def test_pymysql_sni_routes_to_each_server(mygw, dbpki, db1, db2, name, which):
    mark = mygw.access_mark()
    conn = pymysql_connect(mygw, dbpki.ca_cert, name)
    try:
        assert one(conn, "select @@port") == {"db1": db1, "db2": db2}[which].port
        assert one(conn, "select current_user()") == "alice@%"
    finally:
        conn.close()
    e = mygw.wait_access(lambda e: e.get("router") == which, after=mark)
    assert (e["mode"], e["end"], e["sni"], e["tls"]) == ("mysql", "closed", name, True), e


@pytest.mark.parametrize("name,which", [("db1.test", "db1"), ("db2.test", "db2")])
def test_mariadb_cli_user_at_host_routes_to_each_server(mygw, dbpki, db1, db2, name, which):
    cp = mariadb_cli(mygw.ports["mysql"], f"alice@{name}", ca=dbpki.ca_cert,
                     sql="select @@port, current_user(), variable_value != '' from information_schema.session_status "
                         "where variable_name = 'Ssl_cipher'")
    assert cp.returncode == 0, cp.stderr
    port, user, backend_tls = cp.stdout.split()
    assert int(port) == {"db1": db1, "db2": db2}[which].port
    assert user == "alice@%"  # the server saw `alice`, without @host
    assert backend_tls == ("1" if which == "db2" else "0")  # snigate -> db2 is TLS


def test_ip_address_as_sni_routes_by_user_at_host(mygw, db1):
    # PHP's mysqlnd sends the address it connects to as SNI (against RFC 6066): an IP address in
    # SNI names no host, so `user@host` routes the login, as it does for clients without SNI.
    mark = mygw.access_mark()
    conn = pymysql.connect(host=LOCALHOST, port=mygw.ports["mysql"], user="alice@db1.test", password="secret",
                           ssl=IpSniContext(LOCALHOST), connect_timeout=5)
    try:
        assert one(conn, "select @@port") == db1.port
        assert one(conn, "select current_user()") == "alice@%"
    finally:
        conn.close()
    e = mygw.wait_access(lambda e: e.get("router") == "db1", after=mark)
    assert (e["sni"], e["tls"]) == ("db1.test", True), e


def test_ed25519_user(mygw, dbpki, db1, db2):
    for name in ("db1.test", "db2.test"):
        cp = mariadb_cli(mygw.ports["mysql"], f"bob@{name}", "edsecret", ca=dbpki.ca_cert, sql="select current_user()")
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout.strip() == "bob@%"
    bad = mariadb_cli(mygw.ports["mysql"], "bob@db1.test", "nope", ca=dbpki.ca_cert)
    assert "ERROR 1045" in bad.stderr, bad.stderr


def test_wrong_password_is_the_servers_1045(mygw, dbpki):
    mark = mygw.access_mark()
    with pytest.raises(pymysql.err.OperationalError) as ei:
        pymysql_connect(mygw, dbpki.ca_cert, "db1.test", password="wrong")
    assert ei.value.args[0] == 1045
    assert "Access denied for user 'alice'" in ei.value.args[1]
    cp = mariadb_cli(mygw.ports["mysql"], "alice@db2.test", "wrong", ca=dbpki.ca_cert)
    assert "ERROR 1045 (28000)" in cp.stderr, cp.stderr
    for router_ in ("db1", "db2"):  # one entry for each of the two refused logins
        e = mygw.wait_access(lambda e: e.get("router") == router_, after=mark)
        assert e["end"] == "auth_failed" and "1045" in e.get("detail", ""), e


# ---------------------------------------------------------------- refusals explain themselves

def test_unknown_name_gets_an_explaining_err(mygw, dbpki):
    # No certificate names nope.test: a verifying client stops at the certificate (the default
    # one); one that does not verify reads snigate's explanation.
    mark = mygw.access_mark()
    with pytest.raises(pymysql.err.OperationalError) as ei:
        pymysql_connect(mygw, dbpki.ca_cert, "nope.test")
    assert ei.value.args[0] == 2003 and "CERTIFICATE_VERIFY_FAILED" in str(ei.value.args[1])
    # The operator's log says which name the client asked for and why its certificate did not fit.
    e = mygw.wait_access(lambda e: e.get("sni") == "nope.test", after=mark)
    assert e["end"] in ("tls_handshake_failed", "client_closed"), e
    assert 'no certificate names "nope.test", so the client got the default certificate' in e["detail"], e
    ctx = _ctx(dbpki.ca_cert, "nope.test")
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with pytest.raises(pymysql.err.OperationalError) as ei:
        pymysql.connect(host=LOCALHOST, port=mygw.ports["mysql"], user="alice", password="secret", ssl=ctx,
                        connect_timeout=5)
    assert ei.value.args[0] == 1130
    assert 'no route on entry point mysql for "nope.test"' in ei.value.args[1]
    cp = mariadb_cli(mygw.ports["mysql"], "alice@nope.test", ca=dbpki.ca_cert)
    assert "ERROR 1130" in cp.stderr and '"nope.test"' in cp.stderr and "user name's @host" in cp.stderr, cp.stderr


def test_no_name_at_all_says_how_to_send_one(mygw, dbpki):
    mark = mygw.access_mark()
    cp = mariadb_cli(mygw.ports["mysql"], "alice", ca=dbpki.ca_cert)
    assert "ERROR 1130" in cp.stderr, cp.stderr
    assert "neither SNI nor a user name of the form user@host" in cp.stderr
    assert "--tls-sni-servername" in cp.stderr
    # The operator's log line gives MySQL's ways to name a server, not a TLS tool's.
    e = mygw.wait_access(lambda e: e.get("end") == "no_route", after=mark)
    assert "log in as user@NAME (mariadb -u alice@NAME)" in e["detail"], e
    assert "s_client" not in e["detail"], e


def test_backend_down_names_router_and_server(mygw, dbpki):
    cp = mariadb_cli(mygw.ports["mysql"], "alice@down.test", ca=dbpki.ca_cert)
    assert "ERROR 1429" in cp.stderr, cp.stderr
    assert "router down: service down: no server answered" in cp.stderr
    assert "refused" in cp.stderr.lower()


def test_plaintext_refused_unless_the_router_allows_it(mygw, db2):
    mark = mygw.access_mark()
    cp = mariadb_cli(mygw.ports["mysql"], "alice@db1.test", tls=False)
    assert "ERROR 1045" in cp.stderr and "router db1 requires TLS" in cp.stderr, cp.stderr
    ok = mariadb_cli(mygw.ports["mysql"], "alice@db2.test", tls=False)  # db2 sets mysql.allowPlaintext
    assert ok.returncode == 0, ok.stderr
    assert int(ok.stdout.strip()) == db2.port
    e = mygw.wait_access(lambda e: e.get("router") == "db2", after=mark)
    assert (e["tls"], e["end"]) == (False, "closed"), e


def test_silent_client_gets_a_timeout_err(mygw):
    with socket.create_connection((LOCALHOST, mygw.ports["slow"]), timeout=5) as s:
        seq, greeting = recv_packet(s)
        assert seq == 0 and greeting[0] == 10 and b"snigate" in greeting
        seq, err = recv_packet(s)  # nothing sent: clientHelloTimeout is 1s
        assert seq == 1 and err[0] == 0xFF
        assert struct.unpack("<H", err[1:3])[0] == 1159
        assert b"clientHelloTimeout" in err


# ---------------------------------------------------------------- after login: bytes untouched

def test_multi_megabyte_result_intact(mygw, dbpki):
    conn = pymysql_connect(mygw, dbpki.ca_cert, "db1.test", database="mysql")
    try:
        with conn.cursor() as cur:
            cur.execute("select seq, md5(seq) from seq_1_to_100000")
            rows = cur.fetchall()
            cur.execute("select repeat('snigate', 600000)")
            big = cur.fetchone()[0]
    finally:
        conn.close()
    assert len(rows) == 100000
    assert all(h == hashlib.md5(str(n).encode()).hexdigest() for n, h in rows)
    assert big == "snigate" * 600000


def test_kill_query_from_a_second_connection(mygw, dbpki):
    victim = pymysql_connect(mygw, dbpki.ca_cert, "db2.test")
    killer = pymysql_connect(mygw, dbpki.ca_cert, "db2.test", autocommit=True)
    try:
        vid = one(victim, "select connection_id()")
        result = {}

        def run_victim():
            try:
                result["r"] = one(victim, "select sleep(60)")
            except pymysql.err.MySQLError as e:
                result["r"] = e
        t = threading.Thread(target=run_victim)
        t.start()
        wait_until(lambda: one(killer, f"select count(*) from information_schema.processlist "
                                       f"where id={vid} and info like 'select sleep%'") == 1,
                   10, "the victim's query to run")
        one_killer = killer.cursor()
        one_killer.execute(f"KILL QUERY {vid}")
        t.join(10)
        assert not t.is_alive()
        r = result.get("r")
        assert isinstance(r, pymysql.err.OperationalError) and r.args[0] == 1317, result  # interrupted
        assert one(victim, "select 41+1") == 42  # the connection itself survives
    finally:
        victim.close()
        killer.close()


# ---------------------------------------------------------------- KILL by the id of snigate's greeting

class SleepingQuery:
    """`SELECT SLEEP(30)` on conn in a thread; result: its value, or the error that ended it."""

    def __init__(self, conn, seconds=30):
        self.conn, self.result, self.started = conn, None, None
        self.server_id = one(conn, "select connection_id()")
        self.thread = threading.Thread(target=self._run, args=(seconds,))

    def _run(self, seconds):
        self.started = time.monotonic()
        try:
            self.result = one(self.conn, f"select sleep({seconds})")
        except pymysql.err.MySQLError as e:
            self.result = e
        self.ended = time.monotonic()

    def start(self, watcher):
        """Returns once the server shows the query running (watcher: a direct connection)."""
        self.thread.start()
        wait_until(lambda: one(watcher, f"select count(*) from information_schema.processlist "
                                        f"where id={self.server_id} and info like 'select sleep%'") == 1,
                   10, "the sleeping query to run")
        return self

    def outcome(self, timeout=10):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the query was not interrupted"
        assert self.ended - self.started < 20, "the query ran to its end"
        return self.result


@pytest.fixture()
def direct_db1(db1):
    """Session C: straight to the server, not through snigate. It watches the processlist and
    must never be hit by a KILL sent through snigate."""
    conn = pymysql.connect(host=LOCALHOST, port=db1.port, user="alice", password="secret",
                           connect_timeout=5, autocommit=True)
    yield conn
    assert one(conn, "select 6*7") == 42  # untouched: still runs queries
    conn.close()


def test_greeting_ids_come_from_the_top_of_the_range(mygw, dbpki):
    a = pymysql_connect(mygw, dbpki.ca_cert, "db1.test")
    b = pymysql_connect(mygw, dbpki.ca_cert, "db1.test")
    try:
        assert a.thread_id() >= 0x80000000 and b.thread_id() >= 0x80000000
        assert a.thread_id() != b.thread_id()
        assert one(a, "select connection_id()") < 0x80000000  # the server's own id is another number
    finally:
        a.close()
        b.close()


def test_kill_query_by_greeting_id_reaches_the_right_session(mygw, dbpki, direct_db1):
    victim = pymysql_connect(mygw, dbpki.ca_cert, "db1.test")
    killer = pymysql_connect(mygw, dbpki.ca_cert, "db1.test", autocommit=True)
    try:
        mark = mygw.log_mark()
        q = SleepingQuery(victim).start(direct_db1)
        killer.cursor().execute(f"kill QUERY {victim.thread_id()};")
        r = q.outcome()
        assert isinstance(r, pymysql.err.OperationalError) and r.args[0] == 1317, r  # interrupted
        assert one(victim, "select 41+1") == 42  # KILL QUERY leaves the connection
        log = mygw.log_since(mark)
        assert f"KILL of connection {victim.thread_id()}" in log, log
        assert f"as its thread id {q.server_id}" in log, log
    finally:
        victim.close()
        killer.close()


def test_pymysql_kill_by_thread_id_ends_that_connection(mygw, dbpki, direct_db1):
    """PyMySQL's kill() sends COM_PROCESS_KILL with thread_id(), the greeting's id."""
    victim = pymysql_connect(mygw, dbpki.ca_cert, "db1.test")
    killer = pymysql_connect(mygw, dbpki.ca_cert, "db1.test")
    try:
        q = SleepingQuery(victim).start(direct_db1)
        killer.kill(victim.thread_id())
        r = q.outcome()
        assert isinstance(r, pymysql.err.OperationalError), r  # the connection was killed
        wait_until(lambda: one(direct_db1, f"select count(*) from information_schema.processlist "
                                           f"where id={q.server_id}") == 0, 10, "the victim's session to end")
    finally:
        victim.close()
        killer.close()


def test_kill_from_a_plaintext_client_reaches_a_tls_client_session(mygw, dbpki, db2):
    """Router db2 allows plaintext clients: the filter sits on that relay too (plain client,
    TLS server), and the session killed is a TLS client's."""
    watcher = pymysql.connect(host=LOCALHOST, port=db2.port, user="alice", password="secret",
                              connect_timeout=5, autocommit=True)
    victim = pymysql_connect(mygw, dbpki.ca_cert, "db2.test")
    killer = pymysql.connect(host=LOCALHOST, port=mygw.ports["mysql"], user="alice@db2.test",
                             password="secret", connect_timeout=5)
    try:
        q = SleepingQuery(victim).start(watcher)
        killer.cursor().execute(f"KILL QUERY {victim.thread_id()}")
        r = q.outcome()
        assert isinstance(r, pymysql.err.OperationalError) and r.args[0] == 1317, r
        assert one(watcher, "select 6*7") == 42
    finally:
        victim.close()
        killer.close()
        watcher.close()


def test_kill_of_an_id_snigate_did_not_issue_is_the_servers_unknown_thread(mygw, dbpki, direct_db1):
    killer = pymysql_connect(mygw, dbpki.ca_cert, "db1.test")
    try:
        with pytest.raises(pymysql.err.OperationalError) as e:
            killer.cursor().execute("KILL QUERY 4000000")
        assert e.value.args[0] == 1094, e.value
    finally:
        killer.close()


def test_kill_of_a_session_on_another_server_is_refused(mygw, dbpki, direct_db1):
    victim = pymysql_connect(mygw, dbpki.ca_cert, "db1.test")
    killer = pymysql_connect(mygw, dbpki.ca_cert, "db2.test")
    try:
        mark = mygw.log_mark()
        with pytest.raises(pymysql.err.OperationalError) as e:
            killer.cursor().execute(f"KILL QUERY {victim.thread_id()}")
        assert e.value.args[0] == 1094 and "another server" in e.value.args[1], e.value
        with pytest.raises(pymysql.err.OperationalError) as e:
            killer.kill(victim.thread_id())
        assert e.value.args[0] == 1094, e.value
        assert one(killer, "select 1") == 1  # the killer's connection goes on
        assert one(victim, "select 2") == 2  # and the victim was not touched
        assert f"KILL of connection {victim.thread_id()} refused" in mygw.log_since(mark)
    finally:
        victim.close()
        killer.close()


def test_mariadb_cli_kill_query_by_the_id_its_status_shows(mygw, dbpki, direct_db1):
    status = mariadb_cli(mygw.ports["mysql"], "alice@db1.test", sql="status", ca=dbpki.ca_cert)
    assert status.returncode == 0, status.stderr
    shown = int(re.search(r"Connection id:\s+(\d+)", status.stdout).group(1))
    assert shown >= 0x80000000, status.stdout  # the greeting's id, as drivers see it
    victim = pymysql_connect(mygw, dbpki.ca_cert, "db1.test")
    try:
        q = SleepingQuery(victim).start(direct_db1)
        res = mariadb_cli(mygw.ports["mysql"], "alice@db1.test", sql=f"KILL QUERY {victim.thread_id()}",
                          ca=dbpki.ca_cert)
        assert res.returncode == 0, res.stderr
        r = q.outcome()
        assert isinstance(r, pymysql.err.OperationalError) and r.args[0] == 1317, r
    finally:
        victim.close()


# ---------------------------------------------------------------- COM_CHANGE_USER, COM_RESET_CONNECTION

def _native(password: bytes, scramble: bytes) -> bytes:
    return pymysql._auth.scramble_native_password(password, scramble)


@pytest.mark.parametrize("scramble", ["switch", "greeting"])
def test_change_user_and_reset_connection(mygw, dbpki, monkeypatch, scramble):
    """After login, commands pass untouched. A client computes COM_CHANGE_USER's first answer
    from the scramble it kept: the one from snigate's auth switch (the server's own), or the one
    from snigate's greeting (which the server never saw). MariaDB 10.11 answers COM_CHANGE_USER
    with an auth switch carrying a fresh scramble either way, so both work. PyMySQL has no
    change_user(), so the packets are written here as libmysqlclient writes them."""
    seen = {}
    orig = pymysql.connections.Connection._process_auth

    def spy(self, plugin_name, auth_packet):
        seen["plugin"] = plugin_name
        seen["scramble"] = auth_packet._data.split(b"\0", 1)[1][:20]
        return orig(self, plugin_name, auth_packet)
    monkeypatch.setattr(pymysql.connections.Connection, "_process_auth", spy)
    conn = pymysql_connect(mygw, dbpki.ca_cert, "db1.test")
    try:
        assert seen["plugin"] == b"mysql_native_password"
        assert seen["scramble"] != conn.salt[:20]  # the server's scramble, not snigate's greeting's
        conn.cursor().execute("create user if not exists 'carol'@'%' identified by 'carolpw'")
        auth = _native(b"carolpw", seen["scramble"] if scramble == "switch" else conn.salt[:20])
        conn._next_seq_id = 0
        conn.write_packet(b"\x11carol\0" + bytes([len(auth)]) + auth + b"\0" + struct.pack("<H", 45)
                          + b"mysql_native_password\0" + b"\0")  # empty connect attributes
        reply = conn._read_packet().get_all_data()  # raises on ERR
        if reply[0] == 0xFE:  # MariaDB switches again: plugin, NUL, fresh scramble, NUL
            plugin, rest = reply[1:].split(b"\0", 1)
            assert plugin == b"mysql_native_password"
            conn.write_packet(_native(b"carolpw", rest[:20]))
            reply = conn._read_packet().get_all_data()
        assert reply[0] == 0x00, reply
        assert one(conn, "select current_user()") == "carol@%"
        conn.cursor().execute("set @x = 5")
        conn._next_seq_id = 0
        conn.write_packet(b"\x1f")  # COM_RESET_CONNECTION
        assert conn._read_packet().get_all_data()[0] == 0x00
        assert one(conn, "select @x") is None  # the session was reset, the connection kept
    finally:
        conn.close()


# ---------------------------------------------------------------- node mysql2 (sends SNI)

NODE_DIR = Path(__file__).resolve().parent / "node"


def node_query(port, name, ca, sql, user="alice", password="secret"):
    if not (NODE_DIR / "node_modules" / "mysql2").is_dir():
        pytest.skip("node mysql2 not installed: run `npm ci` in tests/e2e/node")
    cp = run(["node", str(NODE_DIR / "mysql_query.js"), str(port), name, str(ca), user, password, sql], timeout=20)
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name,which", [("db1.test", "db1"), ("db2.test", "db2")])
def test_node_mysql2_sni_routes_to_each_server(mygw, dbpki, db1, db2, name, which):
    out = node_query(mygw.ports["mysql"], name, dbpki.ca_cert, "select @@port as port, current_user() as u")
    assert out.get("rows") == [{"port": {"db1": db1, "db2": db2}[which].port, "u": "alice@%"}], out


def test_node_mysql2_wrong_password(mygw, dbpki):
    out = node_query(mygw.ports["mysql"], "db1.test", dbpki.ca_cert, "select 1", password="wrong")
    assert out.get("errno") == 1045, out


# ---------------------------------------------------------------- snigate explain on a MySQL entry point

def test_explain_mysql_entry_point(mygw, snigate_bin):
    def explain(*args):
        cp = run([str(snigate_bin), "explain", "--config", str(mygw.config_path), "--entrypoint", "mysql", *args],
                 timeout=10)
        return cp.returncode, cp.stdout + cp.stderr
    rc, out = explain("--sni", "db1.test")
    assert rc == 0 and "match: db1" in out, out
    rc, out = explain("--sni", "db1.test", "--plain")  # a plain client named by user@host
    assert rc == 1 and "REFUSED: router db1 requires TLS" in out, out
    rc, out = explain("--sni", "db2.test", "--plain")  # db2 sets mysql.allowPlaintext
    assert rc == 0 and "match: db2" in out, out
