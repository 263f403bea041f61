#!/usr/bin/env bash
# A ~10M-parameter model end to end against one edgefed-server: the server
# starts from mlp:784-12500-10 (9,937,510 f32 parameters, ~40 MB), agents
# download it (GET /v1/model), upload f32 updates of the same size
# (edgefed-bench-ingest: decode, validate, persist, merge), every K=4 updates
# the server merges and checkpoints a new version (SQLite blob), and the new
# model is downloaded again. Prints download seconds, upload rate and
# latency, versions made, the state directory size, and the server's RSS
# (idle after start, current and peak); --json adds one JSON object last.
#
#   benchmarks/model/run.sh [--build DIR] [--hidden H] [--connections C] [--seconds S] [--json]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build-release"
hidden=12500
connections=4
seconds=20
json=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --hidden) hidden=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --json) json=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "model/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bench="$build/benchmarks/ingest/edgefed-bench-ingest"
server="$build/server/edgefed-server"
for f in "$bench" "$server"; do
  [ -x "$f" ] || { echo "model/run.sh: missing $f (build the release targets first)" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "model/run.sh: needs curl" >&2; exit 2; }

tmp=$(mktemp -d /tmp/edgefed-model.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

"$root/deploy/certs/edgefed-certs" init --out "$tmp/pki" --server-san 127.0.0.1,localhost \
  --agents "$connections" >/dev/null
"$server" --listen 127.0.0.1:0 --port-file "$tmp/port" --tls-cert "$tmp/pki/server.pem" \
  --tls-key "$tmp/pki/server.key" --client-ca "$tmp/pki/ca.pem" --state-dir "$tmp/state" \
  --model-init "mlp:784-$hidden-10" --mode async --buffer-k 4 --log-level warn --rate-limit 0 \
  2>"$tmp/server.log" &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 300); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { cat "$tmp/server.log" >&2; exit 1; }
url="https://127.0.0.1:$(cat "$tmp/port")"
rss() { awk -v k="$1:" '$1 == k {printf "%.1f", $2 / 1024}' "/proc/$server_pid/status"; }
sleep 1
rss_start=$(rss VmRSS)

# download FILE: prints "seconds bytes version" of one GET /v1/model.
download() {
  curl -sS --fail --cacert "$tmp/pki/ca.pem" --cert "$tmp/pki/agents/agent-000.pem" \
    --key "$tmp/pki/agents/agent-000.key" -D "$tmp/headers" -o "$1" -w '%{time_total} %{size_download}' "$url/v1/model"
  printf ' %s\n' "$(awk 'tolower($1) == "x-model-version:" {gsub("\r", ""); print $2}' "$tmp/headers")"
}
read -r dl0_s dl0_bytes v0 < <(download "$tmp/model0.bin")
echo "download v$v0: $dl0_bytes bytes in $dl0_s s" >&2

"$bench" --url "$url" --ca "$tmp/pki/ca.pem" --pki "$tmp/pki" --connections "$connections" \
  --seconds "$seconds" --server-pid "$server_pid" --json >"$tmp/ingest.txt"
grep -v '^{' "$tmp/ingest.txt" >&2
rss_after=$(rss VmRSS)
sleep 2  # the last merge and checkpoint
read -r dl1_s dl1_bytes v1 < <(download "$tmp/model1.bin")
echo "download v$v1: $dl1_bytes bytes in $dl1_s s" >&2
rss_now=$(rss VmRSS)
rss_peak=$(rss VmHWM)
state_mb=$(du -sm "$tmp/state" | cut -f1)

/usr/bin/python3 - "$tmp/ingest.txt" "$json" "$hidden" "$dl0_s" "$dl0_bytes" "$v0" "$dl1_s" "$dl1_bytes" "$v1" \
  "$rss_start" "$rss_after" "$rss_now" "$rss_peak" "$state_mb" <<'EOF'
import json, sys
a = sys.argv
ing = json.loads(open(a[1]).read().strip().splitlines()[-1])
hidden = int(a[3])
params = 784 * hidden + hidden + hidden * 10 + 10
model_mb = params * 4 / 1e6
rec = {"benchmark": "model-10m", "params": params, "model_mb": model_mb,
       "download_s_first": float(a[4]), "download_bytes": int(a[5]), "version_first": int(a[6] or 0),
       "download_s_after": float(a[7]), "version_after": int(a[9] or 0),
       "upload_updates_per_s": ing["updates_per_s"], "upload_mb_per_s": ing["mb_per_s"],
       "upload_p50_ms": ing["p50_ms"], "upload_p99_ms": ing["p99_ms"], "upload_errors": ing["errors"],
       "uploads_ok": ing["ok"], "server_cpu_ms_per_update": ing.get("server_cpu_ms_per_update"),
       "server_rss_mb_start": float(a[10]), "server_rss_mb_after_uploads": float(a[11]),
       "server_rss_mb_end": float(a[12]), "server_peak_rss_mb": float(a[13]), "state_dir_mb": int(a[14])}
print(f"model {params:,} params ({model_mb:.1f} MB f32): download {rec['download_s_first']:.3f} s "
      f"(v{rec['version_first']}), {rec['download_s_after']:.3f} s after the run (v{rec['version_after']})")
print(f"upload: {ing['ok']} updates, {ing['updates_per_s']:.2f}/s ({ing['mb_per_s']:.1f} MB/s), "
      f"p50 {ing['p50_ms']:.0f} ms, p99 {ing['p99_ms']:.0f} ms, {ing['errors']} errors; "
      f"{rec['version_after'] - rec['version_first']} versions merged and checkpointed")
print(f"server RSS: {rec['server_rss_mb_start']:.0f} MB after start, {rec['server_rss_mb_end']:.0f} MB at the end, "
      f"peak {rec['server_peak_rss_mb']:.0f} MB ({rec['server_peak_rss_mb'] / model_mb:.1f} x the model); "
      f"state dir {rec['state_dir_mb']} MB")
if a[2] == "1":
    print(json.dumps(rec))
EOF
