#!/usr/bin/env bash
# The main job: installs what is needed, builds the release binaries, creates
# dev certificates and runs edgefed-sim: a real edgefed-server plus 100
# simulated agents (heterogeneous devices, link outages, a server crash) that
# learn Fashion-MNIST in async (FedBuff) mode, while the serving channels
# roll each new version out to a canary cohort spread over the device
# classes first (--record-serving: the summary shows what the fleet served
# and every canary decision). Ends with a summary, a CSV and
# a PNG plot under out/demo/. Extra arguments go to edgefed-sim, e.g.
#   ./deploy/demo.sh --keep-running        # keep training until Ctrl-C
#   ./deploy/demo.sh --mode sync --duration 600
#   ./deploy/demo.sh --model cnn-fmnist      # any preset or a model spec FILE.json
#   ./deploy/demo.sh --fleet-time            # device time: each device's round lasts what it would on
#                                            # its class, results in fleet seconds too; the faults are
#                                            # then given in fleet seconds, e.g. --fleet-outages 1:0.2
#                                            # --server-restarts 2 --outage-interval 2 --outage-duration 0.2
#   ./deploy/demo.sh --agents 1000 --fleet-time --duration 900   # a thousand agents (threads, each with
#                                            # its own outbox and TLS connection) against one server
# Environment: EDGEFED_DEMO_DIR (default out/demo), EDGEFED_METRICS_PORT (9464).
# The status page (https://127.0.0.1:PORT/, printed at start) needs the viewer
# or admin role: import out/demo/certs/viewer.p12 (empty password) into the
# browser and trust out/demo/certs/ca.pem, or run curl with
# --cert .../viewer.pem --key .../viewer.key --cacert .../ca.pem. Without a
# certificate the server answers 401 (docs/security.md, "Who may call what").
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "$(id -u)" -eq 0 ]; then deploy/install-deps.sh; else sudo deploy/install-deps.sh; fi

build=build-release
# A fresh build dir gets the lean set-up; an existing one (benchmarks share
# build-release) keeps its options.
if [ -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" >/dev/null
else
  cmake -S . -B "$build" -DEDGEFED_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release \
    -DEDGEFED_TESTS=OFF -DEDGEFED_BENCHMARKS=OFF >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target edgefed-server edgefed-agent edgefed-sim

# 100 agents hold 100 TLS connections and 100 SQLite files each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=${EDGEFED_DEMO_DIR:-out/demo}
metrics_port=${EDGEFED_METRICS_PORT:-9464}
rm -rf "$work/agents" "$work/server"   # a fresh run; certificates are kept
exec "$build/sim/edgefed-sim" --agents 100 --work-dir "$work" --mode async --record-serving \
  --server-arg "--metrics-listen=127.0.0.1:${metrics_port}" "$@"
