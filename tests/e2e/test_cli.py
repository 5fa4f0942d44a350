"""Command line: version, check, explain, and the built-in default (no --config)."""
import os
import re
import socket

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


@pytest.mark.parametrize("args", [["version"], ["--version"]])
def test_version(snigate_bin, args):
    cp = run_cli(args, timeout=10)
    assert cp.returncode == 0, cp.stderr
    assert re.match(r"snigate \d+\.\d+\S*\nbuilt with (GCC|clang) \S+, OpenSSL ", cp.stdout), cp.stdout


@pytest.mark.parametrize("args", [["help"], ["--help"]])
def test_help_says_what_a_bare_snigate_does_and_the_exit_codes(snigate_bin, args):
    cp = run_cli(args, timeout=10)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    for words in ("127.0.0.1:8443", "whoami@internal", "Exit codes", "check", "explain", "105"):
        assert words in cp.stdout, f"{words!r} missing in:\n{cp.stdout}"


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


def test_yaml_syntax_error_points_at_the_unclosed_quote(snigate_bin, tmp_path):
    """The parser notices an unclosed quote at the end of the file; check names the line it opened on."""
    path = write(tmp_path, "bad.yaml", 'entryPoints:\n  web:\n    address: ":18446"\ntcp:\n  routers:\n'
                 '    a:\n      rule: "HostSNI(`*`)"\n      service: "svc\n      tls: {}\n  services:\n'
                 '    svc:\n      loadBalancer:\n        servers:\n          - address: "127.0.0.1:1"\n')
    cp = run_cli(["check", "--config", path], timeout=10)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert f'{path}:8: YAML syntax error: the " quote opened on this line is not closed on it' in cp.stderr, cp.stderr


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


def test_explain_tls_client_on_a_server_first_entry_point(snigate_bin, pki, tmp_path):
    # Only a plain HostSNI(`*`) router: the gateway reads nothing, so a TLS client goes there too.
    cfg = {"entryPoints": {"web": {"address": addr(18445)}},
           "tcp": {"routers": {"any": {"rule": "HostSNI(`*`)", "service": "s"}},
                   "services": {"s": {"loadBalancer": {"servers": [{"address": "127.0.0.1:6379"}]}}}}}
    path = write(tmp_path, "star.yaml", to_yaml(cfg) + "\n")
    rc, out = explain(snigate_bin, path, "--sni", "x.example")
    assert rc == 0 and re.search(r"(?<!no )match:\s*any\b", out), out
    assert "a TLS one too" in out, out


def test_explain_needs_no_entrypoint_when_there_is_one(snigate_bin, pki, tmp_path):
    path = write(tmp_path, "cfg.yaml", to_yaml(small_config(pki)) + "\n")
    cp = run_cli(["explain", "--config", path, "--sni", "a.test"], timeout=10)
    assert cp.returncode == 0 and re.search(r"(?<!no )match:\s*term\b", cp.stdout), cp.stdout + cp.stderr
    two = small_config(pki)
    two["entryPoints"]["other"] = {"address": addr(18444)}
    path = write(tmp_path, "two.yaml", to_yaml(two) + "\n")
    cp = run_cli(["explain", "--config", path, "--sni", "a.test"], timeout=10)
    assert cp.returncode == 2 and "--entrypoint is needed" in cp.stdout and "other, web" in cp.stdout, \
        cp.stdout + cp.stderr


def test_explain_user_at_host_on_a_mysql_entry_point(snigate_bin, pki, tmp_path):
    """--user simulates a database login's user@host: the name a client without SNI (or with an IP
    address as SNI) is routed by."""
    cfg = {
        "entryPoints": {"db": {"address": addr(18445), "protocol": "mysql"}},
        "tcp": {"routers": {"one": router("HostSNI(`one.db.test`)", "db", eps=("db",), tls={}),
                            "two": router("HostSNI(`two.db.test`)", "db", eps=("db",), tls={})},
                "services": {"db": lb("127.0.0.1:9")}},
        "tls": {"certificates": [{"certFile": str(pki["a"].cert), "keyFile": str(pki["a"].key)}]},
    }
    path = write(tmp_path, "db.yaml", to_yaml(cfg) + "\n")
    for extra in ([], ["--sni", "127.0.0.1"]):
        cp = run_cli(["explain", "--config", path, "--user", "alice@two.db.test", *extra], timeout=10)
        assert cp.returncode == 0 and re.search(r"(?<!no )match:\s*two\b", cp.stdout), cp.stdout + cp.stderr
        assert 'the server sees user "alice"' in cp.stdout, cp.stdout
    cp = run_cli(["explain", "--config", path, "--user", "alice@two.db.test", "--sni", "one.db.test"], timeout=10)
    assert cp.returncode == 0 and re.search(r"(?<!no )match:\s*one\b", cp.stdout), cp.stdout + cp.stderr
    cp = run_cli(["explain", "--config", path, "--user", "alice@two.db.test", "--plain"], timeout=10)
    assert cp.returncode == 1 and "mysql.allowPlaintext is not set" in cp.stdout, cp.stdout + cp.stderr
    tcp = write(tmp_path, "tcp.yaml", to_yaml(small_config(pki)) + "\n")
    cp = run_cli(["explain", "--config", tcp, "--user", "alice@a.test"], timeout=10)
    assert cp.returncode == 2 and "protocol mysql, postgres, smtp, imap or pop3" in cp.stdout, cp.stdout + cp.stderr


def test_explain_login_domain_on_a_mail_entry_point(snigate_bin, pki, tmp_path):
    """--user on an imap entry point: a client without SNI is routed by its login's domain, and the
    server sees the login as sent."""
    cfg = {
        "entryPoints": {"imap": {"address": addr(18446), "protocol": "imap"}},
        "tcp": {"routers": {"acme": router("HostSNI(`acme.test`)", "mail", eps=("imap",), tls={})},
                "services": {"mail": lb("127.0.0.1:9")}},
        "tls": {"certificates": [{"certFile": str(pki["a"].cert), "keyFile": str(pki["a"].key)}]},
    }
    path = write(tmp_path, "imap.yaml", to_yaml(cfg) + "\n")
    cp = run_cli(["explain", "--config", path, "--user", "alice@acme.test"], timeout=10)
    assert cp.returncode == 0 and re.search(r"(?<!no )match:\s*acme\b", cp.stdout), cp.stdout + cp.stderr
    assert 'its login "alice@acme.test": "acme.test"; the server sees the login as sent' in cp.stdout, cp.stdout
    assert "imap entry point: snigate greets the client and takes its STARTTLS" in cp.stdout, cp.stdout


def test_explain_plain_with_sni_is_a_bad_query(snigate_bin, pki, tmp_path):
    path = write(tmp_path, "cfg.yaml", to_yaml(small_config(pki)) + "\n")
    cp = run_cli(["explain", "--config", path, "--plain", "--sni", "a.test"], timeout=10)
    assert cp.returncode == 2 and "sends no SNI or ALPN" in cp.stdout, cp.stdout + cp.stderr


def test_check_refuses_a_plain_router_that_needs_a_name(snigate_bin, pki, tmp_path):
    """A router without tls sees only plain clients, which send no name: HostSNI(`a.test`) there
    can never match, so it is an error that says how to fix it, not a silent dead route."""
    cfg = small_config(pki)
    cfg["tcp"]["routers"]["plain"] = router("HostSNI(`plain.test`)", "web")
    path = write(tmp_path, "cfg.yaml", to_yaml(cfg) + "\n")
    cp = run_cli(["check", "--config", path], timeout=10)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert re.search(r"tcp\.routers\.plain\.rule: `HostSNI\(`plain\.test`\)` can never match: a router "
                     r"without tls .*add `tls: \{\}`", cp.stderr), cp.stderr


def test_check_refuses_two_entry_points_on_one_address(snigate_bin, pki, tmp_path):
    cfg = small_config(pki)
    cfg["entryPoints"]["again"] = {"address": ":18443"}  # every address, so it overlaps 127.0.0.1:18443
    path = write(tmp_path, "cfg.yaml", to_yaml(cfg) + "\n")
    cp = run_cli(["check", "--config", path], timeout=10)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert re.search(r"entryPoints\.web\.address: \"127\.0\.0\.1:18443\" overlaps entry point again's "
                     r"\":18443\"", cp.stderr), cp.stderr


def test_a_port_held_by_another_process_names_it(snigate_bin, pki, tmp_path):
    """"Address already in use" says who holds the port, from /proc, and how two snigates share one."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        port = holder.getsockname()[1]
        path = write(tmp_path, "cfg.yaml", to_yaml(small_config(pki, port)) + "\n")
        cp = run_cli(["--config", path], timeout=30)
        assert cp.returncode == 1, cp.stdout + cp.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in cp.stderr, cp.stderr
        assert f"held by pid {os.getpid()} (" in cp.stderr and "reusePort" in cp.stderr, cp.stderr
    finally:
        holder.close()


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
