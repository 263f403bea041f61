#!/usr/bin/env bash
# k3s/make-secrets.sh turns the certificate tool's directory into the
# Secrets the manifests mount: they validate against the API schema, carry
# the keys the manifests' init containers copy, and leave revoked agents out.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_node_modules
command -v kubectl >/dev/null || fail "kubectl not found: run deploy/install-deps.sh"
tmp=$(mktempdir); trap 'rm -rf "$tmp"' EXIT
certs="$top/deploy/certs/edgefed-certs"
[ -x "$certs" ] || [ -f "$certs" ] || skip "deploy/certs/edgefed-certs not there yet"
bash "$certs" init --out "$tmp/ca" --server-san edgefed-server.edgefed.svc,localhost,127.0.0.1 >/dev/null
for n in node-a node-b node-c; do bash "$certs" add-agent --out "$tmp/ca" "$n" >/dev/null; done
bash "$certs" revoke --out "$tmp/ca" node-b >/dev/null
bash "$top/k3s/make-secrets.sh" "$tmp/ca" >"$tmp/secrets.yaml" 2>"$tmp/err" || fail "make-secrets.sh: $(cat "$tmp/err")"
node "$here/validate-k8s.cjs" "$tmp/secrets.yaml" || fail "the Secrets do not validate"
keys() {
  node -e 'const Y=require(process.argv[1]); for (const d of Y.parseAllDocuments(require("fs").readFileSync(process.argv[2],"utf8"))) { const o=d.toJS(); if (o && o.metadata.name===process.argv[3]) process.stdout.write(Object.keys(o.data).sort().join(" ")+" "); }' \
    "$here/node_modules/yaml" "$tmp/secrets.yaml" "$1"
}
[ "$(keys edgefed-server-tls)" = "ca.crt crl.pem tls.crt tls.key " ] || fail "server Secret keys: $(keys edgefed-server-tls)"
[ "$(keys edgefed-admin-token)" = "token " ] || fail "admin Secret keys: $(keys edgefed-admin-token)"
[ "$(keys edgefed-agent-tls)" = "ca.crt node-a.crt node-a.key node-c.crt node-c.key " ] ||
  fail "agent Secret keys (node-b is revoked): $(keys edgefed-agent-tls)"
[ "$(keys edgefed-db-password)" = "password " ] || fail "database Secret keys: $(keys edgefed-db-password)"
[ "$(stat -c %a "$tmp/ca/admin-token")" = 600 ] || fail "admin-token is not 0600"
[ "$(stat -c %a "$tmp/ca/db-password")" = 600 ] || fail "db-password is not 0600"
# Every key an init container copies exists in its Secret.
kubectl kustomize "$top/k3s/overlays/example" >"$tmp/r.yaml"
node "$here/check-manifests.cjs" "$tmp/r.yaml" --materialize StatefulSet/edgefed-server "$tmp/root-s" "$tmp/secrets.yaml" node-a ||
  fail "server pod: volumes and init containers"
node "$here/check-manifests.cjs" "$tmp/r.yaml" --materialize DaemonSet/edgefed-agent "$tmp/root-a" "$tmp/secrets.yaml" node-c ||
  fail "agent pod: volumes and init containers"
[ "$(stat -c %a "$tmp/root-a/etc/edgefed/tls/tls.key")" = 600 ] || fail "agent key not 0600 after the init container"
cmp -s "$tmp/root-a/etc/edgefed/tls/tls.crt" "$tmp/ca/agents/node-c.pem" || fail "agent pod got another node's certificate"
# Replicas on PostgreSQL: both the servers and the database get the password.
kubectl kustomize "$top/k3s/overlays/replicas-postgres" >"$tmp/rp.yaml"
node "$here/check-manifests.cjs" "$tmp/rp.yaml" --materialize Deployment/edgefed-server "$tmp/root-r" "$tmp/secrets.yaml" node-a ||
  fail "server replica pod: volumes and init containers"
node "$here/check-manifests.cjs" "$tmp/rp.yaml" --materialize StatefulSet/edgefed-postgres "$tmp/root-p" "$tmp/secrets.yaml" node-a ||
  fail "database pod: volumes"
cmp -s "$tmp/root-r/etc/edgefed/db/password" "$tmp/ca/db-password" || fail "server replica pod: database password"
cmp -s "$tmp/root-p/etc/edgefed/db/password" "$tmp/ca/db-password" || fail "database pod: password"
# A site relay: its identity at the central server, the key 0600 after the
# init container.
bash "$top/k3s/make-secrets.sh" "$tmp/ca" --relay-id node-c >"$tmp/secrets-relay.yaml" 2>/dev/null ||
  fail "make-secrets.sh --relay-id"
[ "$(node -e 'const Y=require(process.argv[1]); for (const d of Y.parseAllDocuments(require("fs").readFileSync(process.argv[2],"utf8"))) { const o=d.toJS(); if (o && o.metadata.name==="edgefed-relay-upstream") process.stdout.write(Object.keys(o.data).sort().join(" ")); }' "$here/node_modules/yaml" "$tmp/secrets-relay.yaml")" = "ca.crt tls.crt tls.key" ] ||
  fail "relay Secret keys"
if bash "$top/k3s/make-secrets.sh" "$tmp/ca" --relay-id nobody >/dev/null 2>&1; then fail "make-secrets.sh took an unknown --relay-id"; fi
kubectl kustomize "$top/k3s/overlays/site-relay" >"$tmp/sr.yaml"
node "$here/check-manifests.cjs" "$tmp/sr.yaml" --materialize StatefulSet/edgefed-server "$tmp/root-relay" "$tmp/secrets-relay.yaml" node-a ||
  fail "relay pod: volumes and init containers"
[ "$(stat -c %a "$tmp/root-relay/etc/edgefed/tls/upstream.key")" = 600 ] || fail "relay upstream key not 0600 after the init container"
cmp -s "$tmp/root-relay/etc/edgefed/tls/upstream.crt" "$tmp/ca/agents/node-c.pem" || fail "relay pod: another identity"
echo "ok: Secrets valid, keys as mounted, revoked agent left out, init containers lay out the TLS files"
