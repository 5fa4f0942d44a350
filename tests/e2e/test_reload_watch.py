"""providers.file.watch (on by default): editing the provider file, with no signal, reloads the
dynamic configuration; an edit with an error keeps the previous configuration serving and the
log says why (docs/configuration.md, docs/logging.md). The tests run in order on one snigate.

The file is replaced atomically (write a temporary file, rename), as many editors save: an
in-place rewrite could be seen half-written by the once-a-second check, and then the test would
depend on that timing."""
from __future__ import annotations

import os
import re

import pytest

from harness.configs import addr, router
from harness.snigate import Snigate
from harness.tlsprobe import attempt, client_context, fields
from harness.util import free_port, read_text, to_yaml, wait_until

WHO = "whoami@internal"


def write_atomically(path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def dynamic(routers: dict) -> str:
    return to_yaml({"tcp": {"routers": routers}}) + "\n"


@pytest.fixture(scope="module")
def provider_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("watch-provider") / "dynamic.yaml"
    write_atomically(path, dynamic({"first": router("HostSNI(`first.wild.test`)", WHO, tls={})}))
    return path


@pytest.fixture(scope="module")
def sg(request, snigate_bin, tmp_path_factory, pki, provider_file):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate does not implement providers.file.watch")
    cfg = {
        "entryPoints": {"web": {"address": addr(free_port())}},
        "providers": {"file": {"filename": str(provider_file), "watch": True}},
        "tls": {"certificates": [{"certFile": str(pki["wild"].cert), "keyFile": str(pki["wild"].key)}]},
    }
    inst = Snigate(tmp_path_factory.mktemp("snigate-watch"), cfg, name="snigate-watch")
    request.addfinalizer(inst.teardown)
    return inst.start()


def router_for(sg, pki, sni):
    """The router whoami names, or the TLS error's text."""
    a = attempt(sg.ports["web"], sni, client_context(pki.ca_cert))
    return fields(a.reply).get("router") if a.error is None else str(a.error)


def errlog(sg) -> str:
    """Standard error only (sg.log() appends stdout after it, so offsets into that would move)."""
    return read_text(sg.proc.stderr_path)


def log_after(sg, offset: int, needle: str, timeout: float = 5.0) -> str:
    """The log written since `offset` (a length of errlog()), once it contains needle. The check
    runs once a second, so a change shows within about two."""
    return wait_until(lambda: (lambda new: new if needle in new else None)(errlog(sg)[offset:]), timeout,
                      f"{needle!r} in the log after offset {offset}", on_timeout=sg.logs)


def test_edit_adds_a_route_without_a_signal(sg, pki, provider_file):
    assert router_for(sg, pki, "first.wild.test") == "first"
    assert "UNRECOGNIZED_NAME" in router_for(sg, pki, "second.wild.test")
    offset = len(errlog(sg))
    write_atomically(provider_file, dynamic({
        "first": router("HostSNI(`first.wild.test`)", WHO, tls={}),
        "second": router("HostSNI(`second.wild.test`)", WHO, tls={}),
    }))
    new = log_after(sg, offset, "config reloaded (file changed)")
    assert re.search(r"config reloaded \(file changed\): generation \d+, 2 router\(s\)", new), new
    assert "SIGHUP" not in new
    assert router_for(sg, pki, "second.wild.test") == "second"
    assert router_for(sg, pki, "first.wild.test") == "first"


def test_bad_edit_keeps_the_previous_configuration(sg, pki, provider_file):
    offset = len(errlog(sg))
    bad = dynamic({
        "first": router("HostSNI(`first.wild.test`)", WHO, tls={}),
        "third": {"entryPoints": ["web"], "rule": "HostSNI(`third.wild.test`)", "servce": WHO, "tls": {}},
    })  # "second" is gone and "third" has a typo: nothing of this may take effect
    write_atomically(provider_file, bad)
    new = log_after(sg, offset, "reload failed: ")
    assert re.search(r"reload failed \(file changed\): \d+ error\(s\); the previous configuration keeps serving",
                     new), new
    assert re.search(re.escape(str(provider_file)) + r":\d+: tcp\.routers\.third\.servce: unknown key \"servce\"", new), new
    assert "config reloaded" not in new
    assert router_for(sg, pki, "second.wild.test") == "second", "the previous configuration must keep serving"
    assert "UNRECOGNIZED_NAME" in router_for(sg, pki, "third.wild.test")


def test_fixing_the_file_reloads_again(sg, pki, provider_file):
    offset = len(errlog(sg))
    write_atomically(provider_file, dynamic({
        "third": router("HostSNI(`third.wild.test`)", WHO, tls={}),
    }))
    new = log_after(sg, offset, "config reloaded (file changed)")
    assert "1 router(s)" in new, new
    assert router_for(sg, pki, "third.wild.test") == "third"
    assert "UNRECOGNIZED_NAME" in router_for(sg, pki, "second.wild.test")
    assert "UNRECOGNIZED_NAME" in router_for(sg, pki, "first.wild.test")
