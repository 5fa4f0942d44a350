"""Runs the snigate binary under test with a generated YAML config."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Callable, Optional

from .util import LOCALHOST, Proc, port_accepts, read_text, to_yaml, wait_until

REPO_ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 10.0

# Instances not yet torn down; conftest attaches their logs to failing test reports.
LIVE: list = []

# A line holding one of these is a sanitizer's report (ASan, LeakSanitizer, UBSan): a bug,
# whatever the test itself saw.
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def sanitizer_reports(text: str) -> list:
    """The lines of text that are part of a sanitizer's report."""
    return [ln for ln in text.splitlines() if any(m in ln for m in SANITIZER_MARKERS)]


def snigate_bin() -> Path:
    p = Path(os.environ.get("SNIGATE_BIN", "build/snigate"))
    return p if p.is_absolute() else REPO_ROOT / p


def run_cli(args: list, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Run `snigate ARGS...` to completion (check, explain, version, a start meant to fail) and
    return it, text output captured. A sanitizer report in its output raises AssertionError:
    ASan exits 1, the status a test may expect for a refusal."""
    cp = subprocess.run([str(snigate_bin()), *map(str, args)], capture_output=True, text=True,
                        timeout=timeout, stdin=subprocess.DEVNULL)
    assert_no_sanitizer_report(cp.stdout + cp.stderr, f"snigate {' '.join(map(str, args))}")
    return cp


def assert_no_sanitizer_report(output: str, what: str) -> None:
    reports = sanitizer_reports(output)
    if reports:
        raise AssertionError(f"{what} wrote a sanitizer report:\n" + "\n".join(reports[:20])
                             + "\n" + _tail(output, 120))


def _tail(text: str, lines: int) -> str:
    parts = text.splitlines()
    return "\n".join(parts[-lines:])


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
        # The exit status teardown() accepts: 0 after SIGTERM. A test that ends the process
        # another way says so with expect_exit().
        self.expected_exit: Optional[int] = 0
        self.start_failed = False  # start() raised with the logs already; teardown does not repeat it
        self.sanitizer_mark = (0, 0)  # log_mark() up to which check_sanitizers has looked

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
            self.start_failed = True
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

    def expect_exit(self, code: Optional[int]) -> None:
        """Say how this instance is meant to end, for teardown(): an exit status (e.g. 1), a
        negative signal number (-signal.SIGKILL for a test that kills it), or None for any."""
        self.expected_exit = code

    def teardown(self) -> None:
        """Stop it (SIGTERM; SIGKILL after 15 s) and check how it ended: the expected exit
        status (0 unless the test called expect_exit) and no sanitizer report in its output.
        Raises AssertionError otherwise, so the fixture or test that calls it fails."""
        try:
            if self.proc is None:
                return
            hung = False
            if self.proc.alive():
                hung = self.stop() is None
            self.kill()  # reaps it (if stop had to give up) and closes the output files
            problems = self.exit_problems(hung)
            if problems:
                raise AssertionError(f"{self.name} (pid {self.proc.pid}): " + "; ".join(problems) + "\n"
                                     + _tail(self.proc.logs(), 120))
        finally:
            if self in LIVE:
                LIVE.remove(self)

    def exit_problems(self, hung: bool = False) -> list:
        """What was wrong with how the (exited) process ended; empty if nothing."""
        problems = []
        rc = self.proc.proc.returncode
        if hung:
            problems.append("did not exit within 15 s of SIGTERM (killed)")
        elif not self.start_failed and self.expected_exit is not None and rc != self.expected_exit:
            problems.append(f"exit status {rc}, expected {self.expected_exit}"
                            + (f" (killed by signal {-rc})" if rc is not None and rc < 0 else ""))
        reports = sanitizer_reports(self.log_since(self.sanitizer_mark))
        if reports:
            problems.append(f"{len(reports)} sanitizer line(s), first: {reports[0].strip()}")
        return problems

    def check_sanitizers(self) -> None:
        """Raise AssertionError if the output written since the last call holds a sanitizer
        report (for instances that outlive a test: the test that caused it fails). Each
        report fails one test; teardown() looks only at what came after."""
        if self.proc is None:
            return
        mark = self.log_mark()
        reports = sanitizer_reports(self.log_since(self.sanitizer_mark))
        self.sanitizer_mark = mark
        if reports:
            raise AssertionError(f"{self.name} (pid {self.pid}) wrote a sanitizer report:\n"
                                 + "\n".join(reports[:20]) + "\n" + _tail(self.proc.logs(), 120))

    # ------------------------------------------------------------ logs
    def log(self) -> str:
        """Everything snigate wrote so far (stderr, then stdout)."""
        if self.proc is None:
            return ""
        return read_text(self.proc.stderr_path) + read_text(self.proc.stdout_path)

    def log_mark(self) -> tuple:
        """Where the log ends now; log_since(mark) is what was written after."""
        if self.proc is None:
            return (0, 0)
        return (len(read_text(self.proc.stderr_path)), len(read_text(self.proc.stdout_path)))

    def log_since(self, mark: tuple) -> str:
        """What snigate wrote after log_mark() returned mark (stderr, then stdout)."""
        if self.proc is None:
            return ""
        return read_text(self.proc.stderr_path)[mark[0]:] + read_text(self.proc.stdout_path)[mark[1]:]

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
        text = read_text(self.access_log_path)
        # A line being written as we read has no newline yet: it is read next time.
        for line in text[:text.rfind("\n") + 1].splitlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))  # every line must be one JSON object
        return out

    def access_mark(self) -> int:
        """How many access log entries there are now: pass it as wait_access(after=...) to look
        only at entries written later (a shared instance has other tests' entries too)."""
        return len(self.access_entries())

    def wait_access(self, pred: Callable[[dict], bool], timeout: float = 5.0, what: str = "access log entry",
                    after: int = 0) -> dict:
        """The first access log entry (from the after-th on) for which pred is true."""
        def find():
            for e in self.access_entries()[after:]:
                if pred(e):
                    return e
            return None
        return wait_until(find, timeout, what, on_timeout=self.logs)

    def wait_access_from(self, client_port: int, after: int = 0, timeout: float = 5.0,
                         host: str = LOCALHOST) -> dict:
        """The access log entry of the connection from host:client_port (the client socket's
        own port, getsockname()[1]), among those from the after-th on: one connection's entry,
        whoever else uses this instance. Take `after` from access_mark() before connecting, so
        an earlier connection that had the same source port cannot match."""
        client = f"{host}:{client_port}"
        return self.wait_access(lambda e: e.get("client") == client, timeout,
                                f"access log entry for client {client}", after=after)

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
