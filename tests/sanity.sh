#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection in an ansible_collections/ tree (no ignore file).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# a private copy per run, so that runs at the same time do not clobber each other
mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/virtuned/libvirt"
mkdir -p "$dest"
# the files git would ship: tracked plus untracked-but-not-ignored
cd "$root"
# (a tracked file deleted in the work tree cannot be copied; it is not shipped either)
git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents {} "$dest" 2>/dev/null || true
cd "$dest"
git init -q .
git add -A >/dev/null 2>&1 || true
export ANSIBLE_COLLECTIONS_PATH="$work"
# ansible-test bootstraps pip in its venvs with a get-pip script it downloads from a host this
# machine cannot reach; a stand-in with the same command line uses ensurepip and PyPI instead.
pip_version=$(grep -Eo "pip='[0-9.]+'" "$("$root/.venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -n1 | cut -d"'" -f2)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ -n "$pip_version" ] && { [ ! -f "$cache" ] || grep -q 'virtuned.libvirt tests/sanity.sh' "$cache"; }; then
  mkdir -p "$(dirname "$cache")"
  cat >"$cache" <<'PY'
# stand-in for get-pip.py (virtuned.libvirt tests/sanity.sh): ensurepip, then pip install "$@"
import subprocess
import sys
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "-q"] + args))
PY
fi
"$root/.venv/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
