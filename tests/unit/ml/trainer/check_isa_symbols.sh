#!/bin/sh
# Fails if an object file defines weak or unique symbols (inline functions,
# template instances, static locals the linker merges across objects) outside
# the namespaces given after the file; DW.ref.* (exception-personality
# pointers, identical in every object) are allowed.
obj=$1
shift
leaked=$(nm -C "$obj" | awk '$2 ~ /^[WVuv]$/ { $1 = ""; $2 = ""; print }' | grep -v -e '^ *DW\.ref\.')
for ns in "$@"; do
  leaked=$(printf '%s\n' "$leaked" | grep -v -F -e "$ns")
done
leaked=$(printf '%s\n' "$leaked" | grep -v '^ *$')
if [ -n "$leaked" ]; then
  echo "weak symbols outside $*:"
  printf '%s\n' "$leaked"
  exit 1
fi
echo "ok: every weak symbol of $obj is in $*"
