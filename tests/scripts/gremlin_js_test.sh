#!/bin/sh
# Drives the Gremlin test server with the official JavaScript driver (npm
# package "gremlin"), installed into a folder of the build directory.
#   gremlin_js_test.sh <install dir> <launcher> <js dir>
# Exit 77 (skipped) when node/npm are missing or the install fails.
set -u
dir=$1
launcher=$2
js=$3
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIPPED: node or npm is not installed"
  exit 77
fi
if [ ! -f "$dir/node_modules/gremlin/package.json" ]; then
  mkdir -p "$dir"
  if ! npm install --prefix "$dir" --no-audit --no-fund --loglevel=error gremlin@3.7 >"$dir/npm.log" 2>&1; then
    echo "SKIPPED: npm install gremlin failed (see $dir/npm.log)"
    exit 77
  fi
fi
NODE_PATH="$dir/node_modules" exec node "$js/driver_check.js" "$launcher"
