#!/bin/sh
# The web view in headless Chromium (tests/browser/web_test.js): Debian's
# chromium driven by playwright-core (pinned in
# tests/support/js/package-lock.json), both installed by
# scripts/install-deps.sh.
#   browser_test.sh <tlflow binary> <screenshots dir>
# Installs nothing: exit 77 (skipped) when node, chromium or playwright-core
# is missing.
set -u
here=$(dirname "$0")
if ! command -v node >/dev/null 2>&1; then
  echo "SKIPPED: node is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
exec node "$here/../browser/web_test.js" "$@"
