#!/usr/bin/env bash
# Installs what the tests need, builds with warnings as errors and with ASan and
# UBSan, and runs every test: unit tests, end-to-end tests with real servers
# and clients, and each fuzz target for a short while.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/install-deps.sh --test

echo "== build (ASan + UBSan, -Werror)"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSNIGATE_WERROR=ON -DSNIGATE_SANITIZE=ON >/dev/null
cmake --build build-test -j"$jobs"

echo "== unit tests"
(cd build-test && ctest --output-on-failure -j"$jobs")

echo "== end-to-end tests"
# Debian's interpreter, which sees the python3-* client packages.
SNIGATE_BIN="$PWD/build-test/snigate" ASAN_OPTIONS=detect_leaks=0 \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

echo "== fuzz targets (${FUZZ_SECONDS:=20} s each)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSNIGATE_FUZZ=ON -DSNIGATE_TESTS=OFF >/dev/null
# Only the fuzz targets: they use the pure modules, which need no Asio.
fuzzers=$(for f in tests/fuzz/*_fuzz.cpp; do basename "$f" .cpp; done)
cmake --build build-fuzz -j"$jobs" --target $fuzzers
for f in build-fuzz/*_fuzz; do
  name=$(basename "$f" _fuzz)
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
  "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$work" 2>&1 | grep -E "^(stat::number_of_executed_units|Done)" || true
  rm -rf "$work"
done
echo "== all tests passed"
