#!/usr/bin/env bash
# Deployment test "playbook": applies provision/playbook.yml through Ansible's
# chroot connection to a fresh Debian bookworm root (debootstrap, plus what a
# VM box has: python3, systemd), twice; the second run must change nothing.
# Then it checks what the role installed (user, data directory, config,
# secrets file, hardened and enabled unit) and starts the installed tlflow
# inside that root the way its systemd unit does, and checks /status and
# SIGTERM. Exit 0 pass, 1 fail, 77 skipped (the reason is printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
# shellcheck source=scripts/deploy/lib.sh
source scripts/deploy/lib.sh

[[ $(id -u) -eq 0 ]] || deploy_skip "needs root (chroot, mounts, debootstrap)"
command -v ansible-playbook >/dev/null || deploy_die "ansible is not installed (scripts/install-deps.sh --deploy)"
"$deploy_python" -c 'import ansible_collections.community.general.plugins.connection.chroot' \
  || deploy_die "Ansible's community.general.chroot connection is missing"

work=$(mktemp -d /var/tmp/tlflow-playbook-test.XXXXXX)
root="$work/root"
run_pid=""
cleanup() {
  if [[ -n $run_pid ]] && kill -0 "$run_pid" 2>/dev/null; then
    for p in $(deploy_descendants "$run_pid") "$run_pid"; do kill -KILL "$p" 2>/dev/null || true; done
  fi
  deploy_chroot_umount "$root"
  if awk -v r="$root" 'index($2, r) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
    deploy_log "mounts are left under $root; not removing it"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

t_all=$SECONDS
tar=$(deploy_vmroot_tar)
mkdir "$root"
tar -C "$root" --numeric-owner --xattrs -xf "$tar"
deploy_chroot_mount "$root"

port=$(deploy_free_port)
secret="deploy-test-secret-$RANDOM$RANDOM"
cat >"$work/inventory.ini" <<EOF
[tlflow]
$root ansible_connection=community.general.chroot ansible_python_interpreter=/usr/bin/python3 ansible_become=false
EOF
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 \
       ANSIBLE_LOCAL_TEMP="$work/ansible-local" ANSIBLE_DEPRECATION_WARNINGS=0
play() {
  TLFLOW_API_TOKEN=$secret ansible-playbook -i "$work/inventory.ini" \
    -e "tlflow_port=$port" -e "tlflow_build_jobs=${TLFLOW_JOBS:-2}" \
    "$repo/provision/playbook.yml"
}
recap() { grep -E '^[^ ].*: ok=[0-9]+ +changed=' "$1" | tail -1; }

deploy_log "first run of the playbook (log: $work/run1.log)"
t0=$SECONDS
play >"$work/run1.log" 2>&1 || { tail -40 "$work/run1.log" >&2; deploy_die "the first run failed"; }
run1_s=$((SECONDS - t0))
deploy_log "ok   first run in ${run1_s} s: $(recap "$work/run1.log")"

deploy_log "second run (log: $work/run2.log)"
t0=$SECONDS
play >"$work/run2.log" 2>&1 || { tail -40 "$work/run2.log" >&2; deploy_die "the second run failed"; }
run2_s=$((SECONDS - t0))
r2=$(recap "$work/run2.log")
if ! grep -Eq 'changed=0 .*failed=0' <<<"$r2"; then
  grep -E '^changed:' -A3 "$work/run2.log" >&2 || true
  deploy_die "the second run changed something: $r2"
fi
deploy_log "ok   second run changed nothing (${run2_s} s): $r2"

# What the role installed.
in_root() { chroot "$root" "$@"; }
in_root id tlflow >/dev/null || deploy_die "no tlflow user"
[[ $(in_root getent passwd tlflow | cut -d: -f7) == /usr/sbin/nologin ]] || deploy_die "tlflow user has a login shell"
[[ $(in_root stat -c '%U %a' /var/lib/tlflow) == "tlflow 750" ]] || deploy_die "data directory owner/mode"
[[ $(in_root stat -c '%U %a' /etc/tlflow/secrets.env) == "root 600" ]] || deploy_die "secrets.env must be root's, 0600"
grep -qx "TLFLOW_API_TOKEN=$secret" "$root/etc/tlflow/secrets.env" || deploy_die "the API token from the environment is not in secrets.env"
if grep -rq "$secret" "$root/etc/tlflow/tlflow.conf" "$root/etc/systemd/system/tlflow.service" "$work/run1.log" "$work/run2.log"; then
  deploy_die "the secret leaked into the config, the unit or Ansible's output"
fi
grep -qx "port = $port" "$root/etc/tlflow/tlflow.conf" || deploy_die "tlflow.conf does not carry tlflow_port"
[[ -L $root/etc/systemd/system/multi-user.target.wants/tlflow.service ]] || deploy_die "the unit is not enabled"
unit="$root/etc/systemd/system/tlflow.service"
for d in Restart=on-failure NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
         ReadWritePaths=/var/lib/tlflow MemoryMax=75% TasksMax=512; do
  grep -qx "$d" "$unit" || deploy_die "the unit lacks $d"
done
if in_root systemd-analyze verify /etc/systemd/system/tlflow.service >"$work/verify.log" 2>&1; then
  deploy_log "ok   systemd-analyze verify accepts the unit"
elif grep -q 'tlflow.service' "$work/verify.log"; then
  cat "$work/verify.log" >&2
  deploy_die "systemd-analyze verify rejects the unit"
else
  deploy_log "note systemd-analyze verify could not run in the chroot: $(head -1 "$work/verify.log")"
fi
deploy_log "ok   user, data directory, config, secrets (0600), enabled hardened unit"

# Start it as the unit does: EnvironmentFile read as root, then User/Group,
# WorkingDirectory and ExecStart.
unit_get() { sed -n "s/^$1=//p" "$unit" | tail -1; }
exec_start=$(unit_get ExecStart)
user=$(unit_get User)
group=$(unit_get Group)
wd=$(unit_get WorkingDirectory)
envfile=$(unit_get EnvironmentFile)
envfile=${envfile#-}
read -ra exec_argv <<<"$exec_start"
deploy_log "starting in the chroot as $user:$group: $exec_start"
# shellcheck disable=SC2016  # expanded inside the chroot's shell
(exec chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin \
   /bin/sh -c 'set -a; [ -r "$1" ] && . "$1"; set +a; cd "$2" || exit 1; g=$3; shift 4; exec setpriv --reuid="$0" --regid="$g" --init-groups -- "$@"' \
   "$user" "$envfile" "$wd" "$group" -- "${exec_argv[@]}") >"$work/service.log" 2>&1 &
run_pid=$!
rc=0
deploy_wait_status "$port" "$run_pid" 60 || rc=$?
((rc == 0)) || { tail -20 "$work/service.log" >&2; deploy_die "/status did not answer 200 (wait status $rc, exit $deploy_exit)"; }
body=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/status")
if grep -q "$secret" <<<"$body"; then deploy_die "/status shows the API token"; fi
deploy_log "ok   the installed tlflow answers GET /status 200 after $deploy_waited s: $body"
app=$(deploy_find_descendant "$run_pid" tlflow || echo "$run_pid")
kill -TERM "$app"
rc=0
wait "$run_pid" || rc=$?
run_pid=""
((rc == 0)) || { tail -20 "$work/service.log" >&2; deploy_die "tlflow exited with status $rc on SIGTERM"; }
[[ -n $(find "$root/var/lib/tlflow" -mindepth 1 -print -quit) ]] || deploy_die "nothing written into the data directory"
deploy_log "ok   SIGTERM: exit 0, data directory written"

# Boot the root with systemd as PID 1 (systemd-nspawn, sharing the host's
# network): the enabled unit must start tlflow under its hardening
# (ProtectSystem=strict, SystemCallFilter, ...), answer /status, and stop
# cleanly (status 0) when systemd stops it with SIGTERM.
if ! command -v systemd-nspawn >/dev/null; then
  deploy_die "systemd-nspawn is missing (systemd-container, scripts/install-deps.sh --deploy)"
fi
deploy_chroot_umount "$root"
rm -f "$root/etc/resolv.conf"
cp /etc/resolv.conf "$root/etc/resolv.conf"
deploy_log "booting the root with systemd-nspawn (log: $work/boot.log)"
systemd-nspawn -D "$root" -b --register=no --keep-unit --console=read-only \
  -M "tlflow-test-$$" >"$work/boot.log" 2>&1 &
run_pid=$!
rc=0
deploy_wait_status "$port" "$run_pid" 120 || rc=$?
if ((rc != 0)); then
  tail -30 "$work/boot.log" >&2
  deploy_die "under systemd, tlflow.service did not answer /status (wait status $rc)"
fi
deploy_log "ok   booted with systemd: tlflow.service answers GET /status 200, $deploy_waited s after the boot began"
init_pid=$(deploy_find_descendant "$run_pid" systemd) || deploy_die "cannot find the container's systemd"
in_boot() { nsenter -t "$init_pid" -m -u -i -p -r -w -- "$@"; }
in_boot systemctl show tlflow.service -p ActiveState -p SubState -p User -p NRestarts >"$work/show.txt" || true
grep -qx 'ActiveState=active' "$work/show.txt" || { cat "$work/show.txt" >&2; deploy_die "tlflow.service is not active"; }
pid_in=$(in_boot systemctl show tlflow.service -p MainPID --value)
in_boot systemctl stop tlflow.service
in_boot systemctl show tlflow.service -p Result -p ExecMainStatus -p ExecMainCode >"$work/stop.txt"
if ! grep -qx 'Result=success' "$work/stop.txt" || ! grep -qx 'ExecMainStatus=0' "$work/stop.txt"; then
  cat "$work/stop.txt" >&2
  in_boot journalctl -u tlflow.service --no-pager | tail -20 >&2 || true
  deploy_die "systemctl stop (SIGTERM) did not end tlflow cleanly"
fi
deploy_log "ok   systemctl stop: tlflow (pid $pid_in in the container) exited with status 0, Result=success"
kill -TERM "$run_pid"  # orderly shutdown of the container
wait "$run_pid" || true
run_pid=""

deploy_log "PASS playbook: first run ${run1_s} s, second run ${run2_s} s, total $((SECONDS - t_all)) s"
