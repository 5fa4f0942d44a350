"""ACME (static `certificatesResolvers`, router `tls.certResolver` / `tls.domains`) end to end:
snigate is the ACME client of a real CA, Pebble (harness/acme.py), with Pebble's default 5 %
of nonces refused (badNonce), so snigate's retry is exercised on the way.

Three Pebbles, each validating on the ports of one snigate (a Pebble validates HTTP-01 and
TLS-ALPN-01 on fixed ports, so two snigates cannot share one):
  main      Pebble with its default 5-year certificates. snigate-acme-main: resolver `le`
            (tlsChallenge, certificatesDuration 1) for a.acme.test, resolver `web` (httpChallenge
            on the plain entry point `web`, which has no plain router) for b.acme.test and
            c.acme.test in one certificate, a router whose name tls.certificates covers, and
            the API. It is stopped and started again on the same storage (restart test); the
            tests after that one use the new process.
  short     Pebble with 20-second certificates and blocked.acme.test refused. snigate-acme-short:
            r.acme.test (renewed every ~13 s, to an echo backend) and blocked.acme.test.
  traefik   Pebble with its defaults. snigate-acme-traefik starts on an acme.json written here
            in Traefik's layout: resolver `le` with an account Pebble does not know and a
            certificate for d.acme.test from a CA of ours; resolver `moved` with an account at
            another CA's URL (f.acme.test); resolver `web`, HTTP-01 on an entry point that also
            has a plain catch-all router (h.acme.test). A reload then asks for e.acme.test.
All three snigates start with the module's first test, so their orders (seconds each under
ASan: a 4096-bit account key per new account) run while the other tests do: `snigate check`
on bad resolver and router settings, and `snigate explain` before any storage exists.
"""
from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import ssl
import stat
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import pytest

from harness import admin
from harness.acme import Pebble, pebble_missing, start_pebble
from harness.clients import s_client
from harness.configs import addr, lb, router
from harness.pki import make_pki
from harness.snigate import Snigate, run_cli
from harness.stubsrv import StubServer
from harness.tlsprobe import attempt, client_context, fields
from harness.util import LOCALHOST, free_port, to_yaml, wait_until

pytest.importorskip("cryptography", reason="python3-cryptography is not installed")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

EMAIL = "ops@example.com"
ISSUE_TIMEOUT = 60.0      # first certificate: account key (RSA 4096 under ASan), order, validation
SHORT_VALIDITY = 20       # seconds, the short Pebble's certificates: renewal ~13 s after issuance
RENEW_TIMEOUT = 45.0
QUIET_SECONDS = 3.0       # how long "nothing new happens" is watched after a restart
ACME_ID_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")  # id-pe-acmeIdentifier (TLS-ALPN-01)
OTHER_CA_ACCOUNT = "https://acme-v02.api.letsencrypt.org/acme/acct/123456789"

TIME_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def _skip_unless_runnable(snigate_bin) -> None:
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not do ACME")
    reason = pebble_missing()
    if reason:
        pytest.skip(reason)  # a failure under CI=true (conftest.py)


# ---------------------------------------------------------------- helpers

def resolver(pb: Pebble, storage: Path, **acme) -> dict:
    """A resolver of pb: EC256 leaves (RSA4096, the default, takes seconds to make under ASan)."""
    return {"acme": {"email": EMAIL, "caServer": pb.directory_url, "caCertificates": [str(pb.ca_file)],
                     "storage": str(storage), "keyType": "EC256", **acme}}


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def issued_line(log: str, resolver_name: str, names: str) -> re.Match:
    """The (last) `certificate issued` line of resolver_name for names ("b.acme.test, c.acme.test")."""
    found = list(re.finditer(rf"ACME {resolver_name}: {re.escape(names)}: certificate issued, valid until "
                             rf"({TIME_RE}); served from now on; renewal from ({TIME_RE})", log))
    assert found, f"no `certificate issued` line for {names}:\n{log}"
    return found[-1]


def orders_placed(log: str, resolver_name: str, names: str) -> list:
    """The order URLs snigate placed for names, oldest first."""
    return re.findall(rf"ACME {resolver_name}: {re.escape(names)}: order (\S+) placed", log)


def pebble_serial_of_order(pb: Pebble, order_url: str) -> list:
    """Serials (ints) Pebble issued for the order at order_url (its last path segment is Pebble's
    ID). Pebble logs them in hex with leading zeros kept: compared as numbers."""
    oid = order_url.rstrip("/").rsplit("/", 1)[-1]
    return [int(s, 16) for s in re.findall(rf"Issued certificate serial ([0-9a-f]+) for order {re.escape(oid)}\b",
                                           pb.log_text())]


def pebble_serials(pb: Pebble) -> list:
    return [int(s, 16) for s in pb.issued_serials()]


def serial(cert: x509.Certificate) -> int:
    return cert.serial_number


def dns_names(cert: x509.Certificate) -> list:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)


def peer_leaf(tls: ssl.SSLSocket) -> x509.Certificate:
    return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def tls_open(port: int, sni: str, ca: Optional[Path], alpn: Optional[list] = None,
             timeout: float = 10.0) -> ssl.SSLSocket:
    """A TLS connection with SNI sni: verified against ca (chain and host name) when given,
    unverified when ca is None. Raises on a failed handshake."""
    ctx = client_context(ca, alpn=alpn)
    raw = socket.create_connection((LOCALHOST, port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


def served_leaf(port: int, sni: str, ca: Optional[Path], alpn: Optional[list] = None) -> x509.Certificate:
    with tls_open(port, sni, ca, alpn) as tls:
        return peer_leaf(tls)


def recv_all(sock, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def http_get(port: int, path: str, host: str = "anything.example") -> tuple:
    """GET http://127.0.0.1:port/path (Host: host), no proxy: (status, body)."""
    conn = http.client.HTTPConnection(LOCALHOST, port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def echo(conn: socket.socket) -> None:
    """Echo everything back, for as long as the peer keeps the connection (no idle timeout)."""
    conn.settimeout(None)
    while data := conn.recv(65536):
        conn.sendall(data)


def storage_entry(path: Path, resolver_name: str) -> dict:
    return json.loads(path.read_text())[resolver_name]


def assert_stays(check, seconds: float, what: str) -> None:
    """check() must keep returning a falsy value for `seconds` (an absence cannot be waited for;
    this is bounded and polls, it does not synchronise anything)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        assert not found, f"{what}: {found}"
        time.sleep(0.1)


def explain_cli(config: Path, sni: str, entrypoint: str = "websecure") -> tuple:
    cp = run_cli(["explain", "--config", config, "--sni", sni, "--entrypoint", entrypoint], timeout=20)
    return cp.returncode, cp.stdout + cp.stderr


def api_explain(sg: Snigate, **query) -> dict:
    url = f"http://{LOCALHOST}:{sg.ports['traefik']}/api/explain?" + urllib.parse.urlencode(query)
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def acme_pki(tmp_path_factory):
    """A CA of ours: d.acme.test (stored in Traefik's acme.json), covered.acme.test (tls.certificates)."""
    return make_pki(tmp_path_factory.mktemp("acme-pki"), {"d": ["d.acme.test"], "covered": ["covered.acme.test"]})


@dataclass
class Site:
    """A Pebble and the snigate that answers its validations (replaced by the restart test)."""
    pebble: Pebble
    sg: Snigate
    config: dict
    storage: Path
    roots: Path
    dir: Path
    extra: dict


def _start(request, name: str, dir: Path, pb: Pebble, config: dict, storage: Path, **extra) -> Site:
    site = Site(pb, Snigate(dir / "snigate", config, name=name), config, storage,
                pb.write_roots(dir / "pebble-roots.pem"), dir, extra)
    request.addfinalizer(lambda: site.sg.teardown())  # whichever process is current by then
    site.sg.start()
    return site


@pytest.fixture(scope="module")
def main(request, snigate_bin, tmp_path_factory, acme_pki) -> Site:
    _skip_unless_runnable(snigate_bin)
    dir = tmp_path_factory.mktemp("acme-main")
    ports = {"web": free_port(), "websecure": free_port(), "traefik": free_port()}
    pb = start_pebble(dir / "pebble", http_port=ports["web"], tls_port=ports["websecure"])
    request.addfinalizer(pb.stop)
    storage = dir / "acme.json"
    cfg = {
        "entryPoints": {n: {"address": addr(p)} for n, p in ports.items()},
        "api": {"insecure": True},
        "metrics": {"prometheus": {}},
        "certificatesResolvers": {
            "le": resolver(pb, storage, certificatesDuration=1, tlsChallenge={}),
            "web": resolver(pb, storage, httpChallenge={"entryPoint": "web"}),
        },
        "tcp": {"routers": {
            "a": router("HostSNI(`a.acme.test`)", "whoami@internal", eps=["websecure"], tls={"certResolver": "le"}),
            "bc": router("HostSNI(`b.acme.test`) || HostSNI(`c.acme.test`)", "whoami@internal",
                         eps=["websecure"], tls={"certResolver": "web"}),
            "covered": router("HostSNI(`covered.acme.test`)", "whoami@internal", eps=["websecure"],
                              tls={"certResolver": "le"}),
        }},
        "tls": {"certificates": [{"certFile": str(acme_pki["covered"].cert),
                                  "keyFile": str(acme_pki["covered"].key)}]},
    }
    return _start(request, "snigate-acme-main", dir, pb, cfg, storage)


@pytest.fixture(scope="module")
def short(request, snigate_bin, tmp_path_factory) -> Site:
    _skip_unless_runnable(snigate_bin)
    dir = tmp_path_factory.mktemp("acme-short")
    ports = {"websecure": free_port()}
    pb = start_pebble(dir / "pebble", http_port=free_port(), tls_port=ports["websecure"],
                      validity_seconds=SHORT_VALIDITY, blocklist=["blocked.acme.test"])
    request.addfinalizer(pb.stop)
    backend = StubServer(echo)
    request.addfinalizer(backend.close)
    storage = dir / "acme.json"
    cfg = {
        "entryPoints": {n: {"address": addr(p)} for n, p in ports.items()},
        "certificatesResolvers": {"le": resolver(pb, storage, certificatesDuration=1, tlsChallenge={})},
        "tcp": {
            "routers": {
                "r": router("HostSNI(`r.acme.test`)", "echo", eps=["websecure"], tls={"certResolver": "le"}),
                "blocked": router("HostSNI(`blocked.acme.test`)", "whoami@internal", eps=["websecure"],
                                  tls={"certResolver": "le"}),
            },
            "services": {"echo": lb(backend.address)},
        },
    }
    return _start(request, "snigate-acme-short", dir, pb, cfg, storage)


def _traefik_acme_json(pb: Pebble, acme_pki, dir: Path) -> tuple:
    """acme.json as Traefik writes it: per resolver an Account (RSA key as base64 PKCS#1 DER,
    Registration with body and uri) and Certificates (certificate and key as base64 PEM)."""
    def account(uri: str) -> tuple:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
        return {"Email": EMAIL,
                "Registration": {"body": {"status": "valid", "contact": [f"mailto:{EMAIL}"]}, "uri": uri},
                "PrivateKey": base64.b64encode(der).decode(), "KeyType": "4096"}, der

    b64 = lambda p: base64.b64encode(Path(p).read_bytes()).decode()  # noqa: E731
    # Pebble's account URL prefix with an ID it never gave: accountDoesNotExist.
    unknown_uri = f"https://{LOCALHOST}:{pb.port}/my-account/0badc0ffee"
    le_account, le_der = account(unknown_uri)
    moved_account, _ = account(OTHER_CA_ACCOUNT)
    doc = {
        "le": {"Account": le_account, "Certificates": [{
            "domain": {"main": "d.acme.test"},
            "certificate": b64(acme_pki["d"].cert), "key": b64(acme_pki["d"].key), "Store": "default"}]},
        "moved": {"Account": moved_account, "Certificates": []},
    }
    path = dir / "acme.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    path.chmod(0o600)
    return path, doc, unknown_uri, le_der


@pytest.fixture(scope="module")
def traefik(request, snigate_bin, tmp_path_factory, acme_pki) -> Site:
    _skip_unless_runnable(snigate_bin)
    dir = tmp_path_factory.mktemp("acme-traefik")
    ports = {"web": free_port(), "websecure": free_port()}
    pb = start_pebble(dir / "pebble", http_port=ports["web"], tls_port=ports["websecure"])
    request.addfinalizer(pb.stop)
    storage, doc, unknown_uri, le_der = _traefik_acme_json(pb, acme_pki, dir)
    cfg = {
        "entryPoints": {n: {"address": addr(p)} for n, p in ports.items()},
        "certificatesResolvers": {
            "le": resolver(pb, storage, tlsChallenge={}),
            "moved": resolver(pb, storage, tlsChallenge={}),
            "web": resolver(pb, storage, httpChallenge={"entryPoint": "web"}),
        },
        "tcp": {"routers": {
            "d": router("HostSNI(`d.acme.test`)", "whoami@internal", eps=["websecure"], tls={"certResolver": "le"}),
            "f": router("HostSNI(`f.acme.test`)", "whoami@internal", eps=["websecure"],
                        tls={"certResolver": "moved"}),
            "h": router("HostSNI(`h.acme.test`)", "whoami@internal", eps=["websecure"],
                        tls={"certResolver": "web"}),
            "plain": router("HostSNI(`*`)", "whoami@internal", eps=["web"]),
        }},
    }
    return _start(request, "snigate-acme-traefik", dir, pb, cfg, storage,
                  written=doc, unknown_uri=unknown_uri, le_der=le_der)


EAB_KID = "kid-snigate"
EAB_HMAC = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"  # base64url, as a CA gives it


def root_cn(pem: str) -> str:
    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value


@pytest.fixture(scope="module")
def bound(request, snigate_bin, tmp_path_factory) -> Site:
    """A Pebble that wants external account binding and offers an alternate chain per
    certificate: resolver `le` with eab and preferredChain naming the alternate root."""
    _skip_unless_runnable(snigate_bin)
    dir = tmp_path_factory.mktemp("acme-bound")
    ports = {"websecure": free_port()}
    pb = start_pebble(dir / "pebble", http_port=free_port(), tls_port=ports["websecure"],
                      eab={EAB_KID: EAB_HMAC}, alternate_roots=1)
    request.addfinalizer(pb.stop)
    storage = dir / "acme.json"
    alternate = root_cn(pb.root_pem(1))
    cfg = {
        "entryPoints": {n: {"address": addr(p)} for n, p in ports.items()},
        "certificatesResolvers": {"le": resolver(pb, storage, tlsChallenge={}, preferredChain=alternate,
                                                 eab={"kid": EAB_KID, "hmacEncoded": EAB_HMAC})},
        "tcp": {"routers": {
            "g": router("HostSNI(`g.acme.test`)", "whoami@internal", eps=["websecure"], tls={"certResolver": "le"}),
        }},
    }
    return _start(request, "snigate-acme-bound", dir, pb, cfg, storage, alternate=alternate)


@pytest.fixture(scope="module", autouse=True)
def _all_started(main, short, traefik, bound):
    """Every instance starts with the module's first test: their orders run in the background
    while the tests that need none (check, explain before storage) run."""
    return main, short, traefik, bound


# ---------------------------------------------------------------- 7: configuration errors

BASE_STATIC = {
    "entryPoints": {"web": {"address": "127.0.0.1:18080"}, "websecure": {"address": "127.0.0.1:18443"}},
}


def _check_config(resolvers: dict, routers: dict) -> dict:
    return {**BASE_STATIC,
            "certificatesResolvers": resolvers,
            "tcp": {"routers": routers}}


def _acme(**kw) -> dict:
    return {"acme": {"email": EMAIL, "caServer": "https://127.0.0.1:14000/dir", "storage": "acme.json",
                     "keyType": "EC256", **kw}}


def _a_router(rule: str = "HostSNI(`a.acme.test`)", **tls) -> dict:
    return {"a": router(rule, "whoami@internal", eps=["websecure"], tls={"certResolver": "le", **tls})}


CHECK_CASES = {
    # id: (config, key path, the line holding this text, regexp the message must match)
    "unknown-resolver": (
        _check_config({"le": _acme(tlsChallenge={})}, _a_router() | {
            "b": router("HostSNI(`b.acme.test`)", "whoami@internal", eps=["websecure"],
                        tls={"certResolver": "lee"})}),
        "tcp.routers.b.tls.certResolver", 'certResolver: "lee"',
        r'unknown certificate resolver "lee".*did you mean "le"'),
    "wildcard-domain": (
        _check_config({"le": _acme(tlsChallenge={})}, _a_router(domains=[{"main": "*.acme.test"}])),
        "tcp.routers.a.tls.domains[0].main", 'main: "*.acme.test"',
        r'"\*\.acme\.test": a wildcard name needs the DNS-01 challenge'),
    "hostsni-star-without-domains": (
        _check_config({"le": _acme(tlsChallenge={})}, _a_router("HostSNI(`*`)")),
        "tcp.routers.a.tls.certResolver", 'certResolver: "le"',
        r"no names to order a certificate for from the rule `HostSNI\(`\*`\)`.*tls\.domains"),
    "regexp-without-domains": (
        _check_config({"le": _acme(tlsChallenge={})}, _a_router("HostSNIRegexp(`^.+\\.acme\\.test$`)")),
        "tcp.routers.a.tls.certResolver", 'certResolver: "le"',
        r"no names to order a certificate for from the rule `HostSNIRegexp.*tls\.domains"),
    "http-challenge-unknown-entry-point": (
        _check_config({"le": _acme(httpChallenge={"entryPoint": "webb"})}, _a_router()),
        "certificatesResolvers.le.acme.httpChallenge.entryPoint", 'entryPoint: "webb"',
        r'unknown entry point "webb".*did you mean "web"'),
    "no-challenge": (
        _check_config({"le": _acme()}, _a_router()),
        "certificatesResolvers.le.acme", "acme:",
        r"no challenge: add tlsChallenge"),
    "dns-challenge": (
        _check_config({"le": _acme(tlsChallenge={}, dnsChallenge={"provider": "route53"})}, _a_router()),
        "certificatesResolvers.le.acme.dnsChallenge", "dnsChallenge:",
        r"DNS-01 is not supported"),
    "key-type-typo-dash": (
        _check_config({"le": _acme(tlsChallenge={}, keyType="EC-256")}, _a_router()),
        "certificatesResolvers.le.acme.keyType", 'keyType: "EC-256"',
        r'unknown key type "EC-256".*did you mean "EC256"'),
    # Two digits swapped: the likeliest typo of all.
    "key-type-typo-digits": (
        _check_config({"le": _acme(tlsChallenge={}, keyType="EC265")}, _a_router()),
        "certificatesResolvers.le.acme.keyType", 'keyType: "EC265"',
        r'unknown key type "EC265".*did you mean "EC256"'),
}


def _line_of(text: str, needle: str) -> int:
    lines = [i for i, ln in enumerate(text.splitlines(), 1) if needle in ln]
    assert len(lines) == 1, f"{needle!r} should be on exactly one line:\n{text}"
    return lines[0]


@pytest.mark.parametrize("case", list(CHECK_CASES))
def test_check_refuses_bad_acme_config(case, tmp_path):
    config, key, at, message = CHECK_CASES[case]
    text = to_yaml(config) + "\n"
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    cp = run_cli(["check", "--config", path], timeout=20)
    out = cp.stdout + cp.stderr
    assert cp.returncode == 1, out
    found = re.findall(rf"^{re.escape(str(path))}:(\d+): {re.escape(key)}: (.*)$", out, re.M)
    assert found, f"no error for {key}:\n{out}\n--- {path}:\n{text}"
    assert any(int(line) == _line_of(text, at) and re.search(message, msg) for line, msg in found), \
        f"expected line {_line_of(text, at)} and /{message}/:\n{out}\n--- {path}:\n{text}"


def test_check_accepts_a_good_acme_config(tmp_path):
    config = _check_config({"le": _acme(tlsChallenge={}, certificatesDuration=1),
                            "web": _acme(httpChallenge={"entryPoint": "web"})},
                           _a_router(domains=[{"main": "a.acme.test", "sans": ["www.acme.test"]}])
                           | {"star": router("HostSNI(`*`)", "whoami@internal", eps=["websecure"],
                                             tls={"certResolver": "web", "domains": [{"main": "x.acme.test"}]})})
    path = tmp_path / "good.yaml"
    path.write_text(to_yaml(config) + "\n")
    cp = run_cli(["check", "--config", path], timeout=20)
    assert cp.returncode == 0, cp.stdout + cp.stderr


# ---------------------------------------------------------------- 8: explain before any storage

def test_explain_before_any_storage_says_holds_none(main, tmp_path):
    storage = tmp_path / "nothing-yet" / "acme.json"
    cfg = json.loads(json.dumps(main.config))
    cfg["certificatesResolvers"]["le"]["acme"]["storage"] = str(storage)
    cfg.pop("api")
    cfg["entryPoints"].pop("traefik")
    path = tmp_path / "explain.yaml"
    path.write_text(to_yaml(cfg) + "\n")
    rc, out = explain_cli(path, "a.acme.test")
    assert rc == 0, out
    assert f"acme: resolver le holds none in {storage} yet: " in out, out
    assert not storage.exists()


# ---------------------------------------------------------------- 1: TLS-ALPN-01

def test_tls_alpn01_issues_a_certificate_that_verifies(main):
    sg, pb = main.sg, main.pebble
    log = sg.wait_log("ACME le: a.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    account = re.search(rf"ACME le: account (\S+) registered with {re.escape(pb.directory_url)}\n", log)
    assert account and account.group(1).startswith(f"https://{LOCALHOST}:{pb.port}/my-account/"), log
    assert "ACME le: a.acme.test: answering the tls-alpn-01 challenge" in log, log
    assert "ACME le: a.acme.test: the CA validated the tls-alpn-01 challenge" in log, log
    orders = orders_placed(log, "le", "a.acme.test")
    assert len(orders) == 1 and orders[0].startswith(f"https://{LOCALHOST}:{pb.port}/"), log
    # Pebble issued exactly one certificate for that order, and it is what snigate serves.
    serials = pebble_serial_of_order(pb, orders[0])
    assert len(serials) == 1, pb.logs(lines=60)
    issued = issued_line(log, "le", "a.acme.test")

    with tls_open(sg.ports["websecure"], "a.acme.test", main.roots) as tls:  # chain and name verified
        leaf = peer_leaf(tls)
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = recv_all(tls).decode()
    assert serial(leaf) == serials[0]
    assert dns_names(leaf) == ["a.acme.test"]
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey) and leaf.public_key().curve.name == "secp256r1"
    assert leaf.not_valid_after.replace(tzinfo=timezone.utc) == utc(issued.group(1))
    # renewal with a third of min(certificatesDuration 1 h, 5 years) left
    assert (utc(issued.group(1)) - utc(issued.group(2))).total_seconds() == pytest.approx(1200, abs=1)
    assert "router: a\n" in reply, reply

    r = s_client(sg.ports["websecure"], "a.acme.test", ca=main.roots,
                 extra=["-verify_hostname", "a.acme.test"], stdin=b"")
    assert r.rc == 0 and "Verify return code: 0 (ok)" in r.out, r.out


def test_tls_alpn01_validations_were_answered_and_logged(main):
    sg = main.sg
    sg.wait_log("ACME le: a.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    # Pebble validates three times, concurrently; each connection has its log line and access entry.
    entries = wait_until(
        lambda: (e := [x for x in sg.access_entries() if x["end"] == "acme_challenge" and x["sni"] == "a.acme.test"])
        and len(e) >= 3 and e, 5, "three acme_challenge entries for a.acme.test", on_timeout=sg.logs)
    assert len(entries) == 3, entries
    for e in entries:
        assert e["entry_point"] == "websecure" and e["mode"] == "acme" and e["alpn"] == "acme-tls/1", e
        assert e["detail"] == "answered the ACME TLS-ALPN-01 challenge for a.acme.test", e
        assert e["router"] == "" and e["service"] == "", e
    assert sg.log().count("answered the ACME TLS-ALPN-01 challenge for a.acme.test") >= 3


def test_acme_tls_alpn_client_without_a_pending_challenge_is_routed(main):
    """Once the order is done, nothing is pending for a.acme.test: a client that offers only
    acme-tls/1 gets the issued certificate (no acmeIdentifier extension) and the router."""
    sg = main.sg
    sg.wait_log("ACME le: a.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    mark = sg.access_mark()
    with tls_open(sg.ports["websecure"], "a.acme.test", main.roots, alpn=["acme-tls/1"]) as tls:
        leaf = peer_leaf(tls)
        client = "%s:%d" % tls.getsockname()
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = recv_all(tls).decode()
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_oid(ACME_ID_OID)
    assert leaf.issuer != leaf.subject and dns_names(leaf) == ["a.acme.test"]
    who = fields(reply.split("\r\n\r\n", 1)[-1])
    assert who.get("router") == "a" and who.get("alpn_offered") == "acme-tls/1", reply
    entry = sg.wait_access(lambda e: e["client"] == client, after=mark, what=f"entry of {client}")
    assert entry["end"] != "acme_challenge" and entry["router"] == "a", entry


def test_a_name_in_tls_certificates_is_not_ordered(main, acme_pki):
    sg = main.sg
    sg.wait_log("ACME le: a.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    leaf = served_leaf(sg.ports["websecure"], "covered.acme.test", acme_pki.ca_cert)
    assert dns_names(leaf) == ["covered.acme.test"]
    # No ACME line names it (the access log's line for the connection above may).
    assert not re.search(r"ACME .*covered\.acme\.test", sg.log()), sg.log()


# ---------------------------------------------------------------- 2: HTTP-01

def test_http01_issues_one_certificate_for_both_names(main):
    sg, pb = main.sg, main.pebble
    names = "b.acme.test, c.acme.test"
    log = sg.wait_log(f"ACME web: {names}: certificate issued", timeout=ISSUE_TIMEOUT)
    assert re.search(rf"ACME web: account \S+ registered with {re.escape(pb.directory_url)}\n", log), log
    for n in ("b.acme.test", "c.acme.test"):
        assert f"ACME web: {n}: answering the http-01 challenge" in log, log
        assert f"ACME web: {n}: the CA validated the http-01 challenge" in log, log
    orders = orders_placed(log, "web", names)
    assert len(orders) == 1, log
    serials = pebble_serial_of_order(pb, orders[0])
    assert len(serials) == 1, pb.logs(lines=60)
    # Every token Pebble fetched (on the web entry point) was answered.
    attempts = [u for u in pb.http_attempts() if re.match(r"http://[bc]\.acme\.test:", u)]
    assert attempts and all(u.startswith(("http://b.acme.test:%d/" % sg.ports["web"],
                                          "http://c.acme.test:%d/" % sg.ports["web"])) for u in attempts), attempts
    tokens = {u.rsplit("/", 1)[-1] for u in attempts}
    assert len(tokens) == 2, attempts  # one authorization per name
    for token in tokens:
        assert f"answered the ACME HTTP-01 challenge {token}" in log, log
        entries = [e for e in sg.access_entries() if e["detail"] == f"answered the ACME HTTP-01 challenge {token}"]
        assert entries and all(e["end"] == "acme_challenge" and e["entry_point"] == "web" for e in entries), entries

    leaf = served_leaf(sg.ports["websecure"], "c.acme.test", main.roots)
    assert sorted(dns_names(leaf)) == ["b.acme.test", "c.acme.test"]
    assert serial(leaf) == serials[0]
    assert serial(served_leaf(sg.ports["websecure"], "b.acme.test", main.roots)) == serials[0]


def test_http01_entry_point_without_plain_router_answers_404(main):
    sg = main.sg
    port = sg.ports["web"]
    status, body = http_get(port, "/anything")
    assert status == 404, body
    status, body = http_get(port, "/.well-known/acme-challenge/unknown")
    assert status == 404 and "no ACME challenge is pending" in body, body
    entries = wait_until(lambda: [e for e in sg.access_entries() if e["entry_point"] == "web"
                                  and e["end"] == "acme_challenge" and "unknown" in e["detail"]],
                         5, "the access entry of the unknown token", on_timeout=sg.logs)
    assert "none is pending; 404" in entries[-1]["detail"], entries


# ---------------------------------------------------------------- 8: explain after issuance

def test_explain_after_issuance_says_holds_one(main):
    sg = main.sg
    log = sg.wait_log("ACME le: a.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    until = issued_line(log, "le", "a.acme.test").group(1)
    rc, out = explain_cli(sg.config_path, "a.acme.test")
    assert rc == 0, out
    assert f"acme: resolver le holds one in {main.storage}, valid until {until}" in out, out


def test_api_explain_shows_the_acme_certificate(main):
    sg = main.sg
    log = sg.wait_log("ACME le: a.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    until = issued_line(log, "le", "a.acme.test").group(1)
    j = api_explain(sg, entrypoint="websecure", sni="a.acme.test")
    assert j["outcome"] == "match" and j["router"]["name"] == "a@file", j
    cert = j["router"]["certificate"]
    assert cert["origin"] == "ACME resolver le", cert
    assert cert["acme"].startswith(f"resolver le issued it, valid until {until}"), cert


def test_metrics_show_acme_certificates_and_failures(main):
    """/metrics: the ACME certificate's expiry beside the file certificates' (as Traefik), and
    the failures in a row per wanted certificate (0 once it was issued)."""
    sg = main.sg
    log = sg.wait_log("ACME le: a.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    until = utc(issued_line(log, "le", "a.acme.test").group(1)).timestamp()
    ms = admin.metrics(sg.ports["traefik"])
    expiry = {dict(labels).get("sans"): v for (name, labels), v in ms.items() if name == "traefik_tls_certs_not_after"}
    assert expiry.get("a.acme.test") == until, expiry
    assert "covered.acme.test" in expiry, expiry  # the file certificate is still there
    assert admin.sample(ms, "snigate_acme_order_failures", resolver="le", domain="a.acme.test") == 0, ms


# ---------------------------------------------------------------- 3: storage and restart

def test_storage_is_traefiks_layout_mode_0600(main):
    sg = main.sg
    sg.wait_log("ACME le: a.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    log = sg.wait_log("ACME web: b.acme.test, c.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    path = main.storage
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    assert not Path(str(path) + ".tmp").exists()
    doc = json.loads(path.read_text())
    assert set(doc) == {"le", "web"}, doc.keys()
    for name, main_name, sans in (("le", "a.acme.test", None), ("web", "b.acme.test", ["c.acme.test"])):
        entry = doc[name]
        acct = entry["Account"]
        assert acct["Email"] == EMAIL
        uri = re.search(rf"ACME {name}: account (\S+) registered", log).group(1)
        assert acct["Registration"]["uri"] == uri
        assert acct["Registration"]["body"]["status"] == "valid", acct["Registration"]
        assert acct["KeyType"]
        key = serialization.load_der_private_key(base64.b64decode(acct["PrivateKey"]), None)
        assert isinstance(key, rsa.RSAPrivateKey)  # PKCS#1 DER (Traefik's account key)
        (c,) = entry["Certificates"]
        assert c["domain"]["main"] == main_name and c["domain"].get("sans") == sans, c
        assert c["Store"] == "default"
        chain = base64.b64decode(c["certificate"])
        assert chain.count(b"-----BEGIN CERTIFICATE-----") == 2, chain  # leaf and Pebble's intermediate
        leaf = x509.load_pem_x509_certificate(chain)
        assert dns_names(leaf)[0] == main_name
        assert serial(leaf) == serial(served_leaf(sg.ports["websecure"], main_name, main.roots))
        assert b"PRIVATE KEY-----" in base64.b64decode(c["key"])


def test_restart_serves_stored_certificates_and_orders_nothing(main, tmp_path_factory):
    old, pb = main.sg, main.pebble
    old.wait_log("ACME le: a.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    old.wait_log("ACME web: b.acme.test, c.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    before = {n: serial(served_leaf(old.ports["websecure"], n, main.roots)) for n in ("a.acme.test", "c.acme.test")}
    orders, issued = pb.orders_logged(), pb.issued_logged()
    old.teardown()  # SIGTERM: exit 0 and no sanitizer report, or this fails

    sg = Snigate(tmp_path_factory.mktemp("acme-main-restarted"), main.config, name="snigate-acme-main-2")
    main.sg = sg  # the module's finalizer tears down this one
    sg.start()
    # The first handshake after readiness already gets the stored certificate, verified.
    after = {n: serial(served_leaf(sg.ports["websecure"], n, main.roots)) for n in before}
    assert after == before
    log = sg.wait_log("ACME web: b.acme.test, c.acme.test: renewal due at", timeout=5)
    for res, names in (("le", "a.acme.test"), ("web", "b.acme.test, c.acme.test")):
        assert re.search(rf"ACME {res}: serving the stored certificate for {re.escape(names)} \(valid until "
                         rf"{TIME_RE}\)", log), log
        assert re.search(rf"ACME {res}: {re.escape(names)}: renewal due at {TIME_RE}", log), log

    def news():
        text = sg.log()
        found = [w for w in (" placed", "registered with", "no certificate yet", "answering the") if w in text]
        if pb.orders_logged() != orders or pb.issued_logged() != issued:
            found.append(f"Pebble: {pb.orders_logged()} orders (was {orders}), "
                         f"{pb.issued_logged()} issued (was {issued})")
        return found
    assert_stays(news, QUIET_SECONDS, "a restart on a full storage must order nothing")


# ---------------------------------------------------------------- 4: renewal

def test_renewal_serves_the_new_certificate_and_keeps_connections(short):
    sg, pb = short.sg, short.pebble
    port = sg.ports["websecure"]
    log = sg.wait_log("ACME le: r.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    first_line = issued_line(log, "le", "r.acme.test")
    # A third of the certificate's own life (SHORT_VALIDITY - 1 s), less than certificatesDuration's.
    left = (utc(first_line.group(1)) - utc(first_line.group(2))).total_seconds()
    assert (SHORT_VALIDITY - 1) / 3 - 1 <= left <= (SHORT_VALIDITY - 1) / 3 + 1, first_line.group(0)
    reloads = sg.log().count("config reloaded")

    held = tls_open(port, "r.acme.test", short.roots)  # verified; stays open across the renewal
    try:
        first = serial(peer_leaf(held))
        assert first in pebble_serials(pb)
        held.sendall(b"before\n")
        assert held.recv(100) == b"before\n"

        def renewed():
            s = serial(served_leaf(port, "r.acme.test", short.roots))
            return s if s != first else None
        second = wait_until(renewed, RENEW_TIMEOUT, "a renewed certificate for r.acme.test", interval=0.2,
                            on_timeout=lambda: sg.logs() + "\n" + pb.logs(lines=40))
        serials = pebble_serials(pb)
        assert second in serials and serials.index(second) > serials.index(first), serials
        assert sg.log().count("ACME le: r.acme.test: certificate issued") >= 2

        held.sendall(b"after the renewal\n")
        got = b""
        while not got.endswith(b"\n"):
            chunk = held.recv(100)
            assert chunk, "the connection opened before the renewal was closed"
            got += chunk
        assert got == b"after the renewal\n"
        assert serial(peer_leaf(held)) == first
    finally:
        held.close()
    assert sg.alive() and sg.log().count("config reloaded") == reloads  # no restart, no reload
    assert stat.S_IMODE(short.storage.stat().st_mode) == 0o600
    stored = storage_entry(short.storage, "le")["Certificates"]
    assert [c["domain"]["main"] for c in stored] == ["r.acme.test"]


# ---------------------------------------------------------------- 5: a name the CA refuses

def test_refused_name_gets_the_default_certificate(short):
    sg, pb = short.sg, short.pebble
    line = wait_until(lambda: re.search(r"^.* error ACME le: blocked\.acme\.test: .*$", sg.log(), re.M),
                      ISSUE_TIMEOUT, "the error line for blocked.acme.test", on_timeout=sg.logs).group(0)
    assert "rejectedIdentifier: " in line, line
    assert re.search(rf"; the name gets the default certificate; next try at {TIME_RE}$", line), line
    assert "blocked.acme.test: order" not in sg.log()

    a = attempt(sg.ports["websecure"], "blocked.acme.test", client_context(None))
    assert a.error is None, a
    who = fields(a.reply.split("\r\n\r\n", 1)[-1])
    assert who.get("router") == "blocked" and who.get("sni") == "blocked.acme.test", a.reply
    leaf = served_leaf(sg.ports["websecure"], "blocked.acme.test", None)
    assert leaf.subject.rfc4514_string() == "O=snigate,CN=snigate.invalid", leaf.subject
    inter = x509.load_pem_x509_certificate(pb.intermediate_pem().encode())
    assert leaf.issuer != inter.subject
    with pytest.raises(ssl.SSLCertVerificationError):
        served_leaf(sg.ports["websecure"], "blocked.acme.test", short.roots)


# ---------------------------------------------------------------- 6: Traefik's acme.json

def test_traefik_storage_certificate_is_served_at_once(traefik, acme_pki):
    sg, pb = traefik.sg, traefik.pebble
    log = sg.wait_log("ACME le: d.acme.test: renewal due at", timeout=5)
    assert re.search(rf"ACME le: serving the stored certificate for d\.acme\.test \(valid until {TIME_RE}\)", log), log
    leaf = served_leaf(sg.ports["websecure"], "d.acme.test", acme_pki.ca_cert)  # verified with our CA
    ours = x509.load_pem_x509_certificate(acme_pki["d"].cert.read_bytes())
    assert leaf.serial_number == ours.serial_number
    assert "d.acme.test: order" not in log and "d.acme.test (router d): no certificate yet" not in log, log
    assert "ACME le: account" not in log, log  # nothing needed the account yet


def test_account_at_another_ca_is_replaced(traefik):
    """Resolver `moved`: the stored account's URL is another CA's (as after changing caServer).
    As Traefik does, snigate drops that account, registers a new one with this CA and orders."""
    sg = traefik.sg
    log = sg.wait_log("ACME moved: f.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    assert (f"ACME moved: the stored account {OTHER_CA_ACCOUNT} belongs to another CA than "
            f"{traefik.pebble.directory_url}; registering a new one") in log, log
    assert re.search(rf"ACME moved: account \S+ registered with {re.escape(traefik.pebble.directory_url)}", log), log
    leaf = served_leaf(sg.ports["websecure"], "f.acme.test", traefik.roots)
    assert dns_names(leaf) == ["f.acme.test"]
    moved = storage_entry(traefik.storage, "moved")
    assert moved["Account"]["Registration"]["uri"] != OTHER_CA_ACCOUNT
    assert [c["domain"]["main"] for c in moved["Certificates"]] == ["f.acme.test"]


def test_http01_on_an_entry_point_with_a_plain_router(traefik):
    """Resolver `web` answers HTTP-01 on `web`, where a HostSNI(`*`) plain router takes everything
    else: the challenge is intercepted, other requests reach the router's service."""
    sg = traefik.sg
    log = sg.wait_log("ACME web: h.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    assert "ACME web: h.acme.test: the CA validated the http-01 challenge" in log, log
    assert re.search(r"answered the ACME HTTP-01 challenge \S+", log), log
    leaf = served_leaf(sg.ports["websecure"], "h.acme.test", traefik.roots)
    assert dns_names(leaf) == ["h.acme.test"]
    status, body = http_get(sg.ports["web"], "/anything", host="h.acme.test")
    assert status == 200, body
    who = fields(body)
    assert who.get("router") == "plain" and who.get("entry_point") == "web", body
    assert "request: GET /anything HTTP/1.1" in body, body


def test_unknown_account_is_registered_again_and_orders(traefik, acme_pki):
    """A reload asks for e.acme.test from resolver `le`, whose stored account URL Pebble never
    gave (accountDoesNotExist): snigate registers the stored key again and gets the certificate;
    d.acme.test's stored certificate is still served and never ordered."""
    sg, pb = traefik.sg, traefik.pebble
    sg.wait_log("ACME le: d.acme.test: renewal due at", timeout=5)
    cfg = json.loads(json.dumps(traefik.config))
    cfg["tcp"]["routers"]["e"] = router("HostSNI(`e.acme.test`)", "whoami@internal", eps=["websecure"],
                                        tls={"certResolver": "le"})
    sg.reload(cfg)
    traefik.config = cfg
    log = sg.wait_log("ACME le: e.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    assert "ACME le: e.acme.test (router e): no certificate yet; the default certificate is served" in log, log
    account = re.search(rf"ACME le: account (\S+) registered with {re.escape(pb.directory_url)}\n", log)
    assert account, log
    uri = account.group(1)
    assert uri != traefik.extra["unknown_uri"] and uri.startswith(f"https://{LOCALHOST}:{pb.port}/my-account/")
    assert len(orders_placed(log, "le", "e.acme.test")) == 1, log
    assert "d.acme.test: order" not in log, log

    leaf = served_leaf(sg.ports["websecure"], "e.acme.test", traefik.roots)
    assert dns_names(leaf) == ["e.acme.test"]
    d_leaf = served_leaf(sg.ports["websecure"], "d.acme.test", acme_pki.ca_cert)
    assert d_leaf.serial_number == x509.load_pem_x509_certificate(acme_pki["d"].cert.read_bytes()).serial_number

    # The storage: the new account (same key), d.acme.test's entry as written, e.acme.test added,
    # the other resolvers' keys left as they were.
    written = traefik.extra["written"]
    doc = json.loads(traefik.storage.read_text())
    assert stat.S_IMODE(traefik.storage.stat().st_mode) == 0o600
    le = doc["le"]
    assert le["Account"]["Registration"]["uri"] == uri
    assert base64.b64decode(le["Account"]["PrivateKey"]) == traefik.extra["le_der"]
    certs = {c["domain"]["main"]: c for c in le["Certificates"]}
    assert set(certs) == {"d.acme.test", "e.acme.test"}, certs.keys()
    assert certs["d.acme.test"] == written["le"]["Certificates"][0]
    assert doc["moved"]["Account"]["Registration"]["uri"] != OTHER_CA_ACCOUNT


def test_external_account_binding_and_preferred_chain(bound):
    """Pebble refuses an account without a binding; snigate's binding gets one, and of the two
    chains Pebble offers, the one preferredChain names is served."""
    sg, pb = bound.sg, bound.pebble
    log = sg.wait_log("ACME le: g.acme.test: certificate issued", timeout=ISSUE_TIMEOUT)
    assert "externalAccountRequired" not in log, log
    alternate_roots = bound.dir / "alternate-root.pem"
    alternate_roots.write_text(pb.root_pem(1))
    leaf = served_leaf(sg.ports["websecure"], "g.acme.test", alternate_roots)  # verifies only on that chain
    assert dns_names(leaf) == ["g.acme.test"]
    with pytest.raises(ssl.SSLCertVerificationError):
        served_leaf(sg.ports["websecure"], "g.acme.test", bound.roots)  # the default chain's root
