#!/usr/bin/env bash
# Checks deploy/certs/edgefed-certs end to end on a 100-agent fleet: files,
# subjects, SANs, key usages, permissions, idempotency, revocation and CRL.
# Usage: edgefed_certs_test.sh PATH/TO/edgefed-certs
set -euo pipefail

tool=${1:?usage: $0 path/to/edgefed-certs}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253; }
perm() { stat -c %a "$1"; }
# Every issued file (the CA's own database under ca/ grows by design).
digest_all() { (cd "$dir/fleet" && find . -path ./ca -prune -o \( -name '*.pem' -o -name '*.key' \) -print | sort | xargs sha256sum); }

start=$(date +%s.%N)
"$tool" init --out "$dir/fleet" --server-san 127.0.0.1,localhost --agents 100 --days 30 >/dev/null
end=$(date +%s.%N)
secs=$(echo "$end - $start" | bc 2>/dev/null || awk "BEGIN { print $end - $start }")
echo "timing: init with 100 agents took ${secs} s"
f="$dir/fleet"

for n in ca server admin; do
  check "$n.pem and $n.key exist" test -s "$f/$n.pem" -a -s "$f/$n.key"
done
check "crl.pem exists and parses" openssl crl -in "$f/crl.pem" -noout
check "exactly 100 agent certificates" test "$(ls "$f/agents"/*.pem | wc -l)" -eq 100
check "exactly 100 agent keys" test "$(ls "$f/agents"/*.key | wc -l)" -eq 100

bad_cn=0 bad_perm=0
for i in $(seq -f '%03g' 0 99); do
  a="$f/agents/agent-$i"
  [ "$(subject "$a.pem")" = "subject=CN=agent-$i,OU=agent,O=edgefed" ] || { bad_cn=$((bad_cn + 1)); subject "$a.pem"; }
  [ "$(perm "$a.key")" = 600 ] || bad_perm=$((bad_perm + 1))
done
check "every agent CN is its id (OU=agent)" test "$bad_cn" -eq 0
check "every agent key is 0600" test "$bad_perm" -eq 0
check "CA, server and admin keys are 0600" test "$(perm "$f/ca.key")$(perm "$f/server.key")$(perm "$f/admin.key")" = 600600600
check "certificates are world-readable (0644)" test "$(perm "$f/server.pem")$(perm "$f/agents/agent-042.pem")" = 644644
check "all 102 leaf certificates chain to the CA" openssl verify -CAfile "$f/ca.pem" "$f/server.pem" "$f/admin.pem" "$f"/agents/*.pem

san=$(openssl x509 -in "$f/server.pem" -noout -ext subjectAltName)
check "server SAN has IP 127.0.0.1" grep -q "IP Address:127.0.0.1" <<<"$san"
check "server SAN has DNS localhost" grep -q "DNS:localhost" <<<"$san"
check "server certificate is for serverAuth" grep -q "TLS Web Server Authentication" \
  <<<"$(openssl x509 -in "$f/server.pem" -noout -ext extendedKeyUsage)"
check "agent certificate is for clientAuth" grep -q "TLS Web Client Authentication" \
  <<<"$(openssl x509 -in "$f/agents/agent-007.pem" -noout -ext extendedKeyUsage)"
check "admin certificate is CN=admin, OU=admin" test "$(subject "$f/admin.pem")" = "subject=CN=admin,OU=admin,O=edgefed"
check "viewer certificate is CN=viewer, OU=viewer" test "$(subject "$f/viewer.pem")" = "subject=CN=viewer,OU=viewer,O=edgefed"
check "viewer key and browser bundle are 0600" test "$(perm "$f/viewer.key")$(perm "$f/viewer.p12")" = 600600
check "viewer.p12 holds the viewer's key and certificate" test "$(openssl pkcs12 -in "$f/viewer.p12" -passin pass: \
  -nokeys -clcerts | openssl x509 -noout -pubkey)" = "$(openssl pkey -in "$f/viewer.key" -pubout)"
check "keys are EC P-256" grep -q "prime256v1" <<<"$(openssl pkey -in "$f/agents/agent-099.key" -noout -text)"
check "CA is a CA" grep -q "CA:TRUE" <<<"$(openssl x509 -in "$f/ca.pem" -noout -ext basicConstraints)"
check "agent certificates expire after --days 30" \
  openssl x509 -in "$f/agents/agent-000.pem" -noout -checkend $((29 * 86400))
check "... and not after 31 days" bash -c "! openssl x509 -in '$f/agents/agent-000.pem' -noout -checkend $((31 * 86400))"

before=$(digest_all)
"$tool" init --out "$f" --server-san 127.0.0.1,localhost --agents 100 >/dev/null
check "re-running init changes nothing" test "$before" = "$(digest_all)"
"$tool" init --out "$f" --server-san 127.0.0.1,localhost --agents 101 >/dev/null
check "init with 101 agents adds agent-100" test -s "$f/agents/agent-100.pem"
check "... and keeps every existing file" test "$before" = "$(digest_all | grep -v agent-100)"
rm "$f/agents/agent-050.key"
"$tool" init --out "$f" --server-san 127.0.0.1,localhost --agents 101 >/dev/null
check "a certificate without its key is re-issued" test -s "$f/agents/agent-050.key"
check "... with a matching key" test "$(openssl x509 -in "$f/agents/agent-050.pem" -noout -pubkey)" = \
  "$(openssl pkey -in "$f/agents/agent-050.key" -pubout)"

"$tool" add-agent --out "$f" edge-node.7 >/dev/null
check "add-agent issues a named agent" test "$(subject "$f/agents/edge-node.7.pem")" = "subject=CN=edge-node.7,OU=agent,O=edgefed"
check "add-viewer issues a named viewer" test "$("$tool" add-viewer --out "$f" alice >/dev/null && subject "$f/viewers/alice.pem")" = \
  "subject=CN=alice,OU=viewer,O=edgefed"
check "... with its 0600 browser bundle" test "$(perm "$f/viewers/alice.p12")" = 600
"$tool" revoke --out "$f" alice >/dev/null
check "revoke finds a named viewer" \
  bash -c "! openssl verify -crl_check -CAfile '$f/ca.pem' -CRLfile '$f/crl.pem' '$f/viewers/alice.pem'"
check "add-agent refuses a bad id" bash -c "! '$tool' add-agent --out '$f' 'bad/id'"

"$tool" revoke --out "$f" agent-003 >/dev/null
check "revoked agent fails verification with the CRL" \
  bash -c "! openssl verify -crl_check -CAfile '$f/ca.pem' -CRLfile '$f/crl.pem' '$f/agents/agent-003.pem'"
check "other agents still verify with the CRL" \
  openssl verify -crl_check -CAfile "$f/ca.pem" -CRLfile "$f/crl.pem" "$f/agents/agent-004.pem"
check "list shows the revocation" grep -q "revoked.*CN=agent-003" <<<"$("$tool" list --out "$f")"
check "add-agent will not silently re-issue a revoked agent" bash -c "! '$tool' add-agent --out '$f' agent-003"
"$tool" add-agent --out "$f" --reissue agent-003 >/dev/null
check "--reissue gives a fresh, valid certificate" \
  openssl verify -crl_check -CAfile "$f/ca.pem" -CRLfile "$f/crl.pem" "$f/agents/agent-003.pem"
"$tool" add-agent --out "$f" old-agent --valid-from 20200101000000Z --valid-until 20200102000000Z >/dev/null
check "explicit dates make an expired certificate" \
  bash -c "! openssl verify -CAfile '$f/ca.pem' '$f/agents/old-agent.pem'"
check "list shows it expired" grep -q "expired.*CN=old-agent" <<<"$("$tool" list --out "$f")"
check "--help works" "$tool" --help
check "an unknown command fails" bash -c "! '$tool' frobnicate"
check "init without --server-san fails" bash -c "! '$tool' init --out '$dir/other'"

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
