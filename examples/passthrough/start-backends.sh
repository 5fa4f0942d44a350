#!/bin/sh
# Starts the two TLS servers of this example, each with a self-signed
# certificate for its name, and stays in the foreground until Ctrl-C (or
# SIGTERM), which stops them.
#   ./start-backends.sh          certificates in /tmp (alpha.pem, beta.pem, ...)
#   ./start-backends.sh DIR      certificates in DIR
#
#   127.0.0.1:18544  alpha.localhost   (openssl s_server -www: a status page)
#   127.0.0.1:18545  beta.localhost
set -eu

dir=${1:-/tmp}
mkdir -p "$dir"

pids=""
stop() {
  trap - INT TERM EXIT
  [ -n "$pids" ] && kill $pids 2>/dev/null || true
  wait
}
trap stop INT TERM EXIT

port=18544
for n in alpha beta; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/$n.key" -out "$dir/$n.pem" -days 7 \
    -subj "/CN=$n.localhost" -addext "subjectAltName=DNS:$n.localhost" 2>/dev/null
  openssl s_server -accept "127.0.0.1:$port" -cert "$dir/$n.pem" -key "$dir/$n.key" -www -quiet &
  pids="$pids $!"
  echo "$n.localhost: 127.0.0.1:$port (certificate $dir/$n.pem)"
  port=$((port + 1))
done
echo "Ctrl-C stops the servers"
wait
