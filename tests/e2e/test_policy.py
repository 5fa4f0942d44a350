"""tcp.middlewares (docs/policy.md): ipAllowList, inFlightConn and rateLimit on terminated TLS,
passthrough, plain TCP, MySQL and PostgreSQL routers. Clients connect from other loopback
addresses (127.0.0.2, 127.0.0.3) so that their addresses differ; every backend is a stub that
counts what it accepts, so "closed before any byte reaches the backend" is checked by its count.
No database server is needed: every refusal here comes before snigate connects to one."""
from __future__ import annotations

import socket
import ssl

import pymysql
import pytest

from harness import pg
from harness.configs import addr, router
from harness.snigate import Snigate, run_cli
from harness.stubsrv import StubServer, hold
from harness.tlsprobe import attempt, client_context, client_hello
from harness.util import LOCALHOST, free_port, to_yaml, wait_until

INSIDE = "127.0.0.2"    # in the allow list
OUTSIDE = "127.0.0.3"   # not in it (nor is 127.0.0.1)

MIDDLEWARES = {
    "local2": {"ipAllowList": {"sourceRange": [f"{INSIDE}/32", "::1"]}},
    "two": {"inFlightConn": {"amount": 2}},
    "zero": {"inFlightConn": {"amount": 0}},
    "slow": {"rateLimit": {"average": 1, "period": "1m", "burst": 3}},
    "one": {"inFlightConn": {"amount": 1}},
}


@pytest.fixture(scope="module")
def stubs(request):
    """One counting backend per router, so each test reads its own counter."""
    made = {name: StubServer(hold) for name in
            ("term", "pass", "plain", "held", "none", "rate", "mysql", "pg")}
    for s in made.values():
        request.addfinalizer(s.close)
    return made


def policy_config(stubs, pki, ports: dict, middlewares=None) -> dict:
    def svc(name):
        return {"loadBalancer": {"servers": [{"address": stubs[name].address}]}}

    def with_mw(r, *names):
        r["middlewares"] = list(names)
        return r

    eps = {name: {"address": addr(port)} for name, port in ports.items()}
    eps["my"]["protocol"] = "mysql"
    eps["pg"]["protocol"] = "postgres"
    return {
        "entryPoints": eps,
        "tcp": {
            "middlewares": middlewares if middlewares is not None else MIDDLEWARES,
            "routers": {
                "term": with_mw(router("HostSNI(`a.test`)", "term", eps=["tls"], tls={}), "local2"),
                "pass": with_mw(router("HostSNI(`backend.test`)", "pass", eps=["tls"], tls={"passthrough": True}),
                                "local2"),
                "plain": with_mw(router("HostSNI(`*`)", "plain", eps=["plain"]), "local2"),
                "held": with_mw(router("HostSNI(`*`)", "held", eps=["held"]), "local2@file", "two"),
                "none": with_mw(router("HostSNI(`*`)", "none", eps=["none"]), "zero"),
                "rate": with_mw(router("HostSNI(`*`)", "rate", eps=["rate"]), "slow"),
                "mydb": dict(with_mw(router("HostSNI(`db.test`)", "mysql", eps=["my"], tls={}), "local2"),
                             mysql={"allowPlaintext": True}),
                "mybusy": dict(with_mw(router("HostSNI(`busy.test`)", "mysql", eps=["my"], tls={}), "zero"),
                               mysql={"allowPlaintext": True}),
                "pgdb": dict(with_mw(router("HostSNI(`db.test`)", "pg", eps=["pg"], tls={}), "local2"),
                             postgres={"allowPlaintext": True}),
                "pgbusy": dict(with_mw(router("HostSNI(`busy.test`)", "pg", eps=["pg"], tls={}), "zero"),
                               postgres={"allowPlaintext": True}),
                "pgpass": with_mw(router("HostSNI(`pass.test`)", "pg", eps=["pg"], tls={"passthrough": True}),
                                  "local2"),
                # One slot each: a connection that ends any other way than the relay must give it back.
                "who": with_mw(router("HostSNI(`who.test`)", "whoami@internal", eps=["tls"], tls={}), "one"),
                "dead": with_mw(router("HostSNI(`dead.test`)", "dead", eps=["tls"], tls={}), "one"),
            },
            "services": {**{name: svc(name) for name in stubs},
                         "dead": {"loadBalancer": {"servers": [{"address": addr(free_port())}]}}},
        },
        "tls": {"certificates": [{"certFile": str(pki["a"].cert), "keyFile": str(pki["a"].key)}]},
    }


@pytest.fixture(scope="module")
def sg(request, snigate_bin, tmp_path_factory, pki, stubs):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate has no middlewares")
    ports = {name: free_port() for name in ("tls", "plain", "held", "none", "rate", "my", "pg")}
    inst = Snigate(tmp_path_factory.mktemp("snigate-policy"), policy_config(stubs, pki, ports), name="snigate-policy")
    request.addfinalizer(inst.teardown)
    return inst.start()


def connect_from(source: str, port: int, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection((LOCALHOST, port), timeout=timeout, source_address=(source, 0))


def closed_without_a_byte(sock: socket.socket) -> bool:
    """True when the peer closes (FIN or reset) without sending anything."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def refused_entry(sg, router_name: str, middleware: str, after: int) -> dict:
    e = sg.wait_access(lambda e: e.get("end") == "denied" and e.get("router") == router_name,
                       what=f"router {router_name}'s denied entry", after=after)
    assert f"router {router_name}" in e["detail"] and f"middleware {middleware}" in e["detail"], e
    return e


# ---------------------------------------------------------------- ipAllowList

def test_terminated_tls_outside_gets_alert_access_denied(sg, pki, stubs):
    before = stubs["term"].accepted
    mark = sg.access_mark()
    a = attempt(sg.ports["tls"], "a.test", client_context(pki.ca_cert), source=OUTSIDE)
    assert isinstance(a.error, ssl.SSLError) and "TLSV1_ALERT_ACCESS_DENIED" in str(a.error), a
    e = refused_entry(sg, "term", "local2", mark)
    assert "ipAllowList" in e["detail"] and "127.0.0.2" not in e["detail"], "the ranges are never named"
    assert stubs["term"].accepted == before, "nothing may reach the backend"


def test_terminated_tls_inside_reaches_the_backend(sg, pki, stubs):
    before = stubs["term"].accepted
    raw = connect_from(INSIDE, sg.ports["tls"])
    try:
        tls = client_context(pki.ca_cert).wrap_socket(raw, server_hostname="a.test")
        assert tls.version()
        wait_until(lambda: stubs["term"].accepted > before, 5, "the backend to accept")
        tls.close()
    finally:
        raw.close()


def test_passthrough_outside_gets_alert_and_backend_nothing(sg, pki, stubs):
    before = stubs["pass"].accepted
    mark = sg.access_mark()
    a = attempt(sg.ports["tls"], "backend.test", client_context(pki.ca_cert), source=OUTSIDE)
    assert isinstance(a.error, ssl.SSLError) and "ACCESS_DENIED" in str(a.error), a
    refused_entry(sg, "pass", "local2", mark)
    assert stubs["pass"].accepted == before


def test_passthrough_inside_reaches_the_backend(sg, stubs):
    before = stubs["pass"].accepted
    with connect_from(INSIDE, sg.ports["tls"]) as s:
        s.sendall(client_hello("backend.test"))  # the stub never answers it
        wait_until(lambda: stubs["pass"].accepted > before, 5, "the passthrough backend to accept")


@pytest.mark.parametrize("source", ["127.0.0.1", OUTSIDE])
def test_plain_outside_is_closed_before_the_backend(sg, stubs, source):
    before = stubs["plain"].accepted
    mark = sg.access_mark()
    with connect_from(source, sg.ports["plain"]) as s:
        s.sendall(b"hello\n")
        assert closed_without_a_byte(s)
    refused_entry(sg, "plain", "local2", mark)
    assert stubs["plain"].accepted == before


def test_plain_inside_reaches_the_backend(sg, stubs):
    before = stubs["plain"].accepted
    with connect_from(INSIDE, sg.ports["plain"]) as s:
        s.sendall(b"hello\n")
        wait_until(lambda: stubs["plain"].accepted > before, 5, "the plain backend to accept")


def test_refusals_are_logged_with_router_and_middleware(sg):
    log = sg.wait_log("middleware local2 (ipAllowList) does not allow this client's address")
    assert "router plain" in log or "router term" in log, log


# ---------------------------------------------------------------- MySQL and PostgreSQL

def test_mysql_outside_gets_err_1130(sg, stubs):
    before = stubs["mysql"].accepted
    with pytest.raises(pymysql.err.OperationalError) as err:
        pymysql.connect(host=LOCALHOST, port=sg.ports["my"], user="alice@db.test", password="x",
                        bind_address=OUTSIDE, connect_timeout=5)
    code, message = err.value.args[0], err.value.args[1]
    assert code == 1130, err.value
    assert "router mydb" in message and "middleware local2 (ipAllowList)" in message, message
    assert "127.0.0.2" not in message
    assert stubs["mysql"].accepted == before


def test_mysql_in_flight_zero_gets_err_1040(sg, stubs):
    before = stubs["mysql"].accepted
    with pytest.raises(pymysql.err.OperationalError) as err:
        pymysql.connect(host=LOCALHOST, port=sg.ports["my"], user="alice@busy.test", password="x",
                        bind_address=INSIDE, connect_timeout=5)
    assert err.value.args[0] == 1040, err.value
    assert "router mybusy" in err.value.args[1] and "middleware zero (inFlightConn)" in err.value.args[1]
    assert "admits no connection" in err.value.args[1], "amount 0 does not blame open connections"
    assert stubs["mysql"].accepted == before


def test_mysql_inside_reaches_the_backend(sg, stubs):
    before = stubs["mysql"].accepted
    with pytest.raises(pymysql.err.MySQLError):  # the stub never answers like a server
        pymysql.connect(host=LOCALHOST, port=sg.ports["my"], user="alice@db.test", password="x",
                        bind_address=INSIDE, connect_timeout=3, read_timeout=3)
    wait_until(lambda: stubs["mysql"].accepted > before, 5, "the MySQL backend to accept")


def pg_login(port: int, source: str, user: str, tls: bool, ca=None) -> pg.PgError:
    """A StartupMessage from `source` (after TLS when asked, SNI db.test); the ErrorResponse."""
    raw = connect_from(source, port)
    sock = raw
    try:
        if tls:
            raw.sendall(pg.SSL_REQUEST)
            assert raw.recv(1) == b"S"
            sock = pg.tls_client_context(ca, alpn=None).wrap_socket(raw, server_hostname="db.test")
        sock.sendall(pg.startup_message({"user": user, "database": "postgres"}))
        mtype, body = pg.read_message(sock)
        assert mtype == "E", (mtype, body)
        return pg.PgError(pg.parse_error_fields(body))
    finally:
        sock.close()
        raw.close()


def test_postgres_outside_gets_fatal_28000(sg, stubs):
    before = stubs["pg"].accepted
    e = pg_login(sg.ports["pg"], OUTSIDE, "alice@db.test", tls=False)
    assert e.fields.get("S") == "FATAL" and e.sqlstate == "28000", e
    assert "router pgdb" in e.message and "middleware local2 (ipAllowList)" in e.message, e
    assert stubs["pg"].accepted == before


def test_postgres_over_tls_outside_gets_fatal_28000(sg, pki, stubs):
    """The name is inside TLS, so the chain runs after that handshake: the refusal comes in TLS."""
    before = stubs["pg"].accepted
    e = pg_login(sg.ports["pg"], OUTSIDE, "alice", tls=True)
    assert e.sqlstate == "28000" and "router pgdb" in e.message, e
    assert stubs["pg"].accepted == before


def test_postgres_passthrough_outside_gets_alert_access_denied(sg, stubs):
    """A passthrough route is chosen from the ClientHello: the refusal is an alert, and snigate
    does not end the client's TLS just to say it."""
    before = stubs["pg"].accepted
    with connect_from(OUTSIDE, sg.ports["pg"]) as raw:
        raw.sendall(pg.SSL_REQUEST)
        assert raw.recv(1) == b"S"
        with pytest.raises(ssl.SSLError, match="ACCESS_DENIED"):
            pg.tls_client_context(None, alpn=None).wrap_socket(raw, server_hostname="pass.test")
    assert stubs["pg"].accepted == before


def test_postgres_in_flight_zero_gets_fatal_53300(sg, stubs):
    before = stubs["pg"].accepted
    e = pg_login(sg.ports["pg"], INSIDE, "alice@busy.test", tls=False)
    assert e.fields.get("S") == "FATAL" and e.sqlstate == "53300", e
    assert "router pgbusy" in e.message and "middleware zero (inFlightConn) admits no connection" in e.message, e
    assert stubs["pg"].accepted == before


# ---------------------------------------------------------------- inFlightConn and rateLimit

def unverified():
    return client_context(None)


def test_whoami_gives_its_slot_back(sg):
    """whoami@internal answers without a relay: its slot is given back when it is done. The
    client sees the close a moment before snigate has finished with the connection, so each
    next attempt may have to wait for that; with the slot never given back none would pass."""
    def answered():
        a = attempt(sg.ports["tls"], "who.test", unverified(), source=INSIDE)
        return a if a.error is None and "router: who" in a.reply else None
    for _ in range(3):
        wait_until(answered, 5, "whoami to answer through inFlightConn amount 1")


def test_a_refusal_after_the_chain_gives_the_slot_back(sg):
    """The chain lets the client in, then no server answers: a later client is refused for that
    reason again, not by inFlightConn (whose one slot the first would otherwise still hold)."""
    def unreachable():
        mark = sg.access_mark()
        a = attempt(sg.ports["tls"], "dead.test", unverified(), source=INSIDE)
        e = sg.wait_access_from(int(a.client.rsplit(":", 1)[1]), after=mark, host=INSIDE)
        assert e["router"] == "dead", e
        return e if e["end"] != "denied" else None
    for _ in range(3):
        wait_until(unreachable, 5, "a connection to dead.test that the chain lets through")


def test_in_flight_amount_then_one_more_after_a_close(sg, stubs):
    port = sg.ports["held"]
    before = stubs["held"].accepted
    held = [connect_from(INSIDE, port) for _ in range(2)]
    try:
        for s in held:
            s.sendall(b"x")
        wait_until(lambda: stubs["held"].accepted >= before + 2, 5, "both held connections to reach the backend")
        mark = sg.access_mark()
        with connect_from(INSIDE, port) as third:
            third.sendall(b"x")
            assert closed_without_a_byte(third), "the third connection from one address must be refused"
        e = refused_entry(sg, "held", "two", mark)
        assert "inFlightConn" in e["detail"], e
        assert stubs["held"].accepted == before + 2
        # Another address has its own count.
        with connect_from("127.0.0.4", port) as other:
            other.sendall(b"x")
            # 127.0.0.4 is outside local2, which comes first in the chain.
            assert closed_without_a_byte(other)
        held.pop().close()
        # The slot comes back when snigate sees the close; poll until a new one is taken.
        def admitted():
            s = connect_from(INSIDE, port)
            s.sendall(b"x")
            s.settimeout(0.3)
            try:
                if s.recv(1) == b"":
                    s.close()
                    return None
            except ConnectionResetError:
                s.close()
                return None
            except socket.timeout:
                pass  # held open: admitted
            return s
        again = wait_until(admitted, 5, "a new connection to be admitted after one closed")
        held.append(again)
        wait_until(lambda: stubs["held"].accepted == before + 3, 5, "the new connection to reach the backend")
    finally:
        for s in held:
            s.close()


def test_amount_zero_refuses_everyone(sg, stubs):
    before = stubs["none"].accepted
    for source in ("127.0.0.1", INSIDE):
        with connect_from(source, sg.ports["none"]) as s:
            s.sendall(b"x")
            assert closed_without_a_byte(s)
    assert stubs["none"].accepted == before


def test_rate_limit_burst_then_refusals(sg, stubs):
    before = stubs["rate"].accepted
    results = []
    for _ in range(5):
        with connect_from("127.0.0.5", sg.ports["rate"]) as s:
            s.sendall(b"x")
            s.settimeout(0.5)
            try:
                results.append("refused" if s.recv(1) == b"" else "data")
            except ConnectionResetError:
                results.append("refused")
            except socket.timeout:
                results.append("held")
    assert results == ["held"] * 3 + ["refused"] * 2, results
    wait_until(lambda: stubs["rate"].accepted == before + 3, 5, "three connections to reach the backend")
    with connect_from("127.0.0.6", sg.ports["rate"]) as s:  # another address: its own bucket
        s.sendall(b"x")
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(1)


# ---------------------------------------------------------------- reloads and bad configurations

def test_reload_keeps_in_flight_counts(make_snigate, pki, stubs):
    ports = {name: free_port() for name in ("tls", "plain", "held", "none", "rate", "my", "pg")}
    cfg = policy_config(stubs, pki, ports)
    inst = make_snigate(cfg, name="policy-reload")
    port = inst.ports["held"]
    before = stubs["held"].accepted
    held = [connect_from(INSIDE, port) for _ in range(2)]
    try:
        for s in held:
            s.sendall(b"x")
        wait_until(lambda: stubs["held"].accepted >= before + 2, 5, "both held connections to reach the backend")
        cfg2 = policy_config(stubs, pki, ports, middlewares={**MIDDLEWARES, "unused": {"inFlightConn": {"amount": 9}}})
        inst.reload(cfg2)
        with connect_from(INSIDE, port) as third:
            third.sendall(b"x")
            assert closed_without_a_byte(third), "a reload must not reset the in-flight count"
        # A bad reload is refused and the old configuration keeps serving (with its counts).
        bad = policy_config(stubs, pki, ports, middlewares={**MIDDLEWARES, "local2": {"ipAllowList": {"sourceRange": []}}})
        log = inst.reload(bad, expect_ok=False)
        assert "tcp.middlewares.local2.ipAllowList.sourceRange: must not be empty" in log, log
        with connect_from(INSIDE, port) as third:
            third.sendall(b"x")
            assert closed_without_a_byte(third)
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize("case", ["empty-range", "unknown-middleware", "two-types"])
def test_bad_policy_is_refused_at_start(tmp_path, snigate_bin, pki, stubs, case):
    ports = {name: free_port() for name in ("tls", "plain", "held", "none", "rate", "my", "pg")}
    cfg = policy_config(stubs, pki, ports)
    if case == "empty-range":
        cfg["tcp"]["middlewares"]["local2"] = {"ipAllowList": {"sourceRange": []}}
        expected = "tcp.middlewares.local2.ipAllowList.sourceRange: must not be empty"
    elif case == "unknown-middleware":
        cfg["tcp"]["routers"]["plain"]["middlewares"] = ["lcal2"]
        expected = 'tcp.routers.plain.middlewares[0]: unknown middleware "lcal2" (did you mean "local2"?)'
    else:
        cfg["tcp"]["middlewares"]["two"] = {"inFlightConn": {"amount": 2}, "rateLimit": {"average": 1}}
        expected = "tcp.middlewares.two: has 2 types"
    path = tmp_path / "bad.yaml"
    path.write_text(to_yaml(cfg) + "\n")
    cp = run_cli(["--config", path], timeout=20)
    assert cp.returncode != 0
    out = cp.stdout + cp.stderr
    assert expected in out, out
    assert f"{path}:" in out, "the error names the file and line"


def test_explain_shows_the_chain(sg, tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(sg.config_path.read_text())
    cp = run_cli(["explain", "--config", path, "--entrypoint", "held", "--plain", "--client-ip", OUTSIDE])
    out = cp.stdout + cp.stderr
    assert cp.returncode == 1, out
    assert "middlewares of held, in order:" in out and "local2 (ipAllowList): 127.0.0.3 is NOT in the list" in out, out
    assert "two (inFlightConn): at most 2 open connections per client IP" in out, out
    assert out.index("local2 (ipAllowList)") < out.index("two (inFlightConn)")
    cp = run_cli(["explain", "--config", path, "--entrypoint", "held", "--plain", "--client-ip", INSIDE])
    assert cp.returncode == 0 and "127.0.0.2 is allowed" in cp.stdout, cp.stdout + cp.stderr


def test_explain_counts_one_in_the_singular(sg, tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(sg.config_path.read_text())
    cp = run_cli(["explain", "--config", path, "--entrypoint", "tls", "--sni", "who.test"])
    assert "one (inFlightConn): at most 1 open connection per client IP" in cp.stdout, cp.stdout + cp.stderr
    cp = run_cli(["explain", "--config", path, "--entrypoint", "rate", "--plain"])
    assert "slow (rateLimit): 1 new connection per 60000 ms per client IP, burst 3" in cp.stdout, cp.stdout + cp.stderr
    cp = run_cli(["explain", "--config", path, "--entrypoint", "plain", "--plain"])
    assert "local2 (ipAllowList): 2 ranges; give --client-ip" in cp.stdout, cp.stdout + cp.stderr
