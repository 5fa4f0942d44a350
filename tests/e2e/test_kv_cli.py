"""`snigate kv put|get` against one real etcd (Debian etcd-server 3.4) on loopback: a round trip,
--replace, a bad file (nothing written), an endpoint nobody listens on, and etcd's user/password
auth. The three-member cluster and snigate's watch are test_etcd.py's."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import pytest
import yaml

from harness.etcd_one import ETCD, Etcd
from harness.pki import Pki, make_pki
from harness.snigate import assert_no_sanitizer_report, run_cli, snigate_bin
from harness.util import LOCALHOST, free_port, run

DYNAMIC = {
    "tcp": {
        "routers": {
            "db": {"rule": "HostSNI(`db.test`)", "entryPoints": ["tls"], "service": "db",
                   "tls": {"passthrough": True}},
            "web": {"rule": "HostSNI(`web.test`)", "entryPoints": ["tls"], "service": "web", "priority": 10,
                    "tls": {}},
        },
        "services": {
            "db": {"loadBalancer": {"servers": [{"address": "127.0.0.1:5432"}]}},
            "web": {"loadBalancer": {"servers": [{"address": "127.0.0.1:8001"}, {"address": "127.0.0.1:8002"}]}},
        },
    },
}


def _etcd(request, tmp_path_factory, name: str, pki: Optional[Pki] = None) -> Etcd:
    if not Path(ETCD).exists():
        pytest.fail(f"{ETCD} is missing: install etcd-server (scripts/install-deps.sh --test)")
    server = Etcd(tmp_path_factory.mktemp(name), name, pki)
    request.addfinalizer(server.proc.stop)
    return server


@pytest.fixture(scope="module")
def etcd(request, tmp_path_factory) -> Etcd:
    return _etcd(request, tmp_path_factory, "kv")


@pytest.fixture(scope="module")
def etcd_auth(request, tmp_path_factory) -> Etcd:
    """An etcd with authentication on: user root, password pw."""
    server = _etcd(request, tmp_path_factory, "kvauth")
    server.ctl("user", "add", "root:pw")
    server.ctl("user", "grant-role", "root", "root")
    server.ctl("auth", "enable")
    return server


@pytest.fixture(scope="module")
def etcd_pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("etcd-pki"), {"etcd": ["localhost"], "client": ["kv-client"]})


@pytest.fixture(scope="module")
def etcd_tls(request, tmp_path_factory, etcd_pki) -> Etcd:
    return _etcd(request, tmp_path_factory, "kvtls", etcd_pki)


def write_yaml(tmp_path: Path, name: str, doc) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc) if not isinstance(doc, str) else doc)
    return path


def kv(*args):
    return run_cli(["kv", *args], timeout=30)


def run_cli_env(args: list, **env):
    cp = run([str(snigate_bin()), *map(str, args)], timeout=30, env={**os.environ, **env})
    assert_no_sanitizer_report(cp.stdout + cp.stderr, f"snigate {' '.join(args)}")
    return cp


def test_put_writes_traefik_keys_and_get_prints_them_back(snigate_bin, etcd, tmp_path):
    cp = kv("put", "--endpoints", etcd.endpoint, "--root", "rt", write_yaml(tmp_path, "dyn.yaml", DYNAMIC))
    assert cp.returncode == 0, cp.stderr
    keys = etcd.keys("rt/")
    assert f"wrote {len(keys)} key(s) under rt/" in cp.stdout, cp.stdout
    assert keys["rt/tcp/routers/db/rule"] == "HostSNI(`db.test`)"
    assert keys["rt/tcp/routers/db/tls/passthrough"] == "true"
    assert keys["rt/tcp/services/web/loadbalancer/servers/1/address"] == "127.0.0.1:8002"

    got = kv("get", "--endpoints", etcd.endpoint, "--root", "rt")
    assert got.returncode == 0, got.stderr
    printed = yaml.safe_load(got.stdout)
    assert printed["tcp"]["routers"]["db"]["rule"] == "HostSNI(`db.test`)"
    # What get prints is a file that put takes, and it makes the same keys.
    again = kv("put", "--endpoints", etcd.endpoint, "--root", "rt2", write_yaml(tmp_path, "got.yaml", got.stdout))
    assert again.returncode == 0, again.stderr
    assert {k.removeprefix("rt2/"): v for k, v in etcd.keys("rt2/").items()} == \
           {k.removeprefix("rt/"): v for k, v in keys.items()}


def test_replace_deletes_what_the_file_no_longer_has(snigate_bin, etcd, tmp_path):
    full = write_yaml(tmp_path, "full.yaml", DYNAMIC)
    assert kv("put", "--endpoints", etcd.endpoint, "--root", "rep", full).returncode == 0
    smaller = {"tcp": {"routers": {"web": DYNAMIC["tcp"]["routers"]["web"]},
                       "services": {"web": DYNAMIC["tcp"]["services"]["web"]}}}
    path = write_yaml(tmp_path, "smaller.yaml", smaller)

    cp = kv("put", "--endpoints", etcd.endpoint, "--root", "rep", path)
    assert cp.returncode == 0, cp.stderr
    assert "rep/tcp/routers/db/rule" in etcd.keys("rep/"), "without --replace, db's keys stay"

    db_keys = [k for k in etcd.keys("rep/") if "/db/" in k]
    cp = kv("put", "--replace", "--endpoints", etcd.endpoint, "--root", "rep", path)
    assert cp.returncode == 0, cp.stderr
    keys = etcd.keys("rep/")
    assert not [k for k in keys if "/db/" in k], keys
    assert "rep/tcp/routers/web/rule" in keys
    assert f"deleted {len(db_keys)}" in cp.stdout, cp.stdout


def test_put_of_an_unchanged_file_writes_nothing(snigate_bin, etcd, tmp_path):
    path = write_yaml(tmp_path, "same.yaml", DYNAMIC)
    assert kv("put", "--endpoints", etcd.endpoint, "--root", "same", path).returncode == 0
    revision = etcd.revision()
    cp = kv("put", "--endpoints", etcd.endpoint, "--root", "same", path)
    assert cp.returncode == 0, cp.stderr
    assert "no change under same/" in cp.stdout, cp.stdout
    assert etcd.revision() == revision, "an unchanged file must not make a new revision (every instance would reload)"
    changed = yaml.safe_load(yaml.safe_dump(DYNAMIC))
    changed["tcp"]["routers"]["db"]["priority"] = 7
    cp = kv("put", "--endpoints", etcd.endpoint, "--root", "same", write_yaml(tmp_path, "changed.yaml", changed))
    assert cp.returncode == 0, cp.stderr
    assert "wrote 1 key(s) under same/" in cp.stdout, cp.stdout


def test_config_checks_entry_points_and_gives_the_connection(snigate_bin, etcd, tmp_path):
    static = write_yaml(tmp_path, "static.yaml", {
        "entryPoints": {"tls": {"address": "127.0.0.1:1"}},
        "providers": {"etcd": {"endpoints": [etcd.endpoint], "rootKey": "fromcfg"}}})
    typo = yaml.safe_load(yaml.safe_dump(DYNAMIC))
    typo["tcp"]["routers"]["db"]["entryPoints"] = ["tsl"]
    typo_path = write_yaml(tmp_path, "typo.yaml", typo)
    # Without --config the entry points cannot be known: a warning names them.
    cp = kv("put", "--endpoints", etcd.endpoint, "--root", "nocfg", typo_path)
    assert cp.returncode == 0, cp.stderr
    assert "entry points not checked (tls, tsl)" in cp.stderr, cp.stderr
    # With it, the misspelled one is an error and nothing is written.
    cp = kv("put", "--config", static, typo_path)
    assert cp.returncode == 1, cp.stdout
    assert 'unknown entry point "tsl"' in cp.stderr, cp.stderr
    assert etcd.keys("fromcfg/") == {}
    cp = kv("put", "--config", static, write_yaml(tmp_path, "good.yaml", DYNAMIC))
    assert cp.returncode == 0, cp.stderr
    assert "fromcfg/tcp/routers/db/rule" in etcd.keys("fromcfg/")
    got = kv("get", "-c", static)
    assert got.returncode == 0 and "db.test" in got.stdout, got.stderr
    # A connection option next to --config would be ambiguous.
    cp = kv("get", "-c", static, "--root", "other")
    assert cp.returncode != 0 and "excludes" in cp.stderr, cp.stderr


@pytest.mark.parametrize("text,words", [
    ("tcp:\n  routers: [unclosed\n", "bad.yaml"),
    ("tcp:\n  routers:\n    r:\n      rule: \"HostSNI(`a.test`\"\n      service: s\n"
     "  services:\n    s:\n      loadBalancer:\n        servers:\n          - address: 127.0.0.1:1\n",
     "tcp.routers.r.rule"),
    ("tcp:\n  routers:\n    r:\n      rule: \"HostSNI(`a.test`)\"\n      service: nowhere\n", "nowhere"),
])
def test_a_bad_file_is_refused_and_nothing_is_written(snigate_bin, etcd, tmp_path, text, words):
    cp = kv("put", "--endpoints", etcd.endpoint, "--root", "bad", write_yaml(tmp_path, "bad.yaml", text))
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert words in cp.stderr and "nothing written" in cp.stderr, cp.stderr
    assert etcd.keys("bad/") == {}


def test_an_endpoint_nobody_listens_on_is_named_in_the_error(snigate_bin, tmp_path):
    port = free_port()
    cp = kv("put", "--endpoints", f"{LOCALHOST}:{port}", write_yaml(tmp_path, "dyn.yaml", DYNAMIC))
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert f"{LOCALHOST}:{port}" in cp.stderr and "error: etcd:" in cp.stderr, cp.stderr
    cp = kv("get", "--endpoints", f"{LOCALHOST}:{port}")
    assert cp.returncode == 1 and f"{LOCALHOST}:{port}" in cp.stderr, cp.stderr


def test_a_dead_endpoint_is_skipped_for_the_next(snigate_bin, etcd, tmp_path):
    dead = f"{LOCALHOST}:{free_port()}"
    cp = kv("put", "--endpoints", f"{dead},{etcd.endpoint}", "--root", "next", write_yaml(tmp_path, "d.yaml", DYNAMIC))
    assert cp.returncode == 0, cp.stderr
    assert "next/tcp/routers/web/rule" in etcd.keys("next/")


def test_auth_with_user_and_password(snigate_bin, etcd_auth, tmp_path):
    path = write_yaml(tmp_path, "dyn.yaml", DYNAMIC)
    ep = etcd_auth.endpoint
    cp = kv("put", "--endpoints", ep, "--username", "root", "--password", "pw", path)
    assert cp.returncode == 0, cp.stderr
    assert "traefik/tcp/routers/db/rule" in etcd_auth.keys("traefik/", user="root:pw")
    got = kv("get", "--endpoints", ep, "--username", "root", "--password", "pw")
    assert got.returncode == 0 and "db.test" in got.stdout, got.stderr

    from_env = run_cli_env(["kv", "get", "--endpoints", ep, "--username", "root"], SNIGATE_ETCD_PASSWORD="pw")
    assert from_env.returncode == 0 and "db.test" in from_env.stdout, from_env.stderr

    cp = kv("get", "--endpoints", ep)
    assert cp.returncode == 1, cp.stdout
    assert "give a username and password" in cp.stderr and ep in cp.stderr, cp.stderr
    cp = kv("put", "--endpoints", ep, "--username", "root", "--password", "wrong", path)
    assert cp.returncode == 1, cp.stdout
    assert "authentication as root failed" in cp.stderr, cp.stderr


def test_tls_with_a_client_certificate(snigate_bin, etcd_tls, etcd_pki, tmp_path):
    path = write_yaml(tmp_path, "dyn.yaml", DYNAMIC)
    ep, client = etcd_tls.endpoint, etcd_pki["client"]
    cert = ["--cert", client.cert, "--key", client.key]
    cp = kv("put", "--endpoints", ep, "--ca", etcd_pki.ca_cert, *cert, path)
    assert cp.returncode == 0, cp.stderr
    assert "traefik/tcp/routers/db/rule" in etcd_tls.keys("traefik/")
    got = kv("get", "--endpoints", ep, "--insecure-skip-verify", *cert)
    assert got.returncode == 0 and "db.test" in got.stdout, got.stderr

    unknown_ca = kv("get", "--endpoints", ep, *cert)  # the system's CAs do not know the test CA
    assert unknown_ca.returncode == 1 and ep in unknown_ca.stderr, unknown_ca.stderr
    no_client_cert = kv("get", "--endpoints", ep, "--ca", etcd_pki.ca_cert)
    assert no_client_cert.returncode == 1 and ep in no_client_cert.stderr, no_client_cert.stderr


def test_check_reads_etcd_and_fails_without_it(snigate_bin, etcd, tmp_path):
    def static(endpoint: str, root: str) -> Path:
        return write_yaml(tmp_path, f"check-{root}.yaml", {
            "entryPoints": {"tls": {"address": "127.0.0.1:1"}},
            "providers": {"etcd": {"endpoints": [endpoint], "rootKey": root}}})
    assert kv("put", "--endpoints", etcd.endpoint, "--root", "chk", write_yaml(tmp_path, "d.yaml", DYNAMIC)).returncode == 0
    cp = run_cli(["check", "-c", static(etcd.endpoint, "chk")], timeout=30)
    assert cp.returncode == 0, cp.stderr
    assert "2 router(s)" in cp.stdout, cp.stdout
    etcd.ctl("put", "chk/tcp/routers/db/service", "nowhere")
    cp = run_cli(["check", "-c", static(etcd.endpoint, "chk")], timeout=30)
    assert cp.returncode == 1, cp.stdout
    assert "etcd key chk/tcp/routers/db/service" in cp.stderr and "nowhere" in cp.stderr, cp.stderr
    # etcd not answering: check cannot say the configuration is valid.
    dead = f"{LOCALHOST}:{free_port()}"
    cp = run_cli(["check", "-c", static(dead, "chk")], timeout=30)
    assert cp.returncode == 1, cp.stdout
    assert "error: providers.etcd: cannot read chk/" in cp.stderr and dead in cp.stderr, cp.stderr
