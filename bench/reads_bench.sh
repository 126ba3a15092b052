#!/usr/bin/env bash
# Latency of cheap requests beside expensive reads, with wrk, on a graph of
# ~600k edges (the graph of tests/integration/expensive_reads_test.cpp).
# Not a test: it prints figures (docs/memory-store.md, "Reads").
#
#   bench/reads_bench.sh [BUILD_DIR]        (default: build)
#   ACCOUNTS=100000 DURATION=5 bench/reads_bench.sh
#
# 1. Writes two disjoint components of ACCOUNTS accounts as X v2 posts
#    (every account mentions its component's hub and two accounts drawn
#    from a power law; half have one of 200 locations), loads them with
#    `tlflow import`, starts `tlflow --path-budget 20000 --wal-sync interval`
#    on that data directory and adds 10 `link` edges (a rare kind).
# 2. p50 / p99 of GET /status and POST /edges (one connection each), alone
#    and while 8 connections run worst-case path searches (max_depth=32
#    between the components: every one ends 422 too_expensive).
# 3. p50 / p99 of a hub's neighbour page, GET /flows?limit=20 and
#    GET /edges?kind=link, one connection.
# Run it with an older build's directory to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
accounts=${ACCOUNTS:-100000}
duration=${DURATION:-5}
tlflow=$build/tlflow
[[ -x $tlflow ]] || { echo "missing $tlflow: build first (cmake --build $build --target tlflow)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tlflow-reads-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

python3 - "$accounts" "$work/posts.ndjson" <<'EOF'
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
random.seed(42)
def aid(c, i): return str(c * 10000000 + 1000000 + i)
def user(c, i):
    u = '{"id":"%s","username":"u%s"' % (aid(c, i), aid(c, i))
    if i % 2 == 0: u += ',"location":"City %d"' % (i % 200)
    return u + '}'
post = 0
with open(path, "w") as out:
    for c in (1, 2):
        for i in range(1, n):
            ms = [user(c, 0)]
            for _ in range(2):
                t = 1 + int(random.random() ** 3 * (n - 1))
                if t == i: t = t % (n - 1) + 1
                ms.append(user(c, t))
            post += 1
            out.write('{"data":{"id":"%d","author_id":"%s","created_at":"2026-12-01T00:00:00.000Z",'
                      '"text":"hi","entities":{"mentions":[%s]}},"includes":{"users":[%s]}}\n'
                      % (900000000 + post, aid(c, i), ",".join(ms), user(c, i)))
EOF
start=$(date +%s.%N)
"$tlflow" import "$work/posts.ndjson" --data-dir "$work/data" >/dev/null 2>&1
echo "import: $(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tlflow" --data-dir "$work/data" --host 127.0.0.1 --port "$port" --path-budget 20000 \
  --wal-sync interval --log-level warn >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do curl -fs -o /dev/null "http://127.0.0.1:$port/status" && break; sleep 0.1; done
base="http://127.0.0.1:$port"
echo "graph: $(curl -fs "$base/status" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["vertices"], "vertices,", d["edges"], "edges")')"
for i in $(seq 0 9); do
  curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d "{\"from\":\"twitter:2$((1000000 + accounts - 1 - i))\",\"to\":\"twitter:2$((1000001 + i))\",\"kind\":\"link\"}" \
    "$base/edges"
done

cat >"$work/post.lua" <<'EOF'
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/edges", {["Content-Type"] = "application/json"},
                    '{"from":"twitter:bench' .. n .. '","to":"twitter:11000001"}')
end
EOF
cat >"$work/paths.lua" <<EOF
math.randomseed(7)
request = function()
  local a = 11000001 + math.random(0, $accounts - 2)
  local b = 21000001 + math.random(0, $accounts - 2)
  return wrk.format("GET", "/paths/twitter:" .. a .. "/twitter:" .. b .. "?max_depth=32")
end
EOF

# "p50 p99" in ms of one wrk run.
lat() { # duration url [script]
  local args=(-t1 -c1 -d"$1"s --latency)
  [[ $# -ge 3 ]] && args+=(-s "$3")
  wrk "${args[@]}" "$2" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /Requests\/sec/ { rps = $2 }
    END { printf "p50 %.2f ms, p99 %.2f ms (%s req/s)", p50, p99, rps }'
}

echo "alone:"
echo "  GET /status       $(lat "$duration" "$base/status")"
echo "  POST /edges       $(lat "$duration" "$base/edges" "$work/post.lua")"

wrk -t2 -c8 -d"$((4 * duration + 10))"s -s "$work/paths.lua" "$base" >"$work/paths.txt" 2>&1 &
pids+=($!)
sleep 2
echo "with 8 connections of worst-case path searches:"
echo "  GET /status       $(lat "$duration" "$base/status")"
echo "  POST /edges       $(lat "$duration" "$base/edges" "$work/post.lua")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/paths/twitter:11000005/twitter:21000005?max_depth=32")
echo "  a path search between the components answers $code"
kill "${pids[-1]}" 2>/dev/null || true
wait "${pids[-1]}" 2>/dev/null || true

echo "reads (one connection):"
echo "  hub neighbours    $(lat 3 "$base/vertices/twitter:11000000/neighbors?limit=100")"
echo "  /flows?limit=20   $(lat 3 "$base/flows?limit=20")"
echo "  /edges?kind=link  $(lat 3 "$base/edges?kind=link&limit=100")"
