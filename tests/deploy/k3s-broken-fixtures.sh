#!/usr/bin/env bash
# The validator must refuse each deliberately broken fixture for the reason
# its "# expect:" line names (a wrong type, a missing required field, a
# misspelled field name, an unknown kind) and accept the valid one, so a
# validator that waves everything through fails this test.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_node_modules
n=0
for f in "$here"/fixtures/*.yaml; do
  expect=$(sed -n 's/^# expect: //p' "$f" | head -1)
  [ -n "$expect" ] || fail "$f has no '# expect:' line"
  set +e
  out=$(node "$here/validate-k8s.cjs" "$f" 2>&1)
  rc=$?
  set -e
  if [ "$expect" = valid ]; then
    [ "$rc" -eq 0 ] || fail "$(basename "$f") should be valid: $out"
  else
    [ "$rc" -ne 0 ] || fail "$(basename "$f") was accepted: $out"
    grep -qF -- "$expect" <<<"$out" || fail "$(basename "$f"): expected '$expect', got: $out"
  fi
  echo "ok $(basename "$f"): ${expect}"
  n=$((n + 1))
done
[ "$n" -ge 4 ] || fail "too few fixtures ($n)"
