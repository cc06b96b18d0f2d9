#!/usr/bin/env bash
# galaxy-importer on the release tarball: bash tests/packaging/galaxy_importer.sh [TARBALL]
# (default: build .build/dist/<namespace>-<name>-<version>.tar.gz first, as `make build` does).
# Runs in a venv of its own (.build/galaxy-importer/venv, from galaxy-importer-requirements.txt), with
# galaxy-importer.cfg beside this file: ansible-doc, ansible-lint (production profile) and flake8 on the
# tarball's content, no ansible-test (no container). Fails on any WARNING or ERROR line of the import.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$root/.build/galaxy-importer"
venv="$work/venv"
mkdir -p "$work"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/galaxy-importer-requirements.txt" "$stamp"; then
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/galaxy-importer-requirements.txt" 2> >(grep -v "is ignored: it is neither" >&2)
  cp "$here/galaxy-importer-requirements.txt" "$stamp"
fi
tarball=${1:-}
if [ -z "$tarball" ]; then
  version=$(sed -n 's/^version: *//p' "$root/galaxy.yml")
  "$root/.venv/bin/ansible-galaxy" collection build "$root" --output-path "$root/.build/dist" --force >/dev/null
  tarball="$root/.build/dist/virtuned-libvirt-$version.tar.gz"
fi
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
rm -rf "$work/run"
mkdir -p "$work/run/tmp"
cd "$work/run"  # galaxy-importer writes importer_result.json here
# only the importer's venv: its ansible-doc and ansible-lint, not the dev venv's or a collection on the path
set +e
env -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_CONFIG -u PYTHONPATH PATH="$venv/bin:/usr/bin:/bin" \
  GALAXY_IMPORTER_CONFIG="$here/galaxy-importer.cfg" GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP="$work/run/tmp" \
  GALAXY_IMPORTER_TMP_ROOT_DIR="$work/run/tmp" \
  "$venv/bin/python" -m galaxy_importer.main "$tarball" >"$work/run/import.log" 2>&1
rc=$?
set -e
problems=$(grep -E '^(WARNING|ERROR|CRITICAL)' "$work/run/import.log" || true)
if [ "$rc" != 0 ] || [ -n "$problems" ] || ! grep -qx 'Importer processing completed successfully' "$work/run/import.log"; then
  cat "$work/run/import.log"
  echo "galaxy-importer: $(basename "$tarball") did not import cleanly (exit $rc); the log is $work/run/import.log" >&2
  exit 1
fi
contents=$("$venv/bin/python" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["contents"]))' importer_result.json)
echo "galaxy-importer: $(basename "$tarball") imported with no warnings ($contents content items); the log is $work/run/import.log"
