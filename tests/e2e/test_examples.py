"""The configurations under examples/ stay valid and the quickstart works as its README says.

Every examples/*/snigate.yaml must pass `snigate check`. Each example folder is copied to a
temporary directory first (termination/ also gets its certificates there from make-certs.sh),
so nothing is written into the source tree. Examples that are started get a free port in
place of their fixed 18xxx one.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.clients import curl
from harness.snigate import REPO_ROOT, Snigate
from harness.util import LOCALHOST, free_port, wait_until

EXAMPLES = REPO_ROOT / "examples"
CONFIGS = sorted(EXAMPLES.glob("*/snigate.yaml"))


def copy_example(name: str, dest: Path) -> Path:
    """examples/NAME copied to dest/NAME, with certificates made when the example needs them."""
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("certs"))
    script = target / "make-certs.sh"
    if script.exists():
        cp = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0, f"make-certs.sh failed:\n{cp.stdout}\n{cp.stderr}"
    return target / "snigate.yaml"


def with_free_port(text: str) -> tuple[str, int]:
    """The config text with its one 127.0.0.1:18xxx entry point address replaced by a free port."""
    entry = re.search(r'entryPoints:\s*\n\s+\w+:\s*\n\s+address: "127\.0\.0\.1:(18\d\d\d)"', text)
    assert entry, "expected an entry point address 127.0.0.1:18xxx"
    port = free_port()
    return text.replace(f'"127.0.0.1:{entry.group(1)}"', f'"{LOCALHOST}:{port}"'), port


def test_every_example_has_a_config_and_a_readme():
    folders = sorted(p for p in EXAMPLES.iterdir() if p.is_dir())
    assert {"quickstart", "passthrough", "termination", "mixed"} <= {p.name for p in folders}
    for folder in folders:
        assert (folder / "snigate.yaml").is_file(), folder
        assert (folder / "README.md").is_file(), folder


@pytest.mark.parametrize("config", CONFIGS, ids=[p.parent.name for p in CONFIGS])
def test_example_passes_check(snigate_bin, tmp_path, config):
    copied = copy_example(config.parent.name, tmp_path)
    cp = subprocess.run([str(snigate_bin), "check", "--config", str(copied)],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 0, f"snigate check {config}:\n{cp.stdout}\n{cp.stderr}"
    assert ": OK (" in cp.stdout, cp.stdout
    assert "warning" not in cp.stderr, f"an example should load without warnings:\n{cp.stderr}"


def test_quickstart_passthrough_block_is_valid_when_uncommented(snigate_bin, tmp_path):
    """The README says: remove the "# " in front of the app router and the services block."""
    config = copy_example("quickstart", tmp_path)
    text = config.read_text()
    start = text.index("    # app:")
    text = text[:start] + re.sub(r"^(\s*)# ", r"\1", text[start:], flags=re.M)
    config.write_text(text)
    cp = subprocess.run([str(snigate_bin), "check", "--config", str(config)],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 0, f"{cp.stdout}\n{cp.stderr}\n{text}"
    assert "2 router(s), 1 service(s)" in cp.stdout, cp.stdout


def test_termination_certificates_are_not_committed():
    tracked = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "examples/termination"],
                             capture_output=True, text=True).stdout.split()
    assert not [f for f in tracked if f.endswith((".pem", ".key"))], tracked


def _access_lines(sg: Snigate) -> list:
    """The access log of an example goes to stdout (accessLog: {}); one JSON object per line."""
    out = []
    for line in sg.log().splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_quickstart_answers_with_whoami(tmp_path):
    config = copy_example("quickstart", tmp_path)
    text, port = with_free_port(config.read_text())
    sg = Snigate(tmp_path / "run", text, name="quickstart", ports={"websecure": port})
    sg.start()
    try:
        # As in the README: curl -k to the IP address (no SNI), then with a name.
        argv = ["curl", "-sS", "-k", "--max-time", "10", "--noproxy", "*", f"https://{LOCALHOST}:{port}/"]
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout.startswith("snigate whoami\n"), cp.stdout
        assert "router: whoami\n" in cp.stdout
        assert "sni: (none)\n" in cp.stdout
        assert "request: GET / HTTP/1.1" in cp.stdout

        named = curl("demo.localhost", port, "/", insecure=True)
        assert named.rc == 0 and named.status == 200, named
        assert "sni: demo.localhost\n" in named.body
        # No alpnProtocols configured: snigate agrees to no ALPN protocol.
        assert "alpn: (none)\n" in named.body

        line = sg_wait(sg, lambda e: e.get("sni") == "demo.localhost")
        assert line["end"] == "closed" and line["mode"] == "terminate", line
        assert line["router"] == "whoami" and line["service"] == "whoami@internal", line
        assert line["bytes_in"] > 0 and line["bytes_out"] > 0, line
    finally:
        assert sg.stop() == 0


def sg_wait(sg: Snigate, pred, timeout: float = 5.0) -> dict:
    def find():
        return next((e for e in _access_lines(sg) if pred(e)), None)
    return wait_until(find, timeout, "access log line on stdout", on_timeout=sg.logs)


def test_mixed_routes_redis_and_tls_on_one_port(tmp_path, redis):
    config = copy_example("mixed", tmp_path)
    text, port = with_free_port(config.read_text())
    text = text.replace('address: "127.0.0.1:18779"', f'address: "{LOCALHOST}:{redis.port}"')
    sg = Snigate(tmp_path / "run", text, name="mixed", ports={"shared": port})
    sg.start()
    try:
        cp = subprocess.run(["redis-cli", "-h", LOCALHOST, "-p", str(port), "ping"],
                            capture_output=True, text=True, timeout=20)
        assert cp.stdout.strip() == "PONG", cp
        who = curl("who.localhost", port, "/", insecure=True)
        assert who.rc == 0 and "router: who\n" in who.body, who
        plain = sg_wait(sg, lambda e: e.get("mode") == "plain" and e.get("end") == "closed")
        assert plain["router"] == "redis" and plain["server"] == f"{LOCALHOST}:{redis.port}", plain
    finally:
        assert sg.stop() == 0
