"""iperf3 through a plain-TCP route. At the end of a test iperf3's two ends close while bytes are
still in flight, so the relay writes into sockets that are already shut: the process must get
EPIPE, not die of SIGPIPE (splice(2) has no MSG_NOSIGNAL). A build without SIGPIPE ignored died
within four runs here."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from harness.configs import addr, lb, router
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, port_accepts, run, wait_until


@pytest.fixture(scope="module")
def iperf_server(request):
    if not shutil.which("iperf3"):
        pytest.skip("iperf3 is not installed")
    port = free_port()
    proc = subprocess.Popen(["iperf3", "-s", "-B", LOCALHOST, "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    request.addfinalizer(lambda: (proc.terminate(), proc.wait(10)))
    wait_until(lambda: port_accepts(port), 5.0, "iperf3 -s listening")
    return port


def test_iperf3_runs_leave_snigate_alive(snigate_bin, tmp_path, iperf_server):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate is not the relay under test")
    port = free_port()
    cfg = {"entryPoints": {"plain": {"address": addr(port)}},
           "tcp": {"routers": {"plain": router("HostSNI(`*`)", "iperf", eps=["plain"])},
                   "services": {"iperf": lb(addr(iperf_server))}}}
    sg = Snigate(tmp_path, cfg, name="snigate-iperf")
    try:
        sg.start()
        for i in range(6):
            for reverse in ([], ["-R"]):
                cp = run(["iperf3", "-c", LOCALHOST, "-p", str(port), "-t", "1", "-J", *reverse], timeout=30)
                assert sg.alive(), f"snigate died during iperf3 run {i} {reverse}:\n{sg.logs()}"
                assert cp.returncode == 0, cp.stdout[-2000:] + cp.stderr
                assert json.loads(cp.stdout)["end"]["sum_received"]["bytes"] > 0
    finally:
        sg.teardown()
