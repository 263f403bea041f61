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
# need_check_config BINARY: skips the test (77) when the binary has no
# --check-config yet, fails when it is not there at all.
need_check_config() {
  [ -x "$1" ] || fail "$1 is not built"
  local help
  help=$("$1" --help 2>&1 || true)
  grep -q -- '--check-config' <<<"$help" || skip "$(basename "$1") has no --check-config yet"
}
# option_names BINARY: the option names its --help lists (without --help,
# --config), one a line.
option_names() {
  { "$1" --help 2>&1 || true; } | sed -n 's/^  --\([a-z0-9-]*\).*/\1/p' | grep -vx -e help -e config | sort -u
}
# A certificate directory from deploy/certs/edgefed-certs with the server
# names the manifests and tests use and the given agents.
make_certs() {  # DIR AGENT...
  local dir=$1; shift
  bash "$top/deploy/certs/edgefed-certs" init --out "$dir" \
    --server-san edgefed-server.edgefed.svc,edgefed-server,localhost,127.0.0.1 >/dev/null
  local a
  for a in "$@"; do bash "$top/deploy/certs/edgefed-certs" add-agent --out "$dir" "$a" >/dev/null; done
}
# A free TCP port on 127.0.0.1 (bound, read back, released).
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'
}
