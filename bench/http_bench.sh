#!/usr/bin/env bash
# HTTP throughput of tlflow beside a minimal Boost.Beast server (the ceiling
# for this machine), with wrk, in one run: the HTTP throughput targets of
# docs/api.md, "HTTP throughput".
#
#   bench/http_bench.sh [BUILD_DIR]      (default: build)
#   DURATION=6 CONNS="16 64" bench/http_bench.sh
#
# Starts tlflow (--ephemeral, loopback), loads a generated graph through the
# HTTP API (POST /edges, keep-alive), starts bench/http_reference_server, then
# runs `wrk -t1 -cN` on GET /vertices/count, GET /paths/a/b and the reference
# server, and prints requests/s, mean and 99th-percentile latency and the
# ratio to the reference. Extra rows: one connection (latency).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
duration=${DURATION:-6}
conns=${CONNS:-16 64}
vertices=${VERTICES:-2000}
edges=${EDGES:-10000}

tlflow=$build/tlflow
reference=$build/bench/http_reference_server
for f in "$tlflow" "$reference"; do
  [[ -x $f ]] || { echo "missing $f: build first (cmake --build $build)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/install-deps.sh)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_http() {
  for _ in $(seq 1 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$1$2" && return 0
    sleep 0.05
  done
  echo "server on port $1 did not answer" >&2
  exit 1
}

# Sets $port. Runs in this shell (not in $(...)), so that the server's
# stdout does not keep a command substitution waiting and $pids is kept.
start_tlflow() { # threads
  port=$(free_port)
  "$tlflow" --ephemeral --host 127.0.0.1 --port "$port" --http-threads "$1" --log-level warn \
    >/dev/null 2>&1 &
  pids+=($!)
  wait_http "$port" /status
}

load_graph() { # port
  python3 - "$1" "$vertices" "$edges" <<'EOF'
import http.client, json, random, sys, time
port, nv, ne = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
random.seed(7)
c = http.client.HTTPConnection("127.0.0.1", port)
def post(body):
    c.request("POST", "/edges", json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status in (200, 201), r.status
t = time.time()
# a ... b is 4 hops; the rest is random.
for f, to in [("a", "v1"), ("v1", "v2"), ("v2", "v3"), ("v3", "b")]:
    post({"from": f, "to": to})
for _ in range(ne):
    post({"from": f"v{random.randrange(nv)}", "to": f"v{random.randrange(nv)}",
          "kind": random.choice(["mention", "reply", "repost", "quote"])})
print(f"loaded {nv} vertices / {ne} edges via HTTP in {time.time()-t:.1f} s", file=sys.stderr)
EOF
}

# wrk output -> "req_per_s mean_latency p99_latency"
run_wrk() { # conns url
  local out
  out=$(wrk -t1 -c"$1" -d"${duration}s" --latency "$2")
  local rps lat p99
  rps=$(awk '/Requests\/sec:/ {print $2}' <<<"$out")
  lat=$(awk '/^ +Latency / {print $2; exit}' <<<"$out")
  p99=$(awk '/^ +99%/ {print $2; exit}' <<<"$out")
  echo "$rps $lat $p99"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
start_tlflow 0
load_graph "$port"
ref_port=$(free_port)
"$reference" "$ref_port" 2 >/dev/null 2>&1 &
pids+=($!)
wait_http "$ref_port" /

row() { # label conns rps lat p99 ratio
  printf '%-30s %6s %12.0f %10s %10s %9s\n' "$@"
}
printf '\n%-30s %6s %12s %10s %10s %9s\n' "target" "conns" "requests/s" "mean" "p99" "vs Beast"
printf '%-30s %6s %12s %10s %10s %9s\n' "------------------------------" "-----" "----------" "-------" "-------" "--------"
for c in $conns; do
  read -r ref_rps ref_lat ref_p99 < <(run_wrk "$c" "http://127.0.0.1:$ref_port/")
  row "Beast reference (2 threads)" "$c" "$ref_rps" "$ref_lat" "$ref_p99" "1.00"
  for path in /vertices/count /paths/a/b; do
    read -r rps lat p99 < <(run_wrk "$c" "http://127.0.0.1:$port$path")
    row "tlflow GET $path" "$c" "$rps" "$lat" "$p99" \
      "$(awk -v a="$rps" -v b="$ref_rps" 'BEGIN{printf "%.2f", a/b}')"
  done
done

# Latency with one connection.
read -r ref1 ref1_lat ref1_p99 < <(run_wrk 1 "http://127.0.0.1:$ref_port/")
read -r t1 t1_lat t1_p99 < <(run_wrk 1 "http://127.0.0.1:$port/vertices/count")
row "Beast reference" 1 "$ref1" "$ref1_lat" "$ref1_p99" "1.00"
row "tlflow GET /vertices/count" 1 "$t1" "$t1_lat" "$t1_p99" \
  "$(awk -v a="$t1" -v b="$ref1" 'BEGIN{printf "%.2f", a/b}')"
