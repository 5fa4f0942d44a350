#!/bin/sh
# Starts the three PostgreSQL servers this example routes to, and stays in the
# foreground until Ctrl-C (or SIGTERM), which stops them.
#   ./start-backends.sh          data under /tmp/snigate-example-pg
#   ./start-backends.sh DIR      data under DIR (removed and made again)
# Run ./make-certs.sh first: billing and legacy serve certs/server.pem.
#
#   127.0.0.1:18551  orders   plaintext
#   127.0.0.1:18552  billing  ssl = on (certs/server.pem)
#   127.0.0.1:18553  legacy   ssl = on (certs/server.pem)
#
# Each has a role alice with a database alice, and trusts every connection
# from 127.0.0.1: for trying snigate only. PostgreSQL refuses to run as root;
# as root the servers run as the user postgres.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/tmp/snigate-example-pg}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bin/initdb" ] || { echo "no PostgreSQL server binaries found (set PG_BIN)" >&2; exit 1; }
[ -f "$here/certs/server.pem" ] || { echo "run $here/make-certs.sh first" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi
}

rm -rf "$dir"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
# The programs below run as postgres, which may not be allowed into the caller's
# directory (a checkout under /root): they would warn that they cannot change to it.
cd "$dir"
as_pg "$bin/initdb" -D "$dir/template" -U postgres --auth=trust --no-sync --no-instructions >/dev/null

pids=""
stop() {
  trap - INT TERM EXIT
  # SIGINT is PostgreSQL's fast shutdown: disconnect clients, then exit.
  [ -n "$pids" ] && kill -INT $pids 2>/dev/null || true
  wait
  rm -rf "$dir"
}
trap stop INT TERM EXIT

for spec in orders:18551:off billing:18552:on legacy:18553:on; do
  name=${spec%%:*}; rest=${spec#*:}; port=${rest%%:*}; ssl=${rest#*:}
  data="$dir/$name"
  as_pg cp -a "$dir/template" "$data"
  as_pg mkdir "$data/sock"
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$data/sock'"
    echo "fsync = off"
    echo "ssl = $ssl"
  } | as_pg tee -a "$data/postgresql.conf" >/dev/null
  if [ "$ssl" = on ]; then
    as_pg tee "$data/server.crt" <"$here/certs/server.pem" >/dev/null
    as_pg tee "$data/server.key" <"$here/certs/server.key" >/dev/null
    as_pg chmod 600 "$data/server.key"
  fi
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | as_pg tee "$data/pg_hba.conf" >/dev/null
  # Not through the as_pg function: in the background that would be a subshell,
  # and $! its pid, which ignores SIGINT (no job control here). setpriv execs
  # postgres, so $! is the server itself.
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$data" >"$dir/$name.log" 2>&1 &
  else
    "$bin/postgres" -D "$data" >"$dir/$name.log" 2>&1 &
  fi
  pids="$pids $!"
done

for name in orders billing legacy; do
  data="$dir/$name"
  port=$(sed -n 's/^port = //p' "$data/postgresql.conf")
  tries=0
  until pg_isready -q -h "$data/sock" -p "$port" -U postgres; do
    tries=$((tries + 1))
    [ $tries -lt 100 ] || { echo "$name did not start:" >&2; cat "$dir/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  as_pg psql -X -q -h "$data/sock" -p "$port" -U postgres -d postgres \
    -c "create role alice login" -c "create database alice owner alice"
  echo "$name: 127.0.0.1:$port"
done
echo "backends ready; Ctrl-C stops them"
wait
