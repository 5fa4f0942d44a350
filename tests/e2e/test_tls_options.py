"""tls.options in real handshakes: clientAuth RequireAndVerifyClientCert (a good certificate, one
from another CA, none), minVersion and maxVersion, sniStrict (an unknown SNI, no SNI), and a client
certificate sent to a backend that requires one (serversTransports.<n>.tls.certificates).

One snigate for the module, every router answered by whoami@internal except the two that
re-encrypt to an `openssl s_server -Verify 1` (TLS 1.2 only, so a missing client certificate
fails inside snigate's handshake with it, not at the first read after it)."""
from __future__ import annotations

import re
import ssl

import pytest

from harness.clients import s_client
from harness.configs import addr, lb, router
from harness.pki import make_pki
from harness.snigate import Snigate
from harness.tlsprobe import attempt, client_context, fields
from harness.util import LOCALHOST, Proc, free_port, wait_port

NAMES = ["mtls.test", "tls13.test", "max12.test", "strict.test", "cc.test", "nocc.test"]


@pytest.fixture(scope="module")
def opki(tmp_path_factory):
    """The gateway's certificate for every name above, and a client certificate from the same CA."""
    return make_pki(tmp_path_factory.mktemp("tlsopt-pki"), {
        "srv": NAMES, "client": ["client.test"], "backend": ["backend.test"], "default": ["default.test"],
    })


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    """Another CA, whose client certificate the mtls options must refuse."""
    return make_pki(tmp_path_factory.mktemp("tlsopt-other-pki"), {"client": ["client.test"]})


@pytest.fixture(scope="module")
def verify_server(request, tmp_path_factory, opki):
    """openssl s_server -rev that requires a client certificate signed by opki's CA, TLS 1.2 only."""
    port = free_port()
    proc = Proc("s_server_verify", ["openssl", "s_server", "-accept", f"{LOCALHOST}:{port}",
                                    "-cert", str(opki["backend"].cert), "-key", str(opki["backend"].key),
                                    "-CAfile", str(opki.ca_cert), "-Verify", "1", "-verify_return_error",
                                    "-tls1_2", "-rev", "-quiet"], tmp_path_factory.mktemp("s_server_verify"))
    request.addfinalizer(proc.stop)
    wait_port(port, 10, "openssl s_server -Verify", proc.proc, proc.logs)
    return port


@pytest.fixture(scope="module")
def sg(request, snigate_bin, tmp_path_factory, opki, verify_server):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not implement client authentication, TLS versions, sniStrict or backend client certificates")
    ca = str(opki.ca_cert)
    backend_tls = {"serverName": "backend.test", "rootCAs": [ca]}
    cfg = {
        "entryPoints": {"web": {"address": addr(free_port())}},
        "tcp": {
            "routers": {
                "mtls": router("HostSNI(`mtls.test`)", "whoami@internal", tls={"options": "mtls"}),
                "tls13": router("HostSNI(`tls13.test`)", "whoami@internal", tls={"options": "only13"}),
                "max12": router("HostSNI(`max12.test`)", "whoami@internal", tls={"options": "max12"}),
                # Any name, and no name: sniStrict decides who gets through.
                "strict": router("HostSNI(`*`)", "whoami@internal", tls={"options": "strict"}),
                "cc": router("HostSNI(`cc.test`)", "withcert", tls={}),
                "nocc": router("HostSNI(`nocc.test`)", "withoutcert", tls={}),
            },
            "services": {
                "withcert": lb(addr(verify_server), tls=True, transport="withcert"),
                "withoutcert": lb(addr(verify_server), tls=True, transport="withoutcert"),
            },
            "serversTransports": {
                "withcert": {"dialTimeout": "2s", "tls": {**backend_tls, "certificates": [
                    {"certFile": str(opki["client"].cert), "keyFile": str(opki["client"].key)}]}},
                "withoutcert": {"dialTimeout": "2s", "tls": backend_tls},
            },
        },
        "tls": {
            "certificates": [{"certFile": str(opki["srv"].cert), "keyFile": str(opki["srv"].key)}],
            "stores": {"default": {"defaultCertificate": {"certFile": str(opki["default"].cert),
                                                          "keyFile": str(opki["default"].key)}}},
            "options": {
                "mtls": {"clientAuth": {"clientAuthType": "RequireAndVerifyClientCert", "caFiles": [ca]}},
                "only13": {"minVersion": "VersionTLS13"},
                "max12": {"maxVersion": "VersionTLS12"},
                "strict": {"sniStrict": True},
            },
        },
    }
    inst = Snigate(tmp_path_factory.mktemp("snigate-tlsopt"), cfg, name="snigate-tlsopt")
    request.addfinalizer(inst.teardown)
    return inst.start()


def line_of(sg, a):
    """The access log line of this attempt's connection (its own client port)."""
    return sg.wait_access(lambda e: e.get("client") == a.client, what=f"access log line of {a.client}")


# ---------------------------------------------------------------- clientAuth

def test_mtls_good_client_certificate_gets_through(sg, opki):
    a = attempt(sg.ports["web"], "mtls.test", client_context(opki.ca_cert, cert=opki["client"]))
    assert a.error is None, a
    assert fields(a.reply).get("router") == "mtls", a
    e = line_of(sg, a)
    assert (e["end"], e["router"], e["mode"]) == ("closed", "mtls", "terminate"), e


def test_mtls_certificate_from_another_ca_is_refused(sg, opki, other_pki):
    a = attempt(sg.ports["web"], "mtls.test", client_context(opki.ca_cert, cert=other_pki["client"]))
    # TLS 1.3: the client's handshake is done before the server checks its certificate, so the
    # alert arrives at the first read.
    assert isinstance(a.error, ssl.SSLError) and "UNKNOWN_CA" in str(a.error), a
    assert "whoami" not in a.reply
    e = line_of(sg, a)
    assert e["end"] == "tls_handshake_failed", e
    assert "certificate" in e["detail"], e
    log = sg.wait_log(f"{a.client}: router mtls: TLS handshake with the client failed")
    assert any(a.client in ln and " info " in ln and "certificate" in ln for ln in log.splitlines()), log


def test_mtls_without_certificate_is_refused(sg, opki):
    a = attempt(sg.ports["web"], "mtls.test", client_context(opki.ca_cert))
    assert isinstance(a.error, ssl.SSLError) and "CERTIFICATE_REQUIRED" in str(a.error), a
    e = line_of(sg, a)
    assert e["end"] == "tls_handshake_failed", e
    assert "certificate" in e["detail"], e


def test_mtls_without_certificate_tls12(sg, opki):
    """TLS 1.2: the refusal comes inside the handshake (handshake failure alert)."""
    a = attempt(sg.ports["web"], "mtls.test", client_context(opki.ca_cert, max_version=ssl.TLSVersion.TLSv1_2))
    assert isinstance(a.error, ssl.SSLError), a
    assert a.version is None, "the handshake must not complete"
    assert line_of(sg, a)["end"] == "tls_handshake_failed"


# ---------------------------------------------------------------- minVersion / maxVersion

def test_min_version_tls13_refuses_a_tls12_client(sg, opki):
    a = attempt(sg.ports["web"], "tls13.test", client_context(opki.ca_cert, max_version=ssl.TLSVersion.TLSv1_2))
    assert isinstance(a.error, ssl.SSLError) and "PROTOCOL_VERSION" in str(a.error), a
    e = line_of(sg, a)
    assert e["end"] == "tls_handshake_failed", e
    assert "protocol" in e["detail"], e
    ok = attempt(sg.ports["web"], "tls13.test", client_context(opki.ca_cert))
    assert ok.error is None and ok.version == "TLSv1.3", ok
    assert fields(ok.reply).get("tls_version") == "TLSv1.3", ok


def test_max_version_tls12_is_respected(sg, opki):
    a = attempt(sg.ports["web"], "max12.test", client_context(opki.ca_cert))
    assert a.error is None and a.version == "TLSv1.2", a
    assert fields(a.reply).get("tls_version") == "TLSv1.2", a
    assert line_of(sg, a)["tls_version"] == "TLSv1.2"
    refused = attempt(sg.ports["web"], "max12.test",
                      client_context(opki.ca_cert, min_version=ssl.TLSVersion.TLSv1_3))
    assert isinstance(refused.error, ssl.SSLError), refused
    assert line_of(sg, refused)["end"] == "tls_handshake_failed"


def test_default_options_take_tls13(sg, opki):
    """The routers without options negotiate TLS 1.3 (so max12 above is the option at work)."""
    a = attempt(sg.ports["web"], "strict.test", client_context(opki.ca_cert))
    assert a.error is None and a.version == "TLSv1.3", a


# ---------------------------------------------------------------- sniStrict

def test_sni_strict_known_name_is_served(sg, opki):
    a = attempt(sg.ports["web"], "strict.test", client_context(opki.ca_cert))
    assert a.error is None and fields(a.reply).get("router") == "strict", a


def test_sni_strict_unknown_name_is_refused(sg, opki):
    a = attempt(sg.ports["web"], "nocert.test", client_context(opki.ca_cert))
    assert isinstance(a.error, ssl.SSLError) and "UNRECOGNIZED_NAME" in str(a.error), a
    e = line_of(sg, a)
    assert (e["end"], e["sni"]) == ("no_certificate", "nocert.test"), e
    assert e["detail"], e
    log = sg.wait_log(a.client)
    assert any(a.client in ln and "nocert.test" in ln for ln in log.splitlines()), log


def test_sni_strict_no_sni_is_refused(sg, opki):
    a = attempt(sg.ports["web"], None, client_context(None))
    assert isinstance(a.error, ssl.SSLError) and "UNRECOGNIZED_NAME" in str(a.error), a
    e = line_of(sg, a)
    assert (e["end"], e["sni"]) == ("no_certificate", ""), e


def test_sni_strict_refusal_with_s_client(sg, opki):
    r = s_client(sg.ports["web"], "other.test", opki.ca_cert, timeout=5)
    assert r.rc != 0 and re.search(r"unrecognized name", r.out), r.out
    assert "default.test" not in r.out, "sniStrict must not fall back to the default certificate"


# ---------------------------------------------------------------- client certificate to the backend

def test_client_certificate_sent_to_backend(sg, opki, verify_server):
    a = attempt(sg.ports["web"], "cc.test", client_context(opki.ca_cert), send=b"hello backend\n",
                until=b"\n")
    assert a.error is None, a
    assert a.reply.strip() == "dnekcab olleh", a  # s_server -rev answered: it accepted the certificate
    e = line_of(sg, a)
    assert (e["end"], e["server"]) == ("closed", addr(verify_server)), e


def test_backend_requiring_a_certificate_refuses_a_transport_without_one(sg, opki):
    a = attempt(sg.ports["web"], "nocc.test", client_context(opki.ca_cert), send=b"hello backend\n",
                until=b"\n")
    assert "dnekcab" not in a.reply, a
    e = line_of(sg, a)
    assert e["end"] == "backend_tls_failed", e
    assert "TLS handshake with" in e["detail"], e
    log = sg.wait_log("TLS handshake with")
    assert any(a.client in ln and "warning" in ln and "TLS handshake with" in ln for ln in log.splitlines()), log
