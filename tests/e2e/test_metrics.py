"""/metrics and /ping (docs/observability.md): what each counter says after clients the test
makes, checked by `promtool check metrics` and by a real Prometheus server that scrapes snigate.
One snigate for the module; each test reads the counters before and after what it does."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from harness.admin import get, metrics, sample, total
from harness.configs import addr, router
from harness.snigate import Snigate
from harness.stubsrv import StubServer, echo, hold
from harness.tlsprobe import attempt, client_context
from harness.util import LOCALHOST, Proc, free_port, wait_port, wait_until


@pytest.fixture(scope="module")
def backends(request):
    made = {"echo": StubServer(echo), "held": StubServer(hold)}
    for s in made.values():
        request.addfinalizer(s.close)
    return made


@pytest.fixture(scope="module")
def sg(request, tmp_path_factory, pki, backends):
    ports = {"tls": free_port(), "plain": free_port(), "ops": free_port()}
    dead = free_port()
    cfg = {
        "entryPoints": {name: {"address": addr(p)} for name, p in ports.items()},
        "metrics": {"prometheus": {"entryPoint": "ops", "addRoutersLabels": True, "buckets": [0.05, 1, 10]}},
        "ping": {"entryPoint": "ops"},
        "tcp": {
            "middlewares": {"faraway": {"ipAllowList": {"sourceRange": ["10.0.0.0/8"]}}},
            "routers": {
                "who": router("HostSNI(`a.test`)", "whoami@internal", eps=["tls"], tls={}),
                "walled": dict(router("HostSNI(`b.test`)", "whoami@internal", eps=["tls"], tls={}),
                               middlewares=["faraway"]),
                "gone": router("HostSNI(`default.test`)", "gone", eps=["tls"], tls={}),
                "plain": router("HostSNI(`*`)", "echo", eps=["plain"]),
            },
            "services": {
                "echo": {"loadBalancer": {"servers": [{"address": backends["echo"].address}],
                                          "healthCheck": {"interval": "200ms", "timeout": "1s"}}},
                "gone": {"loadBalancer": {"servers": [{"address": addr(dead)}],
                                          "healthCheck": {"interval": "200ms", "timeout": "1s"}}},
            },
        },
        "tls": {"certificates": [{"certFile": str(pki["a"].cert), "keyFile": str(pki["a"].key)},
                                 {"certFile": str(pki["b"].cert), "keyFile": str(pki["b"].key)}]},
    }
    inst = Snigate(tmp_path_factory.mktemp("metrics"), cfg, name="snigate-metrics")
    request.addfinalizer(inst.teardown)
    return inst.start()


def ops(sg) -> int:
    return sg.ports["ops"]


def tls_client(sg, sni: str):
    return attempt(sg.ports["tls"], sni, client_context(None))


def test_ping_answers_ok(sg):
    status, headers, body = get(ops(sg), "/ping")
    assert (status, body) == (200, b"OK")
    assert headers["content-type"].startswith("text/plain")


def test_promtool_accepts_the_output(sg):
    tls_client(sg, "a.test")
    _, _, body = get(ops(sg), "/metrics")
    cp = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert cp.returncode == 0, (cp.stdout + cp.stderr).decode()
    assert b"# TYPE snigate_connections_total counter" in body


def test_connections_are_counted_by_how_they_end(sg):
    before = metrics(ops(sg))
    assert "whoami" in tls_client(sg, "a.test").reply
    assert tls_client(sg, "nobody.test").error is not None
    assert tls_client(sg, "b.test").error is not None
    assert tls_client(sg, "default.test").reply == ""  # closed once the handshake is done

    def counted(ms, router, end):
        return total(ms, "snigate_connections_total", entrypoint="tls", router=router, end=end)

    def all_counted():
        ms = metrics(ops(sg))
        return all(counted(ms, r, e) - counted(before, r, e) == 1 for r, e in
                   (("who@file", "closed"), ("", "no_route"), ("walled@file", "denied"),
                    ("gone@file", "backend_unreachable")))
    wait_until(all_counted, 5, "one more connection counted for each end")
    ms = metrics(ops(sg))
    assert sample(ms, "snigate_connections_total", entrypoint="tls", router="who@file",
                  service="whoami@internal", mode="terminate", end="closed") >= 1
    refused = sample(ms, "snigate_middleware_refusals_total", middleware="faraway@file", router="walled@file",
                     reason="not_allowed")
    assert refused is not None and refused >= 1
    assert total(ms, "snigate_tls_handshake_duration_seconds_count", entrypoint="tls") >= 2


def test_bytes_and_duration_of_a_relayed_connection(sg):
    before = metrics(ops(sg))
    with socket.create_connection((LOCALHOST, sg.ports["plain"]), timeout=5) as s:
        s.sendall(b"x" * 10000)
        got = b""
        while len(got) < 10000:
            got += s.recv(65536)
    def moved():
        ms = metrics(ops(sg))
        d_in = total(ms, "snigate_bytes_total", router="plain@file", direction="in") - \
            total(before, "snigate_bytes_total", router="plain@file", direction="in")
        d_out = total(ms, "snigate_bytes_total", router="plain@file", direction="out") - \
            total(before, "snigate_bytes_total", router="plain@file", direction="out")
        return d_in == 10000 and d_out == 10000
    wait_until(moved, 5, "10000 bytes counted each way for router plain")
    ms = metrics(ops(sg))
    assert total(ms, "snigate_server_connect_duration_seconds_count", service="echo@file") >= 1
    assert sample(ms, "snigate_connection_duration_seconds_bucket", entrypoint="plain", le="+Inf") >= 1


def test_open_connections_follow_the_clients(sg):
    held = [socket.create_connection((LOCALHOST, sg.ports["plain"]), timeout=5) for _ in range(3)]
    for s in held:
        s.sendall(b"hi")
    try:
        wait_until(lambda: sample(metrics(ops(sg)), "traefik_open_connections", entrypoint="plain",
                                  protocol="TCP") == 3, 5, "3 open connections on plain")
    finally:
        for s in held:
            s.close()
    wait_until(lambda: sample(metrics(ops(sg)), "traefik_open_connections", entrypoint="plain",
                              protocol="TCP") == 0, 5, "0 open connections on plain")


def test_health_of_checked_servers(sg, backends):
    def states():
        ms = metrics(ops(sg))
        return (sample(ms, "traefik_service_server_up", service="echo@file", url=backends["echo"].address),
                sample(ms, "traefik_service_server_up", service="gone@file",
                       url=sg.config["tcp"]["services"]["gone"]["loadBalancer"]["servers"][0]["address"]))
    wait_until(lambda: states() == (1, 0), 10, "echo up and gone down")
    ms = metrics(ops(sg))
    assert total(ms, "snigate_health_checks_total", service="echo@file", result="up") >= 1
    assert total(ms, "snigate_health_checks_total", service="gone@file", result="down") >= 1


def test_certificate_expiry(sg, pki):
    end = subprocess.run(["openssl", "x509", "-enddate", "-noout", "-in", str(pki["a"].cert)],
                         capture_output=True, text=True, check=True).stdout.strip().split("=", 1)[1]
    expected = time.mktime(time.strptime(end, "%b %d %H:%M:%S %Y GMT")) - time.timezone
    series = [(labels, v) for (n, labels), v in metrics(ops(sg)).items() if n == "traefik_tls_certs_not_after"]
    by_sans = {dict(labels)["sans"]: (dict(labels), v) for labels, v in series}
    assert "a.test" in by_sans, series
    labels, value = by_sans["a.test"]
    assert abs(value - expected) < 2, (value, expected)
    assert labels["serial"].isdigit()


def test_reloads_are_counted(sg):
    before = metrics(ops(sg))
    good = sg.config
    sg.reload(good)
    bad = json.loads(json.dumps(good))
    bad["tcp"]["routers"]["who"]["service"] = "nosuch"
    sg.reload(bad, expect_ok=False)
    sg.reload(good)
    ms = metrics(ops(sg))
    assert sample(ms, "traefik_config_reloads_total") - sample(before, "traefik_config_reloads_total") == 2
    assert sample(ms, "traefik_config_reloads_failure_total") - sample(before, "traefik_config_reloads_failure_total") == 1
    assert sample(ms, "traefik_config_last_reload_failure") > time.time() - 60
    assert "whoami" in tls_client(sg, "a.test").reply


@pytest.fixture(scope="module")
def prometheus(request, tmp_path_factory, sg):
    work = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    (work / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: snigate\n    static_configs: [{{targets: ['{LOCALHOST}:{ops(sg)}']}}]\n")
    proc = Proc("prometheus", ["prometheus", f"--config.file={work / 'prometheus.yml'}",
                               f"--storage.tsdb.path={work / 'data'}", f"--web.listen-address={LOCALHOST}:{port}"],
                work)
    request.addfinalizer(proc.stop)
    wait_port(port, 30, "prometheus", proc=proc)
    # It listens before it is ready: until then its API answers 503.
    wait_until(lambda: prom_ready(port), 30, "prometheus to say it is ready (/-/ready)")
    return port


def prom_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{LOCALHOST}:{port}/-/ready", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def prom_api(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://{LOCALHOST}:{port}{path}", timeout=5) as r:
        return json.load(r)


def test_a_real_prometheus_scrapes_snigate(sg, prometheus):
    assert "whoami" in tls_client(sg, "a.test").reply

    def target_up():
        targets = prom_api(prometheus, "/api/v1/targets")["data"]["activeTargets"]
        return targets and targets[0]["health"] == "up" and targets[0]["lastError"] == ""
    wait_until(target_up, 30, "Prometheus to scrape snigate successfully")

    def closed_count():
        q = prom_api(prometheus, "/api/v1/query?query=snigate_connections_total%7Brouter%3D%22who%40file%22%7D")
        return q["data"]["result"]
    result = wait_until(closed_count, 30, "Prometheus to hold snigate_connections_total for router who")
    assert any(r["metric"].get("end") == "closed" and float(r["value"][1]) >= 1 for r in result), result


def test_ping_says_503_while_draining(tmp_path, pki):
    ports = {"web": free_port(), "ops": free_port()}
    cfg = {"entryPoints": {"web": {"address": addr(ports["web"]),
                                   "transport": {"lifeCycle": {"requestAcceptGraceTimeout": "3s"}}},
                           "ops": {"address": addr(ports["ops"])}},
           "ping": {"entryPoint": "ops"},
           "tcp": {"routers": {"who": router("HostSNI(`*`)", "whoami@internal", eps=["web"], tls={})}}}
    inst = Snigate(tmp_path, cfg, name="snigate-drain").start()
    try:
        assert get(ports["ops"], "/ping")[0] == 200
        inst.signal(signal.SIGTERM)
        wait_until(lambda: get(ports["ops"], "/ping")[0] == 503, 3, "/ping to answer 503 while draining")
        assert inst.wait_exit(15) == 0
    finally:
        inst.teardown()
