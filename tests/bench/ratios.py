"""make bench: the figures each bench_*.py measured in this run, gathered and printed as one table at the end.

A bench calls ``record(bench, figure, value, unit)``; tests/bench/run.sh empties the file first and runs
``python tests/bench/ratios.py`` last. The file is .build/bench-figures.json (never in the repository).
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIGURES = os.environ.get("BENCH_FIGURES", os.path.join(ROOT, ".build", "bench-figures.json"))


def record(bench, figure, value, unit="x ping"):
    """Add one figure of this run (``unit`` 'x ping' for a ratio to ansible.builtin.ping over the same loop)."""
    figures = _load()
    figures.append({"bench": bench, "figure": figure, "value": value, "unit": unit})
    os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
    with open(FIGURES, "w") as handle:
        json.dump(figures, handle, indent=1)


def _load():
    try:
        with open(FIGURES) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return []


def main(argv):
    if argv[1:] == ["reset"]:
        with open(FIGURES, "w") as handle:
            json.dump([], handle)
        return
    figures = _load()
    print("=== make bench: figures of this run")
    if not figures:
        print("  (none recorded)")
    for item in figures:
        value = item["value"]
        text = (("%.3f" if abs(value) < 1 else "%.2f") % value) if isinstance(value, float) else str(value)
        print("  %-18s %-52s %8s %s" % (item["bench"], item["figure"], text, item["unit"]))


if __name__ == "__main__":
    main(sys.argv)
