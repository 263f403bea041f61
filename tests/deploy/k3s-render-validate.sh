#!/usr/bin/env bash
# Renders every overlay in k3s/overlays with kubectl kustomize (no cluster),
# validates each object against the Kubernetes API schemas (types, required
# fields, and strictly: no field the schema does not declare), then checks
# that the workloads' ports, probes, volume mounts and EDGEFED_* paths agree.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_node_modules
need_kustomize
tmp=$(mktempdir); trap 'rm -rf "$tmp"' EXIT
n=0
for dir in "$top"/k3s/overlays/*/; do
  name=$(basename "$dir")
  echo "== k3s/overlays/$name"
  kubectl kustomize "$dir" >"$tmp/$name.yaml" || fail "kubectl kustomize k3s/overlays/$name"
  node "$here/validate-k8s.cjs" "$tmp/$name.yaml" || fail "schema validation of k3s/overlays/$name"
  node "$here/check-manifests.cjs" "$tmp/$name.yaml" || fail "manifest checks of k3s/overlays/$name"
  # Images: tagged, and an overlay that names a registry gets it everywhere.
  names=$(sed -n 's/^ *newName: *//p' "$dir/kustomization.yaml")
  while read -r image; do
    [[ "$image" == *:* ]] || fail "$name: untagged image $image"
    if [ -n "$names" ]; then
      grep -qxF "${image%:*}" <<<"$names" || fail "$name: image $image is not one the overlay names ($names)"
    fi
  done < <(sed -n 's/^ *image: *//p' "$tmp/$name.yaml" | sort -u)
  n=$((n + 1))
done
[ "$n" -ge 1 ] || fail "no overlay found under k3s/overlays"
grep -q '^kind: ServiceMonitor' "$tmp"/*.yaml || fail "no overlay renders the ServiceMonitor component"
echo "rendered and validated $n overlays"

# Node affinity: the base (through example) admits every architecture of the
# multi-arch agent image, arm64-only admits arm64 nodes alone.
[ -f "$tmp/arm64-only.yaml" ] || fail "k3s/overlays/arm64-only was not rendered"
admits() {  # RENDERING ARCH [OS]: would an edge node of ARCH run the agent?
  node "$here/check-manifests.cjs" "$tmp/$1.yaml" --admits DaemonSet/edgefed-agent \
    edgefed.dev/edge=true "kubernetes.io/os=${3:-linux}" "kubernetes.io/arch=$2"
}
for arch in amd64 arm64 arm; do
  [ "$(admits example "$arch")" = admitted ] || fail "example: the agent DaemonSet refuses $arch nodes"
done
[ "$(admits example riscv64)" = refused ] || fail "example: the agent DaemonSet admits riscv64 nodes"
[ "$(admits example amd64 windows)" = refused ] || fail "example: the agent DaemonSet admits Windows nodes"
[ "$(admits arm64-only arm64)" = admitted ] || fail "arm64-only: the agent DaemonSet refuses arm64 nodes"
for arch in amd64 arm riscv64; do
  [ "$(admits arm64-only "$arch")" = refused ] || fail "arm64-only: the agent DaemonSet admits $arch nodes"
done
[ "$(admits arm64-only arm64 windows)" = refused ] || fail "arm64-only: the agent DaemonSet admits Windows nodes"
echo "ok node affinity: example admits amd64, arm64, arm; arm64-only admits arm64 only; neither riscv64 nor Windows"

# The consistency checks catch drift: each mutation of the example rendering
# must fail them.
mutate() {  # SED-EXPRESSION WHAT [RENDERING]
  local base="$tmp/${3:-example}.yaml"
  sed -e "$1" "$base" >"$tmp/mutated.yaml"
  cmp -s "$base" "$tmp/mutated.yaml" && fail "mutation '$2' changed nothing"
  if node "$here/check-manifests.cjs" "$tmp/mutated.yaml" >"$tmp/mutated.out"; then
    fail "manifest checks missed: $2"
  fi
  echo "ok checks catch: $2 ($(grep -m1 FAIL "$tmp/mutated.out"))"
}
mutate 's/containerPort: 9464/containerPort: 9465/' "metrics containerPort differs from EDGEFED_METRICS_LISTEN"
mutate 's#value: /var/lib/edgefed-agent#value: /var/lib/edgefed-outbox#' "agent state dir not on the outbox hostPath"
mutate 's#path: /readyz#path: /ready#' "server readiness probe path"
mutate 's#value: /etc/edgefed/tls/ca.crt#value: /etc/ssl/ca.crt#' "a path outside every volume mount"
mutate 's/maxUnavailable: 10%/partition: 0/' "agent rolling update without maxUnavailable"
mutate 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "writable root filesystem"
mutate "s/enforce: privileged/enforce: baseline/" "a Pod Security level that refuses hostPath volumes"
mutate 's/^\( *\)- arm$/\1- riscv64/' "agent node affinity admits an architecture the image lacks"
mutate 's#key: kubernetes.io/arch#key: kubernetes.io/hostname#' "agent node affinity without kubernetes.io/arch"

# Replicas on PostgreSQL (k3s/overlays/replicas-postgres, docs/replicas.md):
# the server a Deployment of 3 behind the same Service, a PodDisruptionBudget,
# PostgreSQL as a StatefulSet that only the servers reach.
[ -f "$tmp/replicas-postgres.yaml" ] || fail "k3s/overlays/replicas-postgres was not rendered"
grep -q '^kind: Deployment' "$tmp/replicas-postgres.yaml" || fail "replicas-postgres: the server is no Deployment"
mutate 's/replicas: 3/replicas: 1/' "one server replica on PostgreSQL" replicas-postgres
mutate 's/minAvailable: 2/minAvailable: 3/' "a PodDisruptionBudget that blocks every drain" replicas-postgres
mutate 's#postgresql://edgefed@#postgresql://edgefed:secret@#' "a password in EDGEFED_STORE" replicas-postgres
mutate 's#fieldPath: metadata.name#fieldPath: spec.nodeName#' "replica names not unique per pod" replicas-postgres
mutate 's/port: 5432$/port: 5433/' "the servers cannot reach the database port" replicas-postgres
mutate 's#value: /etc/edgefed/db/password#value: /etc/edgefed/tls/password#' "the database password outside its Secret" replicas-postgres

# A site relay (k3s/overlays/site-relay, docs/relays.md).
[ -f "$tmp/site-relay.yaml" ] || fail "k3s/overlays/site-relay was not rendered"
grep -q 'EDGEFED_UPSTREAM: https://' "$tmp/site-relay.yaml" || fail "site-relay: no EDGEFED_UPSTREAM"
mutate 's#EDGEFED_UPSTREAM: https://aggregator.example.com:8443#EDGEFED_UPSTREAM: http://aggregator.example.com#' "a relay's upstream that is not https://HOST:PORT" site-relay
# The relay's egress rule to its central server on another port than
# EDGEFED_UPSTREAM's (a multi-line edit: the port precedes the ipBlock).
perl -0pe 's/(egress:\n  - ports:\n    - port: )8443(\n      protocol: TCP\n    to:\n    - ipBlock:)/${1}9443$2/' \
  "$tmp/site-relay.yaml" >"$tmp/mutated.yaml"
cmp -s "$tmp/site-relay.yaml" "$tmp/mutated.yaml" && fail "mutation 'relay egress port' changed nothing"
node "$here/check-manifests.cjs" "$tmp/mutated.yaml" >"$tmp/mutated.out" && fail "manifest checks missed: a relay that may not reach its central server"
echo "ok checks catch: a relay that may not reach its central server ($(grep -m1 FAIL "$tmp/mutated.out"))"
