#!/usr/bin/python3
"""SMTP with STARTTLS directly to a server and through snigate's `protocol: smtp` entry point,
passing TLS through and terminating it: what routing by the SNI after STARTTLS costs per
connection and per message.

    SNIGATE_BIN=build-bench/snigate /usr/bin/python3 bench/smtp_starttls.py \\
        [--snigate PATH] [--connections N] [--clients C] [--seconds S] [--messages M] [--sizes KiB,...]
        [--rounds R]

Starts its own SMTP server (bench/smtp_sink.py: STARTTLS, AUTH, every message read in bulk and
thrown away, so neither a Maildir nor a line-by-line reader is the bottleneck) and snigate on
free ports, with the e2e harness's PKI and process helpers, and measures three targets:

  targets    direct       STARTTLS straight to the server (SNI and certificate mail.bench.test)
             passthrough  snigate greets, takes the client's EHLO and STARTTLS, routes by the SNI
                          (mail.bench.test), brings the server to the same point (its greeting,
                          EHLO, STARTTLS) and relays the TLS: the client sees the server's cert
             terminate    SNI mx.bench.test: snigate's own certificate, its TLS handshake, a plain
                          link to the server (whose greeting it takes; the client's EHLO and all
                          after it are relayed)
  workloads  connect      one client in a loop, --connections per target and round: connect, read
                          the greeting, EHLO, STARTTLS, TLS handshake (the certificate verified,
                          no session resumption), EHLO, QUIT; p50/p99 latency and connections/s
             concurrent   the same loop in --clients threads for --seconds: connections/s in all
             messages     one connection (STARTTLS, EHLO, AUTH PLAIN), then --messages messages of
                          each of --sizes KiB (MAIL, RCPT, DATA each; no pipelining): messages/s
                          and MB/s (10^6 bytes), timed from the first MAIL to the last 250

Python's smtplib is the client, in this process. Targets are interleaved (direct, passthrough,
terminate, then again) for --rounds rounds after a short unmeasured warm-up (which first checks
that each target is the path meant: who greets, whose certificate, who answers the EHLO in TLS);
prints each run, then medians over rounds (the latency percentiles over every connection of every
round) and the ratio snigate/direct as Markdown tables, and the load average before and after.
Each run also reports the CPU time snigate and the server spent on it (utime + stime from
/proc/PID/stat, in clock ticks of 10 ms: coarse for one short run, hence the medians), per
connection or per message. Client, server and snigate share the machine's cores, so a rate is
the whole setup's, and the ratios are what the extra hop costs on those cores; the client and
the server are Python, so direct is not the server's ceiling either. The defaults (3 rounds)
take about a minute.
snigate: --snigate, else SNIGATE_BIN, else build/snigate (relative to the repository)."""
import argparse
import base64
import os
import random
import shutil
import signal
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness.mail import read_greeting  # noqa: E402
from harness.pki import make_pki  # noqa: E402
from harness.snigate import Snigate, snigate_bin  # noqa: E402
from harness.util import LOCALHOST, Proc, free_port, to_yaml, wait_until  # noqa: E402

SINK = Path(__file__).resolve().parent / "smtp_sink.py"
PYTHON = "/usr/bin/python3"
SERVER_NAME, TERM_NAME, GW_NAME = "mail.bench.test", "mx.bench.test", "gw.bench.test"
USER, PASSWORD = "alice", "secret"
CLIENT_NAME = "client.bench.test"  # smtplib would look up the machine's FQDN for EHLO otherwise

TARGETS = [("direct", "direct"), ("passthrough", "snigate, TLS passthrough"),
           ("terminate", "snigate, TLS terminated")]


class SMTPTo(smtplib.SMTP):
    """Connects to 127.0.0.1 whatever the host; the host is the SNI and the name verified."""
    def _get_socket(self, host, port, timeout):
        s = socket.create_connection((LOCALHOST, port), timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def num(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(sorted_values: list, p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


# ---------------------------------------------------------------- one client's work

def starttls(port: int, name: str, ctx: ssl.SSLContext) -> SMTPTo:
    s = SMTPTo(name, port, local_hostname=CLIENT_NAME, timeout=10)  # connect, greeting
    try:
        s.ehlo()
        s.starttls(context=ctx)  # STARTTLS, handshake (verifies `name`)
        s.ehlo()
    except BaseException:
        s.close()
        raise
    return s


def connect_once(port: int, name: str, ctx: ssl.SSLContext) -> None:
    starttls(port, name, ctx).quit()


def check_target(t: str, port: int, name: str, ctx: ssl.SSLContext) -> None:
    """Who greets, who holds the certificate, who answers the EHLO in TLS: the path is the one meant."""
    greeting = read_greeting(port)
    want = f"220 {GW_NAME} " if t != "direct" else f"220 {SERVER_NAME} "
    s = starttls(port, name, ctx)
    try:
        cn = dict(x[0] for x in s.sock.getpeercert()["subject"])["commonName"]
        ehlo_name = s.ehlo_resp.decode().split("\n", 1)[0]
    finally:
        s.quit()
    want_cn = TERM_NAME if t == "terminate" else SERVER_NAME
    if not greeting.startswith(want) or cn != want_cn or ehlo_name != SERVER_NAME:
        raise RuntimeError(f"{t}: greeting {greeting!r}, certificate CN {cn!r}, EHLO in TLS by {ehlo_name!r}; "
                           f"wanted {want!r}, {want_cn!r}, {SERVER_NAME!r}")


def sequential(port: int, name: str, ctx: ssl.SSLContext, n: int) -> dict:
    lat = []
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        connect_once(port, name, ctx)
        lat.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - t0
    return {"rate": n / elapsed, "lat": lat, "n": n}


def concurrent(port: int, name: str, ctx: ssl.SSLContext, clients: int, seconds: float) -> dict:
    counts, errors = [0] * clients, []
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def loop(i):
        start.wait()
        try:
            while time.perf_counter() < stop_at[0]:
                connect_once(port, name, ctx)
                counts[i] += 1
        except Exception as e:  # noqa: BLE001 - reported by the caller
            errors.append(e)
    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(clients)]
    for th in threads:
        th.start()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    start.wait()
    for th in threads:
        th.join(seconds + 60)
    elapsed = time.perf_counter() - t0  # includes the connections under way at the deadline
    if errors:
        raise RuntimeError(f"{len(errors)} of {clients} clients failed, first: {errors[0]!r}")
    return {"rate": sum(counts) / elapsed, "n": sum(counts)}


def message(size: int, rng: random.Random) -> bytes:
    """A message of about `size` bytes: headers and a base64 body in 76-character lines."""
    head = (f"From: Bob <bob@client.bench.test>\r\nTo: Alice <alice@{SERVER_NAME}>\r\n"
            f"Subject: snigate bench {size} bytes\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode()
    raw = base64.b64encode(rng.randbytes(max(0, size - len(head)) * 3 // 4 + 3))
    body = b"\r\n".join(raw[i:i + 76] for i in range(0, len(raw), 76))
    return (head + body)[:size - 2].rstrip(b"\r\n") + b"\r\n"


def messages(port: int, name: str, ctx: ssl.SSLContext, msg: bytes, n: int) -> dict:
    s = starttls(port, name, ctx)
    try:
        s.login(USER, PASSWORD)
        t0 = time.perf_counter()
        for _ in range(n):
            refused = s.sendmail("bob@client.bench.test", [f"alice@{SERVER_NAME}"], msg)
            if refused:
                raise RuntimeError(f"refused: {refused}")
        elapsed = time.perf_counter() - t0
    finally:
        s.quit()
    return {"rate": n / elapsed, "mbps": n * len(msg) / elapsed / 1e6, "n": n}


# ---------------------------------------------------------------- servers

def start_sink(work: Path, pki) -> tuple:
    port = free_port()
    sink = Proc("sink", [PYTHON, str(SINK), "--port", str(port), "--hostname", SERVER_NAME,
                         "--cert", str(pki["server"].cert), "--key", str(pki["server"].key),
                         "--user", USER, "--password", PASSWORD], work / "sink")

    def ready():
        if not sink.alive():
            raise RuntimeError(f"smtp_sink.py exited with {sink.proc.returncode}\n{sink.logs()}")
        try:
            return read_greeting(port).startswith(f"220 {SERVER_NAME} ")
        except OSError:
            return False
    try:
        wait_until(ready, 15, f"smtp_sink.py on {LOCALHOST}:{port}", interval=0.05, on_timeout=sink.logs)
    except BaseException:
        sink.stop()
        raise
    return sink, port


def snigate_config(port: int, sink_port: int, pki) -> str:
    cfg = {  # no accessLog key: the access log is off, as in bench/configs/snigate.yaml
        "entryPoints": {"smtp": {"address": f"{LOCALHOST}:{port}", "protocol": "smtp",
                                 "mail": {"hostname": GW_NAME}}},
        "tcp": {
            "routers": {
                "pt": {"entryPoints": ["smtp"], "rule": f"HostSNI(`{SERVER_NAME}`)", "service": "sink",
                       "tls": {"passthrough": True}},
                "term": {"entryPoints": ["smtp"], "rule": f"HostSNI(`{TERM_NAME}`)", "service": "sink", "tls": {}},
            },
            "services": {"sink": {"loadBalancer": {"servers": [{"address": f"{LOCALHOST}:{sink_port}"}]}}},
        },
        "tls": {"certificates": [{"certFile": str(pki["snigate"].cert), "keyFile": str(pki["snigate"].key)}]},
        "log": {"level": "WARN"},
    }
    return to_yaml(cfg) + "\n"  # a string: the harness adds an access log to dict configs


def snigate_version() -> str:
    try:
        cp = subprocess.run([str(snigate_bin()), "--version"], capture_output=True, text=True, timeout=10)
        return (cp.stdout or cp.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "snigate (version unknown)"


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--snigate", help="the snigate binary (default: SNIGATE_BIN, else build/snigate)")
    ap.add_argument("--connections", type=int, default=300,
                    help="sequential connections per target and round, default 300")
    ap.add_argument("--clients", type=int, default=8, help="threads of the concurrent run, default 8 (0: none)")
    ap.add_argument("--seconds", type=float, default=3, help="length of a concurrent run, default 3")
    ap.add_argument("--messages", type=int, default=500, help="messages per size, target and round, default 500")
    ap.add_argument("--sizes", default="1,100", help="message sizes in KiB, comma-separated, default 1,100")
    ap.add_argument("--rounds", type=int, default=3, help="measured rounds, default 3 (plus a warm-up)")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # SIGTERM too stops what was started
    if a.snigate:
        os.environ["SNIGATE_BIN"] = str(Path(a.snigate).resolve())  # read by harness.snigate
    if not snigate_bin().is_file():
        sys.exit(f"no snigate binary at {snigate_bin()} (--snigate or SNIGATE_BIN)")
    sizes = [int(float(x) * 1024) for x in a.sizes.split(",") if x]

    load_start = loadavg()
    print(f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, nproc {os.cpu_count()}, Python "
          f"{sys.version.split()[0]} ({ssl.OPENSSL_VERSION}), {snigate_version()} at {snigate_bin()}, "
          f"load average {load_start}", flush=True)
    t_start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="snigate-smtp-bench-"))
    pki = make_pki(work / "pki", {"server": [SERVER_NAME], "snigate": [TERM_NAME]})
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    rng = random.Random(1)
    msgs = {size: message(size, rng) for size in sizes}
    sink = sg = None
    results = {}  # (workload, target) -> [run dicts]
    ok = False
    try:
        sink, sink_port = start_sink(work, pki)
        port = free_port()
        sg = Snigate(work / "snigate", snigate_config(port, sink_port, pki), name="bench",
                     ports={"smtp": port}).start()
        where = {"direct": (sink_port, SERVER_NAME), "passthrough": (port, SERVER_NAME),
                 "terminate": (port, TERM_NAME)}
        for t, _ in TARGETS:  # the path is the one meant; then a warm-up, not counted
            check_target(t, *where[t], ctx)
            sequential(*where[t], ctx, max(10, a.connections // 5))
            for size in sizes:
                messages(*where[t], ctx, msgs[size], max(5, a.messages // 5))

        def run(w, t, fn, *args):
            """One measured run, with the CPU time snigate and the server spent on it."""
            c0 = (cpu_seconds(sg.pid), cpu_seconds(sink.pid))
            res = fn(*where[t], ctx, *args)
            res["cpu_sg"], res["cpu_sink"] = cpu_seconds(sg.pid) - c0[0], cpu_seconds(sink.pid) - c0[1]
            results.setdefault((w, t), []).append(res)
            per = "conn" if w in ("connect", "clients") else "msg"
            snigate = f"snigate {res['cpu_sg'] / res['n'] * 1e6:5.0f}" if t != "direct" else " " * 13
            if w == "connect":
                lat = sorted(res["lat"])
                text = (f"{res['rate']:7.1f} conn/s  p50 {pct(lat, .5) * 1000:6.2f} ms  "
                        f"p99 {pct(lat, .99) * 1000:6.2f} ms")
            elif w == "clients":
                text = f"{res['rate']:7.1f} conn/s  {res['n']:5d} connections"
            else:
                text = f"{res['rate']:7.1f} msg/s  {res['mbps']:7.2f} MB/s"
            label = f"{w // 1024} KiB" if isinstance(w, int) else f"{a.clients} clients" if w == "clients" else w
            print(f"round {r} {label:10s} {t:12s} {text}  CPU us/{per}: "
                  f"{snigate} server {res['cpu_sink'] / res['n'] * 1e6:5.0f}  (load {loadavg()})", flush=True)
        for r in range(1, a.rounds + 1):
            for t, _ in TARGETS:
                run("connect", t, sequential, a.connections)
            if a.clients > 0:
                for t, _ in TARGETS:
                    run("clients", t, concurrent, a.clients, a.seconds)
            for size in sizes:
                for t, _ in TARGETS:
                    run(size, t, messages, msgs[size], a.messages)
        ok = True
    except (KeyboardInterrupt, SystemExit):
        ok = True  # stopped, not failed: nothing to keep
        raise
    finally:
        try:
            if sg is not None:
                sg.teardown()  # raises on a bad exit status or a sanitizer report
        finally:
            if sink is not None:
                sink.stop()
                took = [ln for ln in sink.stdout_path.read_text().splitlines() if ln.startswith("connections ")]
                print("sink took: " + (took[-1] if took else "(no summary)"))
            if ok:
                shutil.rmtree(work, ignore_errors=True)  # kept when a run fails: the logs are in it
            else:
                print(f"logs kept in {work}", file=sys.stderr)
    load_end = loadavg()
    elapsed = time.monotonic() - t_start

    def median(w, key):
        return {t: statistics.median(x[key] for x in results[(w, t)]) for t, _ in TARGETS}

    def row(label, values):
        return print(f"| {label} | " + " | ".join(values[t] for t, _ in TARGETS) + " |")

    def rates(w, label):
        med = median(w, "rate")
        row(label, {t: num(v) for t, v in med.items()})
        row("ratio to direct", {t: f"{med[t] / med['direct']:.2f}" for t, _ in TARGETS})

    def cpu(w, label):  # per connection or message, median over rounds
        for who, key in (("snigate", "cpu_sg"), ("server", "cpu_sink")):
            per = {t: statistics.median(x[key] / x["n"] for x in results[(w, t)]) for t, _ in TARGETS}
            row(f"{who} CPU per {label}", {t: "–" if who == "snigate" and t == "direct" else f"{per[t] * 1e6:.0f} µs"
                                          for t, _ in TARGETS})

    def header(title):
        print()
        print(f"| {title} | " + " | ".join(label for _, label in TARGETS) + " |")
        print("| --- | " + " | ".join("---:" for _ in TARGETS) + " |")
    print()
    print(f"{a.rounds} rounds, interleaved; medians over rounds, latency percentiles over all "
          f"{a.rounds * a.connections} sequential connections per target")
    header("connect, EHLO, STARTTLS, EHLO, QUIT")
    lat = {t: sorted(x for res in results[("connect", t)] for x in res["lat"]) for t, _ in TARGETS}
    row("latency p50 / p99, one client", {t: f"{pct(lat[t], .5) * 1000:.2f} / {pct(lat[t], .99) * 1000:.2f} ms"
                                          for t, _ in TARGETS})
    rates("connect", "connections/s, one client")
    cpu("connect", "connection")
    if a.clients > 0:
        rates("clients", f"connections/s, {a.clients} client threads")
        cpu("clients", "connection")
    header(f"{a.messages} messages on one connection")
    for size in sizes:
        mb = median(size, "mbps")
        rates(size, f"{size // 1024} KiB: messages/s")
        row("MB/s", {t: num(v) for t, v in mb.items()})
        cpu(size, "message")
    print()
    print(f"load average at start / end: {load_start} / {load_end}; {elapsed:.0f} s in all")


if __name__ == "__main__":
    main()
