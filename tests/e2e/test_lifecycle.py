"""Signals: SIGHUP reload under traffic (good and bad configs), established connections
across a reload, SIGTERM drain, grace timeout and requestAcceptGraceTimeout."""
import copy
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest

from harness.clients import http_get, tls_connect, tls_get_name
from harness.configs import addr, lb, router
from harness.snigate import assert_no_sanitizer_report
from harness.util import LOCALHOST, free_port, port_refuses, wait_until


def web_config(pki, nginx, redis, extra_routers=None, term_service="p1", grace="10s") -> dict:
    routers = {
        "term": router("HostSNI(`a.test`)", term_service, tls={}),
        "red": router("HostSNI(`*`)", "redis", eps=["red"]),
    }
    routers.update(extra_routers or {})
    return {
        "entryPoints": {
            "web": {"address": addr(free_port()), "transport": {"lifeCycle": {"graceTimeOut": grace}}},
            "red": {"address": addr(free_port()), "transport": {"lifeCycle": {"graceTimeOut": grace}}},
        },
        "tcp": {
            "routers": routers,
            "services": {
                "p1": lb(addr(nginx.plain_ports["plain-1"])),
                "p2": lb(addr(nginx.plain_ports["plain-2"])),
                "redis": lb(addr(redis.port)),
            },
        },
        "tls": {"certificates": [{"certFile": str(pki[n].cert), "keyFile": str(pki[n].key)}
                                 for n in ("a", "wild")]},
    }


def same_ports(new: dict, old: dict) -> dict:
    """Entry points are static: a reload keeps the addresses of the running instance."""
    new["entryPoints"] = old["entryPoints"]
    return new


class Traffic(threading.Thread):
    """Short TLS requests to a.test in a loop, counting successes and failures."""

    def __init__(self, port, ca):
        super().__init__(daemon=True)
        self.port, self.ca = port, ca
        self.ok = 0
        self.failures = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                body = tls_get_name(self.port, "a.test", self.ca, timeout=5)
                if body == "plain-1":
                    self.ok += 1
                else:
                    self.failures.append(f"body {body!r}")
            except Exception as e:  # noqa: BLE001 - every failure counts
                self.failures.append(repr(e))

    def stop(self):
        self.halt.set()
        self.join(timeout=15)


def test_reload_under_traffic(make_snigate, pki, nginx, redis):
    cfg = web_config(pki, nginx, redis)
    sg = make_snigate(cfg, name="snigate-reload")
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        tls_get_name(sg.ports["web"], "new1.wild.test", pki.ca_cert)

    traffic = Traffic(sg.ports["web"], pki.ca_cert)
    traffic.start()
    try:
        extra = {}
        for i in (1, 2, 3):
            before = traffic.ok
            wait_until(lambda: traffic.ok >= before + 5 or traffic.failures, 10, "traffic to flow")
            extra[f"new{i}"] = router(f"HostSNI(`new{i}.wild.test`)", "p2", tls={})
            sg.reload(same_ports(web_config(pki, nginx, redis, extra_routers=dict(extra)), sg.config))
            assert tls_get_name(sg.ports["web"], f"new{i}.wild.test", pki.ca_cert) == "plain-2"
        before = traffic.ok
        wait_until(lambda: traffic.ok >= before + 5 or traffic.failures, 10, "traffic after the reloads")
    finally:
        traffic.stop()
    assert traffic.failures == [], traffic.failures[:5]
    assert traffic.ok >= 20
    for i in (1, 2, 3):
        assert tls_get_name(sg.ports["web"], f"new{i}.wild.test", pki.ca_cert) == "plain-2"


def test_established_connection_survives_reload(make_snigate, pki, nginx, redis):
    cfg = web_config(pki, nginx, redis, term_service="p1")
    sg = make_snigate(cfg, name="snigate-keep")
    with tls_connect(sg.ports["web"], "a.test", pki.ca_cert) as s:
        assert http_get(s, "a.test") == (200, b"plain-1\n")
        sg.reload(same_ports(web_config(pki, nginx, redis, term_service="p2"), sg.config))
        # New connections follow the new config...
        assert tls_get_name(sg.ports["web"], "a.test", pki.ca_cert) == "plain-2"
        # ...the established one keeps its backend.
        assert http_get(s, "a.test") == (200, b"plain-1\n")


def test_bad_reload_keeps_serving(make_snigate, pki, nginx, redis):
    sg = make_snigate(web_config(pki, nginx, redis), name="snigate-badreload")
    assert tls_get_name(sg.ports["web"], "a.test", pki.ca_cert) == "plain-1"
    from harness.util import to_yaml
    good = same_ports(web_config(pki, nginx, redis, term_service="p2"), sg.config)
    text = to_yaml(sg.with_defaults(good)).replace("    term:\n", "    term:\n      bogusKey: 1\n", 1)
    assert "bogusKey" in text
    mark = sg.log_mark()
    sg.reload(text, expect_ok=False)
    # Only what this reload wrote: one `reload failed: FILE:LINE: key.path: ...` line per error.
    wait_until(lambda: [ln for ln in sg.log_since(mark).splitlines()
                        if "reload failed" in ln and "tcp.routers.term.bogusKey" in ln],
               5, "a `reload failed` line naming tcp.routers.term.bogusKey", on_timeout=sg.logs)
    assert sg.alive()
    # The old config still serves: a.test still goes to plain-1, not the bad config's plain-2.
    for _ in range(3):
        assert tls_get_name(sg.ports["web"], "a.test", pki.ca_cert) == "plain-1"


def redis_ping(sock) -> bytes:
    sock.sendall(b"PING\r\n")
    got = b""
    while not got.endswith(b"\r\n"):
        chunk = sock.recv(64)
        if not chunk:
            break
        got += chunk
    return got


def test_sigterm_drains_open_connections(make_snigate, pki, nginx, redis):
    import signal
    sg = make_snigate(web_config(pki, nginx, redis, grace="10s"), name="snigate-drain")
    port = sg.ports["red"]
    s = socket.create_connection((LOCALHOST, port), timeout=5)
    try:
        assert redis_ping(s) == b"+PONG\r\n"
        sg.signal(signal.SIGTERM)
        wait_until(lambda: port_refuses(port) and port_refuses(sg.ports["web"]), 5,
                   "entry points to refuse new connections after SIGTERM", on_timeout=sg.logs)
        # Keep using the open connection for a while (well inside graceTimeOut): it must keep
        # working and the process must stay up. This is a hold period, not synchronisation.
        hold_until = time.monotonic() + 1.5
        while time.monotonic() < hold_until:
            assert sg.alive(), "exited while a connection was still open"
            assert redis_ping(s) == b"+PONG\r\n"
            time.sleep(0.1)
        assert port_refuses(port)
    finally:
        s.close()
        closed_at = time.monotonic()
    rc = sg.wait_exit(timeout=8)
    assert rc == 0, f"exit code {rc}\n{sg.logs()}"
    assert time.monotonic() - closed_at < 5.0  # well before graceTimeOut (10s)


def test_sigterm_grace_timeout_ends_idle_connection(make_snigate, pki, nginx, redis):
    import signal
    sg = make_snigate(web_config(pki, nginx, redis, grace="1s"), name="snigate-grace")
    s = socket.create_connection((LOCALHOST, sg.ports["red"]), timeout=10)
    try:
        assert redis_ping(s) == b"+PONG\r\n"
        t0 = time.monotonic()
        sg.signal(signal.SIGTERM)
        rc = sg.wait_exit(timeout=8)
        elapsed = time.monotonic() - t0
        assert rc == 0, f"exit code {rc}\n{sg.logs()}"
        assert 0.8 <= elapsed < 6.0, f"exited {elapsed:.2f}s after SIGTERM with graceTimeOut 1s"
        # The held connection was closed by snigate.
        try:
            assert s.recv(16) == b""
        except ConnectionResetError:
            pass
    finally:
        s.close()


def test_sigterm_request_accept_grace_keeps_accepting_then_drains(make_snigate, pki, nginx, redis):
    """requestAcceptGraceTimeout (2 s on `red`): after SIGTERM new connections are still accepted
    and served for that long (a load balancer in front has time to stop sending), then the
    listener closes and graceTimeOut (1 s) drains; the exit code is 0."""
    import signal
    cfg = web_config(pki, nginx, redis, grace="1s")
    cfg["entryPoints"]["red"]["transport"]["lifeCycle"]["requestAcceptGraceTimeout"] = "2s"
    sg = make_snigate(cfg, name="snigate-accept-grace")
    port = sg.ports["red"]
    t0 = time.monotonic()
    sg.signal(signal.SIGTERM)
    sg.wait_log("still accepting for up to 2000 ms")
    # `web` has no accept grace: it stops accepting at once.
    wait_until(lambda: port_refuses(sg.ports["web"]), 5, "web to refuse after SIGTERM", on_timeout=sg.logs)
    with socket.create_connection((LOCALHOST, port), timeout=5) as s:
        assert redis_ping(s) == b"+PONG\r\n"
        served = time.monotonic() - t0
    assert served < 2.0, f"served {served:.2f}s after SIGTERM: not inside requestAcceptGraceTimeout (2s)"
    wait_until(lambda: port_refuses(port), 5, "red to refuse after requestAcceptGraceTimeout", on_timeout=sg.logs)
    refused = time.monotonic() - t0
    assert refused >= 1.9, f"red refused {refused:.2f}s after SIGTERM, before requestAcceptGraceTimeout (2s)"
    rc = sg.wait_exit(timeout=8)
    assert rc == 0, f"exit code {rc}\n{sg.logs()}"
    assert "entry point red: requestAcceptGraceTimeout (2000 ms) over; no longer accepting" in sg.log()


def server_side(port: int, state: str) -> int:
    """Connections to the listener on port in state (ss's names: syn-recv while the kernel
    defers the accept, established once it is done or can be done)."""
    out = subprocess.run(["ss", "-Htn", "state", state, f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    return len([ln for ln in out.splitlines() if ln.strip()])


def test_client_first_entry_point_defers_accept_and_follows_reload(make_snigate, snigate_bin, pki, nginx, redis):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not defer accept")
    cfg = web_config(pki, nginx, redis)
    cfg["entryPoints"]["web"]["clientHelloTimeout"] = "1s"
    sg = make_snigate(cfg, name="snigate-defer")
    web = sg.ports["web"]
    listening = {ln.split("entry point ")[1].split()[0]: ln for ln in sg.log().splitlines() if " listening on " in ln}
    assert "client-first" in listening["web"], listening["web"]  # TLS routers only
    assert "server-first" in listening["red"], listening["red"]  # never deferred

    # A silent client stays with the kernel, then is handed over (about 1 s) and
    # gets clientHelloTimeout (1 s) from then: closed after about 2 s, not hung.
    with socket.create_connection((LOCALHOST, web), timeout=5) as s:
        t0 = time.monotonic()
        wait_until(lambda: server_side(web, "syn-recv") == 1, 1.0, "the silent connection held in SYN-RECV")
        assert server_side(web, "established") == 0
        s.settimeout(6)
        try:
            assert s.recv(64) == b""
        except ConnectionResetError:
            pass
        elapsed = time.monotonic() - t0
    assert 1.5 <= elapsed < 4.5, f"closed after {elapsed:.2f}s"
    assert tls_get_name(web, "a.test", pki.ca_cert) == "plain-1"  # a speaking client is unaffected

    # A plain router on web lets a silent client be server-first: accept at once.
    extra = {"cat": router("HostSNI(`*`)", "redis", eps=["web"])}
    mark = sg.log_mark()
    sg.reload(same_ports(web_config(pki, nginx, redis, extra_routers=extra), sg.config))
    wait_until(lambda: "entry point web: no longer client-first" in sg.log_since(mark), 5,
               "`entry point web: no longer client-first` after the reload", on_timeout=sg.logs)
    with socket.create_connection((LOCALHOST, web), timeout=5) as s:
        wait_until(lambda: server_side(web, "established") == 1, 1.0, "the silent connection accepted at once")
        assert server_side(web, "syn-recv") == 0
        s.settimeout(5)
        assert redis_ping(s) == b"+PONG\r\n"  # the catch-all after firstByteTimeout, or at once


def listening_sockets(port: int) -> int:
    out = subprocess.run(["ss", "-Hltn", f"( sport = :{port} )"], capture_output=True, text=True, check=True).stdout
    return len([ln for ln in out.splitlines() if ln.strip()])


@pytest.mark.parametrize("workers,sockets", [(2, 1), (3, 2)])
def test_workers_share_listening_sockets_in_pairs(make_snigate, snigate_bin, pki, nginx, redis, workers, sockets):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate has one listener of its own kind")
    cfg = web_config(pki, nginx, redis)
    cfg["snigate"] = {"workers": workers}
    sg = make_snigate(cfg, name="snigate-shared")
    web = sg.ports["web"]
    assert listening_sockets(web) == sockets, f"{workers} workers, two to a socket"
    assert f"entry point web listening on {cfg['entryPoints']['web']['address']} (1 router(s), " \
           f"{sockets} socket(s) for {workers} worker(s), client-first" in sg.log()
    assert all(tls_get_name(web, "a.test", pki.ca_cert) == "plain-1" for _ in range(8))

    # Without reusePort a second gateway on the same address is refused at
    # start-up, instead of silently taking part of the traffic.
    second = make_snigate(cfg, name="snigate-second", start=False)
    run = subprocess.run(second.argv, capture_output=True, text=True, timeout=15)
    assert_no_sanitizer_report(run.stdout + run.stderr, "the second gateway")  # ASan also exits 1
    assert run.returncode == 1, run
    assert re.search(r"error entry point (web|red): cannot listen on 127\.0\.0\.1:\d+: Address already in use",
                     run.stderr), run


def test_reuse_port_gives_each_worker_a_socket_and_lets_a_second_process_in(make_snigate, snigate_bin, pki, nginx,
                                                                             redis):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate has one listener of its own kind")
    cfg = web_config(pki, nginx, redis)
    cfg["snigate"] = {"workers": 2}
    cfg["entryPoints"]["web"]["reusePort"] = True
    old = make_snigate(cfg, name="snigate-old")
    web = old.ports["web"]
    assert listening_sockets(web) == 2, "one socket per worker"
    assert "2 socket(s) for 2 worker(s), reusePort" in old.log()
    assert listening_sockets(old.ports["red"]) == 1, "reusePort is per entry point"

    cfg = copy.deepcopy(cfg)
    cfg["entryPoints"]["red"]["address"] = addr(free_port())  # red has no reusePort
    new = make_snigate(cfg, name="snigate-new")
    new.wait_log("snigate ready")
    assert listening_sockets(web) == 4
    # The old process leaves; the new one takes every connection from then on.
    assert old.stop() == 0
    assert listening_sockets(web) == 2
    assert all(tls_get_name(web, "a.test", pki.ca_cert) == "plain-1" for _ in range(8))
    assert new.alive()
