#!/usr/bin/env bash
# promtool check config / check rules on deploy/prometheus. The TLS job names
# certificate files relative to the config: stand-ins are made in a copy.
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src"/*.yml "$tmp"/
mkdir "$tmp/edgefed"
touch "$tmp/edgefed/ca.pem" "$tmp/edgefed/prometheus.pem" "$tmp/edgefed/prometheus.key"
promtool check config "$tmp/prometheus.yml"
promtool check rules "$src"/edgefed-alerts.yml
