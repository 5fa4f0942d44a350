"""A real etcd cluster on loopback (Debian etcd-server 3.4, /usr/bin/etcd), each member with its
own data directory and free ports, plus etcdctl wrappers for the tests' writes and reads.

Members are stopped with SIGTERM and reaped before they are started again: etcd will not bind
the same ports while the old process still holds them. A member that does not become healthy
raises RuntimeError with its log, so the test fails rather than skips."""
from __future__ import annotations

import base64
import json
import signal
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .util import LOCALHOST, Proc, free_port, run, wait_until

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
# etcd's well-known ports: never used here, so a developer's own etcd is left alone.
RESERVED_PORTS = {2379, 2380}


def _free_ports(count: int) -> list:
    """count distinct free loopback ports, none of them 2379/2380."""
    ports: list = []
    for _ in range(count * 20):
        port = free_port()
        if port not in RESERVED_PORTS and port not in ports:
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError(f"could not find {count} distinct free loopback ports")


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    workdir: Path
    proc: Optional[Proc] = None
    runs: int = 0  # how many times it was started; each run has its own log files

    @property
    def endpoint(self) -> str:
        """host:port, as snigate's providers.etcd.endpoints and etcdctl take it."""
        return f"{LOCALHOST}:{self.client_port}"

    @property
    def client_url(self) -> str:
        return f"http://{LOCALHOST}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{LOCALHOST}:{self.peer_port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def logs(self) -> str:
        return self.proc.logs() if self.proc else f"--- {self.name}: never started"


@dataclass
class EtcdCluster:
    workdir: Path
    members: list = field(default_factory=list)
    max_txn_ops: int = 128  # etcd's default; a benchmark's 1,000-router transaction needs more

    # ------------------------------------------------------------ addresses
    @property
    def endpoints(self) -> list:
        """Every member's host:port, in member order."""
        return [m.endpoint for m in self.members]

    def initial_cluster(self) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def live_endpoints(self) -> list:
        return [m.endpoint for m in self.members if m.alive()]

    # ------------------------------------------------------------ lifecycle
    def _argv(self, m: Member, state: str) -> list:
        return [ETCD, "--name", m.name, "--data-dir", str(m.data_dir),
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", self.initial_cluster(), "--initial-cluster-state", state,
                "--initial-cluster-token", "snigate-e2e", "--max-txn-ops", str(self.max_txn_ops),
                "--log-level", "warn", "--logger", "zap"]

    def _spawn(self, m: Member, state: str) -> None:
        if m.alive():
            raise RuntimeError(f"etcd member {m.name} is already running (pid {m.proc.pid})")
        m.runs += 1
        m.proc = Proc(f"{m.name}.run{m.runs}", self._argv(m, state), m.workdir)

    def start_member(self, i: int, state: str = "existing", timeout: float = START_TIMEOUT) -> None:
        """Start member i again (its data dir is kept) and wait until it answers /health with
        true, which needs a quorum: start enough members before waiting (start_all does)."""
        m = self.members[i]
        self._spawn(m, state)
        self.wait_healthy([i], timeout)

    def start_all(self, state: str = "existing", timeout: float = START_TIMEOUT) -> None:
        """Start every stopped member at once (a lone member has no quorum and is never healthy),
        then wait for all of them."""
        stopped = [i for i, m in enumerate(self.members) if not m.alive()]
        for i in stopped:
            self._spawn(self.members[i], state)
        self.wait_healthy(range(len(self.members)), timeout)

    def stop_member(self, i: int, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM member i and wait for its process to have exited (SIGKILL after timeout)."""
        m = self.members[i]
        if m.proc is not None:
            m.proc.stop(signal.SIGTERM, timeout)
            if m.proc.alive():
                raise RuntimeError(f"etcd member {m.name} (pid {m.proc.pid}) did not exit\n{m.logs()}")

    def stop_all(self) -> None:
        for i in range(len(self.members)):
            self.stop_member(i)

    def wait_healthy(self, indexes, timeout: float = START_TIMEOUT) -> None:
        for i in indexes:
            m = self.members[i]

            def healthy(m=m) -> bool:
                if not m.alive():
                    raise RuntimeError(f"etcd member {m.name} exited with {m.proc.proc.returncode}\n"
                                       + self.logs())
                return member_healthy(m)
            try:
                wait_until(healthy, timeout, f"etcd member {m.name} at {m.client_url} to be healthy",
                           interval=0.05, on_timeout=self.logs)
            except TimeoutError as e:
                raise RuntimeError(str(e)) from None

    def logs(self) -> str:
        return "\n".join(m.logs() for m in self.members)

    # ------------------------------------------------------------ etcdctl
    def etcdctl(self, *args: str, endpoints: Optional[list] = None, stdin: Optional[str] = None,
                timeout: float = 15.0, check: bool = True):
        """Run etcdctl against the given endpoints (default: every live member)."""
        eps = endpoints or self.live_endpoints()
        if not eps:
            raise RuntimeError("etcdctl needs a live member; every member is stopped")
        argv = [ETCDCTL, "--endpoints", ",".join(eps), "--dial-timeout", "2s",
                "--command-timeout", f"{max(1, int(timeout) - 2)}s", *args]
        cp = (run(argv, timeout=timeout, stdin=None, input=stdin) if stdin is not None
              else run(argv, timeout=timeout))
        if check and cp.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {cp.returncode}\n{cp.stdout}\n{cp.stderr}")
        return cp

    def put(self, key: str, value: str, endpoints: Optional[list] = None) -> None:
        # "--" so a value that starts with "-" is not read as an option.
        self.etcdctl("put", "--", key, value, endpoints=endpoints)

    def put_many(self, pairs: dict, endpoints: Optional[list] = None) -> None:
        """Every pair in one transaction (one revision, so a watcher sees one change set)."""
        ops = "".join(f"put {json.dumps(k)} {json.dumps(v)}\n" for k, v in pairs.items())
        # etcdctl txn reads: compares, blank line, success ops, blank line, failure ops.
        cp = self.etcdctl("txn", endpoints=endpoints, stdin="\n" + ops + "\n\n", timeout=60)
        if "SUCCESS" not in cp.stdout:
            raise AssertionError(f"etcdctl txn did not succeed:\n{cp.stdout}\n{cp.stderr}")

    def get(self, key: str, endpoints: Optional[list] = None) -> Optional[str]:
        cp = self.etcdctl("get", "--print-value-only", "--", key, endpoints=endpoints)
        return cp.stdout[:-1] if cp.stdout.endswith("\n") else (cp.stdout or None)

    def get_prefix(self, prefix: str, endpoints: Optional[list] = None) -> dict:
        cp = self.etcdctl("get", "--prefix", "-w", "json", "--", prefix, endpoints=endpoints)
        kvs = json.loads(cp.stdout).get("kvs", [])
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in kvs}

    def delete(self, key: str, prefix: bool = False, endpoints: Optional[list] = None) -> int:
        """Delete a key (or every key under prefix); return how many went."""
        args = ["del", "--prefix", "--", key] if prefix else ["del", "--", key]
        cp = self.etcdctl(*args, endpoints=endpoints)
        return int(cp.stdout.strip() or 0)


def member_healthy(m: Member, timeout: float = 1.0) -> bool:
    """etcd's /health: {"health":"true"} once the member has a leader and can serve reads."""
    try:
        with urllib.request.urlopen(f"{m.client_url}/health", timeout=timeout) as resp:
            return json.loads(resp.read().decode()).get("health") == "true"
    except (OSError, ValueError):
        return False


def make_cluster(workdir: Path, size: int = 3, max_txn_ops: int = 128) -> EtcdCluster:
    workdir = Path(workdir)
    ports = _free_ports(2 * size)
    members = []
    for n in range(size):
        name = f"etcd{n}"
        mdir = workdir / name
        members.append(Member(name, ports[2 * n], ports[2 * n + 1], mdir / "data", mdir))
    return EtcdCluster(workdir, members, max_txn_ops)


def start_cluster(workdir: Path, size: int = 3, max_txn_ops: int = 128) -> EtcdCluster:
    """A new cluster of `size` members, every one healthy. On failure the started members are
    stopped and RuntimeError carries their logs."""
    cluster = make_cluster(workdir, size, max_txn_ops)
    try:
        cluster.start_all(state="new")
    except BaseException:
        cluster.stop_all()
        raise
    return cluster
