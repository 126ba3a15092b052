#!/bin/sh
# Drives the Gremlin test server with the official JavaScript driver (npm
# package "gremlin", pinned by tests/support/js/package-lock.json and
# installed into tests/support/js/node_modules by scripts/install-deps.sh).
#   gremlin_js_test.sh <launcher> <js dir>
# Installs nothing: exit 77 (skipped) when node or the driver is missing.
set -u
launcher=$1
js=$2
if ! command -v node >/dev/null 2>&1; then
  echo "SKIPPED: node is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
if [ ! -f "$js/node_modules/gremlin/package.json" ]; then
  echo "SKIPPED: the gremlin driver is not in $js/node_modules (scripts/install-deps.sh installs it)"
  exit 77
fi
exec node "$js/driver_check.js" "$launcher"
