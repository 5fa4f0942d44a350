"""Config builders for snigate tests (Traefik file-provider YAML as Python dicts)."""
from __future__ import annotations

from .pki import Pki
from .util import free_port


def router(rule: str, service: str, eps=("web",), tls=None, priority=None) -> dict:
    r = {"entryPoints": list(eps), "rule": rule, "service": service}
    if tls is not None:
        r["tls"] = tls
    if priority is not None:
        r["priority"] = priority
    return r


def lb(*addresses, tls: bool = False, transport: str | None = None) -> dict:
    servers_ = []
    for a in addresses:
        s = {"address": a}
        if tls:
            s["tls"] = True
        servers_.append(s)
    out = {"loadBalancer": {"servers": servers_}}
    if transport:
        out["loadBalancer"]["serversTransport"] = transport
    return out


def addr(port: int) -> str:
    return f"127.0.0.1:{port}"


def main_config(pki: Pki, nginx, redis, s_server, hash_server, dead_port: int) -> dict:
    """The shared gateway config: every router kind on one mixed entry point `web`."""
    p1, p2 = nginx.plain_ports["plain-1"], nginx.plain_ports["plain-2"]
    ports = {"web": free_port(), "plainhttp": free_port(), "upload": free_port()}
    return {
        "entryPoints": {
            "web": {"address": addr(ports["web"]), "firstByteTimeout": "300ms"},
            "plainhttp": {"address": addr(ports["plainhttp"])},
            "upload": {"address": addr(ports["upload"])},
        },
        "tcp": {
            "routers": {
                "pass": router("HostSNI(`backend.test`)", "tlsnginx", tls={"passthrough": True}),
                "term": router("HostSNI(`a.test`)", "plainnginx", tls={}),
                "wild": router("HostSNI(`*.wild.test`)", "plainnginx", tls={}),
                "reenc": router("HostSNI(`b.test`)", "tlsbackend", tls={}),
                "rev": router("HostSNI(`rev.wild.test`)", "revsrv", tls={}, priority=100),
                "up": router("HostSNI(`up.wild.test`)", "hashsvc", tls={}, priority=100),
                "rr": router("HostSNI(`rr.wild.test`)", "rrsvc", tls={}, priority=100),
                "badname": router("HostSNI(`badname.wild.test`)", "tlsbadname", tls={}, priority=100),
                "down": router("HostSNI(`down.wild.test`)", "deadsvc", tls={}, priority=100),
                "who": router("HostSNI(`who.test`)", "whoami@internal", tls={}),
                "plain": router("HostSNI(`*`)", "redis"),
                "plainweb": router("HostSNI(`*`)", "plain1", eps=["plainhttp"]),
                "plainup": router("HostSNI(`*`)", "hashsvc", eps=["upload"]),
            },
            "services": {
                # A refused server first: passthrough sends the ClientHello with the connect,
                # and a refusal must move on to the next server with the hello intact.
                "tlsnginx": lb(addr(dead_port), addr(nginx.tls_port)),
                "plainnginx": lb(addr(dead_port), addr(p1)),
                "tlsbackend": lb(addr(nginx.tls_port), tls=True, transport="st"),
                "tlsbadname": lb(addr(nginx.tls_port), tls=True, transport="stbad"),
                "revsrv": lb(addr(s_server.port), tls=True, transport="st"),
                "hashsvc": lb(addr(hash_server.port)),
                "rrsvc": lb(addr(p1), addr(p2)),
                "deadsvc": lb(addr(dead_port)),
                "redis": lb(addr(redis.port)),
                "plain1": lb(addr(p1)),
            },
            "serversTransports": {
                "st": {"dialTimeout": "2s",
                       "tls": {"serverName": "backend.test", "rootCAs": [str(pki.ca_cert)]}},
                # The backend's certificate is for backend.test, not wrong.test: verification must fail.
                "stbad": {"dialTimeout": "2s",
                          "tls": {"serverName": "wrong.test", "rootCAs": [str(pki.ca_cert)]}},
            },
        },
        "tls": {
            "certificates": [{"certFile": str(pki[n].cert), "keyFile": str(pki[n].key)}
                             for n in ("a", "b", "wild")],
            "stores": {"default": {"defaultCertificate": {"certFile": str(pki["default"].cert),
                                                          "keyFile": str(pki["default"].key)}}},
        },
    }
