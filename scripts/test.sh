#!/usr/bin/env bash
# Installs what the tests need, builds with warnings as errors and with ASan and
# UBSan, and runs every test: unit tests, end-to-end tests with real servers
# and clients, and each fuzz target for a short while. Any failure, sanitizer
# report or fuzzer crash ends the script with a non-zero status; with CI=true a
# skipped end-to-end test is a failure too (tests/e2e/conftest.py).
#   scripts/test.sh                 everything (what .ci/run runs)
#   scripts/test.sh unit e2e fuzz   only those stages (each builds what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
stages=("$@")
((${#stages[@]})) || stages=(unit e2e fuzz)

wants() { local s; for s in "${stages[@]}"; do [[ "$s" == "$1" ]] && return 0; done; return 1; }
# Each stage says how long it took, so that a slow CI run shows where its minutes went.
stage_start=$SECONDS
stage() { echo "   (took $((SECONDS - stage_start)) s)"; stage_start=$SECONDS; echo "== $*"; }

echo "== install dependencies"
scripts/install-deps.sh --test

if wants unit || wants e2e; then
  stage "build (ASan + UBSan, -Werror)"
  cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSNIGATE_WERROR=ON -DSNIGATE_SANITIZE=ON >/dev/null
  cmake --build build-test -j"$jobs"
fi

if wants unit; then
  stage "unit tests"
  # --no-tests=error: a build that registered no tests is a failure, not a pass.
  (cd build-test && ctest --output-on-failure --no-tests=error -j"$jobs")
fi

if wants e2e; then
  stage "end-to-end tests (CI=${CI:-unset})"
  # CI comes from the environment when CI runs; pytest sees it, and under CI=true a skip
  # fails the run. Leak detection is on: every snigate the harness stops with SIGTERM
  # must exit 0 with nothing from LeakSanitizer, ASan or UBSan in its output.
  # UBSan also stops at the first report (the build has -fno-sanitize-recover=undefined).
  # Debian's interpreter, which sees the python3-* client packages.
  # tests/e2e/test_install.py installs a .deb made with CPack. Made from this build, it
  # costs seconds; by default that test makes its own from a Release build, which would
  # be a third compile of the whole tree and the longest part of a CI run.
  rm -f build-test/snigate_*.deb
  (cd build-test && cpack -G DEB >/dev/null)
  rc=0
  SNIGATE_DEB="$(echo "$PWD"/build-test/snigate_*.deb)" \
  SNIGATE_BIN="$PWD/build-test/snigate" \
    ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    /usr/bin/python3 -m pytest -q -ra --durations=20 -p no:cacheprovider tests/e2e || rc=$?
  if ((rc == 5)); then
    echo "FAIL: pytest collected no end-to-end tests" >&2
    exit 1
  elif ((rc != 0)); then
    echo "FAIL: end-to-end tests (pytest exit status $rc)" >&2
    exit "$rc"
  fi
fi

# One fuzz target for FUZZ_SECONDS, from a copy of its seed corpus (the seeds in git stay
# as they are). A crash (ASan, UBSan, the target's own __builtin_trap, a timeout or running
# out of memory) leaves the input in build-fuzz/artifacts/<target>/ and fails the stage.
run_fuzzer() {
  local bin=$1 name
  name=$(basename "$bin" _fuzz)
  local artifacts="$PWD/build-fuzz/artifacts/$name" log="$PWD/build-fuzz/artifacts/$name.log"
  local work rc=0 runs
  rm -rf "$artifacts" && mkdir -p "$artifacts"
  work=$(mktemp -d)
  if [[ -d "tests/fuzz/corpus/$name" ]]; then
    cp -r "tests/fuzz/corpus/$name/." "$work/"
  else
    echo "note: no seed corpus tests/fuzz/corpus/$name"
  fi
  "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$work" >"$log" 2>&1 || rc=$?
  rm -rf "$work"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if ((rc == 0)); then
    echo "ok   $name: ${runs:-?} inputs run in $FUZZ_SECONDS s"
    return 0
  fi
  echo "FAIL $name: exit status $rc after ${runs:-?} inputs; full output in $log" >&2
  grep -E "ERROR: |runtime error:|==[0-9]+== |deadly signal|Test unit written to" "$log" | head -n 20 >&2 || true
  local a found=0
  for a in "$artifacts"/*; do
    [[ -e "$a" ]] || continue
    found=1
    echo "     crash input: $a (reproduce: $PWD/$bin $a)" >&2
  done
  ((found)) || echo "     no crash input was written (see the log)" >&2
  return 1
}

if wants fuzz; then
  stage "fuzz targets (${FUZZ_SECONDS:=20} s each)"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSNIGATE_FUZZ=ON -DSNIGATE_TESTS=OFF >/dev/null
  # Only the fuzz targets: they use the pure modules, which need no Asio.
  fuzzers=$(for f in tests/fuzz/*_fuzz.cpp; do basename "$f" .cpp; done)
  # shellcheck disable=SC2086 # one target name per word
  cmake --build build-fuzz -j"$jobs" --target $fuzzers
  # One target per core at a time: each still gets FUZZ_SECONDS of a core.
  failed=()
  declare -A running=()
  for f in $fuzzers; do
    if ((${#running[@]} >= jobs)); then
      wait -n -p done_pid || failed+=("${running[$done_pid]}")
      unset "running[$done_pid]"
    fi
    run_fuzzer "build-fuzz/$f" &
    running[$!]=$f
  done
  for pid in "${!running[@]}"; do
    wait "$pid" || failed+=("${running[$pid]}")
  done
  if ((${#failed[@]})); then
    echo "FAIL: fuzz target(s) crashed: ${failed[*]}" >&2
    exit 1
  fi
fi
stage "all tests passed (${stages[*]}) in $SECONDS s"
