#!/usr/bin/python3
"""Connect + `select 1` + close, in a loop, through snigate's `protocol: mysql` entry point and
directly to MariaDB: the price of snigate's extra round trips (its own greeting, the auth
switch, the server's greeting after the client's login).

    SNIGATE_BIN=build/snigate /usr/bin/python3 bench/mysql_connect.py [N]

Starts its own MariaDB (mariadbd, with TLS) and snigate on free ports with the e2e harness,
and prints connections per second and p50/p99 latency for: direct TLS, snigate with TLS
(terminated; plain to MariaDB), direct plain, snigate plain (mysql.allowPlaintext,
user@host). One client, sequential: it measures latency, not throughput under load."""
import ssl
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
import pymysql  # noqa: E402

from harness import servers  # noqa: E402
from harness.pki import make_pki  # noqa: E402
from harness.snigate import Snigate  # noqa: E402
from harness.util import free_port  # noqa: E402


def context(ca, sni):
    class Ctx(ssl.SSLContext):  # PyMySQL would send the host (an IP here) as SNI: send `sni`
        def wrap_socket(self, sock, server_hostname=None, **kw):
            return super().wrap_socket(sock, server_hostname=sni, **kw)
    ctx = Ctx(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca))
    return ctx


def measure(label, port, ctx, user, n):
    lat = []
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        conn = pymysql.connect(host="127.0.0.1", port=port, user=user, password="secret", ssl=ctx)
        with conn.cursor() as cur:
            cur.execute("select 1")
            cur.fetchone()
        conn.close()
        lat.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - t0
    lat.sort()
    print(f"{label:55s} {n / elapsed:7.0f}/s  p50 {lat[n // 2] * 1000:6.2f} ms  p99 {lat[int(n * 0.99)] * 1000:6.2f} ms")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    work = Path(tempfile.mkdtemp(prefix="snigate-mysql-bench-"))
    pki = make_pki(work / "pki", {"db1": ["db1.test"], "backend": ["backend.test"]})
    db = servers.start_mariadb(work / "db", extra_args=(f"--ssl-cert={pki['backend'].cert}",
                                                        f"--ssl-key={pki['backend'].key}"))
    port = free_port()
    cfg = {
        "entryPoints": {"mysql": {"address": f"127.0.0.1:{port}", "protocol": "mysql"}},
        "tcp": {
            "routers": {"db1": {"entryPoints": ["mysql"], "rule": "HostSNI(`db1.test`)", "service": "db1",
                                "tls": {}, "mysql": {"allowPlaintext": True}}},
            "services": {"db1": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{db.port}"}]}}},
        },
        "tls": {"certificates": [{"certFile": str(pki["db1"].cert), "keyFile": str(pki["db1"].key)}]},
        "log": {"level": "WARN"},
    }
    sg = Snigate(work / "snigate", cfg, name="bench").start()
    try:
        for _ in range(2):  # the first round warms up both paths
            measure("direct TLS to MariaDB", db.port, context(pki.ca_cert, "backend.test"), "alice", n)
            measure("snigate, TLS terminated, plain to MariaDB", port, context(pki.ca_cert, "db1.test"), "alice", n)
            measure("direct plain", db.port, None, "alice", n)
            measure("snigate plain (allowPlaintext, alice@db1.test)", port, None, "alice@db1.test", n)
    finally:
        sg.teardown()
        db.stop()


if __name__ == "__main__":
    main()
