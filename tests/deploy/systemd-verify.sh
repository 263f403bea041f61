#!/usr/bin/env bash
# systemd-analyze verify on the unit files in deploy/systemd, with every
# warning counted as a failure (verify itself exits 0 on unknown keys and bad
# values), and an offline exposure score (systemd-analyze security) of at
# most 2.0 ("OK"). The units name /usr/local/bin/edgefed-*, which verify
# requires to exist: the test points them at the built binaries given as
# arguments or, without them, at a stub. A deliberately broken unit must be
# reported, so a verify that says nothing cannot pass.
#   systemd-verify.sh [SERVER_BINARY [AGENT_BINARY]]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found: run deploy/install-deps.sh"
tmp=$(mktempdir); trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/sh\nexit 0\n' >"$tmp/stub"; chmod +x "$tmp/stub"
server=${1:-$tmp/stub}; agent=${2:-$tmp/stub}

verify() {  # unit file -> prints warnings, returns 1 if any
  local out
  out=$(cd "$tmp" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$1" 2>&1) || true
  if [ -n "$out" ]; then echo "$out"; return 1; fi
}

n=0
for unit in "$top"/deploy/systemd/*.service; do
  name=$(basename "$unit")
  sed -e "s#/usr/local/bin/edgefed-server#$server#g" -e "s#/usr/local/bin/edgefed-agent#$agent#g" \
    "$unit" >"$tmp/$name"
  verify "$tmp/$name" || fail "systemd-analyze verify $name reported problems (above)"
  systemd-analyze security --offline=true --threshold=20 --no-pager "$tmp/$name" >"$tmp/$name.security" 2>&1 ||
    { tail -3 "$tmp/$name.security"; fail "$name: exposure above 2.0"; }
  echo "ok $name: $(grep -o 'Overall exposure level.*' "$tmp/$name.security")"
  n=$((n + 1))
done
[ "$n" -ge 1 ] || fail "no unit files in deploy/systemd"
grep -q '^NoNewPrivileges=yes' "$top/deploy/systemd/edgefed-server.service" || fail "NoNewPrivileges"
grep -q '^ProtectSystem=strict' "$top/deploy/systemd/edgefed-server.service" || fail "ProtectSystem"
grep -q '^PrivateTmp=yes' "$top/deploy/systemd/edgefed-server.service" || fail "PrivateTmp"
grep -q '^CapabilityBoundingSet=' "$top/deploy/systemd/edgefed-server.service" || fail "CapabilityBoundingSet"

# The check itself: a misspelled key and a bad value must be reported.
printf '[Service]\nExecStart=%s\nProtectSystem=bogus\nNoNewPrivilege=yes\n' "$tmp/stub" >"$tmp/broken.service"
if verify "$tmp/broken.service" >"$tmp/broken.out"; then fail "a broken unit passed verify"; fi
grep -q "Unknown key" "$tmp/broken.out" || fail "broken unit: misspelled key not reported: $(cat "$tmp/broken.out")"
echo "ok broken unit refused: $(tr '\n' ' ' <"$tmp/broken.out")"
