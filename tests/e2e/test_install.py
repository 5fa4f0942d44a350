"""The Debian package: built with CPack from this checkout, installed with apt-get, its unit
verified with systemd-analyze, and /usr/bin/snigate run as the unit runs it (its ExecStart, its
user, a NOTIFY_SOCKET the test listens on), without systemd running. The package is purged at
the end. The Release build takes minutes, so it is made once for the module; scripts/test.sh
(CI) gives SNIGATE_DEB, a package of its sanitizer build, instead: what this module checks is the
package, its unit and the binary running as the unit runs it, and a third compile of the tree
would be the longest part of a CI run."""
from __future__ import annotations

import gzip
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from harness.clients import curl
from harness.util import Proc, port_accepts, run

REPO = Path(__file__).resolve().parents[2]
UNIT = Path("/lib/systemd/system/snigate.service")
CONFIG = Path("/etc/snigate/snigate.yaml")
APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
# Wait for the dpkg lock rather than fail when another apt-get is running.
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]


def installed() -> bool:
    cp = run(["dpkg-query", "-W", "-f=${Status}", "snigate"])
    return cp.returncode == 0 and "installed" in cp.stdout.split()


def user_exists(name: str) -> bool:
    return run(["getent", "passwd", name]).returncode == 0


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    """snigate_<version>_amd64.deb from a Release build of this checkout, or the file
    SNIGATE_DEB names (one made already, to run these tests again without a build)."""
    if os.environ.get("SNIGATE_DEB"):
        return Path(os.environ["SNIGATE_DEB"]).resolve()
    build = tmp_path_factory.mktemp("deb-build")
    configure = ["cmake", "-S", str(REPO), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release", "-DSNIGATE_TESTS=OFF"]
    if shutil.which("ccache"):
        configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    run(configure, timeout=300, check=True)
    run(["cmake", "--build", str(build), "-j", str(os.cpu_count() or 2)], timeout=3600, check=True)
    run(["cpack", "-G", "DEB"], timeout=600, check=True, cwd=build)
    version = re.search(r'CPACK_PACKAGE_VERSION "([^"]+)"', (build / "CPackConfig.cmake").read_text()).group(1)
    arch = run(["dpkg", "--print-architecture"], check=True).stdout.strip()
    path = build / f"snigate_{version}_{arch}.deb"
    assert path.is_file(), f"cpack made no {path.name}: {sorted(p.name for p in build.glob('*.deb'))}"
    return path


@pytest.fixture(scope="module")
def package(deb):
    """The package installed from the file, then purged; the snigate user goes too when this
    fixture made it. Its dependencies must all be installed already (install-deps.sh): apt
    installs this one package and downloads nothing."""
    if installed():  # left over from an interrupted run: start from a clean machine
        run([*APT, "purge", "snigate"], timeout=600, check=True, env=APT_ENV)
    had_user = user_exists("snigate")
    cp = run([*APT, "install", f"./{deb.name}"], timeout=600, check=True, env=APT_ENV, cwd=deb.parent)
    fetched = [line for line in cp.stdout.splitlines() if line.startswith("Get:") and deb.name not in line]
    assert "0 upgraded, 1 newly installed" in cp.stdout and not fetched, cp.stdout
    yield deb
    run([*APT, "purge", "snigate"], timeout=600, check=True, env=APT_ENV)
    leftovers = [p for p in ("/usr/bin/snigate", str(UNIT), str(CONFIG), "/etc/snigate",
                             "/usr/share/man/man8/snigate.8.gz") if os.path.lexists(p)]
    if not had_user and user_exists("snigate"):
        run(["deluser", "--system", "--quiet", "snigate"], timeout=60, check=True)
    assert not installed(), "snigate still installed after apt-get purge"
    assert not leftovers, f"left behind by apt-get purge: {leftovers}"


def unit_service_section() -> dict[str, list[str]]:
    """The [Service] settings of the installed unit, each key with its values in order."""
    settings: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_package_metadata(deb):
    fields = run(["dpkg-deb", "-f", str(deb), "Package", "Depends", "Section"], check=True).stdout
    assert "Package: snigate" in fields, fields
    # dpkg-shlibdeps filled these in from the binary's libraries.
    for lib in ("libssl3", "libyaml-cpp", "libsystemd0", "libspdlog", "libre2", "adduser"):
        assert lib in fields, f"{lib} missing from Depends:\n{fields}"
    scripts = run(["dpkg-deb", "-I", str(deb)], check=True).stdout
    for name in ("conffiles", "postinst", "prerm", "postrm"):
        assert name in scripts, f"{name} missing from the control archive:\n{scripts}"


def test_files_are_in_place(package):
    assert os.access("/usr/bin/snigate", os.X_OK)
    version = run(["/usr/bin/snigate", "version"], check=True).stdout
    assert version.startswith("snigate "), version
    assert UNIT.is_file() and CONFIG.is_file()
    with gzip.open("/usr/share/man/man8/snigate.8.gz", "rt") as f:
        assert f.read().startswith(".\\\""), "the man page is not roff"
    man = run(["man", "-P", "cat", "8", "snigate"], env={**os.environ, "MANWIDTH": "80"})
    assert man.returncode == 0 and "SIGHUP" in man.stdout, man.stderr
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "snigate"], check=True).stdout
    assert str(CONFIG) in conffiles, conffiles
    # postinst: the service's own user, and /etc/snigate readable by it and no other user.
    assert user_exists("snigate")
    st = os.stat("/etc/snigate")
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o750), oct(st.st_mode)
    assert run(["getent", "group", "snigate"], check=True).stdout.split(":")[2] == str(st.st_gid)


def test_unit_verifies(package):
    cp = run(["systemd-analyze", "verify", str(UNIT)], timeout=60)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "snigate" not in cp.stderr, cp.stderr
    service = unit_service_section()
    assert service["Type"] == ["notify"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert "CAP_NET_BIND_SERVICE" in service["AmbientCapabilities"][0]


def test_installed_config_checks_as_the_service_user(package):
    service = unit_service_section()
    cp = run(["setpriv", f"--reuid={service['User'][0]}", f"--regid={service['Group'][0]}", "--init-groups",
              "/usr/bin/snigate", "check", "--config", str(CONFIG)], timeout=30)
    assert cp.returncode == 0, cp.stdout + cp.stderr


class Notifications:
    """The datagram socket a service manager listens on for sd_notify (abstract, so the
    service's user needs no file permission), and the messages received, in order."""

    def __init__(self):
        self.name = f"snigate-test-notify-{os.getpid()}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name)
        self.messages: list[dict[str, str]] = []

    def wait_for(self, key: str, timeout: float = 30.0, proc: Proc | None = None) -> dict[str, str]:
        """The next message that sets key=1; those before it stay in self.messages."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and not proc.alive():
                raise AssertionError(f"snigate exited with {proc.proc.returncode} before {key}=1\n{proc.logs()}")
            self.sock.settimeout(min(0.5, max(0.01, deadline - time.monotonic())))
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            msg = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append(msg)
            if msg.get(key) == "1":
                return msg
        raise AssertionError(f"no {key}=1 within {timeout}s; received: {self.messages}"
                             + (f"\n{proc.logs()}" if proc else ""))


@pytest.fixture(scope="module")
def service(package, tmp_path_factory):
    """/usr/bin/snigate started as the unit starts it: ExecStart's command line, as its User and
    Group, with the environment a service manager gives (NOTIFY_SOCKET, a plain PATH), in /."""
    settings = unit_service_section()
    argv = shlex.split(settings["ExecStart"][0])
    assert argv[0] == "/usr/bin/snigate", argv
    whoami = int(yaml.safe_load(CONFIG.read_text())["entryPoints"]["websecure"]["address"].rsplit(":", 1)[1])
    assert not port_accepts(whoami), f"127.0.0.1:{whoami} is in use; the installed configuration needs it"
    notes = Notifications()
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "NOTIFY_SOCKET": "@" + notes.name}
    as_user = ["setpriv", f"--reuid={settings['User'][0]}", f"--regid={settings['Group'][0]}", "--init-groups"]
    proc = Proc("snigate-service", as_user + argv, tmp_path_factory.mktemp("service"), env=env, cwd=Path("/"))
    try:
        yield proc, notes, whoami
    finally:
        proc.kill()
        notes.sock.close()


def test_ready_once_listening(service):
    proc, notes, whoami = service
    ready = notes.wait_for("READY", proc=proc)
    # READY=1 comes after the listeners are up: the port accepts at once.
    assert port_accepts(whoami), f"READY=1 before 127.0.0.1:{whoami} accepts\n{proc.logs()}"
    assert "generation 1" in ready.get("STATUS", ""), ready


def test_whoami_answers_curl(service):
    proc, notes, whoami = service
    r = curl("127.0.0.1", whoami, "/", insecure=True)
    assert (r.rc, r.status) == (0, 200), r.stderr + proc.logs()
    assert "router: whoami" in r.body, r.body


def test_sighup_reloading_then_ready(service):
    proc, notes, whoami = service
    seen = len(notes.messages)
    proc.proc.send_signal(signal.SIGHUP)
    reloading = notes.wait_for("RELOADING", proc=proc)
    # MONOTONIC_USEC is CLOCK_MONOTONIC when the reload began (systemd >= 253 compares it).
    began = int(reloading["MONOTONIC_USEC"])
    assert abs(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000 - began) < 30_000_000, reloading
    ready = notes.wait_for("READY", proc=proc)
    statuses = [m["STATUS"] for m in notes.messages[seen:] if "STATUS" in m]
    assert any("generation 2" in s for s in statuses), (statuses, ready)
    assert curl("127.0.0.1", whoami, "/", insecure=True).status == 200


def test_sigterm_stopping_then_exit_0(service):
    proc, notes, whoami = service
    proc.proc.send_signal(signal.SIGTERM)
    stopping = notes.wait_for("STOPPING", proc=None)
    assert "SIGTERM" in stopping.get("STATUS", ""), stopping
    try:
        code = proc.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"snigate still running 30 s after SIGTERM\n{proc.logs()}")
    assert code == 0, proc.logs()
