#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: cputune
short_description: CPU pinning, CFS bandwidth and scheduling of a libvirt guest (<cputune>)
version_added: 1.0.0
description:
  - Manages the C(<cputune>) element of a libvirt domain - vCPU, emulator and iothread pinning,
    CPU shares and CFS bandwidth (period/quota), real-time and batch schedulers, cache allocation
    (C(cachetune)) and memory bandwidth (C(memorytune)).
  - On a running guest, pinning and CFS values are applied live (C(virDomainPinVcpuFlags),
    C(virDomainPinEmulator), C(virDomainPinIOThread), C(virDomainSetSchedulerParametersFlags));
    schedulers, C(cachetune) and C(memorytune) wait for the next boot (RV(restart_required)).
  - I/O thread pinning lives here; the I/O threads themselves are managed by M(virtuned.libvirt.iothreads).
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  vcpupin:
    description:
      - Pin vCPUs to host CPUs. Items are matched by O(vcpupin[].vcpu).
    type: list
    elements: dict
    suboptions:
      vcpu:
        description: The vCPU id, from 0 to the guest's maximum vCPUs minus one.
        type: int
        required: true
      cpuset:
        description: Host CPUs in libvirt's syntax (V(0-3,^2,8)), a number or a list.
        type: raw
        required: true
  emulatorpin:
    description: Host CPUs for the emulator threads (a CPU set).
    type: raw
  iothreadpin:
    description:
      - Pin I/O threads to host CPUs. Items are matched by O(iothreadpin[].iothread).
    type: list
    elements: dict
    suboptions:
      iothread:
        description: The I/O thread id; the guest must define it.
        type: int
        required: true
      cpuset:
        description: Host CPUs (a CPU set).
        type: raw
        required: true
  shares:
    description: Relative CPU weight of the guest (1-262144).
    type: int
  period:
    description: CFS period of each vCPU in microseconds (1000-1000000).
    type: int
  quota:
    description: CFS quota of each vCPU in microseconds (1000-17592186044415, or -1 for no limit).
    type: int
  global_period:
    description: CFS period of the whole guest in microseconds (1000-1000000).
    type: int
  global_quota:
    description: CFS quota of the whole guest in microseconds (1000-17592186044415, or -1).
    type: int
  emulator_period:
    description: CFS period of the emulator threads in microseconds (1000-1000000).
    type: int
  emulator_quota:
    description: CFS quota of the emulator threads in microseconds (1000-17592186044415, or -1).
    type: int
  iothread_period:
    description: CFS period of the I/O threads in microseconds (1000-1000000).
    type: int
  iothread_quota:
    description: CFS quota of the I/O threads in microseconds (1000-17592186044415, or -1).
    type: int
  vcpusched:
    description:
      - Scheduler of groups of vCPUs. Items are matched by O(vcpusched[].vcpus); groups must not overlap.
    type: list
    elements: dict
    suboptions:
      vcpus:
        description: The vCPUs (a CPU set of vCPU ids).
        type: raw
        required: true
      scheduler:
        description: The scheduler. V(fifo) and V(rr) are real-time and need O(vcpusched[].priority).
        type: str
        choices: [batch, idle, fifo, rr]
      priority:
        description: Real-time priority, 1-99; only with V(fifo) or V(rr).
        type: int
  iothreadsched:
    description:
      - Scheduler of groups of I/O threads. Items are matched by O(iothreadsched[].iothreads).
    type: list
    elements: dict
    suboptions:
      iothreads:
        description: The I/O thread ids (a set such as V(1-2)).
        type: raw
        required: true
      scheduler:
        description: The scheduler.
        type: str
        choices: [batch, idle, fifo, rr]
      priority:
        description: Real-time priority, 1-99; only with V(fifo) or V(rr).
        type: int
  emulatorsched:
    description: Scheduler of the emulator threads.
    type: dict
    suboptions:
      scheduler:
        description: The scheduler.
        type: str
        choices: [batch, idle, fifo, rr]
      priority:
        description: Real-time priority, 1-99; only with V(fifo) or V(rr).
        type: int
  cachetune:
    description:
      - Cache allocation (Intel RDT CAT) for groups of vCPUs. Items are matched by O(cachetune[].vcpus).
    type: list
    elements: dict
    suboptions:
      vcpus:
        description: The vCPUs of the group.
        type: raw
        required: true
      caches:
        description: Cache allocations, matched by (id, level, type).
        type: list
        elements: dict
        suboptions:
          id:
            description: Host cache id.
            type: int
            required: true
          level:
            description: Host cache level (for example 3).
            type: int
            required: true
          type:
            description: Which part of the cache.
            type: str
            choices: [both, code, data]
            required: true
          size:
            description: Size of the allocation (V(3M), V(3 MiB), a number of bytes).
            type: raw
            required: true
      monitors:
        description: Cache monitors, matched by vcpus.
        type: list
        elements: dict
        suboptions:
          level:
            description: Cache level monitored.
            type: int
          vcpus:
            description: The vCPUs monitored.
            type: raw
            required: true
  memorytune:
    description:
      - Memory bandwidth allocation (Intel RDT MBA) for groups of vCPUs. Items are matched by O(memorytune[].vcpus).
    type: list
    elements: dict
    suboptions:
      vcpus:
        description: The vCPUs of the group.
        type: raw
        required: true
      nodes:
        description: Bandwidth per host node, matched by id.
        type: list
        elements: dict
        suboptions:
          id:
            description: Host memory controller (node) id.
            type: int
            required: true
          bandwidth:
            description: Percentage of the node's bandwidth (1-100).
            type: int
            required: true
'''

EXAMPLES = r'''
- name: Pin four vCPUs one to one and keep the emulator on housekeeping CPUs
  virtuned.libvirt.cputune:
    name: db01
    vcpupin:
      - {vcpu: 0, cpuset: 4}
      - {vcpu: 1, cpuset: 5}
      - {vcpu: 2, cpuset: 6}
      - {vcpu: 3, cpuset: 7}
    emulatorpin: 0-1

- name: Real-time vCPUs 1-3 with FIFO priority 1
  virtuned.libvirt.cputune:
    name: rt01
    vcpusched:
      - {vcpus: 1-3, scheduler: fifo, priority: 1}

- name: Cap the guest at half a CPU per vCPU
  virtuned.libvirt.cputune:
    name: web01
    period: 100000
    quota: 50000

- name: Read the current settings, in the shape of the options
  virtuned.libvirt.cputune:
    name: db01
    state: gathered
  register: tune

- name: Make cputune exactly what was gathered (changes nothing)
  virtuned.libvirt.cputune:
    name: db01
    state: replaced
    vcpupin: "{{ tune.gathered.vcpupin | default(omit) }}"
    emulatorpin: "{{ tune.gathered.emulatorpin | default(omit) }}"

- name: Remove all pinning and CFS settings
  virtuned.libvirt.cputune:
    name: db01
    state: deleted

- name: Tune a domain XML document offline
  virtuned.libvirt.cputune:
    xml: "{{ lookup('file', 'guest.xml') }}"
    vcpupin: [{vcpu: 0, cpuset: 2}]
  register: tuned
'''

RETURN = r'''
before:
  description: The cputune settings before the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"vcpupin": [{"vcpu": 0, "cpuset": "0-1"}]}
after:
  description: The cputune settings after the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"vcpupin": [{"vcpu": 0, "cpuset": "4"}], "emulatorpin": "0-1"}
gathered:
  description: The persistent cputune settings, in the shape of the module's options.
  returned: when O(state=gathered)
  type: dict
  sample: {"vcpupin": [{"vcpu": 0, "cpuset": "4"}], "shares": 2048}
live_changes:
  description: What was applied to the running guest (in check mode, what would be).
  returned: always
  type: list
  elements: str
  sample: ["pin vCPU 0 to 4", "pin the emulator to 0-1"]
restart_required:
  description: True when part of the change waits for the guest's next boot.
  returned: always
  type: bool
restarted:
  description:
    - True when the guest was restarted for O(restart=if_needed) (in check mode, when it would be).
  returned: always
  type: bool
in_force:
  description:
    - The options (C(area.option)) that waited for the guest's boot and are read back in force after the restart.
  returned: after a restart for O(restart=if_needed) (not in check mode)
  type: list
  elements: str
  sample: ["vcpus.maximum"]
pending_restart:
  description:
    - The options (C(area.option), nothing else) whose new values wait for the next boot of the running guest.
    - Why, when the module knows, is in RV(pending_reasons).
  returned: when RV(restart_required) is true
  type: list
  elements: str
  sample: ["cputune.vcpusched"]
pending_reasons:
  description: Why an option of RV(pending_restart) or RV(live_pending) waits, by C(area.option).
  returned: when a reason is known
  type: dict
live_pending:
  description:
    - The options (C(area.option)) asked of the running guest that it has not completed, read back after
      the live calls (a DIMM it has not released, a balloon target it has not followed). A warning says so.
    - They are not asked again while the persistent definition already holds them.
  returned: when the guest has not completed a live change
  type: list
  elements: str
  sample: ["memory_devices.dimms"]
backup_file:
  description: Path of the backup of the previous persistent XML.
  returned: when O(backup=true) and something changed
  type: str
xml:
  description: The resulting domain XML.
  returned: when O(xml) is given
  type: str
dest:
  description: The file the complete resulting XML (secrets kept, mode 0600) was written to.
  returned: when O(dest) is given
  type: str
'''

from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.cputune import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_area_module


def main():
    run_area_module(AREA)


if __name__ == "__main__":
    main()
