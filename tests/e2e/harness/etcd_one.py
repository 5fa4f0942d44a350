"""One etcd member (Debian etcd-server 3.4, /usr/bin/etcd) on loopback for the kv tests: its own
data directory and free ports (never 2379/2380), optionally https with client certificates, and
etcdctl for the tests' own reads. The three-member cluster of the fleet tests is elsewhere."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Optional

from .pki import Pki
from .util import LOCALHOST, Proc, free_port, run, wait_until

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"


class Etcd:
    """One etcd member with its own data directory and free ports (never 2379/2380). With pki:
    https on the client port, a certificate for localhost, client certificates required."""

    def __init__(self, workdir: Path, name: str, pki: Optional[Pki] = None):
        self.client_port, self.peer_port = free_port(), free_port()
        while self.peer_port == self.client_port:
            self.peer_port = free_port()
        self.pki = pki
        scheme = "https" if pki else "http"
        client, peer = f"{scheme}://{LOCALHOST}:{self.client_port}", f"http://{LOCALHOST}:{self.peer_port}"
        tls = ["--cert-file", str(pki["etcd"].cert), "--key-file", str(pki["etcd"].key), "--client-cert-auth",
               "--trusted-ca-file", str(pki.ca_cert)] if pki else []
        self.name, self.workdir, self.runs = name, workdir, 1
        self.argv = [ETCD, "--name", name, "--data-dir", str(workdir / "data"),
                     "--listen-client-urls", client, "--advertise-client-urls", client,
                     "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                     "--initial-cluster", f"{name}={peer}", *tls]
        self.proc = Proc(name, self.argv, workdir)
        wait_until(lambda: self.ctl("endpoint", "health", check=False).returncode == 0, 20,
                   f"{name} to be healthy", interval=0.1, on_timeout=self.proc.logs)

    @property
    def endpoint(self) -> str:
        """host:port; with TLS the name its certificate has."""
        return f"localhost:{self.client_port}" if self.pki else f"{LOCALHOST}:{self.client_port}"

    def ctl(self, *args, user: str = "", check: bool = True):
        argv = [ETCDCTL, "--endpoints", ("https://" if self.pki else "") + self.endpoint]
        if self.pki:
            argv += ["--cacert", str(self.pki.ca_cert), "--cert", str(self.pki["client"].cert),
                     "--key", str(self.pki["client"].key)]
        argv += (["--user", user] if user else []) + list(args)
        return run(argv, timeout=10, check=check, env={**os.environ, "ETCDCTL_API": "3"})

    def keys(self, prefix: str, user: str = "") -> dict:
        """Every key under prefix and its value (etcdctl prints key and value on separate lines)."""
        lines = self.ctl("get", "--prefix", prefix, user=user).stdout.splitlines()
        return dict(zip(lines[0::2], lines[1::2]))

    def stop(self) -> None:
        """SIGTERM and reap: etcd binds its ports again only once the old process is gone."""
        self.proc.stop(signal.SIGTERM)

    def start_again(self) -> None:
        self.runs += 1
        self.proc = Proc(f"{self.name}-{self.runs}", self.argv, self.workdir)
        wait_until(lambda: self.ctl("endpoint", "health", check=False).returncode == 0, 20,
                   f"{self.name} to be healthy again", interval=0.1, on_timeout=self.proc.logs)

    def revision(self) -> int:
        out = self.ctl("get", "--prefix", "", "-w", "json", "--limit", "1").stdout
        return int(json.loads(out)["header"]["revision"])
