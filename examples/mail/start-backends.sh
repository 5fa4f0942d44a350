#!/bin/sh
# Starts the two SMTP servers of this example (aiosmtpd, with sink.py as the
# handler) and stays in the foreground until Ctrl-C (or SIGTERM), which stops
# them. Each prints one line per message it takes. Run ./make-certs.sh first.
#
#   127.0.0.1:18231  smtp-a  STARTTLS with certs/a.pem (a.mail.example.test)
#   127.0.0.1:18232  smtp-b  STARTTLS with certs/b-server.pem (smtp-b.internal.test);
#                            also takes mail without TLS (--no-requiretls)
#
# Debian's python3-aiosmtpd; PYTHON names another interpreter that has aiosmtpd.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
[ -f "$here/certs/a.pem" ] || { echo "run $here/make-certs.sh first" >&2; exit 1; }
"$python" -c 'import aiosmtpd' 2>/dev/null || { echo "$python has no aiosmtpd (apt-get install python3-aiosmtpd)" >&2; exit 1; }
cd "$here"   # python3 -m aiosmtpd -c sink.Sink imports sink.py from here
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ left next to sink.py

pids=""
stop() {
  trap - INT TERM EXIT
  [ -n "$pids" ] && kill $pids 2>/dev/null || true
  wait
}
trap stop INT TERM EXIT

"$python" -m aiosmtpd -n -l 127.0.0.1:18231 -c sink.Sink smtp-a \
  --tlscert certs/a.pem --tlskey certs/a.key &
pids="$pids $!"
"$python" -m aiosmtpd -n -l 127.0.0.1:18232 -c sink.Sink smtp-b \
  --tlscert certs/b-server.pem --tlskey certs/b-server.key --no-requiretls &
pids="$pids $!"
echo "smtp-a 127.0.0.1:18231, smtp-b 127.0.0.1:18232; Ctrl-C stops them"
wait
