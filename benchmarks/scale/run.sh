#!/usr/bin/env bash
# 10,000 concurrent agent connections against one edgefed-server, in one
# command: a fresh PKI, a server (784-128-10 model), then edgefed-bench-scale
# with 100 active agents pushing ~408 KB updates every second while 9,900
# idle agents long-poll for the next model (wait ~10 s, jittered) and post
# one telemetry record after each poll. Prints server RSS, memory per idle
# connection, server CPU and the active agents' push p50/p99 alone and under
# the idle load; --json adds one JSON object on the last line.
#
#   benchmarks/scale/run.sh [--build DIR] [--idle N] [--active N] [--measure S]
#                           [--poll-wait S] [--json] [-- edgefed-bench-scale flags]
#
# The server decodes, validates, persists and accumulates every push but
# closes no version during the run (async, K = 10^9, no buffer timeout): a
# new version would end all 9,900 long polls at once with a 400 KB download
# each (4 GB per version), which is a fan-out test, not the idle load this
# measures.
#
# File descriptors: the launcher raises its own soft RLIMIT_NOFILE to the
# hard limit (inherited by the server; edgefed-bench-scale raises its own
# too) and, as root, the hard limit itself when it is below the connection
# count. Everything runs under a temporary directory on 127.0.0.1 and is
# killed by pid at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build-release"
idle=9900
active=100
measure=30
poll_wait=10
json=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --active) active=$2; shift 2 ;;
    --measure) measure=$2; shift 2 ;;
    --poll-wait) poll_wait=$2; shift 2 ;;
    --json) json=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "scale/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bench="$build/benchmarks/scale/edgefed-bench-scale"
server="$build/server/edgefed-server"
for f in "$bench" "$server"; do
  [ -x "$f" ] || { echo "scale/run.sh: missing $f (build the release targets first)" >&2; exit 2; }
done

need=$((idle + active + 256))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ] && [ "$(id -u)" -eq 0 ]; then
  ulimit -Hn "$need" && hard=$need
fi
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
  echo "scale/run.sh: hard RLIMIT_NOFILE $hard < $need; raise it (limits.conf, systemd LimitNOFILE, docker --ulimit)" >&2
  exit 2
fi
ulimit -Sn "$hard"

tmp=$(mktemp -d /tmp/edgefed-scale.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

"$root/deploy/certs/edgefed-certs" init --out "$tmp/pki" --server-san 127.0.0.1,localhost --agents 1 >/dev/null
"$server" --listen 127.0.0.1:0 --port-file "$tmp/port" --tls-cert "$tmp/pki/server.pem" \
  --tls-key "$tmp/pki/server.key" --client-ca "$tmp/pki/ca.pem" --state-dir "$tmp/state" \
  --model-init mlp:784-128-10 --mode async --log-level warn --rate-limit 0 \
  --buffer-k 1000000000 --buffer-timeout 0 \
  --max-connections $((idle + active + 1000)) --max-long-poll 60 2>"$tmp/server.log" &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { cat "$tmp/server.log" >&2; exit 1; }
echo "server pid $server_pid, RLIMIT_NOFILE $(awk '/Max open files/ {print $4}' /proc/$server_pid/limits)" >&2

args=(--url "https://127.0.0.1:$(cat "$tmp/port")" --pki "$tmp/pki" --idle "$idle" --active "$active" --poll-wait "$poll_wait"
      --measure "$measure" --server-pid "$server_pid")
[ "$json" = 1 ] && args+=(--json)
"$bench" "${args[@]}" "${extra[@]}"
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "scale/run.sh: the server exited during the run" >&2
  tail -n 20 "$tmp/server.log" >&2
  exit 1
fi
