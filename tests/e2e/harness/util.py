"""Small process and socket helpers. Readiness is always polled with a deadline, never slept."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]


def port_accepts(port: int, host: str = LOCALHOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_refuses(port: int, host: str = LOCALHOST, timeout: float = 0.5) -> bool:
    """True when a connect gets ECONNREFUSED (nobody listens)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def wait_until(pred: Callable[[], object], timeout: float, what: str,
               interval: float = 0.02, on_timeout: Optional[Callable[[], str]] = None):
    """Poll pred() until it returns a truthy value; return that value. Raise TimeoutError with `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            extra = on_timeout() if on_timeout else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}\n{extra}")
        time.sleep(interval)  # poll interval only; the condition is what synchronises


def wait_port(port: int, timeout: float, what: str, proc=None,
              log: Optional[Callable[[], str]] = None) -> None:
    popen = getattr(proc, "proc", proc)

    def ready():
        if popen is not None and popen.poll() is not None:
            raise RuntimeError(f"{what} exited with {popen.returncode} before listening on {port}\n"
                               + (log() if log else ""))
        return port_accepts(port)
    wait_until(ready, timeout, f"{what} to accept on 127.0.0.1:{port}", on_timeout=log)


def read_text(path: Path) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


class Proc:
    """A started server with stdout/stderr in files; stop() terminates and reaps it."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: Optional[dict] = None,
                 cwd: Optional[Path] = None):
        self.name = name
        self.argv = argv
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.workdir / f"{name}.stdout"
        self.stderr_path = self.workdir / f"{name}.stderr"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
                                     cwd=str(cwd or self.workdir), env=env, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def logs(self) -> str:
        return (f"--- {self.name}: {' '.join(self.argv)}\n--- stdout:\n{read_text(self.stdout_path)}"
                f"\n--- stderr:\n{read_text(self.stderr_path)}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> Optional[int]:
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the process group we started (our own session), then reap."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._close()

    def _close(self) -> None:
        for f in (self._out, self._err):
            if not f.closed:
                f.close()


def run(argv: list[str], timeout: float = 30.0, check: bool = False, **kw) -> subprocess.CompletedProcess:
    """Run a client program, capture text output. Raises on timeout (tests must not hang)."""
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise AssertionError(f"{argv} exited {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}")
    return cp


def to_yaml(value, indent: int = 0) -> str:
    """A tiny block-style YAML emitter (strings double-quoted JSON style), so configs are readable
    and line numbers are predictable without depending on PyYAML."""
    import json
    pad = "  " * indent

    def scalar(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if v is None:
            return "null"
        if isinstance(v, (int, float)):
            return str(v)
        return json.dumps(str(v))

    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict) and v:
                lines.append(f"{pad}{k}:")
                lines.append(to_yaml(v, indent + 1))
            elif isinstance(v, list) and v:
                lines.append(f"{pad}{k}:")
                lines.append(to_yaml(v, indent + 1))
            elif isinstance(v, dict):
                lines.append(f"{pad}{k}: {{}}")
            elif isinstance(v, list):
                lines.append(f"{pad}{k}: []")
            else:
                lines.append(f"{pad}{k}: {scalar(v)}")
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)) and v:
                body = to_yaml(v, indent + 1).splitlines()
                first = body[0].lstrip()
                lines.append(f"{pad}- {first}")
                lines.extend(body[1:])
            else:
                lines.append(f"{pad}- {scalar(v) if not isinstance(v, (dict, list)) else ('{}' if isinstance(v, dict) else '[]')}")
    else:
        lines.append(pad + scalar(value))
    return "\n".join(lines)


def recv_exact(sock, n: int) -> bytes:
    """Exactly n bytes from sock; ConnectionError if it closes first."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data
