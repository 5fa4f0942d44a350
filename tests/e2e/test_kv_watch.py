"""snigate's etcd watcher (src/kv EtcdWatcher) against one real etcd, through kv_watch_probe (built
with the unit tests next to snigate; it prints "update <revision> <changed keys>" per change):
puts and deletes arrive with their keys, a restarted etcd is watched again from the next
revision, a compacted start revision means a full read, and the watcher stops within a second.
The fleet behaviour (three members, two snigate instances) is test_etcd.py's."""
from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from harness.etcd_one import ETCD, Etcd
from harness.snigate import assert_no_sanitizer_report, snigate_bin
from harness.util import Proc, read_text, wait_until


@pytest.fixture(scope="module")
def etcd(request, tmp_path_factory) -> Etcd:
    if not Path(ETCD).exists():
        pytest.fail(f"{ETCD} is missing: install etcd-server (scripts/install-deps.sh --test)")
    server = Etcd(tmp_path_factory.mktemp("watch"), "watch")
    request.addfinalizer(server.stop)
    return server


@pytest.fixture
def probe_bin(snigate_bin) -> Path:
    path = snigate_bin.parent / "kv_watch_probe"
    if not path.is_file():
        pytest.fail(f"{path} is missing: it is built with the unit tests (SNIGATE_TESTS=ON)")
    return path


class Probe:
    def __init__(self, binary: Path, workdir: Path, endpoint: str, prefix: str, env: dict | None = None):
        self.proc = Proc("probe", [str(binary), endpoint, prefix], workdir, env={**os.environ, **(env or {})})

    def output(self) -> str:
        return read_text(self.proc.stdout_path) + read_text(self.proc.stderr_path)

    def updates(self) -> list:
        """(revision, [changed keys]) per update line."""
        return [(int(m[1]), m[2].split()) for m in re.finditer(r"^update (\d+)(.*)$", self.output(), re.M)]

    def wait_for(self, pattern: str, what: str, timeout: float = 10):
        return wait_until(lambda: re.search(pattern, self.output(), re.M), timeout, what, on_timeout=self.output)

    def stop(self) -> str:
        self.proc.stop(signal.SIGTERM)
        out = self.output()
        assert_no_sanitizer_report(out, "kv_watch_probe")
        return out


@pytest.fixture
def probe(request, probe_bin, etcd, tmp_path):
    def start(prefix: str, env: dict | None = None) -> Probe:
        p = Probe(probe_bin, tmp_path, etcd.endpoint, prefix, env)
        request.addfinalizer(p.proc.kill)
        return p
    return start


def test_puts_and_deletes_arrive_with_their_keys(etcd, probe):
    etcd.ctl("put", "w1/before", "x")
    p = probe("w1/")
    p.wait_for(r"^update \d+$", "the first full read")
    p.wait_for(r"etcd: watching w1/ from revision \d+ through " + re.escape(etcd.endpoint), "the watch")
    etcd.ctl("put", "w1/a", "1")
    etcd.ctl("put", "other/b", "2")  # outside the prefix: never reported
    etcd.ctl("del", "w1/before")
    p.wait_for(r"^update \d+ w1/before$", "the delete")
    updates = p.updates()
    assert [keys for _, keys in updates] == [[], ["w1/a"], ["w1/before"]], p.output()
    assert updates[1][0] < updates[2][0], "revisions go up"
    out = p.stop()
    stopped = re.search(r"stopped in (\d+) ms", out)
    assert stopped and int(stopped[1]) < 1500, out


def test_a_restarted_etcd_is_watched_again_from_the_next_revision(etcd, probe):
    p = probe("w2/")
    p.wait_for(r"etcd: watching w2/", "the watch")
    etcd.stop()
    p.wait_for(r"etcd: lost " + re.escape(etcd.endpoint), "the lost stream")
    etcd.start_again()
    etcd.ctl("put", "w2/after", "1")
    p.wait_for(r"^update \d+ w2/after$", "the put after the restart", timeout=15)
    assert len(re.findall(r"etcd: read \d+ key", p.output())) == 1, "resumed, not read again:\n" + p.output()
    p.stop()


def test_a_compacted_start_revision_means_a_full_read(etcd, probe):
    etcd.ctl("put", "w3/k", "1")
    first = etcd.revision()
    etcd.ctl("put", "w3/k", "2")
    etcd.ctl("compact", str(etcd.revision()))
    p = probe("w3/", env={"KV_PROBE_FROM_REVISION": str(first)})
    p.wait_for(r"was compacted", "the compaction to be noticed")
    p.wait_for(r"etcd: read 1 key\(s\) under w3/", "the full read")
    p.wait_for(r"etcd: watching w3/ from revision", "the watch after the full read")
    etcd.ctl("put", "w3/k", "3")
    p.wait_for(r"^update \d+ w3/k$", "the put after the full read")
    p.stop()
