"""What the mail tests through snigate share: two sites (a.mail.test, b.mail.test) with their
own certificates, snigate's certificates for the terminating names (mx-a, mx-b) and its default,
the serversTransport that verifies site b, and a raw line dialogue with snigate's greeter."""
from __future__ import annotations

import socket
from pathlib import Path

from .mail import MailSite, start_mail_site, stop_sites
from .pki import Pki, make_pki
from .util import LOCALHOST

SITES = {"a": "a.mail.test", "b": "b.mail.test"}


def mail_pki(dir: Path) -> Pki:
    return make_pki(dir, {"a": ["a.mail.test"], "b": ["b.mail.test"], "mx-a": ["mx-a.mail.test"],
                          "mx-b": ["mx-b.mail.test"], "default": ["default.mail.test"]})


def start_sites(request, workdir: Path, pki: Pki) -> dict:
    """Both sites, stopped when the module ends: {"a": MailSite, "b": MailSite}."""
    sites: dict = {}
    request.addfinalizer(lambda: stop_sites(*sites.values()))
    for k, domain in SITES.items():
        sites[k] = start_mail_site(workdir / domain, domain, pki[k].cert, pki[k].key)
    return sites


def transports(pki: Pki) -> dict:
    """serversTransports: `tob` verifies site b's own certificate."""
    return {"tob": {"dialTimeout": "2s", "tls": {"serverName": "b.mail.test", "rootCAs": [str(pki.ca_cert)]}}}


def tls_section(pki: Pki) -> dict:
    return {
        "certificates": [{"certFile": str(pki[n].cert), "keyFile": str(pki[n].key)} for n in ("mx-a", "mx-b")],
        "stores": {"default": {"defaultCertificate": {"certFile": str(pki["default"].cert),
                                                      "keyFile": str(pki["default"].key)}}},
    }


def other_site(sites: dict, k: str) -> MailSite:
    return sites["b" if k == "a" else "a"]


def dialogue(port: int, lines: list, timeout: float = 5.0, quiet: float = 1.0) -> str:
    """Reads the greeting, then sends each line (CRLF added) and reads its answer; returns all
    snigate said until it closed or went quiet for `quiet` seconds."""
    out = b""
    with socket.create_connection((LOCALHOST, port), timeout=timeout) as s:
        out += s.recv(4096)
        for line in lines:
            s.sendall(line.encode() + b"\r\n")
            chunk = s.recv(4096)
            out += chunk
            if not chunk:
                break
        s.settimeout(quiet)
        try:
            while chunk := s.recv(4096):
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    return out.decode(errors="replace")
