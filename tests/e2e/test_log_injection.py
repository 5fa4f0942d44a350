"""What a client chose (an SNI, the host of a user@host name) is escaped in the text log: a newline
cannot forge a log line and an escape sequence cannot reach the operator's terminal. The access
log, which is JSON, stays one object per line."""
from __future__ import annotations

import socket
import ssl

import pymysql
import pytest

from harness.configs import addr, lb, router
from harness.pg import conninfo, psql
from harness.snigate import Snigate
from harness.util import LOCALHOST, free_port, wait_until

FORGED = "info forged line"


@pytest.fixture(scope="module")
def lgw(request, snigate_bin, tmp_path_factory):
    if snigate_bin.name == "fake_snigate.py":
        pytest.skip("the harness's fake snigate speaks neither MySQL nor PostgreSQL")
    dead = free_port()
    cfg = {
        "entryPoints": {"web": {"address": addr(free_port())},
                        "my": {"address": addr(free_port()), "protocol": "mysql"},
                        "pg": {"address": addr(free_port()), "protocol": "postgres"}},
        "tcp": {
            "routers": {"only": router("HostSNI(`only.test`)", "dead", eps=["web", "my", "pg"], tls={})},
            "services": {"dead": lb(addr(dead))},
        },
    }
    sg = Snigate(tmp_path_factory.mktemp("snigate-loginj"), cfg, name="snigate-loginj")
    request.addfinalizer(sg.teardown)
    return sg.start()


def hello_with_sni(sni: bytes) -> bytes:
    """A real ClientHello whose SNI bytes are then replaced by sni (same length): Python's TLS
    client would not send such a name itself, and nothing in a ClientHello covers it."""
    placeholder = "x" * (len(sni) - 5) + ".test"
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=placeholder)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    assert hello.count(placeholder.encode()) == 1
    return hello.replace(placeholder.encode(), sni)


def assert_escaped(sg, mark: tuple, marker: str):
    """The log written since `mark` holds marker's line with the newline and ESC escaped, and no
    line starts with the forged text."""
    def new_text():
        text = sg.log_since(mark)
        return text if marker in text else None
    text = wait_until(new_text, 5.0, f"a log line naming {marker!r}", on_timeout=sg.logs)
    assert not any(line.startswith(FORGED) for line in text.splitlines()), text
    assert "\x1b" not in text, text
    line = next(line for line in text.splitlines() if marker in line)
    assert "\\n" + FORGED in line and "\\x1b[31m" in line, line
    for entry in sg.access_entries():  # raises if a line is not one JSON object
        assert isinstance(entry, dict)


def test_sni_with_a_newline_and_an_escape_sequence(lgw):
    mark = lgw.log_mark()
    sni = f"evil-sni\n{FORGED}\x1b[31m.test".encode()
    with socket.create_connection((LOCALHOST, lgw.ports["web"]), timeout=5) as c:
        c.sendall(hello_with_sni(sni))
        assert c.recv(64)[:1] == b"\x15", "a TLS alert"
    assert_escaped(lgw, mark, "evil-sni")
    e = wait_until(lambda: next((e for e in lgw.access_entries() if e["sni"].startswith("evil-sni")), None), 5.0,
                   "the access entry")
    assert e["sni"] == sni.decode() and e["end"] == "no_route", e


def test_mysql_user_at_host_with_a_newline(lgw):
    mark = lgw.log_mark()
    with pytest.raises(pymysql.err.OperationalError) as err:
        pymysql.connect(host=LOCALHOST, port=lgw.ports["my"], user=f"alice@evil-my\n{FORGED}\x1b[31m.test",
                        password="x", connect_timeout=5)
    assert "no route" in str(err.value), err.value
    assert_escaped(lgw, mark, "evil-my")


def test_postgres_user_at_host_with_a_newline(lgw):
    mark = lgw.log_mark()
    dsn = conninfo(host=LOCALHOST, port=lgw.ports["pg"], user=f"alice@evil-pg\n{FORGED}\x1b[31m.test",
                   dbname="app", sslmode="disable", connect_timeout=5)
    cp = psql(dsn, password="x")
    assert not cp.ok and "no route" in cp.err, cp
    assert_escaped(lgw, mark, "evil-pg")


def test_utf8_sni_reads_back_as_sent(lgw):
    """Well-formed UTF-8 stays as it is in the JSON access log (the text log shows its bytes)."""
    mark, before = lgw.log_mark(), lgw.access_mark()
    sni = "utf8-café.test".encode()
    with socket.create_connection((LOCALHOST, lgw.ports["web"]), timeout=5) as c:
        c.sendall(hello_with_sni(sni))
        assert c.recv(64)[:1] == b"\x15", "a TLS alert"
    e = lgw.wait_access(lambda e: e["sni"].startswith("utf8-"), what="the access entry", after=before)
    assert e["sni"] == "utf8-café.test" and e["end"] == "no_route", e
    wait_until(lambda: "utf8-caf\\xc3\\xa9.test" in lgw.log_since(mark), 5.0, "the escaped name in the log",
               on_timeout=lgw.logs)
