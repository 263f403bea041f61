#!/usr/bin/env bash
# deploy/config/{server,agent}.conf document every option the binaries
# accept (each --help option but --check-config appears, set or commented),
# name no option the binaries do not know, and pass --check-config as shipped
# (paths moved to test certificates) and with every commented default on.
#   config-examples.sh SERVER_BINARY AGENT_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
server=$1 agent=$2
tmp=$(mktempdir); trap 'rm -rf "$tmp"' EXIT
checked=0

conf_names() { sed -n 's/^#\{0,1\} \{0,1\}\([a-z][a-z0-9-]*\) *=.*/\1/p' "$1" | sort -u; }

check_role() {  # ROLE BINARY SED-SCRIPT
  local role=$1 bin=$2 subst=$3 conf="$top/deploy/config/$1.conf"
  [ -f "$conf" ] || fail "deploy/config/$role.conf missing"
  if ! grep -q -- '--check-config' <<<"$("$bin" --help 2>&1 || true)"; then
    echo "SKIP part: $(basename "$bin") has no --check-config yet"; return
  fi
  option_names "$bin" | grep -vx check-config >"$tmp/$role.help"
  conf_names "$conf" >"$tmp/$role.conf-names"
  local missing extra
  missing=$(comm -23 "$tmp/$role.help" "$tmp/$role.conf-names" | tr '\n' ' ')
  extra=$(comm -13 "$tmp/$role.help" "$tmp/$role.conf-names" | tr '\n' ' ')
  [ -z "$missing" ] || fail "$role.conf does not document: $missing"
  [ -z "$extra" ] || fail "$role.conf names options $(basename "$bin") does not have: $extra"
  sed -e "$subst" "$conf" >"$tmp/$role.conf"
  env -i PATH="$PATH" "$bin" --config "$tmp/$role.conf" --check-config >"$tmp/$role.out" 2>&1 ||
    fail "$role.conf as shipped: $(cat "$tmp/$role.out")"
  # Every commented "name = value" on: the documented defaults are valid.
  sed -e 's/^# \([a-z][a-z0-9-]* =.*\)$/\1/' "$tmp/$role.conf" >"$tmp/$role-all.conf"
  env -i PATH="$PATH" "$bin" --config "$tmp/$role-all.conf" --check-config >"$tmp/$role.out" 2>&1 ||
    fail "$role.conf with every default spelled out: $(cat "$tmp/$role.out")"
  echo "ok $role.conf: $(wc -l <"$tmp/$role.help") options documented, --check-config passes"
  checked=$((checked + 1))
}

make_certs "$tmp/ca" device-1
mkdir -p "$tmp/state-s" "$tmp/state-a" "$tmp/data"
printf 'f1,f2,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.1,0\n0.2,0.9,1\n' >"$tmp/data/sensor.csv"
(umask 077 && echo "test-token-0123456789abcdef0123456789" >"$tmp/ca/admin-token")
check_role server "$server" "
s#/etc/edgefed/tls/server.pem#$tmp/ca/server.pem#
s#/etc/edgefed/tls/server.key#$tmp/ca/server.key#
s#/etc/edgefed/tls/ca.pem#$tmp/ca/ca.pem#
s#/etc/edgefed/tls/crl.pem#$tmp/ca/crl.pem#
s#/etc/edgefed/admin-token#$tmp/ca/admin-token#
s#/var/lib/edgefed\$#$tmp/state-s#
s#/etc/edgefed/model-init.safetensors#$tmp/none.safetensors#"
check_role agent "$agent" "
s#/etc/edgefed/tls/ca.pem#$tmp/ca/ca.pem#
s#/etc/edgefed/tls/agent.pem#$tmp/ca/agents/device-1.pem#
s#/etc/edgefed/tls/agent.key#$tmp/ca/agents/device-1.key#
s#/var/lib/edgefed-data/#$tmp/data/#
s#/var/lib/edgefed-agent\$#$tmp/state-a#"
[ "$checked" -gt 0 ] || skip "neither binary has --check-config yet"
