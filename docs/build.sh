#!/usr/bin/env bash
# make docs: the module and role reference, generated from the plugins' own documentation
# (antsibull-docs), into docs/reference/. `docs/build.sh --check` fails when it is out of date.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/docs/reference"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$root/.venv/bin/antsibull-docs" collection --use-current --squash-hierarchy --fail-on-error \
  --output-format simplified-rst --no-indexes --dest-dir "$tmp" virtuned.libvirt >/dev/null
if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$tmp" "$out" >/dev/null 2>&1; then
    echo "docs/reference is out of date: run make docs" >&2
    exit 1
  fi
  exit 0
fi
rm -rf "$out"
mkdir -p "$out"
cp -r "$tmp"/. "$out"/
echo "docs/reference: $(find "$out" -type f | wc -l) pages"
