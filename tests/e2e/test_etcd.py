"""providers.etcd (docs/fleet.md): a real three-member etcd 3.4 cluster on loopback and two snigate
instances on different ports reading it, driven with etcdctl as an operator would. Every scenario
of issue 23's "Done when": a new route, a moved server (an open connection kept), the member each
instance watches through stopped, all of etcd stopped and started again, a bad rule, a deleted
router; and etcd next to the file provider, seen through the API.

Routes are TLS passthrough routers to stub servers that answer a ClientHello with their own name,
so a probe tells which server a new connection reached. One cluster and one pair of instances for
the module; each test uses its own router names and leaves every member running."""
from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest

from harness import admin
from harness.configs import addr
from harness.etcd import EtcdCluster, start_cluster
from harness.named import named_servers, open_route, recv_exact, route_of
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, to_yaml, wait_until

ROOT = "traefik"
ALERT_UNRECOGNIZED_NAME = 112
# The bounds: a change reaches both instances within 3 s, within 10 s when the member
# they watch through is gone. After all of etcd was down, the watcher's backoff (up to 5 s,
# jittered) comes on top.
FOLLOW = 3.0
FOLLOW_FAILOVER = 10.0
FOLLOW_AFTER_OUTAGE = 20.0


@pytest.fixture(scope="module")
def backends(request) -> dict:
    out = named_servers(("A", "B", "C", "F"))
    for srv in out.values():
        request.addfinalizer(srv.close)
    return out


# ---------------------------------------------------------------- probing a route

def wait_routes(pair: list, sni: str, want: str, t0: float, limit: float) -> float:
    """Wait until a new connection for sni through every instance gets `want`; return the
    seconds from t0 (taken just before the change was written) to the last instance's switch.
    Fails when limit seconds from t0 pass first."""
    seen: dict = {}

    def all_follow():
        for inst in pair:
            if inst.name not in seen and route_of(inst.ports["tls"], sni) == want:
                seen[inst.name] = time.monotonic() - t0
        return len(seen) == len(pair)
    left = max(0.1, t0 + limit - time.monotonic())
    try:
        wait_until(all_follow, left, f"{sni} -> {want} on every instance", interval=0.02)
    except TimeoutError:
        now = {inst.name: route_of(inst.ports["tls"], sni) for inst in pair}
        raise AssertionError(f"{sni}: not every instance reached {want} within {limit} s of the "
                             f"change (switched: {seen}; now: {now})") from None
    return max(seen.values())


# ---------------------------------------------------------------- keys

def router_keys(name: str, sni: str, service: str) -> dict:
    base = f"{ROOT}/tcp/routers/{name}/"
    return {base + "rule": f"HostSNI(`{sni}`)", base + "entrypoints/0": "tls",
            base + "service": service, base + "tls/passthrough": "true"}


def service_keys(name: str, address: str) -> dict:
    return {f"{ROOT}/tcp/services/{name}/loadbalancer/servers/0/address": address}


def server_key(service: str) -> str:
    return f"{ROOT}/tcp/services/{service}/loadbalancer/servers/0/address"


def sni_of(name: str) -> str:
    return f"{name}.fleet.test"


# ---------------------------------------------------------------- the cluster and the instances

@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory) -> EtcdCluster:
    c = start_cluster(tmp_path_factory.mktemp("etcd"))
    request.addfinalizer(c.stop_all)
    return c


def static_config(port: int, cluster: EtcdCluster, extra: dict | None = None) -> dict:
    cfg = {
        "entryPoints": {"tls": {"address": addr(port)}},
        "providers": {"providersThrottleDuration": "100ms",
                      "etcd": {"endpoints": cluster.endpoints, "rootKey": ROOT}},
        "log": {"level": "INFO"},
    }
    for k, v in (extra or {}).items():
        cfg[k] = v if not isinstance(v, dict) or k not in cfg else {**cfg[k], **v}
    return cfg


@pytest.fixture(scope="module")
def pair(request, snigate_bin, tmp_path_factory, cluster, backends) -> list:
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate has no etcd provider")
    out = []
    for n in (1, 2):
        # /metrics on an admin entry point: the provider's own gauges are checked below.
        ops = {"entryPoints": {"ops": {"address": addr(free_port())}}, "metrics": {"prometheus": {"entryPoint": "ops"}}}
        inst = Snigate(tmp_path_factory.mktemp(f"snigate-etcd{n}"),
                       static_config(free_port(), cluster, ops), name=f"snigate-etcd{n}")
        request.addfinalizer(inst.teardown)
        out.append(inst.start())
    for inst in out:
        inst.wait_log("etcd: watching", timeout=10)
    return out


@pytest.fixture
def all_members_up(cluster):
    """Whatever a test stopped, every member runs again afterwards."""
    yield
    if any(not m.alive() for m in cluster.members):
        cluster.start_all()


def provider_gauges(inst) -> tuple:
    """(watching, revision seen, revision applied) from the instance's /metrics."""
    ms = admin.metrics(inst.ports["ops"])
    return tuple(admin.sample(ms, f"snigate_provider_{n}", provider="etcd")
                 for n in ("watching", "revision_seen", "revision_applied"))


def establish(cluster, pair, name: str, server: str, backends) -> None:
    """Put router <name> -> service <name> -> server and wait until both instances route it."""
    t0 = time.monotonic()
    cluster.put_many(router_keys(name, sni_of(name), name) | service_keys(name, backends[server].address))
    wait_routes(pair, sni_of(name), server, t0, FOLLOW)


def report(took: float) -> None:
    """The measured time, in the test's captured output (pytest -rP shows it)."""
    print(f"every instance followed {took:.3f} s after the change was written")


def last_watch_line(inst: Snigate) -> str:
    lines = [ln for ln in inst.log().splitlines() if "etcd: watching" in ln]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------- the scenarios

def test_cluster_harness_replicates_and_survives_a_member(cluster, all_members_up):
    """The harness itself (no snigate): a write through one member is read through each, a
    stopped member's process is gone while the other two still take writes, and it comes back
    with what was written meanwhile."""
    cluster.put("harness/probe", "one", endpoints=[cluster.endpoints[0]])
    assert [cluster.get("harness/probe", endpoints=[ep]) for ep in cluster.endpoints] == ["one"] * 3
    cluster.stop_member(2)
    assert not cluster.members[2].alive() and cluster.live_endpoints() == cluster.endpoints[:2]
    cluster.put("harness/probe", "two")
    cluster.start_member(2)
    assert cluster.get("harness/probe", endpoints=[cluster.endpoints[2]]) == "two"
    assert cluster.delete("harness/", prefix=True) == 1


def test_put_router_and_service_routes_on_both_within_3s(cluster, pair, backends):
    sni = sni_of("fresh")
    assert all(route_of(inst.ports["tls"], sni) != "A" for inst in pair), "routed before the put"
    t0 = time.monotonic()
    cluster.put_many(router_keys("fresh", sni, "fresh") | service_keys("fresh", backends["A"].address))
    took = wait_routes(pair, sni, "A", t0, FOLLOW)
    report(took)
    for inst in pair:
        assert re.search(r"config reloaded \(etcd revision \d+", inst.log()), inst.logs()


def test_changed_server_followed_and_open_connection_kept(cluster, pair, backends):
    establish(cluster, pair, "move", "A", backends)
    held = []
    for inst in pair:
        s, reply = open_route(inst.ports["tls"], sni_of("move"), timeout=5)
        assert reply == "A", reply
        held.append(s)
    try:
        t0 = time.monotonic()
        cluster.put(server_key("move"), backends["B"].address)
        took = wait_routes(pair, sni_of("move"), "B", t0, FOLLOW)
        report(took)
        for inst, s in zip(pair, held):
            s.sendall(b"still here\n")
            got = recv_exact(s, len(b"still here\n"))
            assert got == b"still here\n", f"{inst.name}: the connection opened before the change: {got!r}"
    finally:
        for s in held:
            s.close()


def test_member_they_watch_through_stopped(cluster, pair, backends, all_members_up):
    establish(cluster, pair, "failover", "A", backends)
    first = cluster.members[0].endpoint
    for inst in pair:
        assert last_watch_line(inst).endswith(f"through {first}"), \
            f"{inst.name} should watch through the first endpoint: {last_watch_line(inst)!r}"
    cluster.stop_member(0)
    t0 = time.monotonic()
    cluster.put(server_key("failover"), backends["C"].address, endpoints=cluster.endpoints[1:])
    took = wait_routes(pair, sni_of("failover"), "C", t0, FOLLOW_FAILOVER)
    report(took)
    for inst in pair:
        line = last_watch_line(inst)
        assert not line.endswith(f"through {first}") and "through 127.0.0.1:" in line, line


def test_all_of_etcd_stopped_then_started(cluster, pair, backends, all_members_up):
    establish(cluster, pair, "outage", "A", backends)
    marks = [inst.log_mark() for inst in pair]
    cluster.stop_all()
    for inst, mark in zip(pair, marks):
        # Once the watcher has seen etcd go, the instance still serves the last configuration.
        wait_until(lambda: "etcd: lost" in inst.log_since(mark), 10, f"{inst.name} to log the lost etcd",
                   on_timeout=inst.logs)
        assert route_of(inst.ports["tls"], sni_of("outage")) == "A", inst.name
        assert provider_gauges(inst)[0] == 0, f"{inst.name}: snigate_provider_watching while etcd is down"
    marks = [inst.log_mark() for inst in pair]
    cluster.start_all()
    t0 = time.monotonic()
    cluster.put(server_key("outage"), backends["B"].address)
    took = wait_routes(pair, sni_of("outage"), "B", t0, FOLLOW_AFTER_OUTAGE)
    report(took)
    for inst in pair:
        watching, seen, applied = provider_gauges(inst)
        assert watching == 1 and seen == applied > 0, (inst.name, watching, seen, applied)
    for inst, mark in zip(pair, marks):
        assert "etcd: watching" in inst.log_since(mark), f"{inst.name} did not log a resumed watch"


def test_invalid_rule_keeps_previous_config_and_names_the_key(cluster, pair, backends):
    establish(cluster, pair, "bad", "A", backends)
    key = f"{ROOT}/tcp/routers/bad/rule"
    marks = [inst.log_mark() for inst in pair]
    cluster.put(key, "HostSNI(`bad.fleet.test`")  # unterminated call
    try:
        for inst, mark in zip(pair, marks):
            wait_until(lambda: f"etcd key {key}" in inst.log_since(mark), FOLLOW,
                       f"{inst.name} to log the bad key", on_timeout=inst.logs)
            assert "reload failed" in inst.log_since(mark), inst.log_since(mark)
            assert route_of(inst.ports["tls"], sni_of("bad")) == "A", inst.name
            # What an operator alerts on: the watch is up, the configuration serving is behind it.
            watching, seen, applied = provider_gauges(inst)
            assert watching == 1 and seen > applied > 0, (inst.name, watching, seen, applied)
    finally:
        # Every later change would fail validation while the bad rule is there.
        cluster.put(key, f"HostSNI(`{sni_of('bad')}`)")
    t0 = time.monotonic()
    cluster.put(server_key("bad"), backends["B"].address)
    wait_routes(pair, sni_of("bad"), "B", t0, FOLLOW)


def test_deleted_router_refused_on_both(cluster, pair, backends):
    establish(cluster, pair, "gone", "A", backends)
    t0 = time.monotonic()
    assert cluster.delete(f"{ROOT}/tcp/routers/gone/", prefix=True) == 4
    took = wait_routes(pair, sni_of("gone"), f"alert:{ALERT_UNRECOGNIZED_NAME}", t0, FOLLOW)
    report(took)


# ---------------------------------------------------------------- etcd next to the file provider

def api_get(port: int, path: str):
    with urllib.request.urlopen(f"http://{LOCALHOST}:{port}{path}", timeout=5) as r:
        return json.loads(r.read())


def test_file_and_etcd_together_cross_provider_service_and_api(cluster, make_snigate, tmp_path,
                                                                 snigate_bin, backends):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate has no etcd provider")
    dynamic = tmp_path / "dynamic.yaml"
    dynamic.write_text(to_yaml({"tcp": {"services": {
        "files": {"loadBalancer": {"servers": [{"address": backends["F"].address}]}}}}}) + "\n")
    ports = {"tls": free_port(), "traefik": free_port()}
    cfg = static_config(ports["tls"], cluster, {
        "entryPoints": {"traefik": {"address": addr(ports["traefik"])}},
        "providers": {"file": {"filename": str(dynamic)}},
        "api": {"insecure": True},
    })
    inst = make_snigate(cfg, name="snigate-etcd-file", ports=ports)
    t0 = time.monotonic()
    cluster.put_many(router_keys("mixed", sni_of("mixed"), "files@file"))
    try:
        wait_routes([inst], sni_of("mixed"), "F", t0, FOLLOW)
        routers = {r["name"]: r for r in api_get(ports["traefik"], "/api/tcp/routers")}
        assert "mixed@etcd" in routers, sorted(routers)
        assert routers["mixed@etcd"]["provider"] == "etcd", routers["mixed@etcd"]
        assert routers["mixed@etcd"]["service"] == "files@file", routers["mixed@etcd"]
        services = {s["name"]: s for s in api_get(ports["traefik"], "/api/tcp/services")}
        assert services["files@file"]["provider"] == "file", services.get("files@file")
    finally:
        # The pair has no file provider: for them this router names an unknown service, and
        # while it is in etcd every later change fails their validation.
        cluster.delete(f"{ROOT}/tcp/routers/mixed/", prefix=True)
