"""PostgreSQL routing (`protocol: postgres`, and detection on a plain `tcp` entry point): two
PostgreSQL 15 clusters behind one snigate, chosen by the client's SNI (after its SSLRequest, or
PostgreSQL 17's direct TLS) or by `user@host`. snigate answers the SSLRequest itself, then
terminates TLS (plain or re-encrypted link to the server) or passes it through (sending the
server its own SSLRequest first).

  pg_a: ssl on, certificate backend-a.test        pg_b: ssl on, certificate pg-b.test + pg-b-term.test
  routers (entry points pg and web):
    pga      pg-a.test      terminate, plain link to pg_a
    pgatls   pg-a-tls.test  terminate with snigate's certificate, re-encrypt to pg_a (backend-a.test)
    pgb      pg-b.test      passthrough to pg_b
    pgbterm  pg-b-term.test terminate with pg_b's own certificate and key, re-encrypt to pg_b
    plainok  plain.test     like pga, and postgres.allowPlaintext
    plaintls plain-tls.test like pgatls (re-encrypt to pg_a), and postgres.allowPlaintext
    down     down.test      nothing listens

Roles on both clusters: alice/secret (SCRAM-SHA-256), bob/bobsecret (MD5), trusty (trust); database
app owned by alice. `select inet_server_port()` tells the clusters apart.

The `test_pg_harness_direct_*` tests check the clusters and every client without snigate; they
run with the fake snigate too (`-k direct`)."""
from __future__ import annotations

import hashlib
import socket
import threading
import time
import uuid

import pytest

from harness import servers
from harness.ipsni import IpSniSocket
from harness.configs import addr, lb, router
from harness.pg import (PgError, conninfo, gw_conninfo, node_pg_available, node_pg_query, one,
                        parse_error_fields, pgbench, psql, psycopg2_connect, raw_query, read_message)
from harness.pki import make_pki
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, port_refuses, wait_until

psycopg2 = pytest.importorskip("psycopg2", reason="python3-psycopg2 not installed (scripts/install-deps.sh --test)")
import psycopg2.errors  # noqa: E402


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def pgpki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pg-pki"), {
        "backend-a": ["backend-a.test"],            # pg_a's own certificate
        "pg-b": ["pg-b.test", "pg-b-term.test"],    # pg_b's own; snigate serves the same files for pgbterm
        "pg-a": ["pg-a.test"],
        "pg-a-tls": ["pg-a-tls.test"],
        "plain": ["plain.test"],
        "down": ["down.test"],
        "default": ["default.test"],
    })


def _start_pg(request, tmp_path_factory, name, leaf, ca):
    if not servers.PG_BIN.is_dir():
        pytest.skip(f"PostgreSQL server not installed ({servers.PG_BIN}): scripts/install-deps.sh --test")
    db = servers.start_postgres(tmp_path_factory.mktemp(name), leaf.cert, leaf.key, ca)
    request.addfinalizer(db.stop)
    return db


@pytest.fixture(scope="module")
def pg_a(request, tmp_path_factory, pgpki):
    """ssl=on with the certificate backend-a.test."""
    return _start_pg(request, tmp_path_factory, "pg-a", pgpki["backend-a"], pgpki.ca_cert)


@pytest.fixture(scope="module")
def pg_b(request, tmp_path_factory, pgpki):
    """ssl=on with the certificate pg-b.test + pg-b-term.test (clients verify it through passthrough)."""
    return _start_pg(request, tmp_path_factory, "pg-b", pgpki["pg-b"], pgpki.ca_cert)


@pytest.fixture(scope="module")
def pgbench_tables(pg_a):
    """pgbench -i -s 1 in pg_a's database app, as alice, directly over the unix socket."""
    cp = pgbench(["-i", "-q", "-s", "1"], {"PGHOST": pg_a.sockdir, "PGPORT": pg_a.port, "PGUSER": "alice",
                                           "PGDATABASE": "app"})
    assert cp.ok, cp
    return pg_a


def gateway_config(pgpki, a_port: int, b_port: int, ports: dict, down_port: int) -> dict:
    """The contract: entry points pg, web, slow; routers pga, pgatls, pgb, pgbterm, plainok, plaintls,
    down."""
    eps = ["pg", "web"]
    ca = str(pgpki.ca_cert)
    return {
        "entryPoints": {
            "pg": {"address": addr(ports["pg"]), "protocol": "postgres"},
            "web": {"address": addr(ports["web"])},  # plain tcp: PostgreSQL is detected here too
            "slow": {"address": addr(ports["slow"]), "protocol": "postgres", "clientHelloTimeout": "1s"},
            "mixed": {"address": addr(ports["mixed"])},  # TLS routers and a plain catch-all
            "plainonly": {"address": addr(ports["plainonly"])},  # only a plain catch-all
        },
        "tcp": {
            "routers": {
                # also on `slow`, so that entry point has a router
                "pga": router("HostSNI(`pg-a.test`)", "pga", eps=[*eps, "slow"], tls={}),
                "pgatls": router("HostSNI(`pg-a-tls.test`)", "pgatls", eps=eps, tls={}),
                "pgb": router("HostSNI(`pg-b.test`)", "pgb", eps=[*eps, "mixed"], tls={"passthrough": True}),
                # Before snigate read SSLRequests, a catch-all took every PostgreSQL client: it still
                # takes those that no TLS router does, and everything on an entry point without TLS
                # routers.
                "catchall": router("HostSNI(`*`)", "pga", eps=["mixed", "plainonly"]),
                "pgbterm": router("HostSNI(`pg-b-term.test`)", "pgbterm", eps=eps, tls={}),
                "plainok": {**router("HostSNI(`plain.test`)", "pga", eps=eps, tls={}),
                            "postgres": {"allowPlaintext": True}},
                "plaintls": {**router("HostSNI(`plain-tls.test`)", "pgatls", eps=eps, tls={}),
                             "postgres": {"allowPlaintext": True}},
                "down": router("HostSNI(`down.test`)", "down", eps=eps, tls={}),
            },
            "services": {
                "pga": lb(addr(a_port)),
                "pgatls": lb(addr(a_port), tls=True, transport="pgatls"),
                "pgb": lb(addr(b_port)),
                "pgbterm": lb(addr(b_port), tls=True, transport="pgb"),
                "down": lb(addr(down_port)),  # nothing listens
            },
            "serversTransports": {
                "pgatls": {"dialTimeout": "2s", "tls": {"serverName": "backend-a.test", "rootCAs": [ca]}},
                "pgb": {"dialTimeout": "2s", "tls": {"serverName": "pg-b-term.test", "rootCAs": [ca]}},
            },
        },
        "tls": {
            # pg-b's files are pg_b's own certificate and key: the same certificate on both legs
            "certificates": [{"certFile": str(pgpki[n].cert), "keyFile": str(pgpki[n].key)}
                             for n in ("pg-a", "pg-a-tls", "plain", "down", "pg-b")],
            "stores": {"default": {"defaultCertificate": {"certFile": str(pgpki["default"].cert),
                                                          "keyFile": str(pgpki["default"].key)}}},
        },
    }


@pytest.fixture(scope="module")
def pggw(request, snigate_bin, tmp_path_factory, pgpki, pg_a, pg_b):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not speak PostgreSQL")
    ports = {n: free_port() for n in ("pg", "web", "slow", "mixed", "plainonly")}
    cfg = gateway_config(pgpki, pg_a.port, pg_b.port, ports, free_port())
    sg = Snigate(tmp_path_factory.mktemp("snigate-pg"), cfg, name="snigate-pg")
    request.addfinalizer(sg.teardown)
    return sg.start()


# ---------------------------------------------------------------- helpers

def cluster(which, pg_a, pg_b):
    return {"pg_a": pg_a, "pg_b": pg_b}[which]


def new_access(gw, before: int, pred, what: str = "access log entry") -> dict:
    """The first access log entry written after the first `before` ones that matches pred."""
    return wait_until(lambda: next((e for e in gw.access_entries()[before:] if pred(e)), None), 5.0, what,
                      on_timeout=gw.logs)


def server_said(err: str) -> str:
    """libpq's stderr after `... port N failed:`, i.e. what the server (or snigate) answered; the
    prefix repeats the host name, so a test must not find the name there."""
    return err.split("failed:", 1)[1] if "failed:" in err else ""


CHECK_SQL = "select inet_server_port(), current_user, (select ssl from pg_stat_ssl where pid = pg_backend_pid())"


def gw_psql(gw, ep, host, ca, sql=CHECK_SQL, password="secret", **kw):
    return psql(gw_conninfo(gw.ports[ep], host, ca, **kw), sql, password=password)


def run_pgbench_checks(env: dict, connect_each: int = 50) -> None:
    """pgbench -S (4 clients, 2 threads, 100 each), then -C -S (a new connection per transaction,
    connect_each per client; one thread connects serially, about 50-100 ms per connection with
    TLS + SCRAM on a busy 2-core machine)."""
    for args, total in ((["-n", "-S", "-c", "4", "-j", "2", "-t", "100"], 400),
                        (["-n", "-C", "-S", "-c", "4", "-t", str(connect_each)], 4 * connect_each)):
        cp = pgbench(args, env)
        assert cp.ok, cp
        assert f"number of transactions actually processed: {total}/{total}" in cp.out, cp
        assert "number of failed transactions: 0 (0.000%)" in cp.out, cp


def run_cancel_check(conn, db) -> None:
    """`select pg_sleep(30)` in a thread; once db shows it running, conn.cancel() (libpq sends a
    CancelRequest on a new connection to the same host and port); QueryCanceled within 5 s, and
    the connection still works."""
    token = uuid.uuid4().hex
    sql = f"/* cancel-{token} */ select pg_sleep(30)"
    result = {}

    def victim():
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
            result["r"] = "finished"
        except Exception as e:  # noqa: BLE001 - the test inspects it
            result["r"] = e
    t = threading.Thread(target=victim, daemon=True)
    t.start()
    try:
        wait_until(lambda: db.psql(f"select count(*) from pg_stat_activity where state = 'active' "
                                   f"and query like '%cancel-{token}%' and pid <> pg_backend_pid()") == "1",
                   10, "the query to run on the server", interval=0.05, on_timeout=db.logs)
        t0 = time.monotonic()
        conn.cancel()
        t.join(5)
        elapsed = time.monotonic() - t0
        assert not t.is_alive(), "the query was not cancelled within 5 s"
        assert isinstance(result.get("r"), psycopg2.errors.QueryCanceled), result
        assert elapsed < 5
        assert one(conn, "select 41 + 1") == 42  # the connection itself survives
    finally:
        db.psql(f"select pg_terminate_backend(pid) from pg_stat_activity where query like '%cancel-{token}%' "
                f"and pid <> pg_backend_pid()", check=False)
        t.join(10)


# ---------------------------------------------------------------- harness self-tests (no snigate)

@pytest.mark.parametrize("which,name", [("pg_a", "backend-a.test"), ("pg_b", "pg-b.test"),
                                        ("pg_b", "pg-b-term.test")])
def test_pg_harness_direct_psql_verify_full(pg_a, pg_b, pgpki, which, name):
    db = cluster(which, pg_a, pg_b)
    cp = psql(gw_conninfo(db.port, name, pgpki.ca_cert), CHECK_SQL, password="secret")
    assert cp.ok, cp
    assert cp.out == f"{db.port}|alice|t", cp


def test_pg_harness_direct_roles_and_auth(pg_a, pgpki):
    assert pg_a.psql("select rolname || ':' || left(rolpassword, 5) from pg_authid "
                     "where rolname in ('alice', 'bob') order by 1") == "alice:SCRAM\nbob:md599"
    assert pg_a.psql("select pg_get_userbyid(datdba) from pg_database where datname = 'app'") == "alice"
    ca = pgpki.ca_cert
    ok = psql(gw_conninfo(pg_a.port, "backend-a.test", ca, user="bob"), "select current_user", password="bobsecret")
    assert ok.ok and ok.out == "bob", ok
    ok = psql(gw_conninfo(pg_a.port, "backend-a.test", ca, user="trusty", dbname="postgres"), "select current_user")
    assert ok.ok and ok.out == "trusty", ok
    bad = psql(gw_conninfo(pg_a.port, "backend-a.test", ca), password="wrong")
    assert not bad.ok and 'password authentication failed for user "alice"' in bad.err, bad
    bad = psql(gw_conninfo(pg_a.port, "backend-a.test", ca, user="bob"), password="wrong")
    assert not bad.ok and 'password authentication failed for user "bob"' in bad.err, bad
    # only trusty is trusted over TCP: alice without a password is refused
    bad = psql(gw_conninfo(pg_a.port, "backend-a.test", ca))
    assert not bad.ok and "no password supplied" in bad.err, bad


def test_pg_harness_direct_channel_binding(pg_a, pgpki):
    """Over TLS straight to the server, SCRAM-SHA-256-PLUS works; over a plain link libpq refuses
    channel_binding=require itself (what the client sees through pga is different: TLS to snigate,
    no PLUS offered by the server)."""
    ok = psql(gw_conninfo(pg_a.port, "backend-a.test", pgpki.ca_cert, channel_binding="require"),
              "select current_user", password="secret")
    assert ok.ok and ok.out == "alice", ok
    bad = psql(gw_conninfo(pg_a.port, "backend-a.test", None, sslmode="disable", channel_binding="require"),
               password="secret")
    assert not bad.ok and "channel binding required, but SSL not in use" in bad.err, bad


def test_pg_harness_direct_psycopg2(pg_a, pg_b, pgpki):
    for db, name in ((pg_a, "backend-a.test"), (pg_b, "pg-b.test")):
        conn = psycopg2_connect(db.port, name, pgpki.ca_cert)
        try:
            assert one(conn, "select inet_server_port()") == db.port
            assert one(conn, "select ssl from pg_stat_ssl where pid = pg_backend_pid()") is True
        finally:
            conn.close()
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed|does not match host name"):
        psycopg2_connect(pg_a.port, "pg-a.test", pgpki.ca_cert)  # backend-a.test only


def test_pg_harness_direct_node_pg(pg_a, pg_b, pgpki):
    if not node_pg_available():
        pytest.skip("node pg not installed: run `npm ci` in tests/e2e/node")
    out = node_pg_query(pg_b.port, "pg-b.test", pgpki.ca_cert, "select inet_server_port() as port, current_user as u")
    assert out.get("rows") == [{"port": pg_b.port, "u": "alice"}], out
    out = node_pg_query(pg_a.port, "backend-a.test", pgpki.ca_cert, "select 1", password="wrong")
    assert out.get("code") == "28P01", out  # invalid_password
    out = node_pg_query(pg_a.port, "pg-a.test", pgpki.ca_cert, "select 1")  # not the certificate's name
    assert "error" in out and "pg-a.test" in out["error"], out


def test_pg_harness_direct_raw_client(pg_a, pg_b, pgpki):
    for db, name in ((pg_a, "backend-a.test"), (pg_b, "pg-b.test")):
        r = raw_query(db.port, name, pgpki.ca_cert, mode="ssl_request")
        assert r.rows == [[str(db.port)]], r
        assert r.params.get("server_version", "").startswith(servers.PG_BIN.parent.name), r.params
        assert r.alpn is None  # PostgreSQL 15 does not select ALPN
        assert dict(x[0] for x in r.peer_cert["subject"])["commonName"] == name
    r = raw_query(pg_a.port, None, None, mode="plain", sql="select current_user, 'x' || null")
    assert r.rows == [["trusty", None]], r
    with pytest.raises(PgError) as ei:
        raw_query(pg_a.port, None, None, mode="plain", sql="select 1/0")
    assert ei.value.sqlstate == "22012"  # division_by_zero
    # PostgreSQL 15 takes no direct TLS: it reads the ClientHello as a startup packet length and
    # hangs up. That is why snigate sends the server an SSLRequest of its own in passthrough.
    with pytest.raises(OSError):
        raw_query(pg_b.port, "pg-b.test", pgpki.ca_cert, mode="direct")
    assert wait_until(lambda: "invalid length of startup packet" in pg_b.log(), 5, "pg_b to log the refusal")


def test_pg_harness_direct_cancel(pg_a, pgpki):
    conn = psycopg2_connect(pg_a.port, "backend-a.test", pgpki.ca_cert)
    conn.autocommit = True
    try:
        run_cancel_check(conn, pg_a)
    finally:
        conn.close()


def test_pg_harness_direct_pgbench(pgbench_tables, pgpki):
    pg = pgbench_tables
    run_pgbench_checks({"PGHOST": "backend-a.test", "PGHOSTADDR": LOCALHOST, "PGPORT": pg.port,
                        "PGSSLMODE": "verify-full", "PGSSLROOTCERT": pgpki.ca_cert, "PGUSER": "alice",
                        "PGPASSWORD": "secret", "PGDATABASE": "app"}, connect_each=10)


def test_pg_harness_direct_start_stop_repeatedly(tmp_path, pgpki):
    if not servers.PG_BIN.is_dir():
        pytest.skip(f"PostgreSQL server not installed ({servers.PG_BIN})")
    for i in range(2):
        t0 = time.monotonic()
        db = servers.start_postgres(tmp_path / f"pg-{i}", pgpki["pg-a"].cert, pgpki["pg-a"].key, pgpki.ca_cert,
                                    setup_sql="CREATE TABLE t (n int); INSERT INTO t VALUES (7);")
        started = time.monotonic() - t0
        try:
            assert db.psql("select n from t") == "7"
            assert started < servers.START_TIMEOUT
        finally:
            t0 = time.monotonic()
            assert db.stop() == 0, db.logs()
            assert time.monotonic() - t0 < 10
        assert port_refuses(db.port)
        assert not db.root.exists()
        assert "database system is shut down" in db.log()
    with pytest.raises(RuntimeError, match="could not load private key file"):
        bad = tmp_path / "bad.key"
        bad.write_text("not a key\n")
        servers.start_postgres(tmp_path / "pg-bad", pgpki["pg-a"].cert, bad)


# ---------------------------------------------------------------- routing by SNI (libpq, psycopg2, node pg)

@pytest.mark.parametrize("ep", ["pg", "web"])
@pytest.mark.parametrize("name,which,router_,backend_tls", [("pg-a.test", "pg_a", "pga", "f"),
                                                             ("pg-b.test", "pg_b", "pgb", "t")])
def test_psql_sni_routes_to_each_cluster(pggw, pgpki, pg_a, pg_b, ep, name, which, router_, backend_tls):
    before = len(pggw.access_entries())
    cp = gw_psql(pggw, ep, name, pgpki.ca_cert)  # verify-full: pg-b.test is pg_b's own certificate
    assert cp.ok, cp
    db = cluster(which, pg_a, pg_b)
    assert cp.out == f"{db.port}|alice|{backend_tls}", cp  # pga's link to pg_a is plain, pgb's is the client's TLS
    e = new_access(pggw, before, lambda e: e.get("router") == router_ and e.get("entry_point") == ep)
    assert e["sni"] == name and e["tls"] is True, e
    # Terminated, snigate ends both legs cleanly. Passed through, libpq and PostgreSQL each send
    # close_notify and close at once; whichever finds the other's close_notify unread resets
    # (the kernel's answer to closing with unread data), after every byte was delivered.
    assert e["end"] == "closed" if router_ == "pga" else e["end"] in ("closed", "reset"), e
    # mode: "postgres" (like "mysql" on a MySQL entry point); passthrough may say so instead
    assert e["mode"] == "postgres" if router_ == "pga" else e["mode"] in ("postgres", "passthrough"), e


def test_psql_user_at_host_without_sni(pggw, pgpki, pg_a):
    before = len(pggw.access_entries())
    cp = psql(conninfo(host=LOCALHOST, port=pggw.ports["pg"], user="alice@pg-a.test", dbname="app",
                       sslmode="require", sslsni=0, connect_timeout=5),
              "select inet_server_port(), current_user", password="secret")
    assert cp.ok, cp
    assert cp.out == f"{pg_a.port}|alice", cp  # snigate strips @host when it routed by it
    e = new_access(pggw, before, lambda e: e.get("router") == "pga")
    assert e["sni"] == "pg-a.test" and e["tls"] is True, e


@pytest.fixture(scope="module")
def alice_db(pg_a):
    """A database named alice on pg_a, as libpq's default dbname for user alice would ask for."""
    pg_a.psql("create database alice owner alice")
    return pg_a


@pytest.mark.parametrize("dbname", [None, "alice@pg-a.test"])
def test_user_at_host_default_dbname_is_the_bare_user(pggw, alice_db, dbname):
    # libpq defaults dbname to the user name as given, alice@pg-a.test; the server gets alice.
    cp = psql(conninfo(host=LOCALHOST, port=pggw.ports["pg"], user="alice@pg-a.test", dbname=dbname,
                       sslmode="require", sslsni=0, connect_timeout=5),
              "select inet_server_port(), current_user, current_database()", password="secret")
    assert cp.ok, cp
    assert cp.out == f"{alice_db.port}|alice|alice", cp


def test_ip_address_as_sni_routes_by_user_at_host(pggw, pg_a):
    # PHP's mysqlnd sends the address it connects to as SNI (against RFC 6066); a PostgreSQL
    # client doing the same is routed by user@host, as if it had sent no SNI.
    before = len(pggw.access_entries())
    r = raw_query(pggw.ports["pg"], None, None, user="trusty@pg-a.test",
                  sql="select inet_server_port(), current_user", tls_wrap=lambda raw: IpSniSocket(raw, LOCALHOST))
    assert r.rows == [[str(pg_a.port), "trusty"]], r
    e = new_access(pggw, before, lambda e: e.get("router") == "pga")
    assert e["sni"] == "pg-a.test" and e["tls"] is True, e


def test_reencrypt_without_channel_binding(pggw, pgpki, pg_a):
    """pgatls: snigate's certificate for pg-a-tls.test to the client, TLS (backend-a.test) to pg_a.
    channel_binding=disable: see test_channel_binding_pg_a_tls for why SCRAM's binding cannot hold."""
    cp = gw_psql(pggw, "pg", "pg-a-tls.test", pgpki.ca_cert, channel_binding="disable")
    assert cp.ok, cp
    assert cp.out == f"{pg_a.port}|alice|t", cp


@pytest.mark.parametrize("name,which", [("pg-a.test", "pg_a"), ("pg-b.test", "pg_b")])
def test_psycopg2_sni_routes_to_each_cluster(pggw, pgpki, pg_a, pg_b, name, which):
    conn = psycopg2_connect(pggw.ports["pg"], name, pgpki.ca_cert)
    try:
        assert one(conn, "select inet_server_port()") == cluster(which, pg_a, pg_b).port
        assert one(conn, "select current_user") == "alice"
        with conn.cursor() as cur:  # more than one round trip after login
            cur.execute("select g, md5(g::text) from generate_series(1, 20000) g")
            rows = cur.fetchall()
        assert len(rows) == 20000
        assert all(h == hashlib.md5(str(g).encode()).hexdigest() for g, h in rows)
    finally:
        conn.close()


@pytest.mark.parametrize("name,which", [("pg-a.test", "pg_a"), ("pg-b.test", "pg_b")])
def test_node_pg_sni_routes_to_each_cluster(pggw, pgpki, pg_a, pg_b, name, which):
    if not node_pg_available():
        pytest.skip("node pg not installed: run `npm ci` in tests/e2e/node")
    out = node_pg_query(pggw.ports["pg"], name, pgpki.ca_cert, "select inet_server_port() as port, current_user as u")
    assert out.get("rows") == [{"port": cluster(which, pg_a, pg_b).port, "u": "alice"}], out


def test_md5_user(pggw, pgpki):
    cp = gw_psql(pggw, "pg", "pg-a.test", pgpki.ca_cert, sql="select current_user", user="bob", password="bobsecret")
    assert cp.ok and cp.out == "bob", cp


# ---------------------------------------------------------------- direct TLS (PostgreSQL 17) and GSSENCRequest

RAW_SQL = "select inet_server_port(), (select ssl from pg_stat_ssl where pid = pg_backend_pid())"


def test_tls_first_terminated(pggw, pgpki, pg_a):
    r = raw_query(pggw.ports["pg"], "pg-a.test", pgpki.ca_cert, mode="direct", sql=RAW_SQL)
    assert r.rows == [[str(pg_a.port), "f"]], r  # plain link from snigate to pg_a
    assert r.alpn == "postgresql"  # snigate terminated it and selected the protocol
    assert dict(x[0] for x in r.peer_cert["subject"])["commonName"] == "pg-a.test"


def test_tls_first_passthrough_to_a_pg15_server(pggw, pgpki, pg_b):
    # pg_b (PostgreSQL 15) takes no direct TLS: snigate sends it an SSLRequest, then the client's TLS.
    r = raw_query(pggw.ports["pg"], "pg-b.test", pgpki.ca_cert, mode="direct", sql=RAW_SQL)
    assert r.rows == [[str(pg_b.port), "t"]], r  # pg_b sees the client's TLS
    assert r.alpn is None  # pg_b itself answered the ClientHello (PostgreSQL 15 selects no ALPN)
    assert dict(x[0] for x in r.peer_cert["subject"])["commonName"] == "pg-b.test"


def test_gssenc_request_is_declined_then_ssl_works(pggw, pgpki, pg_a):
    r = raw_query(pggw.ports["pg"], "pg-a.test", pgpki.ca_cert, mode="ssl_request", gssenc_first=True)
    assert r.gssenc_reply == b"N"
    assert r.rows == [[str(pg_a.port)]], r


def test_raw_ssl_request_passthrough(pggw, pgpki, pg_b):
    r = raw_query(pggw.ports["pg"], "pg-b.test", pgpki.ca_cert, mode="ssl_request", sql=RAW_SQL)
    assert r.rows == [[str(pg_b.port), "t"]], r
    assert r.alpn is None  # pg_b answered the ClientHello itself


# ---------------------------------------------------------------- refusals explain themselves

def test_wrong_password_is_the_servers(pggw, pgpki):
    cp = gw_psql(pggw, "pg", "pg-a.test", pgpki.ca_cert, password="wrong")
    assert not cp.ok, cp
    assert 'password authentication failed for user "alice"' in cp.err, cp


def test_unknown_name(pggw, pgpki):
    # sslmode=require: the client does not verify the (default) certificate, so it reads snigate's answer.
    cp = psql(conninfo(host="nope.test", hostaddr=LOCALHOST, port=pggw.ports["pg"], user="alice", dbname="app",
                       sslmode="require", connect_timeout=5), password="secret")
    assert not cp.ok and cp.elapsed < 5, cp
    said = server_said(cp.err)
    assert "nope.test" in said and "snigate" in said, cp


def test_no_sni_and_no_user_at_host(pggw):
    cp = psql(conninfo(host=LOCALHOST, port=pggw.ports["pg"], user="alice", dbname="app", sslmode="require",
                       sslsni=0, connect_timeout=5), password="secret")
    assert not cp.ok and cp.elapsed < 5, cp
    said = server_said(cp.err)
    assert "SNI" in said and "user@host" in said, cp


def test_backend_down(pggw, pgpki):
    cp = gw_psql(pggw, "pg", "down.test", pgpki.ca_cert)
    assert not cp.ok and cp.elapsed < 5, cp
    assert "down" in server_said(cp.err), cp


def test_plaintext_refused_unless_the_router_allows_it(pggw, pg_a):
    refused = psql(conninfo(host=LOCALHOST, port=pggw.ports["pg"], user="alice@pg-a.test", dbname="app",
                            sslmode="disable", connect_timeout=5), password="secret")
    assert not refused.ok and refused.elapsed < 5, refused
    said = server_said(refused.err)
    assert "TLS" in said or "sslmode" in said, refused
    before = len(pggw.access_entries())
    ok = psql(conninfo(host=LOCALHOST, port=pggw.ports["pg"], user="alice@plain.test", dbname="app",
                       sslmode="disable", connect_timeout=5), "select inet_server_port(), current_user",
              password="secret")
    assert ok.ok, ok
    assert ok.out == f"{pg_a.port}|alice", ok
    e = new_access(pggw, before, lambda e: e.get("router") == "plainok")
    assert e["tls"] is False, e


def test_not_postgres_gets_an_error_response(pggw):
    with socket.create_connection((LOCALHOST, pggw.ports["pg"]), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        s.settimeout(5)
        mtype, body = read_message(s)
    assert mtype == "E", (mtype, body)
    assert b"PostgreSQL" in body, body
    assert parse_error_fields(body).get("S") in ("FATAL", "ERROR"), body


def test_silent_client_gets_the_timeout_error_in_time(pggw):
    # docs/postgres.md, "Errors a user sees": no startup packet in time is a FATAL
    # ErrorResponse, SQLSTATE 08006, then the connection closes (access log `end: timeout`).
    mark = pggw.access_mark()
    log_mark = pggw.log_mark()
    with socket.create_connection((LOCALHOST, pggw.ports["slow"]), timeout=5) as s:
        port = s.getsockname()[1]
        s.settimeout(4)
        t0 = time.monotonic()
        mtype, body = read_message(s)
        elapsed = time.monotonic() - t0
        assert s.recv(1) == b"", "the connection stays open after the error"
    # clientHelloTimeout 1s, counted once the kernel hands the silent client over (about 1 s:
    # TCP_DEFER_ACCEPT on a client-first entry point).
    assert 0.8 <= elapsed < 2.5, elapsed
    fields = parse_error_fields(body)
    assert mtype == "E", (mtype, body)
    assert (fields.get("S"), fields.get("C")) == ("FATAL", "08006"), fields
    assert fields.get("M") == "snigate: no startup packet within clientHelloTimeout (1000 ms)", fields
    e = pggw.wait_access_from(port, after=mark)
    assert e["end"] == "timeout" and e["entry_point"] == "slow", e
    client = f"{LOCALHOST}:{port}"
    wait_until(lambda: any(client in ln and "no startup packet within clientHelloTimeout" in ln
                           for ln in pggw.log_since(log_mark).splitlines()),
               5, f"the log line for {client}", on_timeout=pggw.logs)


@pytest.mark.parametrize("ep,name,which,backend_tls,mode", [
    ("mixed", "pg-b.test", "pg_b", "t", "passthrough"),   # a TLS router takes its name
    ("mixed", "other.test", "pg_a", "t", "passthrough"),  # no TLS router does: the catch-all, TLS untouched
    ("plainonly", "other.test", "pg_a", "t", "plain"),    # no TLS router at all: bytes go as they come
])
def test_plain_catch_all_keeps_postgres_clients(pggw, pgpki, pg_a, pg_b, ep, name, which, backend_tls, mode):
    before = len(pggw.access_entries())
    cp = gw_psql(pggw, ep, name, pgpki.ca_cert, sslmode="require")
    assert cp.ok, cp
    db = cluster(which, pg_a, pg_b)
    assert cp.out == f"{db.port}|alice|{backend_tls}", cp
    e = new_access(pggw, before, lambda e: e.get("entry_point") == ep)
    assert e["mode"] == mode, e


# ---------------------------------------------------------------- cancel

@pytest.mark.parametrize("ep", ["pg", "web"])
@pytest.mark.parametrize("name,which", [("pg-a.test", "pg_a"), ("pg-b.test", "pg_b")])
def test_cancel_request(pggw, pgpki, pg_a, pg_b, name, which, ep):
    # libpq 15 sends the CancelRequest in plaintext on a new connection to the same port.
    # Terminated (pg-a): snigate saw the BackendKeyData and sends the cancel to that server only.
    # Passthrough (pg-b): the key is inside TLS, so every server of the PostgreSQL passthrough
    # services gets it; on the tcp entry point `web` that is the services which carried one.
    conn = psycopg2_connect(pggw.ports[ep], name, pgpki.ca_cert)
    conn.autocommit = True
    try:
        db = cluster(which, pg_a, pg_b)
        assert one(conn, "select inet_server_port()") == db.port
        before = len(pggw.access_entries())
        run_cancel_check(conn, db)
    finally:
        conn.close()
    e = new_access(pggw, before, lambda e: e.get("mode") == "postgres-cancel")
    assert e["entry_point"] == ep and e["end"] == "cancel_forwarded", e
    if which == "pg_a":
        assert e["server"] == f"127.0.0.1:{pg_a.port}" and "which issued its key" in e["detail"], e
    else:
        assert "passthrough" in e["detail"] and "to 1 of 1 server" in e["detail"], e


# ---------------------------------------------------------------- SCRAM channel binding

def test_channel_binding_pg_a_plain_link(pggw, pgpki, pg_a):
    # snigate's link to pg_a is plain, so pg_a offers only SCRAM-SHA-256: `prefer` logs in without
    # binding; `require` is refused by libpq itself.
    ok = gw_psql(pggw, "pg", "pg-a.test", pgpki.ca_cert, channel_binding="prefer")
    assert ok.ok and ok.out.startswith(f"{pg_a.port}|alice|"), ok
    bad = gw_psql(pggw, "pg", "pg-a.test", pgpki.ca_cert, channel_binding="require")
    assert not bad.ok and bad.elapsed < 5, bad
    assert "server did not offer an authentication method that supports channel binding" in bad.err, bad


def test_channel_binding_require_pg_a_tls(pggw, pgpki):
    # Re-encryption with two certificates: pg_a sees TLS from snigate and offers
    # SCRAM-SHA-256-PLUS, but the client would bind to snigate's certificate (pg-a-tls.test) and
    # pg_a checks against its own (backend-a.test). snigate withholds PLUS, so libpq refuses
    # `require` itself and closes; snigate's log says why and what would make binding hold.
    mark, log_mark = pggw.access_mark(), pggw.log_mark()
    bad = gw_psql(pggw, "pg", "pg-a-tls.test", pgpki.ca_cert, channel_binding="require")
    assert not bad.ok and bad.elapsed < 5, bad
    assert "server did not offer an authentication method that supports channel binding" in bad.err, bad
    e = pggw.wait_access(lambda e: e.get("router") == "pgatls", after=mark)
    assert e["end"] == "client_closed", e
    wait_until(lambda: any("withheld SCRAM-SHA-256-PLUS" in ln and "channel binding cannot hold through router "
                           "pgatls" in ln and "passthrough" in ln and "server's own certificate" in ln
                           for ln in pggw.log_since(log_mark).splitlines()),
               5, "snigate's log line on channel binding", on_timeout=pggw.logs)


def test_channel_binding_prefer_pg_a_tls_is_refused_with_the_reason(pggw, pgpki):
    # Offered no PLUS, libpq (TLS, channel_binding=prefer) sends the gs2 flag 'y' ("I could bind
    # but you can't"), which pg_a, being on TLS, rejects as a downgrade: SCRAM is built to stop
    # the party in the middle that snigate is. snigate answers first, with the reason and the
    # ways out. (channel_binding=disable works: test_reencrypt_without_channel_binding)
    bad = gw_psql(pggw, "pg", "pg-a-tls.test", pgpki.ca_cert, channel_binding="prefer")
    assert not bad.ok and bad.elapsed < 5, bad
    said = server_said(bad.err)
    assert "snigate: SCRAM channel binding cannot hold through router pgatls" in said, bad
    assert "downgrade" in said and "channel_binding=disable" in said, bad


def test_scram_plaintext_client_reencrypted(pggw, pg_a):
    # postgres.allowPlaintext on a router that re-encrypts: pg_a offers SCRAM-SHA-256-PLUS over
    # snigate's TLS link, which libpq would refuse over its own plain connection ("server offered
    # SCRAM-SHA-256-PLUS authentication over a non-SSL connection"). Withheld, it logs in.
    before = len(pggw.access_entries())
    ok = psql(conninfo(host=LOCALHOST, port=pggw.ports["pg"], user="alice@plain-tls.test", dbname="app",
                       sslmode="disable", connect_timeout=5), CHECK_SQL, password="secret")
    assert ok.ok, ok
    assert ok.out == f"{pg_a.port}|alice|t", ok  # t: snigate's link to pg_a is TLS
    e = new_access(pggw, before, lambda e: e.get("router") == "plaintls")
    assert e["tls"] is False and e["end"] == "closed", e


def test_scram_tls_client_without_sni(pggw, pg_a):
    # No SNI: the client gets the default certificate, routed by user@host to pgatls. libpq's
    # default channel_binding=prefer sends 'y' when not offered PLUS (see above), so only
    # channel_binding=disable logs in; the refusal says so and does not send the user to a
    # certificate the client without SNI would never get.
    info = dict(host=LOCALHOST, port=pggw.ports["pg"], user="alice@pg-a-tls.test", dbname="app",
                sslmode="require", sslsni=0, connect_timeout=5)
    bad = psql(conninfo(**info), CHECK_SQL, password="secret")
    assert not bad.ok and bad.elapsed < 5, bad
    said = server_said(bad.err)
    assert "default certificate" in said and "channel_binding=disable" in said and "sslsni=1" in said, bad
    ok = psql(conninfo(**info, channel_binding="disable"), CHECK_SQL, password="secret")
    assert ok.ok, ok
    assert ok.out == f"{pg_a.port}|alice|t", ok


def test_channel_binding_passthrough_holds(pggw, pgpki, pg_b):
    # Passthrough: the client's TLS reaches pg_b, which offers SCRAM-SHA-256-PLUS untouched.
    ok = gw_psql(pggw, "pg", "pg-b.test", pgpki.ca_cert, channel_binding="require")
    assert ok.ok, ok
    assert ok.out == f"{pg_b.port}|alice|t", ok


def test_channel_binding_same_certificate_both_legs(pggw, pgpki, pg_b):
    # pgbterm: snigate serves pg_b's own certificate and key, so tls-server-end-point is equal on
    # both legs and SCRAM-SHA-256-PLUS holds end to end.
    ok = gw_psql(pggw, "pg", "pg-b-term.test", pgpki.ca_cert, channel_binding="require")
    assert ok.ok, ok
    assert ok.out == f"{pg_b.port}|alice|t", ok


# ---------------------------------------------------------------- load

def test_pgbench_through_snigate(pggw, pgbench_tables):
    run_pgbench_checks({"PGHOST": "pg-a.test", "PGHOSTADDR": LOCALHOST, "PGPORT": pggw.ports["pg"],
                        "PGSSLMODE": "require", "PGUSER": "alice", "PGPASSWORD": "secret", "PGDATABASE": "app"})
