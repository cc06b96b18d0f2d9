#!/usr/bin/env bash
# make docs: the module and role reference, generated from the plugins' own documentation
# (antsibull-docs), into docs/reference/. `docs/build.sh --check` fails when it is out of date.
#        `docs/build.sh --site` builds the HTML docs site (antsibull-docs sphinx-init + sphinx-build)
# into .build/docs-site/build/html; the Sphinx theme is alabaster (it comes with Sphinx).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = "--site" ]; then
  site="$root/.build/docs-site"
  rm -rf "$site"
  mkdir -p "$site"
  chmod 700 "$site"  # antsibull-docs wants a directory only its owner can write
  "$root/.venv/bin/antsibull-docs" sphinx-init --use-current --fail-on-error --sphinx-theme alabaster \
    --dest-dir "$site" virtuned.libvirt >/dev/null
  mkdir -p "$site/rst"
  chmod og-w "$site/rst"
  (cd "$site" && "$root/.venv/bin/antsibull-docs" --config-file antsibull-docs.cfg collection --cleanup everything \
    --fail-on-error --use-current --dest-dir rst virtuned.libvirt >/dev/null)
  "$root/.venv/bin/sphinx-build" -M html "$site/rst" "$site/build" -c "$site" -q -D intersphinx_timeout=3 2>"$site/warnings.log" || {
    cat "$site/warnings.log" >&2; exit 1; }
  # Offline, ansible's own inventory (docs.ansible.com) cannot be read: the labels that live there
  # (common_return_values, ansible_configuration_settings) stay unresolved. Any other warning fails.
  if grep -v -e "failed to reach any of the inventories" -e "undefined label: 'common_return_values'" \
       -e "undefined label: 'ansible_configuration_settings'" -e "^ *$" -e "^ *https://" \
       -e "Max retries exceeded\|Failed to resolve\|NameResolutionError\|HTTPSConnectionPool\|intersphinx" \
       "$site/warnings.log" >&2; then
    echo "docs site: warnings above" >&2
    exit 1
  fi
  echo "docs site: $site/build/html/index.html ($(find "$site/build/html" -name '*.html' | wc -l) pages)"
  exit 0
fi
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
