#!/usr/bin/env bash
# ansible-test on a copy of the collection in an ansible_collections/ tree, for the commands other than
# sanity (tests/sanity.sh): bash tests/ansible-test.sh units --venv --python 3.11
#                              bash tests/ansible-test.sh integration --local vt_cputune_live
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/ansible-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/virtuned/libvirt"
mkdir -p "$dest"
cd "$root"
# the files git would ship: tracked plus untracked-but-not-ignored
git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents {} "$dest" 2>/dev/null || true
cd "$dest"
git init -q .
git add -A >/dev/null 2>&1 || true
export ANSIBLE_COLLECTIONS_PATH="$work"
# ansible-test --venv bootstraps pip with a get-pip script from a host this machine cannot reach;
# the stand-in tests/sanity.sh writes (ensurepip, then PyPI) serves here too.
pip_version=$(grep -Eo "pip='[0-9.]+'" "$("$root/.venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -n1 | cut -d"'" -f2)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ -n "$pip_version" ] && { [ ! -f "$cache" ] || grep -q 'virtuned.libvirt tests/' "$cache"; }; then
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
"$root/.venv/bin/ansible-test" "$@" --color no
