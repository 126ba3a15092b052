#!/usr/bin/env bash
# Installs what tlflow needs to build and test. Idempotent: a second run
# installs nothing.
#   scripts/install-deps.sh            build + test packages
#   scripts/install-deps.sh --deploy   also the deployment-test tools
#   scripts/install-deps.sh --check    install nothing: list what is missing, exit 1 if anything is
# What it installs:
#   * Debian packages (apt-get runs only when one is missing); Node.js and npm
#     from Debian only when the `node` / `npm` commands are missing (a node
#     from elsewhere is kept);
#   * Debian's chromium, driven headless by the browser tests and
#     bench/web_bench.js (playwright-core never downloads a browser of its own);
#   * the npm packages pinned by tests/support/js/package-lock.json (the
#     official Gremlin JavaScript driver, for the JS driver test and
#     bench/gremlin_bench; playwright-core, for the browser tests and
#     bench/web_bench.js) into tests/support/js/node_modules, with `npm ci`,
#     again only when that folder is missing or was made from another lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy=0 check=0
for arg in "$@"; do
  case $arg in
    --deploy) deploy=1 ;;
    --check) check=1 ;;
    *) echo "usage: scripts/install-deps.sh [--deploy] [--check]" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake pkg-config
  rapidjson-dev libboost-dev libboost-graph-dev
  libboost-system-dev libboost-program-options-dev
  libcurl4-openssl-dev libssl-dev zlib1g-dev doctest-dev
  curl wrk python3 clang libclang-rt-14-dev
  python3-yaml
  python3-jsonschema
  python3-networkx python3-scipy python3-igraph
  chromium
)
if ((deploy)); then
  packages+=(buildah debootstrap ansible ansible-lint vagrant shellcheck yamllint)
  packages+=(systemd-container)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# The JS packages are installed when the lockfile they were made from (its
# checksum, kept in node_modules) is not the committed one.
js=tests/support/js
js_stamp=$js/node_modules/.tlflow-lock.sha256
js_want=$(cd "$js" && sha256sum package.json package-lock.json)
js_stale=0
if [[ ! -f "$js_stamp" || "$(cat "$js_stamp")" != "$js_want" ]]; then js_stale=1; fi

if ((check)); then
  ((${#missing[@]} == 0)) || echo "missing Debian packages: ${missing[*]}"
  ((js_stale == 0)) || echo "missing or outdated: $js/node_modules (npm ci)"
  if ((${#missing[@]} > 0 || js_stale)); then
    echo "run scripts/install-deps.sh"
    exit 1
  fi
  echo "everything is installed"
  exit 0
fi

if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ((js_stale)); then
  echo "installing: npm packages of $js (npm ci)" >&2
  (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
  printf '%s\n' "$js_want" >"$js_stamp"
fi
