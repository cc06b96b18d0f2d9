# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: fleet_plan over 1,000 hosts and 20,000 guests, and over 100 hosts and 2,000 guests.

The hosts are six kinds: 1, 2 and 4 NUMA nodes, each with and without SMT, some with 2 MiB and
1 GiB pools; every host has its own copy of its host dict, as each inventory host brings its own
facts. The guests mix shared, dedicated (prefer, isolate, require), mixed, hugepage-backed,
two-cell, real-time, isolated-emulator and anti-affinity requests; the fleet is sized so that
most guests fit and some do not, so that both placements and per-host refusals run.

Prints figures (not a timed test): the planner call, and the whole module run as Ansible runs it
(the module file in its own Python process with an arguments file: start-up, imports, argument
parsing, the plan and the JSON result on stdout). CPU figures are the process's own (the planner)
or the module process's (user + system): on a machine shared with other work they are the fairer
figures, and the load average is printed with them. Run: .venv/bin/python tests/bench/bench_fleet.py
"""

from __future__ import annotations

import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))
sys.path.insert(0, os.path.join(HERE, "..", "..", ".build", "collections"))
sys.path.insert(0, HERE)

import fakehost  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host  # noqa: E402
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.fleet import plan_fleet  # noqa: E402
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan  # noqa: E402
from ratios import record  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
MODULE = os.path.join(COLLECTIONS, "ansible_collections", "virtuned", "libvirt", "plugins", "modules", "fleet_plan.py")

GIB_KIB = 1024 * 1024


def host_kinds():
    """Six host dicts (host_info's shape): 1, 2 and 4 nodes, SMT and not."""
    specs = [
        fakehost.make_spec("one-node-smt", [24], 2, "adjacent", memory_gib=[192], pages={0: {2048: 8192}}),
        fakehost.make_spec("one-node", [32], 1, "adjacent", memory_gib=[192], pages={0: {1048576: 32}}),
        fakehost.make_spec("two-node-smt", [16, 16], 2, "interleaved", memory_gib=[128, 128],
                           pages={0: {2048: 4096, 1048576: 16}, 1: {2048: 4096, 1048576: 16}}),
        fakehost.make_spec("two-node", [24, 24], 1, "adjacent", memory_gib=[128, 128],
                           pages={0: {2048: 8192}, 1: {2048: 8192}}),
        fakehost.make_spec("four-node-smt", [12, 12, 12, 12], 2, "adjacent", memory_gib=[96, 96, 96, 96],
                           pages=dict((n, {2048: 4096, 1048576: 8}) for n in range(4))),
        fakehost.make_spec("four-node", [16, 16, 16, 16], 1, "interleaved", memory_gib=[96, 96, 96, 96],
                           pages=dict((n, {2048: 4096}) for n in range(4))),
    ]
    return [build_host(fakehost.capabilities_xml(spec)) for spec in specs]


GUEST_KINDS = [
    {"vcpus": 2, "memory": "4G"},
    {"vcpus": 4, "memory": "8G"},
    {"vcpus": 4, "memory": "4G", "cpu_policy": "dedicated"},
    {"vcpus": 8, "memory": "16G", "cpu_policy": "dedicated", "page_size": "2M"},
    {"vcpus": 2, "memory": "2G", "cpu_policy": "dedicated", "thread_policy": "isolate"},
    {"vcpus": 4, "memory": "4G", "cpu_policy": "dedicated", "thread_policy": "require"},
    {"vcpus": 4, "memory": "6G", "cpu_policy": "mixed", "dedicated_vcpus": "1-3"},
    {"vcpus": 6, "memory": "12G", "cpu_policy": "dedicated", "numa_nodes": 2},
    {"vcpus": 4, "memory": "4G", "profile": "realtime"},
    {"vcpus": 4, "memory": "8G", "cpu_policy": "dedicated", "emulator_threads": "isolate", "page_size": "large"},
    {"vcpus": 1, "memory": "1G"},
    {"vcpus": 2, "memory": "4G", "page_size": "any"},
    {"vcpus": 2, "memory": "2G"},
    {"vcpus": 8, "memory": "16G", "numa_nodes": 2},
    {"vcpus": 2, "memory": "4G"},
    {"vcpus": 1, "memory": "2G"},
]


def fleet(host_count, guest_count):
    kinds = host_kinds()
    hosts = {}
    for i in range(host_count):
        hosts["hv%04d" % i] = {"host": copy.deepcopy(kinds[i % len(kinds)]), "reserved_cpus": "0",
                               "labels": ["ssd"] if i % 3 == 0 else []}
    guests = []
    for i in range(guest_count):
        guest = dict(GUEST_KINDS[i % len(GUEST_KINDS)], name="vm%05d" % i)
        if i % 10 == 0:
            guest["anti_affinity"] = "group%d" % (i // 100)
        if i % 97 == 0:
            guest["labels"] = ["ssd"]
        guests.append(guest)
    return hosts, guests


def run_module(args):
    """fleet_plan as Ansible runs it: the module file in its own process, with an arguments file.

    Returns (result, wall seconds, CPU seconds of the module process: user + system).
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        args_file = handle.name
    try:
        env = dict(os.environ, PYTHONPATH=COLLECTIONS)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        proc = subprocess.run([sys.executable, MODULE, args_file], capture_output=True, text=True, env=env,
                              check=False)
        wall = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(args_file)
    if proc.returncode != 0:
        raise SystemExit("fleet_plan failed:\n%s%s" % (proc.stdout[-2000:], proc.stderr[-2000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(proc.stdout), wall, cpu, len(proc.stdout)


def _timed(call):
    """(result, wall seconds, CPU seconds of this process): on a busy machine the CPU time is the fairer figure."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main():
    for host_count, guest_count in ((100, 2000), (1000, 20000)):
        hosts, guests = fleet(host_count, guest_count)
        result, planner_wall, planner_cpu = _timed(lambda: plan_fleet(hosts, guests))
        placed = sum(len(v) for v in result["placements"].values())
        # the same shares planned host by host with numa_plan's plan(): what choosing the hosts adds
        by_name = dict((g["name"], dict((k, v) for k, v in g.items() if k not in ("labels", "anti_affinity")))
                       for g in guests)
        _ignored, alone_wall, alone_cpu = _timed(lambda: [
            plan(entry["host"], [by_name[n] for n in result["placements"][name]],
                 reserved_cpus=entry.get("reserved_cpus")) for name, entry in hosts.items()])
        module, module_wall, module_cpu, out_bytes = run_module({"hosts": hosts, "guests": guests})
        assert module["placements"] == result["placements"], "the module and the planner disagree"
        size = "%d x %d" % (host_count, guest_count)
        sys.stdout.write("bench_fleet: %d hosts (6 kinds: 1/2/4 nodes, SMT and not) x %d guests (%d kinds): "
                         "planner %.2f s (CPU %.2f s), module %.2f s (CPU %.2f s; %.1f MB in, %.1f MB out); "
                         "%d placed, %d unplaced; the same shares through numa_plan host by host %.2f s "
                         "(CPU %.2f s); load average %.1f\n"
                         % (host_count, guest_count, len(GUEST_KINDS), planner_wall, planner_cpu, module_wall,
                            module_cpu, len(json.dumps(hosts)) / 1e6 + len(json.dumps(guests)) / 1e6,
                            out_bytes / 1e6, placed, len(result["unplaced"]), alone_wall, alone_cpu,
                            os.getloadavg()[0]))
        record("fleet", "fleet_plan planner, %s hosts x guests" % size, planner_wall, "s")
        record("fleet", "fleet_plan planner CPU, %s" % size, planner_cpu, "s")
        record("fleet", "fleet_plan module, %s" % size, module_wall, "s")
        record("fleet", "fleet_plan module CPU, %s" % size, module_cpu, "s")


if __name__ == "__main__":
    main()
