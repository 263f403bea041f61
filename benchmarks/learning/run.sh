#!/usr/bin/env bash
# The learning table of issue 7: a 100-agent fleet (dirichlet 0.5, the
# 784-128-10 MLP, the demo's heterogeneous device mix) in sync (FedAvg) and
# async (FedBuff, polynomial staleness) mode, with and without link faults,
# side by side; and centralized training of the same model, optimizer and
# batch for the same number of sample-gradient computations as the fleet
# merged. Prints versions and seconds to 0.80 and 0.85, final and best
# accuracy; writes every run's JSON summary, CSV and plot under OUT.
#   benchmarks/learning/run.sh [--agents N] [--duration S] [--out DIR] [--runs a,b,...] [--table-only]
#   runs: async-faults, async-clean, sync-faults, sync-clean (default: all four),
#         and the same with secure aggregation (issue 18): async-secure-clean,
#         sync-secure-clean, async-secure-faults, sync-secure-faults
#         (--secure-aggregation=secagg+ on the server; the agents follow their task)
#   --table-only: no fleet runs; centralized training and the table from the
#   summaries already in OUT (e.g. after runs made in several sittings)
# Needs the release build of edgefed-server, -agent, -sim and -bench-train
# (built here, under the shared build lock when one exists).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
agents=100 duration=240 out=out/learning runs=async-faults,async-clean,sync-faults,sync-clean table_only=0
build=${EDGEFED_RELEASE_BUILD:-build-release}
while [ $# -gt 0 ]; do
  case $1 in
    --agents) agents=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --table-only) table_only=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

locked() { if command -v flock >/dev/null; then flock /tmp/edgefed-build.lock "$@"; else "$@"; fi; }
[ -f "$build/CMakeCache.txt" ] ||
  locked cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DEDGEFED_SANITIZE=OFF -DEDGEFED_TESTS=OFF \
    -DEDGEFED_BENCHMARKS=ON >/dev/null
locked cmake -S . -B "$build" -DEDGEFED_BENCHMARKS=ON >/dev/null
locked cmake --build "$build" -j2 --target edgefed-server edgefed-agent edgefed-sim edgefed-bench-train
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$out"

IFS=, read -r -a names <<<"$runs"
for name in "${names[@]}"; do
  [ "$table_only" = 0 ] || break
  mode=${name%%-*}
  secure=()
  case $name in *-secure-*) secure=(--server-arg "--secure-aggregation=secagg+") ;; esac
  case $name in
    *-faults) faults=() ;;  # the demo's script: random outages, a fleet outage, a server crash
    *-clean) faults=(--outage-interval 0 --fleet-outages "" --server-restarts "") ;;
    *) echo "run.sh: unknown run $name" >&2; exit 2 ;;
  esac
  echo "== $name: $agents agents, $mode, ${duration}s $(date -u +%H:%M:%S)"
  rm -rf "${out:?}/$name"
  "$build/sim/edgefed-sim" --agents "$agents" --work-dir "$out/$name" --json-summary "$out/$name.json" \
    --mode "$mode" --duration "$duration" "${faults[@]}" "${secure[@]}" --log-level warn </dev/null >"$out/$name.log" 2>&1 ||
    echo "   edgefed-sim exited $? (see $out/$name.log)"
  tail -n 12 "$out/$name.log" | sed 's/^/   /'
done

# Centralized: whole epochs over the 60,000 training images, evaluated after
# each; the table interpolates to each run's merged sample count.
max_samples=$(/usr/bin/python3 - "$out" "${names[@]}" <<'PY'
import json, sys, os
best = 0
for n in sys.argv[2:]:
    p = os.path.join(sys.argv[1], n + ".json")
    if os.path.exists(p):
        j = json.load(open(p))
        best = max(best, (j.get("audit") or {}).get("samples_merged", 0) or 0)
print(best)
PY
)
epochs=$(( (max_samples + 59999) / 60000 ))
[ "$epochs" -ge 1 ] || epochs=1
echo "== centralized: $epochs epochs (lr 0.05, momentum 0.9, batch 32), $(date -u +%H:%M:%S)"
"$build/benchmarks/train/edgefed-bench-train" --central --epochs "$epochs" --json >"$out/central.log" 2>&1
tail -n 1 "$out/central.log" >"$out/central.json"

/usr/bin/python3 - "$out" "${names[@]}" <<'PY'
import json, sys, os
out, names = sys.argv[1], sys.argv[2:]
central = json.load(open(os.path.join(out, "central.json")))
by_epoch = central.get("accuracy_by_epoch", [])
def central_at(samples):
    if not by_epoch or samples <= 0:
        return None
    e = samples / 60000.0
    if e <= 1:
        return by_epoch[0]
    lo = min(int(e), len(by_epoch)) - 1
    hi = min(lo + 1, len(by_epoch) - 1)
    f = e - int(e)
    return by_epoch[lo] * (1 - f) + by_epoch[hi] * f
def ms(j, key):
    m = (j.get("milestones") or {}).get(key) or {}
    if m.get("version") is None:
        return "-"
    return "v%d / %.0fs" % (m["version"], m["seconds"])
print()
print("| run | versions | updates merged | samples merged (epochs) | to 0.80 | to 0.85 | final acc | best acc | centralized, same samples | lost |")
print("|---|---|---|---|---|---|---|---|---|---|")
for n in names:
    p = os.path.join(out, n + ".json")
    if not os.path.exists(p):
        print("| %s | (no summary) |" % n); continue
    j = json.load(open(p))
    s = (j.get("audit") or {}).get("samples_merged", 0) or 0
    c = central_at(s)
    print("| %s | %d | %d | %d (%.1f) | %s | %s | %.4f | %.4f | %s | %s |" % (
        n, j["versions"], j["updates_merged"], s, s / 60000.0, ms(j, "0.80"), ms(j, "0.85"),
        j["final_accuracy"], j["best_accuracy"], "-" if c is None else "%.4f" % c, j.get("records_lost")))
print()
print("centralized accuracy by epoch:", ", ".join("%.4f" % a for a in by_epoch))
# Secure aggregation against plain at the same version count (issue 18:
# within 1 point): the accuracy of the last version both runs reached, and
# the mean over the 5 versions up to it (one version's evaluation is noisy).
def curve(n):
    p = os.path.join(out, n + ".json")
    if not os.path.exists(p):
        return None
    return {int(pt["version"]): pt["accuracy"] for pt in (json.load(open(p)).get("curve") or [])
            if "version" in pt and "accuracy" in pt}
pairs = [(n, n.replace("-secure-", "-")) for n in names if "-secure-" in n]
if pairs:
    print()
    print("| secure run | plain run | common versions | secure acc | plain acc | difference | secure mean of 5 | plain mean of 5 | within 1 point |")
    print("|---|---|---|---|---|---|---|---|---|")
for sec, plain in pairs:
    a, b = curve(sec), curve(plain)
    if not a or not b:
        print("| %s | %s | (missing run) |" % (sec, plain)); continue
    v = min(max(a), max(b))
    va = max(x for x in a if x <= v); vb = max(x for x in b if x <= v)
    win = lambda c, top: [c[x] for x in sorted(c) if top - 4 <= x <= top]
    ma, mb = sum(win(a, va)) / len(win(a, va)), sum(win(b, vb)) / len(win(b, vb))
    print("| %s | %s | %d | %.4f | %.4f | %+.4f | %.4f | %.4f | %s |" % (
        sec, plain, v, a[va], b[vb], a[va] - b[vb], ma, mb, "yes" if abs(ma - mb) <= 0.01 else "NO"))
PY
