#!/usr/bin/env bash
# Deployment test "lint": shellcheck on every shell script of the repository,
# yamllint on every YAML file (.yamllint), ansible-playbook --syntax-check and
# ansible-lint on provision/, and the consistency of the deployment files
# with one another (ports, build packages, PaaS commands).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/deploy/lib.sh
source scripts/deploy/lib.sh

# The repository's files: tracked and new ones (not ignored) in a checkout,
# every file otherwise.
repo_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | xargs -0 -r ls -d 2>/dev/null
  else
    find . -path ./.git -prune -o -path './build*' -prune -o -type f -print | sed 's|^\./||'
  fi
}
repo_files >"${TMPDIR:-/tmp}/tlflow-lint-files.$$"
trap 'rm -f "${TMPDIR:-/tmp}/tlflow-lint-files.$$"' EXIT
files="${TMPDIR:-/tmp}/tlflow-lint-files.$$"

failed=0
mapfile -t scripts < <(while read -r f; do
  case $f in
    *node_modules/*) continue ;;
    *.sh | *.bash) printf '%s\n' "$f" ;;
    *) head -c 64 "$f" 2>/dev/null | head -1 | grep -Eq '^#!.*[/ ](ba|da)?sh([[:space:]]|$)' && printf '%s\n' "$f" ;;
  esac
done <"$files")
if shellcheck -x "${scripts[@]}"; then
  deploy_log "ok   shellcheck: ${#scripts[@]} scripts"
else
  deploy_log "FAIL shellcheck"; failed=1
fi

mapfile -t yamls < <(grep -E '\.ya?ml$' "$files" | grep -v node_modules || true)
if yamllint -c .yamllint -f parsable "${yamls[@]}"; then
  deploy_log "ok   yamllint: ${#yamls[@]} files"
else
  deploy_log "FAIL yamllint"; failed=1
fi

if ansible-playbook --syntax-check -i localhost, provision/playbook.yml >/dev/null; then
  deploy_log "ok   ansible-playbook --syntax-check"
else
  deploy_log "FAIL ansible-playbook --syntax-check"; failed=1
fi
if ANSIBLE_NOCOLOR=1 ansible-lint --nocolor -q provision/; then
  deploy_log "ok   ansible-lint provision/"
else
  deploy_log "FAIL ansible-lint"; failed=1
fi

# Consistency of the deployment files.
if "$deploy_python" - <<'PY'; then deploy_log "ok   Dockerfile, role, install-deps.sh, Procfile and heroku.yml agree"; else failed=1; fi
import re, sys, yaml
errors = []
docker = open("Dockerfile").read().replace("\\\n", " ")
stages = re.split(r"(?m)^FROM ", docker)
build_stage = stages[1]
m = re.search(r"apt-get install -y --no-install-recommends ([^&]+)", build_stage)
docker_build = set(m.group(1).split())
role = yaml.safe_load(open("provision/roles/tlflow/defaults/main.yml"))
role_build = set(role["tlflow_build_packages"])
deps = open("scripts/install-deps.sh").read()
if not docker_build <= role_build:
    errors.append(f"build packages in the Dockerfile but not in the role: {sorted(docker_build - role_build)}")
missing = sorted(p for p in docker_build if not re.search(r"(?<![\w.-])" + re.escape(p) + r"(?![\w.-])", deps))
if missing:
    errors.append(f"build packages in the Dockerfile but not in scripts/install-deps.sh: {missing}")
runtime = stages[-1]
port = re.search(r"(?m)^ENV .*?PORT=(\d+)", runtime, re.S)
expose = re.findall(r"(?m)^EXPOSE (\d+)", runtime)
if not port or expose != [port.group(1)]:
    errors.append(f"EXPOSE {expose} differs from the default PORT {port and port.group(1)}")
if str(role["tlflow_port"]) != (port and port.group(1)):
    errors.append(f"the role's tlflow_port {role['tlflow_port']} differs from the image's PORT")
proc = [l.split(":", 1)[1].strip() for l in open("Procfile") if l.startswith("web:")]
heroku = yaml.safe_load(open("heroku.yml"))
if heroku.get("build", {}).get("docker", {}).get("web") != "Dockerfile":
    errors.append("heroku.yml does not build web from the Dockerfile")
if proc != [heroku.get("run", {}).get("web")]:
    errors.append(f"Procfile web {proc} differs from heroku.yml run.web")
if proc and "$PORT" not in proc[0]:
    errors.append("the Procfile web command ignores $PORT")
for e in errors:
    print("FAIL " + e)
sys.exit(1 if errors else 0)
PY

((failed == 0)) || deploy_die "lint found problems (above)"
deploy_log "PASS lint"
