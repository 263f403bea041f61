#!/usr/bin/env bash
# Ingest with 1, 2 and 3 edgefed-server replicas on one PostgreSQL server
# (docs/replicas.md), in one run: the same edgefed-bench-ingest load (C TLS
# 1.3 connections with client certificates, S seconds, ~408 KB f32 updates
# of the 784-128-10 model) spread over the replicas (connection i to replica
# i mod n). Each replica count gets a fresh database; each run is repeated R
# times. Prints updates/s, p50/p99, the replicas' and PostgreSQL's CPU per
# update, how busy the machine's CPUs were (the load generator shares
# them), and the ratio to one replica; --json adds one JSON object on the
# last line. Every acknowledged update was committed to PostgreSQL (fsync
# on) before its 202, as in production.
#
#   benchmarks/ingest/replicas_scale.sh [--build DIR] [--connections C] [--seconds S] [--repeat R]
#                                       [--replicas "1 2 3"] [--json]
#
# Needs the Debian postgresql package (deploy/install-deps.sh). PostgreSQL
# runs from initdb in a temporary directory (as the postgres user when run
# as root), everything on 127.0.0.1 ephemeral ports, killed by pid at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build-release"
connections=16
seconds=15
repeat=2
counts="1 2 3"
json=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --replicas) counts=$2; shift 2 ;;
    --json) json=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "replicas_scale.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bench="$build/benchmarks/ingest/edgefed-bench-ingest"
server="$build/server/edgefed-server"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
for f in "$bench" "$server" "$pgbin/initdb" "$pgbin/postgres"; do
  [ -x "$f" ] || { echo "replicas_scale.sh: missing $f (build-release targets; apt-get install postgresql)" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/edgefed-replicas-scale.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  # The postmaster runs under runuser (root): kill it by its pid file.
  [ -s "$tmp/pg/data/postmaster.pid" ] && kill -9 "$(head -n 1 "$tmp/pg/data/postmaster.pid")" 2>/dev/null
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() {  # runs a command as the postgres user when we are root (initdb refuses root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# Busy and total jiffies of the whole machine (/proc/stat), "BUSY TOTAL".
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
# The postmaster (its pid file's first line) and its backends.
pg_tree() {
  local pm
  pm=$(head -n 1 "$tmp/pg/data/postmaster.pid")
  echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"
}
# utime + stime in clock ticks of a set of pids (0 for a gone one).
cpu_ticks() {
  local total=0 p
  for p in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

"$root/deploy/certs/edgefed-certs" init --out "$tmp/pki" --server-san 127.0.0.1,localhost \
  --agents "$connections" >/dev/null

# PostgreSQL: fsync on (the ack = durable rule), trust on loopback only.
mkdir "$tmp/pg"
[ "$(id -u)" = 0 ] && chown postgres "$tmp/pg"
as_pg "$pgbin/initdb" -D "$tmp/pg/data" -U edgefed -A trust >"$tmp/initdb.log" 2>&1 ||
  { cat "$tmp/initdb.log" >&2; exit 1; }
pg_port=$(free_port)
as_pg "$pgbin/postgres" -D "$tmp/pg/data" -k "$tmp/pg" -p "$pg_port" -c listen_addresses=127.0.0.1 \
  -c max_connections=200 -c shared_buffers=256MB -c autovacuum=off >"$tmp/pg.log" 2>&1 &
pg_pid=$!
pids+=("$pg_pid")
for _ in $(seq 300); do
  "$pgbin/pg_isready" -q -h "$tmp/pg" -p "$pg_port" && break
  kill -0 "$pg_pid" 2>/dev/null || { cat "$tmp/pg.log" >&2; exit 1; }
  sleep 0.1
done

n_run=0
run_config() {  # run_config N: N replicas on a fresh database, R load runs
  local n=$1 db="edgefed_r$1" i urls="" rpids=()
  as_pg "$pgbin/psql" -h "$tmp/pg" -p "$pg_port" -U edgefed -d postgres -qc "CREATE DATABASE $db" >/dev/null
  for i in $(seq "$n"); do
    rm -f "$tmp/port$i"
    "$server" --listen 127.0.0.1:0 --port-file "$tmp/port$i" --tls-cert "$tmp/pki/server.pem" \
      --tls-key "$tmp/pki/server.key" --client-ca "$tmp/pki/ca.pem" --state-dir "$tmp/state-$n-$i" \
      --store "postgresql://edgefed@127.0.0.1:$pg_port/$db" --replica-name "replica-$i" \
      --model-init mlp:784-128-10 --log-level warn --rate-limit 0 2>"$tmp/server-$n-$i.log" &
    rpids+=($!)
    pids+=($!)
  done
  for i in $(seq "$n"); do
    for _ in $(seq 200); do [ -s "$tmp/port$i" ] && break; sleep 0.1; done
    [ -s "$tmp/port$i" ] || { cat "$tmp/server-$n-$i.log" >&2; exit 1; }
    urls="${urls:+$urls,}https://127.0.0.1:$(cat "$tmp/port$i")"
  done
  sleep 1  # the first replica tick: one of them leads
  local r
  for r in $(seq "$repeat"); do
    local pgpids s0 p0 s1 p1 m0 m1
    pgpids=$(pg_tree)
    s0=$(cpu_ticks "${rpids[@]}"); p0=$(cpu_ticks $pgpids); m0=$(machine_ticks)
    "$bench" --url "$urls" --ca "$tmp/pki/ca.pem" --pki "$tmp/pki" --connections "$connections" \
      --seconds "$seconds" --json >"$tmp/out.txt"
    # Backends live as long as the replicas' connections: the same set.
    s1=$(cpu_ticks "${rpids[@]}"); p1=$(cpu_ticks $pgpids); m1=$(machine_ticks)
    grep -v '^{' "$tmp/out.txt" >&2
    tail -n 1 "$tmp/out.txt" | python3 -c '
import json, sys, os
j = json.loads(sys.stdin.read())
hz = os.sysconf("SC_CLK_TCK")
ok = max(1, j["ok"])
j["replicas"] = int(sys.argv[1])
j["servers_cpu_ms_per_update"] = (int(sys.argv[2]) / hz) * 1000 / ok
j["postgres_cpu_ms_per_update"] = (int(sys.argv[3]) / hz) * 1000 / ok
b0, t0, b1, t1 = map(int, sys.argv[4:8])
j["machine_busy"] = (b1 - b0) / max(1, t1 - t0)
print(json.dumps(j))' "$n" "$((s1 - s0))" "$((p1 - p0))" $m0 $m1 >>"$tmp/runs.jsonl"
    n_run=$((n_run + 1))
  done
  # Nothing was lost: every acknowledged update is in the ledger.
  local rows
  rows=$(as_pg "$pgbin/psql" -h "$tmp/pg" -p "$pg_port" -U edgefed -d "$db" -tAc "SELECT count(*) FROM ledger")
  echo "$n $rows" >>"$tmp/ledger.txt"
  for p in "${rpids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${rpids[@]}"; do wait "$p" 2>/dev/null || true; done
}
for n in $counts; do run_config "$n"; done

python3 - "$tmp/runs.jsonl" "$tmp/ledger.txt" "$json" "$connections" "$seconds" "$(nproc)" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
ledger = {int(a): int(b) for a, b in (l.split() for l in open(sys.argv[2]))}
by = {}
for r in runs: by.setdefault(r["replicas"], []).append(r)
med = lambda rs, k: statistics.median(r[k] for r in rs)
base = med(by[min(by)], "updates_per_s")
print(f"\ningest with server replicas on one PostgreSQL, {sys.argv[4]} connections x {sys.argv[5]} s, "
      f"{sys.argv[6]} CPUs, median of {len(by[min(by)])} runs")
print(f"  {'replicas':>8} {'upd/s':>7} {'x 1':>5} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
      f"{'srv ms/upd':>10} {'pg ms/upd':>9} {'busy':>5} {'acked':>6} {'ledger':>6}")
table = []
for n in sorted(by):
    rs = by[n]
    row = {"replicas": n, "updates_per_s": med(rs, "updates_per_s"), "ratio_to_1": med(rs, "updates_per_s") / base,
           "p50_ms": med(rs, "p50_ms"), "p99_ms": med(rs, "p99_ms"), "errors": sum(r["errors"] for r in rs),
           "servers_cpu_ms_per_update": med(rs, "servers_cpu_ms_per_update"),
           "postgres_cpu_ms_per_update": med(rs, "postgres_cpu_ms_per_update"),
           "machine_busy": med(rs, "machine_busy"),
           "acked": sum(r["ok"] for r in rs), "ledger_rows": ledger.get(n, 0)}
    table.append(row)
    print(f"  {n:8d} {row['updates_per_s']:7.1f} {row['ratio_to_1']:5.2f} {row['p50_ms']:7.1f} {row['p99_ms']:7.1f} "
          f"{row['errors']:6d} {row['servers_cpu_ms_per_update']:10.2f} {row['postgres_cpu_ms_per_update']:9.2f} "
          f"{row['machine_busy']:5.0%} "
          f"{row['acked']:6d} {row['ledger_rows']:6d}")
lost = sum(max(0, r["acked"] - r["ledger_rows"]) for r in table)
print(f"  acknowledged updates missing from the ledger: {lost}")
if sys.argv[3] == "1":
    print(json.dumps({"connections": int(sys.argv[4]), "seconds": float(sys.argv[5]), "cpus": int(sys.argv[6]),
                      "lost": lost, "table": table}))
EOF
