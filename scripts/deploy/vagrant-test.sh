#!/usr/bin/env bash
# Deployment test "vagrant": `vagrant validate` on the Vagrantfile, with the
# default settings and with settings from the environment. No hypervisor runs
# here, so the provider blocks (VirtualBox, libvirt, Azure) are ignored by the
# validation (-p); the playbook it provisions with is tested by playbook-test.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/deploy/lib.sh
source scripts/deploy/lib.sh

command -v vagrant >/dev/null || deploy_die "vagrant is not installed (scripts/install-deps.sh --deploy)"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlflow-vagrant-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Keep Vagrant's machine state out of the repository.
export VAGRANT_DOTFILE_PATH="$work/.vagrant" VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_NO_COLOR=1

validate() {
  if ! env "$@" vagrant validate --ignore-provider >"$work/validate.log" 2>&1; then
    cat "$work/validate.log" >&2
    deploy_die "vagrant validate failed with: ${*:-default settings}"
  fi
  deploy_log "ok   vagrant validate (${*:-default settings})"
}
validate
validate TLFLOW_VM_PORT=18080 'TLFLOW_ANSIBLE_EXTRA_VARS={"tlflow_port": 9090, "tlflow_store": "gremlin"}' \
  TLFLOW_API_TOKEN=dummy-token-for-validation

playbook=$(sed -n 's/^[[:space:]]*ansible.playbook[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' Vagrantfile)
[[ -n $playbook && -f $playbook ]] || deploy_die "the Vagrantfile provisions with '$playbook', which is not in the repository"
grep -q 'config.vm.box = "debian/bookworm64"' Vagrantfile || deploy_die "the box is not debian/bookworm64"
# Credentials of the Azure block come only from the environment.
if grep -nE '(client_secret|tenant_id|client_id|subscription_id)[[:space:]]*=[[:space:]]*"' Vagrantfile; then
  deploy_die "a credential is written into the Vagrantfile"
fi
# Settings and secrets reach the playbook through a 0600 variables file, not
# on ansible-playbook's command line (the VM's process list).
if grep -nE '^[[:space:]]*ansible\.extra_vars[[:space:]]*=' Vagrantfile; then
  deploy_die "the Vagrantfile passes variables with ansible.extra_vars (visible in the VM's process list)"
fi
grep -q -- '--extra-vars=@' Vagrantfile || deploy_die "the Vagrantfile does not pass its variables file"
deploy_log "PASS vagrant"
