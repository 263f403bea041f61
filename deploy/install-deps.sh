#!/usr/bin/env bash
# Installs every Debian package edgefed needs to build, test and run its demo.
# Idempotent: packages already present are skipped, so re-running is cheap.
#   install-deps.sh                  the host build, tests and demo
#   install-deps.sh --cross ARCH     what a cross build for ARCH (arm64, armhf)
#                                    needs: Debian's cross toolchain, qemu-user,
#                                    and the target's libraries (below)
# Never removes a host package (apt-get --no-remove).
set -euo pipefail

cross=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cross) [ $# -ge 2 ] || { echo "install-deps: --cross needs an architecture (arm64, armhf)" >&2; exit 2; }
             cross=$2; shift 2 ;;
    --cross=*) cross=${1#--cross=}; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

# apt-get update, retried: a mirror in the middle of a sync answers with an
# index of the wrong size for a minute (seen for bookworm-security armhf).
apt_update() {
  local i
  for i in 1 2 3; do
    apt-get update -q && return 0
    sleep $((i * 5))
  done
  echo "install-deps: apt-get update kept failing; going on with the indexes it has" >&2
}

have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if [ -n "$cross" ]; then
  # The target's libraries are unpacked from Debian's packages into a
  # private prefix (EDGEFED_CROSS_ROOT, default /opt/edgefed/cross/ARCH)
  # instead of being installed as multiarch packages: a Multi-Arch: same
  # library must have the same version for every architecture, and the
  # host's libssl3 or linux-libc-dev is often a point release ahead of (or
  # behind) the target's in the mirror, so apt would refuse or want to
  # change host packages. prometheus-cpp-dev is not co-installable at all
  # (installing it for arm64 removes the host's). The prefix holds headers
  # and libraries only; the C library comes with the cross toolchain
  # (/usr/<triplet>), and cmake/toolchains/*.cmake points at both.
  case "$cross" in
    arm64) triplet=aarch64-linux-gnu ;;
    armhf) triplet=arm-linux-gnueabihf ;;
    *) echo "install-deps: unknown cross architecture '$cross' (arm64, armhf)" >&2; exit 2 ;;
  esac
  [ "$(id -u)" -eq 0 ] || { echo "install-deps: --cross installs packages; run as root" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  host_pkgs=(build-essential cmake pkg-config ca-certificates libboost-dev nlohmann-json3-dev
             libeigen3-dev catch2 "crossbuild-essential-$cross" qemu-user binutils)
  missing=()
  for p in "${host_pkgs[@]}"; do have "$p" || missing+=("$p"); done
  # The target's package index: dpkg must know the architecture.
  if ! dpkg --print-foreign-architectures | grep -qx "$cross"; then
    dpkg --add-architecture "$cross"
    apt_update
  elif [ "${#missing[@]}" -gt 0 ]; then
    apt_update
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get install -y -q --no-install-recommends --no-remove "${missing[@]}"
  fi
  root=${EDGEFED_CROSS_ROOT:-/opt/edgefed/cross/$cross}
  target_pkgs=(libssl-dev libssl3 libsqlite3-dev libsqlite3-0 zlib1g-dev zlib1g
               prometheus-cpp-dev libprometheus-cpp-core1.0)
  # Idempotent: the prefix records the versions it was unpacked from.
  want=""
  for p in "${target_pkgs[@]}"; do
    v=$(apt-cache policy "$p:$cross" | awk '/Candidate:/{print $2}')
    if [ -z "$v" ] || [ "$v" = "(none)" ]; then
      apt_update
      v=$(apt-cache policy "$p:$cross" | awk '/Candidate:/{print $2}')
    fi
    [ -n "$v" ] && [ "$v" != "(none)" ] || { echo "install-deps: no $p:$cross in the package index" >&2; exit 1; }
    want+="$p=$v"$'\n'
  done
  if [ -f "$root/.edgefed-packages" ] && [ "$(cat "$root/.edgefed-packages")" = "$(printf '%s' "$want")" ]; then
    echo "install-deps: $cross cross toolchain and libraries ok ($root)"
    exit 0
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && chmod 0777 . && for p in "${target_pkgs[@]}"; do
     v=$(printf '%s' "$want" | awk -F= -v p="$p" '$1 == p {print $2}')
     apt-get download -q "$p:$cross=$v" >/dev/null
   done)
  rm -rf "$root"
  mkdir -p "$root"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$root"; done
  # Absolute symbolic links inside the packages (libfoo.so -> /lib/...) would
  # point at the host's files: make them relative to the prefix.
  find "$root" -type l -lname '/*' | while read -r link; do
    target=$(readlink "$link")
    ln -sfn "$root$target" "$link"
  done
  printf '%s' "$want" >"$root/.edgefed-packages"
  echo "install-deps: $cross cross toolchain and libraries ok ($root)"
  exit 0
fi

packages=(
  build-essential cmake ninja-build lld pkg-config git ca-certificates
  libboost-dev libboost-program-options-dev
  libssl-dev openssl zlib1g-dev
  nlohmann-json3-dev libeigen3-dev libsqlite3-dev sqlite3
  libpq-dev postgresql
  prometheus-cpp-dev libxxhash-dev catch2
  dataset-fashion-mnist python3-vega-datasets
  clang libclang-rt-14-dev
  python3 python3-numpy python3-onnx
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
  if ! have "$p"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_update
  apt-get install -y -q --no-install-recommends --no-remove "${missing[@]}"
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
# ONNX Runtime (CPU, linux x64 and arm64 binaries inside the package) for the
# ONNX export tests, into tests/onnx/node_modules. --ignore-scripts: its
# install script only fetches optional CUDA binaries from outside the registry.
if [ ! -d "$top/tests/onnx/node_modules/onnxruntime-node" ]; then
  (cd "$top/tests/onnx" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
echo "install-deps: ok"
