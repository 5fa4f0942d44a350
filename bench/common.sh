# Shell functions the bench scripts share; sourced, not run.

# Whether nothing listens on TCP port $1.
port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

# Waits until something listens on TCP port $1 (5 s at most).
wait_port() {
  local i
  for i in $(seq 100); do
    ss -Hltn "sport = :$1" | grep -q . && return 0
    sleep 0.05
  done
  echo "nothing listens on port $1" >&2
  return 1
}

# A process and its descendants (nginx's master and workers).
tree_pids() {
  local pids=$1 all=$1 kids
  while [[ -n $pids ]]; do
    kids=$(ps -o pid= --ppid "$(echo $pids | tr ' ' ,)" 2>/dev/null | xargs || true)
    all="$all $kids"
    pids=$kids
  done
  echo "$all"
}

# CPU time of a process and its descendants, in clock ticks: "user system",
# every thread. Softirq work, which on loopback delivers each packet, is
# accounted apart by this kernel and is in neither. (The command name, field
# 2, may hold spaces: the fields are counted after its closing parenthesis.)
cpu_ticks() {
  local p
  for p in $(tree_pids "$1"); do sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{u += $12; s += $13} END {print u + 0, s + 0}'
}

# The whole machine's CPU time so far, in clock ticks: "busy all", busy being
# all but idle and iowait (/proc/stat, user to steal).
machine_ticks() {
  awk 'NR == 1 { for (i = 2; i <= 9; i++) { all += $i; if (i == 5 || i == 6) idle += $i }
                 print all - idle, all; exit }' /proc/stat
}

# The value of key $2 in a line of key=value words ($1).
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# For the scripts that reuse what bench/run.sh left in build-bench/
# (rate_split.sh, rate_profile.sh): starts the backend and each of $TARGETS
# on the configurations in $WORK, recording each pid in PID[name] and in
# `started` (for the caller's EXIT trap); direct needs no process. The caller
# declares PID (associative), PORT (associative, target to port) and started.
start_target() {  # start_target NAME command...
  local name=$1; shift
  "$@" >"$WORK/$name.out" 2>&1 &
  PID[$name]=$!
  started+=("$!")
}
start_rate_targets() {
  local p t
  for p in 19001 19002 19004; do port_free "$p" || { echo "port $p is in use (a bench run still alive?)" >&2; return 1; }; done
  for t in $TARGETS; do
    [[ $t == direct ]] || port_free "${PORT[$t]}" || { echo "port ${PORT[$t]} is in use" >&2; return 1; }
  done
  start_target backend "$LG" serve --rate-port 19001 --sink-port 19002 --source-port 19004
  wait_port 19001 || return 1
  for t in $TARGETS; do
    case $t in
      direct) continue ;;
      snigate) start_target snigate "$BUILD_DIR/snigate" --config "$WORK/snigate.yaml" --log-level ERROR ;;
      haproxy) start_target haproxy haproxy -db -f "$WORK/haproxy.cfg" ;;
      nginx) start_target nginx nginx -e /dev/null -p "$WORK" -c "$WORK/nginx.conf" ;;
      sniproxy) start_target sniproxy sniproxy -f -c "$WORK/sniproxy.conf" ;;
      *) echo "unknown target $t" >&2; return 2 ;;
    esac
    wait_port "${PORT[$t]}" || return 1
  done
}

# What bench/run.sh leaves in build-bench/, for the scripts that reuse it
# (rate_split.sh, rate_profile.sh, instructions.sh). Needs ROOT.
BUILD_DIR=${ROOT:-.}/build-bench
WORK=$BUILD_DIR/work
LG=$BUILD_DIR/loadgen
need_bench_run() {
  [[ -x $LG && -x $BUILD_DIR/snigate && -f $WORK/snigate.yaml ]] || { echo "run bench/run.sh first" >&2; exit 1; }
}
