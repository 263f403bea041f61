# Shared helpers for the deploy tests (sourced).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }   # ctest SKIP_RETURN_CODE
need_node_modules() {
  [ -d "$here/node_modules/kubernetes-models" ] ||
    fail "tests/deploy/node_modules is missing: run deploy/install-deps.sh (npm ci in tests/deploy)"
}
# kubectl with a kustomize that knows components (kustomize v4+, kubectl 1.21+).
need_kustomize() {
  command -v kubectl >/dev/null || fail "kubectl not found: run deploy/install-deps.sh"
  local v
  v=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
  [ -n "$v" ] && [ "$v" -ge 4 ] ||
    fail "kubectl's embedded kustomize is older than v4 ($(kubectl version --client 2>&1 | head -1)); k3s/ needs kubectl >= 1.21"
}
mktempdir() { local d; d=$(mktemp -d "${TMPDIR:-/tmp}/edgefed-deploy.XXXXXX"); echo "$d"; }
