#!/usr/bin/python3
"""pgbench (PostgreSQL 15's, from Debian) directly and through snigate's `protocol: postgres`
entry point: what routing by SNI costs per query and per connection.

    SNIGATE_BIN=build-bench/snigate /usr/bin/python3 bench/pgbench.py [--time S] [--rounds N]

Starts its own PostgreSQL 15 cluster (ssl=on) and snigate on free ports with the e2e harness,
initialises the tables with `pgbench -i -s 1` (directly, over the unix socket), then runs two
workloads against three targets, interleaved (A B C, A B C, ...) for --rounds rounds:

  targets    direct       TLS straight to the cluster (host=backend.test, sslmode=require)
             terminate    snigate terminates TLS (SNI pg-term.test), plain link to the cluster
             passthrough  snigate passes TLS through (SNI pg-pt.test; its own SSLRequest to
                          the cluster first), TLS end to end
  workloads  select       pgbench -n -S -c 4 -j 2 -T S       (persistent connections)
             connect      pgbench -n -C -S -c 4 -j 2 -T S    (a new connection per transaction)

Every target logs in as alice (SCRAM-SHA-256, as the e2e clusters are set up), with
`host=<name> hostaddr=127.0.0.1`, so libpq sends the name as SNI. Prints each run, then the
median tps, the ratio to direct and the median average latency, as a Markdown table, and the
load average before and after. The default (3 rounds of 7 s) takes about 2.5 minutes.
snigate: SNIGATE_BIN (default build-bench/snigate, a Release build)."""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("SNIGATE_BIN", "build-bench/snigate")  # read by harness.snigate (relative to ROOT)
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import servers  # noqa: E402
from harness.pg import pgbench  # noqa: E402
from harness.pki import make_pki  # noqa: E402
from harness.snigate import Snigate, snigate_bin  # noqa: E402
from harness.util import LOCALHOST, free_port, to_yaml  # noqa: E402

TARGETS = [("direct", "direct TLS"), ("terminate", "snigate, TLS terminated"),
           ("passthrough", "snigate, TLS passthrough")]
WORKLOADS = [("select", "`pgbench -S` (persistent connections)", ["-S"]),
             ("connect", "`pgbench -C -S` (new connection per transaction)", ["-C", "-S"])]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def num(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def parse(out: str) -> dict:
    """tps and average latency (ms) from pgbench's summary."""
    tps = re.search(r"^tps = ([0-9.]+)", out, re.M)
    lat = re.search(r"^latency average = ([0-9.]+) ms", out, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
    if not tps or not lat:
        raise RuntimeError(f"cannot parse pgbench output:\n{out}")
    return {"tps": float(tps.group(1)), "lat_ms": float(lat.group(1)),
            "failed": int(failed.group(1)) if failed else 0}


def run(env: dict, args: list, seconds: float) -> dict:
    cp = pgbench(["-n", *args, "-c", "4", "-j", "2", "-T", str(seconds)], env, timeout=seconds + 60)
    if not cp.ok:
        raise RuntimeError(f"pgbench {args} failed: {cp}")
    return parse(cp.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", type=int, default=7, help="seconds per pgbench run (-T), default 7")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of every target and workload, default 3")
    ap.add_argument("--workloads", default="select,connect", help="comma-separated: select,connect")
    a = ap.parse_args()
    workloads = [w for w in WORKLOADS if w[0] in a.workloads.split(",")]
    if not snigate_bin().is_file():
        sys.exit(f"no snigate binary at {snigate_bin()} (set SNIGATE_BIN or build build-bench/)")
    if not servers.PG_BIN.is_dir():
        sys.exit(f"PostgreSQL 15 not installed ({servers.PG_BIN})")

    load_start = loadavg()
    version = subprocess.run(["pgbench", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, nproc {os.cpu_count()}, {version}, "
          f"snigate {snigate_bin()}, load average {load_start}", flush=True)
    t_start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="snigate-pgbench-"))
    pki = make_pki(work / "pki", {"backend": ["backend.test"], "pg-term": ["pg-term.test"]})
    # log_connections is on in the e2e clusters; off here, so no target pays for a log line per connection.
    db = servers.start_postgres(work / "db", pki["backend"].cert, pki["backend"].key, pki.ca_cert,
                                extra_conf="log_connections = off")
    port = free_port()
    server = {"loadBalancer": {"servers": [{"address": f"{LOCALHOST}:{db.port}"}]}}
    cfg = {  # no accessLog key: the access log is off, as in bench/configs/snigate.yaml
        "entryPoints": {"pg": {"address": f"{LOCALHOST}:{port}", "protocol": "postgres"}},
        "tcp": {
            "routers": {
                "term": {"entryPoints": ["pg"], "rule": "HostSNI(`pg-term.test`)", "service": "db", "tls": {}},
                "pt": {"entryPoints": ["pg"], "rule": "HostSNI(`pg-pt.test`)", "service": "db",
                       "tls": {"passthrough": True}},
            },
            "services": {"db": server},
        },
        "tls": {"certificates": [{"certFile": str(pki["pg-term"].cert), "keyFile": str(pki["pg-term"].key)}]},
        "log": {"level": "WARN"},
    }
    # A string config: the harness adds an access log to dict configs.
    sg = Snigate(work / "snigate", to_yaml(cfg) + "\n", name="bench", ports={"pg": port}).start()
    common = {"PGHOSTADDR": LOCALHOST, "PGSSLMODE": "require", "PGUSER": "alice", "PGPASSWORD": "secret",
              "PGDATABASE": "app"}
    envs = {"direct": {**common, "PGHOST": "backend.test", "PGPORT": db.port},
            "terminate": {**common, "PGHOST": "pg-term.test", "PGPORT": port},
            "passthrough": {**common, "PGHOST": "pg-pt.test", "PGPORT": port}}
    results = {}  # (workload, target) -> [run dicts]
    try:
        cp = pgbench(["-i", "-q", "-s", "1"], {"PGHOST": db.sockdir, "PGPORT": db.port, "PGUSER": "alice",
                                               "PGDATABASE": "app"})
        if not cp.ok:
            raise RuntimeError(f"pgbench -i failed: {cp}")
        for t, _ in TARGETS:  # warm-up (and a check that every path works): 1 s each, not counted
            for _, _, args in workloads:
                run(envs[t], args, 1)
        for r in range(1, a.rounds + 1):
            for w, _, args in workloads:
                for t, _ in TARGETS:
                    res = run(envs[t], args, a.time)
                    results.setdefault((w, t), []).append(res)
                    print(f"round {r} {w:8s} {t:12s} tps {res['tps']:9.1f}  latency avg {res['lat_ms']:7.3f} ms"
                          f"  failed {res['failed']}  (load {loadavg()})", flush=True)
    finally:
        sg.teardown()
        db.stop()
    shutil.rmtree(work, ignore_errors=True)  # kept when a run fails: the logs are in it
    load_end = loadavg()
    elapsed = time.monotonic() - t_start

    print()
    print(f"pgbench -c 4 -j 2 -T {a.time}, {a.rounds} rounds, interleaved; medians over rounds")
    print()
    print("| workload | | " + " | ".join(label for _, label in TARGETS) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in TARGETS) + " |")
    for w, label, _ in workloads:
        tps = {t: [x["tps"] for x in results[(w, t)]] for t, _ in TARGETS}
        lat = {t: statistics.median(x["lat_ms"] for x in results[(w, t)]) for t, _ in TARGETS}
        med = {t: statistics.median(v) for t, v in tps.items()}
        print(f"| {label} | tps (median) | " + " | ".join(num(med[t]) for t, _ in TARGETS) + " |")
        print("| | ratio to direct | " + " | ".join(f"{med[t] / med['direct']:.2f}" for t, _ in TARGETS) + " |")
        print("| | tps, min–max over rounds | "
              + " | ".join(f"{num(min(tps[t]))}–{num(max(tps[t]))}" for t, _ in TARGETS) + " |")
        print("| | latency average (median) | " + " | ".join(f"{num(lat[t])} ms" for t, _ in TARGETS) + " |")
    failed = sum(x["failed"] for v in results.values() for x in v)
    print()
    print(f"failed transactions: {failed}")
    print(f"load average at start / end: {load_start} / {load_end}; {elapsed:.0f} s in all")


if __name__ == "__main__":
    main()
