#!/usr/bin/env bash
# Installs what the tests need, builds edgefed with AddressSanitizer and
# UndefinedBehaviorSanitizer, runs every CTest test (unit, schema,
# integration) and, beside the integration tests, the ARM unit tests under
# qemu-user and the libFuzzer targets for a bounded time. Exit status is
# non-zero if anything fails. Environment:
#   EDGEFED_BUILD_DIR      build directory (default: build)
#   EDGEFED_FUZZ_SECONDS   seconds per fuzz target (default 10; 0 skips fuzzing;
#                          longer runs: tests/fuzz/run.sh SECONDS)
#   EDGEFED_CROSS          ARM targets cross-built with their unit tests run
#                          under qemu-user (default "arm64"; "" skips; "arm64
#                          armhf" tests both); the first one's agent also runs
#                          the host build's cross-agent integration tests
#                          against the x86 server
#   EDGEFED_CROSS_BUILD    ARM targets whose agent is only cross-built, which
#                          catches what breaks the build there (32-bit size_t
#                          on armhf): "armhf" takes 2.3 minutes on 2 cores,
#                          which CI's 30-minute budget does not have (default
#                          ""; docs/cross-build.md)
#   CMAKE_GENERATOR        default Ninja where installed (install-deps.sh
#                          installs it) for build directories made here; an
#                          existing build directory keeps its generator
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${EDGEFED_BUILD_DIR:-build}
fuzz_seconds=${EDGEFED_FUZZ_SECONDS:-10}
jobs=$(nproc 2>/dev/null || echo 2)
cross=${EDGEFED_CROSS-arm64}
read -r -a cross_archs <<<"$cross"
cross_build=${EDGEFED_CROSS_BUILD-}
read -r -a cross_build_archs <<<"$cross_build"

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "dependencies"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_root deploy/install-deps.sh
for a in "${cross_archs[@]}" "${cross_build_archs[@]}"; do as_root deploy/install-deps.sh --cross "$a"; done
# Ninja starts a target's compiles before its dependencies have linked, which
# keeps both cores busy where make leaves one idle: about a minute in CI.
if [ -z "${CMAKE_GENERATOR:-}" ] && command -v ninja >/dev/null 2>&1; then export CMAKE_GENERATOR=Ninja; fi
cross_agent_args=()
if [ "${#cross_archs[@]}" -gt 0 ]; then
  cross_agent_args=(-DEDGEFED_CROSS_AGENT="$top/build-${cross_archs[0]}/agent/edgefed-agent.run"
                    -DEDGEFED_CROSS_AGENT_ARCH="${cross_archs[0]}")
else
  cross_agent_args=(-DEDGEFED_CROSS_AGENT=)
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
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DEDGEFED_TEST_CODE_OPT=-O0 "${cross_agent_args[@]}" >/dev/null
cmake --build "$build" -j"$jobs"

# The ARM agents and their unit tests (docs/cross-build.md): no sanitizers
# (qemu-user runs ASan poorly), -O1 without debug information like the
# host build's non-training code, the tests' own code at -O0.
for a in "${cross_archs[@]}"; do
  step "cross build ($a: the agent and its unit tests)"
  EDGEFED_BUILD_JOBS=$jobs deploy/build-cross.sh "$a" --tests --no-install \
    --cmake-arg=-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -DNDEBUG" --cmake-arg=-DEDGEFED_TEST_CODE_OPT=-O0
done
# Built to prove it compiles and links, never run here: -O0 (the training
# code keeps its -O2).
for a in "${cross_build_archs[@]}"; do
  step "cross build ($a: the agent)"
  EDGEFED_BUILD_JOBS=$jobs deploy/build-cross.sh "$a" --no-install \
    --cmake-arg=-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -DNDEBUG"
done

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

# Beside the integration tests below, which mostly wait on sockets and
# timers (half the two cores idle for most of their 11 minutes, sampled from
# /proc/stat), two background jobs at low priority use that CPU: the
# timing-sensitive tests keep theirs, and CI saves the minutes these took
# when they ran first (about 3 and 4).
# 1. The ARM unit tests under qemu-user, less the one-epoch Fashion-MNIST
#    training (2+ minutes emulated; the gradient checks and the smaller
#    learning tests cover the same code), one at a time.
# 2. The libFuzzer targets: their clang build, then each target for
#    EDGEFED_FUZZ_SECONDS, one at a time (starved of CPU, a target runs
#    fewer inputs in its seconds, never fewer seconds).
bg_pids=()
cross_logs=()
if [ "${#cross_archs[@]}" -gt 0 ]; then
  cross_status=$(mktemp)
  for a in "${cross_archs[@]}"; do cross_logs+=("$top/build-$a/cross-tests.log"); done
  (
    for a in "${cross_archs[@]}"; do
      if ! nice -n 15 ctest --test-dir "build-$a" -L unit -E "learns Fashion-MNIST centrally" -j1 \
             --output-on-failure --timeout 900 >"$top/build-$a/cross-tests.log" 2>&1; then
        echo "$a" >>"$cross_status"
      fi
    done
  ) &
  bg_pids+=($!)
fi
fuzz_log=""
if [ "$fuzz_seconds" != 0 ] && [ -x tests/fuzz/run.sh ]; then
  fuzz_log=$(mktemp)
  fuzz_rc=$(mktemp)
  ( rc=0; EDGEFED_FUZZ_JOBS=1 nice -n 19 tests/fuzz/run.sh "$fuzz_seconds" >"$fuzz_log" 2>&1 || rc=$?
    echo "$rc" >"$fuzz_rc" ) &
  bg_pids+=($!)
fi
stop_background() {
  for p in "${bg_pids[@]}"; do pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
}
ctest --test-dir "$build" -LE unit -j"$jobs" --output-on-failure --timeout 900 || { stop_background; exit 1; }
for p in "${bg_pids[@]}"; do wait "$p" || true; done
if [ -n "$fuzz_log" ]; then
  step "fuzz (${fuzz_seconds}s per target, beside the tests above)"
  cat "$fuzz_log"
  if [ "$(cat "$fuzz_rc")" != 0 ]; then
    echo "FAILED: fuzzing (tests/fuzz/run.sh)" >&2
    exit 1
  fi
fi
for i in "${!cross_logs[@]}"; do
  step "tests (${cross_archs[$i]}, under qemu-user)"
  if grep -qx "${cross_archs[$i]}" "$cross_status"; then
    cat "${cross_logs[$i]}"
    echo "FAILED: ${cross_archs[$i]} unit tests under qemu-user" >&2
    exit 1
  fi
  # The summary: passed count and time.
  grep -E "tests passed|Total Test time" "${cross_logs[$i]}"
done
