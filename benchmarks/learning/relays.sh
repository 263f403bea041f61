#!/usr/bin/env bash
# Issue 20's relay comparison: the same 100-agent fleet (dirichlet 0.5, the
# 784-128-10 MLP, the seeds' device mix) once talking to the central server
# directly and once behind 2 site relays (agent i on relay i mod 2,
# --relay-k K), each seed both ways, in fleet time (edgefed-sim
# --fleet-time), so a device's round lasts its device time whatever the two
# relay processes take from the shared cores. Every run trains for the same
# wall time at the same dilation, i.e. the same fleet seconds. Prints final,
# best and mean-of-the-last-5 accuracy, fleet seconds to 0.85 and 0.87,
# central requests and agent updates per request, and the audit; writes
# each run's JSON summary and log under OUT.
#   benchmarks/learning/relays.sh [--seeds 1,2,3] [--seconds S] [--dilation D]
#       [--relay-k K] [--out DIR] [--relay-arg ARGS] [--table-only]
#   --seconds: wall seconds each run trains (default 300, i.e. 6 fleet s at
#   the default dilation 50); --relay-arg: extra edgefed-sim flags for the
#   relay runs only (e.g. --server-arg=--server-lr=0.2). Work dirs go under
#   /dev/shm when it exists. Needs the release build (built here).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
seeds=1,2,3 seconds=300 dilation=50 relay_k=10 out=out/relays table_only=0 relay_arg=()
build=${EDGEFED_RELEASE_BUILD:-build-release}
while [ $# -gt 0 ]; do
  case $1 in
    --seeds) seeds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --dilation) dilation=$2; shift 2 ;;
    --relay-k) relay_k=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --relay-arg) relay_arg+=("$2"); shift 2 ;;
    --table-only) table_only=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "relays.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=release_build.sh
. "$top/benchmarks/learning/release_build.sh"
[ "$table_only" = 1 ] || release_build "$build" edgefed-server edgefed-agent edgefed-sim
mkdir -p "$out"
scratch=$out/work
[ -d /dev/shm ] && scratch=/dev/shm/edgefed-relays-$$
trap 'rm -rf "${scratch:?}"' EXIT

IFS=, read -r -a seed_list <<<"$seeds"
names=()
for seed in "${seed_list[@]}"; do names+=("direct-s$seed" "relays-s$seed"); done
for name in "${names[@]}"; do
  [ "$table_only" = 0 ] || break
  seed=${name##*-s}
  extra=()
  case $name in relays-*) extra=(--relays 2 --relay-k "$relay_k" "${relay_arg[@]}") ;; esac
  echo "== $name: $(date -u +%H:%M:%S)"
  rm -rf "${scratch:?}/$name"
  "$build/sim/edgefed-sim" --agents 100 --mode async --fleet-time --dilation "$dilation" --seed "$seed" \
    --duration "$seconds" --outage-interval 0 --fleet-outages= --server-restarts= \
    --work-dir "$scratch/$name" --json-summary "$out/$name.json" "${extra[@]}" --log-level warn \
    </dev/null >"$out/$name.log" 2>&1 || echo "   edgefed-sim exited $? (see $out/$name.log)"
  rm -rf "${scratch:?}/$name"
done

python3 - "$out" "${names[@]}" <<'EOF'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
def fleet_s(d, m):
    v = d.get("milestones", {}).get(m, {}).get("fleet_seconds")
    return f"{v:.2f}" if v is not None else "-"
print("| run | final | best | mean of last 5 | to 0.85 / 0.87 (fleet s) | fleet s | central requests | agent updates | per request | lost / double | rounds behind |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
rows = {}
for n in names:
    try:
        d = json.load(open(f"{out}/{n}.json"))
    except (OSError, ValueError):
        print(f"| {n} | no summary | | | | | | | | | |"); continue
    rows[n] = d
    r = d.get("relays") or {}
    agent_updates = r.get("updates_forwarded", d["updates_accepted"]) if r else d["updates_accepted"]
    per = r.get("updates_per_central_request", 1.0) if r else 1.0
    ft = d.get("fleet_time", {})
    print(f"| {n} | {d['final_accuracy']:.4f} | {d['best_accuracy']:.4f} | {d['moving_average_accuracy']:.4f} | "
          f"{fleet_s(d, '0.85')} / {fleet_s(d, '0.87')} | {ft.get('fleet_seconds', 0):.1f} | {d['updates_accepted']:,} | "
          f"{agent_updates:,} | {per:.1f} | {d['records_lost']} / {d['records_double_counted']} | "
          f"{ft.get('rounds_behind', 0)} of {ft.get('rounds', 0)}{' SATURATED' if ft.get('saturated') else ''} |")
def mean(kind, key):
    v = [d[key] for n, d in rows.items() if n.startswith(kind)]
    return sum(v) / len(v) if v else float("nan")
for key, what in (("final_accuracy", "final"), ("best_accuracy", "best"), ("moving_average_accuracy", "mean of last 5")):
    dm, rm = mean("direct", key), mean("relays", key)
    print(f"{what}: direct {dm:.4f}, relays {rm:.4f}, relays - direct {100 * (rm - dm):+.2f} points (means over the seeds)")
EOF
