"""The JSON API (docs/observability.md, "API") over real HTTP: one snigate with `api: {insecure:
true}` on its `traefik` entry point, a few routers and a holding backend. Each endpoint is asked
with urllib as a tool would: Traefik's shapes, pagination headers, 404s, explain, an open
connection in /api/connections and a refusal this test causes in /api/refusals."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request

import pytest

from harness.configs import addr, router
from harness.snigate import Snigate
from harness.stubsrv import StubServer, hold
from harness.tlsprobe import attempt, client_context
from harness.util import LOCALHOST, free_port, wait_until


@pytest.fixture(scope="module")
def backend(request):
    s = StubServer(hold)
    request.addfinalizer(s.close)
    return s


@pytest.fixture(scope="module")
def sg(request, tmp_path_factory, pki, backend):
    ports = {"web": free_port(), "plain": free_port(), "traefik": free_port()}
    config = {
        "entryPoints": {name: {"address": addr(port)} for name, port in ports.items()},
        "api": {"insecure": True},
        "tcp": {
            "routers": {
                "db": router("HostSNI(`db.test`)", "db", eps=["web"], tls={"passthrough": True})
                | {"middlewares": ["lan"]},
                "app": router("HostSNI(`a.test`)", "whoami@internal", eps=["web"], tls={}),
                "held": router("HostSNI(`*`)", "db", eps=["plain"]),
            },
            "middlewares": {"lan": {"ipAllowList": {"sourceRange": ["127.0.0.0/8"]}}},
            "services": {"db": {"loadBalancer": {"servers": [{"address": backend.address}]}}},
        },
        "tls": {"certificates": [{"certFile": str(pki["a"].cert), "keyFile": str(pki["a"].key)}]},
    }
    s = Snigate(tmp_path_factory.mktemp("api"), config, ports=ports, name="snigate-api")
    request.addfinalizer(s.teardown)
    return s.start()


def get(sg, path: str, **query) -> tuple[int, dict, object]:
    """(status, headers, parsed JSON body) of GET /api/<path>?query."""
    url = f"http://{LOCALHOST}:{sg.ports['traefik']}{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def test_version_and_overview(sg):
    status, headers, v = get(sg, "/api/version")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert v["Codename"] == "snigate" and v["Version"] and v["startDate"].endswith("Z")
    _, _, o = get(sg, "/api/overview")
    assert o["tcp"]["routers"] == {"total": 3, "warnings": 0, "errors": 0}
    assert o["tcp"]["services"]["total"] == 2  # db and whoami@internal
    assert o["providers"] == ["File"] and o["http"]["routers"]["total"] == 0


def test_routers_pages_and_search(sg):
    _, headers, routers = get(sg, "/api/tcp/routers")
    assert [r["name"] for r in routers] == ["app@file", "db@file", "held@file"]
    assert headers["X-Next-Page"] == "1"
    _, headers, first = get(sg, "/api/tcp/routers", per_page=2)
    assert [r["name"] for r in first] == ["app@file", "db@file"] and headers["X-Next-Page"] == "2"
    _, headers, second = get(sg, "/api/tcp/routers", per_page=2, page=2)
    assert [r["name"] for r in second] == ["held@file"] and headers["X-Next-Page"] == "1"
    status, _, err = get(sg, "/api/tcp/routers", per_page=2, page=3)
    assert status == 400 and "page: 3" in err["message"]
    _, _, found = get(sg, "/api/tcp/routers", search="DB.TEST")
    assert [r["name"] for r in found] == ["db@file"]
    _, _, db = get(sg, "/api/tcp/routers/db@file")
    assert db["rule"] == "HostSNI(`db.test`)" and db["tls"] == {"passthrough": True}
    assert db["status"] == "enabled" and db["using"] == ["web"] and db["middlewares"] == ["lan@file"]
    status, _, err = get(sg, "/api/tcp/routers/nope@file")
    assert status == 404 and err == {"message": "router not found: nope@file"}


def test_services_middlewares_entrypoints_rawdata(sg, backend):
    _, _, db = get(sg, "/api/tcp/services/db@file")
    assert db["type"] == "loadbalancer" and db["serverStatus"] == {backend.address: "UP"}
    assert db["usedBy"] == ["db@file", "held@file"]
    _, _, lan = get(sg, "/api/tcp/middlewares/lan@file")
    assert lan["type"] == "ipallowlist" and lan["usedBy"] == ["db@file"]
    _, _, eps = get(sg, "/api/entrypoints")
    assert [e["name"] for e in eps] == ["plain", "traefik", "web"]
    _, _, web = get(sg, "/api/entrypoints/web")
    assert web["address"] == addr(sg.ports["web"])
    for empty in ("/api/http/routers", "/api/http/services", "/api/udp/routers"):
        assert get(sg, empty)[2] == []
    _, _, raw = get(sg, "/api/rawdata")
    assert set(raw["tcpRouters"]) == {"app@file", "db@file", "held@file"}


def test_explain(sg):
    _, _, j = get(sg, "/api/explain", entrypoint="web", sni="a.test")
    assert j["outcome"] == "match" and j["router"]["name"] == "app@file" and j["router"]["mode"] == "terminate"
    assert "match: app" in j["text"]
    _, _, j = get(sg, "/api/explain", entrypoint="web", sni='x"\x01.test')
    assert j["outcome"] == "noMatch" and j["router"] is None
    assert j["query"]["sni"] == 'x"\x01.test' and len(j["others"]) == 2
    status, _, err = get(sg, "/api/explain", entrypoint="nope")
    assert status == 400 and 'no entry point named "nope"' in err["message"]


def test_an_open_connection_is_listed(sg):
    with socket.create_connection((LOCALHOST, sg.ports["plain"]), timeout=5) as c:
        c.sendall(b"hello")
        client = "%s:%d" % c.getsockname()

        def listed():
            conns = get(sg, "/api/connections")[2]["connections"]
            return next((x for x in conns if x["client"] == client), None)
        conn = wait_until(listed, 5, f"{client} in /api/connections")
        assert conn["router"] == "held@file" and conn["service"] == "db@file"
        assert conn["entryPoint"] == "plain"


def test_a_refusal_is_listed_with_its_reason(sg):
    sni = "refused-by-test.example"
    result = attempt(sg.ports["web"], sni, client_context(None))
    assert result.error is not None, "no router should take the client"

    def found():
        return next((r for r in get(sg, "/api/refusals")[2] if r["sni"] == sni), None)
    refusal = wait_until(found, 5, "the refusal in /api/refusals")
    assert refusal["end"] == "no_route" and refusal["entryPoint"] == "web"
    assert "db" in refusal["detail"] and refusal["client"] == result.client
