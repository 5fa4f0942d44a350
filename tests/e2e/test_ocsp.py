"""OCSP stapling (static `ocsp` section) against `openssl ocsp` as the responder.

The module makes its own CA, a delegated OCSP responder certificate and leaves whose Authority
Information Access names the responder on a loopback port: `good` and `revoked` (the responder's
index says so), `override` (names http://ocsp.invalid/, which ocsp.responderOverrides maps to the
responder), `down` (names a port nobody listens on), `noissuer` (its file holds no chain, so
snigate has no issuer to check a response with). One responder and one snigate for the module."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from harness.clients import s_client
from harness.configs import addr, router
from harness.snigate import Snigate
from harness.util import LOCALHOST, Proc, free_port, read_text, wait_until

NAMES = {"good": 0x1001, "revoked": 0x1002, "override": 0x1003, "down": 0x1004, "noissuer": 0x1005, "late": 0x1006}
STAPLE_DEADLINE = 30.0  # seconds for the background fetches (one at a time, 10 s timeout each) to land


def openssl(*args: str, cwd: Path) -> str:
    cp = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    if cp.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{cp.stderr}")
    return cp.stdout


def ec_key(path: Path) -> None:
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path), cwd=path.parent)


def issue(d: Path, label: str, serial: int, ext: str) -> Path:
    """A certificate for label signed by the CA, with the given extensions; returns its path."""
    ec_key(d / f"{label}.key")
    openssl("req", "-new", "-key", f"{label}.key", "-subj", f"/CN={label}.ocsp.test", "-out", f"{label}.csr", cwd=d)
    (d / f"{label}.ext").write_text(ext)
    openssl("x509", "-req", "-in", f"{label}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", hex(serial),
            "-days", "30", "-sha256", "-extfile", f"{label}.ext", "-out", f"{label}.pem", cwd=d)
    return d / f"{label}.pem"


def index_line(d: Path, label: str, serial: int, revoked: bool) -> str:
    """A line of the CA database `openssl ocsp -index` reads."""
    end = openssl("x509", "-in", f"{label}.pem", "-noout", "-enddate", cwd=d).strip().split("=", 1)[1]
    subject = openssl("x509", "-in", f"{label}.pem", "-noout", "-subject", "-nameopt", "compat", cwd=d)
    subject = subject.strip().split("=", 1)[1].strip()
    expiry = subprocess.run(["date", "-u", "-d", end, "+%y%m%d%H%M%SZ"], capture_output=True, text=True,
                            check=True).stdout.strip()
    revtime = subprocess.run(["date", "-u", "+%y%m%d%H%M%SZ"], capture_output=True, text=True,
                             check=True).stdout.strip() if revoked else ""
    return "\t".join(["R" if revoked else "V", expiry, revtime, f"{serial:X}", "unknown", subject]) + "\n"


@pytest.fixture(scope="module")
def ocsp_pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("ocsp-pki")
    responder_port, dead_port = free_port(), free_port()
    ec_key(d / "ca.key")
    openssl("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "30", "-subj", "/CN=snigate OCSP test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", "ca.pem", cwd=d)
    issue(d, "responder", 0x2001, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                  "extendedKeyUsage=OCSPSigning\n")
    index = ""
    for label, serial in NAMES.items():
        url = {"override": "http://ocsp.invalid/", "down": f"http://{LOCALHOST}:{dead_port}/"}.get(
            label, f"http://{LOCALHOST}:{responder_port}/")
        issue(d, label, serial, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                f"extendedKeyUsage=serverAuth\nsubjectAltName=DNS:{label}.ocsp.test\n"
                                f"authorityInfoAccess=OCSP;URI:{url}\n")
        index += index_line(d, label, serial, revoked=(label == "revoked"))
        # The file snigate reads: the leaf, then its issuer (except for noissuer).
        chain = (d / f"{label}.pem").read_text() + ("" if label == "noissuer" else (d / "ca.pem").read_text())
        (d / f"{label}-chain.pem").write_text(chain)
    (d / "index.txt").write_text(index)
    return {"dir": d, "responder_port": responder_port, "dead_port": dead_port}


@pytest.fixture(scope="module")
def responder(request, ocsp_pki):
    d = ocsp_pki["dir"]
    port = ocsp_pki["responder_port"]
    # -port takes a number only (it listens on every address); clients reach it on 127.0.0.1.
    proc = Proc("openssl-ocsp", ["openssl", "ocsp", "-index", "index.txt", "-port", str(port),
                                 "-rsigner", "responder.pem", "-rkey", "responder.key", "-CA", "ca.pem",
                                 "-ndays", "1"], d, cwd=d)
    request.addfinalizer(proc.stop)
    # Ready once it prints the port it accepts on. Not wait_port: openssl 3.0's responder spins
    # on a connection that closes without a request.
    def listening():
        if not proc.alive():
            raise RuntimeError("openssl ocsp exited before listening\n" + proc.logs())
        return f":{port} PID=" in read_text(proc.stdout_path)
    wait_until(listening, 10, f"openssl ocsp to accept on port {port}", on_timeout=proc.logs)
    return proc


def certs(d: Path, labels) -> list:
    return [{"certFile": str(d / f"{label}-chain.pem"), "keyFile": str(d / f"{label}.key")} for label in labels]


def config(ocsp_pki, port: int, labels) -> dict:
    return {
        "entryPoints": {"web": {"address": addr(port)}},
        "ocsp": {"responderOverrides": {"http://ocsp.invalid/": f"http://{LOCALHOST}:{ocsp_pki['responder_port']}/"}},
        "tcp": {"routers": {"all": router("HostSNI(`*`)", "whoami@internal", tls={})}},
        "tls": {"certificates": certs(ocsp_pki["dir"], labels)},
    }


FIRST = ["good", "revoked", "override", "down", "noissuer"]


@pytest.fixture(scope="module")
def sg(request, snigate_bin, tmp_path_factory, ocsp_pki, responder):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not staple OCSP responses")
    inst = Snigate(tmp_path_factory.mktemp("snigate-ocsp"), config(ocsp_pki, free_port(), FIRST), name="snigate-ocsp")
    request.addfinalizer(inst.teardown)
    return inst.start()


def status_of(sg, ocsp_pki, label: str) -> str:
    """`openssl s_client -status` through snigate: the stapled certificate status, or "none"."""
    r = s_client(sg.ports["web"], f"{label}.ocsp.test", ca=ocsp_pki["dir"] / "ca.pem", extra=["-status"])
    assert r.rc == 0, r.out  # the handshake succeeds whatever the staple
    assert f"CN = {label}.ocsp.test" in r.out or f"CN={label}.ocsp.test" in r.out, r.out
    if "OCSP response: no response sent" in r.out:
        return "none"
    assert "OCSP Response Status: successful" in r.out, r.out
    m = re.search(r"Cert Status: (\w+)", r.out)
    assert m, r.out
    return m.group(1)


def wait_staple(sg, ocsp_pki, label: str) -> str:
    return wait_until(lambda: (s := status_of(sg, ocsp_pki, label)) != "none" and s, STAPLE_DEADLINE,
                      f"a stapled OCSP response for {label}.ocsp.test", interval=0.2, on_timeout=sg.logs)


def test_good_certificate_gets_a_good_staple(sg, ocsp_pki):
    assert wait_staple(sg, ocsp_pki, "good") == "good"
    log = sg.wait_log("OCSP: certificate good.ocsp.test")
    assert re.search(r"OCSP: certificate good\.ocsp\.test \(.*\): status good from http://", log), log


def test_revoked_certificate_gets_a_revoked_staple(sg, ocsp_pki):
    assert wait_staple(sg, ocsp_pki, "revoked") == "revoked"
    assert re.search(r" warning OCSP: certificate revoked\.ocsp\.test .*status revoked", sg.log()), sg.log()


def test_responder_override_is_asked_instead(sg, ocsp_pki):
    assert wait_staple(sg, ocsp_pki, "override") == "good"
    log = sg.log()
    assert f"(override of http://ocsp.invalid/)" in log, log


def test_responder_down_handshake_succeeds_without_staple(sg, ocsp_pki):
    # "will staple", then the failure. A refused connection is retried until the 10 s timeout
    # (OpenSSL's HTTP client does so), hence the deadline.
    log = sg.wait_log("OCSP: certificate down.ocsp.test", count=2, timeout=STAPLE_DEADLINE)
    line = next(ln for ln in log.splitlines() if "down.ocsp.test" in ln and "fetch failed" in ln)
    assert f"http://{LOCALHOST}:{ocsp_pki['dead_port']}/" in line and "no response is stapled" in line, line
    assert status_of(sg, ocsp_pki, "down") == "none"


def test_no_issuer_in_the_file_is_not_stapled(sg, ocsp_pki):
    log = sg.wait_log("noissuer.ocsp.test", timeout=STAPLE_DEADLINE)
    assert re.search(r" warning OCSP: certificate noissuer\.ocsp\.test .*no issuer certificate", log), log
    # The good certificate's staple has landed, so the fetcher has had its chance with this one too.
    wait_staple(sg, ocsp_pki, "good")
    assert status_of(sg, ocsp_pki, "noissuer") == "none"


def test_reload_fetches_new_certificates_and_keeps_the_others(sg, ocsp_pki):
    wait_staple(sg, ocsp_pki, "good")
    fetched = "OCSP: certificate good.ocsp.test"
    before = sg.log().count(fetched)
    sg.reload(config(ocsp_pki, sg.ports["web"], FIRST + ["late"]))
    assert wait_staple(sg, ocsp_pki, "late") == "good"
    assert status_of(sg, ocsp_pki, "good") == "good"  # served from the cache at once
    assert sg.log().count(fetched) == before, "an unchanged certificate must not be fetched again"
    # Dropped from the configuration: forgotten.
    sg.reload(config(ocsp_pki, sg.ports["web"], ["good", "late"]))
    log = sg.wait_log("no longer served")
    assert re.search(r"OCSP: certificate revoked\.ocsp\.test .*no longer served", log), log
    assert status_of(sg, ocsp_pki, "late") == "good"
