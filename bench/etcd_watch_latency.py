#!/usr/bin/python3
"""Put-to-watcher latency of etcd v3's JSON gateway against its gRPC API, on one etcd.

Starts a single etcd member on free loopback ports (its own data directory, removed at the
end), then opens watches on the prefix bench/ at once:
  json   POST /v3/watch on the JSON gateway, read line by line (what snigate's kv client does)
  grpc   `etcdctl watch --prefix bench/ -w json` (etcd's Go client over gRPC)
  probe  optional: --probe PATH runs build/kv_watch_probe (snigate's own EtcdWatcher)
and puts N keys one after another through the JSON gateway, waiting until every watcher has
seen a key before the next put. Latency: from just before the put is sent to the moment a
reader thread has the watch line (so it includes the put's commit). Prints p50, p99 and max
per watcher, and per put the difference between each watcher and grpc.

  bench/etcd_watch_latency.py [-n 100] [--probe build/kv_watch_probe]
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

ETCD, ETCDCTL = "/usr/bin/etcd", "/usr/bin/etcdctl"
PREFIX = "bench/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Seen:
    """When each watcher first saw each key (monotonic seconds)."""

    def __init__(self):
        self.lock = threading.Condition()
        self.at: dict[str, dict[str, float]] = {}

    def mark(self, watcher: str, key: str) -> None:
        with self.lock:
            self.at.setdefault(watcher, {}).setdefault(key, time.monotonic())
            self.lock.notify_all()

    def wait_all(self, watchers, key: str, timeout: float) -> None:
        with self.lock:
            if not self.lock.wait_for(lambda: all(key in self.at.get(w, {}) for w in watchers), timeout):
                raise TimeoutError(f"not every watcher saw {key}: {self.at.keys()}")


def json_watcher(port: int, seen: Seen, ready: threading.Event) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = {"create_request": {"key": b64(PREFIX), "range_end": b64(PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1))}}
    conn.request("POST", "/v3/watch", json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    while line := resp.readline():
        result = json.loads(line).get("result", {})
        if result.get("created"):
            ready.set()
        for ev in result.get("events", []):
            seen.mark("json", base64.b64decode(ev["kv"]["key"]).decode())


def line_watcher(name: str, argv: list, parse, seen: Seen, ready: threading.Event, procs: list) -> None:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
                            env={**os.environ, "ETCDCTL_API": "3"})
    procs.append(proc)
    for line in proc.stdout:
        for key in parse(line, ready):
            seen.mark(name, key)


def parse_etcdctl(line: str, ready: threading.Event) -> list:
    msg = json.loads(line)
    return [base64.b64decode(ev["kv"]["key"]).decode() for ev in msg.get("Events") or []]


def parse_probe(line: str, ready: threading.Event) -> list:
    # kv_watch_probe prints "update <revision> <changed key>..." per on_update.
    parts = line.split()
    if parts[:1] == ["update"]:
        ready.set()
        return parts[2:]
    return []


def percentile(values: list, p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--probe", help="path to kv_watch_probe (snigate's EtcdWatcher)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="etcd-bench-")
    cport, pport = free_port(), free_port()
    client, peer = f"http://127.0.0.1:{cport}", f"http://127.0.0.1:{pport}"
    etcd = subprocess.Popen([ETCD, "--name", "b", "--data-dir", f"{work}/data", "--listen-client-urls", client,
                             "--advertise-client-urls", client, "--listen-peer-urls", peer,
                             "--initial-advertise-peer-urls", peer, "--initial-cluster", f"b={peer}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs: list = []
    try:
        for _ in range(200):
            if subprocess.run([ETCDCTL, "--endpoints", client, "endpoint", "health"], capture_output=True,
                              env={**os.environ, "ETCDCTL_API": "3"}).returncode == 0:
                break
            time.sleep(0.1)
        seen = Seen()
        readies = {"json": threading.Event(), "grpc": threading.Event()}
        threading.Thread(target=json_watcher, args=(cport, seen, readies["json"]), daemon=True).start()
        threading.Thread(target=line_watcher, daemon=True,
                         args=("grpc", [ETCDCTL, "--endpoints", client, "watch", "--prefix", PREFIX, "-w", "json"],
                               parse_etcdctl, seen, readies["grpc"], procs)).start()
        if args.probe:
            readies["probe"] = threading.Event()
            threading.Thread(target=line_watcher, daemon=True,
                             args=("probe", [args.probe, f"127.0.0.1:{cport}", PREFIX], parse_probe, seen,
                                   readies["probe"], procs)).start()
        put = http.client.HTTPConnection("127.0.0.1", cport)
        # Warm-up: a key every watcher must see (etcdctl prints nothing when its watch is created).
        for i in range(100):
            put.request("POST", "/v3/kv/put", json.dumps({"key": b64(PREFIX + "warm"), "value": b64(str(i))}))
            put.getresponse().read()
            time.sleep(0.05)
            if all(PREFIX + "warm" in seen.at.get(w, {}) for w in readies):
                break
        sent = {}
        for i in range(args.n):
            key = f"{PREFIX}k{i:04d}"
            sent[key] = time.monotonic()
            put.request("POST", "/v3/kv/put", json.dumps({"key": b64(key), "value": b64(str(i))}))
            put.getresponse().read()
            seen.wait_all(readies, key, 10)
        for w in readies:
            ms = [(seen.at[w][k] - t) * 1000 for k, t in sent.items()]
            print(f"{w:6s} n={len(ms)} p50={percentile(ms, 50):.2f} ms p99={percentile(ms, 99):.2f} ms "
                  f"max={max(ms):.2f} ms")
        # The same put seen by two watchers: what the path costs, without the put's own commit.
        for w in [x for x in readies if x != "grpc"]:
            diff = [(seen.at[w][k] - seen.at["grpc"][k]) * 1000 for k in sent]
            print(f"{w} - grpc, same put: p50={percentile(diff, 50):+.2f} ms p99={percentile(diff, 99):+.2f} ms")
    finally:
        for p in procs:
            p.kill()
        etcd.terminate()
        etcd.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
