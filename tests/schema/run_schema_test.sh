#!/usr/bin/env bash
# run_schema_test.sh valid|invalid EXAMPLES_DIR [EMIT_TOOL]
# Checks EXAMPLES_DIR/<schema>/*.json against schemas/ with ajv; with
# EMIT_TOOL, first lets it write the C++ code's bodies into EXAMPLES_DIR.
# Fails (does not skip) when node or ajv is missing: a schema test that
# silently passes without its validator would prove nothing.
set -euo pipefail
mode=${1:?usage: $0 valid|invalid EXAMPLES_DIR [EMIT_TOOL]}
examples=${2:?usage: $0 valid|invalid EXAMPLES_DIR [EMIT_TOOL]}
here=$(cd "$(dirname "$0")" && pwd)
schemas=$(cd "$here/../../schemas" && pwd)

if ! command -v node >/dev/null 2>&1; then
  echo "FAIL: node is not installed (deploy/install-deps.sh installs it)" >&2
  exit 1
fi
if [ ! -f "$here/node_modules/ajv/package.json" ]; then
  echo "FAIL: $here/node_modules/ajv is missing: run 'npm ci' in tests/schema (deploy/install-deps.sh does)" >&2
  exit 1
fi
if [ -n "${3:-}" ]; then
  "$3" "$examples"
fi
exec node "$here/validate.cjs" --schemas "$schemas" "--$mode" "$examples" --every-schema
