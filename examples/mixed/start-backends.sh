#!/bin/sh
# Starts this example's plain-TCP backend, a Redis server without persistence,
# and stays in the foreground until Ctrl-C (or SIGTERM), which stops it.
#
#   127.0.0.1:18779  redis-server (the catch-all router's service)
set -eu
echo "redis: 127.0.0.1:18779"
echo "Ctrl-C stops the server"
exec redis-server --port 18779 --bind 127.0.0.1 --save '' --appendonly no
