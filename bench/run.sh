#!/usr/bin/env bash
# Side-by-side benchmark: direct, snigate, HAProxy, nginx (stream), sniproxy.
#
#   bench/run.sh            full run (3 rounds of 3 s per measurement, 9000 idle connections)
#   bench/run.sh --quick    smoke run (2 rounds of 1.5 s, 2000 idle connections)
#
# Options: --rounds N  --time SECONDS  --idle N  --conc N
#          --idle-rounds N (memory is measured once per proxy by default: it
#          varies by a few percent between rounds and each takes ~20 s)
#          --targets "direct snigate haproxy nginx sniproxy"
#          --workloads "rate rate-policy stream1 stream16 plain idle tls-rate tls-stream tls-download"
#          (rate-policy: the passthrough rate through a router with an
#          ipAllowList + inFlightConn chain, snigate only, next to rate;
#          rate-metrics: the same rate with metrics.prometheus and the API on,
#          from a second snigate process on ports 19121-19124; rate-scraped:
#          that again while a client reads /metrics every 100 ms)
#          --no-doc (do not write docs/benchmarks.md)  --no-build (reuse build-bench/)
#          --head: build snigate from the last commit (git archive) instead of
#          the working tree
#          --base REV: also build snigate from git revision REV (git archive)
#          and run it as one more target, snigate@<short REV>, on ports
#          19111-19113, so that a change and its base are measured in one run
#   bench/run.sh --health [OPTIONS]: only the cost of health checks at 1,000
#          servers (bench/health_cost.sh, which takes the OPTIONS; it writes
#          its own section of docs/benchmarks.md)
#   bench/run.sh --fleet [OPTIONS]: only the etcd propagation workload
#          (bench/fleet_propagation.py, which takes the OPTIONS: a 3-member
#          etcd cluster, 100 changes, a 1,000-router change set; see docs/fleet.md)
#   bench/run.sh --scale [OPTIONS]: only the scale workload of issue 29
#          (bench/scale.py, which takes the OPTIONS: 1 to 100,000 routers,
#          exact, wildcard, regexp and mixed rules, snigate and HAProxy with a
#          map file; ports 19501-19520; it writes its own section of
#          docs/benchmarks.md)
#
# Everything runs on 127.0.0.1; ports 19001-19403 must be free. Needs root only
# to install the peers when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/common.sh
argv=("$@")

ROUNDS=3 IDLE_ROUNDS=1 TIME=3 IDLE=9000 CONC=64 TLS_CONC=16 DOC=1 BUILD=1 QUICK=0 SRC_MODE=worktree BASE_REV=
TARGETS="direct snigate haproxy nginx sniproxy"
WORKLOADS="rate rate-policy rate-metrics rate-scraped stream1 stream16 plain idle tls-rate tls-stream tls-download"
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ROUNDS=2 TIME=1.5 IDLE=2000 ;;
    --rounds) ROUNDS=$2; shift ;;
    --idle-rounds) IDLE_ROUNDS=$2; shift ;;
    --time) TIME=$2; shift ;;
    --idle) IDLE=$2; shift ;;
    --conc) CONC=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    --workloads) WORKLOADS=$2; shift ;;
    --no-doc) DOC=0 ;;
    --no-build) BUILD=0 ;;
    --worktree) SRC_MODE=worktree ;;
    --head) SRC_MODE=head ;;
    --base) BASE_REV=$2; shift ;;
    --health) shift; exec bench/health_cost.sh "$@" ;;
    --fleet) shift; exec bench/fleet_propagation.py "$@" ;;
    --scale) shift; exec bench/scale.py "$@" ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

BUILD_DIR=$ROOT/build-bench
WORK=$BUILD_DIR/work
LG=$BUILD_DIR/loadgen
RESULTS=$WORK/results.tsv
log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ---------------------------------------------------------------- set-up
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
bench/install-peers.sh

# Which snigate: the working tree (default), or with --head the last commit
# exported with git archive (the working tree is untouched either way). The
# report names the commit and says whether src/ had uncommitted changes.
if [[ $SRC_MODE == head ]]; then
  SNIGATE_SRC=$BUILD_DIR/head-src SNIGATE_BUILD=$BUILD_DIR/head
else
  SNIGATE_SRC=$ROOT SNIGATE_BUILD=$BUILD_DIR
fi
SNIGATE=$SNIGATE_BUILD/snigate
# With --base, the revision to compare with: built apart, run as one more target.
BASE= BASE_SRC=$BUILD_DIR/base-src BASE_BUILD=$BUILD_DIR/base
if [[ -n $BASE_REV ]]; then
  short=$(git rev-parse --short "$BASE_REV^{commit}") || { echo "--base: no revision $BASE_REV" >&2; exit 2; }
  BASE=snigate@$short
  TARGETS="$TARGETS $BASE"
fi
# build_snigate SRC BUILD: a Release build of the snigate binary.
build_snigate() {
  log "building snigate (Release) into ${2#$ROOT/}/"
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DSNIGATE_TESTS=OFF >/dev/null
  if ! cmake --build "$2" -j2 --target snigate >"$BUILD_DIR/build.log" 2>&1; then
    grep -E 'error|undefined' "$BUILD_DIR/build.log" | head -20 >&2
    echo "snigate did not build from ${1#$ROOT/} (full log: build-bench/build.log)" >&2
    exit 1
  fi
}
if ((BUILD)); then
  if [[ $SRC_MODE == head ]]; then
    log "building the last commit ($(git rev-parse --short HEAD)), exported to build-bench/head-src"
    rm -rf "$SNIGATE_SRC" && mkdir -p "$SNIGATE_SRC"
    git archive HEAD | tar -x -C "$SNIGATE_SRC"
  fi
  build_snigate "$SNIGATE_SRC" "$SNIGATE_BUILD"
  if [[ -n $BASE ]]; then
    log "building $BASE, exported to build-bench/base-src"
    rm -rf "$BASE_SRC" && mkdir -p "$BASE_SRC"
    git archive "$BASE_REV" | tar -x -C "$BASE_SRC"
    build_snigate "$BASE_SRC" "$BASE_BUILD"
  fi
  log "building the load generator"
  g++ -O2 -std=c++20 -Wall -Wextra -o "$LG" bench/loadgen/loadgen.cpp -lssl -lcrypto -lpthread
fi

rm -rf "$WORK" && mkdir -p "$WORK"
: >"$RESULTS"
# One ECDSA P-256 certificate for both names, used by every terminating proxy.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=rate.bench.test" \
  -addext "subjectAltName=DNS:rate.bench.test,DNS:stream.bench.test" 2>/dev/null
cat "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/combined.pem"
for f in snigate.yaml haproxy.cfg nginx.conf sniproxy.conf; do
  sed "s|@WORK@|$WORK|g" "bench/configs/$f" >"$WORK/$f"
done
# The base revision: the same configuration on ports 19111-19113, without the
# rate-policy router and its middlewares (a revision before them refuses them).
[[ -n $BASE ]] && sed -e 's|:1910\([123]\)"|:1911\1"|' -e '/# policy-begin/,/# policy-end/d' "$WORK/snigate.yaml" \
  >"$WORK/snigate-base.yaml"

# rate-metrics and rate-scraped: the same configuration with metrics and the
# API on, served on 127.0.0.1:19124, in a process of its own on 19121-19123.
sed -e 's|:1910\([123]\)"|:1912\1"|' -e '/^entryPoints:/a\  traefik: {address: "127.0.0.1:19124"}' \
  "$WORK/snigate.yaml" >"$WORK/snigate-metrics.yaml"
printf 'api: {insecure: true}\nmetrics:\n  prometheus: {addRoutersLabels: true}\nping: {}\n' >>"$WORK/snigate-metrics.yaml"

# File descriptors: 2 per proxied connection; the hard limit is the ceiling.
ulimit -n "$(ulimit -Hn)"
if ((IDLE * 2 + 200 > $(ulimit -n))); then
  echo "--idle $IDLE needs $((IDLE * 2 + 200)) descriptors per proxy; ulimit -n is $(ulimit -n)" >&2
  exit 2
fi

# ---------------------------------------------------------------- processes
declare -A PID PORT_SNI PORT_PLAIN PORT_TLS
PORT_SNI=([direct]=19001 [snigate]=19101 [haproxy]=19201 [nginx]=19301 [sniproxy]=19401)
PORT_PLAIN=([direct]=19003 [snigate]=19102 [haproxy]=19202 [nginx]=19302 [sniproxy]=19402)
PORT_TLS=([snigate]=19103 [haproxy]=19203 [nginx]=19303)
if [[ -n $BASE ]]; then PORT_SNI[$BASE]=19111 PORT_PLAIN[$BASE]=19112 PORT_TLS[$BASE]=19113; fi
PORT_SNI[snigate-metrics]=19121
SINK_PORT=19002
started=()

cleanup() {
  local p
  for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${started[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

start() {  # start NAME command...; PID[NAME]
  local name=$1; shift
  "$@" >"$WORK/$name.out" 2>&1 &
  PID[$name]=$!
  started+=("$!")
}

for p in 19001 19002 19003 19004 19101 19102 19103 19111 19112 19113 19121 19122 19123 19124 19201 19202 19203 19301 19302 19303 19401 19402; do
  port_free "$p" || { echo "port $p is in use (a previous run still alive?)" >&2; exit 1; }
done

start backend "$LG" serve --rate-port 19001 --sink-port "$SINK_PORT" --source-port 19004
start iperf3 iperf3 -s -B 127.0.0.1 -p 19003
wait_port 19001; wait_port 19003; wait_port 19004
start_target() {
  local t=$1
  case $t in
    direct) return 0 ;;
    snigate) start snigate "$SNIGATE" --config "$WORK/snigate.yaml" --log-level ERROR ;;
    snigate@*) start "$t" "$BASE_BUILD/snigate" --config "$WORK/snigate-base.yaml" --log-level ERROR ;;
    snigate-metrics) start "$t" "$SNIGATE" --config "$WORK/snigate-metrics.yaml" --log-level ERROR ;;
    haproxy) start haproxy haproxy -db -f "$WORK/haproxy.cfg" ;;
    nginx) start nginx nginx -e /dev/null -p "$WORK" -c "$WORK/nginx.conf" ;;
    sniproxy) start sniproxy sniproxy -f -c "$WORK/sniproxy.conf" ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  wait_port "${PORT_SNI[$t]}" || { cat "$WORK/$t.out" >&2; exit 1; }
}
stop_target() {
  local t=$1 i
  [[ $t == direct ]] && return 0
  kill "${PID[$t]}" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "${PID[$t]}" 2>/dev/null || break; sleep 0.05; done
  kill -9 "${PID[$t]}" 2>/dev/null || true
  wait "${PID[$t]}" 2>/dev/null || true
  for i in $(seq 100); do port_free "${PORT_SNI[$t]}" && break; sleep 0.05; done
}
for t in $TARGETS; do start_target "$t"; done
# Not a target of its own: its rows are snigate's (run_one picks the process).
[[ " $TARGETS " == *" snigate "* && " $WORKLOADS " == *" rate-"[ms]* ]] && start_target snigate-metrics
log "targets up: $TARGETS"

# How busy the machine is before the first measurement: the share of CPU time
# not idle over 2 s. The load average is no guide here: it decays over
# minutes, and a build that ended a minute ago still shows in it.
cpu_busy_pct() {
  local b0 a0 b1 a1
  read -r b0 a0 < <(machine_ticks)
  sleep "$1"
  read -r b1 a1 < <(machine_ticks)
  awk -v b=$((b1 - b0)) -v a=$((a1 - a0)) 'BEGIN { printf "%.0f", (a > 0 ? 100 * b / a : 0) }'
}
BUSY_START=$(cpu_busy_pct 2)
log "CPU busy before the first measurement: ${BUSY_START}%"

# Resident memory of a process and its descendants, in KiB.
rss_tree() {
  local sum=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}
HZ=$(getconf CLK_TCK)
established_to() { ss -Htn state established "dport = :$1" | wc -l; }

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RESULTS"; }  # workload target round metric value
alive() { [[ $1 == direct ]] || kill -0 "${PID[$1]}" 2>/dev/null; }

# ---------------------------------------------------------------- workloads
targets_for() {  # which targets take part in a workload
  local w=$1 t out=()
  for t in $TARGETS; do
    case $w in
      idle) [[ $t == direct ]] && continue ;;
      rate-policy|rate-metrics|rate-scraped) [[ $t == snigate ]] || continue ;;  # snigate's own features
      tls-*) [[ -n ${PORT_TLS[$t]:-} ]] || continue ;;
    esac
    out+=("$t")
  done
  echo "${out[@]}"
}

# The proxy's CPU time spent on one unit of work (a connection, a handshake, a
# GB), recorded next to the rate: on two cores that the load generator and the
# backend share, the rate says how the proxy fared in the squeeze, its cost per
# unit how much of the machine it needed. record_cost workload target round
# metric ticks units scale (scale: 1e6 for µs per unit, 1e12 for ms per GB of
# units counted in bytes); run_one calls it once a workload says what it did.
record_cost() {
  [[ $2 == direct || -z $6 ]] && return 0
  local v; v=$(awk -v c="$5" -v hz="$HZ" -v n="$6" -v s="$7" 'BEGIN { if (n > 0) printf "%.1f", c / hz * s / n }')
  [[ -n $v ]] && record "$1" "$2" "$3" "$4" "$v"
  return 0
}
# The proxy's CPU time (user + system) in clock ticks; 0 for direct.
proxy_cpu() {
  local u=0 s=0
  [[ $1 == direct ]] || read -r u s < <(cpu_ticks "${PID[$1]}")
  echo $((u + s))
}

# Reads /metrics every 100 ms over one keep-alive connection, as a Prometheus
# server would with a 100 ms scrape interval, until killed.
scrape_metrics() {
  /usr/bin/python3 -c '
import http.client, time
c = http.client.HTTPConnection("127.0.0.1", 19124, timeout=5)
while True:
    c.request("GET", "/metrics"); c.getresponse().read(); time.sleep(0.1)' >/dev/null 2>&1
}

run_one() {  # workload target round
  local w=$1 t=$2 r=$3 out c0 cost=() p=$2  # cost: metric, units done, scale (record_cost); p: the process
  [[ $w == rate-metrics || $w == rate-scraped ]] && p=snigate-metrics
  alive "$p" || { log "$p is not running"; return; }
  c0=$(proxy_cpu "$p")
  local scraper=
  if [[ $w == rate-scraped ]]; then scrape_metrics & scraper=$!; fi
  case $w in
    rate|rate-policy|rate-metrics|rate-scraped)
      # rate-policy: the same clients, routed by the name policy.bench.test
      # to a router whose ipAllowList + inFlightConn chain lets them all in.
      local sni=rate.bench.test; [[ $w == rate-policy ]] && sni=policy.bench.test
      out=$("$LG" rate --connect "127.0.0.1:${PORT_SNI[$p]}" --sni "$sni" --conc "$CONC" --time "$TIME")
      cost=(cpu_us_per_conn "$(kv "$out" ok)" 1e6)
      record "$w" "$t" "$r" conns_per_s "$(kv "$out" conns_per_s)"
      record "$w" "$t" "$r" p50_us "$(kv "$out" p50_us)"
      record "$w" "$t" "$r" p99_us "$(kv "$out" p99_us)"
      record "$w" "$t" "$r" errors "$(kv "$out" errors)" ;;
    stream1|stream16)
      local port=${PORT_SNI[$t]}; [[ $t == direct ]] && port=$SINK_PORT
      out=$("$LG" stream --connect "127.0.0.1:$port" --sni stream.bench.test --streams "${w#stream}" --time "$TIME")
      cost=(cpu_ms_per_gb "$(kv "$out" bytes_total)" 1e12)
      record "$w" "$t" "$r" gbit_per_s "$(kv "$out" gbit_per_s)"
      record "$w" "$t" "$r" errors "$(kv "$out" failed)" ;;
    plain)
      local secs; secs=$(awk -v t="$TIME" 'BEGIN{s=int(t+0.5); if(s<1)s=1; print s}')
      # The rate as received after the omitted first second; the bytes of
      # every interval, the omitted one too, for the CPU spent.
      out=$(iperf3 -c 127.0.0.1 -p "${PORT_PLAIN[$t]}" -t "$secs" -O 1 -J 2>/dev/null \
        | jq -r '"\(.end.sum_received.bits_per_second // 0) \([.intervals[].sum.bytes] | add // 0)"' || echo 0 0)
      cost=(cpu_ms_per_gb "${out#* }" 1e12)
      record plain "$t" "$r" gbit_per_s "$(awk -v b="${out%% *}" 'BEGIN{printf "%.2f", b/1e9}')" ;;
    idle)
      local before after n ready i
      # A fresh process for each measurement: memory an allocator kept from
      # earlier workloads or rounds would otherwise hide the growth.
      stop_target "$t"; start_target "$t"
      "$LG" rate --connect "127.0.0.1:${PORT_SNI[$t]}" --sni rate.bench.test --conc 8 --time 0.2 >/dev/null
      sleep 0.3
      before=$(rss_tree "${PID[$t]}")
      local base; base=$(established_to "$SINK_PORT")
      "$LG" idle --connect "127.0.0.1:${PORT_SNI[$t]}" --sni stream.bench.test --count "$IDLE" --hold 120 \
        >"$WORK/idle.out" 2>&1 &
      local ipid=$!
      started+=("$ipid")
      for i in $(seq 400); do grep -q ready "$WORK/idle.out" && break; sleep 0.1; done
      # The proxy has read every hello and dialled the backend for each.
      for i in $(seq 200); do
        n=$(($(established_to "$SINK_PORT") - base))
        ((n >= IDLE)) && break
        sleep 0.1
      done
      sleep 0.5
      after=$(rss_tree "${PID[$t]}")
      kill "$ipid" 2>/dev/null; wait "$ipid" 2>/dev/null || true
      ready=$(kv "$(cat "$WORK/idle.out")" ready)
      record idle "$t" "$r" bytes_per_conn "$(((after - before) * 1024 / IDLE))"
      record idle "$t" "$r" backend_conns "$n"
      record idle "$t" "$r" rss_before_kib "$before"
      # Let the proxy close everything before the next target.
      for i in $(seq 200); do (($(established_to "$SINK_PORT") <= base)) && break; sleep 0.1; done ;;
    tls-rate)
      out=$("$LG" rate --tls --connect "127.0.0.1:${PORT_TLS[$t]}" --sni rate.bench.test --conc "$TLS_CONC" --time "$TIME")
      cost=(cpu_us_per_hs "$(kv "$out" ok)" 1e6)
      record tls-rate "$t" "$r" handshakes_per_s "$(kv "$out" conns_per_s)"
      record tls-rate "$t" "$r" p50_us "$(kv "$out" p50_us)"
      record tls-rate "$t" "$r" p99_us "$(kv "$out" p99_us)"
      record tls-rate "$t" "$r" errors "$(kv "$out" errors)" ;;
    tls-stream)
      out=$("$LG" stream --tls --connect "127.0.0.1:${PORT_TLS[$t]}" --sni stream.bench.test --streams 1 --time "$TIME")
      cost=(cpu_ms_per_gb "$(kv "$out" bytes_total)" 1e12)
      record tls-stream "$t" "$r" gbit_per_s "$(kv "$out" gbit_per_s)"
      record tls-stream "$t" "$r" errors "$(kv "$out" failed)" ;;
    tls-download)
      out=$("$LG" stream --tls --download --connect "127.0.0.1:${PORT_TLS[$t]}" --sni download.bench.test --streams 1 --time "$TIME")
      cost=(cpu_ms_per_gb "$(kv "$out" bytes_total)" 1e12)
      record tls-download "$t" "$r" gbit_per_s "$(kv "$out" gbit_per_s)"
      record tls-download "$t" "$r" errors "$(kv "$out" failed)" ;;
    *) echo "unknown workload $w" >&2; exit 2 ;;
  esac
  # The CPU time is read after the records above, which take microseconds.
  if ((${#cost[@]})); then
    record_cost "$w" "$t" "$r" "${cost[0]}" $(($(proxy_cpu "$p") - c0)) "${cost[1]}" "${cost[2]}"
  fi
  if [[ -n $scraper ]]; then kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true; fi
}

T0=$(date +%s)  # the measuring time, without the build and the set-up
for w in $WORKLOADS; do
  tl=$(targets_for "$w")
  nr=$ROUNDS; [[ $w == idle ]] && nr=$IDLE_ROUNDS
  read -ra order <<<"$tl"
  for r in $(seq "$nr"); do
    # Each round starts one target later (A B C D E, B C D E A, ...): no
    # target always runs right after the same one (after direct, the kernel
    # holds the most TIME_WAIT sockets).
    for ((i = 0; i < ${#order[@]}; i++)); do
      t=${order[$(((i + r - 1) % ${#order[@]}))]}
      log "$w round $r/$nr: $t"
      run_one "$w" "$t" "$r"
      sleep 0.2
    done
  done
done

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - T0))
log "measurements done in ${ELAPSED}s"

# ---------------------------------------------------------------- report
versions() {
  local what="commit $(git rev-parse --short HEAD)"
  [[ $SRC_MODE == worktree && -n $(git status --porcelain -- src CMakeLists.txt) ]] &&
    what="$what plus uncommitted changes in src/"
  echo "snigate: $("$SNIGATE" version 2>&1 | head -1) ($what)"
  [[ -z $BASE ]] || echo "$BASE: $("$BASE_BUILD/snigate" version 2>&1 | head -1) (commit ${BASE#snigate@}, the --base revision)"
  echo "HAProxy: $(haproxy -v | head -1)"
  echo "nginx: $(nginx -v 2>&1)"
  echo "sniproxy: $(sniproxy -V 2>&1 | head -1)"
  echo "iperf3: $(iperf3 -v | head -1)"
  echo "OpenSSL: $(openssl version)"
  echo "g++: $(g++ --version | head -1)"
}
{
  echo "nproc=$(nproc)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "kernel=$(uname -srm)"
  echo "mem=$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "load_start=$LOAD_START"
  echo "busy_start=$BUSY_START"
  echo "load_end=$LOAD_END"
  echo "elapsed=$ELAPSED"
  echo "rounds=$ROUNDS"
  echo "idle_rounds=$IDLE_ROUNDS"
  echo "time=$TIME"
  echo "idle=$IDLE"
  echo "conc=$CONC"
  echo "tls_conc=$TLS_CONC"
  echo "quick=$QUICK"
  echo "command=bench/run.sh${argv[*]:+ ${argv[*]}}"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
} >"$WORK/meta.txt"
versions >"$WORK/versions.txt"

doc_args=()
((DOC)) && doc_args=(--doc "$ROOT/docs/benchmarks.md")
/usr/bin/python3 bench/report.py --work "$WORK" --configs bench/configs "${doc_args[@]}"
