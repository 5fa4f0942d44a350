#!/usr/bin/python3
"""How fast a change in etcd reaches a client through snigate (providers.etcd, docs/fleet.md).
bench/run.sh --fleet runs this.

  bench/fleet_propagation.py [--bin PATH] [--changes 100] [--routers 1000] [--throttle 0s]
                             [--throttled-changes 10] [--kv-put]

A three-member etcd cluster on loopback (tests/e2e/harness/etcd.py) and one snigate with
providers.etcd and providersThrottleDuration THROTTLE. Passthrough routers send clients to stub
servers that answer a ClientHello with their name, so a probe tells which server it reached.

(a) CHANGES changes, one after the other: each moves router `p` to another server (one key, put
    through etcd's JSON gateway). Measured from the put's response (the change is committed)
    until a new connection through snigate reaches the new server; probes every millisecond.
    Then THROTTLED-CHANGES more with providersThrottleDuration 2s (Traefik's default), in a
    second snigate, to show what the default does to changes in quick succession.
(b) ROUTERS new routers in one transaction (4 keys each, one revision): time until the first
    and the last of them route, a full sweep that every one routes, and the time from the
    commit to snigate's `config reloaded (etcd revision R)` line (its millisecond timestamp).
    With --kv-put, the same routers again from a YAML file through `snigate kv put`.

Prints a Markdown table and one JSON line. Everything runs on 127.0.0.1 with free ports."""
from __future__ import annotations

import argparse
import base64
import datetime
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR / "tests" / "e2e"))

from harness.etcd import EtcdCluster, start_cluster  # noqa: E402
from harness.named import named_servers, route_of  # noqa: E402
from harness.snigate import Snigate  # noqa: E402
from harness.util import free_port, to_yaml, wait_until  # noqa: E402

ROOT = "traefik"
NAMES = ("s0", "s1", "s2", "s3")


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def gateway_txn(cluster: EtcdCluster, pairs: dict) -> int:
    """Put every pair in one transaction through etcd's JSON gateway; return its revision."""
    ops = [{"request_put": {"key": b64(k), "value": b64(v)}} for k, v in pairs.items()]
    req = urllib.request.Request(f"{cluster.members[0].client_url}/v3/kv/txn",
                                 data=json.dumps({"success": ops}).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        reply = json.loads(r.read())
    if not reply.get("succeeded"):
        raise RuntimeError(f"etcd txn failed: {reply}")
    return int(reply["header"]["revision"])


def router_keys(name: str, sni: str, service: str) -> dict:
    base = f"{ROOT}/tcp/routers/{name}/"
    return {base + "rule": f"HostSNI(`{sni}`)", base + "entrypoints/0": "tls",
            base + "service": service, base + "tls/passthrough": "true"}


def server_key(service: str) -> str:
    return f"{ROOT}/tcp/services/{service}/loadbalancer/servers/0/address"


def start_snigate(binary: Path, workdir: Path, cluster: EtcdCluster, throttle: str, name: str) -> Snigate:
    port = free_port()
    # Text, not a dict: the harness would add an access log, whose writes are not what is measured.
    cfg = to_yaml({"entryPoints": {"tls": {"address": f"127.0.0.1:{port}"}},
                   "providers": {"providersThrottleDuration": throttle,
                                 "etcd": {"endpoints": cluster.endpoints, "rootKey": ROOT}},
                   "log": {"level": "INFO"}}) + "\n"
    inst = Snigate(workdir / name, cfg, name=name, ports={"tls": port},
                   argv=[str(binary), "--config", str(workdir / name / "snigate.yaml")])
    inst.start()
    inst.wait_log("etcd: watching", timeout=10)
    return inst


def wait_route(port: int, sni: str, want: str, timeout: float = 30.0) -> float:
    """Probe every millisecond until a new connection for sni reaches want; return when (monotonic)."""
    wait_until(lambda: route_of(port, sni) == want, timeout, f"{sni} -> {want}", interval=0.001)
    return time.monotonic()


def pct(values: list, p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def moves(cluster: EtcdCluster, inst: Snigate, servers: dict, count: int, prefix: str) -> list:
    """count changes of router <prefix>'s server; the milliseconds from each commit to the switch."""
    port, sni = inst.ports["tls"], f"{prefix}.bench.test"
    gateway_txn(cluster, router_keys(prefix, sni, prefix) | {server_key(prefix): servers["s0"].address})
    wait_route(port, sni, "s0")
    out = []
    for i in range(count):
        target = NAMES[(i + 1) % len(NAMES)]
        gateway_txn(cluster, {server_key(prefix): servers[target].address})
        committed = time.monotonic()
        out.append((wait_route(port, sni, target) - committed) * 1000)
    return out


def log_time(line: str) -> float:
    """A log line's timestamp (local time, milliseconds) as seconds since the epoch."""
    stamp = line.split(" ", 1)[0]
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def reloaded_line(inst: Snigate, revision: int, timeout: float = 60.0) -> str:
    pattern = re.compile(r"config reloaded \(etcd revision (\d+)")

    def find():
        for line in inst.log().splitlines():
            m = pattern.search(line)
            if m and int(m.group(1)) >= revision:
                return line
        return None
    return wait_until(find, timeout, f"config reloaded at etcd revision >= {revision}", interval=0.01)


def change_set(cluster: EtcdCluster, inst: Snigate, servers: dict, routers: int, prefix: str) -> dict:
    """routers new routers in one transaction; timings in milliseconds."""
    port = inst.ports["tls"]
    keys = {server_key(prefix): servers["s1"].address}
    for i in range(routers):
        keys |= router_keys(f"{prefix}{i}", f"{prefix}{i}.bench.test", prefix)
    t0_wall, t0 = time.time(), time.monotonic()
    revision = gateway_txn(cluster, keys)
    committed_wall, committed = time.time(), time.monotonic()
    first = wait_route(port, f"{prefix}0.bench.test", "s1", timeout=120)
    last = wait_route(port, f"{prefix}{routers - 1}.bench.test", "s1", timeout=120)
    sweep_start = time.monotonic()
    missing = [i for i in range(routers) if route_of(port, f"{prefix}{i}.bench.test") != "s1"]
    sweep = time.monotonic() - sweep_start
    if missing:
        raise AssertionError(f"{len(missing)} of {routers} routers do not route, e.g. {missing[:5]}")
    line = reloaded_line(inst, revision)
    return {"keys": len(keys), "revision": revision, "txn_ms": (committed - t0) * 1000,
            "first_ms": (first - committed) * 1000, "all_ms": (max(first, last) - committed) * 1000,
            "reload_logged_ms": (log_time(line) - committed_wall) * 1000, "sweep_s": sweep,
            "reload_line": line, "t0_wall": t0_wall}


def kv_put_set(binary: Path, cluster: EtcdCluster, inst: Snigate, servers: dict, routers: int,
               workdir: Path, prefix: str) -> dict:
    """The same as change_set, from a dynamic YAML file through `snigate kv put`."""
    doc = {"tcp": {"routers": {f"{prefix}{i}": {
        "entryPoints": ["tls"], "rule": f"HostSNI(`{prefix}{i}.bench.test`)", "service": prefix,
        "tls": {"passthrough": True}} for i in range(routers)},
        "services": {prefix: {"loadBalancer": {"servers": [{"address": servers["s2"].address}]}}}}}
    path = workdir / f"{prefix}.yaml"
    path.write_text(to_yaml(doc) + "\n")
    port = inst.ports["tls"]
    mark = inst.log_mark()
    t0 = time.monotonic()
    cp = subprocess.run([str(binary), "kv", "put", "--endpoints", ",".join(cluster.endpoints),
                         "--root", ROOT, str(path)], capture_output=True, text=True, timeout=120)
    done = time.monotonic()
    if cp.returncode != 0:
        raise AssertionError(f"snigate kv put exited {cp.returncode}:\n{cp.stdout}\n{cp.stderr}")
    last = wait_route(port, f"{prefix}{routers - 1}.bench.test", "s2", timeout=120)
    first = wait_route(port, f"{prefix}0.bench.test", "s2", timeout=120)
    log = inst.log_since(mark)
    return {"kv_put_ms": (done - t0) * 1000, "all_after_kv_put_ms": (max(first, last) - done) * 1000,
            "kv_put_output": cp.stdout.strip(), "reloads": log.count("config reloaded"),
            "failed_reloads": log.count("reload failed (")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(ROOT_DIR / "build-bench" / "snigate"))
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--throttled-changes", type=int, default=10)
    ap.add_argument("--routers", type=int, default=1000)
    ap.add_argument("--throttle", default="0s")
    ap.add_argument("--kv-put", action="store_true")
    args = ap.parse_args()
    binary = Path(args.bin).resolve()
    if not binary.is_file():
        print(f"no snigate at {binary} (build it, or give --bin)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="snigate-fleet-bench."))
    servers = named_servers(NAMES)
    cluster = start_cluster(work / "etcd", max_txn_ops=4 * args.routers + 16)
    insts = []
    try:
        fast = start_snigate(binary, work, cluster, args.throttle, "snigate-fast")
        insts.append(fast)
        move_ms = moves(cluster, fast, servers, args.changes, "p")
        result = {"throttle": args.throttle, "changes": args.changes,
                  "p50_ms": statistics.median(move_ms), "p99_ms": pct(move_ms, 99),
                  "max_ms": max(move_ms), "min_ms": min(move_ms)}
        result["change_set"] = change_set(cluster, fast, servers, args.routers, "bulk")
        if args.kv_put:
            result["kv_put"] = kv_put_set(binary, cluster, fast, servers, args.routers, work, "kv")
        if args.throttled_changes:
            slow = start_snigate(binary, work, cluster, "2s", "snigate-2s")
            insts.append(slow)
            slow_ms = moves(cluster, slow, servers, args.throttled_changes, "q")
            result["throttled_2s"] = {"changes": args.throttled_changes, "p50_ms": statistics.median(slow_ms),
                                      "max_ms": max(slow_ms), "min_ms": min(slow_ms), "all_ms": slow_ms}
    finally:
        for inst in insts:
            inst.teardown()
        cluster.stop_all()
        for s in servers.values():
            s.close()
    print_table(result, args)
    print(json.dumps(result))
    return 0


def print_table(r: dict, args) -> None:
    cs = r["change_set"]
    print("| measurement | value |\n|---|---|")
    print(f"| one change (a server moved), {r['changes']} changes, providersThrottleDuration "
          f"{r['throttle']}: p50 / p99 / max | {r['p50_ms']:.1f} / {r['p99_ms']:.1f} / {r['max_ms']:.1f} ms |")
    print(f"| {args.routers} new routers in one transaction ({cs['keys']} keys): commit to first / "
          f"last router routable | {cs['first_ms']:.0f} / {cs['all_ms']:.0f} ms |")
    print(f"| same: commit to `config reloaded` in the log | {cs['reload_logged_ms']:.0f} ms |")
    print(f"| same: the transaction itself (etcd JSON gateway) | {cs['txn_ms']:.0f} ms |")
    if "kv_put" in r:
        kp = r["kv_put"]
        print(f"| {args.routers} routers through `snigate kv put`: the command / then until all route | "
              f"{kp['kv_put_ms']:.0f} / {kp['all_after_kv_put_ms']:.0f} ms "
              f"({kp['reloads']} reloads, {kp['failed_reloads']} failed) |")
    if "throttled_2s" in r:
        t = r["throttled_2s"]
        print(f"| {t['changes']} changes one after the other, providersThrottleDuration 2s: "
              f"min / p50 / max | {t['min_ms']:.0f} / {t['p50_ms']:.0f} / {t['max_ms']:.0f} ms |")


if __name__ == "__main__":
    sys.exit(main())
