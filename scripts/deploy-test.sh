#!/usr/bin/env bash
# Deployment tests: the container image, the Ansible playbook, the
# Vagrantfile and the linters (docs/deployment.md, "Tests").
#   scripts/deploy-test.sh                 all of them
#   scripts/deploy-test.sh image|playbook|vagrant|lint ...
# Installs the tools first (scripts/install-deps.sh --deploy). Each check
# exits 0 (pass), 77 (skipped, with the reason) or 1 (fail); with several,
# the worst wins (fail > skip > pass). Needs root for image and playbook
# (buildah, debootstrap, chroot). Cache: /var/cache/tlflow-deploy
# (TLFLOW_DEPLOY_CACHE); network: Debian's mirror and 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

checks=("$@")
((${#checks[@]})) || checks=(lint vagrant playbook image)

# Several tests may start at once (ctest -j): one apt at a time.
lock_dir=${TLFLOW_DEPLOY_CACHE:-/var/cache/tlflow-deploy}
if [[ $(id -u) -ne 0 ]]; then lock_dir=${TMPDIR:-/tmp}; fi
mkdir -p "$lock_dir"
(
  flock -w 1200 9 || { echo "deploy-test: cannot lock $lock_dir/.deps.lock" >&2; exit 1; }
  scripts/install-deps.sh --deploy
) 9>"$lock_dir/.deps.lock"

worst=0
for c in "${checks[@]}"; do
  case $c in
    image | playbook | vagrant | lint) ;;
    *) echo "deploy-test: unknown check '$c' (image, playbook, vagrant, lint)" >&2; exit 2 ;;
  esac
  t0=$SECONDS
  rc=0
  if [[ $c == image || $c == playbook ]]; then
    scripts/deploy/"$c"-test.sh || rc=$?
  elif [[ $c == vagrant ]]; then
    scripts/deploy/vagrant-test.sh || rc=$?
  else
    scripts/deploy/lint.sh || rc=$?
  fi
  case $rc in
    0) verdict=passed ;;
    77) verdict=skipped; ((worst == 1)) || worst=77 ;;
    *) verdict=failed; worst=1 ;;
  esac
  echo "deploy-test: $c $verdict in $((SECONDS - t0)) s" >&2
done
exit "$worst"
