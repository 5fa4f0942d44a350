"""Charges `perf script -F comm,pid,ip,sym,dso` samples (with call chains) to a
process role and a system call, for bench/rate_profile.sh.

Places: "sys X", inside system call X (its loopback delivery included);
"sys (entry and exit)", the kernel's way in and out of any call; "user space";
"softirq", interrupt work that did not come from a call; "scheduler",
switching in and out; "kernel, other", the rest (page faults, timers).

  perf script -F comm,pid,ip,sym,dso | rate_profile.py --target T --freq HZ --conns N --backend PID --proxy "PIDS"
  rate_profile.py --table T1.json T2.json ...
"""
import argparse
import collections
import json
import sys

KERNEL = "[kernel.kallsyms]"


# Names a system call's body goes by, outermost first; the kernel may inline
# __x64_sys_X into its dispatcher, leaving __sys_X, ksys_X or do_X as the
# first frame that names it.
SYSCALL_PREFIXES = ("__x64_sys_", "__do_sys_", "__se_sys_", "__sys_", "ksys_")
INLINED_BODIES = {"do_writev": "writev", "do_readv": "readv", "do_epoll_wait": "epoll_wait",
                  "do_epoll_ctl": "epoll_ctl", "do_sendfile": "sendfile"}
SAME_CALL = {"accept": "accept4", "recvfrom": "recv", "recvmsg": "recv", "read": "recv", "readv": "recv",
             "sendto": "send", "sendmsg": "send", "write": "send", "writev": "send"}


def syscall_of(frames):
    """The system call a kernel sample was in (outermost entry), or None."""
    in_entry = False
    for sym, _ in reversed(frames):
        name = INLINED_BODIES.get(sym)
        for prefix in SYSCALL_PREFIXES if name is None else ():
            if sym.startswith(prefix):
                name = sym[len(prefix):]
                break
        if name is not None:
            return SAME_CALL.get(name, name)
        in_entry = in_entry or sym in ("do_syscall_64", "entry_SYSCALL_64_after_hwframe")
    return "(entry and exit)" if in_entry else None


def place_of(frames):
    """Where a sample was: user space, a system call, or kernel work outside one."""
    if not frames:
        return "unknown"
    leaf_sym, leaf_dso = frames[0]
    if leaf_dso != KERNEL:
        return "user space"
    call = syscall_of(frames)
    if call:
        return "sys " + call
    syms = {s for s, _ in frames}
    if syms & {"handle_softirqs", "__do_softirq", "net_rx_action", "run_ksoftirqd"}:
        return "softirq"
    if syms & {"schedule", "__schedule", "schedule_idle", "finish_task_switch.isra.0"}:
        return "scheduler"
    return "kernel, other"


def parse(stream):
    """(comm, pid, frames leaf first) per sample."""
    head, frames = None, []
    for line in stream:
        if not line.strip():
            if head is not None:
                yield head[0], head[1], frames
            head, frames = None, []
        elif head is None:
            comm, _, pid = line.strip().rpartition(" ")
            head, frames = (comm.strip(), int(pid)), []
        else:
            parts = line.strip().split(None, 1)
            rest = parts[1] if len(parts) > 1 else ""
            sym, _, dso = rest.rpartition(" (")
            frames.append((sym.split("+")[0], dso.rstrip(")")))
    if head is not None:
        yield head[0], head[1], frames


def collect(args):
    proxy = {int(p) for p in args.proxy.split()}
    us_per_sample = 1e6 / args.freq / args.conns
    by = collections.Counter()
    for comm, pid, frames in parse(sys.stdin):
        if pid == 0:
            continue  # idle
        if pid in proxy:
            role = "proxy"
        elif pid == args.backend:
            role = "backend"
        elif comm == "loadgen":
            role = "load generator"
        elif comm.startswith(("kworker", "ksoftirqd", "rcu")):
            role = "kernel threads"
        else:
            role = "other"
        by[(role, place_of(frames))] += 1
    out = {"target": args.target, "conns": args.conns,
           "us": {f"{r}|{p}": round(n * us_per_sample, 2) for (r, p), n in by.items()}}
    json.dump(out, sys.stdout)


def table(paths):
    runs = [json.load(open(p)) for p in paths]
    names = [r["target"] for r in runs]
    proxies = [r for r in runs if r["target"] != "direct"]

    def total(run, role, place=None):
        return sum(v for k, v in run["us"].items()
                   if k.startswith(role + "|") and (place is None or k.endswith("|" + place)))

    def cell(run, value):
        return "–" if run["target"] == "direct" else f"{value:.1f}"

    print("µs of CPU per connection: samples × the sampling period ÷ connections made")
    print()
    print("| µs per connection | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    print("| proxy | " + " | ".join(cell(r, total(r, "proxy")) for r in runs) + " |")
    print("| proxy, in the kernel | " + " | ".join(
        cell(r, total(r, "proxy") - total(r, "proxy", "user space")) for r in runs) + " |")
    print("| proxy, in user space | " + " | ".join(cell(r, total(r, "proxy", "user space")) for r in runs) + " |")
    for role in ("backend", "load generator", "kernel threads", "other"):
        print(f"| {role} | " + " | ".join(f"{total(r, role):.1f}" for r in runs) + " |")
    print("| machine | " + " | ".join(f"{sum(r['us'].values()):.1f}" for r in runs) + " |")
    print()
    places = collections.Counter()
    for r in proxies:
        for k, v in r["us"].items():
            role, place = k.split("|")
            if role == "proxy":
                places[place] += v
    print("| the proxy's µs per connection, by place | " + " | ".join(r["target"] for r in proxies) + " |")
    print("| --- |" + " ---: |" * len(proxies))
    for place, _ in places.most_common():
        cells = [r["us"].get("proxy|" + place, 0) for r in proxies]
        if all(c < 0.05 for c in cells):
            continue  # rounds to 0.0 everywhere
        print(f"| {place} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", nargs="*")
    ap.add_argument("--target")
    ap.add_argument("--freq", type=float)
    ap.add_argument("--conns", type=float)
    ap.add_argument("--backend", type=int)
    ap.add_argument("--proxy", default="")
    args = ap.parse_args()
    if args.table is not None:
        table(args.table)
    else:
        collect(args)


if __name__ == "__main__":
    main()
