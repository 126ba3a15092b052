#!/usr/bin/env bash
# What group commit costs: POST /edges throughput with 1, 16 and 64
# concurrent clients, and `tlflow import` throughput, with the log in
# `--wal-sync=interval` (the old default: fdatasync by a timer) and `commit`
# (a write is answered after an fdatasync covering it), in one run
# (docs/memory-store.md, "Figures: group commit").
#
#   bench/wal_bench.sh [BUILD_DIR]                 (default: build)
#   DURATION=10 CONNS="1 16 64" POSTS=200000 bench/wal_bench.sh
#   WRITE_THREADS=64 IMPORT=0 bench/wal_bench.sh   (more concurrent writers per group)
#
# Writes run on the server's write pool (--write-threads, default 16): at
# most that many are in the store at once, which bounds how many writes one
# fdatasync can cover.
#
# The data directory is a fresh directory under TMPDIR (or /tmp): put TMPDIR
# on the disk whose fdatasync you want to measure. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
duration=${DURATION:-8}
conns=${CONNS:-1 16 64}
posts=${POSTS:-200000}
modes=${MODES:-interval commit}
write_threads=${WRITE_THREADS:-16}
run_import=${IMPORT:-1}

tlflow=$build/tlflow
import_bench=$build/bench/import_bench
for f in "$tlflow" "$import_bench"; do
  [[ -x $f ]] || { echo "missing $f: build first (cmake --build $build)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tlflow-wal-bench-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$1/status" && return 0
    sleep 0.05
  done
  echo "tlflow on port $1 did not answer" >&2
  exit 1
}

# Each request a new edge between two of 10,000 accounts (wrk's Lua: one
# random body per request, built in request()).
cat >"$work/post_edges.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local kinds = {"mention", "reply", "repost", "quote"}
request = function()
  local body = string.format('{"from":"u%d","to":"u%d","kind":"%s"}',
    math.random(10000), math.random(10000), kinds[math.random(4)])
  return wrk.format(nil, "/edges", nil, body)
end
LUA

# What one fdatasync of a small append costs on this disk right now: the
# floor of a lone writer's latency in commit mode.
python3 - "$work" <<'PY'
import os, sys, time
fd = os.open(os.path.join(sys.argv[1], "probe"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
lat = []
for _ in range(200):
    os.write(fd, b"x" * 64)
    t = time.perf_counter(); os.fdatasync(fd); lat.append(time.perf_counter() - t)
lat.sort()
print(f"fdatasync of a 64-byte append: median {lat[100]*1e3:.2f} ms, p90 {lat[180]*1e3:.2f} ms")
PY
printf '%-9s %-24s %12s %12s %10s\n' mode test "requests/s" "mean lat" "non-2xx"
for mode in $modes; do
  port=$(free_port)
  "$tlflow" --host 127.0.0.1 --port "$port" --data-dir "$work/data-$mode" --wal-sync "$mode" \
    --write-threads "$write_threads" --snapshot-interval 0 --log-level warn >"$work/tlflow-$mode.log" 2>&1 &
  pids+=($!)
  wait_http "$port"
  writes=0
  for c in $conns; do
    out=$(wrk -t1 -c"$c" -d"${duration}s" -s "$work/post_edges.lua" "http://127.0.0.1:$port/edges")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    lat=$(awk '/Latency/ {print $2; exit}' <<<"$out")
    bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    writes=$((writes + $(awk '/requests in/ {print $1}' <<<"$out")))
    printf '%-9s %-24s %12s %12s %10s\n' "$mode" "POST /edges, $c conn" "$rps" "$lat" "${bad:-0}"
  done
  syncs=$(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^tlflow_wal_syncs_total/ {print $2}')
  printf '%-9s %-24s %12s\n' "$mode" "fdatasyncs / writes" "${syncs:-0} / $writes"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  unset 'pids[-1]'
  [[ $run_import == 1 ]] || continue
  imp=$(TMPDIR="$work" TLFLOW_BENCH_NO_PYTHON=1 TLFLOW_WAL_SYNC=$mode "$import_bench" "$posts" samples/x-v2-sample.ndjson 2>/dev/null |
    awk '/^tlflow import/ {for (i = 1; i <= NF; i++) if ($i == "posts/s") print $(i-1)}')
  printf '%-9s %-24s %12s\n' "$mode" "import, posts/s" "$imp"
done
