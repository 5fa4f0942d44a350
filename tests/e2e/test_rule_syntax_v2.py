"""Traefik v2 rule syntax (docs/rules.md): routers with `ruleSyntax: v2` in a hand-written provider
file route real TLS clients as Traefik v2 read them (several arguments, anchored templates), snigate
logs one deprecation warning per v2 router with its v3 spelling, and `snigate check --to-v3` prints
the file rewritten to v3 with its comments kept, which routes every name the same way."""
from __future__ import annotations

import re
import ssl

import pytest

from harness.configs import addr
from harness.pki import make_pki
from harness.snigate import Snigate, run_cli
from harness.tlsprobe import attempt, client_context, fields
from harness.util import free_port

V2_FILE = """\
# Routers carried over from Traefik v2.
tcp:
  routers:
    tenants:   # one label in front of tenant.test, in any case
      rule: "HostSNIRegexp(`{tenant:[a-z0-9-]+}.Tenant.test`)"
      ruleSyntax: v2
      service: whoami@internal
      tls: {}
    pair:
      rule: HostSNI(`a.pair.test`, `b.pair.test`) && !ALPN(`h2`, `h3`)
      ruleSyntax: v2   # the line --to-v3 removes
      service: whoami@internal
      tls: {}
    modern:
      rule: 'HostSNI(`c.pair.test`, `d.pair.test`)'
      service: whoami@internal
      tls: {}
"""

SNIS = ["x1.tenant.test", "a.b.tenant.test", "xtenant.test", "b.pair.test", "a.pair.test",
        "d.pair.test", "e.pair.test"]


@pytest.fixture(scope="module")
def v2pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("v2-pki"), {
        "srv": ["*.tenant.test", "*.pair.test"], "default": ["default.test"],
    })


def static_config(port: int, pki, dynamic_file) -> dict:
    return {
        "entryPoints": {"web": {"address": addr(port)}},
        "providers": {"file": {"filename": str(dynamic_file), "watch": False}},
        "tls": {
            "certificates": [{"certFile": str(pki["srv"].cert), "keyFile": str(pki["srv"].key)}],
            "stores": {"default": {"defaultCertificate": {"certFile": str(pki["default"].cert),
                                                          "keyFile": str(pki["default"].key)}}},
        },
    }


@pytest.fixture(scope="module")
def sg(request, snigate_bin, tmp_path_factory, v2pki):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not implement rule syntaxes")
    work = tmp_path_factory.mktemp("snigate-v2")
    dyn = work / "routers-v2.yaml"
    dyn.write_text(V2_FILE)
    inst = Snigate(work, static_config(free_port(), v2pki, dyn), name="snigate-v2")
    request.addfinalizer(inst.teardown)
    inst.start()
    inst.dynamic_file = dyn
    return inst


def router_for(sg, sni, ca, alpn=None):
    a = attempt(sg.ports["web"], sni, client_context(ca, alpn=alpn))
    if a.error is not None:
        assert isinstance(a.error, ssl.SSLError) and "UNRECOGNIZED_NAME" in str(a.error), a
        return None
    return fields(a.reply).get("router")


@pytest.mark.parametrize("sni,expected", [
    ("x1.tenant.test", "tenants"),   # the template's variable, literal part matched in any case
    ("a.b.tenant.test", None),       # anchored: one label only
    ("b.pair.test", "pair"),         # second argument of a v2 HostSNI
    ("d.pair.test", "modern"),       # a v3 router beside them
])
def test_v2_rules_route_as_traefik_v2(sg, v2pki, sni, expected):
    assert router_for(sg, sni, v2pki.ca_cert) == expected


def test_v2_negated_alpn_list(sg, v2pki):
    """!ALPN(`h2`, `h3`) in v2 is "offers neither": a client offering h2 is not taken."""
    assert router_for(sg, "a.pair.test", v2pki.ca_cert, alpn=["http/1.1"]) == "pair"
    assert router_for(sg, "a.pair.test", v2pki.ca_cert, alpn=["h2"]) is None


def test_deprecation_warning_once_per_v2_router(sg):
    log = sg.log()
    for name, v3 in [("tenants", r"HostSNIRegexp(`^(?:[a-z0-9-]+)\.tenant\.test$`)"),
                     ("pair", "(HostSNI(`a.pair.test`) || HostSNI(`b.pair.test`)) && !(ALPN(`h2`) || ALPN(`h3`))")]:
        needle = f"router {name}: ruleSyntax: v2 is deprecated; in v3 syntax its rule reads {v3}"
        assert log.count(needle) == 1, log
    assert "router modern:" not in log, log


def routed_by_explain(config_path, sni) -> str | None:
    cp = run_cli(["explain", "--config", config_path, "--entrypoint", "web", "--sni", sni])
    assert cp.returncode in (0, 1), cp.stderr
    m = re.search(r"^match: (\S+)", cp.stdout, re.M)
    return m.group(1) if m else None


def test_check_to_v3_rewrites_the_file_in_place(sg, v2pki, tmp_path):
    cp = run_cli(["check", "--config", sg.config_path, "--to-v3", sg.dynamic_file])
    assert cp.returncode == 0, cp.stderr
    out = cp.stdout
    # Comments and untouched lines stay; the v2 lines are gone; each rule keeps its quoting.
    assert out.startswith("# Routers carried over from Traefik v2.\ntcp:\n  routers:\n"
                          "    tenants:   # one label in front of tenant.test, in any case\n"), out
    assert "ruleSyntax" not in out and "the line --to-v3 removes" not in out, out
    assert '      rule: "HostSNIRegexp(`^(?:[a-z0-9-]+)\\\\.tenant\\\\.test$`)"\n' in out, out
    assert ("      rule: (HostSNI(`a.pair.test`) || HostSNI(`b.pair.test`)) && !(ALPN(`h2`) || ALPN(`h3`))\n"
            in out), out
    assert "      rule: 'HostSNI(`c.pair.test`, `d.pair.test`)'\n" in out, out
    # A router without priority keeps its v2 rule's length as its priority, so the rewrite cannot
    # change which router wins: two ruleSyntax lines out, two priority lines in.
    assert out.count("priority before the rewrite\n") == 2, out
    assert len(out.splitlines()) == len(V2_FILE.splitlines()), out

    # The v3 file loads without a deprecation warning and routes every name the same way.
    v3 = tmp_path / "routers-v3.yaml"
    v3.write_text(out)
    static = Snigate(tmp_path / "v3", static_config(free_port(), v2pki, v3), name="snigate-v3-check")
    cp = run_cli(["check", "--config", static.config_path])
    assert cp.returncode == 0 and "deprecated" not in cp.stderr, cp.stderr
    for sni in SNIS:
        assert routed_by_explain(static.config_path, sni) == routed_by_explain(sg.config_path, sni), sni


def test_check_to_v3_refuses_what_it_cannot_rewrite_in_place(sg, tmp_path):
    folded = tmp_path / "folded.yaml"
    folded.write_text("tcp:\n  routers:\n    r:\n      rule: >-\n        HostSNI(`a.test`,\n"
                      "        `b.test`)\n      ruleSyntax: v2\n      service: whoami@internal\n")
    cp = run_cli(["check", "--config", sg.config_path, "--to-v3", folded])
    assert cp.returncode == 1, cp
    assert cp.stdout == "", cp.stdout
    assert "tcp.routers.r.rule: cannot be rewritten in place" in cp.stderr, cp.stderr
    assert "HostSNI(`a.test`) || HostSNI(`b.test`)" in cp.stderr, cp.stderr
