#!/usr/bin/env bash
# Ingest against the nginx reference, in one run: the same edgefed-bench-ingest
# load (C TLS 1.3 connections with client certificates, S seconds) first
# against nginx as a TLS 1.3 sink that reads and discards 400 KB bodies, then
# against a real edgefed-server (784-128-10 model, ~408 KB f32 updates that it
# decodes, validates, persists with fsync and merges). Repeats the pair R times
# (alternating order) and prints the median rates and their ratio; --json adds
# one JSON object on the last line. Target: edgefed >= 60% of nginx's rate.
#
#   benchmarks/ingest/nginx_compare.sh [--build DIR] [--connections C] [--seconds S] [--repeat R] [--json]
#                                      [--server-arg ARG]...   (passed to edgefed-server, e.g. --fsync-full=false)
#
# Needs the Debian nginx package (deploy/install-deps.sh). Everything runs
# as the current user under a temporary prefix on ephemeral 127.0.0.1 ports
# and is killed by pid at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build-release"
connections=16
seconds=15
repeat=2
json=0
server_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --json) json=1; shift ;;
    --server-arg) server_args+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "nginx_compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bench="$build/benchmarks/ingest/edgefed-bench-ingest"
server="$build/server/edgefed-server"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
for f in "$bench" "$server" "$nginx"; do
  [ -x "$f" ] || { echo "nginx_compare.sh: missing $f (build-release targets; apt-get install nginx)" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/edgefed-nginx-compare.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # wait_port PORT PID
  for _ in $(seq 100); do
    kill -0 "$2" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# Sum of bytes read by a process tree's read()/recv() calls (/proc/PID/io rchar).
read_bytes() {
  local total=0 p
  for p in "$@" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/^rchar/ {print $2}' "/proc/$p/io" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

"$root/deploy/certs/edgefed-certs" init --out "$tmp/pki" --server-san 127.0.0.1,localhost \
  --agents "$connections" >/dev/null

# nginx: TLS 1.3 only, client certificates from the test CA required,
# bodies read and thrown away (`return 200` discards the request body: nginx
# still receives and decrypts every byte, which read_bytes() checks below).
nginx_port=$(free_port)
mkdir -p "$tmp/nginx/logs"
user_line=""
[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
cat >"$tmp/nginx/nginx.conf" <<EOF
$user_line
worker_processes $(nproc);
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate $tmp/pki/server.pem;
    ssl_certificate_key $tmp/pki/server.key;
    ssl_client_certificate $tmp/pki/ca.pem;
    ssl_verify_client on;
    client_max_body_size 2m;
    client_body_buffer_size 1m;
    location / { return 200 "ok\n"; }
  }
}
EOF
"$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/stderr" &
nginx_pid=$!
pids+=("$nginx_pid")
wait_port "$nginx_port" "$nginx_pid" || { cat "$tmp/nginx/stderr" "$tmp/nginx/logs/error.log" >&2; exit 1; }

"$server" --listen 127.0.0.1:0 --port-file "$tmp/port" --tls-cert "$tmp/pki/server.pem" \
  --tls-key "$tmp/pki/server.key" --client-ca "$tmp/pki/ca.pem" --state-dir "$tmp/state" \
  --model-init mlp:784-128-10 --log-level warn --rate-limit 0 "${server_args[@]}" 2>"$tmp/server.log" &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { cat "$tmp/server.log" >&2; exit 1; }
server_port=$(cat "$tmp/port")

run_nginx() {
  local before after
  before=$(read_bytes "$nginx_pid")
  "$bench" --sink --size 400000 --url "https://127.0.0.1:$nginx_port/sink" --ca "$tmp/pki/ca.pem" \
    --pki "$tmp/pki" --connections "$connections" --seconds "$seconds" --json >"$tmp/out.txt"
  after=$(read_bytes "$nginx_pid")
  grep -v '^{' "$tmp/out.txt" >&2
  tail -n 1 "$tmp/out.txt" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read()); j["nginx_read_bytes"] = int(sys.argv[1])
print(json.dumps(j))' "$((after - before))" >>"$tmp/nginx.jsonl"
}
run_edgefed() {
  "$bench" --url "https://127.0.0.1:$server_port" --ca "$tmp/pki/ca.pem" --pki "$tmp/pki" \
    --connections "$connections" --seconds "$seconds" --server-pid "$server_pid" --json >"$tmp/out.txt"
  grep -v '^{' "$tmp/out.txt" >&2
  tail -n 1 "$tmp/out.txt" >>"$tmp/edgefed.jsonl"
}

for i in $(seq "$repeat"); do
  if [ $((i % 2)) = 1 ]; then run_nginx; run_edgefed; else run_edgefed; run_nginx; fi
done

python3 - "$tmp/nginx.jsonl" "$tmp/edgefed.jsonl" "$json" "$connections" "$seconds" <<'EOF'
import json, statistics, sys
ng = [json.loads(l) for l in open(sys.argv[1])]
ef = [json.loads(l) for l in open(sys.argv[2])]
med = lambda runs, k: statistics.median(r.get(k, 0) for r in runs)
ng_rate, ef_rate = med(ng, "updates_per_s"), med(ef, "updates_per_s")
# nginx must really have received the bodies: bytes read >= requests x body.
read_ratio = min(r["nginx_read_bytes"] / max(1, r["ok"] * r["body_bytes"]) for r in ng)
ratio = ef_rate / ng_rate if ng_rate else 0
print(f"\ningest, {sys.argv[4]} connections x {sys.argv[5]} s, median of {len(ng)} runs each")
print(f"  {'':10} {'req/s':>8} {'MB/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}")
for name, runs in (("nginx", ng), ("edgefed", ef)):
    print(f"  {name:10} {med(runs, 'updates_per_s'):8.1f} {med(runs, 'mb_per_s'):7.1f} "
          f"{med(runs, 'p50_ms'):7.1f} {med(runs, 'p99_ms'):7.1f} {sum(r['errors'] for r in runs):6d}")
print(f"  edgefed / nginx request rate: {ratio:.2f} (target >= 0.60) -> {'met' if ratio >= 0.6 else 'MISSED'}")
print(f"  nginx read {read_ratio:.2f} x the body bytes it acknowledged (>= 1: bodies really read)")
cpu = [r["server_cpu_ms_per_update"] for r in ef if "server_cpu_ms_per_update" in r]
if cpu: print(f"  edgefed server CPU {statistics.median(cpu):.2f} ms per update")
if sys.argv[3] == "1":
    print(json.dumps({"nginx_req_per_s": ng_rate, "edgefed_updates_per_s": ef_rate, "ratio": ratio,
                      "target": 0.6, "met": ratio >= 0.6, "nginx_read_ratio": read_ratio,
                      "nginx_p99_ms": med(ng, "p99_ms"), "edgefed_p99_ms": med(ef, "p99_ms"),
                      "edgefed_mb_per_s": med(ef, "mb_per_s"), "nginx": ng, "edgefed": ef}))
EOF
