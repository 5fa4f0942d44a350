#!/bin/bash
# User-space instructions per passthrough connection, for snigate and each
# peer. Each proxy runs twice under callgrind (which counts every instruction
# of every thread and child process), serving `loadgen rate` with 4 clients
# for a short and a long time, then stops on SIGTERM and writes its counts.
# The difference in instructions over the difference in connections is the
# cost of one more connection, without start-up and shutdown. Kernel work is
# not counted; bench/rate_profile.sh shows that part.
#
# Uses what bench/run.sh left in build-bench/ (binaries, configs), so run
# that first.
#
#   bench/instructions.sh [--time S] [--targets "snigate haproxy nginx sniproxy"]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/common.sh"
TIME=8 TARGETS="snigate haproxy nginx sniproxy"
while [[ $# -gt 0 ]]; do
  case $1 in
    --time) TIME=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    *) echo "usage: $0 [--time S] [--targets LIST]" >&2; exit 2 ;;
  esac
  shift
done
need_bench_run
command -v valgrind >/dev/null || { echo "valgrind is missing (bench/install-peers.sh installs it)" >&2; exit 1; }

declare -A PORT=([snigate]=19101 [haproxy]=19201 [nginx]=19301 [sniproxy]=19401)
OUT=$BUILD_DIR/instructions
rm -rf "$OUT" && mkdir -p "$OUT"
chmod 1777 "$OUT"  # nginx's workers write their counts as its unprivileged user
started=()
trap 'kill "${started[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for p in 19001 19002 19004; do port_free "$p" || { echo "port $p is in use (a bench run still alive?)" >&2; exit 1; }; done
"$LG" serve --rate-port 19001 --sink-port 19002 --source-port 19004 >/dev/null 2>&1 &
started+=("$!")
wait_port 19001

# run_once TARGET TIME: prints "connections instructions".
run_once() {
  local t=$1 time=$2 out ok pid
  rm -f "$OUT/$t".*.out
  local vg=(valgrind -q --tool=callgrind --trace-children=yes --callgrind-out-file="$OUT/$t.%p.out")
  case $t in
    snigate) "${vg[@]}" "$BUILD_DIR/snigate" --config "$WORK/snigate.yaml" --log-level ERROR >"$OUT/$t.log" 2>&1 & ;;
    haproxy) "${vg[@]}" haproxy -db -f "$WORK/haproxy.cfg" >"$OUT/$t.log" 2>&1 & ;;
    nginx) "${vg[@]}" nginx -e /dev/null -p "$WORK" -c "$WORK/nginx.conf" >"$OUT/$t.log" 2>&1 & ;;
    sniproxy) "${vg[@]}" sniproxy -f -c "$WORK/sniproxy.conf" >"$OUT/$t.log" 2>&1 & ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  pid=$!
  for _ in $(seq 600); do port_free "${PORT[$t]}" || break; sleep 0.1; done
  port_free "${PORT[$t]}" && { echo "$t did not start under valgrind ($OUT/$t.log)" >&2; exit 1; }
  out=$("$LG" rate --connect "127.0.0.1:${PORT[$t]}" --sni rate.bench.test --conc 4 --time "$time")
  ok=$(kv "$out" ok)
  kill -TERM "$pid"
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  # nginx's workers outlive their master by a moment; each writes its own file.
  sleep 1
  echo "$ok $(cat "$OUT/$t".*.out | awk '/^totals:/ { s += $2 } END { printf "%.0f", s }')"
}

echo "| proxy | instructions per connection | connections (short run, long run) |"
echo "| --- | ---: | ---: |"
for t in $TARGETS; do
  port_free "${PORT[$t]}" || { echo "port ${PORT[$t]} is in use" >&2; exit 1; }
  read -r n1 i1 < <(run_once "$t" 1)
  read -r n2 i2 < <(run_once "$t" "$TIME")
  ((n2 > n1)) || { echo "$t: no more connections in the long run ($n1, $n2)" >&2; exit 1; }
  echo "| $t | $(awk -v a="$i1" -v b="$i2" -v n="$n1" -v m="$n2" 'BEGIN { printf "%d", (b - a) / (m - n) }') | $n1, $n2 |"
done
