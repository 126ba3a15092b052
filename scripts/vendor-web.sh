#!/usr/bin/env bash
# Re-derives the vendored drawing libraries of the web view (web/vendor/,
# see web/vendor/README.md) from the npm registry the machine is set up for,
# checks each package's integrity against the one recorded, and compares
# the files with the committed ones.
#   scripts/vendor-web.sh          fail (1) if a committed file differs (CTest: check.vendor_web)
#   scripts/vendor-web.sh --write  (re)write web/vendor/ from npm
# Needs npm and its registry (exit 77, skipped, without them); the packages
# are pinned here and in web/vendor/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
write=0
[[ "${1:-}" == "--write" ]] && write=1
command -v npm >/dev/null || { echo "SKIPPED: vendor-web needs npm"; exit 77; }

# name@version  integrity  file in the package  vendored as
packages=(
  "graphology@0.26.0 sha512-8SSImzgUUYC89Z042s+0r/vMibY7GX/Emz4LDO5e7jYXhuoWfHISPFJYjpRLUSJGq6UQ6xlenvX1p/hJdfXuXg== dist/graphology.umd.min.js graphology.umd.min.js"
  "sigma@3.0.3 sha512-5H0zFlx6/NTQpqBg4Rm569ZOpnBOXMaS25UQThIWMU3XyzI5AhmorK/gnl87BvJBLhQd0tW4C0LIp3enWzMoNw== dist/sigma.min.js sigma.min.js"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for entry in "${packages[@]}"; do
  read -r spec integrity file target <<<"$entry"
  name=${spec%@*}
  if ! (cd "$work" && npm pack --silent "$spec" >/dev/null 2>"$work/npm.err"); then
    echo "SKIPPED: npm pack $spec failed (no registry reachable?): $(tail -1 "$work/npm.err")"
    exit 77
  fi
  tgz=$(ls "$work"/"$name"-*.tgz)
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [[ "$got" != "$integrity" ]]; then
    echo "vendor-web: $spec: integrity $got, expected $integrity" >&2
    exit 1
  fi
  mkdir -p "$work/$name"
  tar xzf "$tgz" -C "$work/$name"
  for pair in "$file:$target" "LICENSE.txt:$name.LICENSE.txt"; do
    from="$work/$name/package/${pair%%:*}"
    to="web/vendor/${pair#*:}"
    if ((write)); then
      cp "$from" "$to"
      echo "wrote $to ($(sha256sum "$to" | cut -d' ' -f1))"
    elif ! cmp -s "$from" "$to"; then
      echo "vendor-web: $to differs from $spec's ${pair%%:*}" >&2
      status=1
    fi
  done
done
((status == 0 && !write)) && echo "web/vendor matches npm"
exit $status
