"""PROXY protocol peers for test_proxy_protocol.py: HAProxy (a sender in front of snigate and a
receiver behind it, logging what each header said) and an nginx stream server that answers every
connection with the address its PROXY header gave. Also raw v1/v2 header bytes for clients that
write their own."""
from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from .util import LOCALHOST, Proc, free_port, read_text, wait_port

START_TIMEOUT = 15.0
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


@dataclass
class HAProxy:
    proc: Proc
    ports: dict  # frontend name -> port

    def log(self) -> str:
        return read_text(self.proc.stdout_path) + read_text(self.proc.stderr_path)

    def stop(self):
        self.proc.stop()


def start_haproxy(workdir: Path, senders: dict, receivers: dict) -> HAProxy:
    """senders: {name: (snigate port, "send-proxy" or "send-proxy-v2")}: a frontend that passes each
    connection to snigate with that header. receivers: {name: (backend port, bind options)}: a
    frontend that requires a PROXY header (`accept-proxy` plus the options, e.g. `ssl crt F`) and
    logs `pp name=<frontend> ci=<client address> cp=<client port> authority=<fc_pp_authority>` to
    stdout when a connection ends, then passes the connection to the backend."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in [*senders, *receivers]}
    conf = ["global", "  maxconn 200", "  log stdout format raw local0 info",
            "defaults", "  mode tcp", "  log global", "  timeout connect 5s", "  timeout client 30s",
            "  timeout server 30s"]
    for name, (target, send) in senders.items():
        conf += [f"frontend {name}", f"  bind {LOCALHOST}:{ports[name]}", "  no log", f"  default_backend be_{name}",
                 f"backend be_{name}", f"  server s {LOCALHOST}:{target} {send}"]
    for name, (target, options) in receivers.items():
        conf += [f"frontend {name}", f"  bind {LOCALHOST}:{ports[name]} accept-proxy {options}".rstrip(),
                 '  log-format "pp name=%f ci=%ci cp=%cp authority=%[fc_pp_authority]"',
                 f"  default_backend be_{name}", f"backend be_{name}", f"  server s {LOCALHOST}:{target}"]
    path = workdir / "haproxy.cfg"
    path.write_text("\n".join(conf) + "\n")
    proc = Proc("haproxy", ["haproxy", "-db", "-f", str(path)], workdir)
    for port in ports.values():
        wait_port(port, START_TIMEOUT, "haproxy", proc, proc.logs)
    return HAProxy(proc, ports)


@dataclass
class NginxStream:
    proc: Proc
    port: int

    def stop(self):
        self.proc.stop()


def start_nginx_stream(workdir: Path) -> NginxStream:
    """nginx with one stream server that reads a PROXY header (v1 or v2) and answers
    `<$proxy_protocol_addr>:<$proxy_protocol_port> <$remote_addr>` and a newline, then closes."""
    workdir = Path(workdir)
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    port = free_port()
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = (f"load_module {NGINX_STREAM_MODULE};\n{user}worker_processes 1;\npid {workdir}/nginx.pid;\n"
            f"error_log stderr warn;\nevents {{ worker_connections 64; }}\n"
            f"stream {{\n  server {{\n    listen {LOCALHOST}:{port} proxy_protocol;\n"
            f"    return \"$proxy_protocol_addr:$proxy_protocol_port $remote_addr\\n\";\n  }}\n}}\n")
    path = workdir / "nginx.conf"
    path.write_text(conf)
    proc = Proc("nginx-stream", ["nginx", "-c", str(path), "-p", str(workdir), "-e", "stderr",
                                 "-g", "daemon off;"], workdir)
    wait_port(port, START_TIMEOUT, "nginx stream", proc, proc.logs)
    return NginxStream(proc, port)


def v1_header(src: str, sport: int, dst: str, dport: int) -> bytes:
    return f"PROXY TCP4 {src} {dst} {sport} {dport}\r\n".encode()


def v2_header(src: str, sport: int, dst: str, dport: int, local: bool = False) -> bytes:
    if local:
        return V2_SIGNATURE + bytes([0x20, 0x00, 0, 0])
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def connect_from(source: str, port: int, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:port from the loopback address `source` (e.g. 127.0.0.2)."""
    return socket.create_connection((LOCALHOST, port), timeout=timeout, source_address=(source, 0))
