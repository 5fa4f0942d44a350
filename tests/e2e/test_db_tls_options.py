"""A router's tls.options hold for database clients routed by user@host.

A MySQL or PostgreSQL client that sends no SNI is terminated with the default tls.options before
snigate can read `user@host`; a router that requires a client certificate must then refuse it, in
the client's own protocol, rather than be reached over a handshake that verified nothing. Clients
that send SNI get the router's own options and log in with a good certificate only."""
from __future__ import annotations

import os
import ssl

import pymysql
import pytest

from harness import servers
from harness.configs import addr, lb, router
from harness.pg import gw_conninfo, psql
from harness.pki import make_pki
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, run


@pytest.fixture(scope="module")
def tpki(tmp_path_factory):
    p = make_pki(tmp_path_factory.mktemp("dbopts-pki"), {
        "secure": ["secure.test"], "open": ["open.test"], "default": ["default.test"], "client": ["client.test"],
    })
    os.chmod(p["client"].key, 0o600)  # libpq refuses a key others may read
    return p


@pytest.fixture(scope="module")
def stranger(tmp_path_factory):
    """A client certificate from a CA snigate does not trust."""
    p = make_pki(tmp_path_factory.mktemp("dbopts-stranger"), {"client": ["client.test"]})
    os.chmod(p["client"].key, 0o600)
    return p


@pytest.fixture(scope="module")
def maria(request, tmp_path_factory):
    db = servers.start_mariadb(tmp_path_factory.mktemp("dbopts-mariadb"))
    request.addfinalizer(db.stop)
    return db


@pytest.fixture(scope="module")
def pg(request, tmp_path_factory):
    db = servers.start_postgres(tmp_path_factory.mktemp("dbopts-pg"))
    request.addfinalizer(db.stop)
    return db


@pytest.fixture(scope="module")
def gw(request, snigate_bin, tmp_path_factory, tpki, maria, pg):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate speaks neither MySQL nor PostgreSQL")
    my, pgp = free_port(), free_port()
    mtls = {"options": "mtls"}
    cfg = {
        "entryPoints": {"my": {"address": addr(my), "protocol": "mysql"},
                        "pg": {"address": addr(pgp), "protocol": "postgres"}},
        "tcp": {
            "routers": {
                "mysecure": router("HostSNI(`secure.test`)", "maria", eps=["my"], tls=mtls),
                "myopen": router("HostSNI(`open.test`)", "maria", eps=["my"], tls={}),
                "pgsecure": router("HostSNI(`secure.test`)", "pg", eps=["pg"], tls=mtls),
                "pgopen": router("HostSNI(`open.test`)", "pg", eps=["pg"], tls={}),
            },
            "services": {"maria": lb(addr(maria.port)), "pg": lb(addr(pg.port))},
        },
        "tls": {
            "options": {"mtls": {"clientAuth": {"clientAuthType": "RequireAndVerifyClientCert",
                                                "caFiles": [str(tpki.ca_cert)]}}},
            "certificates": [{"certFile": str(tpki[n].cert), "keyFile": str(tpki[n].key)} for n in ("secure", "open")],
            "stores": {"default": {"defaultCertificate": {"certFile": str(tpki["default"].cert),
                                                          "keyFile": str(tpki["default"].key)}}},
        },
    }
    sg = Snigate(tmp_path_factory.mktemp("snigate-dbopts"), cfg, name="snigate-dbopts")
    request.addfinalizer(sg.teardown)
    return sg.start()


def mariadb(port: int, user: str, ca, cert=None, key=None):
    argv = ["mariadb", "--no-defaults", "-h", LOCALHOST, "-P", str(port), "-u", user, "-psecret",
            "--connect-timeout=5", "-N", "-B", "-e", "select 40 + 2", "--ssl", f"--ssl-ca={ca}"]
    if cert:
        argv += [f"--ssl-cert={cert}", f"--ssl-key={key}"]
    return run(argv, timeout=20)


# ---------------------------------------------------------------- MySQL

@pytest.mark.parametrize("with_cert", [False, True], ids=["no-cert", "good-cert"])
def test_mysql_user_at_host_cannot_reach_a_router_that_requires_client_certs(gw, tpki, with_cert):
    """The mariadb client sends no SNI: its handshake used the default options, which ask for no
    certificate, so even a client holding a good one was not verified and must be refused."""
    mark = gw.access_mark()
    cert = tpki["client"] if with_cert else None
    cp = mariadb(gw.ports["my"], "alice@secure.test", tpki.ca_cert, cert and cert.cert, cert and cert.key)
    assert cp.returncode != 0, cp.stdout
    assert 'router mysecure requires tls.options "mtls"' in cp.stderr, cp.stderr
    assert 'used tls.options "default"' in cp.stderr and "--tls-sni-servername" in cp.stderr, cp.stderr
    e = gw.wait_access(lambda e: e.get("end") == "tls_options_mismatch", what="the refusal's access entry", after=mark)
    assert e["router"] == "mysecure" and e["sni"] == "secure.test", e
    assert "42" not in cp.stdout


def test_mysql_user_at_host_reaches_a_router_with_the_default_options(gw, tpki):
    cp = mariadb(gw.ports["my"], "alice@open.test", tpki.ca_cert)
    assert cp.returncode == 0 and cp.stdout.strip() == "42", cp.stderr


def _pymysql(gw, tpki, cert=None):
    class SniContext(ssl.SSLContext):  # PyMySQL connects to an IP here; the name travels as SNI
        def wrap_socket(self, sock, server_hostname=None, **kw):
            return super().wrap_socket(sock, server_hostname="secure.test", **kw)
    ctx = SniContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(tpki.ca_cert))
    if cert:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    return pymysql.connect(host=LOCALHOST, port=gw.ports["my"], user="alice", password="secret", ssl=ctx,
                           connect_timeout=5)


def test_mysql_with_sni_gets_the_routers_options(gw, tpki, stranger):
    conn = _pymysql(gw, tpki, tpki["client"])
    try:
        with conn.cursor() as cur:
            cur.execute("select 40 + 2")
            assert cur.fetchone()[0] == 42
    finally:
        conn.close()
    for cert in (None, stranger["client"]):
        mark = gw.access_mark()
        with pytest.raises(pymysql.err.OperationalError):
            _pymysql(gw, tpki, cert).close()
        e = gw.wait_access(lambda e: e.get("end") == "tls_handshake_failed", what="the failed handshake", after=mark)
        assert e["sni"] == "secure.test", e


# ---------------------------------------------------------------- PostgreSQL

def test_postgres_user_at_host_cannot_reach_a_router_that_requires_client_certs(gw, tpki):
    mark = gw.access_mark()
    dsn = gw_conninfo(gw.ports["pg"], None, user="alice@secure.test", sslmode="require", sslsni=0,
                      sslcert=tpki["client"].cert, sslkey=tpki["client"].key)
    cp = psql(dsn, "select 40 + 2", password="secret")
    assert not cp.ok, cp
    assert 'router pgsecure requires tls.options "mtls"' in cp.err, cp
    assert "sslsni=1" in cp.err, cp
    e = gw.wait_access(lambda e: e.get("end") == "tls_options_mismatch", what="the refusal's access entry", after=mark)
    assert e["router"] == "pgsecure", e


def test_postgres_user_at_host_reaches_a_router_with_the_default_options(gw):
    dsn = gw_conninfo(gw.ports["pg"], None, user="alice@open.test", dbname="app", sslmode="require", sslsni=0)
    cp = psql(dsn, "select 40 + 2", password="secret")
    assert cp.ok and cp.out == "42", cp


def test_postgres_with_sni_gets_the_routers_options(gw, tpki, stranger):
    good = gw_conninfo(gw.ports["pg"], "secure.test", tpki.ca_cert, sslcert=tpki["client"].cert,
                       sslkey=tpki["client"].key)
    cp = psql(good, "select 40 + 2", password="secret")
    assert cp.ok and cp.out == "42", cp
    for cert in (None, stranger["client"]):
        mark = gw.access_mark()
        # Without sslcert, libpq would look in ~/.postgresql; point it at nothing.
        dsn = gw_conninfo(gw.ports["pg"], "secure.test", tpki.ca_cert,
                          sslcert=cert.cert if cert else "/nonexistent", sslkey=cert.key if cert else "/nonexistent")
        cp = psql(dsn, "select 40 + 2", password="secret")
        assert not cp.ok, cp
        e = gw.wait_access(lambda e: e.get("end") == "tls_handshake_failed", what="the failed handshake", after=mark)
        assert e["sni"] == "secure.test", e
