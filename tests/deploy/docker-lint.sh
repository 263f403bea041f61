#!/usr/bin/env bash
# The Dockerfiles cannot be built here (no Docker engine in CI): they are
# linted with two real linters from npm (dockerfile-utils, the validator of
# the VS Code Docker language service, and dockerfilelint), both of which must
# report nothing, and must both report the broken fixture. Then static checks
# tie the Dockerfiles to the project: every COPY source exists and passes
# .dockerignore, the entrypoints are the CMake targets, the run stage is
# non-root on debian:12-slim, the exposed ports are the manifests' ports, the
# multi-arch agent image's platforms are those the DaemonSet's node affinity
# admits, and runtime-packages.sh (the run stage's package list) works on a
# real binary.
#   docker-lint.sh [SERVER_BINARY AGENT_BINARY]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_node_modules
lint1() { node "$here/node_modules/dockerfile-utils/bin/dockerfile-utils" lint "$1"; }
# dockerfilelint 1.8 predates FROM's --platform flag and reads it as the image
# (then "missing tag"): it gets the file with the flag taken out, which
# dockerfile-utils lints as written.
lint2() {
  local copy rc=0
  copy="$(mktempdir)/$(basename "$1")"
  sed -E 's/^(FROM[[:space:]]+)--platform=[^[:space:]]+[[:space:]]+/\1/' "$1" >"$copy"
  node "$here/node_modules/dockerfilelint/bin/dockerfilelint" "$copy" || rc=$?
  rm -rf "$(dirname "$copy")"
  return $rc
}

for f in "$top"/deploy/docker/Dockerfile.*; do
  name=$(basename "$f")
  out=$(lint1 "$f" 2>&1) || fail "dockerfile-utils lint $name: $out"
  [ -z "$out" ] || fail "dockerfile-utils lint $name: $out"
  out=$(lint2 "$f" 2>&1) || fail "dockerfilelint $name: $out"
  grep -q 'Issues: None found' <<<"$out" || fail "dockerfilelint $name: $out"
  echo "ok lint $name (dockerfile-utils, dockerfilelint)"
done
broken="$here/fixtures/Dockerfile.broken"
if lint1 "$broken" >/dev/null 2>&1; then fail "dockerfile-utils accepted the broken fixture"; fi
if lint2 "$broken" >/dev/null 2>&1; then fail "dockerfilelint accepted the broken fixture"; fi
echo "ok both linters refuse fixtures/Dockerfile.broken"

# Static checks.
for role in server agent; do
  f="$top/deploy/docker/Dockerfile.$role"
  [ "$(grep -cE '^FROM (--platform=\$BUILDPLATFORM )?debian:12-slim( |$)' "$f")" -eq 2 ] ||
    fail "Dockerfile.$role: two stages FROM debian:12-slim"
  # The run stage is the target platform's (no --platform): a multi-arch
  # build gets an arm64 run stage for linux/arm64.
  [ "$(grep '^FROM ' "$f" | tail -1)" = "FROM debian:12-slim" ] ||
    fail "Dockerfile.$role: the run stage must be FROM debian:12-slim"
  grep -q '^USER 10001:10001$' "$f" || fail "Dockerfile.$role: run stage must be USER 10001:10001"
  grep -q "^ENTRYPOINT \[\"/usr/local/bin/edgefed-$role\"\]" "$f" || fail "Dockerfile.$role: entrypoint"
  grep -q -- "--target edgefed-$role" "$f" || fail "Dockerfile.$role: builds target edgefed-$role"
  grep -q "add_executable(edgefed-$role " "$top/$role/CMakeLists.txt" || fail "no CMake target edgefed-$role"
  # COPY sources exist and are not excluded by .dockerignore (which lists
  # what is sent with "!" lines after a "*").
  while read -r src; do
    [ -e "$top/$src" ] || fail "Dockerfile.$role: COPY $src: no such path"
    grep -qxF "!${src%/}/" "$top/.dockerignore" || grep -qxF "!${src%/}" "$top/.dockerignore" ||
      fail "Dockerfile.$role: COPY $src is excluded by .dockerignore"
  done < <(awk '$1=="COPY" && $2 !~ /^--from/ {for (i=2;i<NF;i++) print $i}' "$f")
  # The sources CMake needs at configure time are all copied.
  for d in common ml server agent sim; do grep -q "^COPY $d/ $d/" "$f" || fail "Dockerfile.$role: COPY $d/"; done
done
for p in 8443 9464; do
  grep -q "^EXPOSE .*\b$p\b" "$top/deploy/docker/Dockerfile.server" || fail "Dockerfile.server: EXPOSE $p"
  grep -rq "containerPort: $p" "$top/k3s/base" || fail "k3s: no containerPort $p as in Dockerfile.server"
done
grep -q "EDGEFED_STATE_DIR=/var/lib/edgefed-agent" "$top/deploy/docker/Dockerfile.agent" &&
  grep -q "mountPath: /var/lib/edgefed-agent" "$top/k3s/base/agent-daemonset.yaml" ||
  fail "agent state directory differs between Dockerfile.agent and the DaemonSet"
# The agent image's platforms (the buildx line in its header), the base
# DaemonSet's node affinity and check-manifests.cjs name the same
# architectures (as nodes label them: linux/arm/v7 is "arm").
agent_df="$top/deploy/docker/Dockerfile.agent"
image_arches=$(sed -n 's/^#.*docker buildx build --platform \([^ ]*\).*/\1/p' "$agent_df" | head -1 |
  tr ',' '\n' | sed 's#^linux/##; s#/.*##' | sort | xargs)
[ -n "$image_arches" ] || fail "Dockerfile.agent: no 'docker buildx build --platform ...' line in its header"
affinity_arches=$(awk '/key: kubernetes.io\/arch/ {f = 1} f && /values:/ {print; exit}' "$top/k3s/base/agent-daemonset.yaml" |
  grep -o '"[a-z0-9]*"' | tr -d '"' | sort | xargs)
checked_arches=$(sed -n 's/^const AGENT_IMAGE_ARCHES = \[\(.*\)\];/\1/p' "$here/check-manifests.cjs" |
  grep -o "'[a-z0-9]*'" | tr -d "'" | sort | xargs)
[ "$image_arches" = "$affinity_arches" ] && [ "$image_arches" = "$checked_arches" ] ||
  fail "agent platforms differ: Dockerfile.agent ($image_arches), base DaemonSet affinity ($affinity_arches), check-manifests.cjs ($checked_arches)"
grep -q '^FROM --platform=\$BUILDPLATFORM debian:12-slim AS build$' "$agent_df" && grep -q '^ARG TARGETARCH$' "$agent_df" ||
  fail "Dockerfile.agent: the build stage runs on \$BUILDPLATFORM and builds for TARGETARCH"
for t in $(sed -n 's/.*triplet=\([a-z0-9_-][a-z0-9_-]*\) ;;.*/\1/p' "$agent_df"); do
  [ -f "$top/cmake/toolchains/$t.cmake" ] || fail "Dockerfile.agent: no cmake/toolchains/$t.cmake"
done
echo "ok static checks (stages, user, entrypoints, COPY sources, ports, state directory, agent platforms: $image_arches)"

# The build stage's sources suffice: configure (as the Dockerfile does) a tree
# holding only what its COPY lines bring in, so a new top-level directory the
# build needs cannot be forgotten in the Dockerfiles or .dockerignore.
for role in server agent; do
  f="$top/deploy/docker/Dockerfile.$role"
  ctx="$(mktempdir)"
  while read -r src dst; do
    mkdir -p "$ctx/src/$(dirname "${dst%/}")"
    cp -r "$top/$src" "$ctx/src/${dst%/}"
  done < <(awk '$1=="COPY" && $2 !~ /^--from/ && $3 !~ /^\/usr/ {print $2, ($3=="./" ? $2 : $3)}' "$f")
  flags=$(sed -n 's/.*\(-DCMAKE_BUILD_TYPE=[A-Za-z]*\).*/\1/p' "$f")
  flags="$flags $(tr ' ' '\n' <"$f" | grep -E '^-DEDGEFED_[A-Z_]+=(ON|OFF)$' | tr '\n' ' ')"
  # shellcheck disable=SC2086
  cmake -S "$ctx/src" -B "$ctx/build" $flags >"$ctx/log" 2>&1 ||
    { rm -rf "$ctx"; fail "Dockerfile.$role: cmake configure of the copied sources fails: $(tail -5 "$ctx/log")"; }
  grep -qs "edgefed-$role" "$ctx/build/Makefile" "$ctx/build/build.ninja" || { rm -rf "$ctx"; fail "Dockerfile.$role: no target edgefed-$role"; }
  rm -rf "$ctx"
  echo "ok Dockerfile.$role: its COPY set configures with its flags ($flags)"
done

# The run stage installs what runtime-packages.sh prints for the binaries.
if [ $# -ge 2 ]; then
  for bin in "$@"; do
    pkgs=$("$top/deploy/docker/runtime-packages.sh" "$bin") || fail "runtime-packages.sh $bin"
    grep -q '^libc6$' <<<"$pkgs" || fail "runtime-packages.sh $bin: libc6 missing: $pkgs"
    if grep -q -- '-dev$' <<<"$pkgs"; then fail "runtime-packages.sh $bin: a -dev package: $pkgs"; fi
    echo "ok run-stage packages of $(basename "$bin"): $(tr '\n' ' ' <<<"$pkgs")"
  done
else
  echo "note: binaries not built; runtime-packages.sh checked on no binary"
fi
echo "not exercised here: docker build and docker run (no Docker engine)"
