"""Fixtures for snigate's end-to-end tests. See README.md in this folder."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import servers
from harness.configs import main_config
from harness.pki import Pki, make_pki
from harness.snigate import LIVE, Snigate, snigate_bin as _snigate_bin
from harness.util import free_port


# ---------------------------------------------------------------- failure reports

def _tail(text: str, lines: int = 300) -> str:
    parts = text.splitlines()
    return "\n".join(parts[-lines:]) if len(parts) > lines else text


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    _skip_fails_in_ci(rep)
    if rep.failed and rep.when in ("setup", "call"):
        for inst in list(LIVE):
            rep.sections.append((f"{inst.name} (pid {inst.proc.pid if inst.proc else '-'}) logs",
                                 _tail(inst.logs())))


# ---------------------------------------------------------------- skips are failures in CI

def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def _skip_reason(rep) -> str:
    lr = rep.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2]).removeprefix("Skipped: ")
    return str(lr)


def _skip_fails_in_ci(rep) -> None:
    """Under CI=true a skipped test (or module) is a failure that says why it would have been
    skipped: a server that did not start or a client that is missing is a broken CI, not a pass.
    The one exception: skips that exist because SNIGATE_BIN is the harness's fake snigate
    (tools/fake_snigate.py), which CI never uses. xfail is left alone."""
    if not (_in_ci() and rep.skipped) or hasattr(rep, "wasxfail"):
        return
    reason = _skip_reason(rep)
    if _snigate_bin().name == "fake_snigate.py" and "fake snigate" in reason:
        return
    rep.outcome = "failed"
    rep.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A whole module skipped at import (pytest.importorskip) is a failure in CI too."""
    outcome = yield
    _skip_fails_in_ci(outcome.get_result())


# ---------------------------------------------------------------- PKI and files

@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    """CA + ECDSA P-256 leaves: a.test, b.test, *.wild.test, backend.test, default.test."""
    return make_pki(tmp_path_factory.mktemp("pki"), {
        "a": ["a.test"],
        "b": ["b.test"],
        "wild": ["*.wild.test"],
        "backend": ["backend.test"],
        "default": ["default.test"],
    })


@pytest.fixture(scope="session")
def docroot(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("www")


@dataclass
class BigFile:
    path: Path
    sha256: str
    size: int


@pytest.fixture(scope="session")
def big_file(docroot) -> BigFile:
    """256 MiB of random bytes, served by every nginx server as /big."""
    path = docroot / "big"
    sha = servers.make_big_file(path)
    return BigFile(path, sha, servers.BIG_SIZE)


# ---------------------------------------------------------------- backends

def _started(request, server):
    request.addfinalizer(server.stop)
    return server


@pytest.fixture(scope="session")
def nginx(request, tmp_path_factory, pki, docroot) -> servers.Nginx:
    """nginx: plain-1 and plain-2 (HTTP), tls-1 (HTTPS, cert backend.test); GET /name, /big."""
    return _started(request, servers.start_nginx(tmp_path_factory.mktemp("nginx"), docroot,
                                                 pki["backend"].cert, pki["backend"].key))


@pytest.fixture(scope="session")
def redis(request, tmp_path_factory) -> servers.Redis:
    return _started(request, servers.start_redis(tmp_path_factory.mktemp("redis")))


@pytest.fixture(scope="session")
def mariadb(request, tmp_path_factory) -> servers.MariaDB:
    """mariadbd with real auth; alice/secret. Skips the tests that need it if it cannot start."""
    try:
        db = servers.start_mariadb(tmp_path_factory.mktemp("mariadb"))
    except Exception as e:  # noqa: BLE001 - any start-up failure means "not available here"
        pytest.skip(f"MariaDB could not be started within {servers.START_TIMEOUT}s: {e}")
    return _started(request, db)


@pytest.fixture(scope="session")
def s_server(request, tmp_path_factory, pki) -> servers.SServer:
    """openssl s_server -rev (cert backend.test): echoes each line reversed."""
    return _started(request, servers.start_s_server(tmp_path_factory.mktemp("s_server"),
                                                    pki["backend"].cert, pki["backend"].key, pki.ca_cert))


@pytest.fixture(scope="session")
def hash_server(request, tmp_path_factory) -> servers.HashServer:
    """Reads an 8-byte length + that many bytes, replies with their sha256 hex."""
    return _started(request, servers.start_hash_server(tmp_path_factory.mktemp("hashsrv")))


@pytest.fixture(scope="session")
def dead_port() -> int:
    """A port nobody listens on (connect is refused)."""
    return free_port()


# ---------------------------------------------------------------- snigate

@pytest.fixture(scope="session")
def snigate_bin() -> Path:
    path = _snigate_bin()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"snigate binary not found at {path} (build it, or set SNIGATE_BIN)")
    return path


def teardown_all(instances) -> None:
    """Tear every instance down, then fail (AssertionError) with every problem found: one
    instance's bad exit must not leave the others running."""
    problems = []
    for inst in instances:
        try:
            inst.teardown()
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        raise AssertionError("\n\n".join(problems))


@pytest.fixture(autouse=True)
def _no_sanitizer_report_from_live_snigates():
    """After each test: a sanitizer report from a snigate that outlives the test (the shared
    `gw`, module fixtures) fails that test, not only the session's last one."""
    yield
    errors = []
    for inst in list(LIVE):
        try:
            inst.check_sanitizers()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        raise AssertionError("\n\n".join(errors))


@pytest.fixture
def make_snigate(snigate_bin, tmp_path):
    """Factory: make_snigate(config_dict_or_text, start=True, ports=None) -> started Snigate.
    At the end of the test each is stopped with SIGTERM and must exit 0 (or what the test
    declared with .expect_exit()) with no sanitizer report, or the test fails."""
    made = []

    def make(config, name: str = "snigate", start: bool = True, **kw) -> Snigate:
        inst = Snigate(tmp_path / f"{name}-{len(made)}", config, name=name, **kw)
        made.append(inst)
        return inst.start() if start else inst

    yield make
    teardown_all(made)


@dataclass
class Gateway:
    """The shared snigate instance and what it routes to."""
    sg: Snigate
    web: int         # mixed entry point: TLS routers + HostSNI(*) plain catch-all -> redis
    plainhttp: int   # plain-only entry point -> nginx plain-1
    upload: int      # plain-only entry point -> hash server


@pytest.fixture(scope="session")
def gw(request, snigate_bin, tmp_path_factory, pki, nginx, redis, s_server, hash_server, dead_port) -> Gateway:
    """One snigate for the routing, service and throughput tests (session-wide, started lazily).
    Its teardown checks its exit status and output like any other instance's."""
    cfg = main_config(pki, nginx, redis, s_server, hash_server, dead_port)
    sg = Snigate(tmp_path_factory.mktemp("snigate-main"), cfg, name="snigate-main")
    request.addfinalizer(sg.teardown)
    sg.start()
    return Gateway(sg, sg.ports["web"], sg.ports["plainhttp"], sg.ports["upload"])
