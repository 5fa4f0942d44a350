#!/usr/bin/python3
"""Scale with the configuration (issue 29): snigate with 1 to 100,000 routers, and HAProxy with a map file.
bench/run.sh --scale runs this.

  bench/scale.py [--counts 1,1000,10000,100000] [--mixes exact,wildcard,regexp,mix] [--time 3]
                 [--rounds 1] [--reloads 3] [--snigate PATH] [--no-haproxy] [--no-doc]
  bench/scale.py --write-config MIX N DIR   only write one row's snigate configuration to DIR
                 (DIR/static.yaml), e.g. for build-rb/config_load_bench -c DIR/static.yaml

For each mix and each count N: N SNI passthrough routers on one entry point, all sending to one
service (the bench backend, `loadgen serve`), plus one target router at priority 1 (the lowest)
of the mix's kind; the client names the target.
  exact     HostSNI(`hK.example.com`)                  target target.example.com
  wildcard  HostSNI(`*.wK.example.com`)                target *.target.example.com (x.target.example.com)
  regexp    HostSNIRegexp(`^rK-[a-z]+\\.example\\.com$`)  target ^target-[a-z]+\\.example\\.com$
            (target-x.example.com)
  mix       router K of the kind exact, wildcard, regexp by K mod 3; the target is exact
Measured per (mix, N), one fresh snigate each (Release; built into build-bench/ unless --snigate):
  start     exec until a connection for the target is answered by the backend through the
            entry point (polled every millisecond); the time the port first accepted is kept too
  memory    VmRSS once started, VmHWM (peak); per router = (RSS(N) - RSS(1)) / N; VmRSS again
            after the reloads, the lowest in the 2 s after the last (the old one is freed after the log)
  conn/s    `loadgen rate`, 32 clients, --time seconds, for the target name; the ratio is to a
            snigate with 1 router of the same mix, running all along, measured right before and
            right after (the mean of the two); --rounds such rounds, the medians
  reload    router 0's rule changed in the file, SIGHUP, until `config reloaded (SIGHUP)` is in
            the log (polled every millisecond); median of --reloads; the new name is then probed
  check     wall time of `snigate check -c`
For the exact mix, HAProxy (master-worker, 2 threads) with the names in a map file:
  `use_backend %[req.ssl_sni,lower,map(hosts.map)]`; reload = one map line changed, SIGUSR2 to
  the master, until it logs `Loading success.` (its new worker is up); check = `haproxy -c`.
Prints Markdown tables and one JSON line; writes the section "Scale: routers" of
docs/benchmarks.md unless --no-doc. Ports 127.0.0.1:19501-19520 must be free."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR / "tests" / "e2e"))

from harness.util import wait_until  # noqa: E402

PORT_RANGE = range(19501, 19521)
BACKEND_PORTS = {"rate": 19501, "sink": 19502, "source": 19503}
PORT_SNIGATE_BASE, PORT_SNIGATE, PORT_HAPROXY_BASE, PORT_HAPROXY = 19511, 19512, 19513, 19514
CLIENTS = 32
KINDS = ("exact", "wildcard", "regexp")
MIXES = KINDS + ("mix",)
POLL = 0.001  # poll interval only; the condition polled for is what synchronises


# ---------------------------------------------------------------- rules and names

def kind_of(mix: str, i: int) -> str:
    return KINDS[i % 3] if mix == "mix" else mix


def target_kind(mix: str) -> str:
    return "exact" if mix == "mix" else mix


def rule(kind: str, label: str) -> str:
    if kind == "exact":
        return f"HostSNI(`{label}.example.com`)"
    if kind == "wildcard":
        return f"HostSNI(`*.{label}.example.com`)"
    return f"HostSNIRegexp(`^{label}-[a-z]+\\.example\\.com$`)"


def client_name(kind: str, label: str) -> str:
    """A server name that the rule(kind, label) router takes."""
    return {"exact": f"{label}.example.com", "wildcard": f"x.{label}.example.com",
            "regexp": f"{label}-x.example.com"}[kind]


def label(kind: str, i: int, version: int = 0) -> str:
    """Router i's label; version > 0 is router 0 after the version-th reload."""
    base = {"exact": "h", "wildcard": "w", "regexp": "r"}[kind] + str(i)
    return f"{base}v{version}" if version else base


# ---------------------------------------------------------------- configuration files

def snigate_dynamic(mix: str, n: int, version: int = 0) -> str:
    """N routers, then the target; router 0 carries `version` (the reload's change)."""
    out = ["tcp:\n  routers:\n"]
    for i in range(n):
        k = kind_of(mix, i)
        out.append(f"    r{i}:\n      entryPoints: [sni]\n      rule: '{rule(k, label(k, i, version if i == 0 else 0))}'\n"
                   "      service: backend\n      tls: {passthrough: true}\n")
    out.append(f"    target:\n      entryPoints: [sni]\n      rule: '{rule(target_kind(mix), 'target')}'\n"
               "      priority: 1\n      service: backend\n      tls: {passthrough: true}\n")
    out.append(f"  services:\n    backend:\n      loadBalancer:\n        servers:\n"
               f"          - address: \"127.0.0.1:{BACKEND_PORTS['rate']}\"\n")
    return "".join(out)


def snigate_static(port: int, dynamic: Path) -> str:
    # watch: false, so that the SIGHUP is the only thing that reloads.
    return (f"snigate:\n  workers: 2\nlog:\n  level: INFO\n"
            f"entryPoints:\n  sni: {{address: \"127.0.0.1:{port}\"}}\n"
            f"providers:\n  file:\n    filename: {dynamic}\n    watch: false\n")


def haproxy_map(n: int, version: int = 0) -> str:
    lines = [f"{client_name('exact', label('exact', i, version if i == 0 else 0))} backend" for i in range(n)]
    lines.append(f"{client_name('exact', 'target')} backend")
    return "\n".join(lines) + "\n"


def haproxy_cfg(port: int, map_path: Path) -> str:
    return f"""global
    nbthread 2
    maxconn 4000

defaults
    mode tcp
    timeout connect 5s
    timeout client 1m
    timeout server 1m

frontend sni
    bind 127.0.0.1:{port}
    tcp-request inspect-delay 5s
    tcp-request content accept if {{ req.ssl_hello_type 1 }}
    use_backend %[req.ssl_sni,lower,map({map_path})]

backend backend
    server s1 127.0.0.1:{BACKEND_PORTS['rate']}
"""


def write(path: Path, text: str) -> None:
    """Written beside and renamed, so that a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


# ---------------------------------------------------------------- processes

class Procs:
    """Every process this run starts, each in a session of its own (Ctrl-C reaches only this
    script, which then stops them all)."""

    def __init__(self):
        self.live: list[subprocess.Popen] = []

    def start(self, argv: list, log: Path) -> subprocess.Popen:
        with open(log, "wb") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        self.live.append(p)
        return p

    def stop(self, p: subprocess.Popen, timeout: float = 10.0) -> None:
        """SIGTERM to the process group (HAProxy's workers too), SIGKILL after timeout."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(p.pid, signal.SIGKILL)  # a worker that outlived its master
        except ProcessLookupError:
            pass
        if p in self.live:
            self.live.remove(p)

    def stop_all(self) -> None:
        for p in list(self.live):
            self.stop(p, timeout=5.0)


def ports_free() -> None:
    busy = []
    for port in PORT_RANGE:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            busy.append(port)
        finally:
            s.close()
    if busy:
        raise SystemExit(f"ports in use: {', '.join(map(str, busy))} (bench/scale.py needs 127.0.0.1:"
                         f"{PORT_RANGE.start}-{PORT_RANGE.stop - 1}; a previous run still alive?)")


def tree_pids(pid: int) -> list:
    children: dict = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def settled_rss_kib(pid: int, window: float) -> int:
    """The lowest VmRSS within `window` seconds: a reload logs when the new snapshot serves,
    then frees the old one and hands the pages back (about a tenth of a second at 100,000
    routers). Read every 50 ms."""
    lowest = memory(pid)[0]
    deadline = time.monotonic() + window
    while time.monotonic() < deadline:
        time.sleep(0.05)  # the sampling interval of the measurement
        lowest = min(lowest, memory(pid)[0])
    return lowest


def memory(pid: int) -> tuple:
    """(VmRSS, VmHWM) in KiB, summed over the process and its descendants."""
    pids = tree_pids(pid)
    return sum(status_kib(p, "VmRSS") for p in pids), sum(status_kib(p, "VmHWM") for p in pids)


# ---------------------------------------------------------------- clients

_hellos: dict = {}


def client_hello(name: str) -> bytes:
    """A real TLS ClientHello with SNI name, made by the ssl module without a socket."""
    if name not in _hellos:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        conn = ctx.wrap_bio(incoming, outgoing, server_hostname=name)
        try:
            conn.do_handshake()
        except ssl.SSLWantReadError:
            pass
        _hellos[name] = outgoing.read()
    return _hellos[name]


def probe(port: int, name: str, timeout: float = 10.0) -> tuple:
    """(connected, answered): connect, send a ClientHello for name, read until the peer closes.
    The bench backend answers a hello; a gateway with no route for name closes without a byte."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return False, False
    try:
        s.sendall(client_hello(name))
        got = 0
        while chunk := s.recv(4096):
            got += len(chunk)
        return True, got > 0
    except OSError:
        return True, False
    finally:
        s.close()


def started(p: subprocess.Popen, port: int, name: str, t0: float, timeout: float, log: Path) -> dict:
    """Polls until a connection for name through port is answered; seconds from t0."""
    seen: dict = {}

    def up():
        if p.poll() is not None:
            raise RuntimeError(f"{p.args[0]} exited with {p.returncode}:\n{log.read_text()[-3000:]}")
        connected, answered = probe(port, name)
        now = time.monotonic()
        if connected and "listening_s" not in seen:
            seen["listening_s"] = now - t0
        if answered:
            seen["routed_s"] = now - t0
        return answered
    wait_until(up, timeout, f"{name} answered through 127.0.0.1:{port}", interval=POLL)
    return seen


def kv(line: str) -> dict:
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def rate(loadgen: Path, port: int, name: str, secs: float) -> dict:
    cp = subprocess.run([str(loadgen), "rate", "--connect", f"127.0.0.1:{port}", "--sni", name,
                         "--conc", str(CLIENTS), "--time", str(secs)],
                        capture_output=True, text=True, timeout=secs + 120)
    if cp.returncode != 0:
        raise RuntimeError(f"loadgen rate exited {cp.returncode}: {cp.stderr}")
    r = kv(cp.stdout)
    return {"conns_per_s": float(r["conns_per_s"]), "p99_us": int(r["p99_us"]), "errors": int(r["errors"])}


def timed_run(argv: list, log: Path) -> dict:
    """Wall time of one command. (Not its peak memory: wait4's ru_maxrss counts this script's own
    memory too, which the child had between fork and exec.)"""
    with open(log, "wb") as out:
        t0 = time.monotonic()
        cp = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=600)
        wall = time.monotonic() - t0
    if cp.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {cp.returncode}:\n{log.read_text()[-3000:]}")
    return {"wall_s": wall}


def wait_log(log: Path, offset: int, pattern: re.Pattern, fail: re.Pattern | None, timeout: float, what: str):
    """Polls log from offset until a line matches pattern; the match. A line matching fail raises."""
    def seen():
        with open(log, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        if fail and (m := fail.search(text)):
            raise RuntimeError(f"{what}: {m.group(0)}\n{text[-3000:]}")
        return pattern.search(text)
    return wait_until(seen, timeout, what, interval=POLL)


# ---------------------------------------------------------------- one gateway, one configuration

@dataclass
class Gateway:
    """What differs between snigate and HAProxy: how to start, reload and check one."""
    name: str
    work: Path
    port: int
    procs: Procs
    binary: str
    proc: subprocess.Popen | None = None
    log: Path = field(default=None)

    def argv(self) -> list: ...
    def write_config(self, mix: str, n: int, version: int) -> None: ...
    def reload(self, timeout: float) -> float: ...
    def check(self) -> dict: ...

    def settle(self, timeout: float) -> None:
        """Until the gateway is in its steady state after a start or a reload."""

    def start(self, timeout: float, name: str) -> dict:
        self.log = self.work / "gateway.log"
        t0 = time.monotonic()
        self.proc = self.procs.start(self.argv(), self.log)
        return started(self.proc, self.port, name, t0, timeout, self.log)

    def stop(self) -> None:
        if self.proc:
            self.procs.stop(self.proc)
            self.proc = None


class Snigate(Gateway):
    def argv(self):
        return [self.binary, "--config", str(self.work / "static.yaml"), "--log-level", "INFO"]

    def write_config(self, mix, n, version):
        self.routers = n + 1
        write(self.work / "dynamic.yaml", snigate_dynamic(mix, n, version))
        write(self.work / "static.yaml", snigate_static(self.port, self.work / "dynamic.yaml"))

    def reload(self, timeout):
        offset = self.log.stat().st_size
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGHUP)
        m = wait_log(self.log, offset, re.compile(r"config reloaded \(SIGHUP\): generation \d+, (\d+) router"),
                     re.compile(r"reload failed.*"), timeout, "snigate's reload")
        took = time.monotonic() - t0
        if int(m.group(1)) != self.routers:
            raise RuntimeError(f"reloaded with {m.group(1)} routers, expected {self.routers}")
        return took

    def check(self):
        return timed_run([self.binary, "check", "-c", str(self.work / "static.yaml")], self.work / "check.log")


class Haproxy(Gateway):
    def argv(self):
        return [self.binary, "-W", "-S", str(self.work / "master.sock"), "-db", "-f", str(self.work / "haproxy.cfg")]

    def write_config(self, mix, n, version):
        assert mix == "exact"
        write(self.work / "hosts.map", haproxy_map(n, version))
        write(self.work / "haproxy.cfg", haproxy_cfg(self.port, self.work / "hosts.map"))

    def settle(self, timeout):
        """Until the master answers on its CLI. After starting a worker the master execs itself once
        more (to drop the configuration it parsed); a SIGUSR2 that arrives meanwhile is lost."""
        wait_until(lambda: "# workers" in master_cli(self.work / "master.sock", "show proc"), timeout,
                   "HAProxy's master CLI", interval=POLL)

    def reload(self, timeout):
        self.settle(timeout)
        offset = self.log.stat().st_size
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGUSR2)
        wait_log(self.log, offset, re.compile(r"Loading success\."), re.compile(r"Loading failure.*"), timeout,
                 "HAProxy's reload")
        return time.monotonic() - t0

    def check(self):
        return timed_run([self.binary, "-c", "-q", "-f", str(self.work / "haproxy.cfg")], self.work / "check.log")


def master_cli(path: Path, command: str) -> str:
    """HAProxy's master CLI answers `show proc` with its processes; '' while it cannot."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    out = b""
    try:
        s.connect(str(path))
        s.sendall(command.encode() + b"\n")
        while b"# programs" not in out and (chunk := s.recv(4096)):
            out += chunk
    except OSError:
        return ""
    finally:
        s.close()
    return out.decode(errors="replace")


def measure(gw: Gateway, base: Gateway, mix: str, n: int, args) -> dict:
    """Everything for one (gateway, mix, N); base is the same gateway with 1 router, running."""
    tkind = target_kind(mix)
    target = client_name(tkind, "target")
    gw.write_config(mix, n, 0)
    row = {"gateway": gw.name, "mix": mix, "routers": n}
    try:
        row |= gw.start(args.start_timeout, target)
        gw.settle(args.start_timeout)
        row["rss_kib"], row["hwm_kib"] = memory(gw.proc.pid)
        # The 1-router process before and after each: the load of a shared machine drifts.
        row["base_rates"] = [rate(args.loadgen, base.port, target, args.time)]
        row["rates"] = []
        for _ in range(args.rounds):
            row["rates"].append(rate(args.loadgen, gw.port, target, args.time))
            row["base_rates"].append(rate(args.loadgen, base.port, target, args.time))
        reloads = []
        kind0 = kind_of(mix, 0)
        for version in range(1, args.reloads + 1):
            gw.write_config(mix, n, version)
            reloads.append(gw.reload(args.start_timeout))
            changed = client_name(kind0, label(kind0, 0, version))
            if not wait_until(lambda: probe(gw.port, changed)[1], 10, f"{changed} routed after the reload",
                              interval=POLL):
                raise RuntimeError(f"{changed} does not route after the reload")
        row["reload_s"] = reloads
        gw.settle(args.start_timeout)
        row["rss_after_reload_kib"] = settled_rss_kib(gw.proc.pid, 2)
    finally:
        gw.stop()
    row["check"] = gw.check()
    return row


# ---------------------------------------------------------------- set-up

def build(args) -> None:
    out = ROOT_DIR / "build-bench"
    out.mkdir(exist_ok=True)
    if not args.snigate:
        print("[scale] building snigate (Release) into build-bench/", file=sys.stderr)
        subprocess.run(["cmake", "-S", str(ROOT_DIR), "-B", str(out), "-DCMAKE_BUILD_TYPE=Release",
                        "-DSNIGATE_TESTS=OFF"], check=True, stdout=subprocess.DEVNULL)
        with open(out / "build.log", "wb") as log:
            if subprocess.run(["cmake", "--build", str(out), "-j2", "--target", "snigate"],
                              stdout=log, stderr=subprocess.STDOUT).returncode != 0:
                raise SystemExit("snigate did not build (log: build-bench/build.log)")
        args.snigate = str(out / "snigate")
        args.built = True
    src = ROOT_DIR / "bench" / "loadgen" / "loadgen.cpp"
    args.loadgen = out / "loadgen"
    if not args.loadgen.exists() or args.loadgen.stat().st_mtime < src.stat().st_mtime:
        print("[scale] building the load generator", file=sys.stderr)
        subprocess.run(["g++", "-O2", "-std=c++20", "-Wall", "-Wextra", "-o", str(args.loadgen), str(src),
                        "-lssl", "-lcrypto", "-lpthread"], check=True)


def machine_ticks() -> tuple:
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(f) - f[3] - f[4], sum(f)


def cpu_busy_pct(secs: float = 2.0) -> float:
    """The share of the machine's CPU time not idle over secs (the load average lags by minutes)."""
    b0, a0 = machine_ticks()
    time.sleep(secs)  # a measurement window, not a synchronisation
    b1, a1 = machine_ticks()
    return 100.0 * (b1 - b0) / max(1, a1 - a0)


def parse_args(argv):
    ap = argparse.ArgumentParser(formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--counts", default="1,1000,10000,100000",
                    help="router counts, comma-separated (1 is added if missing: memory per router needs it)")
    ap.add_argument("--mixes", default=",".join(MIXES), help=f"comma-separated, of {', '.join(MIXES)}")
    ap.add_argument("--time", type=float, default=3.0, help="seconds per connection-rate measurement")
    ap.add_argument("--rounds", type=int, default=1,
                    help="connection-rate rounds per configuration, each between two of the 1-router process "
                         "(the median ratio is shown)")
    ap.add_argument("--reloads", type=int, default=3, help="reloads per configuration (the median is shown)")
    ap.add_argument("--snigate", help="snigate binary (default: build the working tree into build-bench/)")
    ap.add_argument("--start-timeout", type=float, default=300.0, help="seconds a start or a reload may take")
    ap.add_argument("--no-haproxy", action="store_true", help="snigate only")
    ap.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    args = ap.parse_args(argv)
    args.counts = sorted({1} | {int(c) for c in args.counts.split(",") if c})
    args.mixes = [m for m in args.mixes.split(",") if m]
    if bad := [m for m in args.mixes if m not in MIXES]:
        ap.error(f"unknown mix {', '.join(bad)} (known: {', '.join(MIXES)})")
    if min(args.counts) < 1 or args.reloads < 1 or args.rounds < 1 or args.time <= 0:
        ap.error("--counts must be positive, --reloads and --rounds at least 1, --time above 0")
    args.built = False
    args.haproxy = None if args.no_haproxy else shutil.which("haproxy")
    if not args.no_haproxy and not args.haproxy:
        ap.error("haproxy is not installed (bench/install-peers.sh), or give --no-haproxy")
    return args


def run(args, procs: Procs, work: Path) -> list:
    backend = procs.start([str(args.loadgen), "serve", "--rate-port", str(BACKEND_PORTS["rate"]),
                           "--sink-port", str(BACKEND_PORTS["sink"]), "--source-port", str(BACKEND_PORTS["source"])],
                          work / "backend.log")
    wait_until(lambda: backend.poll() is None and "serving" in (work / "backend.log").read_text(), 10,
               "the bench backend", interval=POLL)
    plan = [(Snigate, args.snigate, PORT_SNIGATE_BASE, PORT_SNIGATE, mix) for mix in args.mixes]
    if args.haproxy and "exact" in args.mixes:
        plan.append((Haproxy, args.haproxy, PORT_HAPROXY_BASE, PORT_HAPROXY, "exact"))
    rows = []
    for cls, binary, base_port, port, mix in plan:
        name = cls.__name__.lower()
        dirs = [work / f"{name}-base", work / name]
        for d in dirs:
            d.mkdir(exist_ok=True)
        base = cls(name, dirs[0], base_port, procs, binary)
        base.write_config(mix, 1, 0)
        base.start(args.start_timeout, client_name(target_kind(mix), "target"))
        try:
            for n in args.counts:
                print(f"[scale {time.strftime('%H:%M:%S')}] {name} {mix} {n}", file=sys.stderr)
                rows.append(measure(cls(name, dirs[1], port, procs, binary), base, mix, n, args))
                print(f"[scale] {json.dumps(rows[-1])}", file=sys.stderr)
        finally:
            base.stop()
    return rows


# ---------------------------------------------------------------- report

def derive(rows: list) -> None:
    """Memory per router and the rate ratio, from RSS(1) and the 1-router process of the same gateway and mix."""
    ones = {(r["gateway"], r["mix"]): r for r in rows if r["routers"] == 1}
    for r in rows:
        one = ones[(r["gateway"], r["mix"])]
        r["bytes_per_router"] = (r["rss_kib"] - one["rss_kib"]) * 1024 / r["routers"] if r["routers"] > 1 else None
        rates, bases = [x["conns_per_s"] for x in r["rates"]], [x["conns_per_s"] for x in r["base_rates"]]
        r["rate_ratio"] = statistics.median(v / ((bases[i] + bases[i + 1]) / 2) for i, v in enumerate(rates))
        r["rate"] = {"conns_per_s": statistics.median(rates), "errors": sum(x["errors"] for x in r["rates"])}
        r["reload_median_s"] = statistics.median(r["reload_s"])


def secs(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def table(rows: list) -> str:
    head = ("| gateway | mix | routers | start | RSS | peak RSS | per router | conn/s | ratio to 1 router "
            "| reload | RSS after the reloads | check |\n"
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    out = [head]
    for r in rows:
        per = "" if r["bytes_per_router"] is None else f"{r['bytes_per_router'] / 1024:.2f} KiB"
        errors = f" ({r['rate']['errors']} errors)" if r["rate"]["errors"] else ""
        out.append(f"| {r['gateway']} | {r['mix']} | {r['routers']:,} | {secs(r['routed_s'])} "
                   f"| {r['rss_kib'] / 1024:.0f} MiB | {r['hwm_kib'] / 1024:.0f} MiB | {per} "
                   f"| {r['rate']['conns_per_s'] / 1000:.1f}k{errors} | {r['rate_ratio']:.2f} "
                   f"| {secs(r['reload_median_s'])} | {r['rss_after_reload_kib'] / 1024:.0f} MiB "
                   f"| {secs(r['check']['wall_s'])} |")
    return "\n".join(out)


def targets(rows: list) -> str:
    """Issue 29's three targets at the largest count of each snigate mix."""
    out = ["| mix | routers | rate within 10% of 1 router | memory per router under 1 KiB | reload under 1 s |",
           "| --- | ---: | --- | --- | --- |"]
    for mix in dict.fromkeys(r["mix"] for r in rows if r["gateway"] == "snigate"):
        r = max((r for r in rows if r["gateway"] == "snigate" and r["mix"] == mix), key=lambda r: r["routers"])
        if r["routers"] == 1:
            continue
        ratio, per, reload = r["rate_ratio"], r["bytes_per_router"], r["reload_median_s"]
        out.append(f"| {mix} | {r['routers']:,} | {verdict(ratio >= 0.9, f'{ratio:.2f}')} "
                   f"| {verdict(per < 1024, f'{per / 1024:.2f} KiB')} | {verdict(reload < 1, secs(reload))} |")
    return "\n".join(out)


def verdict(ok: bool, what: str) -> str:
    return f"{'yes' if ok else 'no'} ({what})"


def build_note(args) -> str:
    version = subprocess.run([args.snigate, "version"], capture_output=True, text=True).stdout.strip().splitlines()
    note = version[0] if version else "snigate"
    if args.built:
        dirty = subprocess.run(["git", "-C", str(ROOT_DIR), "status", "--porcelain", "--", "src", "CMakeLists.txt"],
                               capture_output=True, text=True).stdout.strip()
        head = subprocess.run(["git", "-C", str(ROOT_DIR), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        note += f", Release build of commit {head}" + (" plus uncommitted changes in src/" if dirty else "")
    else:
        note += f", binary `{args.snigate}`"
    return note


def section(rows: list, args, meta: dict) -> str:
    fill = lambda text: textwrap.fill(" ".join(text.split()), 100, break_on_hyphens=False)  # noqa: E731
    item = lambda text: textwrap.fill(" ".join(text.split()), 100, initial_indent="- ", subsequent_indent="  ",  # noqa: E731
                                      break_on_hyphens=False)
    reloads = f"the median of {args.reloads}" if args.reloads > 1 else "one reload"
    rounds = f" ({args.rounds} such rounds, the medians)" if args.rounds > 1 else ""
    parts = [
        "## Scale: routers",
        fill(f"""`{meta['command']}` (or `bench/run.sh --scale` with the same options), {meta['date']},
             {meta['elapsed_s']:.0f} s in all, on {meta['machine']}. CPU busy just before the first measurement:
             {meta['busy_start']:.0f}%; load average at the start / end: {meta['load_start']} / {meta['load_end']}.
             snigate: {meta['snigate']}. Without `--snigate` the script builds the working tree in Release
             into `build-bench/`; `--snigate` takes any Release binary instead, such as one built with
             `cmake -S . -B build-rb -DCMAKE_BUILD_TYPE=Release && cmake --build build-rb --target snigate`.
             Either way the script builds its load generator (`bench/loadgen`) into `build-bench/` when it
             is missing or older than its source, and keeps its configurations, logs and `results.json`
             in `build-bench/scale/`; it runs from any directory, and needs the ports
             127.0.0.1:19501-19520 free."""),
        fill("""Each row is one fresh process with N SNI passthrough routers on one entry point, all to one
             service (the bench backend), plus a target router at `priority: 1` (the lowest) that the client
             names: exact ``HostSNI(`hK.example.com`)`` (target `target.example.com`), wildcard
             ``HostSNI(`*.wK.example.com`)`` (client `x.target.example.com`), regexp
             ``HostSNIRegexp(`^rK-[a-z]+\\.example\\.com$`)`` (client `target-x.example.com`), mix a third of
             each (the target exact). snigate: a static file with a file provider (`watch: false`),
             2 workers, log level INFO."""),
        "\n".join([
            item("""start: from exec until a connection for the target is answered by the backend through the
                 entry point (a probe every millisecond);"""),
            item("""RSS: VmRSS right after that; peak RSS: VmHWM then; per router: (RSS(N) - RSS(1)) / N;"""),
            item(f"""conn/s: `loadgen rate`, {CLIENTS} clients, {args.time:g} s, for the target; ratio: to the
                 mean of a process of the same gateway and mix with 1 router, running all along, measured
                 just before and just after{rounds};"""),
            item(f"""reload: router 0's rule changed in the file, SIGHUP, until `config reloaded (SIGHUP)` is in
                 the log (polled every millisecond), {reloads}: the file is parsed whole again (the file
                 provider cannot say what changed), and the routers written as before are taken over
                 without being walked or compiled again (docs/architecture.md, "Snapshot and reload"); the
                 changed router is probed after each; RSS after the reloads:
                 the lowest VmRSS in the 2 s after the last (read every 50 ms: the old snapshot is freed
                 just after the log line);"""),
            item("check: wall time of `snigate check -c` on the same files."),
        ]),
    ]
    if any(r["gateway"] == "haproxy" for r in rows):
        parts.append(fill(f"""HAProxy ({meta['haproxy']}, `-W` master-worker, `nbthread 2`) takes the exact
            mix from a map file: `use_backend %[req.ssl_sni,lower,map(hosts.map)]` after
            `tcp-request content accept if {{ req.ssl_hello_type 1 }}`. Its memory is the master's and the
            workers' together, once the master answers on its CLI (it execs itself again after starting a
            worker). Its reload: one map line changed, SIGUSR2 to the master, until the master logs
            `Loading success.` (the new worker is up and serving). Its check: `haproxy -c`."""))
    parts += [table(rows), "Issue 29's targets at the largest count:", targets(rows)]
    return "\n\n".join(parts) + "\n"


def write_doc(text: str) -> None:
    path = ROOT_DIR / "docs" / "benchmarks.md"
    doc = path.read_text()
    text = text.rstrip() + "\n"
    pat = re.compile(r"\n## Scale: routers\n.*?(?=\n## )", re.S)
    if pat.search(doc):
        doc = pat.sub(lambda m: "\n" + text, doc, count=1)
    else:  # after the sections other scripts measure, before the closing discussion
        at = doc.find("\n## Where snigate stands")
        at = len(doc) if at < 0 else at
        doc = doc[:at] + "\n" + text + doc[at:]
    path.write_text(doc)
    print(f"wrote {path}", file=sys.stderr)


def on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the finally that stops every process


def write_config_only(argv) -> int:
    """--write-config MIX N DIR: the snigate configuration of one row, for bench/config_load_bench."""
    mix, n, out = argv[0], int(argv[1]), Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    write(out / "dynamic.yaml", snigate_dynamic(mix, n, 0))
    write(out / "static.yaml", snigate_static(PORT_SNIGATE, out / "dynamic.yaml"))
    print(out / "static.yaml")
    return 0


def main(argv) -> int:
    if argv[:1] == ["--write-config"] and len(argv) == 4:
        return write_config_only(argv[1:])
    args = parse_args(argv)
    ports_free()
    build(args)
    work = ROOT_DIR / "build-bench" / "scale"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    signal.signal(signal.SIGTERM, on_sigterm)
    procs = Procs()
    t0 = time.monotonic()
    meta = {"command": " ".join(["bench/scale.py"] + argv), "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "busy_start": cpu_busy_pct()}
    try:
        rows = run(args, procs, work)
    finally:
        procs.stop_all()
    derive(rows)
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "unknown CPU")
    meta |= {"elapsed_s": time.monotonic() - t0, "load_end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
             "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
             "machine": f"{cpu}, `nproc` = {os.cpu_count()}, {platform.system()} {platform.release()}",
             "snigate": build_note(args)}
    if args.haproxy:
        meta["haproxy"] = subprocess.run([args.haproxy, "-v"], capture_output=True, text=True).stdout.split(" - ")[0]
    print(table(rows))
    print()
    print(targets(rows))
    print(json.dumps({"meta": meta, "rows": rows}))
    (work / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    if not args.no_doc:
        write_doc(section(rows, args, meta))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("interrupted; every process this run started is stopped", file=sys.stderr)
        sys.exit(130)
