#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in a separate build dir and runs
# each for SECONDS (default 60). Prints executions per second and total
# executions per target; exits non-zero if any target crashed, leaked,
# timed out or failed an oracle. Crash inputs are kept in
# tests/fuzz/crashes/<target>/ (add them to corpus/<target>/ once fixed, as
# regression seeds).
#   usage: tests/fuzz/run.sh [SECONDS]
#   env:   EDGEFED_FUZZ_BUILD (default build-fuzz), CXX (default clang++),
#          EDGEFED_FUZZ_TARGETS (space-separated subset; default all)
set -euo pipefail

secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${EDGEFED_FUZZ_BUILD:-$top/build-fuzz}
all_targets=(fuzz_safetensors fuzz_update_decode fuzz_json_bodies fuzz_http_request fuzz_idx_reader fuzz_csv_reader)
read -r -a targets <<<"${EDGEFED_FUZZ_TARGETS:-${all_targets[*]}}"
# A dictionary per target: <target>.dict, else the safetensors one for the codecs.
dict_for() {
  if [ -f "$here/$1.dict" ]; then echo "-dict=$here/$1.dict"
  elif [ "$1" = fuzz_safetensors ] || [ "$1" = fuzz_update_decode ]; then echo "-dict=$here/safetensors.dict"; fi
}

# Builds are serialised when several people share the checkout (DEVELOPING.md).
locked() {
  if command -v flock >/dev/null 2>&1; then flock /tmp/edgefed-build.lock "$@"; else "$@"; fi
}

# -O1 -g1: the fuzz build compiles the server and agent libraries once more;
# at -O1 with line tables only it takes about half as long as -O2 -g, and
# the executions per second it loses are few against what a minute finds.
locked cmake -S "$top" -B "$build" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DEDGEFED_TESTS=OFF -DEDGEFED_BENCHMARKS=OFF -DEDGEFED_SANITIZE=OFF -DEDGEFED_FUZZ=ON >/dev/null
locked cmake --build "$build" -j2 --target "${targets[@]}"

# One fuzzer per core at a time (EDGEFED_FUZZ_JOBS, default: the core count):
# each target still gets SECONDS of its own, the wall time is divided.
jobs=${EDGEFED_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}

fuzz_one() {  # TARGET; writes $build/$t.log and $build/$t.rc
  local t=$1 work="$here/corpus-work/$1" crashes="$here/crashes/$1" rc=0
  mkdir -p "$work" "$crashes"
  # New inputs go to the first corpus dir (work); the committed seeds are
  # read only. -max_len covers every seed; -rss_limit_mb and -timeout turn
  # unbounded memory or time into failures.
  "$build/tests/fuzz/$t" "$work" "$here/corpus/$t" \
    $(dict_for "$t") -max_total_time="$secs" -max_len=65536 \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" >"$build/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$build/$t.rc"
}

running=0
for t in "${targets[@]}"; do
  echo "== $t: ${secs}s"
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

status=0
summary=()
for t in "${targets[@]}"; do
  log="$build/$t.log"
  rc=$(cat "$build/$t.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "!! $t failed (exit $rc); log: $log; inputs kept in $here/crashes/$t/"
    grep -E "ERROR|oracle failed|SUMMARY" "$log" | head -5 || true
  fi
  summary+=("$(printf '%-20s %12s exec/s %14s execs  %s' "$t" "${rate:-?}" "${execs:-?}" \
    "$([ "$rc" -eq 0 ] && echo clean || echo FAILED)")")
done

echo "== fuzz summary (${secs}s per target, $jobs at a time)"
printf '%s\n' "${summary[@]}"
exit "$status"
