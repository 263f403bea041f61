#!/usr/bin/env bash
# Issue 19's learning table in fleet time: a 100-agent fleet (dirichlet 0.5,
# the 784-128-10 MLP, the seeds' device mix: 30 % Celeron 4x, 30 % i3 2x,
# 30 % i5 1x, 10 % i7 0.7x) run with edgefed-sim --fleet-time, so each
# device's round lasts its device time and the timings are fleet seconds,
# not this machine's contention. Runs (NAME-sSEED, comma-separated):
#   async        FedBuff K=10, the sim's server lr (K / agents = 0.1)
#   async-lr02   the same at server lr 0.2
#   sync80       FedAvg rounds that close at 80 % of the fleet (the sim's default)
#   sync100      FedAvg rounds that wait for every agent (--min-updates=N)
# each clean, or with -faults: random outages (mean every 1 fleet s,
# 0.1 fleet s long), a whole-fleet outage at 0.5 fleet s for 0.15 s and a
# server SIGKILL + restart at 1 fleet s. Prints fleet seconds and versions to
# 0.80, 0.85 and 0.87, rounds behind their device time and the audit; writes
# each run's JSON summary, log and curve under OUT.
#   benchmarks/learning/fleet_time.sh [--agents N] [--out DIR] [--target ACC] [--cap S]
#       [--runs async-s1,sync80-s1,...] [--table-only]
#   --cap: wall seconds a run may train (default 600); --target: stop there
#   (default 0.87). The work dirs go under /dev/shm when it exists (the
#   fsyncs of 200 SQLite files on a shared disk are contention too).
# Needs the release build of edgefed-server, -agent and -sim (built here).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
agents=100 out=out/fleet-time target=0.87 cap=600 table_only=0
runs=async-s1,sync80-s1,sync100-s1,async-lr02-s1,async-faults-s1,sync80-faults-s1
build=${EDGEFED_RELEASE_BUILD:-build-release}
while [ $# -gt 0 ]; do
  case $1 in
    --agents) agents=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --cap) cap=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --table-only) table_only=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "fleet_time.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=release_build.sh
. "$top/benchmarks/learning/release_build.sh"
[ "$table_only" = 1 ] || release_build "$build" edgefed-server edgefed-agent edgefed-sim
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$out"
scratch=$out/work
[ -d /dev/shm ] && scratch=/dev/shm/edgefed-fleet-time-$$
trap 'rm -rf "${scratch:?}"' EXIT

IFS=, read -r -a names <<<"$runs"
for name in "${names[@]}"; do
  [ "$table_only" = 0 ] || break
  seed=${name##*-s}
  kind=${name%-s*}
  faults=(--outage-interval 0 --fleet-outages= --server-restarts=)
  case $kind in
    *-faults) faults=(--outage-interval 1 --outage-duration 0.1 --fleet-outages=0.5:0.15 --server-restarts=1)
              kind=${kind%-faults} ;;
  esac
  case $kind in
    async) extra=(--mode async) ;;
    async-lr02) extra=(--mode async --server-arg=--server-lr=0.2) ;;
    sync80) extra=(--mode sync) ;;
    sync100) extra=(--mode sync "--server-arg=--min-updates=$agents") ;;
    *) echo "fleet_time.sh: unknown run $name" >&2; exit 2 ;;
  esac
  echo "== $name: $agents agents, seed $seed, $(date -u +%H:%M:%S)"
  rm -rf "${scratch:?}/$name"
  "$build/sim/edgefed-sim" --agents "$agents" --work-dir "$scratch/$name" --json-summary "$out/$name.json" \
    --fleet-time --partition dirichlet:0.5 --seed "$seed" --target-accuracy "$target" --duration "$cap" \
    "${extra[@]}" "${faults[@]}" --log-level warn </dev/null >"$out/$name.log" 2>&1 ||
    echo "   edgefed-sim exited $? (see $out/$name.log)"
  cp "$scratch/$name/curve.csv" "$out/$name.curve.csv" 2>/dev/null || true
  rm -rf "${scratch:?}/$name"
  grep -A7 '^edgefed-sim summary' "$out/$name.log" | sed 's/^/   /' || true
done

/usr/bin/python3 - "$out" "${names[@]}" <<'PY'
import json, os, sys
out, names = sys.argv[1], sys.argv[2:]
print("| run | dilation | to 0.80 (fleet s / version) | to 0.85 | to 0.87 | rounds behind | lost / double |")
print("|---|---|---|---|---|---|---|")
for n in names:
    p = os.path.join(out, n + ".json")
    if not os.path.exists(p):
        print(f"| {n} | (no summary) | | | | | |")
        continue
    j = json.load(open(p))
    f, m = j.get("fleet_time") or {}, j.get("milestones") or {}
    def at(k):
        v = m.get(k) or {}
        return "-" if v.get("fleet_seconds") is None else f"{v['fleet_seconds']:.2f} / v{v['version']}"
    sat = " SATURATED" if f.get("saturated") else ""
    print(f"| {n} | {f.get('dilation', 0):.2f} | {at('0.80')} | {at('0.85')} | {at('0.87')} | "
          f"{f.get('rounds_behind', 0)} of {f.get('rounds', 0)}{sat} | "
          f"{j.get('records_lost')} / {j.get('records_double_counted')} |")
PY
