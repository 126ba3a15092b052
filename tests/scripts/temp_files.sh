#!/bin/sh
# CTest's temp-file hygiene (tests/scripts/hygiene.cmake). Every test runs
# with TMPDIR=<root>/<test name>:
#   temp_files.sh setup <root> <test>...   empties <root>, makes one empty dir per test
#   temp_files.sh check <root>             fails listing what any test left behind
# What a test left is kept until the next setup, to be looked at.
set -u
mode=$1
root=$2
shift 2
case $mode in
  setup)
    rm -rf "$root" || exit 1
    mkdir -p "$root" || exit 1
    for t in "$@"; do mkdir "$root/$t" || exit 1; done
    ;;
  check)
    [ -d "$root" ] || { echo "FAIL: $root is missing (the setup test did not run)"; exit 1; }
    left=0
    for d in "$root"/* "$root"/.[!.]*; do
      [ -e "$d" ] || continue
      t=${d##*/}
      if [ ! -d "$d" ]; then
        echo "FAIL: $d: not a test's TMPDIR"
        left=1
        continue
      fi
      entries=$(cd "$d" && find . -mindepth 1 -maxdepth 2 | sed 's|^\./||' | sort)
      [ -n "$entries" ] || continue
      echo "FAIL: $t left files in its TMPDIR ($d):"
      echo "$entries" | head -20 | sed 's/^/  /'
      [ "$(echo "$entries" | wc -l)" -le 20 ] || echo "  ..."
      left=1
    done
    [ $left -eq 0 ] || exit 1
    echo "no test left files in its TMPDIR"
    ;;
  *)
    echo "usage: temp_files.sh setup|check <root> [test...]" >&2
    exit 2
    ;;
esac
