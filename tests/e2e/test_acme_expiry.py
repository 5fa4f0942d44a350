"""An ACME certificate whose renewal keeps failing: it is still served after it expires, and the
log says so on each retry (at least hourly; here, with a 6-second certificate, every few
seconds). Pebble issues one 6-second certificate and is then stopped, so every renewal attempt
fails to reach the CA."""
from __future__ import annotations

import re
import socket
import ssl

import pytest

from harness.acme import pebble_missing, start_pebble
from harness.configs import addr, router
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port

pytest.importorskip("cryptography", reason="python3-cryptography is not installed")
from cryptography import x509  # noqa: E402

NAME = "x.acme.test"
VALIDITY = 6  # seconds


def served_serial(port: int) -> int:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # it has expired: read it, do not judge it
    with socket.create_connection((LOCALHOST, port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=NAME) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def test_an_expired_certificate_is_still_served_while_renewal_fails(snigate_bin, tmp_path, request):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not do ACME")
    if reason := pebble_missing():
        pytest.skip(reason)  # a failure under CI=true (conftest.py)
    port = free_port()
    pb = start_pebble(tmp_path / "pebble", http_port=free_port(), tls_port=port, validity_seconds=VALIDITY)
    request.addfinalizer(pb.stop)
    cfg = {
        "entryPoints": {"websecure": {"address": addr(port)}},
        "certificatesResolvers": {"le": {"acme": {
            "caServer": pb.directory_url, "caCertificates": [str(pb.ca_file)], "storage": str(tmp_path / "acme.json"),
            "keyType": "EC256", "certificatesDuration": 1, "tlsChallenge": {}}}},
        "tcp": {"routers": {"x": router(f"HostSNI(`{NAME}`)", "whoami@internal", eps=["websecure"],
                                        tls={"certResolver": "le"})}},
    }
    sg = Snigate(tmp_path / "snigate", cfg, name="snigate-acme-expiry")
    request.addfinalizer(sg.teardown)
    sg.start()
    sg.wait_log(f"ACME le: {NAME}: certificate issued", timeout=60)
    issued = int(pb.issued_serials()[0], 16)
    pb.stop()  # from now on every renewal fails

    log = sg.wait_log("and is still served; next try at", timeout=VALIDITY * 4)
    failures = re.findall(rf"error ACME le: {re.escape(NAME)}: (.*)$", log, re.M)
    assert failures and "connect" in failures[0], log  # the CA is gone: libcurl's words for it
    assert re.search(rf"{re.escape(NAME)}: .*its certificate \(valid until \S+\) is still served", log), log
    expired = re.search(rf"{re.escape(NAME)}: .*its certificate EXPIRED at \S+ and is still served; next try at", log)
    assert expired, log
    assert served_serial(port) == issued  # the expired certificate, not the default one
