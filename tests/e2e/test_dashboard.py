"""The dashboard in headless Chromium (chromium-driver, python3-selenium): the page served by
snigate lists the routers, services and entry points, shows a refusal this test causes with
its detail, counts an open connection without a reload, escapes a client-chosen SNI, and its
explain box answers. Takes the screenshot docs/observability.md shows: into the test's temporary
directory, and into docs/img/dashboard.png with SNIGATE_DOCS_SCREENSHOT=1 (so a test run leaves the
working tree as it was)."""
from __future__ import annotations

import http.client
import os
import shutil
import socket
import ssl
from pathlib import Path

import pytest

from harness.clients import s_client
from harness.hostile import client_hello
from harness.configs import addr, lb, router
from harness.snigate import REPO_ROOT, Snigate
from harness.stubsrv import StubServer, hold
from harness.util import LOCALHOST, free_port

webdriver = pytest.importorskip("selenium.webdriver", reason="python3-selenium is not installed")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 20.0  # seconds; the page polls every 2 s, a busy machine may take a few polls
DOCS_SCREENSHOT = REPO_ROOT / "docs" / "img" / "dashboard.png"
# An SNI holding markup: shown as text, never parsed into the page.
MARKUP_SNI = "<i>x</i>.test"


@pytest.fixture(scope="module")
def backend(request) -> StubServer:
    """A server that accepts and holds: the health check finds it UP."""
    srv = StubServer(hold)
    request.addfinalizer(srv.close)
    return srv


@pytest.fixture(scope="module")
def gateway(request, snigate_bin, tmp_path_factory, pki, backend, dead_port):
    ports = {"websecure": free_port(), "plain": free_port(), "traefik": free_port()}
    check = {"interval": "200ms", "timeout": "500ms"}
    cfg = {
        "entryPoints": {name: {"address": addr(port)} for name, port in ports.items()},
        "api": {"insecure": True, "dashboard": True},
        "tcp": {
            "routers": {
                "who": router("HostSNI(`a.test`)", "whoami@internal", eps=["websecure"], tls={}),
                "db": dict(router("HostSNI(`backend.test`)", "db", eps=["websecure"], tls={"passthrough": True}),
                           middlewares=["local"]),
                "cache": router("HostSNI(`*`)", "cache", eps=["plain"]),
            },
            "middlewares": {"local": {"ipAllowList": {"sourceRange": ["127.0.0.0/8"]}}},
            "services": {
                "db": {"loadBalancer": {"servers": [{"address": backend.address}, {"address": addr(dead_port)}],
                                        "healthCheck": check}},
                "cache": lb(addr(dead_port)),  # every client refused: backend_unreachable
            },
        },
        "tls": {"certificates": [{"certFile": str(pki["a"].cert), "keyFile": str(pki["a"].key)}],
                "stores": {"default": {"defaultCertificate": {"certFile": str(pki["default"].cert),
                                                              "keyFile": str(pki["default"].key)}}}},
    }
    sg = Snigate(tmp_path_factory.mktemp("snigate-dashboard"), cfg, name="snigate-dashboard")
    request.addfinalizer(sg.teardown)
    return sg.start()


@pytest.fixture(scope="module")
def browser(request):
    if not Path(CHROMEDRIVER).exists() or not shutil.which("chromium"):
        pytest.skip("chromium and chromium-driver are not installed")
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1440,1000"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    request.addfinalizer(drv.quit)
    return drv


@pytest.fixture(scope="module")
def page(browser, gateway):
    """The dashboard, loaded once, through the redirect from /dashboard."""
    browser.get(f"http://{LOCALHOST}:{gateway.ports['traefik']}/dashboard")
    assert browser.current_url.endswith("/dashboard/")
    return browser


def wait_for(drv, what: str, pred):
    """WebDriverWait for pred(drv); a table re-rendered between two reads is just read again."""
    return WebDriverWait(drv, WAIT, ignored_exceptions=[StaleElementReferenceException]).until(
        pred, message=f"the dashboard did not show {what} within {WAIT}s")


def rows(drv, key: str) -> list:
    return [r.text for r in drv.find_elements(By.CSS_SELECTOR, f'tbody[data-rows="{key}"] tr')]


def texts(drv, selector: str) -> list:
    return [c.text for c in drv.find_elements(By.CSS_SELECTOR, selector)]


def refuse(gateway, sni: str) -> None:
    """A TLS client whose SNI no router takes: refused with unrecognized_name."""
    res = s_client(gateway.ports["websecure"], sni, timeout=10)
    assert res.rc != 0, res.out


def get(port: int, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(LOCALHOST, port, timeout=10)
    conn.request("GET", path)
    res = conn.getresponse()
    res.body = res.read()
    conn.close()
    return res


def test_files_and_redirect_over_http(gateway):
    port = gateway.ports["traefik"]
    res = get(port, "/dashboard")
    assert res.status in (301, 302) and res.getheader("Location") == "dashboard/"
    for path, ctype in (("/dashboard/", "text/html"), ("/dashboard/app.js", "text/javascript"),
                        ("/dashboard/style.css", "text/css")):
        res = get(port, path)
        assert res.status == 200 and res.getheader("Content-Type").startswith(ctype), (path, res.status)
        assert res.getheader("Cache-Control") == "no-cache"
    assert get(port, "/dashboard/nothing.js").status == 404
    assert get(port, "/dashboard/../api/version").status == 404


def test_routers_services_and_entry_points(page, backend):
    routers = wait_for(page, "the routers", lambda d: len(rows(d, "routers")) == 3 and rows(d, "routers"))
    who = next(r for r in routers if r.startswith("who@file"))
    db = next(r for r in routers if r.startswith("db@file"))
    assert "HostSNI(`a.test`)" in who and "terminate" in who and "enabled" in who and "whoami@internal" in who
    assert "HostSNI(`backend.test`)" in db and "passthrough" in db and "websecure" in db and "local@file" in db
    cache = next(r for r in routers if r.startswith("cache@file"))
    assert "HostSNI(`*`)" in cache and "plain" in cache

    # The health check has run: one server UP, the dead one DOWN.
    def db_service(d):
        return next((r for r in rows(d, "services") if r.startswith("db@file") and "UP" in r and "DOWN" in r), None)
    service = wait_for(page, "service db with its servers UP and DOWN", db_service)
    assert backend.address in service and "loadbalancer" in service

    eps = wait_for(page, "the entry points", lambda d: len(rows(d, "entrypoints")) >= 2 and rows(d, "entrypoints"))
    assert any(r.startswith("websecure") for r in eps) and any(r.startswith("traefik") for r in eps)


def test_refusal_caused_here_appears_with_its_detail(page, gateway):
    refuse(gateway, "nobody.test")
    row = wait_for(page, "the refusal of nobody.test",
                   lambda d: next((r for r in rows(d, "refusals") if "nobody.test" in r), None))
    assert "websecure" in row and "no_route" in row
    detail = page.find_element(By.CSS_SELECTOR, 'tbody[data-rows="refusals"] tr td.detail').text
    assert detail and detail != "–"


def test_client_chosen_sni_is_shown_as_text(page, gateway):
    refuse(gateway, MARKUP_SNI)
    wait_for(page, "the refusal of an SNI holding markup",
             lambda d: MARKUP_SNI in texts(d, 'tbody[data-rows="refusals"] td.sni'))
    assert page.find_elements(By.CSS_SELECTOR, 'tbody[data-rows="refusals"] i') == []


def test_open_connection_is_counted_without_a_reload(page, gateway, backend):
    """A passthrough client whose server (the holding stub) never answers stays open: the
    router's count goes to 1 and back to 0 when the client leaves, with no reload."""
    ctx = ssl.create_default_context()
    def open_on_db(d):
        cells = d.find_elements(By.CSS_SELECTOR, 'tr[data-router="db@file"] td.num')
        return cells[0].text if cells else None

    with socket.create_connection((LOCALHOST, gateway.ports["websecure"]), timeout=10) as sock:
        sock.sendall(client_hello("backend.test", ctx))
        wait_for(page, "one open connection on router db", lambda d: open_on_db(d) == "1")
        row = wait_for(page, "the connection in the open connections table",
                       lambda d: next((r for r in rows(d, "connections") if "backend.test" in r), None))
        assert "passthrough" in row and backend.address in row
    wait_for(page, "router db back to 0 open", lambda d: open_on_db(d) == "0")


def explain(drv, sni: str, entry_point: str = "websecure") -> str:
    """Ask the explain box; the outcome it shows (data-outcome)."""
    form = drv.find_element(By.ID, "explain-form")
    Select(form.find_element(By.NAME, "entrypoint")).select_by_value(entry_point)
    field = form.find_element(By.NAME, "sni")
    field.clear()
    field.send_keys(sni)
    before = drv.find_elements(By.CSS_SELECTOR, "#explain-result .verdict")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    if before:
        WebDriverWait(drv, WAIT).until(lambda d: not _attached(before[0]))
    verdict = wait_for(drv, f"the explain answer for {sni}",
                       lambda d: d.find_elements(By.CSS_SELECTOR, "#explain-result .verdict"))
    return verdict[0].get_attribute("data-outcome")


def _attached(element) -> bool:
    try:
        element.is_displayed()
        return True
    except StaleElementReferenceException:
        return False


def test_explain_box(page):
    wait_for(page, "the entry point choices",
             lambda d: "websecure" in [o.text for o in d.find_elements(By.CSS_SELECTOR, "#explain-form option")])
    assert explain(page, "backend.test") == "match"
    result = page.find_element(By.ID, "explain-result").text
    assert "db@file" in result.split("\n")[0]  # the verdict names the chosen router
    others = texts(page, "#explain-result table.others tbody tr")
    assert len(others) == 1 and others[0].startswith("who@file")
    why = texts(page, "#explain-result table.others td.detail")
    assert why[0] and why[0] != "–", why

    assert explain(page, "nobody.test") == "noMatch"
    assert "No router takes this client" in page.find_element(By.ID, "explain-result").text
    assert len(texts(page, "#explain-result table.others tbody tr")) == 2


def test_screenshot_for_the_docs(page, gateway, tmp_path):
    """The page with everything on it: routers, services, a refusal, an explain answer."""
    refuse(gateway, "nobody.test")
    wait_for(page, "a refusal", lambda d: any("nobody.test" in r for r in rows(d, "refusals")))
    assert explain(page, "backend.test") == "match"
    height = page.execute_script("return document.documentElement.scrollHeight")
    page.set_window_size(1440, min(int(height) + 160, 4000))  # the window includes the browser frame
    page.execute_script("window.scrollTo(0, 0)")
    shot = DOCS_SCREENSHOT if os.environ.get("SNIGATE_DOCS_SCREENSHOT") == "1" else tmp_path / "dashboard.png"
    assert page.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_page_works_under_a_base_path(browser, make_snigate, gateway):
    """Every URL of the page is relative, so under api.basePath it finds its files and the API."""
    cfg = {k: v for k, v in gateway.config.items() if k not in ("log", "accessLog")}
    cfg["entryPoints"] = {name: {"address": addr(free_port())} for name in gateway.config["entryPoints"]}
    cfg["api"] = {"insecure": True, "dashboard": True, "basePath": "/snigate"}
    sg = make_snigate(cfg, name="snigate-basepath")
    browser.get(f"http://{LOCALHOST}:{sg.ports['traefik']}/snigate/dashboard/")
    wait_for(browser, "the routers under /snigate/", lambda d: len(rows(d, "routers")) == 3)
    assert browser.find_element(By.ID, "live").text.startswith("live")
