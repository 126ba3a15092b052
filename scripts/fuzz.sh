#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cpp) with clang and runs each.
#   scripts/fuzz.sh                      every target, 60 s each
#   scripts/fuzz.sh 10                   every target, 10 s each (CI)
#   scripts/fuzz.sh 600 extract_x_v2_fuzz
# Seeds come from fuzz/<target>.seeds/ when present; the growing corpus is
# kept in $build/corpus/<target>/ and crashes in $build/crashes/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
build=${TLFLOW_FUZZ_BUILD_DIR:-build-fuzz}
if ! command -v "${CXX:-clang++}" >/dev/null; then
  echo "SKIPPED: ${CXX:-clang++} not found (scripts/install-deps.sh installs clang)"
  exit 77
fi
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTLFLOW_BUILD_FUZZ=ON -DTLFLOW_BUILD_TESTS=OFF -DTLFLOW_BUILD_BENCH=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
cmake --build "$build" -j "${TLFLOW_JOBS:-2}" --target "${targets[@]}"
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  seeds=()
  [ -d "fuzz/$t.seeds" ] && seeds=("fuzz/$t.seeds")
  echo "== $t: ${secs}s"
  if ! "$build/fuzz/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
       -rss_limit_mb=2048 -artifact_prefix="$crashes/" "$corpus" "${seeds[@]}" \
       2> "$build/$t.log"; then
    echo "!! $t failed; see $build/$t.log and $crashes/"
    status=1
  fi
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE" \
    "$build/$t.log" || true
done
exit $status
