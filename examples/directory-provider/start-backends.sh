#!/bin/sh
# Starts the TLS server behind echo.localhost (127.0.0.1:18844, openssl
# s_server -www with a self-signed certificate) and stays in the foreground
# until Ctrl-C (or SIGTERM), which stops it.
#   ./start-backends.sh          certificate in /tmp (echo.pem, echo.key)
#   ./start-backends.sh DIR      certificate in DIR
set -eu

dir=${1:-/tmp}
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$dir/echo.key" -out "$dir/echo.pem" -subj /CN=echo.localhost \
  -addext subjectAltName=DNS:echo.localhost -days 7 2>/dev/null

pid=""
stop() {
  trap - INT TERM EXIT
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait
}
trap stop INT TERM EXIT

openssl s_server -accept 127.0.0.1:18844 -cert "$dir/echo.pem" -key "$dir/echo.key" -www -quiet &
pid=$!
echo "echo.localhost: 127.0.0.1:18844; Ctrl-C stops it"
wait
