#!/bin/sh
# bench/extract_baseline.py from the command line: a usage line and exit 2
# without arguments, exit 1 with the reason for a missing file, its figures
# for the shipped sample.
#   extract_baseline_test.sh <python3> <source dir>
set -u
py=$1
src=$2
fail() { echo "FAIL: $*"; exit 1; }

err=$("$py" "$src/bench/extract_baseline.py" 2>&1 >/dev/null)
rc=$?
[ $rc -eq 2 ] || fail "no argument: exit $rc, want 2 ($err)"
case $err in *usage:*) ;; *) fail "no argument: no usage line in: $err" ;; esac
case $err in *Traceback*) fail "no argument: a traceback: $err" ;; esac

err=$("$py" "$src/bench/extract_baseline.py" "$src/no/such/file.ndjson" 2>&1 >/dev/null)
rc=$?
[ $rc -eq 1 ] || fail "missing file: exit $rc, want 1 ($err)"
case $err in *"No such file"*) ;; *) fail "missing file: no reason in: $err" ;; esac

out=$("$py" "$src/bench/extract_baseline.py" "$src/samples/x-v2-sample.ndjson" 1 2>&1) || fail "sample: $out"
case $out in *"input: 3000 lines"*"interactions/pass"*) ;; *) fail "sample: unexpected output: $out" ;; esac
echo "extract_baseline.py command line ok"
