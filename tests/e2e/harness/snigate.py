"""Runs the snigate binary under test with a generated YAML config."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

from .util import LOCALHOST, Proc, port_accepts, read_text, to_yaml, wait_until

REPO_ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 10.0

# Instances not yet torn down; conftest attaches their logs to failing test reports.
LIVE: list = []


def snigate_bin() -> Path:
    p = Path(os.environ.get("SNIGATE_BIN", "build/snigate"))
    return p if p.is_absolute() else REPO_ROOT / p


def entry_ports(config: dict) -> dict:
    """{entry point name: port} from entryPoints.<n>.address ("127.0.0.1:PORT")."""
    return {name: int(ep["address"].rsplit(":", 1)[1]) for name, ep in config.get("entryPoints", {}).items()}


class Snigate:
    def __init__(self, workdir: Path, config, name: str = "snigate", ports: Optional[dict] = None,
                 argv: Optional[list] = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.config_path = self.workdir / "snigate.yaml"
        self.access_log_path = self.workdir / "access.log"
        config = self.with_defaults(config)
        self.config = config
        self._write(config)
        self.ports = dict(ports) if ports is not None else entry_ports(config)
        self.argv = argv or [str(snigate_bin()), "--config", str(self.config_path)]
        self.proc: Optional[Proc] = None

    # ------------------------------------------------------------ lifecycle
    def start(self, timeout: float = START_TIMEOUT) -> "Snigate":
        self.proc = Proc(self.name, self.argv, self.workdir)
        LIVE.append(self)

        def ready():
            if not self.proc.alive():
                raise RuntimeError(f"snigate exited with {self.proc.proc.returncode} during start-up\n"
                                   + self.logs())
            return all(port_accepts(p) for p in self.ports.values())
        try:
            wait_until(ready, timeout, f"snigate entry points {self.ports} to accept", on_timeout=self.logs)
        except BaseException:
            self.kill()
            raise
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def signal(self, sig: int) -> None:
        self.proc.proc.send_signal(sig)

    def stop(self, timeout: float = 15.0) -> Optional[int]:
        """SIGTERM, wait up to timeout, return the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.alive():
            self.signal(signal.SIGTERM)
            try:
                self.proc.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.proc.returncode

    def wait_exit(self, timeout: float) -> Optional[int]:
        try:
            return self.proc.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()

    def teardown(self) -> None:
        if self.proc is not None and self.proc.alive():
            self.stop(timeout=5)
            self.kill()
        if self in LIVE:
            LIVE.remove(self)

    # ------------------------------------------------------------ logs
    def log(self) -> str:
        """Everything snigate wrote so far (stderr, then stdout)."""
        if self.proc is None:
            return ""
        return read_text(self.proc.stderr_path) + read_text(self.proc.stdout_path)

    def logs(self) -> str:
        return (self.proc.logs() if self.proc else "") + \
            f"\n--- config {self.config_path}:\n{read_text(self.config_path)}" + \
            f"\n--- access log:\n{read_text(self.access_log_path)}"

    def wait_log(self, needle: str, timeout: float = 5.0, count: int = 1) -> str:
        wait_until(lambda: self.log().count(needle) >= count, timeout, f"snigate log line {needle!r}",
                   on_timeout=self.logs)
        return self.log()

    def access_entries(self) -> list:
        out = []
        for line in read_text(self.access_log_path).splitlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))  # every line must be one JSON object
        return out

    def wait_access(self, pred: Callable[[dict], bool], timeout: float = 5.0, what: str = "access log entry") -> dict:
        def find():
            for e in self.access_entries():
                if pred(e):
                    return e
            return None
        return wait_until(find, timeout, what, on_timeout=self.logs)

    # ------------------------------------------------------------ config
    def with_defaults(self, config):
        """A dict config gets `log.level: DEBUG` and this instance's access log unless it sets them."""
        if isinstance(config, dict):
            config = dict(config)
            config.setdefault("log", {"level": "DEBUG"})
            config.setdefault("accessLog", {"filePath": str(self.access_log_path)})
        return config

    def _write(self, config) -> None:
        text = config if isinstance(config, str) else to_yaml(config) + "\n"
        tmp = self.config_path.with_suffix(".yaml.tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config_path)  # readers never see a half-written file

    def reload(self, config, expect_ok: bool = True, timeout: float = 5.0) -> str:
        """Rewrite the config, SIGHUP, wait for `config reloaded` (or `reload failed`) to appear
        once more in the log than before. Returns the log."""
        needle = "config reloaded" if expect_ok else "reload failed"
        before = self.log().count(needle)
        config = self.with_defaults(config)
        self.config = config
        self._write(config)
        self.signal(signal.SIGHUP)
        wait_until(lambda: self.log().count(needle) > before, timeout,
                   f"snigate to log {needle!r} after SIGHUP", on_timeout=self.logs)
        return self.log()
