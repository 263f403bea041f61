#!/bin/sh
# Prints the Debian packages that hold the shared libraries the given
# executables load (one name a line, sorted): the run stage of the images
# installs exactly these, so it carries no -dev package and no library the
# binaries do not use. Fails if a library belongs to no package (a library
# built by hand would be missing from the image). Used by the build stage of
# Dockerfile.server and Dockerfile.agent; runs on any Debian with dpkg.
#   runtime-packages.sh BINARY...
set -eu
libs=$(mktemp)
pkgs=$(mktemp)
trap 'rm -f "$libs" "$pkgs"' EXIT
for bin in "$@"; do
  ldd "$bin" | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]*ld-linux/{print $1}' >>"$libs"
done
status=0
for lib in $(sort -u "$libs"); do
  # Debian 12 registers some libraries under /lib, others under /usr/lib and
  # by their versioned file name: try the path, its target, and the other root.
  real=$(readlink -f "$lib")
  found=
  for path in "$lib" "$real" "/usr$lib" "/usr$real" "${lib#/usr}" "${real#/usr}"; do
    if owner=$(dpkg-query -S "$path" 2>/dev/null); then
      found=$(echo "$owner" | head -1 | cut -d: -f1)
      break
    fi
  done
  if [ -z "$found" ]; then
    echo "runtime-packages: $lib belongs to no Debian package" >&2
    status=1
  else
    echo "$found" >>"$pkgs"
  fi
done
sort -u "$pkgs"
exit $status
