#!/usr/bin/env bash
# The K3s manifests against the real binaries. For the server and the agent
# pod of k3s/overlays/example: lay out the pod's volumes in a scratch root
# from Secrets made by k3s/make-secrets.sh out of certificates from
# deploy/certs/edgefed-certs, run the init containers, then run the binary
# with the container's resolved environment (ConfigMaps, downward API, every
# path moved under the root) and --check-config. Every EDGEFED_* name the
# manifests or the Dockerfiles set must be an option of the binary. Then live:
# the server runs with that environment (on free loopback ports) and answers
# its probes' paths without a client certificate, as the kubelet asks, and
# /metrics; the agent runs against it until the server accepted an update,
# its exec probes pass on the health file it keeps; SIGTERM stops each with
# status 0 within its pod's grace period.
#   manifests-binaries.sh SERVER_BINARY AGENT_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
server=$1 agent=$2
need_node_modules
need_kustomize
need_check_config "$server"
need_check_config "$agent"
command -v curl >/dev/null || fail "curl not found: run deploy/install-deps.sh"
tmp=$(mktempdir)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
cm="$here/check-manifests.cjs"

kubectl kustomize "$top/k3s/overlays/example" >"$tmp/r.yaml"
make_certs "$tmp/ca" node-a
bash "$top/k3s/make-secrets.sh" "$tmp/ca" >"$tmp/secrets.yaml" 2>/dev/null

# ROLE REF BINARY [RENDERING]: lay out the pod, check names and --check-config.
check_pod() {
  local role=$1 ref=$2 bin=$3 rendering=${4:-$tmp/r.yaml} root="$tmp/root-$1"
  node "$cm" "$rendering" --materialize "${ref%/*}" "$root" "$tmp/secrets.yaml" node-a ||
    fail "$role pod: volumes or init containers"
  node "$cm" "$rendering" --env "$ref" "$root" node-a >"$tmp/$role.env"
  option_names "$bin" >"$tmp/$role.options"
  local name
  for name in $(grep -o '^EDGEFED_[A-Z0-9_]*' "$tmp/$role.env") \
              $(awk '/^ENV /{e=1} e{print} e && !/\\$/{e=0}' "$top/deploy/docker/Dockerfile.${role%%-*}" |
                grep -o 'EDGEFED_[A-Z0-9_]*=' | tr -d =); do
    local opt
    opt=$(echo "${name#EDGEFED_}" | tr 'A-Z_' 'a-z-')
    grep -qx -- "$opt" "$tmp/$role.options" || fail "$role: $name is no option of $(basename "$bin") (--$opt)"
  done
  # The data the agent's --data spec names (a small CSV on the node).
  local data
  data=$(sed -n 's/^EDGEFED_DATA=csv:\([^:]*\).*/\1/p' "$tmp/$role.env")
  if [ -n "$data" ]; then
    printf 'f1,f2,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.1,0\n0.2,0.9,1\n' >"$data"
  fi
  env -i PATH="$PATH" $(cat "$tmp/$role.env") "$bin" --check-config >"$tmp/$role.check" 2>&1 ||
    fail "$role: --check-config with the manifest's environment: $(cat "$tmp/$role.check")"
  echo "ok $role: manifest environment accepted by $(basename "$bin") --check-config ($(grep -c '^EDGEFED_' "$tmp/$role.env") EDGEFED_* variables)"
}
check_pod server StatefulSet/edgefed-server/server "$server"
check_pod agent DaemonSet/edgefed-agent/agent "$agent"
# A server replica of k3s/overlays/replicas-postgres (PostgreSQL store,
# replica name from the pod, password file from its Secret).
kubectl kustomize "$top/k3s/overlays/replicas-postgres" >"$tmp/rp.yaml"
check_pod server-replica Deployment/edgefed-server/server "$server" "$tmp/rp.yaml"
grep -q '^EDGEFED_STORE=postgresql://' "$tmp/server-replica.env" || fail "server replica: no PostgreSQL store"
# A site relay of k3s/overlays/site-relay (its identity at the central
# server from the edgefed-relay-upstream Secret, the key 0600).
bash "$top/k3s/make-secrets.sh" "$tmp/ca" --relay-id node-a >"$tmp/secrets.yaml" 2>/dev/null
kubectl kustomize "$top/k3s/overlays/site-relay" >"$tmp/sr.yaml"
check_pod server-relay StatefulSet/edgefed-server/server "$server" "$tmp/sr.yaml"
grep -q '^EDGEFED_UPSTREAM=https://' "$tmp/server-relay.env" || fail "server relay: no EDGEFED_UPSTREAM"

# Without the init container's copy, the Secret's group-readable key is
# refused: the check is real, and the init container needed.
sed "s#^EDGEFED_KEY=.*#EDGEFED_KEY=$tmp/root-agent/etc/edgefed/tls-secret/node-a.key#" "$tmp/agent.env" >"$tmp/agent-bad.env"
if env -i PATH="$PATH" $(cat "$tmp/agent-bad.env") "$agent" --check-config >/dev/null 2>&1; then
  fail "agent accepted a group-readable key (Secret volume mode 0440)"
fi
echo "ok agent refuses the Secret's group-readable key directly"

# Live server: the manifest's environment on free loopback ports.
https_port=$(free_port); metrics_port=$(free_port)
sed -e "s#^EDGEFED_LISTEN=.*#EDGEFED_LISTEN=127.0.0.1:$https_port#" \
    -e "s#^EDGEFED_METRICS_LISTEN=.*#EDGEFED_METRICS_LISTEN=127.0.0.1:$metrics_port#" \
    "$tmp/server.env" >"$tmp/server-live.env"
env -i PATH="$PATH" $(cat "$tmp/server-live.env") "$server" >"$tmp/server.log" 2>&1 &
spid=$!
pids+=("$spid")
probe_url() {  # PROBE -> URL on the live ports
  local scheme port path
  read -r scheme port path < <(node "$cm" "$tmp/r.yaml" --probe StatefulSet/edgefed-server/server /unused "$1")
  [ "$port" = 8443 ] && port=$https_port
  [ "$port" = 9464 ] && port=$metrics_port
  echo "$scheme://127.0.0.1:$port$path"
}
for probe in startup liveness readiness; do
  url=$(probe_url "$probe")
  code=000
  for _ in $(seq 1 100); do
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    [ "$code" = 200 ] && break
    kill -0 "$spid" 2>/dev/null || fail "server exited: $(tail -20 "$tmp/server.log")"
    sleep 0.2
  done
  [ "$code" = 200 ] || fail "$probe probe $url answered $code: $(tail -20 "$tmp/server.log")"
  echo "ok server $probe probe: GET $url -> 200 (no client certificate)"
done
ann_path=$(node -e 'const Y=require(process.argv[1]);for(const d of Y.parseAllDocuments(require("fs").readFileSync(process.argv[2],"utf8"))){const o=d.toJS();if(o&&o.kind==="StatefulSet")console.log(o.spec.template.metadata.annotations["prometheus.io/path"])}' "$here/node_modules/yaml" "$tmp/r.yaml")
curl -sf --max-time 5 "http://127.0.0.1:$metrics_port$ann_path" >"$tmp/metrics" || fail "scrape http://127.0.0.1:$metrics_port$ann_path"
grep -q '^edgefed_model_version' "$tmp/metrics" || fail "no edgefed_model_version in $ann_path"
echo "ok scrape target from the prometheus.io annotations: $ann_path on the metrics port"

# Live agent: the pod's environment as is (no --once: the loop the pod
# runs), against the live server. The server is reached by address, its
# certificate checked for the in-cluster name (the Service's DNS name in the
# manifests). Its exec probes must pass on the health file it keeps, the
# server must have accepted an update from it, and SIGTERM must stop it with
# status 0 within the pod's grace period.
svc_host=$(sed -n 's#^EDGEFED_SERVER=https://\([^:/]*\).*#\1#p' "$tmp/agent.env")
fmnist=/usr/share/datasets/fashion-mnist
[ -d "$fmnist" ] || fail "$fmnist missing (dataset-fashion-mnist): run deploy/install-deps.sh"
sed -e "s#^EDGEFED_SERVER=.*#EDGEFED_SERVER=https://127.0.0.1:$https_port#" \
    -e "s#^EDGEFED_DATA=.*#EDGEFED_DATA=idx:$fmnist:0/100:iid:seed=1#" "$tmp/agent.env" >"$tmp/agent-live.env"
echo "EDGEFED_SERVER_NAME=$svc_host" >>"$tmp/agent-live.env"
env -i PATH="$PATH" $(cat "$tmp/agent-live.env") "$agent" >"$tmp/agent.log" 2>&1 &
apid=$!
pids+=("$apid")
accepted=0
for _ in $(seq 1 600); do
  kill -0 "$apid" 2>/dev/null || fail "agent exited: $(tail -20 "$tmp/agent.log")"
  accepted=$(curl -s --max-time 2 "http://127.0.0.1:$metrics_port/metrics" |
    sed -n 's/^edgefed_updates_total{result="accepted"} \([0-9.e+]*\)$/\1/p' | head -1)
  accepted=${accepted:-0}
  [ -f "$tmp/root-agent/tmp/edgefed-agent.health" ] && [ "${accepted%%.*}" -ge 1 ] 2>/dev/null && break
  sleep 0.2
done
[ "${accepted%%.*}" -ge 1 ] 2>/dev/null || fail "no update accepted from the agent: $(tail -20 "$tmp/agent.log")"
for probe in startup readiness liveness; do
  node "$cm" "$tmp/r.yaml" --probe DaemonSet/edgefed-agent/agent "$tmp/root-agent" "$probe" ||
    fail "agent $probe probe fails while the agent runs"
done
echo "ok agent: update accepted by the server; startup, readiness and liveness exec probes pass on its health file"
agrace=$(node -e 'const Y=require(process.argv[1]);for(const d of Y.parseAllDocuments(require("fs").readFileSync(process.argv[2],"utf8"))){const o=d.toJS();if(o&&o.kind==="DaemonSet")console.log(o.spec.template.spec.terminationGracePeriodSeconds)}' "$here/node_modules/yaml" "$tmp/r.yaml")
kill -TERM "$apid"
for _ in $(seq 1 $((agrace * 10))); do kill -0 "$apid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$apid" 2>/dev/null && fail "agent still running ${agrace}s after SIGTERM"
rc=0; wait "$apid" || rc=$?
[ "$rc" -eq 0 ] || fail "agent exited $rc on SIGTERM: $(tail -5 "$tmp/agent.log")"
echo "ok agent: SIGTERM -> exit 0 within ${agrace}s"

# SIGTERM: exit 0 within the pod's terminationGracePeriodSeconds.
grace=$(node -e 'const Y=require(process.argv[1]);for(const d of Y.parseAllDocuments(require("fs").readFileSync(process.argv[2],"utf8"))){const o=d.toJS();if(o&&o.kind==="StatefulSet")console.log(o.spec.template.spec.terminationGracePeriodSeconds)}' "$here/node_modules/yaml" "$tmp/r.yaml")
kill -TERM "$spid"
rc=0
for _ in $(seq 1 $((grace * 10))); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$spid" 2>/dev/null && fail "server still running ${grace}s after SIGTERM"
wait "$spid" || rc=$?
[ "$rc" -eq 0 ] || fail "server exited $rc on SIGTERM: $(tail -5 "$tmp/server.log")"
echo "ok server: SIGTERM -> exit 0 within ${grace}s"
