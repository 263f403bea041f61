#!/usr/bin/env bash
# Cross-builds edgefed for an ARM target with Debian's cross toolchain
# (docs/cross-build.md): installs what it needs (deploy/install-deps.sh
# --cross ARCH, as root), configures with cmake/toolchains/, builds.
#   usage: deploy/build-cross.sh arm64|armhf [--build DIR] [--server] [--tests]
#                                [--build-type TYPE] [--no-install]
#     --build DIR       build directory (default: build-ARCH at the repository root)
#     --server          also build edgefed-server (default: the agent only)
#     --tests           also build the unit tests of what it builds; run them
#                       under qemu-user with: ctest --test-dir DIR -L unit
#     --build-type T    CMake build type (default RelWithDebInfo, as CI's host build)
#     --no-install      do not run install-deps.sh (the prefix must exist)
#     --cmake-arg ARG   one more argument for the configure step (repeatable)
# The agent is DIR/agent/edgefed-agent, the server DIR/server/edgefed-server
# (unstripped; aarch64-linux-gnu-strip / arm-linux-gnueabihf-strip).
# Environment: EDGEFED_CROSS_ROOT (target libraries, default
# /opt/edgefed/cross/ARCH), EDGEFED_BUILD_JOBS (default: the core count).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '5,13p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
arch=$1; shift
case "$arch" in
  arm64) toolchain=aarch64-linux-gnu ;;
  armhf) toolchain=arm-linux-gnueabihf ;;
  -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
  *) echo "build-cross: unknown architecture '$arch' (arm64, armhf)" >&2; exit 2 ;;
esac
build="$top/build-$arch"
server=0
tests=0
install=1
build_type=RelWithDebInfo
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
    --server) server=1; shift ;;
    --tests) tests=1; shift ;;
    --build-type) [ $# -ge 2 ] || usage; build_type=$2; shift 2 ;;
    --no-install) install=0; shift ;;
    --cmake-arg) [ $# -ge 2 ] || usage; extra+=("$2"); shift 2 ;;
    --cmake-arg=*) extra+=("${1#--cmake-arg=}"); shift ;;
    *) echo "build-cross: unknown option $1" >&2; usage ;;
  esac
done

if [ "$install" = 1 ]; then
  if [ "$(id -u)" -eq 0 ]; then "$top/deploy/install-deps.sh" --cross "$arch"
  else sudo "$top/deploy/install-deps.sh" --cross "$arch"; fi
fi

locked() {
  if command -v flock >/dev/null 2>&1; then flock /tmp/edgefed-build.lock "$@"; else "$@"; fi
}
agent_only=ON
[ "$server" = 1 ] && agent_only=OFF
tests_on=OFF
[ "$tests" = 1 ] && tests_on=ON
targets=(edgefed-agent)
[ "$server" = 1 ] && targets+=(edgefed-server)
# The test executables build with "all"; without --tests that is the binaries.
locked cmake -S "$top" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$top/cmake/toolchains/$toolchain.cmake" \
  -DCMAKE_BUILD_TYPE="$build_type" -DEDGEFED_AGENT_ONLY="$agent_only" -DEDGEFED_TESTS="$tests_on" \
  -DEDGEFED_BENCHMARKS=OFF -DEDGEFED_SANITIZE=OFF ${extra[@]+"${extra[@]}"} >/dev/null
if [ "$tests" = 1 ]; then
  locked cmake --build "$build" -j"${EDGEFED_BUILD_JOBS:-$(nproc)}"
else
  locked cmake --build "$build" -j"${EDGEFED_BUILD_JOBS:-$(nproc)}" --target "${targets[@]}"
fi
for t in "${targets[@]}"; do
  bin=$(find "$build" -name "$t" -type f -perm -u+x | head -1)
  echo "build-cross: $arch $t: $bin"
done
