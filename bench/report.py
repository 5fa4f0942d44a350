#!/usr/bin/python3
"""Turns bench/run.sh's raw results into medians, ratios and docs/benchmarks.md."""
import argparse
import collections
import pathlib
import statistics

TARGETS = ["direct", "snigate", "haproxy", "nginx", "sniproxy"]
# workload, metric, label, unit, higher is better
ROWS = [
    ("rate", "conns_per_s", "Passthrough connection rate", "conn/s", True),
    ("rate", "p50_us", "  latency p50", "µs", False),
    ("rate", "p99_us", "  latency p99", "µs", False),
    ("rate", "cpu_us_per_conn", "  proxy CPU per connection", "µs", False),
    ("rate-policy", "conns_per_s", "Passthrough connection rate, ipAllowList + inFlightConn", "conn/s", True),
    ("rate-policy", "p50_us", "  latency p50", "µs", False),
    ("rate-policy", "p99_us", "  latency p99", "µs", False),
    ("rate-policy", "cpu_us_per_conn", "  proxy CPU per connection", "µs", False),
    ("rate-metrics", "conns_per_s", "Passthrough connection rate, metrics and API on", "conn/s", True),
    ("rate-metrics", "cpu_us_per_conn", "  proxy CPU per connection", "µs", False),
    ("rate-scraped", "conns_per_s", "Passthrough connection rate, /metrics read every 100 ms", "conn/s", True),
    ("rate-scraped", "cpu_us_per_conn", "  proxy CPU per connection", "µs", False),
    ("stream1", "gbit_per_s", "Passthrough throughput, 1 stream", "Gbit/s", True),
    ("stream1", "cpu_ms_per_gb", "  proxy CPU per GB", "ms", False),
    ("stream16", "gbit_per_s", "Passthrough throughput, 16 streams", "Gbit/s", True),
    ("stream16", "cpu_ms_per_gb", "  proxy CPU per GB", "ms", False),
    ("plain", "gbit_per_s", "Plain TCP throughput (iperf3, 1 stream)", "Gbit/s", True),
    ("plain", "cpu_ms_per_gb", "  proxy CPU per GB", "ms", False),
    ("idle", "bytes_per_conn", "Memory per idle passthrough connection", "bytes", False),
    ("tls-rate", "handshakes_per_s", "TLS termination: full handshakes", "hs/s", True),
    ("tls-rate", "p50_us", "  latency p50", "µs", False),
    ("tls-rate", "p99_us", "  latency p99", "µs", False),
    ("tls-rate", "cpu_us_per_hs", "  proxy CPU per handshake", "µs", False),
    ("tls-stream", "gbit_per_s", "TLS termination: throughput, 1 stream", "Gbit/s", True),
    ("tls-stream", "cpu_ms_per_gb", "  proxy CPU per GB", "ms", False),
    ("tls-download", "gbit_per_s", "TLS termination: download, 1 stream", "Gbit/s", True),
    ("tls-download", "cpu_ms_per_gb", "  proxy CPU per GB", "ms", False),
]


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit == "Gbit/s":
        return f"{v:.2f}"
    if unit in ("conn/s", "hs/s") and v >= 1000:
        return f"{v / 1000:.1f}k"
    return f"{v:.0f}"


def load(work):
    raw = collections.defaultdict(list)
    for line in (work / "results.tsv").read_text().splitlines():
        w, t, _r, m, v = line.split("\t")
        try:
            raw[(w, t, m)].append(float(v))
        except ValueError:
            pass
    meta = dict(l.split("=", 1) for l in (work / "meta.txt").read_text().splitlines() if "=" in l)
    return raw, meta


def tables(raw, targets):
    med = {k: statistics.median(v) for k, v in raw.items() if v}
    rows = [r for r in ROWS if any((r[0], t, r[1]) in med for t in targets)]
    head = "| workload | unit | " + " | ".join(targets) + " |"
    sep = "| --- | --- | " + " | ".join("---:" for _ in targets) + " |"
    out = [head, sep]
    for w, m, label, unit, _ in rows:
        cells = [fmt(med.get((w, t, m)), unit) for t in targets]
        out.append(f"| {label} | {unit} | " + " | ".join(cells) + " |")
    ratio_head = "| workload | " + " | ".join(t for t in targets if t != "direct") + " |"
    rsep = "| --- | " + " | ".join("---:" for t in targets if t != "direct") + " |"
    rat = [ratio_head, rsep]
    for w, m, label, unit, _ in rows:
        if not any((w, x, m) in med for x in ("direct", "haproxy")):
            continue  # snigate alone (its middlewares, its metrics): said in a sentence below
        cells = []
        for t in targets:
            if t == "direct":
                continue
            v = med.get((w, t, m))
            d = med.get((w, "direct", m))
            h = med.get((w, "haproxy", m))
            rd = f"{v / d:.2f}" if v is not None and d else "–"
            rh = f"{v / h:.2f}" if v is not None and h else "–"
            cells.append("n/a" if v is None else f"{rd} / {rh}")
        rat.append(f"| {label.strip()} ({unit}) | " + " | ".join(cells) + " |")
    errs = []
    for (w, t, m), v in sorted(raw.items()):
        if m == "errors" and sum(v) > 0:
            errs.append(f"{w} via {t}: {int(sum(v))} failed connections over all rounds")
    return med, "\n".join(out), "\n".join(rat), errs


def ordered_targets(raw):
    """The known targets in their order, a --base build (snigate@REV) right after snigate."""
    seen = {k[1] for k in raw}
    out = []
    for t in TARGETS:
        if t in seen:
            out.append(t)
        if t == "snigate":
            out += sorted(x for x in seen if x.startswith("snigate@"))
    return out


def base_table(med, targets):
    """snigate against the --base build of the same run: ratio of medians per row."""
    bases = [t for t in targets if t.startswith("snigate@")]
    if not bases or "snigate" not in targets:
        return ""
    out = ["| workload | " + " | ".join(f"snigate / {b}" for b in bases) + " |",
           "| --- | " + " | ".join("---:" for _ in bases) + " |"]
    for w, m, label, unit, _ in ROWS:
        v = med.get((w, "snigate", m))
        if v is None:
            continue
        cells = [f"{v / med[(w, b, m)]:.3f}" if med.get((w, b, m)) else "–" for b in bases]
        out.append(f"| {label.strip()} ({unit}) | " + " | ".join(cells) + " |")
    return "\n".join(out)


def policy_cost(med):
    """snigate's passthrough rate with a middleware chain against without, in this run."""
    with_chain = med.get(("rate-policy", "snigate", "conns_per_s"))
    without = med.get(("rate", "snigate", "conns_per_s"))
    if not with_chain or not without:
        return ""
    return (f"snigate's passthrough connection rate through an ipAllowList + inFlightConn chain is "
            f"{with_chain / without:.3f} of the rate without it (medians of this run).")


def metrics_cost(med):
    """snigate's passthrough rate with metrics on, and scraped, against without, in this run."""
    without = med.get(("rate", "snigate", "conns_per_s"))
    on = med.get(("rate-metrics", "snigate", "conns_per_s"))
    scraped = med.get(("rate-scraped", "snigate", "conns_per_s"))
    if not without or not on:
        return ""
    text = f"With metrics and the API on, snigate's passthrough connection rate is {on / without:.3f} of the rate without"
    if scraped:
        text += f"; with /metrics read every 100 ms, {scraped / without:.3f}"
    return text + " (medians of this run)."


def rounds_table(raw, targets):
    out = ["| workload | metric | " + " | ".join(targets) + " |", "| --- | --- | " + " | ".join("---" for _ in targets) + " |"]
    for w, m, label, unit, _ in ROWS:
        if not any((w, t, m) in raw for t in targets):
            continue
        cells = [", ".join(fmt(x, unit) for x in raw.get((w, t, m), [])) or "n/a" for t in targets]
        out.append(f"| {w} | {m} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--configs", required=True)
    ap.add_argument("--doc")
    a = ap.parse_args()
    work = pathlib.Path(a.work)
    raw, meta = load(work)
    targets = ordered_targets(raw)
    med, table, ratios, errs = tables(raw, targets)
    against_base = base_table(med, targets)
    print()
    print(table)
    print()
    print("ratios: to direct / to HAProxy (for memory and latency, lower is better)")
    print(ratios)
    if against_base:
        print()
        print("snigate against the --base build (above 1 is better for rates, below 1 for latency and CPU)")
        print(against_base)
    policy = policy_cost(med)
    if policy:
        print(policy)
    metrics_line = metrics_cost(med)
    if metrics_line:
        print(metrics_line)
    for e in errs:
        print("note:", e)
    if not a.doc:
        return
    versions = (work / "versions.txt").read_text().strip()
    # Busy: other work took more than a tenth of the CPUs just before the first
    # measurement (older runs recorded only the load average, which lags).
    if "busy_start" in meta:
        busy = float(meta["busy_start"]) > 10
    else:
        busy = float(meta["load_start"].split()[0]) > 0.5
    quick = meta.get("quick") == "1"
    cfg = pathlib.Path(a.configs)
    state = []
    if quick:
        state.append("a `--quick` smoke run (short measurements, few rounds, fewer idle connections)")
    if busy:
        state.append(
            f"taken while other work was running on the machine ({meta.get('busy_start', '?')}% of the CPU time "
            f"busy in the 2 s before the first measurement; load average {meta['load_start']} at the start, "
            f"{meta['load_end']} at the end), so the absolute numbers are noisy and only the rough order is meaningful"
        )
    warning = ""
    if state:
        warning = "**These numbers are a first run: " + "; ".join(state) + ".** A full run on a quiet machine replaces them.\n\n"
    idle_backend = [raw.get(("idle", t, "backend_conns"), []) for t in targets]
    idle_ok = all(all(x >= int(meta["idle"]) for x in v) for v in idle_backend if v)

    base_section = ""
    if against_base:
        base_section = (
            "\nThis run also measured another revision of snigate (`--base`). The working\n"
            "tree's snigate against it, ratio of medians (above 1 is better for rates\n"
            "and throughput, below 1 for latency and CPU):\n\n" + against_base + "\n"
        )
    doc = f"""# Benchmarks

What snigate costs on top of a direct connection, next to the proxies people
would otherwise put in the same place: HAProxy (`mode tcp`), nginx's stream
module and sniproxy. Everything runs on one machine over loopback, so these
numbers measure the proxy's CPU and memory cost, not a network.

{warning}## How to reproduce

```sh
{meta['command']}
```

`bench/run.sh` installs the peers from Debian if they are missing (without
starting them as services), builds snigate in Release into `build-bench/`,
builds the load generator (`bench/loadgen/loadgen.cpp`), makes one ECDSA P-256
certificate, starts the backends and every proxy, runs each workload against
each target in turn (direct, snigate, HAProxy, nginx, sniproxy; then again, for
each round), prints the medians and writes this page. This run spent
{meta['elapsed']} s measuring, plus the build. `--quick` is a smoke test of
about 2.5 minutes; the default run about 10 minutes of measuring on this
machine (the memory rounds, one by default, take the longest). `--rounds`,
`--time`, `--idle`, `--targets` and `--workloads` narrow it down; `--head`
benchmarks the last commit instead of the working tree; `--base REV` also
builds revision REV and runs it as one more target, `snigate@REV`.

## Machine

| | |
| --- | --- |
| CPU | {meta['cpu']}, `nproc` = {meta['nproc']} |
| kernel | {meta['kernel']} |
| memory | {meta['mem']} |
| load average at start / end | {meta['load_start']} / {meta['load_end']} |
| CPU busy just before the first measurement | {meta['busy_start'] + '%' if 'busy_start' in meta else 'not recorded'} |
| run | {meta['date']}, {meta['rounds']} rounds of {meta['time']} s per measurement |

```
{versions}
```

## Results

Medians over {meta['rounds']} rounds ({meta.get('idle_rounds', meta['rounds'])} for memory).

{table}

"Proxy CPU" is the user and system time of the proxy's processes (every
thread, nginx's workers included) during the measurement, warm-up included,
divided by the connections, handshakes or bytes the clients completed in that
time. It says how much of the machine a proxy needed for its row, while the
rate says how it fared sharing two cores with the load generator and the
backend. Softirq time, in which the kernel delivers loopback packets, is
accounted apart and is in no process's figure.

Ratios of each proxy's median to direct's, then to HAProxy's (`to direct / to
HAProxy`). Above 1 is better for rates and throughput; below 1 is better for
latency, memory and CPU.

{ratios}
{base_section}
{policy}
{metrics_line}

{"Failed connections: " + "; ".join(errs) + "." if errs else "No connection failed in any workload."}

Every round:

{rounds_table(raw, targets)}

## What each workload does

All clients come from `bench/loadgen`, except plain TCP (iperf3). Its backend
(`loadgen serve`) is the same for direct and proxied runs.

- **Passthrough connection rate**: {meta['conc']} concurrent clients in one
  epoll thread. Each connects, sends a real TLS ClientHello with SNI
  `rate.bench.test` (made once by OpenSSL's client into a memory BIO, then
  replayed), reads the backend's 17-byte answer until the backend closes, and
  closes. Latency is from `connect()` to end of file. The backend closes first,
  so TIME_WAIT stays on the server side and the clients do not run out of
  ports.
- **Passthrough connection rate, metrics and API on** (snigate only): the
  same clients against a second snigate process with the same configuration
  plus `api.insecure`, `metrics.prometheus` (`addRoutersLabels: true`) and
  `ping` on 127.0.0.1:19124; **/metrics read every 100 ms**: that again while
  a Python client reads `/metrics` every 100 ms over one keep-alive
  connection (its own CPU is not counted as snigate's).
- **Passthrough connection rate, ipAllowList + inFlightConn** (snigate only):
  the same clients with SNI `policy.bench.test`, whose router runs an
  `ipAllowList` (`127.0.0.0/8`) and an `inFlightConn` that every client
  passes; next to the row above, it is what the middleware chain costs.
- **Passthrough throughput**: one (or 16) connections send the ClientHello for
  `stream.bench.test`, then write 128 KiB blocks as fast as they can; the
  backend discards them. Throughput is what the clients wrote after a warm-up
  of a quarter of the run (at most 1 s).
- **Plain TCP**: `iperf3 -c ... -t {max(1, round(float(meta['time'])))} -O 1`, one stream,
  through a listener whose only route is a plain catch-all. sniproxy has no
  plain-TCP mode; its listener's `fallback` address plays that part.
- **Memory per idle connection**: {meta['idle']} connections each send their
  ClientHello and then wait. The harness waits until the backend holds
  {meta['idle']} more established connections (so the proxy has read each hello
  and dialled for each), then reads `VmRSS` of the proxy and its children
  (nginx's master and workers) and divides the growth by the count. User-space
  memory only; kernel socket buffers are not counted. The count is
  {meta['idle']}, not 10,000: the hard limit on open files here is 20,000 and
  each proxied connection holds two.{"" if idle_ok else " **In at least one round the backend did not reach the full count; see `backend_conns` in the raw results.**"}
- **TLS termination**: {meta['tls_conc']} client threads each loop over a full TLS
  handshake (the client keeps no session and resumes nothing; TLS 1.3,
  X25519 key exchange, ECDSA P-256 certificate, no certificate-chain check
  on the client), send the same ClientHello bytes as application data, read
  the answer, close.
  Throughput: one TLS connection writing 16 KiB records. Download: one TLS
  connection (SNI `download.bench.test`) reading what a backend writes as
  fast as it can. Only snigate, HAProxy and nginx terminate TLS; there is
  no direct row.

## Fairness

- Two workers everywhere: snigate `workers: 2`, HAProxy `nbthread 2`, nginx
  `worker_processes 2`. sniproxy has a single event loop and no setting for
  more.
- No logging anywhere (no access log, errors to /dev/null or ERROR level
  only), no health checks, one backend server per route, default buffer
  settings. HAProxy does not splice (its `option splice-*` is off by default);
  snigate splices plain-to-plain relays by design, through pipes it grows
  to 1 MiB (a default pipe holds 64 KiB).
- Same routes everywhere: two passthrough names on one port (`rate.bench.test`
  and `stream.bench.test`), one plain-TCP port, one terminating port with the
  same certificate, the same two names and `download.bench.test`.
- Nothing is pinned: on {meta['nproc']} cores the load generator, the backend and the
  proxy share the CPUs, and the direct row is the same setup without the proxy.
  The proxy therefore never has both cores to itself; the numbers compare
  proxies under the same squeeze, not their ceiling on a dedicated machine.
- Every process is started from the one shell that runs the harness, so all
  share one scheduling group (the kernel's autogroups are per session): the
  proxy's threads compete one by one with the load generator's. A proxy
  started apart (`setsid`, another terminal) gets a group's share instead,
  its queues stay shorter and its tail latencies look better; compare
  proxies only when started alike.
- Each server keeps its default for TLS 1.3 session tickets, which the
  load generator never uses: snigate sends one after each full handshake
  (as Go's TLS, and so Traefik, does), HAProxy and nginx send OpenSSL's two.
  A ticket costs the server and the client some work on every handshake;
  the second one is worth about 6% of handshakes per second here.
- Targets are interleaved and the order rotates (A B C D E, B C D E A, ...):
  no target always follows the same one, and slow drifts of the
  machine touch all of them alike; each cell is a median.

## Configurations

The harness replaces `@WORK@` with its work directory (`build-bench/work`).

### snigate (`bench/configs/snigate.yaml`)

```yaml
{(cfg / 'snigate.yaml').read_text().rstrip()}
```

### HAProxy (`bench/configs/haproxy.cfg`)

```
{(cfg / 'haproxy.cfg').read_text().rstrip()}
```

### nginx (`bench/configs/nginx.conf`)

```nginx
{(cfg / 'nginx.conf').read_text().rstrip()}
```

### sniproxy (`bench/configs/sniproxy.conf`)

```
{(cfg / 'sniproxy.conf').read_text().rstrip()}
```
"""
    # Sections measured by other scripts (bench/mysql_connect.py, bench/pgbench.py,
    # bench/rule_match_bench.cpp) are kept, from the first of them to the end of
    # the page, in their order there.
    out = pathlib.Path(a.doc)
    markers = ("\n## MySQL: connect", "\n## PostgreSQL: pgbench", "\n## Rule matching")
    old = out.read_text() if out.exists() else ""
    kept = [old.index(m) for m in markers if m in old]
    if kept:
        doc = doc.rstrip() + "\n" + old[min(kept):]
    out.write_text(doc)
    print(f"wrote {a.doc}")


if __name__ == "__main__":
    main()
