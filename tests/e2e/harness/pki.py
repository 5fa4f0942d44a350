"""A throwaway PKI made with the openssl CLI: one CA and ECDSA P-256 leaf certificates."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Leaf:
    name: str
    cert: Path  # PEM, leaf only
    key: Path   # PEM, PKCS#8


@dataclass
class Pki:
    dir: Path
    ca_cert: Path
    ca_key: Path
    leaves: dict

    def __getitem__(self, name: str) -> Leaf:
        return self.leaves[name]


def _openssl(*args: str, cwd: Path) -> None:
    cp = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    if cp.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{cp.stderr}")


def _ec_key(path: Path, cwd: Path) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path), cwd=cwd)


def make_pki(dir: Path, names: dict) -> Pki:
    """names: {label: [dns names]}; the first DNS name becomes the CN. Returns paths by label."""
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = dir / "ca.key", dir / "ca.pem"
    _ec_key(ca_key, dir)
    _openssl("req", "-x509", "-new", "-key", str(ca_key), "-sha256", "-days", "3650",
             "-subj", "/CN=snigate e2e test CA", "-out", str(ca_cert),
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=dir)
    leaves = {}
    for label, dns in names.items():
        key, csr, cert, ext = (dir / f"{label}.key", dir / f"{label}.csr", dir / f"{label}.pem",
                               dir / f"{label}.ext")
        _ec_key(key, dir)
        _openssl("req", "-new", "-key", str(key), "-subj", f"/CN={dns[0]}", "-out", str(csr), cwd=dir)
        ext.write_text("basicConstraints=CA:FALSE\n"
                       "keyUsage=critical,digitalSignature\n"
                       "extendedKeyUsage=serverAuth,clientAuth\n"
                       "subjectAltName=" + ",".join(f"DNS:{d}" for d in dns) + "\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
                 "-CAcreateserial", "-days", "825", "-sha256", "-extfile", str(ext), "-out", str(cert), cwd=dir)
        leaves[label] = Leaf(label, cert, key)
    return Pki(dir, ca_cert, ca_key, leaves)
