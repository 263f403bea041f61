#!/usr/bin/env bash
# Prints the Secrets the K3s manifests use, made from a directory that
# deploy/certs/edgefed-certs manages (no cluster needed):
#   edgefed-server-tls   tls.crt, tls.key (server.pem/.key), ca.crt, crl.pem
#   edgefed-admin-token  token (DIR/admin-token, created once: 32 random bytes)
#   edgefed-db-password  password (DIR/db-password, created once: 32 random
#                        bytes; the replicas-postgres overlay's database)
#   edgefed-relay-upstream  with --relay-id ID only: ca.crt, tls.crt, tls.key
#                        (agents/ID.pem/.key), a site relay's identity at the
#                        central server (the site-relay overlay)
#   edgefed-agent-tls    ca.crt and, for every agent id N whose certificate is
#                        not revoked, N.crt and N.key (agents/N.pem/.key)
# The agent id is the node name, so issue one agent certificate per node:
#   deploy/certs/edgefed-certs add-agent --out DIR "$(kubectl get node X -o name | cut -d/ -f2)"
# Usage:
#   k3s/make-secrets.sh DIR [--namespace NS] [--only ID,ID...] [--relay-id ID] | kubectl apply -f -
# A Secret holds at most 1 MiB: about 700 agents. Larger fleets are split in
# node pools, one DaemonSet and agent Secret each (docs/deploy-k3s.md).
set -euo pipefail
prog=$(basename "$0")
die() { echo "$prog: $*" >&2; exit 1; }

dir="" ns=edgefed only="" relay_id=""
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) ns=${2:?}; shift 2 ;;
    --only) only=${2:?}; shift 2 ;;
    --relay-id) relay_id=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$dir" ] || die "one directory only"; dir=$1; shift ;;
  esac
done
[ -n "$dir" ] || die "usage: $prog DIR [--namespace NS] [--only ID,...]"
for f in ca.pem server.pem server.key crl.pem; do
  [ -f "$dir/$f" ] || die "$dir/$f missing: run deploy/certs/edgefed-certs init --out $dir first"
done
command -v kubectl >/dev/null || die "kubectl not found"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
secret() {  # NAME SOURCE-DIR
  kubectl create secret generic "$1" --namespace "$ns" --from-file="$2" --dry-run=client -o yaml |
    sed '/creationTimestamp: null/d'
  echo "---"
}

mkdir "$tmp/server" "$tmp/admin" "$tmp/agents"
cp "$dir/server.pem" "$tmp/server/tls.crt"
cp "$dir/server.key" "$tmp/server/tls.key"
cp "$dir/ca.pem" "$tmp/server/ca.crt"
cp "$dir/crl.pem" "$tmp/server/crl.pem"
if [ ! -f "$dir/admin-token" ]; then
  (umask 077 && openssl rand -hex 32 >"$dir/admin-token")
  echo "$prog: created $dir/admin-token" >&2
fi
cp "$dir/admin-token" "$tmp/admin/token"
mkdir "$tmp/db"
if [ ! -f "$dir/db-password" ]; then
  (umask 077 && openssl rand -hex 32 >"$dir/db-password")
  echo "$prog: created $dir/db-password" >&2
fi
cp "$dir/db-password" "$tmp/db/password"

revoked=$(openssl crl -in "$dir/crl.pem" -noout -text | sed -n 's/^ *Serial Number: *//p' | tr 'a-f' 'A-F')
cp "$dir/ca.pem" "$tmp/agents/ca.crt"
n=0 skipped=0
shopt -s nullglob
for pem in "$dir"/agents/*.pem; do
  id=$(basename "$pem" .pem)
  if [ -n "$only" ] && [[ ",$only," != *",$id,"* ]]; then continue; fi
  [ -f "$dir/agents/$id.key" ] || die "agents/$id.key missing"
  serial=$(openssl x509 -in "$pem" -noout -serial | cut -d= -f2 | tr 'a-f' 'A-F')
  if grep -qxF "$serial" <<<"$revoked"; then skipped=$((skipped + 1)); continue; fi
  cp "$pem" "$tmp/agents/$id.crt"
  cp "$dir/agents/$id.key" "$tmp/agents/$id.key"
  n=$((n + 1))
done
[ "$n" -gt 0 ] || die "no agent certificate in $dir/agents (edgefed-certs add-agent --out $dir NODE)"
size=$(cat "$tmp"/agents/* | wc -c)
[ "$size" -le 750000 ] ||
  die "$n agents need $size bytes, over what a 1 MiB Secret holds once encoded; split the fleet (--only)"

secret edgefed-server-tls "$tmp/server"
secret edgefed-admin-token "$tmp/admin"
secret edgefed-db-password "$tmp/db"
if [ -n "$relay_id" ]; then
  [ -f "$dir/agents/$relay_id.pem" ] && [ -f "$dir/agents/$relay_id.key" ] ||
    die "agents/$relay_id.pem/.key missing: edgefed-certs add-agent --out $dir $relay_id"
  mkdir "$tmp/relay"
  cp "$dir/ca.pem" "$tmp/relay/ca.crt"
  cp "$dir/agents/$relay_id.pem" "$tmp/relay/tls.crt"
  cp "$dir/agents/$relay_id.key" "$tmp/relay/tls.key"
  secret edgefed-relay-upstream "$tmp/relay"
fi
secret edgefed-agent-tls "$tmp/agents"
echo "$prog: $n agent certificates, $skipped revoked left out" >&2
