# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's own numa_plan profiles: data in the shape of numa_plan's ``profiles`` option.

Each name maps to a list of versions (a user's ``profiles`` may give one version as a dict).
A shipped version never changes; a change is a new version. profiles.py loads these and
the user's profiles the same way. docs/numa_profiles.md shows what each leads to.

(Data in a Python module rather than a YAML file: Ansible ships a module's module_utils
imports to the managed host, not data files next to them.)
"""

from __future__ import annotations

PROFILES = {
    "dedicated": [
        {"version": 1,
         "description": "Each vCPU on a host CPU of its own, whole cores first; emulator threads float over the "
                        "guest's own CPUs; small pages.",
         "cpu_policy": "dedicated", "thread_policy": "prefer", "emulator_threads": "share",
         "iothread_policy": "share", "page_size": "small"},
    ],
    "dedicated-isolated-emulator": [
        {"version": 1,
         "description": "As dedicated, plus one more host CPU, on another core, for the emulator threads and one "
                        "for each I/O thread.",
         "cpu_policy": "dedicated", "thread_policy": "prefer", "emulator_threads": "isolate",
         "iothread_policy": "isolate", "page_size": "small"},
    ],
    "realtime": [
        {"version": 1,
         "description": "Each vCPU on a whole core of its own (siblings kept idle), emulator on a CPU of its own, "
                        "every vCPU but vCPU 0 under SCHED_FIFO priority 1, hugepages of the largest size that fits.",
         "cpu_policy": "dedicated", "thread_policy": "isolate", "emulator_threads": "isolate",
         "iothread_policy": "isolate", "page_size": "large", "realtime_vcpus": "^0"},
    ],
    "nfv-hugepages": [
        {"version": 1,
         "description": "Guest vCPU pairs on host sibling pairs, emulator isolated, memory on 1 GiB pages (the "
                        "largest size that fits), one guest NUMA cell per host node used.",
         "cpu_policy": "dedicated", "thread_policy": "require", "emulator_threads": "isolate",
         "iothread_policy": "isolate", "page_size": "large"},
        {"version": 2,
         "description": "As version 1, and the guest goes to the host node of its PCI devices (network cards "
                        "passed through), or is refused: pci_numa_policy required.",
         "extends": "nfv-hugepages@1", "pci_numa_policy": "required"},
    ],
    "shared-balanced": [
        {"version": 1,
         "description": "vCPUs float over the shared CPUs of the node(s) they are placed on, memory bound to those "
                        "nodes. (Version 1 claimed to spread guests by free memory but followed the plan's "
                        "strategy; kept as shipped.)",
         "cpu_policy": "shared", "thread_policy": "prefer", "emulator_threads": "share",
         "iothread_policy": "share", "page_size": "small"},
        {"version": 2,
         "description": "As version 1, and the guest goes to the node with the most free memory and shared CPU "
                        "room (strategy spread for this guest, whatever the plan's strategy).",
         "extends": "shared-balanced@1", "strategy": "spread"},
    ],
}
