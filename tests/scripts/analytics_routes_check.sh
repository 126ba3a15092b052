#!/bin/sh
# Runs analytics_routes_check.py with the first Python that imports networkx
# and igraph: python3 on PATH, else the distribution's. None: skipped (77).
#   analytics_routes_check.sh <tlflow> <sample.ndjson>
set -u
here=$(dirname "$0")
for py in python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import networkx, igraph' 2>/dev/null; then
    exec "$py" "$here/analytics_routes_check.py" "$@"
  fi
done
echo "skipped: no python3 imports networkx and igraph (scripts/install-deps.sh installs them)"
exit 77
