#!/usr/bin/env bash
# Bandwidth per update encoding (issue 10): one 12-agent edgefed-sim run on
# real Fashion-MNIST per encoding (f32, f16, int8, topk; the server's task
# tells the agents which one to use), same seed, same partition, stopped at
# the same model version. Prints, per encoding, the bytes of each update body
# the server received and the test accuracy of that version.
#
#   benchmarks/encodings/run.sh [--build DIR] [--versions N] [--agents N] [--seed S]
#                               [--mode sync|async] [--encodings LIST] [--out DIR] [--table-only] [--json]
#
#   --build DIR      release build with edgefed-sim and edgefed-server (default build-release;
#                    not built here: benchmarks/run-all.sh builds it)
#   --versions N     stop every run at model version N (default 25: ~11 min for the four runs)
#   --agents N       fleet size (default 12, as tests/integration/sim)
#   --seed S         partition, device and training seed (default 7, as the 12-agent test)
#   --mode M         sync (default): FedAvg rounds of every agent (--min-updates=AGENTS,
#                    no round timeout), so every run merges the same updates in the same
#                    rounds and the accuracy gap is the encoding's, not scheduling noise;
#                    async: FedBuff as in the 12-agent integration test (noisier)
#   --encodings L    comma-separated subset (default f32,f16,int8,topk)
#   --out DIR        keep every run's work dir, log and summary (default: a temporary dir)
#   --table-only     no runs: the table from the runs already in --out DIR
#   --json           one JSON object on the last line
#
# bytes_per_update is the length of the update body (the safetensors file
# that is the HTTP request body), read from the server's ledger while the run
# is going (the server keeps each body until it is merged); TLS framing and
# the HTTP headers add a few hundred bytes per request on top. The accuracy of
# one version swings by about a point from version to version (local SGD with
# momentum 0.9), so the table also gives the mean over versions N-9..N, read
# from the server's checkpoints and evaluated here with numpy. No link faults
# (they are timed in seconds, so they would hit different versions per run).
# Everything listens on 127.0.0.1 only; the script stops what it started by pid.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build-release"
versions=25 agents=12 seed=7 mode=sync encodings=f32,f16,int8,topk out="" json=0 table_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --versions) versions=$2; shift 2 ;;
    --agents) agents=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --encodings) encodings=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --json) json=1; shift ;;
    --table-only) table_only=1; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "encodings/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
case "$mode" in sync|async) ;; *) echo "encodings/run.sh: --mode must be sync or async" >&2; exit 2 ;; esac
sim="$build/sim/edgefed-sim"
[ -x "$sim" ] && [ -x "$build/server/edgefed-server" ] ||
  { echo "encodings/run.sh: build edgefed-sim and edgefed-server in $build first" >&2; exit 1; }
/usr/bin/python3 -c 'import numpy' 2>/dev/null || { echo "encodings/run.sh: needs python3-numpy (apt)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "encodings/run.sh: needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
if [ -z "$out" ]; then out=$(mktemp -d /tmp/edgefed-encodings.XXXXXX); fi
mkdir -p "$out"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

sim_pid=""
cleanup() { if [ -n "$sim_pid" ]; then kill -TERM "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

mode_args=()
# Full participation: a round closes when every agent has sent its update.
[ "$mode" = sync ] && mode_args=(--server-arg "--min-updates=$agents;--round-timeout=0")

echo "encodings: $agents agents, $mode, seed $seed, stop at version $versions; $(uptime | sed 's/.*load/load/')" >&2
for enc in ${encodings//,/ }; do
  [ "$table_only" = 0 ] || break
  case "$enc" in f32|f16|int8|topk) ;; *) echo "encodings/run.sh: unknown encoding $enc" >&2; exit 2 ;; esac
  work="$out/$enc"
  rm -rf "$work"
  mkdir -p "$work"
  echo "== $enc $(date -u +%H:%M:%S)" >&2
  "$sim" --agents "$agents" --work-dir "$work" --json-summary "$out/$enc.json" --seed "$seed" \
    --mode "$mode" "${mode_args[@]}" --encoding "$enc" --versions "$versions" --duration 600 \
    --outage-interval 0 --fleet-outages "" --server-restarts "" --drain-timeout 60 --log-level warn \
    </dev/null >"$out/$enc.log" 2>&1 &
  sim_pid=$!
  # Body sizes of the updates the server holds but has not merged yet
  # (payload is cleared when a version consumes them): sampled every second.
  db="$work/server/edgefed.sqlite"
  : >"$out/$enc.sizes"
  while kill -0 "$sim_pid" 2>/dev/null; do
    if [ -f "$db" ]; then
      sqlite3 -cmd '.timeout 2000' "file:$db?mode=ro" \
        'SELECT id, length(payload) FROM ledger WHERE payload IS NOT NULL' >>"$out/$enc.sizes" 2>/dev/null || true
    fi
    sleep 1
  done
  rc=0
  wait "$sim_pid" || rc=$?
  sim_pid=""
  [ "$rc" = 0 ] || { echo "encodings/run.sh: edgefed-sim ($enc) exited $rc, see $out/$enc.log" >&2; tail -n 20 "$out/$enc.log" >&2; exit 1; }
  grep -E 'at version|versions ' "$out/$enc.log" | sed 's/^/   /' >&2 || true
done

/usr/bin/python3 - "$out" "$encodings" "$agents" "$seed" "$mode" "$versions" "$json" <<'PY'
import gzip, json, sqlite3, statistics, struct, sys
import numpy as np
out, encs, agents, seed, mode, versions, want_json = sys.argv[1:]
encs = encs.split(",")
N = int(versions)

def idx(path):
    d = gzip.open(path).read()
    dims = [int.from_bytes(d[4 + 4 * i:8 + 4 * i], "big") for i in range(d[3])]
    return np.frombuffer(d, np.uint8, offset=4 + 4 * d[3]).reshape(dims)

data = "/usr/share/datasets/fashion-mnist"
X = idx(f"{data}/t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
Y = idx(f"{data}/t10k-labels-idx1-ubyte.gz")

def accuracy(ck):
    # A checkpoint is a safetensors file of the 784-128-10 MLP (F32 tensors).
    n = struct.unpack("<Q", ck[:8])[0]
    h = json.loads(ck[8:8 + n])
    t = {k: np.frombuffer(ck, np.float32, count=int(np.prod(s["shape"])), offset=8 + n + s["data_offsets"][0])
         .reshape(s["shape"]) for k, s in h.items() if k != "__metadata__"}
    z = np.maximum(X @ t["layers.0.weight"].T + t["layers.0.bias"], 0) @ t["layers.1.weight"].T + t["layers.1.bias"]
    return float((z.argmax(1) == Y).mean())

rows = {}
for e in encs:
    db = sqlite3.connect(f"file:{out}/{e}/server/edgefed.sqlite?mode=ro", uri=True)
    last = [accuracy(ck) for (ck,) in db.execute(
        "SELECT checkpoint FROM versions WHERE version BETWEEN ? AND ? AND checkpoint IS NOT NULL", (N - 9, N))]
    s = json.load(open(f"{out}/{e}.json"))
    sizes = {}
    for line in open(f"{out}/{e}.sizes"):
        if "|" in line:
            i, n = line.strip().split("|")
            sizes[i] = int(n)
    rows[e] = {"bytes_per_update": statistics.median_low(sizes.values()) if sizes else None,
               "bytes_min": min(sizes.values()) if sizes else None,
               "bytes_max": max(sizes.values()) if sizes else None,
               "updates_sampled": len(sizes),
               "accuracy": s.get("accuracy_at_version"), "version": s.get("stop_version"),
               "accuracy_mean_last10": round(statistics.mean(last), 4) if len(last) == 10 else None,
               "best_accuracy": s["best_accuracy"], "updates_merged": s["updates_merged"],
               "seconds": round(s["seconds"], 1), "records_lost": s.get("records_lost")}
f32 = rows.get("f32", {})
print(f"\n{agents} agents, {mode}, seed {seed}; accuracy on the 10,000 test images of version {N} "
      f"and mean over versions {N - 9}..{N}")
print(f"{'encoding':9} {'bytes/update':>13} {'vs f32':>7} {'acc v' + str(N):>9} {'vs f32':>8} "
      f"{'mean10':>8} {'vs f32':>8} {'updates':>8} {'seconds':>8}")

def pts(r, key):  # accuracy difference to f32 in points
    return 100 * (r[key] - f32[key]) if r.get(key) is not None and f32.get(key) is not None else None

fmt = lambda x, f: "-" if x is None else format(x, f)
for e, r in rows.items():
    b = r["bytes_per_update"]
    vs = b / f32["bytes_per_update"] if b and f32.get("bytes_per_update") else None
    print(f"{e:9} {fmt(b, 'd'):>13} {fmt(vs, '.3f'):>7} {fmt(r['accuracy'], '.4f'):>9} "
          f"{fmt(pts(r, 'accuracy'), '+.2f'):>8} {fmt(r['accuracy_mean_last10'], '.4f'):>8} "
          f"{fmt(pts(r, 'accuracy_mean_last10'), '+.2f'):>8} {r['updates_merged']:>8} {r['seconds']:>8}")
res = {"benchmark": "encodings", "agents": int(agents), "seed": int(seed), "mode": mode,
       "versions": N, "encodings": rows}
if "int8" in rows and pts(rows["int8"], "accuracy_mean_last10") is not None:
    d, d1 = pts(rows["int8"], "accuracy_mean_last10"), pts(rows["int8"], "accuracy")
    res["int8_minus_f32_points"] = round(d, 3)
    res["int8_minus_f32_points_at_version"] = round(d1, 3)
    res["int8_target_met"] = d >= -0.5  # better than f32 also counts
    print(f"int8 vs f32, mean of the last 10 versions: {d:+.2f} points (at version {N}: {d1:+.2f}); "
          f"target within 0.5 -> {'met' if res['int8_target_met'] else 'MISSED'}")
if want_json == "1":
    print(json.dumps(res))
PY
