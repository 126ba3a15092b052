#!/usr/bin/env bash
# scripts/run.sh names where tlflow really listens: the port given by --port,
# by PORT, or by a --config file, in its banner, and /status answers there.
#   run_sh_test.sh <build dir>
# run.sh builds into <build dir> (TLFLOW_BUILD_DIR): already built, nothing
# is compiled again. tlflow listens on 127.0.0.1 only, --ephemeral.
set -uo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pid=
stop() {
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
  fi
}
trap 'stop; rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*"
  [[ -f "$work/err" ]] && sed 's/^/  | /' "$work/err"
  exit 1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# check <name> <port> <env>... -- <run.sh args>...
check() {
  local name=$1 port=$2
  shift 2
  local env=()
  while [[ $1 != -- ]]; do env+=("$1"); shift; done
  shift
  # Nothing of the caller's configuration leaks in.
  local unset=(-u PORT) v
  while IFS= read -r v; do unset+=(-u "$v"); done < <(compgen -e | grep '^TLFLOW_')
  env "${unset[@]}" TLFLOW_BUILD_DIR="$build" "${env[@]}" \
    "$src/scripts/run.sh" --host 127.0.0.1 --ephemeral --data-dir "$work/data" "$@" \
    >"$work/out" 2>"$work/err" &
  pid=$!
  local want="tlflow: http://127.0.0.1:$port/status" i
  # run.sh runs install-deps.sh and cmake first: up to a minute on a busy machine.
  for ((i = 0; i < 1200; i++)); do
    grep -qF "$want" "$work/err" && break
    kill -0 "$pid" 2>/dev/null || fail "$name: run.sh exited before its banner"
    sleep 0.1
  done
  grep -qF "$want" "$work/err" || fail "$name: no banner '$want'"
  if grep -q '^tlflow: http://' "$work/err" && [[ $(grep -c '^tlflow: http://' "$work/err") -ne 1 ]]; then
    fail "$name: more than one banner"
  fi
  local status
  status=$(curl -s -o "$work/status" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$port/status")
  [[ $status == 200 ]] || fail "$name: GET /status on port $port answered '$status'"
  stop
  # The banner filter relays tlflow's log to its end (it ignores the signal).
  for ((i = 0; i < 50; i++)); do
    grep -q 'main: stopped' "$work/err" && break
    sleep 0.1
  done
  grep -q 'main: stopped' "$work/err" || fail "$name: tlflow's shutdown log did not get through"
  echo "ok   $name: banner and /status on $port"
}

p=$(free_port)
check "--port" "$p" -- --port "$p"
p=$(free_port)
check "PORT" "$p" PORT="$p" --
p=$(free_port)
printf 'port = %s\n' "$p" >"$work/tlflow.conf"
check "--config" "$p" -- --config "$work/tlflow.conf"
echo "run.sh banner ok"
