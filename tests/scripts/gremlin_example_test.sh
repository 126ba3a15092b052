#!/bin/sh
# Runs docs/examples/gremlin_client.cpp against the Gremlin test server (with
# SASL) and checks what it printed.
#   gremlin_example_test.sh <launcher> <example>
set -u
launcher=$1
example=$2
tmp=$(mktemp -d)
trap 'exec 3>&-; wait; rm -rf "$tmp"' EXIT
mkfifo "$tmp/in"
"$launcher" --user reader --password 'pa:ss' <"$tmp/in" >"$tmp/port" &
exec 3>"$tmp/in" # the launcher runs until this closes
i=0
until grep -q '^PORT ' "$tmp/port"; do
  i=$((i + 1))
  [ $i -gt 100 ] && { echo "test server did not start"; exit 1; }
  sleep 0.1
done
port=$(sed -n 's/^PORT //p' "$tmp/port")
"$example" "ws://127.0.0.1:$port/gremlin" reader 'pa:ss' --allow-plaintext-auth >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ $rc -eq 0 ] || { echo "example exited with $rc"; exit 1; }
for want in '(unchanged)' '200 results, sum 19900, status 200 after 1 attempt(s)' 'accounts: 0' 'bad script: '; do
  grep -qF "$want" "$tmp/out" || { echo "missing: $want"; exit 1; }
done
echo "example ok"
