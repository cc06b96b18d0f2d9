#!/usr/bin/env bash
# make bench: every tests/bench/bench_*.py prints its figures (never a pass/fail timing).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
for bench in tests/bench/bench_*.py; do
  echo "=== $bench"
  "$root/.venv/bin/python" "$bench"
done
