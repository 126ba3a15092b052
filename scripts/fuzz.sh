#!/usr/bin/env bash
# Builds every libFuzzer target (fuzz/*_fuzz.cpp) with clang and runs each
# for N seconds (default 60). Findings land in build-fuzz/findings/<target>/.
#   scripts/fuzz.sh [seconds] [target-name-filter]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
filter=${2:-}
build=${TLFLOW_FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTLFLOW_BUILD_FUZZ=ON -DTLFLOW_BUILD_TESTS=OFF -DTLFLOW_BUILD_BENCH=OFF \
  -DTLFLOW_ENABLE_ASAN=ON -DTLFLOW_ENABLE_UBSAN=ON >/dev/null
targets=()
for src in fuzz/*_fuzz.cpp; do
  name=$(basename "$src" .cpp)
  if [[ -n "$filter" && "$name" != *"$filter"* ]]; then continue; fi
  targets+=("$name")
done
cmake --build "$build" -j "${TLFLOW_JOBS:-2}" --target "${targets[@]}"
status=0
for name in "${targets[@]}"; do
  corpus="$build/corpus/$name"
  findings="$build/findings/$name"
  mkdir -p "$corpus" "$findings"
  echo "== $name for ${secs}s"
  if ! "$build/fuzz/$name" -max_total_time="$secs" -artifact_prefix="$findings/" "$corpus"; then
    echo "!! $name found a failure: see $findings" >&2
    status=1
  fi
done
exit $status
