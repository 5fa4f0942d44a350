#!/bin/bash
# Where the machine's CPU goes, per connection, on the passthrough connection
# rate workload: the whole machine's busy time (/proc/stat), the proxy's
# processes, the backend and the load generator, for each target in turn.
# It explains the rate row of docs/benchmarks.md: on two shared cores the
# rate follows the machine's total work per connection, of which the proxy
# is one part. Every column after busy% is CPU time in µs per connection;
# `kernel` is the proxy's system time, a part of `proxy`. The CPU times come
# from /proc, without perf's sampling, so they run lower than
# bench/rate_profile.sh's, whose sampling costs every process some time.
#
# Uses what bench/run.sh left in build-bench/ (binaries, configs,
# certificate), so run that first.
#
#   bench/rate_split.sh [--rounds N] [--time S] [--targets "direct snigate ..."]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/common.sh"
ROUNDS=2 TIME=3 TARGETS="direct snigate haproxy nginx sniproxy"
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --time) TIME=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    *) echo "usage: $0 [--rounds N] [--time S] [--targets LIST]" >&2; exit 2 ;;
  esac
  shift
done
need_bench_run

declare -A PID PORT=([direct]=19001 [snigate]=19101 [haproxy]=19201 [nginx]=19301 [sniproxy]=19401)
started=()
trap 'kill "${started[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
start_rate_targets

# CPU per connection in µs: the whole machine (busy time, softirq included),
# the proxy's processes (and of that, in the kernel), the backend, the load
# generator.
echo "CPU per connection in µs; busy%: the CPUs' busy share; kernel: the proxy's system time, a part of proxy"
printf "%-8s %5s %8s %6s %10s %8s %8s %10s %10s\n" target round conn/s busy% machine proxy kernel backend loadgen
for r in $(seq "$ROUNDS"); do
  for t in $TARGETS; do
    read -r mb0 ma0 < <(machine_ticks)
    pu0=0 ps0=0; [[ $t != direct ]] && read -r pu0 ps0 < <(cpu_ticks "${PID[$t]}")
    read -r bu0 bs0 < <(cpu_ticks "${PID[backend]}")
    # The load generator's CPU time: the growth of this shell's total for
    # children it has waited for (cutime + cstime), which the command
    # substitution does.
    read -r c0 < <(awk '{print $16 + $17}' /proc/$$/stat)
    out=$("$LG" rate --connect "127.0.0.1:${PORT[$t]}" --sni rate.bench.test --conc 64 --time "$TIME")
    read -r c1 < <(awk '{print $16 + $17}' /proc/$$/stat)
    read -r mb1 ma1 < <(machine_ticks)
    pu1=0 ps1=0; [[ $t != direct ]] && read -r pu1 ps1 < <(cpu_ticks "${PID[$t]}")
    read -r bu1 bs1 < <(cpu_ticks "${PID[backend]}")
    awk -v busy=$((mb1 - mb0)) -v all=$((ma1 - ma0)) -v ok="$(kv "$out" ok)" -v cps="$(kv "$out" conns_per_s)" \
        -v t="$t" -v r="$r" -v px=$((pu1 + ps1 - pu0 - ps0)) -v pk=$((ps1 - ps0)) -v bk=$((bu1 + bs1 - bu0 - bs0)) -v lg=$((c1 - c0)) \
        -v hz="$(getconf CLK_TCK)" 'BEGIN {
      us = 1e6 / hz / ok
      proxy = sprintf("%8.1f %8.1f", px * us, pk * us)
      if (t == "direct") proxy = sprintf("%8s %8s", "–", "–")
      printf "%-8s %5d %8d %5.0f%% %10.1f %s %10.1f %10.1f\n", t, r, cps, 100 * busy / all,
             busy * us, proxy, bk * us, lg * us }'
  done
done
