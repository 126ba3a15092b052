#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
#   scripts/test.sh                 all tests
#   scripts/test.sh -L unit         only one CTest label (unit, integration, deploy, fuzz, check)
#   scripts/test.sh -LE deploy      everything but the deployment tests
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${TLFLOW_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${TLFLOW_JOBS:-2}"
cd "$build"
ctest --output-on-failure "$@"
