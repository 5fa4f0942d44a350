"""A real ACME (RFC 8555) server on loopback for the ACME tests: Debian's Pebble 2.4
(/usr/bin/pebble) with pebble-challtestsrv (/usr/bin/pebble-challtestsrv) as its DNS server.
snigate under test is the ACME client: it talks to `directory_url` (trusting `ca_file`) and
answers Pebble's HTTP-01 and TLS-ALPN-01 validations on the ports given to start_pebble().

    pebble = start_pebble(workdir, http_port=gw_http, tls_port=gw_tls, validity_seconds=3600)
    # snigate: caServer = pebble.directory_url, caCertificates = [pebble.ca_file]
    ...
    pebble.wait_log("Issued certificate serial")
    roots = pebble.write_roots(workdir / "pebble-roots.pem")   # verify what snigate serves
    assert pebble.orders_logged() == 1 and pebble.issued_logged() == 1
    pebble.stop()                                              # or: with start_pebble(...) as pebble:

What runs (all on 127.0.0.1, free ports picked here except http_port and tls_port):
  pebble-challtestsrv  DNS only: -dns01 127.0.0.1:<dns_port> (UDP and TCP), its HTTP-01,
                       HTTPS-01 and TLS-ALPN-01 responders off, management API (plain HTTP) on
                       127.0.0.1:<dns_management_port>. Every A query is answered 127.0.0.1 and
                       AAAA queries get no answer (-defaultIPv6 ""): Pebble's VA asks AAAA
                       first and dials the first address, so with challtestsrv's default ::1
                       it would validate on [::1].
  pebble               -config <workdir>/pebble-config.json -dnsserver 127.0.0.1:<dns_port>.
                       ACME directory https://127.0.0.1:<port>/dir, management interface
                       https://127.0.0.1:<management_port> (/roots/0, /intermediates/0,
                       /cert-status-by-serial/<hex>), both with one certificate (SANs localhost
                       and IP 127.0.0.1) signed by a CA made here: `ca_file`. Pebble validates
                       HTTP-01 with GET http://NAME:<http_port>/.well-known/acme-challenge/TOKEN
                       and TLS-ALPN-01 with a handshake to NAME:<tls_port> (SNI NAME, ALPN
                       acme-tls/1, no certificate verification: the test CA plays no part in
                       validation), NAME resolved through challtestsrv, so to 127.0.0.1. It runs
                       three validation attempts per challenge, concurrently; all must pass.

Environment of pebble: every PEBBLE_* variable of ours is dropped, then PEBBLE_VA_NOSLEEP=1
(validate at once, no random 0-15 s sleeps), PEBBLE_WFE_NONCEREJECT only when nonce_reject is
given (Pebble's default: 5 % of good nonces are refused with badNonce; 0 never), and
PEBBLE_AUTHZREUSE only when authz_reuse is given (default 50 % reuse of valid authorizations).

Pebble keeps everything in memory, makes a new root and intermediate at every start (fetch them
with root_pem()/intermediate_pem(), never from an earlier run) and ignores unknown config keys.

Pebble's log (stdout, `Pebble YYYY/MM/DD HH:MM:SS ` prefix) lines this module relies on:
  `ACME directory available at: https://127.0.0.1:<port>/dir`      start-up (readiness is /dir)
  `There are now N accounts in memory`                             each new account
  `There are now N orders in the db`                               each new order (orders_logged)
  `There are now N authorizations in the db`                       each new authorization
  `Attempting to validate w/ HTTP: http://NAME:PORT/.well-known/acme-challenge/TOKEN`
                                                                   each HTTP-01 attempt (x3)
  `authz ID set VALID by completed challenge ID` / `... set INVALID ...`   challenge outcome
  `Issued certificate serial HEX for order ID`                     each certificate (issued_logged)
  `Using certificate validity period of N seconds`                 start-up (default 157766400: 5 years)
TLS-ALPN-01 attempts have no line of their own (only the task and the authz outcome).
"""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import socket
import ssl
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .pki import _ec_key, _openssl, make_pki
from .util import LOCALHOST, Proc, free_port, read_text, wait_until

PEBBLE = "/usr/bin/pebble"
CHALLTESTSRV = "/usr/bin/pebble-challtestsrv"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

ORDER_RE = re.compile(r"There are now (\d+) orders in the db")
ISSUED_RE = re.compile(r"Issued certificate serial ([0-9a-f]+) for order (\S+)")
HTTP_ATTEMPT_RE = re.compile(r"Attempting to validate w/ HTTP: (\S+)")


def pebble_missing() -> Optional[str]:
    """Why Pebble cannot run here (a skip reason, a failure under CI=true), or None."""
    for path in (PEBBLE, CHALLTESTSRV):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} is not installed (Debian package pebble; scripts/install-deps.sh --test)"
    return None


# ---------------------------------------------------------------- small clients

def _https_get(port: int, path: str, cafile: Path, timeout: float = 2.0) -> tuple:
    """GET https://127.0.0.1:port/path, verified with cafile (IP SAN 127.0.0.1), no proxy:
    (status, body text)."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    conn = http.client.HTTPSConnection(LOCALHOST, port, timeout=timeout, context=ctx)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def _http_post_json(port: int, path: str, body: dict, timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection(LOCALHOST, port, timeout=timeout)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _skip_name(data: bytes, pos: int) -> int:
    while True:
        n = data[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:  # compression pointer ends the name
            return pos + 2
        pos += 1 + n


def dns_a(port: int, name: str, timeout: float = 1.0) -> list:
    """The A records challtestsrv (127.0.0.1:port, UDP, as Pebble asks) gives for name."""
    qid = random.randrange(1 << 16)
    qname = b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split("."))
    query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + b"\0" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query, (LOCALHOST, port))
        data = s.recv(4096)
    rid, _flags, qd, an = struct.unpack(">HHHH", data[:8])
    if rid != qid:
        return []
    pos = 12
    for _ in range(qd):
        pos = _skip_name(data, pos) + 4
    addrs = []
    for _ in range(an):
        pos = _skip_name(data, pos)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", data[pos:pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(data[pos:pos + 4]))
        pos += rdlen
    return addrs


# ---------------------------------------------------------------- the server

@dataclass
class Pebble:
    workdir: Path
    port: int                 # ACME over HTTPS: directory_url
    management_port: int      # Pebble's management interface (HTTPS, same certificate)
    http_port: int            # where Pebble validates HTTP-01 (the gateway listens there)
    tls_port: int             # where Pebble validates TLS-ALPN-01
    dns_port: int             # challtestsrv's DNS (UDP and TCP), Pebble's -dnsserver
    dns_management_port: int  # challtestsrv's management API (plain HTTP: /add-a, /set-default-ipv4, ...)
    ca_file: Path             # CA PEM that signs Pebble's HTTPS certificate (caCertificates)
    cert_file: Path           # Pebble's HTTPS certificate and key
    key_file: Path
    config_file: Path
    config: dict              # what was written to config_file
    env: dict                 # the PEBBLE_* variables Pebble got
    pebble: Optional[Proc] = None
    challtestsrv: Optional[Proc] = None
    stopped: bool = field(default=False, init=False)

    # ------------------------------------------------------------ addresses and certificates

    @property
    def directory_url(self) -> str:
        return f"https://{LOCALHOST}:{self.port}/dir"

    @property
    def management_url(self) -> str:
        return f"https://{LOCALHOST}:{self.management_port}"

    @property
    def procs(self) -> list:
        return [p for p in (self.pebble, self.challtestsrv) if p is not None]

    def directory(self) -> dict:
        """GET /dir (verified with ca_file) as JSON."""
        status, body = _https_get(self.port, "/dir", self.ca_file)
        if status != 200:
            raise AssertionError(f"GET {self.directory_url}: HTTP {status}\n{body}")
        return json.loads(body)

    def _management_get(self, path: str) -> str:
        status, body = _https_get(self.management_port, path, self.ca_file)
        if status != 200:
            raise AssertionError(f"GET {self.management_url}{path}: HTTP {status}\n{body}")
        return body

    def root_pem(self, index: int = 0) -> str:
        """The root this run of Pebble issues under (GET /roots/0 on the management port);
        with alternate_roots, /roots/1... are the alternate chains' roots."""
        return self._management_get(f"/roots/{index}")

    def intermediate_pem(self) -> str:
        """The intermediate that signs the leaves (GET /intermediates/0)."""
        return self._management_get("/intermediates/0")

    def write_roots(self, path: Path) -> Path:
        """Write the root PEM to path (a CA file for clients that verify the chains snigate
        serves: leaf + intermediate, as Pebble hands them out)."""
        path = Path(path)
        path.write_text(self.root_pem())
        return path

    def cert_status(self, serial_hex: str) -> dict:
        """GET /cert-status-by-serial/<hex>: {"Certificate", "Status", "Serial", ...}."""
        return json.loads(self._management_get(f"/cert-status-by-serial/{serial_hex}"))

    # ------------------------------------------------------------ logs

    def log_text(self) -> str:
        """Pebble's output so far (its log is on stdout; stderr only holds Go's crashes)."""
        if self.pebble is None:
            return ""
        return read_text(self.pebble.stdout_path) + read_text(self.pebble.stderr_path)

    def orders_logged(self) -> int:
        """How many orders Pebble holds, from its last `There are now N orders in the db`
        (one line per new order); 0 before the first."""
        found = ORDER_RE.findall(self.log_text())
        return int(found[-1]) if found else 0

    def issued_serials(self) -> list:
        """Serials (lower-case hex, as in `Issued certificate serial HEX for order ID`) of every
        certificate issued so far, oldest first."""
        return [m.group(1) for m in ISSUED_RE.finditer(self.log_text())]

    def issued_logged(self) -> int:
        return len(self.issued_serials())

    def http_attempts(self) -> list:
        """Every HTTP-01 URL Pebble fetched (three per challenge), oldest first."""
        return HTTP_ATTEMPT_RE.findall(self.log_text())

    def wait_log(self, text: str, count: int = 1, timeout: float = 10.0) -> str:
        """Wait until Pebble's log holds text at least count times; return the log."""
        def seen():
            log = self.log_text()
            return log if log.count(text) >= count else None
        return wait_until(seen, timeout, f"{count} x {text!r} in Pebble's log", interval=0.05,
                          on_timeout=lambda: self.logs(lines=40))

    def logs(self, lines: int = 0) -> str:
        """Both processes' output; with lines > 0 only the last `lines` lines of each stream."""
        def cut(text: str) -> str:
            return "\n".join(text.splitlines()[-lines:]) if lines > 0 else text
        out = [f"=== pebble: ACME {self.directory_url}, management {self.management_url}, "
               f"validates http-01 on {self.http_port}, tls-alpn-01 on {self.tls_port}, "
               f"dns 127.0.0.1:{self.dns_port}"]
        for p in self.procs:
            out.append(f"--- {p.name}: {' '.join(p.argv)}\n--- stdout:\n{cut(read_text(p.stdout_path))}"
                       f"\n--- stderr:\n{cut(read_text(p.stderr_path))}")
        return "\n".join(out)

    # ------------------------------------------------------------ life cycle

    def alive(self) -> bool:
        return bool(self.procs) and all(p.alive() for p in self.procs)

    def stop(self) -> None:
        """SIGTERM both (Pebble dies of it: -15; challtestsrv shuts down and exits 0), wait,
        SIGKILL the process group of one still there after STOP_TIMEOUT. Safe to call twice."""
        for p in self.procs:
            if p.alive():
                try:
                    p.proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            p.stop(timeout=STOP_TIMEOUT)
        self.stopped = True

    def __enter__(self) -> "Pebble":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------- start-up

def _distinct_ports(n: int, taken) -> list:
    ports: list = []
    while len(ports) < n:
        p = free_port()
        if p not in ports and p not in taken:
            ports.append(p)
    return ports


def _make_tls(dir: Path) -> tuple:
    """A CA (harness/pki.py) and a leaf for Pebble's listeners with SANs DNS:localhost and
    IP:127.0.0.1 (pki.make_pki makes DNS names only): (ca, cert, key)."""
    pki = make_pki(dir, {})
    key, csr, cert, ext = dir / "pebble.key", dir / "pebble.csr", dir / "pebble.pem", dir / "pebble.ext"
    _ec_key(key, dir)
    _openssl("req", "-new", "-key", str(key), "-subj", "/CN=localhost", "-out", str(csr), cwd=dir)
    ext.write_text("basicConstraints=CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n"
                   f"subjectAltName=DNS:localhost,IP:{LOCALHOST}\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(pki.ca_cert), "-CAkey", str(pki.ca_key),
             "-CAcreateserial", "-days", "30", "-sha256", "-extfile", str(ext), "-out", str(cert), cwd=dir)
    return pki.ca_cert, cert, key


def _check_alive(pb: Pebble, what: str) -> None:
    for p in pb.procs:
        if not p.alive():
            raise RuntimeError(f"{what}: {p.name} exited with {p.proc.returncode}\n{pb.logs(lines=40)}")


def _wait_challtestsrv(pb: Pebble) -> None:
    """Ready when a record added through its management API comes back from its DNS port:
    both ports are this process's (challtestsrv keeps running when a bind fails)."""
    host = f"probe-{random.randrange(1 << 32):08x}.snigate-e2e.test."
    addr = f"127.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"

    def ready():
        _check_alive(pb, "pebble-challtestsrv did not start")
        try:
            if _http_post_json(pb.dns_management_port, "/add-a", {"host": host, "addresses": [addr]}) != 200:
                return False
            return addr in dns_a(pb.dns_port, host, timeout=0.3)
        except (OSError, http.client.HTTPException):
            return False
    wait_until(ready, START_TIMEOUT, f"pebble-challtestsrv DNS on 127.0.0.1:{pb.dns_port}",
               interval=0.05, on_timeout=lambda: pb.logs(lines=40))
    _http_post_json(pb.dns_management_port, "/clear-a", {"host": host})


def _wait_pebble(pb: Pebble) -> None:
    """Ready when /dir and /roots/0 answer over HTTPS verified with our CA (so they are ours)."""
    seen = {}

    def ready():
        _check_alive(pb, "pebble did not start")
        try:
            status, body = _https_get(pb.port, "/dir", pb.ca_file, timeout=1.0)
            seen["dir"] = f"{status} {body[:200]}"
            if status != 200 or "newOrder" not in body:
                return False
            status, body = _https_get(pb.management_port, "/roots/0", pb.ca_file, timeout=1.0)
            seen["roots"] = f"{status} {body[:80]}"
            return status == 200 and "BEGIN CERTIFICATE" in body
        except (OSError, http.client.HTTPException) as e:  # ssl.SSLError is an OSError
            seen["error"] = repr(e)
            return False
    wait_until(ready, START_TIMEOUT, f"pebble at {pb.directory_url}", interval=0.05,
               on_timeout=lambda: f"last: {seen}\n{pb.logs(lines=40)}")


def start_pebble(workdir: Path, http_port: int, tls_port: int, *,
                 validity_seconds: int | None = None, blocklist: list[str] = (),
                 eab: dict[str, str] | None = None, nonce_reject: int | None = None,
                 authz_reuse: int | None = None, alternate_roots: int | None = None) -> Pebble:
    """Start challtestsrv (DNS) and Pebble; return once Pebble's directory and management
    interface answer over verified HTTPS. Pebble validates HTTP-01 on http_port and TLS-ALPN-01
    on tls_port (127.0.0.1, nothing needs to listen there yet).

    validity_seconds: certificateValidityPeriod (Pebble's default: 157766400 s, 5 years).
    blocklist: domainBlocklist; an order naming one of them (or a name below it) is refused
        with rejectedIdentifier.
    eab: externalAccountMACKeys, kid -> base64url HMAC key; when given (even {}),
        externalAccountBindingRequired is true and the directory's meta says so.
    nonce_reject, authz_reuse: PEBBLE_WFE_NONCEREJECT and PEBBLE_AUTHZREUSE (percent).
    alternate_roots: PEBBLE_ALTERNATE_ROOTS: that many more roots, each offering an alternate
        chain for every certificate (Link rel="alternate"), their roots at /roots/1...

    Raises FileNotFoundError when Pebble is not installed, RuntimeError (a process exited) or
    TimeoutError (not ready within START_TIMEOUT) with the end of both logs; nothing is left
    running then."""
    missing = pebble_missing()
    if missing:
        raise FileNotFoundError(missing)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ca, cert, key = _make_tls(workdir / "pki")
    port, mgmt, dns, dns_mgmt = _distinct_ports(4, {http_port, tls_port})

    config = {
        "listenAddress": f"{LOCALHOST}:{port}",
        "managementListenAddress": f"{LOCALHOST}:{mgmt}",
        "certificate": str(cert),
        "privateKey": str(key),
        "httpPort": http_port,
        "tlsPort": tls_port,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": eab is not None,
    }
    if eab is not None:
        config["externalAccountMACKeys"] = dict(eab)
    if blocklist:
        config["domainBlocklist"] = list(blocklist)
    if validity_seconds is not None:
        config["certificateValidityPeriod"] = int(validity_seconds)
    config_file = workdir / "pebble-config.json"
    config_file.write_text(json.dumps({"pebble": config}, indent=2) + "\n")

    pebble_env = {"PEBBLE_VA_NOSLEEP": "1"}
    if nonce_reject is not None:
        pebble_env["PEBBLE_WFE_NONCEREJECT"] = str(int(nonce_reject))
    if authz_reuse is not None:
        pebble_env["PEBBLE_AUTHZREUSE"] = str(int(authz_reuse))
    if alternate_roots is not None:
        pebble_env["PEBBLE_ALTERNATE_ROOTS"] = str(int(alternate_roots))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
    env.update(pebble_env)

    pb = Pebble(workdir, port, mgmt, http_port, tls_port, dns, dns_mgmt, ca, cert, key, config_file,
                config, pebble_env)
    try:
        pb.challtestsrv = Proc("challtestsrv", [
            CHALLTESTSRV, "-dns01", f"{LOCALHOST}:{dns}", "-http01", "", "-https01", "",
            "-tlsalpn01", "", "-management", f"{LOCALHOST}:{dns_mgmt}",
            "-defaultIPv4", LOCALHOST, "-defaultIPv6", ""], workdir, env=env)
        _wait_challtestsrv(pb)
        pb.pebble = Proc("pebble", [PEBBLE, "-config", str(config_file),
                                    "-dnsserver", f"{LOCALHOST}:{dns}"], workdir, env=env)
        _wait_pebble(pb)
        return pb
    except BaseException:
        pb.stop()
        raise
