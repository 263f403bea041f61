# Sourced by the learning benchmarks that run edgefed-sim: builds the release
# binaries they need, serialised with any other build on the machine
# (docs/DEVELOPING.md: one build at a time).
#   release_build BUILD_DIR TARGET...
locked() { if command -v flock >/dev/null; then flock /tmp/edgefed-build.lock "$@"; else "$@"; fi; }
release_build() {
  local build=$1
  shift
  [ -f "$build/CMakeCache.txt" ] ||
    locked cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DEDGEFED_SANITIZE=OFF -DEDGEFED_TESTS=OFF >/dev/null
  locked cmake --build "$build" -j2 --target "$@"
}
