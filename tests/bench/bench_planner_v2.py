# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (issue 11): numa_plan for 1,000 guests of mixed policies on a 4-socket x 32-core x 2-thread host.

Prints figures; not a timed test (goal: under 1 s for the planner itself).
Run: PYTHONPATH=.build/collections .venv/bin/python tests/bench/bench_planner_v2.py
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit"))

import fakehost  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host  # noqa: E402
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan  # noqa: E402

KINDS = [
    # (guests per 100, request): mostly small shared guests, some pinned ones, a few NFV-style ones;
    # about 200 host CPUs dedicated, the rest shared at cpu_ratio 16, so that a tail is refused
    (90, {"vcpus": 1, "memory": "512M"}),
    (5, {"vcpus": 2, "memory": "2G", "profile": "shared-balanced"}),
    (2, {"vcpus": 2, "memory": "2G", "cpu_policy": "dedicated"}),
    (1, {"vcpus": 4, "memory": "4G", "cpu_policy": "mixed", "dedicated_vcpus": "1-3"}),
    (1, {"vcpus": 4, "memory": "4G", "profile": "nfv-hugepages", "page_size": "2M"}),
    (1, {"vcpus": 8, "memory": "8G", "cpu_policy": "dedicated", "numa_nodes": 2, "topology": {"max_sockets": 2}}),
]


def guests(count):
    # interleaved, so that every hundred guests has the same mix
    pattern = []
    for index in range(100):
        for share, request in KINDS:
            if index < share:
                pattern.append(request)
    return [dict(pattern[i % len(pattern)], name="g%04d" % i) for i in range(count)]


def main():
    host = build_host(fakehost.capabilities_xml(fakehost.BENCH_HOST))
    requests = guests(1000)
    for strategy in ("pack", "spread"):
        runs = []
        for _run in range(3):
            start = time.perf_counter()
            result = plan(host, requests, reserved_cpus="0,128,32,160,64,192,96,224", reserve_hugepages=True,
                          strategy=strategy)
            runs.append(time.perf_counter() - start)
        placed = sum(1 for g in result["plan"] if g["fits"])
        sys.stdout.write("bench_planner_v2: 1000 guests of mixed policies (%s) on 4 sockets x 32 cores x 2 threads: "
                         "best of 3 %.3f s (%.0f guests/s), %d placed, %d refused\n"
                         % (strategy, min(runs), 1000 / min(runs), placed, 1000 - placed))


if __name__ == "__main__":
    main()
