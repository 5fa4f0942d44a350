"""Pebble, the ACME server of harness/acme.py, directly (no snigate): its directory over HTTPS
verified with the harness's CA, the management interface's root and intermediate, the config
and environment it was given, challtestsrv's DNS answers, stop() and a failed start. A minimal
ACME client in this file (ES256 JWS over http.client, `cryptography` for keys and the CSR) runs
one real HTTP-01 issuance against a responder on the harness's http_port, a blocked name, and
external account binding, so the harness's validation path is known to work before snigate is
put in front of it. A few seconds in all."""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import socket
import ssl
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Optional

import pytest

from harness import acme
from harness.acme import Pebble, dns_a, pebble_missing, start_pebble
from harness.pki import make_pki
from harness.util import LOCALHOST, free_port, port_refuses, run, wait_until

pytest.importorskip("cryptography", reason="python3-cryptography is not installed (python3-openssl needs it)")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

VALIDITY = 3600
BLOCKED = "blocked.acme.test"
EAB_KID = "kid-1"
EAB_KEY = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"  # Pebble's example


def _require_pebble() -> None:
    reason = pebble_missing()
    if reason:
        pytest.skip(reason)  # a failure under CI=true (conftest.py)


@pytest.fixture(scope="module")
def pebble(request, tmp_path_factory) -> Pebble:
    """One Pebble for the module: certificates valid VALIDITY s, BLOCKED refused, no nonce
    rejected (the client below does not retry badNonce)."""
    _require_pebble()
    pb = start_pebble(tmp_path_factory.mktemp("pebble"), free_port(), free_port(),
                      validity_seconds=VALIDITY, blocklist=[BLOCKED], nonce_reject=0)
    request.addfinalizer(pb.stop)
    return pb


# ---------------------------------------------------------------- a minimal ACME client

def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AcmeError(Exception):
    def __init__(self, status: int, problem: dict):
        super().__init__(f"HTTP {status}: {problem}")
        self.status = status
        self.problem = problem


class AcmeClient:
    """Just enough RFC 8555 for the self-tests: ES256 account key, nonces from each answer."""

    def __init__(self, pb: Pebble):
        self.pb = pb
        self.ctx = ssl.create_default_context(cafile=str(pb.ca_file))
        self.dir = pb.directory()
        self.key = ec.generate_private_key(ec.SECP256R1())
        nums = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC", "x": b64u(nums.x.to_bytes(32, "big")),
                    "y": b64u(nums.y.to_bytes(32, "big"))}
        self.thumbprint = b64u(hashlib.sha256(
            json.dumps(self.jwk, sort_keys=True, separators=(",", ":")).encode()).digest())
        self.kid: Optional[str] = None
        self.nonce: Optional[str] = None

    def _request(self, method: str, url: str, body: Optional[bytes] = None):
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=10, context=self.ctx)
        try:
            headers = {"Content-Type": "application/jose+json"} if body is not None else {}
            conn.request(method, u.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.getheader("Replay-Nonce"):
            self.nonce = resp.getheader("Replay-Nonce")
        return resp, data

    def _sign(self, protected: dict, payload: str) -> dict:
        p64 = b64u(json.dumps(protected).encode())
        der = self.key.sign(f"{p64}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return {"protected": p64, "payload": payload,
                "signature": b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}

    def post(self, url: str, payload, eab: Optional[tuple] = None):
        """POST a JWS (payload None: POST-as-GET). (response, body bytes, JSON or None)."""
        if self.nonce is None:
            self._request("HEAD", self.dir["newNonce"])
        protected = {"alg": "ES256", "nonce": self.nonce, "url": url}
        if self.kid:
            protected["kid"] = self.kid
        else:
            protected["jwk"] = self.jwk
        if eab is not None:  # RFC 8555 7.3.4: the account key, MACed with the CA's key
            kid, mac_key = eab
            eab_protected = b64u(json.dumps({"alg": "HS256", "kid": kid, "url": url}).encode())
            eab_payload = b64u(json.dumps(self.jwk).encode())
            mac = hmac.new(b64u_decode(mac_key), f"{eab_protected}.{eab_payload}".encode(),
                           hashlib.sha256).digest()
            payload = dict(payload, externalAccountBinding={
                "protected": eab_protected, "payload": eab_payload, "signature": b64u(mac)})
        body = "" if payload is None else b64u(json.dumps(payload).encode())
        resp, data = self._request("POST", url, json.dumps(self._sign(protected, body)).encode())
        ctype = resp.getheader("Content-Type", "")
        doc = json.loads(data) if "json" in ctype and data else None
        if resp.status >= 400:
            raise AcmeError(resp.status, doc or {"body": data.decode(errors="replace")})
        return resp, data, doc

    def new_account(self, eab: Optional[tuple] = None) -> dict:
        resp, _, doc = self.post(self.dir["newAccount"], {"termsOfServiceAgreed": True}, eab=eab)
        self.kid = resp.getheader("Location")
        return doc

    def new_order(self, *names: str) -> tuple:
        resp, _, doc = self.post(self.dir["newOrder"],
                                 {"identifiers": [{"type": "dns", "value": n} for n in names]})
        return resp.getheader("Location"), doc

    def get(self, url: str) -> dict:
        return self.post(url, None)[2]

    def poll(self, url: str, want: str, timeout: float = 10.0) -> dict:
        last = {}

        def done():
            last["doc"] = doc = self.get(url)
            if doc["status"] == "invalid" and want != "invalid":
                raise AssertionError(f"{url} is invalid: {doc}\n{self.pb.logs(lines=30)}")
            return doc if doc["status"] == want else None
        return wait_until(done, timeout, f"{url} to be {want}", interval=0.05,
                          on_timeout=lambda: f"last: {last.get('doc')}\n{self.pb.logs(lines=30)}")


class Http01Responder:
    """Answers GET /.well-known/acme-challenge/TOKEN on 127.0.0.1:port from a dict."""

    def __init__(self, port: int):
        self.answers: dict = {}
        self.requests: list = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append((self.path, self.headers.get("Host"), self.headers.get("User-Agent")))
                token = self.path.rsplit("/", 1)[-1]
                body = outer.answers.get(token)
                self.send_response(200 if body else 404)
                self.end_headers()
                self.wfile.write((body or "no such token").encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((LOCALHOST, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def csr_der(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.DER)


def pem_certs(text: str) -> list:
    end = "-----END CERTIFICATE-----"
    return [x509.load_pem_x509_certificate((part + end + "\n").encode())
            for part in text.split(end) if "BEGIN CERTIFICATE" in part]


# ---------------------------------------------------------------- tests

def test_directory_lists_the_acme_resources(pebble):
    d = pebble.directory()
    base = f"https://{LOCALHOST}:{pebble.port}/"
    for key in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"):
        assert d[key].startswith(base), d
    assert d["meta"]["externalAccountRequired"] is False, d
    assert pebble.directory_url == base + "dir"
    assert f"ACME directory available at: {pebble.directory_url}" in pebble.log_text()


def test_https_is_verified_with_ca_file_only(pebble, tmp_path):
    """Clients must be given ca_file: the system's roots and another CA do not verify it."""
    other = make_pki(tmp_path / "other", {})
    for cafile in (None, other.ca_cert):
        ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
        with pytest.raises(ssl.SSLCertVerificationError):
            with socket.create_connection((LOCALHOST, pebble.port), timeout=5) as s:
                ctx.wrap_socket(s, server_hostname=LOCALHOST)
    ctx = ssl.create_default_context(cafile=str(pebble.ca_file))
    for port, name in ((pebble.port, LOCALHOST), (pebble.management_port, LOCALHOST),
                       (pebble.port, "localhost")):
        with socket.create_connection((LOCALHOST, port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname=name) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_root_and_intermediate_are_pem_certificates(pebble, tmp_path):
    root_text, inter_text = pebble.root_pem(), pebble.intermediate_pem()
    (root,), (inter,) = pem_certs(root_text), pem_certs(inter_text)
    assert root.subject == root.issuer
    assert root.subject.rfc4514_string().startswith("CN=Pebble Root CA "), root.subject
    assert inter.issuer == root.subject
    assert inter.subject.rfc4514_string().startswith("CN=Pebble Intermediate CA "), inter.subject
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    roots = pebble.write_roots(tmp_path / "roots.pem")
    assert roots.read_text() == root_text
    (tmp_path / "inter.pem").write_text(inter_text)
    cp = run(["openssl", "verify", "-CAfile", str(roots), str(tmp_path / "inter.pem")], timeout=10)
    assert cp.returncode == 0 and ": OK" in cp.stdout, cp.stdout + cp.stderr
    # the same at every call (new ones only at a new start)
    assert pebble.root_pem() == root_text


def test_config_and_environment(pebble):
    cfg = json.loads(pebble.config_file.read_text())["pebble"]
    assert cfg["listenAddress"] == f"{LOCALHOST}:{pebble.port}"
    assert cfg["managementListenAddress"] == f"{LOCALHOST}:{pebble.management_port}"
    assert (cfg["httpPort"], cfg["tlsPort"]) == (pebble.http_port, pebble.tls_port)
    assert cfg["domainBlocklist"] == [BLOCKED]
    assert cfg["certificateValidityPeriod"] == VALIDITY
    assert cfg["externalAccountBindingRequired"] is False and "externalAccountMACKeys" not in cfg
    assert len({pebble.port, pebble.management_port, pebble.dns_port, pebble.dns_management_port,
                pebble.http_port, pebble.tls_port}) == 6
    assert pebble.env == {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
    log = pebble.log_text()
    for line in (f"Using certificate validity period of {VALIDITY} seconds",
                 f"Using custom DNS resolver for ACME challenges: {LOCALHOST}:{pebble.dns_port}",
                 "Disabling random VA sleeps", "Configured to reject 0% of good nonces",
                 "Configured to attempt authz reuse for each identifier 50% of the time"):
        assert line in log, log


def test_challtestsrv_resolves_every_name_to_localhost(pebble):
    for name in ("a.acme.test", "anything.example", BLOCKED):
        assert dns_a(pebble.dns_port, name) == [LOCALHOST]


def test_http01_issuance(pebble, tmp_path):
    """A whole order: Pebble fetches the token from http_port three times, issues a leaf for the
    name with the configured validity, chained to the management interface's root."""
    name = "www.acme.test"
    orders, issued = pebble.orders_logged(), pebble.issued_logged()
    responder = Http01Responder(pebble.http_port)
    try:
        c = AcmeClient(pebble)
        acct = c.new_account()
        assert acct["status"] == "valid" and c.kid.startswith(f"https://{LOCALHOST}:{pebble.port}/")
        order_url, order = c.new_order(name)
        assert order["status"] == "pending" and len(order["authorizations"]) == 1, order
        assert pebble.orders_logged() == orders + 1
        authz = c.get(order["authorizations"][0])
        assert authz["identifier"] == {"type": "dns", "value": name}
        types = {ch["type"] for ch in authz["challenges"]}
        assert {"http-01", "tls-alpn-01", "dns-01"} <= types, types
        ch = next(ch for ch in authz["challenges"] if ch["type"] == "http-01")
        responder.answers[ch["token"]] = f"{ch['token']}.{c.thumbprint}"
        c.post(ch["url"], {})
        c.poll(order["authorizations"][0], "valid")
        c.poll(order_url, "ready")
        c.post(order["finalize"], {"csr": b64u(csr_der(name))})
        order = c.poll(order_url, "valid")
        chain_text = c.post(order["certificate"], None)[1].decode()
    finally:
        responder.close()

    url = f"http://{name}:{pebble.http_port}/.well-known/acme-challenge/{ch['token']}"
    assert pebble.http_attempts().count(url) == 3, pebble.http_attempts()
    assert len(responder.requests) == 3, responder.requests
    path, host, agent = responder.requests[0]
    assert (path, host) == (f"/.well-known/acme-challenge/{ch['token']}", f"{name}:{pebble.http_port}")
    assert agent.startswith("LetsEncrypt-Pebble-VA"), agent

    leaf, inter = pem_certs(chain_text)
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName) == [name]
    # notAfter is inclusive: notBefore + validity - 1 s
    assert (leaf.not_valid_after - leaf.not_valid_before).total_seconds() == VALIDITY - 1, \
        (leaf.not_valid_before, leaf.not_valid_after)
    assert inter.public_bytes(serialization.Encoding.PEM).decode() == pebble.intermediate_pem()
    pebble.wait_log("Issued certificate serial", count=issued + 1)
    assert pebble.issued_serials()[-1] == f"{leaf.serial_number:x}"
    assert pebble.cert_status(f"{leaf.serial_number:x}")["Status"] == "Valid"

    roots = pebble.write_roots(tmp_path / "roots.pem")
    (tmp_path / "chain.pem").write_text(chain_text)
    cp = run(["openssl", "verify", "-CAfile", str(roots), "-untrusted", str(tmp_path / "chain.pem"),
              str(tmp_path / "chain.pem")], timeout=10)
    assert cp.returncode == 0, cp.stdout + cp.stderr


@pytest.mark.parametrize("name", [BLOCKED, f"www.{BLOCKED}"])
def test_blocked_name_is_refused(pebble, name):
    c = AcmeClient(pebble)
    c.new_account()
    orders = pebble.orders_logged()
    with pytest.raises(AcmeError) as e:
        c.new_order(name)
    assert e.value.status == 400
    assert e.value.problem["type"] == "urn:ietf:params:acme:error:rejectedIdentifier", e.value.problem
    assert pebble.orders_logged() == orders


def test_eab_required(tmp_path):
    _require_pebble()
    with start_pebble(tmp_path, free_port(), free_port(), eab={EAB_KID: EAB_KEY}, nonce_reject=0) as pb:
        cfg = json.loads(pb.config_file.read_text())["pebble"]
        assert cfg["externalAccountBindingRequired"] is True
        assert cfg["externalAccountMACKeys"] == {EAB_KID: EAB_KEY}
        assert "domainBlocklist" not in cfg and "certificateValidityPeriod" not in cfg
        assert pb.directory()["meta"]["externalAccountRequired"] is True
        with pytest.raises(AcmeError) as e:
            AcmeClient(pb).new_account()
        assert e.value.problem["type"] == "urn:ietf:params:acme:error:externalAccountRequired"
        with pytest.raises(AcmeError) as e:  # a key Pebble does not have
            AcmeClient(pb).new_account(eab=("kid-2", b64u(os.urandom(32))))
        assert e.value.status in (400, 401, 403), e.value.problem
        assert AcmeClient(pb).new_account(eab=(EAB_KID, EAB_KEY))["status"] == "valid"


def test_environment_defaults_and_overrides(tmp_path, monkeypatch):
    """Our own PEBBLE_* variables never reach Pebble; nonce rejection stays at Pebble's 5 %
    unless asked."""
    _require_pebble()
    monkeypatch.setenv("PEBBLE_VA_ALWAYS_VALID", "1")
    monkeypatch.setenv("PEBBLE_WFE_NONCEREJECT", "90")
    with start_pebble(tmp_path / "default", free_port(), free_port()) as pb:
        assert pb.env == {"PEBBLE_VA_NOSLEEP": "1"}
        log = pb.log_text()
        assert "Configured to reject 5% of good nonces" in log, log
        assert "VA always returns valid" not in log, log
        assert "Using certificate validity period of 157766400 seconds" in log, log  # 5 years
    with start_pebble(tmp_path / "set", free_port(), free_port(), nonce_reject=100, authz_reuse=0) as pb:
        log = pb.log_text()
        assert "Configured to reject 100% of good nonces" in log, log
        assert "Configured to attempt authz reuse for each identifier 0% of the time" in log, log


def test_stop_leaves_nothing_running(tmp_path):
    _require_pebble()
    pb = start_pebble(tmp_path, free_port(), free_port())
    pids = [p.pid for p in pb.procs]
    ports = [pb.port, pb.management_port, pb.dns_port, pb.dns_management_port]
    assert pb.alive()
    t0 = time.monotonic()
    pb.stop()
    assert time.monotonic() - t0 < 5
    assert not pb.alive()
    assert pb.pebble.proc.returncode is not None and pb.challtestsrv.proc.returncode == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), pid
    for port in ports:
        assert port_refuses(port), port
    pb.stop()  # twice is fine


def test_failed_start_raises_with_the_log_and_cleans_up(tmp_path, monkeypatch):
    """Pebble's ACME port taken: start_pebble raises with Pebble's own words, and challtestsrv,
    already running by then, is stopped."""
    _require_pebble()
    with socket.socket() as busy:
        busy.bind((LOCALHOST, 0))
        busy.listen()
        taken = busy.getsockname()[1]
        real = acme._distinct_ports
        monkeypatch.setattr(acme, "_distinct_ports", lambda n, avoid: [taken] + real(n - 1, avoid | {taken}))
        before = set(_pebble_pids())
        with pytest.raises(RuntimeError) as e:
            start_pebble(tmp_path, free_port(), free_port())
    msg = str(e.value)
    assert "pebble did not start: pebble exited" in msg, msg
    assert "address already in use" in msg, msg
    assert set(_pebble_pids()) <= before


def _pebble_pids() -> list:
    """pids of running pebble and pebble-challtestsrv processes (zombies excluded)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        comm, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2]
        if comm.startswith("pebble") and state != "Z":
            pids.append(int(d.name))
    return pids
