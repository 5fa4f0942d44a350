"""Real backend servers started by the tests: nginx (plain and TLS), redis, MariaDB,
openssl s_server, a small upload-hashing server, and PostgreSQL."""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .util import LOCALHOST, Proc, free_port, read_text, run, wait_port, wait_until

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


def start_hash_server(workdir: Path, until_eof: bool = False) -> HashServer:
    """until_eof: answer after the client's end of stream (hashsrv.py --until-eof)."""
    port = free_port()
    script = Path(__file__).with_name("hashsrv.py")
    argv = [sys.executable, str(script), str(port)] + (["--until-eof"] if until_eof else [])
    proc = Proc("hashsrv", argv, workdir)
    wait_port(port, START_TIMEOUT, "hash server", proc.proc, proc.logs)
    return HashServer(proc, port)


# ---------------------------------------------------------------- PostgreSQL

def find_pg_bin() -> Path:
    """The bin directory of the newest PostgreSQL server installed: Debian's
    /usr/lib/postgresql/<major>/bin, else `pg_config --bindir` if it holds `postgres`. A path
    that does not exist (naming where it looked) if there is none."""
    def major(p: Path):
        v = p.parent.name
        return (int(v), v) if v.isdigit() else (-1, v)
    found = sorted((p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").is_file()),
                   key=major)
    if found:
        return found[-1]
    if shutil.which("pg_config"):
        cp = run(["pg_config", "--bindir"], timeout=10)
        bindir = Path(cp.stdout.strip())
        if cp.returncode == 0 and (bindir / "postgres").is_file():
            return bindir
    return Path("/usr/lib/postgresql/<no version installed>/bin")


PG_BIN = find_pg_bin()
PG_USER = "postgres"  # the OS user the server runs as (PostgreSQL refuses to run as root)

# Who may log in, and how. `host` lines match TLS and plain TCP connections alike.
PG_HBA = """\
local all all                trust
host  all trusty 127.0.0.1/32 trust
host  all bob    127.0.0.1/32 md5
host  all all    127.0.0.1/32 scram-sha-256
"""

# alice/secret (SCRAM-SHA-256), bob/bobsecret (MD5), trusty (no password: the raw test client),
# database app owned by alice. Baked into the initdb template (single-user mode: one statement a line).
PG_SETUP_SQL = """\
SET password_encryption = 'scram-sha-256';
CREATE ROLE alice LOGIN PASSWORD 'secret';
SET password_encryption = 'md5';
CREATE ROLE bob LOGIN PASSWORD 'bobsecret';
RESET password_encryption;
CREATE ROLE trusty LOGIN;
CREATE DATABASE app OWNER alice;
"""

_pg_template: Optional[Path] = None


def _as_postgres(argv: list) -> list:
    return ["setpriv", f"--reuid={PG_USER}", f"--regid={PG_USER}", "--init-groups", *argv]


def pg_env(**extra) -> dict:
    """The environment for PostgreSQL client programs: no PG* variables inherited from the
    caller (a stray PGHOST or PGSSLMODE would change what a test does), no ~/.pgpass (a missing
    file is ignored silently; /dev/null would draw a "not a plain file" warning)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGPASSFILE": "/nonexistent/snigate-e2e-no-pgpass", "PGCONNECT_TIMEOUT": "5"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _pg_tmp_root() -> Path:
    """A directory the postgres user can reach. pytest's tmp_path_factory lives in
    /tmp/pytest-of-root (mode 0700), which postgres cannot traverse, so data directories and
    sockets live in their own /tmp/snigate-e2e-pg-* directory; logs stay in the pytest workdir."""
    root = Path(tempfile.mkdtemp(prefix="snigate-e2e-pg-"))
    os.chmod(root, 0o700)
    shutil.chown(root, PG_USER, PG_USER)
    return root


def _pg_initdb_template() -> Path:
    """initdb + PG_SETUP_SQL once per test process (about 2-4 s); every cluster starts from a
    copy (0.2-0.5 s)."""
    global _pg_template
    if _pg_template is not None and (_pg_template / "data" / "PG_VERSION").is_file():
        return _pg_template / "data"
    root = _pg_tmp_root()
    atexit.register(shutil.rmtree, root, True)
    cp = run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(root / "data"), "-U", "postgres",
                           "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
                           "--no-instructions"]), timeout=120, cwd=root)
    if cp.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed ({cp.returncode}):\n{cp.stdout}\n{cp.stderr}")
    # exit_on_error: a failing statement ends single-user mode with a non-zero status.
    cp = run(_as_postgres([str(PG_BIN / "postgres"), "--single", "-D", str(root / "data"), "-F",
                           "-c", "exit_on_error=true", "postgres"]), timeout=60, cwd=root, stdin=None,
             input=PG_SETUP_SQL)
    if cp.returncode != 0 or "ERROR" in cp.stdout + cp.stderr:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"postgres --single (role set-up) failed ({cp.returncode}):\n{cp.stdout}\n{cp.stderr}")
    _pg_template = root
    return root / "data"


@dataclass
class PostgresServer:
    proc: Proc
    port: int
    root: Path      # /tmp/snigate-e2e-pg-*: data/ and sock/, owned by postgres, removed by stop()
    datadir: Path
    sockdir: Path
    workdir: Path   # pytest's: the server's stdout/stderr (its log) and a copy of its config
    cert: Optional[Path] = None   # the certificate it serves (the caller's file), when ssl=on

    def psql(self, sql: str, user: str = "postgres", db: str = "postgres", check: bool = True,
             timeout: float = 20.0) -> str:
        """Run SQL as `user` over the unix socket (trust), statement by statement (so CREATE
        DATABASE works); returns stdout, unaligned, tuples only, stripped."""
        cp = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(self.sockdir),
                             "-p", str(self.port), "-U", user, "-d", db, "-f", "-"],
                            input=sql, capture_output=True, text=True, timeout=timeout, env=pg_env())
        if check and cp.returncode != 0:
            raise AssertionError(f"psql as {user} on port {self.port} exited {cp.returncode}\n"
                                 f"sql: {sql}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}")
        return cp.stdout.strip()

    def log(self) -> str:
        return read_text(self.proc.stderr_path)

    def logs(self) -> str:
        return self.proc.logs()

    def alive(self) -> bool:
        return self.proc.alive()

    def stop(self) -> Optional[int]:
        """Fast shutdown (SIGINT: roll back, disconnect clients), then remove the data directory."""
        try:
            return self.proc.stop(sig=signal.SIGINT, timeout=20)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(workdir: Path, cert: Optional[Path] = None, key: Optional[Path] = None,
                   ca: Optional[Path] = None, setup_sql: str = "", hba: Optional[str] = None,
                   extra_conf: str = "") -> PostgresServer:
    """A PostgreSQL cluster (the newest server installed: PG_BIN) on 127.0.0.1:<free port> and a
    unix socket, run as the postgres user. With cert+key: ssl=on serving that certificate
    (copied into the data directory, key mode 0600). Roles alice (SCRAM), bob (MD5), trusty
    (trust); database app owned by alice (PG_SETUP_SQL, in the template), then setup_sql as
    postgres. hba replaces PG_HBA. Ready when a connection over the socket runs SQL and one over
    TCP is accepted; on failure the exception carries the server's log. A port taken between
    free_port() and the bind is retried."""
    for attempt in range(3):
        try:
            return _start_postgres_once(workdir, cert, key, ca, setup_sql, hba, extra_conf)
        except RuntimeError as e:
            if "could not bind" not in str(e) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_postgres_once(workdir, cert, key, ca, setup_sql, hba, extra_conf) -> PostgresServer:
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    template = _pg_initdb_template()
    root = _pg_tmp_root()
    (workdir / "pg-root").write_text(str(root) + "\n")  # where the data directory is
    datadir, sockdir = root / "data", root / "sock"
    proc = None
    try:
        cp = run(["cp", "-a", str(template), str(datadir)], timeout=60)
        if cp.returncode != 0:
            raise RuntimeError(f"copying the initdb template failed:\n{cp.stderr}")
        sockdir.mkdir(mode=0o700)
        shutil.chown(sockdir, PG_USER, PG_USER)
        port = free_port()
        conf = [f"listen_addresses = '{LOCALHOST}'", f"port = {port}",
                f"unix_socket_directories = '{sockdir}'",
                "password_encryption = 'scram-sha-256'",
                "max_connections = 50", "shared_buffers = 16MB",
                "fsync = off", "synchronous_commit = off", "full_page_writes = off",
                "log_connections = on", "log_disconnections = off",
                "log_line_prefix = '%m [%p] %q%u@%d '"]
        if cert is not None:
            if key is None:
                raise ValueError("start_postgres: cert without key")
            files = {"server.crt": cert, "server.key": key}
            if ca is not None:
                files["root.crt"] = ca
            for name, src in files.items():
                dst = datadir / name
                shutil.copyfile(src, dst)
                os.chmod(dst, 0o600)
                shutil.chown(dst, PG_USER, PG_USER)
            conf += ["ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"]
            if ca is not None:
                conf.append("ssl_ca_file = 'root.crt'")
        conf_text = "\n# snigate e2e\n" + "\n".join(conf) + "\n" + extra_conf + "\n"
        with open(datadir / "postgresql.conf", "a") as f:
            f.write(conf_text)
        hba_text = PG_HBA if hba is None else hba
        (datadir / "pg_hba.conf").write_text(hba_text)
        shutil.chown(datadir / "pg_hba.conf", PG_USER, PG_USER)
        (workdir / "postgresql.conf.snigate").write_text(conf_text)
        (workdir / "pg_hba.conf").write_text(hba_text)

        proc = Proc("postgres", _as_postgres([str(PG_BIN / "postgres"), "-D", str(datadir)]), workdir,
                    cwd=datadir)
        server = PostgresServer(proc, port, root, datadir, sockdir, workdir, cert)

        def ready(host):
            def check():
                if not proc.alive():
                    raise RuntimeError(f"postgres exited with {proc.proc.returncode} during start-up\n"
                                       + proc.logs())
                # pg_isready sends a real startup packet; 0 = accepting connections (whatever
                # the authentication would say).
                return run(["pg_isready", "-q", "-h", host, "-p", str(port), "-t", "2"], timeout=5,
                           env=pg_env()).returncode == 0
            return check
        wait_until(ready(str(sockdir)), START_TIMEOUT, f"postgres to accept on {sockdir} port {port}",
                   interval=0.05, on_timeout=proc.logs)
        server.psql("select 1" + (";\n" + setup_sql if setup_sql else ""))
        wait_until(ready(LOCALHOST), START_TIMEOUT, f"postgres to accept on {LOCALHOST}:{port}",
                   interval=0.05, on_timeout=proc.logs)
        return server
    except BaseException as e:
        log = proc.logs() if proc is not None else ""
        if proc is not None:
            proc.stop(sig=signal.SIGINT, timeout=10)
        shutil.rmtree(root, ignore_errors=True)
        if isinstance(e, (RuntimeError, TimeoutError, AssertionError)) and log and log not in str(e):
            raise RuntimeError(f"PostgreSQL start-up failed: {e}\n{log}") from e
        raise
