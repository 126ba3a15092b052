#!/usr/bin/env bash
# Quick start: installs what is missing, builds tlflow and starts it on
# port 8080 with the embedded store, replaying the shipped sample corpus.
# Extra arguments go to tlflow (e.g. --port 9090, --ephemeral).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${TLFLOW_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${TLFLOW_JOBS:-2}" --target tlflow
sample=samples/x-v2-sample.ndjson
args=()
if [[ -f "$sample" ]]; then
  args+=(--source "file:$sample")
fi
echo "tlflow: http://localhost:${PORT:-8080}/status  (Ctrl-C to stop)" >&2
exec "$build/tlflow" "${args[@]}" "$@"
