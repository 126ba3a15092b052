#!/usr/bin/env bash
# Deployment test "image": builds the unchanged Dockerfile with buildah (chroot
# isolation, vfs store, base image debian:bookworm made here by debootstrap,
# no registry), checks the image's metadata, runs it the way a container
# engine would (entrypoint, image user, PORT set), and checks that /status
# answers 200, that the HEALTHCHECK command passes, that SIGTERM stops it with
# status 0, and that the Procfile and heroku.yml web commands serve too.
# Exit 0 pass, 1 fail, 77 skipped (the reason is printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/deploy/lib.sh
source scripts/deploy/lib.sh

[[ $(id -u) -eq 0 ]] || deploy_skip "needs root (buildah chroot isolation and debootstrap)"
command -v buildah >/dev/null || deploy_die "buildah is not installed (scripts/install-deps.sh --deploy)"

work=$(mktemp -d "${TMPDIR:-/tmp}/tlflow-image-test.XXXXXX")
# TLFLOW_DEPLOY_IMAGE=NAME (for working on this script): build NAME once,
# reuse it on later runs and keep it.
image=${TLFLOW_DEPLOY_IMAGE:-localhost/tlflow-deploy-test:$$}
ctr=""
run_pid=""
cleanup() {
  if [[ -n $run_pid ]] && kill -0 "$run_pid" 2>/dev/null; then
    for p in $(deploy_descendants "$run_pid") "$run_pid"; do kill -KILL "$p" 2>/dev/null || true; done
  fi
  if [[ -n $ctr ]]; then deploy_buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  if [[ -z ${TLFLOW_DEPLOY_IMAGE:-} ]]; then deploy_buildah rmi -f "$image" >/dev/null 2>&1 || true; fi
  deploy_buildah rmi --prune >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

t_all=$SECONDS
deploy_base_image

# 1. Build. --pull=never: debian:bookworm must come from the local store.
deploy_log "buildah bud --isolation chroot --format docker (log: $work/bud.log)"
t0=$SECONDS
if [[ -n ${TLFLOW_DEPLOY_IMAGE:-} ]] && deploy_buildah inspect --type image "$image" >/dev/null 2>&1; then
  deploy_log "reusing $image (TLFLOW_DEPLOY_IMAGE)"
elif ! deploy_buildah bud --isolation chroot --format docker --pull=never --layers=false \
      --build-arg "TLFLOW_JOBS=${TLFLOW_JOBS:-2}" -t "$image" -f Dockerfile . \
      >"$work/bud.log" 2>&1; then
  tail -40 "$work/bud.log" >&2
  deploy_die "the image did not build"
fi
build_s=$((SECONDS - t0))
size=$(deploy_buildah images --format '{{.Size}}' "$image" | head -1)
deploy_log "image built in ${build_s} s, size $size"

# 2. Metadata: what a container engine reads from the image.
deploy_buildah inspect --type image "$image" >"$work/inspect.json"
"$deploy_python" - "$work/inspect.json" <<'EOF' || deploy_die "image metadata check failed"
import json, sys
cfg = json.load(open(sys.argv[1]))["Docker"]["config"]
env = dict(e.split("=", 1) for e in cfg.get("Env") or [])
errors = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        errors.append(what)
user = cfg.get("User") or ""
check(user not in ("", "root", "0") and not user.startswith(("root:", "0:")), f"runs as a non-root user ({user!r})")
check(env.get("PORT") == "8080", "PORT defaults to 8080")
check("8080/tcp" in (cfg.get("ExposedPorts") or {}), "EXPOSE 8080 (the default PORT)")
check(env.get("TLFLOW_DATA_DIR") in (cfg.get("Volumes") or {}), "the data directory is a declared VOLUME")
hc = (cfg.get("Healthcheck") or {}).get("Test") or []
check(len(hc) > 1 and "/status" in hc[-1] and "PORT" in hc[-1], f"HEALTHCHECK on /status at $PORT ({hc})")
check(cfg.get("StopSignal") == "SIGTERM", "STOPSIGNAL SIGTERM")
ep = cfg.get("Entrypoint") or []
cmd = cfg.get("Cmd") or []
check(ep == [] and cmd == ["/usr/local/bin/tlflow"],
      f"exec-form CMD, no ENTRYPOINT: tlflow is PID 1, PaaS commands replace it ({ep} {cmd})")
sys.exit(1 if errors else 0)
EOF

ctr=$(deploy_buildah from --pull=never "$image")
mapfile -t entry < <("$deploy_python" -c 'import json,sys; c=json.load(open(sys.argv[1]))["Docker"]["config"]; [print(a) for a in (c.get("Entrypoint") or []) + (c.get("Cmd") or [])]' "$work/inspect.json")
healthcheck=$("$deploy_python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["Docker"]["config"]["Healthcheck"]["Test"][-1])' "$work/inspect.json")

crun() { deploy_buildah run --isolation chroot "$@"; }

# 3. The runtime stage holds the runtime libraries and nothing to build with.
# (Output captured first: `grep -q` leaving a pipe early under pipefail
# would fail the pipeline whatever it found.)
libs=$(crun "$ctr" -- ldd /usr/local/bin/tlflow 2>&1) || deploy_die "ldd of tlflow failed in the image: $libs"
if grep -q 'not found' <<<"$libs"; then
  printf '%s\n' "$libs" >&2
  deploy_die "a shared library of tlflow is missing in the image"
fi
deploy_log "ok   every shared library of tlflow is in the image"
if crun "$ctr" -- /bin/sh -c 'command -v c++ || command -v cmake || test -e /usr/include/cpprest' >/dev/null 2>&1; then
  deploy_die "the runtime image contains build tools or headers"
fi
deploy_log "ok   no compiler, cmake or -dev headers in the runtime image"
uid=$(crun "$ctr" -- id -u)
[[ $uid != 0 ]] || deploy_die "buildah run did not use the image's user"

# Runs the image with COMMAND (array), PORT=$2 and the buildah run options in
# run_opts, waits for /status, checks the body, runs the step named by $3
# (a function, or "-") while it serves, then SIGTERM. Sets cold_start.
run_opts=()
serve_check() {
  local label=$1 port=$2 step=$3; shift 3
  deploy_log "$label: starting on 127.0.0.1:$port"
  # chroot isolation shares the host's network namespace: the port is on
  # 127.0.0.1 as it would be with `docker run -p`.
  (exec buildah --root "$deploy_cache/containers/storage" \
        --runroot "${TLFLOW_DEPLOY_RUNROOT:-/run/tlflow-deploy/containers}" \
        --storage-driver vfs run --isolation chroot "${run_opts[@]}" --env "PORT=$port" "$ctr" -- "$@") \
    >"$work/$label.log" 2>&1 &
  run_pid=$!
  local rc=0
  deploy_wait_status "$port" "$run_pid" 90 || rc=$?
  if ((rc == 2)); then
    tail -20 "$work/$label.log" >&2
    deploy_die "$label: tlflow exited with status $deploy_exit before /status answered"
  elif ((rc == 1)); then
    tail -20 "$work/$label.log" >&2
    deploy_die "$label: /status did not answer 200 within 90 s"
  fi
  cold_start=$deploy_waited
  local body
  body=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/status")
  "$deploy_python" -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["status"] == "OK", d' "$body" \
    || deploy_die "$label: /status body is not {\"status\":\"OK\",...}: $body"
  deploy_log "ok   $label: GET /status 200 after $cold_start s: $body"
  if [[ $step != - ]]; then "$step" "$port"; fi
  local app parent
  app=$(deploy_find_descendant "$run_pid" tlflow) || deploy_die "$label: cannot find the tlflow process"
  # As PID 1 would be: no shell left between the runtime and tlflow.
  parent=$(cat "/proc/$(ps -o ppid= -p "$app" | tr -d ' ')/comm")
  # (buildah's runtime re-executes itself from a memfd: its name varies.)
  [[ $parent != sh && $parent != dash && $parent != bash ]] || deploy_die "$label: tlflow runs under '$parent', not directly as the container's process"
  deploy_log "ok   $label: tlflow is the container's own process (no shell in between)"
  local t0=$SECONDS
  kill -TERM "$app"
  local waited=0
  while kill -0 "$run_pid" 2>/dev/null && ((waited < 300)); do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$run_pid" 2>/dev/null; then
    deploy_die "$label: tlflow did not stop within 30 s of SIGTERM"
  fi
  rc=0
  wait "$run_pid" || rc=$?
  run_pid=""
  ((rc == 0)) || { tail -20 "$work/$label.log" >&2; deploy_die "$label: tlflow exited with status $rc on SIGTERM"; }
  deploy_log "ok   $label: SIGTERM stopped tlflow with status 0 in $((SECONDS - t0)) s"
}

# 4. The image as a container engine runs it, with a host directory as the
# /data volume (docker run -v DIR:/data; buildah would otherwise give each
# run a fresh anonymous volume). A vertex written before SIGTERM must be
# there after a restart: the shutdown snapshot reached the volume.
probe=deploy-probe-vertex
first_run() {
  local port=$1 code
  crun --env "PORT=$port" "$ctr" -- /bin/sh -c "$healthcheck" \
    || deploy_die "the HEALTHCHECK command failed against a healthy service"
  deploy_log "ok   HEALTHCHECK command passes"
  # No credentials configured and listening on 0.0.0.0: writes need the
  # token tlflow generated into the volume.
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
           --data '{"properties":{"check":"deploy"}}' "http://127.0.0.1:$port/vertices/$probe")
  [[ $code == 401 ]] || deploy_die "PUT /vertices/$probe without a token answered $code, not 401"
  [[ -f $work/data/api-token ]] || deploy_die "no generated api-token in the /data volume"
  [[ $(stat -c %a "$work/data/api-token") == 600 ]] || deploy_die "the generated api-token is not mode 0600"
  local token
  token=$(cat "$work/data/api-token")
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
           -H "Authorization: Bearer $token" \
           --data '{"properties":{"check":"deploy"}}' "http://127.0.0.1:$port/vertices/$probe")
  [[ $code == 201 || $code == 200 ]] || deploy_die "PUT /vertices/$probe with the generated token answered $code"
  deploy_log "ok   writes need the token generated into the /data volume (api-token, 0600)"
}
second_run() {
  local port=$1 code
  code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/vertices/$probe")
  [[ $code == 200 ]] || deploy_die "after SIGTERM and a restart on the same volume, GET /vertices/$probe answered $code: the data did not survive"
  deploy_log "ok   the vertex written before SIGTERM survives a restart on the same /data volume"
}
mkdir -m 0750 "$work/data"
chown "$uid:$(crun "$ctr" -- id -g)" "$work/data"
# buildah 1.28 with chroot isolation mounts the image's anonymous VOLUME over
# an explicit --volume at the same path (seen here: /data came from
# userdata/buildah-volumes, the host directory stayed empty). The VOLUME was
# checked on the image above; the working container drops it so that the
# host directory is what /data is, as with docker run -v.
deploy_buildah config --volume /data- "$ctr"
run_opts=(--volume "$work/data:/data:rw")
serve_check image "$(deploy_free_port)" first_run "${entry[@]}"
image_cold_start=$cold_start
if [[ -z $(find "$work/data" -mindepth 1 -print -quit) ]]; then
  deploy_die "nothing was written into the /data volume by the time tlflow stopped"
fi
deploy_log "ok   the service wrote into the /data volume: $(find "$work/data" -mindepth 1 -maxdepth 1 -printf '%f ')"
serve_check restart "$(deploy_free_port)" second_run "${entry[@]}"
run_opts=()

# 5. The PaaS web commands, run with /bin/sh -c as Heroku runs them.
procfile_web=$(sed -n 's/^web:[[:space:]]*//p' Procfile)
[[ -n $procfile_web ]] || deploy_die "Procfile has no web: process"
heroku_web=$("$deploy_python" -c 'import yaml; d=yaml.safe_load(open("heroku.yml")); assert d["build"]["docker"]["web"] == "Dockerfile"; print(d["run"]["web"])') \
  || deploy_die "heroku.yml must build web from Dockerfile and run web"
[[ $procfile_web == "$heroku_web" ]] || deploy_die "Procfile web ($procfile_web) and heroku.yml run.web ($heroku_web) differ"
serve_check procfile "$(deploy_free_port)" - /bin/sh -c "$procfile_web"

deploy_log "PASS image: size $size, build ${build_s} s, cold start to first 200 ${image_cold_start} s, total $((SECONDS - t_all)) s"
