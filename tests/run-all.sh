#!/usr/bin/env bash
# Installs what the tests need, builds edgefed with AddressSanitizer and
# UndefinedBehaviorSanitizer, runs the libFuzzer targets for a bounded time,
# then every CTest test (unit, schema, integration). Exit status is non-zero
# if anything fails. Environment:
#   EDGEFED_BUILD_DIR      build directory (default: build)
#   EDGEFED_FUZZ_SECONDS   seconds per fuzz target (default 60; 0 skips fuzzing)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${EDGEFED_BUILD_DIR:-build}
fuzz_seconds=${EDGEFED_FUZZ_SECONDS:-60}
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "dependencies"
if [ "$(id -u)" -eq 0 ]; then
  deploy/install-deps.sh
else
  sudo deploy/install-deps.sh
fi

step "build ($build, ASan+UBSan)"
# Benchmarks are built by the release build (deploy/demo.sh, benchmarks/); the
# sanitizer build is for tests only.
# -O1 -g1: half the compile time of -O2 -g on the Beast-heavy units, and line
# tables are all ASan's stack traces need; the training code keeps -O2
# (edgefed_hot_code in CMakeLists.txt).
# The tests' own sources at -O0 (EDGEFED_TEST_CODE_OPT): another ~3 minutes
# less on 2 cores.
cmake -S . -B "$build" -DEDGEFED_SANITIZE=ON -DEDGEFED_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DEDGEFED_TEST_CODE_OPT=-O0 >/dev/null
cmake --build "$build" -j"$jobs"

if [ "$fuzz_seconds" != 0 ] && [ -x tests/fuzz/run.sh ]; then
  step "fuzz (${fuzz_seconds}s per target)"
  tests/fuzz/run.sh "$fuzz_seconds"
fi

step "tests"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Unit tests in parallel, then the rest (integration, security, e2e, deploy,
# schema). Tests that start real servers and measure time are RUN_SERIAL
# (tests/CMakeLists.txt, e2e, deploy): CTest runs each of them alone, so -j
# only pairs up the static checks (deploy lints, corpus replays; about a
# minute one at a time). Each run stops the script on failure; the last CTest
# summary closes the output.
ctest --test-dir "$build" -L unit -j"$jobs" --output-on-failure --timeout 900
ctest --test-dir "$build" -LE unit -j"$jobs" --output-on-failure --timeout 900
