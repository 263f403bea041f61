#!/usr/bin/env bash
# Every edgefed benchmark in one command: builds the release benchmarks (via
# the shared build lock), then runs each comparison and prints its figures and
# ratios; a summary of the headline ratios comes last.
#
#   benchmarks/run-all.sh                      # everything (~25 min on 2 cores)
#   benchmarks/run-all.sh --only aggregate,train
#   benchmarks/run-all.sh --skip-build --quick # shorter runs, existing build
#
# Options:
#   --only LIST     comma-separated subset of: aggregate, train, ingest, scale, model, sizes, encodings, secagg
#   --build DIR     release build directory (default build-release)
#   --skip-build    use DIR as it is
#   --quick         fewer repeats / shorter windows (smoke run, noisier figures)
#   --no-install    never apt-get install (default: install missing peers as root)
#   --log DIR       keep every run's output there (default: a temporary dir)
#
# The comparisons (each runnable on its own, see benchmarks/README.md):
#   aggregate  benchmarks/aggregate/compare.sh      kernels vs numpy (Flower, BLAS mat-vec,
#                                                   np.median, np.sort), 1 and 2 threads
#   train      benchmarks/train/compare.py          agent trainer vs PyTorch, agent RSS
#   ingest     benchmarks/ingest/nginx_compare.sh   server vs nginx TLS 1.3 sink, 400 KB bodies
#   scale      benchmarks/scale/run.sh              10,000 connections, push p99
#   model      benchmarks/model/run.sh              10M-parameter model: upload, merge, checkpoint, download
#   sizes      stripped edgefed-agent / edgefed-server binary sizes, and the agent
#              cross-built for arm64 and armhf (build-arm64/, build-armhf/ at the
#              repository root; deploy/build-cross.sh ARCH builds one that is missing)
#   encodings  benchmarks/encodings/run.sh          bytes per update and accuracy, f32/f16/int8/topk,
#                                                   12-agent edgefed-sim runs (~11 min)
#   secagg     edgefed-bench-secagg                 SecAgg+ per agent and per session against plain
#                                                   FedAvg, 100 agents, k = 20 and k = 98 with 30% dropouts
# Peers come from apt only: python3-numpy, libopenblas0-pthread,
# python3-torch, nginx, sqlite3. Builds go through /tmp/edgefed-build.lock (shared with
# the other build directories of this checkout; deploy/build-cross.sh takes it too).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build-release"
only="aggregate,train,ingest,scale,model,sizes,encodings,secagg"
skip_build=0
quick=0
install=1
logdir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    --quick) quick=1; shift ;;
    --no-install) install=0; shift ;;
    --log) logdir=$2; shift 2 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "run-all.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
want() { case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
for w in ${only//,/ }; do
  case "$w" in aggregate|train|ingest|scale|model|sizes|encodings|secagg) ;; *) echo "run-all.sh: unknown benchmark $w" >&2; exit 2 ;; esac
done
if [ -z "$logdir" ]; then logdir=$(mktemp -d /tmp/edgefed-bench.XXXXXX); fi
mkdir -p "$logdir"
summary="$logdir/summary.txt"
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }

# --- peers (apt only) -------------------------------------------------------
pkgs=()
want aggregate && { /usr/bin/python3 -c 'import numpy' 2>/dev/null || pkgs+=(python3-numpy); \
  ls /usr/lib/x86_64-linux-gnu/libopenblasp-r*.so >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/openblas-pthread >/dev/null 2>&1 || pkgs+=(libopenblas0-pthread); }
want train && { /usr/bin/python3 -c 'import torch' 2>/dev/null || pkgs+=(python3-torch); }
want ingest && { command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || pkgs+=(nginx); }
want encodings && { command -v sqlite3 >/dev/null || pkgs+=(sqlite3); /usr/bin/python3 -c 'import numpy' 2>/dev/null || pkgs+=(python3-numpy); }
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$install" = 1 ] && [ "$(id -u)" = 0 ]; then
    echo "installing ${pkgs[*]} (apt)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  else
    echo "run-all.sh: missing ${pkgs[*]}; install them with apt (or run as root); comparisons needing them will fail" >&2
  fi
fi

# --- build ------------------------------------------------------------------
targets=()
want aggregate && targets+=(edgefed-bench-aggregate)
want train && targets+=(edgefed-bench-train)
want ingest && targets+=(edgefed-bench-ingest edgefed-server)
want scale && targets+=(edgefed-bench-scale edgefed-server)
want model && targets+=(edgefed-bench-ingest edgefed-server)
want sizes && targets+=(edgefed-agent edgefed-server)
want encodings && targets+=(edgefed-sim edgefed-server)
want secagg && targets+=(edgefed-bench-secagg)
if [ "$skip_build" = 0 ] && [ ${#targets[@]} -gt 0 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DEDGEFED_BENCHMARKS=ON -DEDGEFED_TESTS=OFF >"$logdir/configure.log"
  fi
  echo "building ${targets[*]} in $build (waits for /tmp/edgefed-build.lock)" >&2
  flock /tmp/edgefed-build.lock cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$logdir/build.log" 2>&1 \
    || { tail -n 30 "$logdir/build.log" >&2; exit 1; }
fi
# The agent for ARM, when its cross build is missing: deploy/build-cross.sh
# (RelWithDebInfo, agent only) takes /tmp/edgefed-build.lock itself for its
# cmake steps, so it does not run under flock here (that would deadlock).
cross_failed=" "
if want sizes && [ "$skip_build" = 0 ]; then
  for arch in arm64 armhf; do
    [ -x "$root/build-$arch/agent/edgefed-agent" ] && continue
    cross_opts=()
    { [ "$install" = 1 ] && [ "$(id -u)" = 0 ]; } || cross_opts+=(--no-install)
    echo "building edgefed-agent for $arch in $root/build-$arch (deploy/build-cross.sh, waits for /tmp/edgefed-build.lock)" >&2
    "$root/deploy/build-cross.sh" "$arch" "${cross_opts[@]}" >"$logdir/build-$arch.log" 2>&1 \
      || { tail -n 10 "$logdir/build-$arch.log" >&2; cross_failed+="$arch "; }
  done
fi

note "edgefed benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
status=0
section() { echo; echo "=== $1"; }
run() {  # run NAME CMD...: output to the terminal and $logdir/NAME.log; the last JSON line kept
  local name=$1; shift
  if "$@" 2>&1 | tee "$logdir/$name.log"; then
    grep '^{' "$logdir/$name.log" | tail -n 1 >"$logdir/$name.json" || true
  else
    note "$name: FAILED (see $logdir/$name.log)"; status=1
  fi
}

if want aggregate; then
  section "aggregate: kernels vs numpy"
  if [ "$quick" = 1 ]; then
    run aggregate "$here/aggregate/compare.sh" --build "$build" --repeat 2 --json
  else
    run aggregate "$here/aggregate/compare.sh" --build "$build" --repeat 5 --json
  fi
  grep -E '^\s+(fedavg|median|trimmed|krum)|stream' "$logdir/aggregate.log" | grep -v '^  edgefed:' >>"$summary" || true
fi

if want train; then
  section "train: agent trainer vs PyTorch"
  B="$build/benchmarks/train/edgefed-bench-train"
  # The native build (-DEDGEFED_NATIVE=ON) is measured in the same loop when it exists; it is not built here.
  native=()
  [ -x "$root/build-native/benchmarks/train/edgefed-bench-train" ] && native=(--native-build "$root/build-native")
  run train /usr/bin/python3 "$here/train/compare.py" --build "$build" "${native[@]}" --torch-sse --epochs 2 --repeat "$([ "$quick" = 1 ] && echo 1 || echo 3)" --json
  grep -E '^(median|ratio)' "$logdir/train.log" >>"$summary" || true
  if [ -d /usr/share/datasets/fashion-mnist ]; then
    run train-slice "$B" --data idx:/usr/share/datasets/fashion-mnist:3/100:iid:val=0 --epochs 5 --json
    /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["peak_rss_mb"]; v="met" if r <= 32 else "MISSED"; print(f"agent trainer peak RSS on a 600-image slice: {r:.1f} MiB (target <= 32) -> {v}")' \
      "$logdir/train-slice.json" | tee -a "$summary" || true
  fi
fi

if want ingest; then
  section "ingest: edgefed-server vs nginx (TLS 1.3, 400 KB bodies)"
  if [ "$quick" = 1 ]; then
    run ingest "$here/ingest/nginx_compare.sh" --build "$build" --seconds 8 --repeat 1 --json
  else
    run ingest "$here/ingest/nginx_compare.sh" --build "$build" --seconds 15 --repeat 2 --json
  fi
  grep -E 'edgefed / nginx|^  (nginx|edgefed) ' "$logdir/ingest.log" >>"$summary" || true
fi

if want scale; then
  section "scale: 10,000 connections against one server"
  if [ "$quick" = 1 ]; then
    run scale "$here/scale/run.sh" --build "$build" --idle 1900 --measure 10 --json
  else
    run scale "$here/scale/run.sh" --build "$build" --json
  fi
  grep -E '^(phase [13]|server memory)' "$logdir/scale.log" >>"$summary" || true
fi

if want model; then
  section "model: ~10M parameters end to end"
  run model "$here/model/run.sh" --build "$build" --seconds "$([ "$quick" = 1 ] && echo 10 || echo 20)" --json
  grep -E '^(model|upload|server RSS)' "$logdir/model.log" >>"$summary" || true
fi

if want secagg; then
  section "secagg: SecAgg+ against plain FedAvg, 100 agents, 101,770 parameters"
  reps=$([ "$quick" = 1 ] && echo 1 || echo 3)
  run secagg "$build/benchmarks/secagg/edgefed-bench-secagg" --agents 100 --repeat "$reps" --json
  run secagg-drop "$build/benchmarks/secagg/edgefed-bench-secagg" --agents 100 --degree 98 \
    --drop-after-shares 0.15 --drop-after-masked 0.15 --repeat "$reps" --json
  grep -E '^  (per agent|server CPU)' "$logdir/secagg.log" >>"$summary" || true
fi

if want sizes; then
  section "binary sizes (stripped)"
  agent_budget=8000000  # bytes: the agent's "<= 8 MB", on every architecture
  size_note() {  # size_note LABEL BINARY STRIP: strips a copy, notes its size
    local label=$1 copy sz extra=""
    copy="$logdir/${label//[ ()]/_}.stripped"
    "$3" -o "$copy" "$2"
    sz=$(stat -c %s "$copy")
    case "$label" in edgefed-agent*) extra=" (target <= 8 MB: $([ "$sz" -le "$agent_budget" ] && echo met || echo MISSED))" ;; esac
    note "$label stripped: $(awk -v s="$sz" 'BEGIN { printf "%.2f MB", s / 1e6 }')$extra"
  }
  for b in agent/edgefed-agent server/edgefed-server; do
    f="$build/$b"
    [ -x "$f" ] || { note "$b: not built"; continue; }
    size_note "$(basename "$b")" "$f" strip
  done
  # The ARM agents, stripped with the cross binutils; labelled with their
  # build type, which is not build-release's Release.
  for arch in arm64 armhf; do
    case "$arch" in arm64) triplet=aarch64-linux-gnu ;; armhf) triplet=arm-linux-gnueabihf ;; esac
    f="$root/build-$arch/agent/edgefed-agent"
    if [ ! -x "$f" ]; then
      if [[ "$cross_failed" == *" $arch "* ]]; then
        note "edgefed-agent $arch: build failed (deploy/build-cross.sh $arch, see $logdir/build-$arch.log)"; status=1
      else
        note "build-$arch/agent/edgefed-agent: not built"
      fi
      continue
    fi
    if ! command -v "$triplet-strip" >/dev/null; then
      note "edgefed-agent $arch: not measured, no $triplet-strip (deploy/install-deps.sh --cross $arch)"; status=1
      continue
    fi
    type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$root/build-$arch/CMakeCache.txt" 2>/dev/null)
    size_note "edgefed-agent $arch (${type:-?})" "$f" "$triplet-strip"
  done
fi

if want encodings; then
  section "encodings: bytes per update and accuracy (12 agents)"
  run encodings "$here/encodings/run.sh" --build "$build" --versions "$([ "$quick" = 1 ] && echo 10 || echo 25)" \
    --out "$logdir/encodings-runs" --json
  grep -E '^(encoding|f32|f16|int8|topk) |^int8 vs f32' "$logdir/encodings.log" >>"$summary" || true
fi

echo
echo "=== summary (logs in $logdir)"
cat "$summary"
exit "$status"
