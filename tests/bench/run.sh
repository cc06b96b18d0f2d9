#!/usr/bin/env bash
# make bench: every tests/bench/bench_*.py prints its figures (never a pass/fail timing), then one table of
# the figures of this run (tests/bench/ratios.py). BENCH_ONLY=tuning_info,planner runs some of them.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mkdir -p .build
"$root/.venv/bin/python" tests/bench/ratios.py reset
for bench in tests/bench/bench_*.py; do
  name=$(basename "$bench" .py); name=${name#bench_}
  if [ -n "${BENCH_ONLY:-}" ] && [[ ",$BENCH_ONLY," != *",$name,"* ]]; then continue; fi
  echo "=== $bench"
  "$root/.venv/bin/python" "$bench"
done
"$root/.venv/bin/python" tests/bench/ratios.py
