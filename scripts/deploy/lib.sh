# shellcheck shell=bash
# Shared helpers of the deployment tests (scripts/deploy-test.sh), sourced,
# not run. They make a Debian bookworm root with debootstrap, keep it in a
# cache, and turn it into the `debian:bookworm` base image inside a private
# buildah store, so that the unchanged Dockerfile builds with no registry.
#
# Cache: ${TLFLOW_DEPLOY_CACHE:-/var/cache/tlflow-deploy}, one tarball per
# hash of the debootstrap parameters. Removing the folder is always safe.

# A failure inside $(...) fails the caller too.
shopt -s inherit_errexit

deploy_suite=bookworm
deploy_variant=minbase
deploy_mirror=${TLFLOW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
deploy_security_mirror=${TLFLOW_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# What a VM box has beyond minbase, for the playbook test (Ansible needs
# python3 on the target; the role enables a systemd unit).
deploy_vm_packages=(python3 python3-apt systemd systemd-sysv)
# Debian's python3 (python3-yaml, Ansible's collections), whatever python3
# comes first in PATH.
deploy_python=/usr/bin/python3
deploy_cache=${TLFLOW_DEPLOY_CACHE:-/var/cache/tlflow-deploy}
# Bump when the way the roots are made changes: invalidates the cache.
deploy_recipe_version=1

# Results of deploy_wait_status, read by the scripts that source this file.
export deploy_waited="" deploy_exit=0

deploy_log() { printf '[deploy %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
deploy_die() { deploy_log "FAIL: $*"; exit 1; }
deploy_skip() { deploy_log "SKIP: $*"; exit 77; }

deploy_key() {
  printf '%s\n' "$deploy_recipe_version" "$deploy_suite" "$deploy_variant" \
    "$deploy_mirror" "$deploy_security_mirror" "$@" | sha256sum | cut -c1-16
}

# Runs "$@" holding an exclusive lock on the cache, so that tests running in
# parallel (ctest -j) do not build the same root twice.
deploy_locked() {
  mkdir -p "$deploy_cache"
  (
    flock -w 1800 9 || deploy_die "cannot lock $deploy_cache"
    "$@"
  ) 9>"$deploy_cache/.lock"
}

# apt sources of the official debian:bookworm image (deb822 form).
deploy_write_sources() {
  local root=$1
  rm -f "$root/etc/apt/sources.list"
  mkdir -p "$root/etc/apt/sources.list.d"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $deploy_mirror
Suites: $deploy_suite $deploy_suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $deploy_security_mirror
Suites: $deploy_suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

# Mounts what apt and maintainer scripts need inside a chroot; undone by
# deploy_chroot_umount. Services never start inside (policy-rc.d).
deploy_chroot_mount() {
  local root=$1
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev"
  mount -t sysfs sysfs "$root/sys"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
}
deploy_chroot_umount() {
  local root=$1 m
  # Deepest first.
  awk -v r="$root" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -f "$root/usr/sbin/policy-rc.d"
}

# Prints the path of a tarball of a fresh minbase bookworm root (as in the
# official image: no apt lists, no .debs), making it if it is not cached.
deploy_rootfs_tar() {
  local key tar tmp
  key=$(deploy_key rootfs)
  tar="$deploy_cache/rootfs-$deploy_suite-$key.tar"
  if [[ ! -s $tar ]]; then
    deploy_locked deploy__make_rootfs "$tar" || deploy_die "no root filesystem"
  fi
  printf '%s\n' "$tar"
}
deploy__make_rootfs() {
  local tar=$1 tmp
  [[ -s $tar ]] && return 0
  command -v debootstrap >/dev/null || deploy_die "debootstrap is not installed"
  tmp=$(mktemp -d "$deploy_cache/rootfs.XXXXXX")
  deploy_log "debootstrap --variant=$deploy_variant $deploy_suite from $deploy_mirror"
  local t0=$SECONDS
  debootstrap --variant="$deploy_variant" "$deploy_suite" "$tmp/root" "$deploy_mirror" \
    >"$tmp/debootstrap.log" 2>&1 || { tail -30 "$tmp/debootstrap.log" >&2; rm -rf "$tmp"; deploy_die "debootstrap failed"; }
  deploy_write_sources "$tmp/root"
  rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"* \
         "$tmp/root/var/cache/apt/"*.bin "$tmp/root/var/log/"*.log
  : >"$tmp/root/etc/resolv.conf"
  tar -C "$tmp/root" --numeric-owner --xattrs -cf "$tar.part" .
  mv "$tar.part" "$tar"
  rm -rf "$tmp"
  deploy_log "root filesystem cached in $tar ($((SECONDS - t0)) s)"
}

# Like deploy_rootfs_tar, plus what a VM box has (deploy_vm_packages).
deploy_vmroot_tar() {
  local key tar base
  base=$(deploy_rootfs_tar)
  key=$(deploy_key vmroot "${deploy_vm_packages[@]}")
  tar="$deploy_cache/vmroot-$deploy_suite-$key.tar"
  if [[ ! -s $tar ]]; then
    deploy_locked deploy__make_vmroot "$base" "$tar" || deploy_die "no VM root filesystem"
  fi
  printf '%s\n' "$tar"
}
deploy__make_vmroot() {
  local base=$1 tar=$2 tmp root
  [[ -s $tar ]] && return 0
  tmp=$(mktemp -d "$deploy_cache/vmroot.XXXXXX")
  root="$tmp/root"
  mkdir "$root"
  tar -C "$root" --numeric-owner --xattrs -xf "$base"
  deploy_log "installing ${deploy_vm_packages[*]} into the VM root"
  deploy_chroot_mount "$root"
  if ! chroot "$root" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${deploy_vm_packages[*]}" \
       >"$tmp/apt.log" 2>&1; then
    deploy_chroot_umount "$root"
    tail -30 "$tmp/apt.log" >&2
    rm -rf "$tmp"
    deploy_die "could not install the VM packages"
  fi
  chroot "$root" apt-get clean
  deploy_chroot_umount "$root"
  : >"$root/etc/resolv.conf"
  tar -C "$root" --numeric-owner --xattrs -cf "$tar.part" .
  mv "$tar.part" "$tar"
  rm -rf "$tmp"
}

# buildah with the tests' own store: vfs driver (works on any file system and
# inside containers), kept in the cache so the base image survives runs.
deploy_buildah() {
  buildah --root "$deploy_cache/containers/storage" \
          --runroot "${TLFLOW_DEPLOY_RUNROOT:-/run/tlflow-deploy/containers}" \
          --storage-driver vfs "$@"
}

# Name under which the base image is committed. The Dockerfile says
# `FROM debian:bookworm`; a short name is looked up in local storage as
# localhost/<name> first, then with each unqualified-search registry, so the
# fully qualified docker.io name is committed too: whatever registries.conf
# says, the lookup finds it locally and never pulls (`--pull=never`).
deploy_base_names=(localhost/debian:bookworm docker.io/library/debian:bookworm)

# Commits the debootstrap root as debian:bookworm into the tests' store,
# unless an image made from the same recipe is already there.
deploy_base_image() {
  local key have
  key=$(deploy_key rootfs)
  have=$(deploy_buildah inspect --type image --format '{{index .ImageAnnotations "org.tlflow.rootfs-key"}}' \
           "${deploy_base_names[0]}" 2>/dev/null || true)
  if [[ $have == "$key" ]]; then
    deploy_log "base image ${deploy_base_names[0]} is cached (key $key)"
    return 0
  fi
  local tar
  tar=$(deploy_rootfs_tar)
  deploy_locked deploy__commit_base "$tar" "$key" || deploy_die "could not commit the base image"
}
deploy__commit_base() {
  local tar=$1 key=$2 ctr mnt name
  deploy_log "committing $tar as ${deploy_base_names[*]}"
  ctr=$(deploy_buildah from scratch)
  mnt=$(deploy_buildah mount "$ctr")
  tar -C "$mnt" --numeric-owner --xattrs -xf "$tar"
  deploy_buildah umount "$ctr" >/dev/null
  deploy_buildah config --os linux --arch amd64 \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash --annotation "org.tlflow.rootfs-key=$key" "$ctr"
  deploy_buildah commit --quiet --rm "$ctr" "${deploy_base_names[0]}" >/dev/null
  for name in "${deploy_base_names[@]:1}"; do
    deploy_buildah tag "${deploy_base_names[0]}" "$name"
  done
}

# Waits until GET http://127.0.0.1:PORT/status answers 200, or PID exits, or
# TIMEOUT seconds pass; sets deploy_waited to the seconds it took. Returns 0
# (answered), 1 (timeout), 2 (the process exited; its status in deploy_exit).
# Call it directly, not in $(...): it must be the parent of PID to wait.
deploy_wait_status() {
  local port=$1 pid=$2 timeout=$3 start now
  start=$(date +%s.%N)
  deploy_waited=
  while :; do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/status" 2>/dev/null; then
      now=$(date +%s.%N)
      deploy_waited=$(awk -v a="$start" -v b="$now" 'BEGIN { printf "%.2f", b - a }')
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      deploy_exit=0
      wait "$pid" || deploy_exit=$?
      return 2
    fi
    now=$(date +%s)
    if (( now - ${start%.*} >= timeout )); then return 1; fi
    sleep 0.1
  done
}

# A free TCP port on 127.0.0.1.
deploy_free_port() {
  "$deploy_python" - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# Prints the PIDs of all descendants of PID (children first).
deploy_descendants() {
  local c
  for c in $(pgrep -P "$1"); do
    printf '%s\n' "$c"
    deploy_descendants "$c"
  done
}

# Prints the PID of the descendant of PID whose command name is NAME.
deploy_find_descendant() {
  local pid=$1 name=$2 d
  for d in $(deploy_descendants "$pid"); do
    if [[ $(cat "/proc/$d/comm" 2>/dev/null) == "$name" ]]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  return 1
}
