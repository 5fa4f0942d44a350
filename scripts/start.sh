#!/usr/bin/env bash
# Installs the build dependencies, builds snigate in Release and starts it.
# With no arguments it serves the built-in default: TLS on 127.0.0.1:8443 with a
# self-signed certificate, answered by whoami@internal. Arguments go to snigate.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSNIGATE_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
exec ./build/snigate "$@"
