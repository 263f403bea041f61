#!/usr/bin/env bash
# Installs every Debian package edgefed needs to build, test and run its demo.
# Idempotent: packages already present are skipped, so re-running is cheap.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libboost-dev libboost-program-options-dev
  libssl-dev openssl zlib1g-dev
  nlohmann-json3-dev libeigen3-dev libsqlite3-dev sqlite3
  prometheus-cpp-dev catch2
  dataset-fashion-mnist python3-vega-datasets
  clang libclang-rt-14-dev
  python3 python3-numpy
  gnuplot-nox
  procps psmisc curl
  sslscan
  systemd
  prometheus chromium
)

missing=()
# node/npm: the machine image may ship its own; Debian's only when absent.
if ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi
# kubectl renders the K3s manifests (tests/deploy): the machine image may ship
# a newer one (kustomize v5); Debian's kubernetes-client only when absent.
if ! command -v kubectl >/dev/null 2>&1; then packages+=(kubernetes-client); fi
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# JSON Schema validator (ajv) for the schema tests, from npm, into the repo's
# own node_modules (not committed).
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$top/tests/schema/node_modules/ajv" ]; then
  (cd "$top/tests/schema" && npm ci --no-audit --no-fund --loglevel=error)
fi
# Kubernetes API schemas (kubernetes-models), YAML parser and Dockerfile
# linters for the deploy tests, likewise into tests/deploy/node_modules.
if [ ! -d "$top/tests/deploy/node_modules/kubernetes-models" ]; then
  (cd "$top/tests/deploy" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "install-deps: ok"
