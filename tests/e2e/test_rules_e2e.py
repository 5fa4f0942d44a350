"""Routing rules over real connections (docs/rules.md): HostSNIRegexp, ClientIP (127.0.0.1 against
127.0.0.2 and ::1), ALPN; and an IPv6 entry point on [::1], whose clients the access log writes
as `[::1]:PORT` (docs/logging.md). Every router answers with whoami@internal, which names the
router that took the connection."""
from __future__ import annotations

import socket
import ssl

import pytest

from harness.configs import addr, router
from harness.pki import make_pki
from harness.snigate import Snigate, run_cli
from harness.tlsprobe import attempt, client_context, fields
from harness.util import free_port, wait_until

EPS = ("web", "v6")


def free_port_v6() -> int:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def rpki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("rules-pki"), {
        "srv": ["*.tenant.test", "ip.test", "alpn.test", "v6.test"], "default": ["default.test"],
    })


@pytest.fixture(scope="module")
def sg(request, snigate_bin, tmp_path_factory, rpki):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not implement HostSNIRegexp, ClientIP, ALPN or IPv6 entry points")
    try:
        v6 = free_port_v6()
    except OSError as e:
        pytest.skip(f"no IPv6 loopback here: {e}")
    web, prio = free_port(), free_port()
    who = "whoami@internal"
    cfg = {
        "entryPoints": {"web": {"address": addr(web)}, "v6": {"address": f"[::1]:{v6}"},
                        "prio": {"address": addr(prio)}},
        "tcp": {
            "routers": {
                "regex": router(r"HostSNIRegexp(`^[a-z0-9-]+\.tenant\.test$`)", who, eps=EPS, tls={}),
                # RE2 syntax that ECMAScript lacks; tried before "regex", which also matches its names.
                "re2": router(r"HostSNIRegexp(`(?i)^\QRE2-\E\pL+\.tenant\.test\z`)", who, eps=EPS, tls={},
                              priority=100),
                # Tried first (higher priority) and matches neither 127.0.0.1 nor 127.0.0.2.
                "ipother": router("HostSNI(`ip.test`) && ClientIP(`10.0.0.0/8`, `::1`)", who, eps=EPS,
                                  tls={}, priority=20),
                "iplocal": router("HostSNI(`ip.test`) && ClientIP(`127.0.0.1`)", who, eps=EPS, tls={},
                                  priority=10),
                "alpnh2": router("HostSNI(`alpn.test`) && ALPN(`h2`)", who, eps=EPS, tls={}, priority=20),
                "alpnother": router("HostSNI(`alpn.test`)", who, eps=EPS, tls={}, priority=10),
                "v6": router("HostSNI(`v6.test`)", who, eps=["v6"], tls={}),
                # A catch-all without priority (-1, as in Traefik) beside explicit priorities.
                "prioany": router("HostSNI(`*`)", who, eps=["prio"], tls={}),
                "prioapi": router("HostSNI(`api.prio.test`)", who, eps=["prio"], tls={}, priority=5),
                "prioneg": router("HostSNI(`neg.prio.test`)", who, eps=["prio"], tls={}, priority=-5),
            },
        },
        "tls": {
            "certificates": [{"certFile": str(rpki["srv"].cert), "keyFile": str(rpki["srv"].key)}],
            "stores": {"default": {"defaultCertificate": {"certFile": str(rpki["default"].cert),
                                                          "keyFile": str(rpki["default"].key)}}},
        },
    }
    # The harness's readiness probe connects to 127.0.0.1; the [::1] entry point is probed below.
    inst = Snigate(tmp_path_factory.mktemp("snigate-rules"), cfg, name="snigate-rules",
                   ports={"web": web, "prio": prio})
    request.addfinalizer(inst.teardown)
    inst.start()
    wait_port_v6(v6)
    inst.ports["v6"] = v6
    return inst


def wait_port_v6(port: int) -> None:
    def accepts():
        try:
            with socket.create_connection(("::1", port), timeout=0.5):
                return True
        except OSError:
            return False
    wait_until(accepts, 10, f"snigate to accept on [::1]:{port}")


def line_of(sg, a):
    return sg.wait_access(lambda e: e.get("client") == a.client, what=f"access log line of {a.client}")


def routed(sg, sni, ca, **kw):
    a = attempt(sg.ports[kw.pop("ep", "web")], sni, client_context(ca, alpn=kw.pop("alpn", None)), **kw)
    assert a.error is None, a
    return fields(a.reply).get("router"), a


# ---------------------------------------------------------------- HostSNIRegexp

def test_hostsniregexp_matches_one_label(sg, rpki):
    router_, a = routed(sg, "acme-2.tenant.test", rpki.ca_cert)
    assert router_ == "regex", a
    e = line_of(sg, a)
    assert (e["router"], e["end"]) == ("regex", "closed"), e


def test_hostsniregexp_anchors_hold(sg, rpki):
    # Two labels before .tenant.test: the anchored pattern does not match, and no other router does.
    a = attempt(sg.ports["web"], "a.b.tenant.test", client_context(rpki.ca_cert, check_hostname=False))
    assert isinstance(a.error, ssl.SSLError) and "UNRECOGNIZED_NAME" in str(a.error), a
    e = line_of(sg, a)
    assert e["end"] == "no_route" and "HostSNIRegexp" in e["detail"], e


def test_hostsniregexp_reads_re2_syntax(sg, rpki):
    # (?i), \Q...\E, \pL and \z all work; a digit is not a letter, so that name falls to "regex".
    assert routed(sg, "re2-abc.tenant.test", rpki.ca_cert)[0] == "re2"
    assert routed(sg, "re2-abc1.tenant.test", rpki.ca_cert)[0] == "regex"


def test_hostsniregexp_sees_the_name_in_lower_case(sg, rpki):
    # The client's name is lowercased before matching, as in Traefik, so [a-z] takes it.
    router_, a = routed(sg, "Acme-3.TENANT.test", rpki.ca_cert)
    assert router_ == "regex", a


def test_hostsniregexp_refuses_non_ascii_pattern(sg, tmp_path):
    # As Traefik does; the error names the router and quotes its rule.
    text = sg.config_path.read_text()
    assert "[a-z0-9-]+" in text
    path = tmp_path / "non-ascii.yaml"
    path.write_text(text.replace("[a-z0-9-]+", "caf\\u00e9", 1))  # YAML's escape for é
    cp = run_cli(["check", "--config", path], timeout=10)
    out = cp.stdout + cp.stderr
    assert cp.returncode != 0, out
    errors = [ln for ln in out.splitlines() if "tcp.routers.regex.rule" in ln]
    assert errors and "non-ASCII characters are not allowed" in errors[0], out
    assert "HostSNIRegexp(`^caf\u00e9\\.tenant\\.test$`)" in errors[0], out


# ---------------------------------------------------------------- ClientIP

def test_clientip_matches_127_0_0_1(sg, rpki):
    router_, a = routed(sg, "ip.test", rpki.ca_cert)
    assert router_ == "iplocal", a
    assert line_of(sg, a)["router"] == "iplocal"


def test_clientip_refuses_another_address(sg, rpki):
    """127.0.0.2 is loopback too, but neither ClientIP rule names it."""
    a = attempt(sg.ports["web"], "ip.test", client_context(rpki.ca_cert), source="127.0.0.2")
    assert a.client.startswith("127.0.0.2:"), a
    assert isinstance(a.error, ssl.SSLError) and "UNRECOGNIZED_NAME" in str(a.error), a
    e = line_of(sg, a)
    assert e["end"] == "no_route", e
    assert "ClientIP(`127.0.0.1`)" in e["detail"] and "127.0.0.2" in e["detail"], e


def test_clientip_v6_block_matches_v6_client(sg, rpki):
    router_, a = routed(sg, "ip.test", rpki.ca_cert, ep="v6", host="::1")
    assert router_ == "ipother", a


# ---------------------------------------------------------------- ALPN

def test_alpn_h2_routes_to_the_alpn_router(sg, rpki):
    router_, a = routed(sg, "alpn.test", rpki.ca_cert, alpn=["h2", "http/1.1"])
    assert router_ == "alpnh2", a
    e = line_of(sg, a)
    assert (e["router"], e["alpn"]) == ("alpnh2", "h2,http/1.1"), e
    # No alpnProtocols in the options: snigate agrees to none, whatever the route.
    assert e["alpn_chosen"] == "", e


@pytest.mark.parametrize("alpn", [["http/1.1"], None], ids=["http1", "none"])
def test_alpn_other_or_none_falls_through(sg, rpki, alpn):
    router_, a = routed(sg, "alpn.test", rpki.ca_cert, alpn=alpn)
    assert router_ == "alpnother", a
    assert line_of(sg, a)["alpn"] == (",".join(alpn) if alpn else "")


# ---------------------------------------------------------------- IPv6 entry point

def test_ipv6_entry_point_and_access_log_address(sg, rpki):
    router_, a = routed(sg, "v6.test", rpki.ca_cert, ep="v6", host="::1")
    assert router_ == "v6", a
    assert a.client.startswith("[::1]:"), a
    assert fields(a.reply).get("client") == a.client, a  # whoami writes the address the same way
    e = line_of(sg, a)
    assert (e["entry_point"], e["client"], e["end"]) == ("v6", a.client, "closed"), e


def test_ipv6_entry_point_is_not_on_ipv4(sg):
    """[::1]:PORT listens on ::1 only: 127.0.0.1 on that port is refused (nobody else took it)."""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sg.ports["v6"]), timeout=2).close()


def test_ipv4_only_router_is_not_on_the_v6_entry_point(sg, rpki):
    a = attempt(sg.ports["v6"], "acme.tenant.test", client_context(rpki.ca_cert), host="::1")
    assert a.error is None and fields(a.reply).get("router") == "regex", a  # regex is on both
    b = attempt(sg.ports["web"], "v6.test", client_context(rpki.ca_cert))
    assert isinstance(b.error, ssl.SSLError) and "UNRECOGNIZED_NAME" in str(b.error), b


# ---------------------------------------------------------------- priority

@pytest.mark.parametrize("sni,expected", [("api.prio.test", "prioapi"), ("other.prio.test", "prioany"),
                                          ("neg.prio.test", "prioany")])
def test_catch_all_without_priority_comes_after_explicit_priorities(sg, rpki, sni, expected):
    """HostSNI(`*`) with no priority is -1: it loses to priority 5 (shorter than its rule length
    would be), takes the names no router serves, and wins over an explicit -5."""
    ctx = client_context(rpki.ca_cert, check_hostname=False)  # the default certificate answers
    a = attempt(sg.ports["prio"], sni, ctx)
    assert a.error is None, a
    assert fields(a.reply).get("router") == expected, a
    assert line_of(sg, a)["router"] == expected


def test_explain_shows_the_effective_priority_and_its_source(sg):
    cp = run_cli(["explain", "--config", sg.config_path, "--entrypoint", "prio", "--sni", "api.prio.test"])
    assert cp.returncode == 0, cp.stderr
    assert "match: prioapi  rule HostSNI(`api.prio.test`)  priority 5 (set)" in cp.stdout, cp.stdout
    assert "no: prioany  rule HostSNI(`*`)  priority -1 (default for HostSNI(`*`))" in cp.stdout, cp.stdout
    assert "priority -5 (set)" in cp.stdout, cp.stdout
