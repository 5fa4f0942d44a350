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
