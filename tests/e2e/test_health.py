"""Services and health (docs/services.md): active health checks against real redis servers
killed and restarted while clients connect, TLS and MySQL/PostgreSQL protocol checks, passive
health, weighted services' split, and what `snigate explain` says about the next pick."""
from __future__ import annotations

import copy
import socket
import threading
import time

import pytest

from harness.clients import tls_get_name
from harness.configs import addr, lb, router
from harness.servers import Redis, _redis_ping
from harness.snigate import Snigate, run_cli
from harness.stubsrv import StubServer, sends
from harness.util import LOCALHOST, Proc, free_port, wait_until

INTERVAL = "300ms"
CHECK = {"send": "PING\r\n", "expect": "+PONG", "interval": INTERVAL, "timeout": "500ms"}
# A MySQL ERR packet as a server sends it instead of its greeting (no SQLSTATE marker).
_ERR_PAYLOAD = b"\xff" + (1040).to_bytes(2, "little") + b"Too many connections"
ERR_1040 = len(_ERR_PAYLOAD).to_bytes(3, "little") + b"\x00" + _ERR_PAYLOAD


def start_redis_on(workdir, port: int, name: str) -> Redis:
    proc = Proc(name, ["redis-server", "--port", str(port), "--bind", LOCALHOST, "--save", "",
                       "--appendonly", "no", "--dir", str(workdir)], workdir)
    wait_until(lambda: _redis_ping(port, proc), 10, f"{name} PONG", on_timeout=proc.logs)
    return Redis(proc, port)


def redis_port_via(port: int) -> int:
    """Through snigate: asks the redis server that answers which port it listens on."""
    with socket.create_connection((LOCALHOST, port), timeout=5) as s:
        s.sendall(b"CONFIG GET port\r\n")
        got = b""
        while got.count(b"\r\n") < 5:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed after {got!r}")
            got += chunk
    return int(got.split(b"\r\n")[4])


@pytest.fixture(scope="module")
def redises(request, tmp_path_factory):
    """Two redis servers of this module's own: the tests stop and restart them."""
    out = []
    for i in (1, 2):
        r = start_redis_on(tmp_path_factory.mktemp(f"redis-h{i}"), free_port(), f"redis-h{i}")
        out.append(r)
    request.addfinalizer(lambda: [r.stop() for r in out if r.proc.alive()])
    return out


@pytest.fixture(scope="module")
def stubs(request):
    """Fake database servers: one answers with MySQL's ERR 1040, one with garbage, one
    answers an SSLRequest with N (a PostgreSQL server without TLS)."""
    s = {"err": StubServer(sends(ERR_1040)), "garbage": StubServer(sends(b"HTTP/1.0 400 Bad\r\n\r\n")),
         "pg_n": StubServer(sends(b"N"))}
    for stub in s.values():
        request.addfinalizer(stub.close)
    return s


@pytest.fixture(scope="module")
def sg(request, snigate_bin, tmp_path_factory, pki, nginx, redises, stubs, mariadb):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not implement health checks")
    r1, r2 = redises
    ports = {n: free_port() for n in ("cache", "split", "skip", "passive", "db", "down")}
    passive_port = free_port()
    eps = {n: {"address": addr(p)} for n, p in ports.items()}
    services_of = {n: n for n in ports} | {"down": "deadchecked"}
    ports["tlsweb"] = free_port()
    eps["tlsweb"] = {"address": addr(ports["tlsweb"])}
    routers = {n: router("HostSNI(`*`)", services_of[n], eps=[n]) for n in services_of}
    routers["wtls"] = router("HostSNI(`wtls.wild.test`)", "wtls", eps=["tlsweb"], tls={})
    cfg = {
        "entryPoints": eps,
        "tls": {"certificates": [{"certFile": str(pki["wild"].cert), "keyFile": str(pki["wild"].key)}]},
        "tcp": {
            "routers": routers,
            "services": {
                "cache": {"loadBalancer": {"servers": [{"address": addr(r1.port)}, {"address": addr(r2.port)}],
                                           "healthCheck": CHECK}},
                "one": lb(addr(r1.port)),
                "two": lb(addr(r2.port)),
                "split": {"weighted": {"services": [{"name": "one@file", "weight": 3}, {"name": "two"}]}},
                "deadchecked": {"loadBalancer": {"servers": [{"address": addr(free_port())}],
                                                 "healthCheck": {"interval": INTERVAL}}},
                "skip": {"weighted": {"services": [{"name": "deadchecked", "weight": 5}, {"name": "one"}],
                                      "healthCheck": {}}},
                "passive": {"loadBalancer": {"servers": [{"address": addr(passive_port)}, {"address": addr(r1.port)}],
                                             "passiveHealthCheck": {"failures": 2, "downtime": "1s"}}},
                "db": {"loadBalancer": {"servers": [{"address": stubs["err"].address},
                                                    {"address": stubs["garbage"].address},
                                                    {"address": addr(mariadb.port)}],
                                        "healthCheck": {"protocol": "mysql", "interval": INTERVAL}}},
                "pg": {"loadBalancer": {"servers": [{"address": stubs["pg_n"].address},
                                                    {"address": stubs["garbage"].address}],
                                        "healthCheck": {"protocol": "postgres", "interval": INTERVAL}}},
                "tlsck": {"loadBalancer": {"servers": [{"address": addr(nginx.tls_port)}], "serversTransport": "good",
                                           "healthCheck": {"tls": True, "interval": INTERVAL}}},
                "tlsbad": {"loadBalancer": {"servers": [{"address": addr(nginx.tls_port)}], "serversTransport": "bad",
                                            "healthCheck": {"tls": True, "interval": INTERVAL}}},
                # A weighted service whose child re-encrypts: the child's transport is the one used.
                "reenc": lb(addr(nginx.tls_port), tls=True, transport="good"),
                "wtls": {"weighted": {"services": [{"name": "reenc"}]}},
            },
            "serversTransports": {
                "good": {"tls": {"serverName": "backend.test", "rootCAs": [str(pki.ca_cert)]}},
                "bad": {"tls": {"serverName": "wrong.test", "rootCAs": [str(pki.ca_cert)]}},
            },
        },
    }
    inst = Snigate(tmp_path_factory.mktemp("snigate-health"), cfg, name="snigate-health")
    inst.passive_port = passive_port
    request.addfinalizer(inst.teardown)
    return inst.start()


def test_killed_server_gets_no_client_once_down_and_returns_after_restart(sg, redises, tmp_path):
    r1, r2 = redises
    port = sg.ports["cache"]
    wait_until(lambda: {redis_port_via(port) for _ in range(4)} == {r1.port, r2.port}, 10, "both servers in use")
    results, stop = [], threading.Event()

    def clients():  # connects and asks which server answered until told to stop, or 60 s
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                results.append((time.monotonic(), redis_port_via(port)))
            except OSError as e:
                results.append((time.monotonic(), e))

    t = threading.Thread(target=clients, daemon=True)
    t.start()
    try:
        r2.stop()
        # The check's DOWN (passive health may say so first, after refused connections).
        wait_until(lambda: any(f"service cache server {addr(r2.port)} is DOWN" in ln and "(health check: " in ln
                               for ln in sg.log().splitlines()), 10, "the check's DOWN", on_timeout=sg.logs)
        down_at = time.monotonic()
        wait_until(lambda: sum(1 for at, _ in results if at > down_at) >= 20, 10, "20 connections after DOWN")
        after = [r for at, r in results if at > down_at]
        assert all(r == r1.port for r in after), after  # no failure, none sent to the dead server
        redises[1] = start_redis_on(tmp_path, r2.port, "redis-h2-again")
        sg.wait_log(f"service cache server {addr(r2.port)} is UP", timeout=10)
        up_at = time.monotonic()
        wait_until(lambda: any(r == r2.port for at, r in results if at > up_at), 10, "the restarted server in use")
    finally:
        stop.set()
        t.join(10)
    # A connection open on the server when it stopped may fail; none after the check said DOWN.
    failures = [r for at, r in results if isinstance(r, Exception) and at > down_at]
    assert failures == [], failures
    log = sg.log()
    downs = [ln for ln in log.splitlines() if f"service cache server {addr(r2.port)} is DOWN" in ln and "(health check: " in ln]
    assert len(downs) == 1, downs


def test_weighted_split_is_exact_and_smooth(sg, redises):
    r1, r2 = redises
    picks = [redis_port_via(sg.ports["split"]) for _ in range(40)]
    assert picks.count(r1.port) == 30 and picks.count(r2.port) == 10, picks
    # Smooth: weights 3 and 1 never give the heavy child four turns in a row.
    runs = "".join("a" if p == r1.port else "b" for p in picks)
    assert "aaaa" not in runs, runs


def test_weighted_health_check_skips_a_child_whose_servers_are_down(sg, redises):
    sg.wait_log("service deadchecked server", timeout=10)  # its check ran and found it down
    picks = [redis_port_via(sg.ports["skip"]) for _ in range(12)]
    assert picks == [redises[0].port] * 12, picks


def test_passive_health_takes_a_refusing_server_out_and_back(sg, redises):
    dead = addr(sg.passive_port)
    for _ in range(6):  # every connection succeeds: the refused server is passed over
        assert redis_port_via(sg.ports["passive"]) == redises[0].port
    log = sg.wait_log(f"service passive server {dead} is DOWN: 2 connection(s) in a row failed")
    assert "passive health" in log
    with socket.create_server((LOCALHOST, sg.passive_port)) as listener:
        listener.settimeout(5)

        def one_connection():  # after the 1 s downtime the next connection tries it again
            with socket.create_connection((LOCALHOST, sg.ports["passive"]), timeout=5) as c:
                c.sendall(b"CONFIG GET port\r\n")
            return sg.log().count(f"service passive server {dead} is UP")

        wait_until(one_connection, 10, "passive server back after its downtime")
        conn, _ = listener.accept()  # the trial connection snigate made
        conn.close()


def test_mysql_check_marks_err_and_garbage_down_but_not_mariadb(sg, stubs, mariadb):
    log = sg.wait_log(f"service db server {stubs['err'].address} is DOWN")
    line = next(ln for ln in log.splitlines() if f"server {stubs['err'].address} is DOWN" in ln)
    assert "Too many connections" in line and "1040" in line, line
    sg.wait_log(f"service db server {stubs['garbage'].address} is DOWN: not a MySQL")
    wait_until(lambda: stubs["err"].accepted >= 3, 10, "three probes of the ERR server")
    assert f"server {addr(mariadb.port)} is DOWN" not in sg.log()
    # Every client goes to MariaDB: its greeting comes through snigate.
    for _ in range(4):
        with socket.create_connection((LOCALHOST, sg.ports["db"]), timeout=5) as s:
            greeting = s.recv(4096)
        assert greeting[4] == 10, greeting  # protocol version 10, not an ERR (0xff)


def test_postgres_check_accepts_n_and_refuses_garbage(sg, stubs):
    sg.wait_log(f"service pg server {stubs['garbage'].address} is DOWN: not a PostgreSQL answer")
    before = stubs["pg_n"].accepted
    wait_until(lambda: stubs["pg_n"].accepted >= before + 3, 10, "three probes of the N server")
    assert f"server {stubs['pg_n'].address} is DOWN" not in sg.log()


def test_tls_check_uses_the_transport_settings(sg, nginx):
    sg.wait_log(f"service tlsbad server {addr(nginx.tls_port)} is DOWN: TLS handshake failed")
    assert f"service tlsck server {addr(nginx.tls_port)} is DOWN" not in sg.log()


def test_all_servers_down_is_refused_at_once_with_the_reason(sg):
    sg.wait_log("service deadchecked server", timeout=10)
    t0 = time.monotonic()
    with socket.create_connection((LOCALHOST, sg.ports["down"]), timeout=5) as s:
        assert s.recv(4096) == b""  # closed without a byte
    assert time.monotonic() - t0 < 2
    log = sg.wait_log("every server of service deadchecked is down (health check: ")
    assert "router down: service deadchecked" in log, log


def test_explain_shows_the_next_pick_and_the_weights(sg):
    out = run_cli(["explain", "-c", str(sg.config_path), "-e", "skip", "--plain"])
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "service skip: weighted (smooth weighted round robin; healthCheck:" in text, text
    # explain is offline: no probe has run, so the dead child still counts and takes the first turn.
    assert "-> deadchecked weight 5" in text, text
    assert "   one weight 1" in text, text
    assert "service deadchecked: load balancer, round robin over 1 server(s); health check: TCP connect" in text, text
    assert "up (not checked yet)" in text and "next: 127.0.0.1:" in text, text


def test_weighted_child_reencrypts_with_its_own_transport(sg, pki):
    assert [tls_get_name(sg.ports["tlsweb"], "wtls.wild.test", pki.ca_cert) for _ in range(3)] == ["tls-1"] * 3


def test_reload_keeps_state_and_stops_checks_of_removed_servers(sg, stubs, redises):
    """Last in the module: it changes the configuration."""
    sg.wait_log("service deadchecked server", timeout=10)
    cfg = copy.deepcopy(sg.config)
    cfg["tcp"]["services"]["pg"]["loadBalancer"]["servers"] = [{"address": stubs["garbage"].address}]
    sg.reload(cfg)
    time.sleep(0.5)  # a probe already under way when the reload came may still arrive
    before = stubs["pg_n"].accepted
    # An absence cannot be waited for: three intervals of the removed server's check.
    time.sleep(1.0)
    assert stubs["pg_n"].accepted == before
    # deadchecked kept its DOWN state: no second DOWN in the log, and the weighted service
    # still skips it from the first connection on.
    assert sum("service deadchecked server" in ln and "is DOWN" in ln for ln in sg.log().splitlines()) == 1, sg.log()
    assert sg.log().count(f"service pg server {stubs['garbage'].address} is DOWN") == 1, sg.log()
    assert redis_port_via(sg.ports["skip"]) == redises[0].port
