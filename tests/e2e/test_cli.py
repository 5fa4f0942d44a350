"""Command line: version, check, explain, and the built-in default (no --config)."""
import re

import pytest

from harness.clients import curl
from harness.configs import addr, lb, router
from harness.snigate import Snigate, run_cli
from harness.util import port_accepts, to_yaml


def small_config(pki, port: int = 18443) -> dict:
    return {
        "entryPoints": {"web": {"address": addr(port)}},
        "tcp": {
            "routers": {
                "term": router("HostSNI(`a.test`)", "web", tls={}),
                "pass": router("HostSNI(`backend.test`)", "web", tls={"passthrough": True}),
                "wild": router("HostSNI(`*.wild.test`)", "web", tls={}),
                "rr": router("HostSNI(`rr.wild.test`)", "web", tls={}, priority=100),
                "plain": router("HostSNI(`*`)", "web"),
            },
            "services": {"web": lb("127.0.0.1:9")},
        },
        "tls": {"certificates": [{"certFile": str(pki[n].cert), "keyFile": str(pki[n].key)}
                                 for n in ("a", "wild")]},
    }


def write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_version(snigate_bin):
    cp = run_cli(["version"], timeout=10)
    assert cp.returncode == 0, cp.stderr
    assert re.search(r"\d+\.\d+", cp.stdout + cp.stderr), cp.stdout


@pytest.mark.parametrize("level,ok", [("bogus", False), ("debug", True), ("Warning", True)])
def test_log_level_option_is_validated(snigate_bin, pki, tmp_path, level, ok):
    """--log-level is checked as log.level is: an unknown level stops snigate before it starts."""
    path = write(tmp_path, "good.yaml", to_yaml(small_config(pki)) + "\n")
    cp = run_cli(["--log-level", level, "check", "--config", path], timeout=10)
    if ok:
        assert cp.returncode == 0, cp.stdout + cp.stderr
    else:
        assert cp.returncode != 0 and "--log-level" in cp.stderr and "bogus" in cp.stderr, cp.stdout + cp.stderr


def test_check_good_config(snigate_bin, pki, tmp_path):
    path = write(tmp_path, "good.yaml", to_yaml(small_config(pki)) + "\n")
    cp = run_cli(["check", "--config", path], timeout=10)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def test_check_bad_config_names_file_line_and_path(snigate_bin, pki, tmp_path):
    lines = to_yaml(small_config(pki)).splitlines()
    at = lines.index("    term:") + 1          # first key inside tcp.routers.term
    lines.insert(at, "      bogusKey: 1")
    bad_line = at + 1                           # 1-based
    path = write(tmp_path, "bad.yaml", "\n".join(lines) + "\n")
    cp = run_cli(["check", "--config", path], timeout=10)
    out = cp.stdout + cp.stderr
    assert cp.returncode != 0, out
    hits = [ln for ln in out.splitlines() if f"{path}:{bad_line}:" in ln]
    assert hits, f"no line starting {path}:{bad_line}: in\n{out}"
    assert "tcp.routers.term.bogusKey" in hits[0], hits[0]


def test_check_reports_every_error(snigate_bin, pki, tmp_path):
    cfg = small_config(pki)
    cfg["tcp"]["routers"]["term"]["service"] = "nosuchservice"
    lines = to_yaml(cfg).splitlines()
    at = lines.index("    pass:") + 1
    lines.insert(at, "      bogusKey: 1")
    path = write(tmp_path, "bad2.yaml", "\n".join(lines) + "\n")
    cp = run_cli(["check", "--config", path], timeout=10)
    out = cp.stdout + cp.stderr
    assert cp.returncode != 0, out
    errors = [ln for ln in out.splitlines() if re.match(re.escape(str(path)) + r":\d+: ", ln)]
    assert any("bogusKey" in ln for ln in errors), out
    assert any("nosuchservice" in ln for ln in errors), out


def explain(snigate_bin, path, *args):
    cp = run_cli(["explain", "--config", path, "--entrypoint", "web", *args], timeout=10)
    return cp.returncode, cp.stdout + cp.stderr


def test_explain_names_the_matching_router(snigate_bin, pki, tmp_path):
    path = write(tmp_path, "cfg.yaml", to_yaml(small_config(pki)) + "\n")
    for sni, want in (("a.test", "term"), ("backend.test", "pass"), ("x.wild.test", "wild"),
                      ("rr.wild.test", "rr")):
        rc, out = explain(snigate_bin, path, "--sni", sni)
        assert rc == 0, out
        assert re.search(rf"(?<!no )match:\s*{want}\b", out), f"--sni {sni}: {out}"


def test_explain_no_match_explains_why_not(snigate_bin, pki, tmp_path):
    path = write(tmp_path, "cfg.yaml", to_yaml(small_config(pki)) + "\n")
    rc, out = explain(snigate_bin, path, "--sni", "nope.test")
    assert rc == 1, out
    assert not re.search(r"(?<!no )match:\s*(term|pass|wild|rr|plain)\b", out), out
    for name in ("term", "pass", "wild", "rr"):
        assert name in out, f"router {name} not explained:\n{out}"


def test_builtin_default_whoami(snigate_bin, tmp_path):
    if port_accepts(8443):
        pytest.skip("127.0.0.1:8443 is in use; the built-in default needs it")
    sg = Snigate(tmp_path, "", name="snigate-default", ports={"default": 8443}, argv=[str(snigate_bin)])
    try:
        sg.start()
        r = curl("127.0.0.1", 8443, "/", insecure=True)
        assert r.rc == 0, r.stderr
        assert r.status == 200
        for key in ("sni:", "router:", "client:", "tls_version:", "alpn:"):
            assert key in r.body, f"{key} missing in\n{r.body}"
        assert sg.stop() == 0
    finally:
        sg.teardown()
