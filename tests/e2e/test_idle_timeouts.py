"""Idle database sessions: `tcpIdleTimeout` (entry point) and a router's `idleTimeout` override,
with real PostgreSQL and MariaDB sessions through snigate; Traefik's
`transport.respondingTimeouts.idleTimeout` (an HTTP keep-alive setting) no longer cuts them.

  entry point  protocol  timeouts                              routers
  pg           postgres  tcpIdleTimeout 1500ms                 pgshort (pg-short.test), pglong (pg-long.test, idleTimeout 0)
  my           mysql     tcpIdleTimeout 1500ms                 myshort (my-short.test), mylong (my-long.test, idleTimeout 30s)
  pghttp       postgres  respondingTimeouts.idleTimeout 1s     pghttp (pg-short.test)

Idling is what these tests test, so each holds a session idle for a bounded few seconds."""
from __future__ import annotations

import ssl
import time

import pytest

from harness import servers
from harness.configs import addr, lb, router
from harness.pg import one, psycopg2_connect
from harness.pki import make_pki
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port

psycopg2 = pytest.importorskip("psycopg2", reason="python3-psycopg2 not installed (scripts/install-deps.sh --test)")
pymysql = pytest.importorskip("pymysql", reason="python3-pymysql not installed (scripts/install-deps.sh --test)")

IDLE_S = 1.5  # tcpIdleTimeout of the pg and my entry points


@pytest.fixture(scope="module")
def idlepki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("idle-pki"), {
        "pg-short": ["pg-short.test"], "pg-long": ["pg-long.test"],
        "my-short": ["my-short.test"], "my-long": ["my-long.test"],
    })


@pytest.fixture(scope="module")
def pgdb(request, tmp_path_factory):
    if not servers.PG_BIN.is_dir():
        pytest.skip(f"PostgreSQL server not installed ({servers.PG_BIN}): scripts/install-deps.sh --test")
    db = servers.start_postgres(tmp_path_factory.mktemp("idle-pg"))
    request.addfinalizer(db.stop)
    return db


@pytest.fixture(scope="module")
def mydb(request, tmp_path_factory):
    try:
        db = servers.start_mariadb(tmp_path_factory.mktemp("idle-mariadb"))
    except Exception as e:  # noqa: BLE001 - any start-up failure means "not available here"
        pytest.skip(f"MariaDB could not be started: {e}")
    request.addfinalizer(db.stop)
    return db


@pytest.fixture(scope="module")
def gw(request, snigate_bin, tmp_path_factory, idlepki, pgdb, mydb):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not speak PostgreSQL or MySQL")
    idle = f"{int(IDLE_S * 1000)}ms"
    cfg = {
        "entryPoints": {
            "pg": {"address": addr(free_port()), "protocol": "postgres", "tcpIdleTimeout": idle},
            "my": {"address": addr(free_port()), "protocol": "mysql", "tcpIdleTimeout": idle},
            "pghttp": {"address": addr(free_port()), "protocol": "postgres",
                       "transport": {"respondingTimeouts": {"idleTimeout": "1s"}}},
        },
        "tcp": {
            "routers": {
                "pgshort": router("HostSNI(`pg-short.test`)", "pg", eps=["pg"], tls={}),
                "pglong": {**router("HostSNI(`pg-long.test`)", "pg", eps=["pg"], tls={}), "idleTimeout": "0"},
                "myshort": router("HostSNI(`my-short.test`)", "my", eps=["my"], tls={}),
                "mylong": {**router("HostSNI(`my-long.test`)", "my", eps=["my"], tls={}), "idleTimeout": "30s"},
                "pghttp": router("HostSNI(`pg-short.test`)", "pg", eps=["pghttp"], tls={}),
            },
            "services": {"pg": lb(addr(pgdb.port)), "my": lb(addr(mydb.port))},
        },
        "tls": {"certificates": [{"certFile": str(idlepki[n].cert), "keyFile": str(idlepki[n].key)}
                                 for n in ("pg-short", "pg-long", "my-short", "my-long")]},
    }
    sg = Snigate(tmp_path_factory.mktemp("snigate-idle"), cfg, name="snigate-idle")
    request.addfinalizer(sg.teardown)
    return sg.start()


def pg_session(gw, ca, ep: str, name: str):
    return psycopg2_connect(gw.ports[ep], name, ca)


def my_session(gw, ca, name: str):
    """PyMySQL over TLS with SNI `name` (PyMySQL would send none for an IP address)."""
    class Ctx(ssl.SSLContext):
        def wrap_socket(self, sock, server_hostname=None, **kw):
            return super().wrap_socket(sock, server_hostname=name, **kw)
    ctx = Ctx(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca))
    return pymysql.connect(host=LOCALHOST, port=gw.ports["my"], user="alice", password="secret", ssl=ctx,
                           connect_timeout=5)


def my_one(conn, sql: str):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def ended(gw, router_name: str, before: int, timeout: float) -> dict:
    return gw.wait_access(lambda e: e.get("router") == router_name, timeout=timeout, after=before,
                          what=f"access log line of a session through {router_name}")


def idle_until(t: float) -> None:
    """Hold a session idle until monotonic time t (the idling is the test, not a wait for state)."""
    time.sleep(max(0.0, t - time.monotonic()))


def test_pg_idle_session_closed_after_tcp_idle_timeout_but_router_override_keeps_its_own(gw, idlepki):
    before = gw.access_mark()
    ca = idlepki.ca_cert
    short, long_ = pg_session(gw, ca, "pg", "pg-short.test"), pg_session(gw, ca, "pg", "pg-long.test")
    try:
        assert one(short, "select 1") == 1 and one(long_, "select 2") == 2
        t0 = time.monotonic()
        e = ended(gw, "pgshort", before, timeout=IDLE_S + 4)
        took = time.monotonic() - t0
        assert e["end"] == "idle_timeout", e
        assert IDLE_S - 0.3 <= took <= IDLE_S + 3, f"closed after {took:.2f}s; tcpIdleTimeout is {IDLE_S}s"
        with pytest.raises(psycopg2.OperationalError):
            one(short, "select 1")
        # pglong's idleTimeout 0 (no limit) replaces the entry point's: idle for twice the
        # entry point's timeout, it still answers and has no access log line yet.
        idle_until(t0 + 2 * IDLE_S)
        assert one(long_, "select 3") == 3
        assert not [x for x in gw.access_entries()[before:] if x.get("router") == "pglong"]
    finally:
        short.close()
        long_.close()
    assert ended(gw, "pglong", before, timeout=5)["end"] == "closed"


def test_mysql_idle_session_closed_after_tcp_idle_timeout_but_router_override_keeps_its_own(gw, idlepki):
    before = gw.access_mark()
    ca = idlepki.ca_cert
    short, long_ = my_session(gw, ca, "my-short.test"), my_session(gw, ca, "my-long.test")
    try:
        assert my_one(short, "select 1") == 1 and my_one(long_, "select 2") == 2
        t0 = time.monotonic()
        e = ended(gw, "myshort", before, timeout=IDLE_S + 4)
        took = time.monotonic() - t0
        assert e["end"] == "idle_timeout", e
        assert IDLE_S - 0.3 <= took <= IDLE_S + 3, f"closed after {took:.2f}s; tcpIdleTimeout is {IDLE_S}s"
        with pytest.raises(pymysql.err.OperationalError):
            my_one(short, "select 1")
        idle_until(t0 + 2 * IDLE_S)  # mylong's idleTimeout is 30s
        assert my_one(long_, "select 3") == 3
        assert not [x for x in gw.access_entries()[before:] if x.get("router") == "mylong"]
    finally:
        long_.close()
        try:
            short.close()
        except pymysql.err.Error:
            pass  # already cut


def test_responding_idle_timeout_no_longer_cuts_tcp_sessions(gw, idlepki):
    """respondingTimeouts.idleTimeout: 1s on pghttp is Traefik's HTTP keep-alive setting: a
    PostgreSQL session idle for 2.5 s is kept (before, snigate closed it after 1 s)."""
    before = gw.access_mark()
    conn = pg_session(gw, idlepki.ca_cert, "pghttp", "pg-short.test")
    try:
        assert one(conn, "select 1") == 1
        idle_until(time.monotonic() + 2.5)
        assert one(conn, "select 2") == 2
        assert not [x for x in gw.access_entries()[before:] if x.get("router") == "pghttp"]
    finally:
        conn.close()
    assert "respondingTimeouts.idleTimeout: ignored: an HTTP keep-alive setting" in gw.log()
