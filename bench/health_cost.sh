#!/usr/bin/env bash
# The cost of active health checks: snigate with N servers checked every
# INTERVAL (TCP connect probes against a few local listeners), its CPU time
# (user + system, every thread, from /proc/<pid>/stat) over TIME seconds, as
# CPU seconds per minute and CPU milliseconds per interval. bench/run.sh
# --health runs this.
#
#   bench/health_cost.sh [--servers 1000] [--interval 1s] [--time 60]
#                        [--listeners 4] [--bin PATH] [--no-doc]
#
# The servers are SERVERS/LISTENERS services of LISTENERS servers each (a
# server's health is per service and address, so every one is probed). The
# listeners accept and close; their accept count checks that the probes ran.
# Writes the section "Health checks" of docs/benchmarks.md unless --no-doc.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/common.sh
argv=("$@")

SERVERS=1000 INTERVAL=1s TIME=60 LISTENERS=4 BIN= DOC=1
while (($#)); do
  case "$1" in
    --servers) SERVERS=$2; shift ;;
    --interval) INTERVAL=$2; shift ;;
    --time) TIME=$2; shift ;;
    --listeners) LISTENERS=$2; shift ;;
    --bin) BIN=$2; shift ;;
    --no-doc) DOC=0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -n $BIN ]] || BIN=$ROOT/build-bench/snigate
[[ -x $BIN ]] || { echo "no snigate at $BIN (build it, or give --bin)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/snigate-health-bench.XXXXXX)
HZ=$(getconf CLK_TCK)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Listeners that accept and close; each writes its count on SIGTERM.
ports=()
for i in $(seq "$LISTENERS"); do
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  /usr/bin/python3 - "$port" "$WORK/accepted.$i" <<'PY' &
import signal, socket, sys
port, out = int(sys.argv[1]), sys.argv[2]
n = 0
def done(*_):
    open(out, "w").write(str(n))
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
s = socket.create_server(("127.0.0.1", port), backlog=4096)
while True:
    c, _ = s.accept()
    n += 1
    c.close()
PY
  pids+=($!)
  ports+=("$port")
done
for p in "${ports[@]}"; do wait_port "$p"; done

ENTRY=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  echo "entryPoints: {web: {address: \"127.0.0.1:$ENTRY\"}}"
  echo "log: {level: WARN}"
  echo "tcp:"
  echo "  routers: {all: {entryPoints: [web], rule: \"HostSNI(\`*\`)\", service: hc1}}"
  echo "  services:"
  for s in $(seq $((SERVERS / LISTENERS))); do
    echo "    hc$s:"
    echo "      loadBalancer:"
    echo "        healthCheck: {interval: $INTERVAL, timeout: 1s}"
    echo "        servers:"
    for p in "${ports[@]}"; do echo "          - address: \"127.0.0.1:$p\""; done
  done
} >"$WORK/snigate.yaml"
CHECKED=$(( (SERVERS / LISTENERS) * LISTENERS ))

"$BIN" --config "$WORK/snigate.yaml" 2>"$WORK/snigate.log" &
SG=$!
pids+=("$SG")
wait_port "$ENTRY"
sleep 3  # every server has had its first probe (within the first second)
read -r u0 s0 < <(cpu_ticks "$SG")
sleep "$TIME"
read -r u1 s1 < <(cpu_ticks "$SG")
kill "$SG"; wait "$SG" 2>/dev/null || true
for i in $(seq "$LISTENERS"); do kill "${pids[$((i - 1))]}"; done
wait 2>/dev/null || true
accepted=0
for i in $(seq "$LISTENERS"); do accepted=$((accepted + $(cat "$WORK/accepted.$i" 2>/dev/null || echo 0))); done
if grep -q "is DOWN" "$WORK/snigate.log"; then echo "some servers went DOWN:" >&2; grep "is DOWN" "$WORK/snigate.log" | head -3 >&2; fi

interval_s=$(awk -v i="$INTERVAL" 'BEGIN { v = i + 0; if (i ~ /ms$/) v /= 1000; else if (i ~ /m$/) v *= 60; print v }')
read -r user sys cpu_min cpu_interval probes_s < <(awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$HZ" -v t="$TIME" \
  -v iv="$interval_s" -v a="$accepted" \
  'BEGIN { printf "%.2f %.2f %.2f %.1f %.0f\n", u/hz, s/hz, (u+s)/hz*60/t, (u+s)/hz*1000/(t/iv), a/(t+3) }')
RESULT="| $CHECKED | $INTERVAL | ${TIME} s | $user + $sys s | $cpu_min s | $cpu_interval ms | $probes_s |"
echo "servers interval time user+sys cpu_s_per_min cpu_ms_per_interval probes_per_s"
echo "$RESULT"

((DOC)) || exit 0
build="$("$BIN" version 2>&1 | head -1), commit $(git rev-parse --short HEAD)"
[[ -n $(git status --porcelain -- src CMakeLists.txt) ]] && build="$build plus uncommitted changes in src/"
SECTION=$(cat <<MD
## Health checks: CPU at $CHECKED servers

\`bench/health_cost.sh${argv[*]:+ ${argv[*]}}\` (or \`bench/run.sh --health\`): snigate
with $CHECKED servers, each with \`healthCheck: {interval: $INTERVAL}\` (a TCP connect
probe), against $LISTENERS local listeners that accept and close. CPU time of the
snigate process (user + system, all threads) over ${TIME} s, after the first probes.

| servers | interval | measured | CPU user + system | CPU per minute | CPU per interval | probes/s seen by the listeners |
| --- | --- | --- | --- | --- | --- | --- |
$RESULT

Run at $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores (load at the end: $(cut -d' ' -f1-3 /proc/loadavg)), $build, binary \`${BIN#$ROOT/}\`.
MD
)
/usr/bin/python3 - "$ROOT/docs/benchmarks.md" "$SECTION" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2].rstrip() + "\n"
doc = open(path).read()
pat = re.compile(r"\n## Health checks: CPU at .*?(?=\n## )", re.S)
if pat.search(doc):
    doc = pat.sub(lambda m: "\n" + section, doc, count=1)
else:  # after the sections other scripts measure, before the closing discussion
    at = doc.index("\n## Where snigate stands") if "\n## Where snigate stands" in doc else len(doc)
    doc = doc[:at] + "\n" + section + doc[at:]
open(path, "w").write(doc)
print(f"wrote {path}")
PY
