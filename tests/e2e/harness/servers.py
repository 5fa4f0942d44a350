"""Real backend servers started by the tests: nginx (plain and TLS), redis, MariaDB,
openssl s_server, and a small upload-hashing server."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .util import LOCALHOST, Proc, free_port, run, wait_port, wait_until

START_TIMEOUT = 15.0
BIG_SIZE = 256 * 1024 * 1024


def make_big_file(path: Path, size: int = BIG_SIZE) -> str:
    """Write `size` random bytes to path in 4 MiB chunks; return the sha256 hex."""
    h = hashlib.sha256()
    chunk = 4 * 1024 * 1024
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(chunk, left))
            h.update(block)
            f.write(block)
            left -= len(block)
    return h.hexdigest()


# ---------------------------------------------------------------- nginx

@dataclass
class Nginx:
    proc: Proc
    plain_ports: dict   # body name -> port, e.g. {"plain-1": p, "plain-2": q}
    tls_port: int       # serves "tls-1" with the backend.test certificate
    docroot: Path

    def stop(self):
        self.proc.stop()


def start_nginx(workdir: Path, docroot: Path, cert: Path, key: Path) -> Nginx:
    """One nginx master with three servers: plain-1, plain-2 (HTTP) and tls-1 (HTTPS).
    Each answers GET /name with its own name and serves docroot (/big)."""
    workdir = Path(workdir)
    for d in ("logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (workdir / d).mkdir(parents=True, exist_ok=True)
    plain = {"plain-1": free_port(), "plain-2": free_port()}
    tls_port = free_port()

    def server(name: str, port: int, tls: bool) -> str:
        ssl = (f"    listen {LOCALHOST}:{port} ssl;\n"
               f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n"
               f"    ssl_protocols TLSv1.2 TLSv1.3;\n") if tls else f"    listen {LOCALHOST}:{port};\n"
        return (f"  server {{\n{ssl}    server_name _;\n    root {docroot};\n"
                f"    location = /name {{ default_type text/plain; return 200 \"{name}\\n\"; }}\n"
                f"    location / {{ }}\n  }}\n")

    # Tests run as root; the tmp dirs are 0700, so workers run as root too.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = (f"{user}worker_processes 2;\npid {workdir}/nginx.pid;\nerror_log stderr warn;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_timeout 75s;\n"
            f"  default_type application/octet-stream;\n"
            f"  client_body_temp_path {workdir}/tmp/body;\n  proxy_temp_path {workdir}/tmp/proxy;\n"
            f"  fastcgi_temp_path {workdir}/tmp/fastcgi;\n  uwsgi_temp_path {workdir}/tmp/uwsgi;\n"
            f"  scgi_temp_path {workdir}/tmp/scgi;\n"
            + "".join(server(n, p, False) for n, p in plain.items())
            + server("tls-1", tls_port, True) + "}\n")
    conf_path = workdir / "nginx.conf"
    conf_path.write_text(conf)
    proc = Proc("nginx", ["nginx", "-c", str(conf_path), "-p", str(workdir), "-e", "stderr",
                          "-g", "daemon off;"], workdir)
    for port in [*plain.values(), tls_port]:
        wait_port(port, START_TIMEOUT, "nginx", proc, proc.logs)
    return Nginx(proc, plain, tls_port, docroot)


# ---------------------------------------------------------------- redis

@dataclass
class Redis:
    proc: Proc
    port: int

    def stop(self):
        self.proc.stop()


def start_redis(workdir: Path) -> Redis:
    port = free_port()
    proc = Proc("redis", ["redis-server", "--port", str(port), "--bind", LOCALHOST, "--save", "",
                          "--appendonly", "no", "--dir", str(workdir)], workdir)
    wait_until(lambda: _redis_ping(port, proc), START_TIMEOUT, "redis PONG", on_timeout=proc.logs)
    return Redis(proc, port)


def _redis_ping(port: int, proc: Proc) -> bool:
    if not proc.alive():
        raise RuntimeError("redis-server exited\n" + proc.logs())
    cp = run(["redis-cli", "-h", LOCALHOST, "-p", str(port), "ping"], timeout=5)
    return cp.returncode == 0 and cp.stdout.strip() == "PONG"


# ---------------------------------------------------------------- MariaDB

@dataclass
class MariaDB:
    proc: Proc
    port: int
    socket: Path
    user: str = "alice"
    password: str = "secret"

    def client_argv(self, port: int, sql: str = "select 1") -> list:
        """The Debian `mariadb` client over TCP (no TLS, no option files)."""
        return ["mariadb", "--no-defaults", "-h", LOCALHOST, "-P", str(port), "-u", self.user,
                f"-p{self.password}", "--skip-ssl", "--connect-timeout=5", "-N", "-B", "-e", sql]

    def stop(self):
        self.proc.stop(timeout=20)


def start_mariadb(workdir: Path, extra_args: tuple = (), setup_sql: str = "") -> MariaDB:
    """mariadb-install-db + mariadbd with real authentication; user alice/secret can connect
    from 127.0.0.1. Runs as root (--user=root) with no option files (--no-defaults).
    extra_args: more mariadbd options (e.g. --ssl-cert); setup_sql: run as root after set-up."""
    workdir = Path(workdir)
    datadir, sock = workdir / "data", workdir / "mysqld.sock"
    cp = run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--user=root",
              "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"],
             timeout=60)
    if cp.returncode != 0:
        raise RuntimeError(f"mariadb-install-db failed:\n{cp.stdout}\n{cp.stderr}")
    port = free_port()
    proc = Proc("mariadbd", ["mariadbd", "--no-defaults", f"--datadir={datadir}", f"--socket={sock}",
                             f"--port={port}", f"--bind-address={LOCALHOST}", "--user=root",
                             f"--pid-file={workdir}/mariadbd.pid", "--skip-name-resolve",
                             "--skip-log-bin", "--innodb-buffer-pool-size=16M",
                             "--innodb-log-file-size=8M", "--max-connect-errors=1000000",
                             "--performance-schema=OFF", *extra_args], workdir)
    root = ["mariadb", "--no-defaults", "-S", str(sock), "-u", "root"]

    def up():
        if not proc.alive():
            raise RuntimeError("mariadbd exited\n" + proc.logs())
        return run(root + ["-e", "select 1"], timeout=5).returncode == 0
    wait_until(up, START_TIMEOUT, "mariadbd to answer on its socket", interval=0.05, on_timeout=proc.logs)
    # Anonymous users shadow 'alice'@'%' for 127.0.0.1 (NOTES.md); drop any that exist.
    sql = ("DELETE FROM mysql.global_priv WHERE User='';"
           "CREATE USER 'alice'@'%' IDENTIFIED BY 'secret';"
           "GRANT ALL ON *.* TO 'alice'@'%'; FLUSH PRIVILEGES;" + setup_sql)
    run(root + ["-e", sql], timeout=10, check=True)
    wait_port(port, START_TIMEOUT, "mariadbd", proc.proc, proc.logs)
    return MariaDB(proc, port, sock)


# ---------------------------------------------------------------- openssl s_server

@dataclass
class SServer:
    proc: Proc
    port: int

    def stop(self):
        self.proc.stop()


def start_s_server(workdir: Path, cert: Path, key: Path, ca: Path) -> SServer:
    """`openssl s_server -rev`: a TLS backend that sends back each line reversed."""
    port = free_port()
    proc = Proc("s_server", ["openssl", "s_server", "-accept", f"{LOCALHOST}:{port}", "-cert", str(cert),
                             "-key", str(key), "-CAfile", str(ca), "-rev", "-quiet"], workdir)
    wait_port(port, START_TIMEOUT, "openssl s_server", proc.proc, proc.logs)
    return SServer(proc, port)


# ---------------------------------------------------------------- upload hash server

@dataclass
class HashServer:
    proc: Proc
    port: int

    def stop(self):
        self.proc.stop()


def start_hash_server(workdir: Path) -> HashServer:
    port = free_port()
    script = Path(__file__).with_name("hashsrv.py")
    proc = Proc("hashsrv", [sys.executable, str(script), str(port)], workdir)
    wait_port(port, START_TIMEOUT, "hash server", proc.proc, proc.logs)
    return HashServer(proc, port)
