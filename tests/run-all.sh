#!/usr/bin/env bash
# Everything `make test` runs: unit and integration tests (pytest), module docs, ansible-lint,
# ansible-test sanity and the molecule scenarios. Ends with one "N passed, N failed" line.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
venv="$root/.venv/bin"
passed=0
failed=0

# ansible-test sanity's shellcheck test needs the program (a test-only tool: not part of `make demo`)
if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing shellcheck for the sanity tests"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; } \
    || echo "could not install shellcheck; sanity skips its shellcheck test"
fi
failures=()

step() {  # step NAME COMMAND...: run a check, count it
  local name=$1
  shift
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

# pytest counts its own tests; its summary line is read by CI too.
echo "=== pytest (unit and integration, real guests on qemu:///system)"
"$venv/python" -m pytest -q -p no:randomly tests/unit tests/integration tests/packaging 2>&1 | tee "$root/.build/pytest.log"
pytest_rc=${PIPESTATUS[0]}
summary=$(tail -n 1 "$root/.build/pytest.log")
py_passed=$(grep -Eo '[0-9]+ passed' <<<"$summary" | grep -Eo '[0-9]+' || echo 0)
py_failed=0
while read -r n; do
  [ -n "$n" ] && py_failed=$((py_failed + n))
done < <(grep -Eo '[0-9]+ (failed|error|errors)' <<<"$summary" | grep -Eo '^[0-9]+')
[ "$pytest_rc" = 0 ] || [ "${py_failed:-0}" != 0 ] || py_failed=1
passed=$((passed + ${py_passed:-0}))
failed=$((failed + ${py_failed:-0}))
[ "$pytest_rc" = 0 ] || failures+=("pytest")

docs_render() {
  local module ok=0
  for module in plugins/modules/*.py; do
    module=$(basename "$module" .py)
    "$venv/ansible-doc" -t module "virtuned.libvirt.$module" >/dev/null || { echo "ansible-doc failed for $module"; ok=1; }
  done
  return $ok
}
step "ansible-doc renders every module" docs_render
step "docs/reference matches the modules' documentation" bash docs/build.sh --check
step "playbooks in docs and README are valid" "$venv/python" docs/check_examples.py
step "ansible-lint (production profile)" "$venv/ansible-lint" --profile production --offline -q
step "ansible-test sanity (no ignores)" bash tests/sanity.sh
# --venv: ansible-test's own venv with tests/unit/requirements.txt (pinned by tests/unit/constraints.txt), as a
# collection's CI runs it (about 4 minutes, most of it the modules' tests)
step "ansible-test units (the unit tests as ansible-test runs them)" bash tests/ansible-test.sh units --venv --python 3.11
step "ansible-test integration (tests/integration/targets, real guests)" \
  bash tests/ansible-test.sh integration --local --allow-destructive
# The molecule scenarios change this host (hugepage pools, qemu.conf, a libvirtd restart) and undo it:
# they run on a test bed (tests/testbed/setup-host.sh marked it), in CI, or when asked for.
if grep -q '^# virtuned test bed' /etc/libvirt/qemu.conf 2>/dev/null || [ "${CI:-}" = true ] \
   || [ "${VIRTUNED_ALLOW_HOST_CHANGES:-}" = 1 ]; then
  step "molecule scenarios" bash tests/molecule/run.sh
else
  echo "=== molecule scenarios skipped: this host is not a test bed (VIRTUNED_ALLOW_HOST_CHANGES=1 runs them)"
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
  echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ ${#failures[@]} = 0 ]
