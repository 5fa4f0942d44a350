"""Running an example of examples/ as its README says: its own fixed ports, its start-backends.sh,
and snigate on the example's snigate.yaml (copied with the folder, so relative paths such as
certs/ and dynamic/ resolve as they do for a user)."""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .snigate import REPO_ROOT, Snigate, snigate_bin
from .util import LOCALHOST, Proc, read_text, wait_port, wait_until

EXAMPLES = REPO_ROOT / "examples"
PORT_RE = re.compile(r"127\.0\.0\.1:(1[89]\d\d\d)\b")


def example_ports(name: str) -> set:
    """Every 127.0.0.1:18xxx the example names, in any of its files."""
    ports = set()
    for path in (EXAMPLES / name).rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".yml", ".md", ".sh"):
            ports |= {int(p) for p in PORT_RE.findall(path.read_text())}
    return ports


def port_in_use(port: int) -> bool:
    """True when something listens on 127.0.0.1:port (a bind with SO_REUSEADDR fails then;
    connections in TIME_WAIT from an earlier run do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOCALHOST, port))
        except OSError:
            return True
    return False


def assert_ports_free(name: str) -> None:
    """A clear failure, before anything starts, when a port of examples/NAME is taken."""
    busy = sorted(p for p in example_ports(name) if port_in_use(p))
    assert not busy, (f"examples/{name} needs 127.0.0.1 ports {sorted(example_ports(name))}, and "
                      f"{busy} are in use: stop what listens there (another snigate, a backend of the example "
                      "started by hand?) and run the test again")


def copy_example(name: str, dest: Path) -> Path:
    """examples/NAME copied to dest/NAME (without certs/), certificates made by its make-certs.sh."""
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("certs"))
    script = target / "make-certs.sh"
    if script.exists():
        cp = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0, f"make-certs.sh failed:\n{cp.stdout}\n{cp.stderr}"
    return target


@dataclass
class RunningExample:
    dir: Path             # the copied example folder
    sg: Snigate
    backends: Proc
    port: int             # the entry point's port

    def access_lines(self) -> list:
        """accessLog: {} writes to stdout: the JSON lines of snigate's output."""
        return [json.loads(ln) for ln in self.sg.log().splitlines() if ln.strip().startswith("{")]

    def errlog(self) -> str:
        """snigate's standard error only: the log, without the access lines of stdout, so an
        offset into it stays valid as both grow."""
        return read_text(self.sg.proc.stderr_path)

    def stop(self) -> tuple:
        """(snigate's exit code, the backends script's exit code)."""
        rc = self.sg.stop()
        self.sg.teardown()
        brc = self.backends.stop(timeout=20)
        return rc, brc


def start_example(name: str, workdir: Path, entry: str, backend_ports: list, script_args=(),
                  ready_line: str = "", backend_timeout: float = 30.0) -> RunningExample:
    """Copy, check that every port the example uses is free (a clear failure otherwise), start
    start-backends.sh and wait for backend_ports (and for ready_line in its output, when the
    script prepares more after its servers listen), then snigate --config <copy>/snigate.yaml."""
    assert_ports_free(name)
    folder = copy_example(name, workdir)
    backends = Proc(f"{name}-backends", ["sh", str(folder / "start-backends.sh"), *script_args],
                    workdir / "backends", cwd=folder)
    try:
        for p in backend_ports:
            wait_port(p, backend_timeout, f"examples/{name}/start-backends.sh", backends.proc, backends.logs)
        if ready_line:
            def ready():
                if not backends.alive():
                    raise RuntimeError(f"start-backends.sh exited {backends.proc.returncode}\n{backends.logs()}")
                return ready_line in read_text(backends.stdout_path)
            wait_until(ready, backend_timeout, f"{ready_line!r} from start-backends.sh", on_timeout=backends.logs)
        config = folder / "snigate.yaml"
        port = int(re.search(r'address: "127\.0\.0\.1:(\d+)"', config.read_text()).group(1))
        sg = Snigate(workdir / "snigate", {}, name=f"example-{name}", ports={entry: port},
                     argv=[str(snigate_bin()), "--config", str(config)])
        sg.config_path = config  # what it runs, for the failure report
        sg.start()
    except BaseException:
        backends.stop(timeout=20)
        raise
    return RunningExample(folder, sg, backends, port)
