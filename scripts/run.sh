#!/usr/bin/env bash
# Quick start: installs what is missing, builds tlflow and starts it with the
# embedded store, replaying the shipped sample corpus. Extra arguments go to
# tlflow (e.g. --port 9090, --ephemeral, --config FILE); PORT and the other
# TLFLOW_* variables count as usual. TLFLOW_BUILD_DIR: the build tree (build).
#
# It listens on 127.0.0.1 unless TLFLOW_HOST or --host says otherwise: a
# quick start is local, and on loopback tlflow needs no credentials (on any
# other address it would generate a token into the data directory and, with
# --ephemeral, refuse to start without TLFLOW_API_TOKEN or --no-auth).
#
# The banner "tlflow: http://HOST:PORT/status" (and the web view's address,
# http://HOST:PORT/, on the same line) is made from tlflow's own log
# line "listening on http://HOST:PORT", written once it has bound: it names
# where tlflow really listens, whichever of flag, environment or config file
# set the port (nothing here guesses it). A --log-level above info hides
# that line, and so the banner.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${TLFLOW_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${TLFLOW_JOBS:-2}" --target tlflow
export TLFLOW_HOST=${TLFLOW_HOST:-127.0.0.1}
sample=samples/x-v2-sample.ndjson
args=()
if [[ -f "$sample" ]]; then
  args+=(--source "file:$sample")
fi

# Copies tlflow's log to stderr, adding the banner after the listening line.
# It ignores Ctrl-C and SIGTERM so that tlflow's last lines, written while it
# shuts down, still get through; it ends when tlflow closes its stderr.
banner() {
  trap '' INT TERM
  local line host shown=0
  local listening='listening on http://(\[[^]]*\]|[^:/ ]+):([0-9]+)'
  while IFS= read -r line; do
    printf '%s\n' "$line" >&2
    if ((!shown)) && [[ $line =~ $listening ]]; then
      host=${BASH_REMATCH[1]}
      case $host in 0.0.0.0 | "[::]") host=localhost ;; esac
      printf 'tlflow: http://%s:%s/status  (the web view: http://%s:%s/; Ctrl-C to stop)\n' \
        "$host" "${BASH_REMATCH[2]}" "$host" "${BASH_REMATCH[2]}" >&2
      shown=1
    fi
  done
}
exec "$build/tlflow" "${args[@]}" "$@" 2> >(banner)
