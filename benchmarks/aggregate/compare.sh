#!/usr/bin/env bash
# Aggregation kernels against numpy, in one run: edgefed-bench-aggregate and
# numpy_peer.py on the same shape (N updates of D float32), method by method
# alternating C++ and numpy so machine drift hits both alike, then a table of
# the figures and the issue-5 ratios:
#   FedAvg   >= 10x Flower's functools.reduce(np.add, [w_i * x_i]),
#            >= 0.90 x numpy's fastest form (one BLAS mat-vec weights @ stack)
#   stream   FedAvg with one update buffer: peak RSS < 4 x update + 20 MiB
#            (checked at N and 10 N)
#   median   >= 10x np.median(stack, axis=0)
#   trimmed  >= 10x np.sort(stack, axis=0)[cut:N-cut].mean(axis=0), beta 0.1
#   krum     multi-Krum reported (numpy: BLAS Gram matrix + sort)
# Each C++ method also runs with 2 threads (numpy: OPENBLAS_NUM_THREADS=2;
# its median/sort are single-threaded whatever the setting).
#
#   benchmarks/aggregate/compare.sh [--build DIR] [--clients N] [--params D]
#       [--repeat R] [--methods "fedavg stream median trimmed krum"] [--json]
#
# Uses /usr/bin/python3 with Debian's python3-numpy (install it and
# libopenblas0-pthread with apt); the BLAS numpy loaded is printed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build-release"
clients=100
params=1000000
repeat=5
methods="fedavg stream median trimmed krum"
json=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --params) params=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --json) json=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bench="$build/benchmarks/aggregate/edgefed-bench-aggregate"
[ -x "$bench" ] || { echo "compare.sh: missing $bench (build the release benchmarks first)" >&2; exit 2; }
python=/usr/bin/python3
"$python" -c 'import numpy' 2>/dev/null || { echo "compare.sh: python3-numpy missing (apt-get install python3-numpy libopenblas0-pthread)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/edgefed-aggregate-compare.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/runs.jsonl"
: >"$out"

# ours TAG THREADS ARGS...: one edgefed-bench-aggregate run, its JSON tagged.
ours() {
  local tag=$1 threads=$2; shift 2
  "$bench" --clients "$clients" --params "$params" --threads "$threads" --repeat "$repeat" --json "$@" >"$tmp/o.txt"
  grep -v '^{' "$tmp/o.txt" | sed 's/^/  edgefed: /' >&2
  tail -n 1 "$tmp/o.txt" | "$python" -c 'import json,sys; j=json.loads(sys.stdin.read()); j["who"]="edgefed"; j["tag"]=sys.argv[1]; print(json.dumps(j))' "$tag" >>"$out"
}
# peer THREADS METHOD...: numpy_peer.py with that many BLAS threads.
peer() {
  local threads=$1; shift
  local m args=()
  for m in "$@"; do args+=(--method "$m"); done
  OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$python" "$here/numpy_peer.py" --clients "$clients" \
    --params "$params" --repeat "$(( repeat < 3 ? repeat : 3 ))" --json "${args[@]}" >"$tmp/p.txt"
  grep -v '^{' "$tmp/p.txt" | sed 's/^/  /' >&2
  grep '^{' "$tmp/p.txt" | "$python" -c 'import json,sys
for l in sys.stdin: j=json.loads(l); j["who"]="numpy"; j["tag"]=j["method"]; print(json.dumps(j))' >>"$out"
}

for m in $methods; do
  echo "== $m" >&2
  case "$m" in
    fedavg)
      ours fedavg 1 --method fedavg
      peer 1 matvec flower
      ours fedavg 1 --method fedavg   # again after numpy: the ratio brackets drift
      ours fedavg 2 --method fedavg
      peer 2 matvec ;;
    stream)
      ours stream 1 --method fedavg --stream
      ours stream10 1 --method fedavg --stream --clients $((clients * 10)) --repeat 1 ;;
    median|trimmed)
      ours "$m" 1 --method "$m"
      peer 1 "$m"
      ours "$m" 2 --method "$m" ;;
    krum)
      ours krum 1 --method krum
      peer 1 krum
      ours krum 2 --method krum
      peer 2 krum ;;
    *) echo "compare.sh: unknown method $m" >&2; exit 2 ;;
  esac
done

"$python" - "$out" "$json" "$clients" "$params" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
want_json, clients, params = sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4])

def pick(who, tag, threads, key="seconds"):
    rs = [r for r in runs if r["who"] == who and r["tag"] == tag and r["threads"] == threads and key in r]
    return statistics.median(r[key] for r in rs) if rs else None

blas = next((r["blas"] for r in runs if r["who"] == "numpy"), [])
numpy_version = next((r["numpy"] for r in runs if r["who"] == "numpy"), "?")
print(f"\naggregation, {clients} clients x {params} params float32 "
      f"({clients * params * 4 / 1e6:.0f} MB of updates); numpy {numpy_version}, BLAS: {', '.join(blas) or 'none found'}")
print("  wall seconds per aggregation (median); ratio = numpy / edgefed, single thread, on wall time and on")
print("  CPU time (process CPU seconds: what time-slicing by other jobs on a shared machine does not inflate)")
print(f"  {'method':10} {'edgefed 1T s':>12} {'edgefed 2T s':>12} {'numpy 1T s':>11} {'numpy 2T s':>11}  wall ratio  cpu ratio  target")
rows, ratios = [], {}

def row(name, tag, peer_tag, target, peer_name=None):
    e1, e2 = pick("edgefed", tag, 1), pick("edgefed", tag, 2)
    n1, n2 = pick("numpy", peer_tag, 1), pick("numpy", peer_tag, 2)
    if e1 is None and n1 is None:
        return
    r = n1 / e1 if (e1 and n1) else None
    c_e, c_n = pick("edgefed", tag, 1, "cpu_seconds"), pick("numpy", peer_tag, 1, "cpu_seconds")
    rc = c_n / c_e if (c_e and c_n) else None
    ratios[name] = r
    fmt = lambda v, w: f"{v:{w}.4f}" if v is not None else " " * (w - 1) + "-"
    verdict = lambda x: "" if x is None or target is None else ("met" if x >= target else "MISSED")
    tgt = f">= {target:g}x: wall {verdict(r)}, cpu {verdict(rc)}" if target is not None else "reported"
    rs = f"{r:6.2f}x" if r is not None else "     -"
    rcs = f"{rc:6.2f}x" if rc is not None else "     -"
    print(f"  {name:10} {fmt(e1, 12)} {fmt(e2, 12)} {fmt(n1, 11)} {fmt(n2, 11)}  {rs}     {rcs}    {tgt}  (vs {peer_name or peer_tag})")
    rows.append({"method": name, "edgefed_s_1t": e1, "edgefed_s_2t": e2, "numpy_s_1t": n1, "numpy_s_2t": n2,
                 "edgefed_cpu_s_1t": c_e, "numpy_cpu_s_1t": c_n,
                 "peer": peer_name or peer_tag, "ratio_1t": r, "cpu_ratio_1t": rc, "target": target,
                 "met": None if r is None or target is None else r >= target,
                 "cpu_met": None if rc is None or target is None else rc >= target})

row("fedavg", "fedavg", "flower", 10, "Flower reduce(np.add)")
row("fedavg", "fedavg", "matvec", 0.9, "numpy BLAS mat-vec")
fl = [r for r in runs if r["who"] == "numpy" and r["tag"] == "flower" and "seconds_first" in r]
e1 = pick("edgefed", "fedavg", 1)
if fl and e1:
    # The first call of a fresh process: every temporary w_i * x_i and every
    # partial sum is a new 4 MB array whose pages fault in (glibc mmaps
    # them until its threshold adapts). Later calls reuse freed heap memory.
    cold, cold_cpu = fl[0]["seconds_first"], fl[0].get("cpu_seconds_first")
    c_e = pick("edgefed", "fedavg", 1, "cpu_seconds")
    rcs = f"{cold_cpu / c_e:6.2f}x" if (cold_cpu and c_e) else "     -"
    print(f"  {'':10} {'':12} {'':12} {cold:11.4f} {'':11}  {cold / e1:6.2f}x     {rcs}    (vs Flower, first call: cold allocator)")
row("median", "median", "median", 10, "np.median axis 0")
row("trimmed", "trimmed", "trimmed", 10, "np.sort trimmed mean")
row("krum", "krum", "krum", None, "numpy Gram + sort")
for tag, n in (("stream", clients), ("stream10", clients * 10)):
    rs = [r for r in runs if r["who"] == "edgefed" and r["tag"] == tag]
    if rs:
        r = rs[-1]
        limit = 4 * r["update_mb"] + 20
        ok = r["peak_rss_mb"] < limit
        print(f"  fedavg --stream, {n} clients: {r['seconds']:.4f} s, {r['update_gb_per_s']:.2f} GB/s, "
              f"peak RSS {r['peak_rss_mb']:.1f} MiB (limit 4 x {r['update_mb']:.1f} + 20 = {limit:.1f}) -> {'met' if ok else 'MISSED'}")
        rows.append({"method": f"stream_{n}", "edgefed_s_1t": r["seconds"], "peak_rss_mb": r["peak_rss_mb"],
                     "rss_limit_mb": limit, "met": ok})
held = [r for r in runs if r["who"] == "edgefed" and r["tag"] != "stream10"]
if held:
    print(f"  edgefed peak RSS (held, N x D matrix): {max(r['peak_rss_mb'] for r in held):.0f} MiB")
if want_json:
    print(json.dumps({"clients": clients, "params": params, "numpy": numpy_version, "blas": blas,
                      "rows": rows, "runs": runs}))
EOF
