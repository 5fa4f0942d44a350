"""iperf3 through a plain-TCP route. At the end of a test iperf3's two ends close while bytes are
still in flight, so the relay writes into sockets that are already shut: the process must get
EPIPE, not die of SIGPIPE (splice(2) has no MSG_NOSIGNAL). A build without SIGPIPE ignored died
within four runs here."""
from __future__ import annotations

import json
import shutil

import pytest

from harness.configs import addr, lb, router
from harness.snigate import Snigate
from harness.util import LOCALHOST, Proc, free_port, read_text, run, wait_until


@pytest.fixture(scope="module")
def iperf_port():
    if not shutil.which("iperf3"):
        pytest.skip("iperf3 is not installed")
    return free_port()


def one_iperf_server(port: int, workdir) -> Proc:
    """`iperf3 -s -1`: serves one test, then exits. A server that lives across runs may still be
    finishing the last one when the next client comes ("the server is busy running a test"), and
    a readiness probe would be a test of its own; a fresh one per run, ready when it says it
    listens, has neither race."""
    proc = Proc("iperf3-s", ["iperf3", "-s", "-1", "--forceflush", "-B", LOCALHOST, "-p", str(port)], workdir)
    wait_until(lambda: "Server listening" in read_text(proc.stdout_path) or not proc.alive(), 5.0,
               "iperf3 -s to listen", on_timeout=proc.logs)
    assert proc.alive(), proc.logs()
    return proc


def test_iperf3_runs_leave_snigate_alive(snigate_bin, tmp_path, iperf_port):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate is not the relay under test")
    port = free_port()
    cfg = {"entryPoints": {"plain": {"address": addr(port)}},
           "tcp": {"routers": {"plain": router("HostSNI(`*`)", "iperf", eps=["plain"])},
                   "services": {"iperf": lb(addr(iperf_port))}}}
    # Ready when it says so, not by a probe connection, which this server-first route would
    # hand to iperf3 as a test.
    sg = Snigate(tmp_path / "snigate", cfg, name="snigate-iperf", ports={})
    try:
        sg.start()
        sg.wait_log("snigate ready")
        for i in range(6):
            for reverse in ([], ["-R"]):
                server = one_iperf_server(iperf_port, tmp_path / f"iperf-{i}{''.join(reverse)}")
                try:
                    cp = run(["iperf3", "-c", LOCALHOST, "-p", str(port), "-t", "1", "-J", *reverse], timeout=30)
                    assert sg.alive(), f"snigate died during iperf3 run {i} {reverse}:\n{sg.logs()}"
                    assert cp.returncode == 0, cp.stdout[-2000:] + cp.stderr
                    result = json.loads(cp.stdout)
                    assert "error" not in result, result["error"]
                    assert result["end"]["sum_received"]["bytes"] > 0
                    assert server.proc.wait(10) == 0, server.logs()
                finally:
                    server.stop()
    finally:
        sg.teardown()
