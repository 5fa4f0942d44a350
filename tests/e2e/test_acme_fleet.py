"""ACME state shared by a fleet (`certificatesResolvers.<n>.acme.etcdKey`, a snigate extension):
two snigates configured from one etcd member, one Pebble. Both listen with reusePort on the port
where Pebble validates TLS-ALPN-01, so the kernel hands each validation connection to either
instance: whichever gets it must answer, whoever placed the order. Each also has a port of its
own, where the tests ask it directly which certificate it serves.

Asserted: one order and one certificate for the fleet (Pebble's log), both instances serve it,
the state is in etcd in Traefik's layout and the lock is gone; an instance started later serves
it at once from etcd and orders nothing.
"""
from __future__ import annotations

import json
import re
import ssl
import socket
from pathlib import Path

import pytest

from harness.acme import pebble_missing, start_pebble
from harness.configs import addr, router
from harness.etcd_one import ETCD, Etcd
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, wait_until

pytest.importorskip("cryptography", reason="python3-cryptography is not installed")
from cryptography import x509  # noqa: E402

KEY = "snigate/acme/le"
NAME = "a.fleet.test"
ISSUE_TIMEOUT = 60.0


def leaf_of(port: int, roots: Path) -> x509.Certificate:
    ctx = ssl.create_default_context(cafile=str(roots))
    with socket.create_connection((LOCALHOST, port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=NAME) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


@pytest.fixture(scope="module")
def fleet(request, snigate_bin, tmp_path_factory):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not do ACME")
    for reason in (pebble_missing(), None if Path(ETCD).exists() else f"{ETCD} is not installed"):
        if reason:
            pytest.skip(reason)  # a failure under CI=true (conftest.py)
    dir = tmp_path_factory.mktemp("acme-fleet")
    etcd = Etcd(dir / "etcd", "acme-etcd")
    request.addfinalizer(etcd.stop)
    shared = free_port()
    pb = start_pebble(dir / "pebble", http_port=free_port(), tls_port=shared)
    request.addfinalizer(pb.stop)
    roots = pb.write_roots(dir / "roots.pem")

    def config(own: int) -> dict:
        return {
            "entryPoints": {"shared": {"address": addr(shared), "reusePort": True}, "own": {"address": addr(own)}},
            "providers": {"etcd": {"endpoints": [etcd.endpoint], "rootKey": "traefik"}},
            "certificatesResolvers": {"le": {"acme": {
                "email": "ops@example.com", "caServer": pb.directory_url, "caCertificates": [str(pb.ca_file)],
                "etcdKey": KEY, "keyType": "EC256", "tlsChallenge": {}}}},
            "tcp": {"routers": {"a": router(f"HostSNI(`{NAME}`)", "whoami@internal", eps=["shared", "own"],
                                       tls={"certResolver": "le"})}},
        }

    instances = []
    for i in range(2):
        own = free_port()
        sg = Snigate(dir / f"snigate-{i}", config(own), name=f"snigate-fleet-{i}")
        request.addfinalizer(sg.teardown)
        sg.start()
        instances.append((sg, own))
    return etcd, pb, roots, instances, config, dir, request


def test_one_order_serves_the_whole_fleet(fleet):
    etcd, pb, roots, instances, _, _, _ = fleet
    for sg, own in instances:
        wait_until(lambda: "ACME le: serving the fleet's certificate" in sg.log() or
                   f"ACME le: {NAME}: certificate issued" in sg.log(), ISSUE_TIMEOUT,
                   f"{sg.name} to serve the certificate", on_timeout=sg.logs)
    logs = [sg.log() for sg, _ in instances]
    placed = [len(re.findall(rf"ACME le: {re.escape(NAME)}: order \S+ placed", log)) for log in logs]
    assert sorted(placed) == [0, 1], logs
    orderer, other = (0, 1) if placed[0] else (1, 0)
    assert f"ACME le: serving the fleet's certificate for {NAME}" in logs[other], logs[other]
    assert pb.issued_logged() == 1 and pb.orders_logged() == 1, pb.log_text()[-2000:]
    # Pebble's three validations went to whichever instance the kernel chose; all were answered.
    answered = sum(log.count(f"answered the ACME TLS-ALPN-01 challenge for {NAME}") for log in logs)
    assert answered >= 3, logs
    serials = {leaf_of(own, roots).serial_number for _, own in instances}
    assert len(serials) == 1 and int(pb.issued_serials()[0], 16) in serials


def test_state_is_in_etcd_and_the_lock_is_gone(fleet):
    etcd, pb, *_ = fleet
    keys = wait_until(lambda: (k := etcd.keys(KEY + "/")) and f"{KEY}/lock" not in k and k, 10,
                      "the lock to be released")
    assert set(keys) == {f"{KEY}/state"}, keys
    state = json.loads(keys[f"{KEY}/state"])
    assert [c["domain"]["main"] for c in state["Certificates"]] == [NAME]
    assert state["Account"]["Registration"]["uri"].startswith(pb.directory_url.rsplit("/", 1)[0])


def test_a_new_instance_serves_the_fleets_certificate_at_once(fleet):
    etcd, pb, roots, instances, config, dir, request = fleet
    own = free_port()
    sg = Snigate(dir / "snigate-late", config(own), name="snigate-fleet-late")
    request.addfinalizer(sg.teardown)
    sg.start()
    assert leaf_of(own, roots).serial_number == int(pb.issued_serials()[0], 16)
    log = sg.wait_log(f"ACME le: {NAME}: renewal due at", timeout=5)
    assert f"ACME le: serving the stored certificate for {NAME}" in log, log
    assert f"{NAME}: order" not in log and "no certificate yet" not in log, log
    assert pb.orders_logged() == 1
