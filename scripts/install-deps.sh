#!/usr/bin/env bash
# Installs the Debian packages tlflow needs to build and test. Idempotent:
# apt-get runs only when a package is missing.
#   scripts/install-deps.sh            build + test packages
#   scripts/install-deps.sh --deploy   also the deployment-test tools
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcpprest-dev rapidjson-dev libboost-dev libboost-graph-dev
  libboost-system-dev libboost-program-options-dev
  libcurl4-openssl-dev libssl-dev zlib1g-dev doctest-dev
  curl wrk python3 clang libclang-rt-14-dev
  python3-yaml
  python3-jsonschema
)
if [[ "${1:-}" == "--deploy" ]]; then
  packages+=(buildah debootstrap ansible ansible-lint vagrant shellcheck yamllint)
  packages+=(systemd-container)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
