#!/usr/bin/env bash
# ThreadSanitizer run of the concurrent parts: the Gremlin client, the
# GremlinStore (spool, drain thread), the pipeline and the analytics engine
# (background refresh, shared snapshots), as their unit tests and the
# Gremlin integration tests (test server on loopback).
#   scripts/tsan.sh            build (in build-tsan/) and run
#   TLFLOW_TSAN_BUILD_DIR=dir  another build directory
#   TLFLOW_JOBS=n              parallel compile jobs (default 2)
# Fails on any ThreadSanitizer report (halt_on_error: the first report ends
# the test binary with an error) or a failing test.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TLFLOW_TSAN_BUILD_DIR:-build-tsan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTLFLOW_ENABLE_TSAN=ON \
  -DTLFLOW_BUILD_BENCH=OFF -DTLFLOW_BUILD_FUZZ=OFF >/dev/null
cmake --build "$build" -j "${TLFLOW_JOBS:-2}" \
  --target tlflow tlflow_unit_gremlin tlflow_unit_pipeline tlflow_unit_analytics tlflow_integration_tests

tests='^(unit\.(graphson|gremlin|pipeline)_.*|unit\.analytics_slice_graph_test|integration\.(gremlin_client_test|gremlin_outage_test|gremlin_store_contract_test|tls_auth_test))$'
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
run() { ctest --test-dir "$build" -R "$tests" --output-on-failure --timeout 1200 >"$build/tsan.log" 2>&1; }

# Kernels with high-entropy ASLR (vm.mmap_rnd_bits > 28) place mappings
# where TSan does not expect them ("unexpected memory mapping"): run with
# ASLR off for this process tree then.
status=0
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ] && command -v setarch >/dev/null; then
  export -f run
  export build tests
  setarch "$(uname -m)" -R bash -c run || status=$?
else
  run || status=$?
fi
tail -n 30 "$build/tsan.log"
if grep -q "WARNING: ThreadSanitizer" "$build/tsan.log"; then
  echo "tsan.sh: ThreadSanitizer reported (see $build/tsan.log)"
  exit 1
fi
[ "$status" -eq 0 ] || { echo "tsan.sh: tests failed (see $build/tsan.log)"; exit 1; }
echo "tsan.sh: no report"
