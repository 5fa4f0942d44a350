"""Plain (non-TLS) clients: client-first (redis-cli) on the mixed entry point, server-first
(MariaDB) on a plain-only entry point and on a mixed one after firstByteTimeout."""
import time

import pytest

from harness.configs import addr, lb, router
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, run


def test_redis_cli_through_mixed_entry_point(gw):
    t0 = time.monotonic()
    cp = run(["redis-cli", "-h", LOCALHOST, "-p", str(gw.web), "ping"], timeout=10)
    elapsed = time.monotonic() - t0
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "PONG"
    # A client that speaks first is routed at once, not after firstByteTimeout (300ms).
    assert elapsed < 0.3, f"took {elapsed:.2f}s"


def test_redis_set_get_through_mixed_entry_point(gw):
    cli = ["redis-cli", "-h", LOCALHOST, "-p", str(gw.web)]
    assert run(cli + ["set", "snigate-e2e", "value-42"], check=True).stdout.strip() == "OK"
    assert run(cli + ["get", "snigate-e2e"], check=True).stdout.strip() == "value-42"


@pytest.fixture(scope="module")
def dbgw(request, snigate_bin, tmp_path_factory, pki, mariadb, nginx):
    """snigate with `db` (plain-only -> MariaDB) and `mixdb` (a TLS router plus a HostSNI(*)
    catch-all -> MariaDB, firstByteTimeout 300ms)."""
    cfg = {
        "entryPoints": {
            "db": {"address": addr(free_port())},
            "mixdb": {"address": addr(free_port()), "firstByteTimeout": "300ms"},
        },
        "tcp": {
            "routers": {
                "db": router("HostSNI(`*`)", "mariadb", eps=["db"]),
                "mixtls": router("HostSNI(`a.test`)", "web", eps=["mixdb"], tls={}),
                "mixdb": router("HostSNI(`*`)", "mariadb", eps=["mixdb"]),
            },
            "services": {
                "mariadb": lb(addr(mariadb.port)),
                "web": lb(addr(nginx.plain_ports["plain-1"])),
            },
        },
        "tls": {"certificates": [{"certFile": str(pki["a"].cert), "keyFile": str(pki["a"].key)}]},
    }
    sg = Snigate(tmp_path_factory.mktemp("snigate-db"), cfg, name="snigate-db")
    request.addfinalizer(sg.teardown)
    return sg.start()


def test_mariadb_plain_only_entry_point_no_delay(dbgw, mariadb):
    t0 = time.monotonic()
    cp = run(mariadb.client_argv(dbgw.ports["db"], "select 1"), timeout=10)
    elapsed = time.monotonic() - t0
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "1"
    assert elapsed < 0.8, f"server-first client on a plain-only entry point took {elapsed:.2f}s"


def test_mariadb_mixed_entry_point_after_first_byte_timeout(dbgw, mariadb):
    mark = dbgw.access_mark()
    t0 = time.monotonic()
    cp = run(mariadb.client_argv(dbgw.ports["mixdb"], "select 7*6"), timeout=10)
    elapsed = time.monotonic() - t0
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "42"
    assert 0.25 <= elapsed < 3.0, f"took {elapsed:.2f}s (firstByteTimeout is 300ms)"
    # Entries after the mark and with bytes both ways: not the start-up probe's connection,
    # which also ends at the catch-all once firstByteTimeout passes.
    e = dbgw.wait_access(lambda e: e.get("router") == "mixdb" and int(e.get("bytes_in", 0)) > 0, after=mark,
                         what="access log line for the mariadb client through mixdb")
    assert e["entry_point"] == "mixdb"
    assert not e.get("sni")
    assert e["end"] == "closed" and int(e["bytes_out"]) > 0, e


def test_mixed_entry_point_still_routes_tls(dbgw, pki):
    from harness.clients import curl
    r = curl("a.test", dbgw.ports["mixdb"], "/name", ca=pki.ca_cert)
    assert (r.rc, r.body.strip()) == (0, "plain-1"), r.stderr


def test_pymysql_plain_only_entry_point(dbgw, mariadb):
    pymysql = pytest.importorskip("pymysql")
    conn = pymysql.connect(host=LOCALHOST, port=dbgw.ports["db"], user=mariadb.user,
                           password=mariadb.password, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("select 'through-snigate'")
            assert cur.fetchone() == ("through-snigate",)
    finally:
        conn.close()
