#!/usr/bin/env bash
# The certificate tool for a fleet: 100 agent certificates, idempotently
# (a second run changes no file), then a real server started with the CA and
# the CRL accepts an agent's certificate and, after `edgefed-certs revoke`
# and a restart (the server reads its CRL at start), refuses that agent while
# still accepting the others; a certificate from another CA is refused.
#   certs-fleet.sh SERVER_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
server=$1
need_check_config "$server"
crl_opt=$(option_names "$server" | grep -m1 crl || true)
[ -n "$crl_opt" ] || skip "$(basename "$server") has no CRL option yet (--crl-file)"
command -v curl >/dev/null || fail "curl not found: run deploy/install-deps.sh"
tmp=$(mktempdir)
spid=
cleanup() { [ -n "$spid" ] && kill -9 "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
certs() { bash "$top/deploy/certs/edgefed-certs" "$@"; }

start=$(date +%s)
certs init --out "$tmp/ca" --server-san localhost,127.0.0.1 --agents 100 >"$tmp/init.log"
n=$(ls "$tmp/ca/agents/"*.pem | wc -l)
[ "$n" -eq 100 ] || fail "expected 100 agent certificates, found $n"
[ "$(certs list --out "$tmp/ca" | grep -c 'OU=agent')" -eq 100 ] || fail "list does not show 100 agents"
echo "ok 100 agent certificates in $(( $(date +%s) - start ))s"
sums() { (cd "$tmp/ca" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 sha256sum); }
sums >"$tmp/before"
certs init --out "$tmp/ca" --server-san localhost,127.0.0.1 --agents 100 >"$tmp/init2.log"
sums >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || fail "a second init changed files: $(diff "$tmp/before" "$tmp/after" | head -5)"
grep -q "0 created, 100 kept" "$tmp/init2.log" || fail "second init: $(cat "$tmp/init2.log")"
echo "ok init is idempotent (no file changed)"
(umask 077 && openssl rand -hex 32 >"$tmp/admin-token")

port=$(free_port)
crl_env="EDGEFED_$(echo "$crl_opt" | tr 'a-z-' 'A-Z_')"
mkdir -p "$tmp/state"
run_server() {
  env -i PATH="$PATH" EDGEFED_LISTEN="127.0.0.1:$port" EDGEFED_STATE_DIR="$tmp/state" \
    EDGEFED_TLS_CERT="$tmp/ca/server.pem" EDGEFED_TLS_KEY="$tmp/ca/server.key" \
    EDGEFED_CLIENT_CA="$tmp/ca/ca.pem" "$crl_env=$tmp/ca/crl.pem" \
    EDGEFED_ADMIN_TOKEN_FILE="$tmp/admin-token" EDGEFED_MODEL_INIT=mlp:784-128-10 \
    "$server" >>"$tmp/server.log" 2>&1 &
  spid=$!
  for _ in $(seq 1 100); do
    [ "$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "https://127.0.0.1:$port/healthz")" = 200 ] && return
    kill -0 "$spid" 2>/dev/null || fail "server exited: $(tail -20 "$tmp/server.log")"
    sleep 0.2
  done
  fail "server not healthy: $(tail -20 "$tmp/server.log")"
}
stop_server() {
  kill -TERM "$spid"; wait "$spid" || true; spid=
}
# status of GET /v1/task as agent ID ("000" when the handshake is refused)
as_agent() {  # CERT KEY
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$tmp/ca/ca.pem" \
    --cert "$1" --key "$2" "https://localhost:$port/v1/task" || true
}
ok_code() { [[ "$1" =~ ^2 ]]; }
agent_code() { as_agent "$tmp/ca/agents/$1.pem" "$tmp/ca/agents/$1.key"; }

run_server
c=$(agent_code agent-007); ok_code "$c" || fail "agent-007 refused before any revocation ($c)"
c=$(agent_code agent-042); ok_code "$c" || fail "agent-042 refused before its revocation ($c)"
echo "ok server accepts agent-007 and agent-042 (GET /v1/task -> $c)"

certs revoke --out "$tmp/ca" agent-042 >/dev/null
stop_server
run_server
c=$(agent_code agent-042)
ok_code "$c" && fail "revoked agent-042 still accepted ($c)"
echo "ok revoked agent-042 refused ($( [ "$c" = 000 ] && echo "TLS handshake refused" || echo "HTTP $c"))"
c=$(agent_code agent-007); ok_code "$c" || fail "agent-007 refused after revoking agent-042 ($c)"
c=$(agent_code agent-099); ok_code "$c" || fail "agent-099 refused after revoking agent-042 ($c)"
echo "ok agent-007 and agent-099 still accepted"

certs init --out "$tmp/other" --server-san localhost --agents 1 >/dev/null
c=$(as_agent "$tmp/other/agents/agent-000.pem" "$tmp/other/agents/agent-000.key")
ok_code "$c" && fail "a certificate from another CA was accepted ($c)"
echo "ok certificate from another CA refused"
stop_server
