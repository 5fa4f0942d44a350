#!/bin/sh
# Starts HAProxy for this example and stays in the foreground until Ctrl-C (or
# SIGTERM), which stops it.
#
#   127.0.0.1:18941  HAProxy, sends PROXY v2 to snigate on 18943
#   127.0.0.1:18942  HAProxy, accepts PROXY from snigate and answers with it
set -eu
here=$(dirname "$0")
echo "haproxy: 127.0.0.1:18941 (in front of snigate), 127.0.0.1:18942 (behind it)"
echo "Ctrl-C stops it"
exec haproxy -db -f "$here/haproxy.cfg"
