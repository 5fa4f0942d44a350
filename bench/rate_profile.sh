#!/bin/bash
# Where each microsecond of a passthrough connection goes, for every target
# of the rate workload: the whole machine sampled by `perf record -a -g`
# (cpu-clock, every CPU) while `loadgen rate` runs, each sample charged to the
# process it interrupted (the proxy, the backend, the load generator, or the
# kernel alone) and, inside a process, to the system call it was in or to
# user space. Samples divided by the connections made give µs per connection.
#
# A system call's figure includes the loopback delivery it triggers: sending
# on loopback runs the receiving side's TCP work at once, in the sender's
# context, so part of a proxy's `sendto` is its peer's receive.
#
# Uses what bench/run.sh left in build-bench/ (binaries, configs), so run
# that first.
#
#   bench/rate_profile.sh [--time S] [--freq HZ] [--targets "direct snigate ..."]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/common.sh"
TIME=4 FREQ=2999 TARGETS="direct snigate haproxy nginx sniproxy"
while [[ $# -gt 0 ]]; do
  case $1 in
    --time) TIME=$2; shift ;;
    --freq) FREQ=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    *) echo "usage: $0 [--time S] [--freq HZ] [--targets LIST]" >&2; exit 2 ;;
  esac
  shift
done
need_bench_run
command -v perf >/dev/null || { echo "perf is missing (bench/install-peers.sh installs linux-perf)" >&2; exit 1; }

declare -A PID PORT=([direct]=19001 [snigate]=19101 [haproxy]=19201 [nginx]=19301 [sniproxy]=19401)
started=()
trap 'kill "${started[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
start_rate_targets

OUT=$BUILD_DIR/rate_profile
mkdir -p "$OUT"
for t in $TARGETS; do
  perf record -q -a -g -e cpu-clock -F "$FREQ" -o "$OUT/$t.data" -- \
    "$LG" rate --connect "127.0.0.1:${PORT[$t]}" --sni rate.bench.test --conc 64 --time "$TIME" \
    >"$OUT/$t.rate" 2>/dev/null
  proxy_pids=""
  [[ $t == direct ]] || proxy_pids=$(tree_pids "${PID[$t]}")
  perf script -i "$OUT/$t.data" -F comm,pid,ip,sym,dso 2>/dev/null |
    python3 "$ROOT/bench/rate_profile.py" --target "$t" --freq "$FREQ" \
      --conns "$(kv "$(cat "$OUT/$t.rate")" ok)" --backend "${PID[backend]}" --proxy "$proxy_pids" \
      >"$OUT/$t.json"
  echo "$t: $(kv "$(cat "$OUT/$t.rate")" conns_per_s) conn/s" >&2
done
python3 "$ROOT/bench/rate_profile.py" --table $(for t in $TARGETS; do echo "$OUT/$t.json"; done)
