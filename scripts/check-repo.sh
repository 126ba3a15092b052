#!/usr/bin/env bash
# Cheap checks of what is committed, run by CTest as `check.repo`:
#   * no tracked file is matched by .gitignore (a file committed by mistake);
#   * no absolute path of a developer's machine (its work tree or root's home);
#   * no reference to documents or trackers outside the repository;
#   * C++ and Python code takes temporary files from TMPDIR, not "/tmp";
#   * a tracked file starting with #! is executable;
#   * npm lockfiles name no registry;
#   * no merge-conflict markers.
# Prints every offending line and exits 1; exits 77 (skipped) outside a git
# checkout (a source tarball has nothing to check).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "SKIPPED: not a git checkout"
  exit 77
fi

failed=0
report() { # report <what> <output of the search>
  if [[ -n "$2" ]]; then
    echo "FAIL: $1:"
    while IFS= read -r line; do echo "  $line"; done <<<"$2"
    failed=1
  fi
}

# This file names the patterns it looks for: it is left out of the searches.
self=':(exclude)scripts/check-repo.sh'

report "tracked but matched by .gitignore (git rm --cached them, or fix .gitignore)" \
  "$(git ls-files -ci --exclude-standard)"

# Those two folders at the start of a path, not inside one ("$tmp/root/etc").
report "absolute paths of a developer's machine" \
  "$(git grep -nE "(^|[[:space:]\"'=:(\`])/(work|root)(/|\$)" -- . "$self")"

report "references to documents or issue numbers outside the repository" \
  "$(git grep -nE 'DESIGN\.md|DESIGN §|WIRE\.md|MEASURED\.md|\.\./shared/|[Ii]ssues? #?[0-9]+' -- . "$self")"

# std::filesystem::temp_directory_path(), mkdtemp under it and Python's
# tempfile honour TMPDIR, which CTest points into the build tree.
report "hard-coded /tmp in C++ or Python (use temp_directory_path() or tempfile)" \
  "$(git grep -nE "[\"']/tmp(/|[\"'])" -- '*.cpp' '*.hpp' '*.py' "$self")"

not_exec=""
while read -r mode _ _ path; do
  [[ "$mode" == 100755 || ! -f "$path" ]] && continue
  [[ "$(head -c 2 -- "$path")" == '#!' ]] && not_exec+="$path"$'\n'
done < <(git ls-files -s)
report "files starting with #! that are not executable (git update-index --chmod=+x)" "${not_exec%$'\n'}"

# npm ci resolves against the machine's registry: lockfiles name none
# (tests/support/js/.npmrc sets omit-lockfile-registry-resolved).
report "package-lock.json files naming a registry (\"resolved\" URLs)" \
  "$(git grep -n '"resolved"' -- '*package-lock.json')"

report "merge-conflict markers" "$(git grep -nE '^(<<<<<<<|>>>>>>>) ' -- . "$self")"

if ((failed)); then exit 1; fi
echo "repository checks passed"
