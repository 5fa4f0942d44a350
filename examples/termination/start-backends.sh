#!/bin/sh
# Starts the three backends of this example and stays in the foreground until
# Ctrl-C (or SIGTERM), which stops them. Run ./make-certs.sh first.
#   ./start-backends.sh          pages under /tmp/snigate-example-termination
#   ./start-backends.sh DIR      pages under DIR
#
#   127.0.0.1:18651  plain HTTP, answers "app backend"
#   127.0.0.1:18652  plain HTTP, answers "tenants backend"
#   127.0.0.1:18653  TLS (certs/backend.pem, backend.example.test): openssl s_server -www
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/tmp/snigate-example-termination}
[ -f "$here/certs/backend.pem" ] || { echo "run $here/make-certs.sh first" >&2; exit 1; }
mkdir -p "$dir/app" "$dir/tenants"
echo "app backend" >"$dir/app/index.html"
echo "tenants backend" >"$dir/tenants/index.html"

pids=""
stop() {
  trap - INT TERM EXIT
  [ -n "$pids" ] && kill $pids 2>/dev/null || true
  wait
}
trap stop INT TERM EXIT

python3 -m http.server 18651 --bind 127.0.0.1 --directory "$dir/app" >/dev/null 2>&1 &
pids="$pids $!"
python3 -m http.server 18652 --bind 127.0.0.1 --directory "$dir/tenants" >/dev/null 2>&1 &
pids="$pids $!"
openssl s_server -accept 127.0.0.1:18653 -cert "$here/certs/backend.pem" -key "$here/certs/backend.key" \
  -www -quiet &
pids="$pids $!"
echo "app 127.0.0.1:18651, tenants 127.0.0.1:18652, secure (TLS) 127.0.0.1:18653; Ctrl-C stops them"
wait
