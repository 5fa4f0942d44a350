#!/bin/bash
# The sockmap relay experiment (issue 25): splice against a BPF sockmap, each
# in bench/relay_probe with nothing of snigate's around it, and a direct
# connection as the limit. Prints medians of each row.
#
#   bench/relay_probe/run.sh [--rounds N] [--time S]
#
# Throughput is bench/loadgen's stream client (1 and 16 connections writing
# 128 KiB blocks into a sink). CPU per GB is the whole machine's busy time
# (/proc/stat), because a sockmap moves the bytes in softirq and kernel-worker
# context, which no process's CPU time includes. Latency is one 64-byte
# message echoed back, 20,000 times on one connection. The join cost is what a
# connection pays to enter the map and to leave it when closed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/common.sh"
ROUNDS=5 TIME=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --time) TIME=$2; shift ;;
    *) echo "usage: $0 [--rounds N] [--time S]" >&2; exit 2 ;;
  esac
  shift
done
[[ $(id -u) == 0 ]] || { echo "loading a BPF program needs root" >&2; exit 1; }
"$ROOT/bench/install-peers.sh"
OUT=$ROOT/build-bench/relay_probe
echo "building the probe and the load generator into build-bench/relay_probe/" >&2
mkdir -p "$OUT"
clang -O2 -g -target bpf -I/usr/include/"$(gcc -print-multiarch)" \
  -c "$ROOT/bench/relay_probe/relay_probe.bpf.c" -o "$OUT/relay_probe.bpf.o"
g++ -O2 -std=c++20 -Wall -Wextra -o "$OUT/relay_probe" "$ROOT/bench/relay_probe/relay_probe.cpp" -lbpf -lpthread
g++ -O2 -std=c++20 -Wall -Wextra -o "$OUT/loadgen" "$ROOT/bench/loadgen/loadgen.cpp" -lssl -lcrypto -lpthread
P=$OUT/relay_probe LG=$OUT/loadgen BPF=$OUT/relay_probe.bpf.o

for p in 19601 19602 19604 19611 19612 19620 19621 19622; do
  port_free $p || { echo "port $p is in use" >&2; exit 1; }
done
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
start() { "$@" >/dev/null 2>&1 & pids+=("$!"); }
start "$LG" serve --rate-port 19601 --sink-port 19602 --source-port 19604
start "$P" serve --listen 19611 --backend 19602 --relay splice
start "$P" serve --listen 19612 --backend 19602 --relay sockmap --bpf "$BPF"
start "$P" echo --listen 19620
start "$P" serve --listen 19621 --backend 19620 --relay splice
start "$P" serve --listen 19622 --backend 19620 --relay sockmap --bpf "$BPF"
for p in 19602 19611 19612 19620 19621 19622; do wait_port $p; done
declare -A SINK=([direct]=19602 [splice]=19611 [sockmap]=19612) ECHO=([direct]=19620 [splice]=19621 [sockmap]=19622)

RESULTS=$OUT/results.txt
: >"$RESULTS"
# A warm-up of each, then each round starts one relay later (direct splice
# sockmap, splice sockmap direct, ...), so that none always runs first.
for relay in direct splice sockmap; do
  "$LG" stream --connect "127.0.0.1:${SINK[$relay]}" --sni stream.bench.test --streams 1 --time 1 >/dev/null
done
RELAYS=(direct splice sockmap)
for r in $(seq "$ROUNDS"); do
  for i in 0 1 2; do
    relay=${RELAYS[$(( (i + r - 1) % 3 ))]}
    for streams in 1 16; do
      read -r b0 a0 < <(machine_ticks)
      out=$(timeout $((TIME + 20)) "$LG" stream --connect "127.0.0.1:${SINK[$relay]}" --sni stream.bench.test \
        --streams "$streams" --time "$TIME") || { echo "$relay: the stream run did not finish" >&2; exit 1; }
      read -r b1 a1 < <(machine_ticks)
      g=$(kv "$out" gbit_per_s)
      # Bytes over the whole run (the client's warm-up included), at the measured rate.
      echo "stream$streams $relay gbit_per_s $g" >>"$RESULTS"
      echo "stream$streams $relay machine_ms_per_gb $(awk -v b=$((b1 - b0)) -v g="$g" -v t="$TIME" \
        -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", b / hz * 1000 / (g * t / 8) }')" >>"$RESULTS"
      echo "stream$streams $relay machine_busy_pct $(( (b1 - b0) * 100 / (a1 - a0) ))" >>"$RESULTS"
    done
    out=$("$P" pingpong --connect "${ECHO[$relay]}" --count 20000 --size 64)
    echo "latency $relay rtt_p50_us $(kv "$out" rtt_p50_us)" >>"$RESULTS"
    echo "latency $relay rtt_p99_us $(kv "$out" rtt_p99_us)" >>"$RESULTS"
  done
  out=$("$P" join-cost --count 5000 --bpf "$BPF")
  echo "join-cost sockmap join_us_per_conn $(kv "$out" join_us_per_conn)" >>"$RESULTS"
  echo "join-cost sockmap close_joined_pair_us $(kv "$out" close_us_per_conn_joined)" >>"$RESULTS"
  echo "join-cost sockmap close_plain_pair_us $(kv "$out" close_us_per_conn_plain)" >>"$RESULTS"
  echo "round $r of $ROUNDS done" >&2
done

python3 - "$RESULTS" <<'ENDOFPY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    w, relay, metric, value = line.split()
    rows[(w, metric, relay)].append(float(value))
print("every round:")
for k, v in rows.items():
    print(" ".join(k), ", ".join(f"{x:g}" for x in v))
print()
print("Medians. machine_ms_per_gb and machine_busy_pct: the whole machine's CPU (/proc/stat).")
print("join-cost: on loopback pairs, no relay; the plain pair's close is the baseline for the joined one's.")
print()
print("| workload | metric | direct | splice | sockmap |")
print("| --- | --- | ---: | ---: | ---: |")
seen = []
for (w, metric, _) in rows:
    if (w, metric) not in seen:
        seen.append((w, metric))
for w, metric in seen:
    cells = []
    for relay in ("direct", "splice", "sockmap"):
        v = rows.get((w, metric, relay))
        cells.append(f"{statistics.median(v):.2f}" if v else "–")
    print(f"| {w} | {metric} | " + " | ".join(cells) + " |")
ENDOFPY
