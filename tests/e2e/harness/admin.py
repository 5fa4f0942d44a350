"""Talking to snigate's admin entry point: plain HTTP GETs, and Prometheus text read into
{(name, frozenset(labels)): value} so a test asks for one series by its labels."""
from __future__ import annotations

import http.client
import re
from typing import Optional

from .util import LOCALHOST

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def get(port: int, path: str, method: str = "GET", timeout: float = 5.0,
        headers: Optional[dict] = None) -> tuple[int, dict, bytes]:
    """(status, headers with lower-case names, body) of one request on a new connection."""
    conn = http.client.HTTPConnection(LOCALHOST, port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def parse_metrics(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(_LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def metrics(port: int) -> dict:
    status, _, body = get(port, "/metrics")
    assert status == 200, body
    return parse_metrics(body.decode())


def sample(ms: dict, name: str, **labels) -> Optional[float]:
    """The value of the series with exactly these labels, or None."""
    return ms.get((name, frozenset((k, str(v)) for k, v in labels.items())))


def total(ms: dict, name: str, **labels) -> float:
    """The sum over every series of name whose labels include these."""
    want = {(k, str(v)) for k, v in labels.items()}
    return sum(v for (n, ls), v in ms.items() if n == name and want <= ls)
