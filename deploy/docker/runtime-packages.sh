#!/bin/sh
# Prints the Debian packages that hold the shared libraries the given
# executables load (one name a line, sorted): the run stage of the images
# installs exactly these, so it carries no -dev package and no library the
# binaries do not use. Fails if a library is not installed or belongs to no
# package (a library built by hand would be missing from the image). Used by
# the build stage of Dockerfile.server and Dockerfile.agent; runs on any
# Debian with dpkg and readelf.
#   runtime-packages.sh BINARY...
# The libraries are read from the ELF files (readelf: NEEDED and the
# interpreter, followed through the libraries like ldd), not by running
# ldd, so a binary cross-built for another architecture works too. Its
# libraries are looked up in that architecture's multiarch directories
# (libssl3:arm64 in /usr/lib/aarch64-linux-gnu) and then in the cross
# toolchain's (libc6-arm64-cross in /usr/aarch64-linux-gnu/lib); the names
# printed carry no architecture (libssl3, libc6), as the run stage installs
# natively on its own platform.
set -eu
export LC_ALL=C
todo=$(mktemp)
seen=$(mktemp)
pkgs=$(mktemp)
trap 'rm -f "$todo" "$seen" "$pkgs"' EXIT

# needed FILE: the sonames FILE loads and its interpreter's file name.
needed() {
  readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
  readelf -l "$1" | sed -n 's|.*Requesting program interpreter: .*/\([^/]*\)\]$|\1|p'
}
# triplet FILE: the Debian multiarch triplet of an ELF file.
triplet() {
  header=$(readelf -h "$1") || return 1
  case $(echo "$header" | sed -n 's/^ *Machine: *//p') in
    *X86-64) echo x86_64-linux-gnu ;;
    AArch64) echo aarch64-linux-gnu ;;
    ARM) if echo "$header" | grep -q 'hard-float ABI'; then echo arm-linux-gnueabihf; else echo arm-linux-gnueabi; fi ;;
    "Intel 80386") echo i386-linux-gnu ;;
    *) echo "runtime-packages: $1: unknown ELF machine" >&2; return 1 ;;
  esac
}

status=0
arch=
for bin in "$@"; do
  t=$(triplet "$bin")
  [ -z "$arch" ] || [ "$arch" = "$t" ] ||
    { echo "runtime-packages: $bin is $t, not $arch like the others" >&2; exit 1; }
  arch=$t
  needed "$bin" >>"$todo"
done

while [ -s "$todo" ]; do
  lib=$(head -1 "$todo")
  sed -i 1d "$todo"
  grep -qxF "$lib" "$seen" && continue
  echo "$lib" >>"$seen"
  file=
  for dir in "/lib/$arch" "/usr/lib/$arch" "/usr/$arch/lib"; do
    if [ -e "$dir/$lib" ]; then file=$dir/$lib; break; fi
  done
  if [ -z "$file" ]; then
    echo "runtime-packages: $lib ($arch) is not installed" >&2
    status=1
    continue
  fi
  needed "$file" >>"$todo"
  # Debian 12 registers some libraries under /lib, others under /usr/lib and
  # by their versioned file name: try the path, its target, and the other root.
  real=$(readlink -f "$file")
  found=
  for path in "$file" "$real" "/usr$file" "/usr$real" "${file#/usr}" "${real#/usr}"; do
    if owner=$(dpkg-query -S "$path" 2>/dev/null); then
      # "libssl3:arm64: /usr/lib/..." -> libssl3; libc6-arm64-cross -> libc6.
      found=$(echo "$owner" | head -1 | cut -d: -f1 | sed 's/-[a-z0-9]*-cross$//')
      break
    fi
  done
  if [ -z "$found" ]; then
    echo "runtime-packages: $file belongs to no Debian package" >&2
    status=1
  else
    echo "$found" >>"$pkgs"
  fi
done
sort -u "$pkgs"
exit $status
