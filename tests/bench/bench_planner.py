# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: plan 200 four-vCPU dedicated guests on the two-socket, 112-thread host.

Prints figures; not a timed test. Run: PYTHONPATH=.build/collections .venv/bin/python tests/bench/bench_planner.py
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fakehost  # noqa: E402  pylint: disable=wrong-import-position
from ratios import record  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host  # noqa: E402
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan  # noqa: E402


def _time(host, guests, **options):
    runs = []
    for _run in range(3):
        start = time.perf_counter()
        result = plan(host, guests, **options)
        runs.append(time.perf_counter() - start)
    return min(runs), sum(1 for g in result["plan"] if g["fits"])


def main():
    host = build_host(fakehost.load_capabilities("two-socket-interleaved"))
    scenarios = []
    # 200 x 4 vCPUs = 800 > 112 threads: half dedicated (27 fill the host), half shared, a quarter on
    # 2 MiB pages, so that placements and refusals both run
    mixed = [{"name": "g%03d" % i, "vcpus": 4, "memory": "2G", "cpu_policy": "dedicated" if i % 2 == 0 else "shared",
              "page_size": "2M" if i % 4 == 0 else "small"} for i in range(200)]
    scenarios.append(("half dedicated, half shared", mixed))
    # every guest dedicated: 27 placed, 173 refused after a full search
    scenarios.append(("all dedicated", [{"name": "d%03d" % i, "vcpus": 4, "memory": "1G", "cpu_policy": "dedicated"}
                                        for i in range(200)]))
    # all shared, small pages: all 200 placed
    scenarios.append(("all shared", [{"name": "s%03d" % i, "vcpus": 4, "memory": "1G"} for i in range(200)]))
    for label, guests in scenarios:
        best, placed = _time(host, guests, reserved_cpus="0-1,56-57")
        sys.stdout.write("bench_planner: 200 four-vCPU guests (%s) on 2 sockets / 112 threads: best of 3 %.3f s "
                         "(%.0f guests/s), %d placed, %d refused\n" % (label, best, 200 / best, placed, 200 - placed))
        record("planner", "plan 200 guests (%s)" % label, best, "s")


if __name__ == "__main__":
    main()
