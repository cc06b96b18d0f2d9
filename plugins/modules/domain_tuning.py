#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: domain_tuning
short_description: Tune several areas of one libvirt guest in one call (one read, one define)
version_added: 1.0.0
description:
  - Takes the options of the area modules under the area modules' names and applies them
    all with one read of the persistent definition and one define, through the same engine
    as the area modules (there is no second implementation).
  - Rules that span areas see the guest as it will be after the whole call (for example a
    C(vcpupin) for a vCPU that O(vcpus) adds in the same call is accepted).
  - O(state), O(live), check mode, diff mode and the results are those of the area modules;
    per-area results are nested under the area names.
  - With O(guests), one call converges many guests of one host over one connection; each guest
    gets exactly what a single call gives it, and its result is under its name in RV(guests).
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  cputune:
    description: The options of M(virtuned.libvirt.cputune).
    type: dict
  numa:
    description: The options of M(virtuned.libvirt.numa).
    type: dict
  memory_backing:
    description: The options of M(virtuned.libvirt.memory_backing).
    type: dict
  vcpus:
    description: The options of M(virtuned.libvirt.vcpus).
    type: dict
  cpu_model:
    description: The options of M(virtuned.libvirt.cpu_model).
    type: dict
  memtune:
    description: The options of M(virtuned.libvirt.memtune).
    type: dict
  iothreads:
    description: The options of M(virtuned.libvirt.iothreads).
    type: dict
  boot_firmware:
    description: The options of M(virtuned.libvirt.boot_firmware).
    type: dict
  memory_devices:
    description: The options of M(virtuned.libvirt.memory_devices).
    type: dict
  metadata:
    description:
      - The options of M(virtuned.libvirt.metadata) - C(profile), the numa_plan profile versions the guest
        records in this collection's own element of C(<metadata>) (other namespaces' elements are left alone).
      - The C(plan[].metadata) of a M(virtuned.libvirt.numa_plan) entry, as the placement_options filter returns it.
    type: dict
  guests:
    description:
      - Several guests of the host, each with its own area options, converged in one module run over
        one connection. Each guest gets the same steps as a single call (read, converge, domain lock,
        re-read, define, read-back, live changes) and the host facts are read once for all of them.
      - A guest that fails does not stop the others; the task then fails, naming each failed guest
        with its message, and RV(guests) holds every guest's result.
      - Not valid with O(name), O(uuid), O(xml) or area options outside the entries. O(uri), O(live),
        O(backup) and O(backup_dir) apply to every guest.
      - Check mode and diff mode apply per guest; the diff headers name the guest.
      - Each entry is given once (a guest named twice, by name or by uuid, is refused).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the guest. Exactly one of O(guests[].name) and O(guests[].uuid) is required.
        type: str
      uuid:
        description: UUID of the guest.
        type: str
      state:
        description: As O(state), for this guest; defaults to O(state).
        type: str
        choices: [merged, replaced, deleted, gathered]
      restart:
        description:
          - As O(restart), for this guest; defaults to O(restart).
          - V(never) or V(if_needed). The older spellings still work: V(true) is V(if_needed), V(false) is
            V(never), and V(force) is V(if_needed) with O(guests[].force_off=true) (the guest is asked to
            shut down first, and powered off after O(shutdown_timeout)).
          - The result of the restart is C(restarted) (and C(in_force)) of the guest's RV(guests) entry.
        type: raw
      force_off:
        description: As O(force_off), for this guest; defaults to O(force_off).
        type: bool
      cputune:
        description: The options of M(virtuned.libvirt.cputune).
        type: dict
      numa:
        description: The options of M(virtuned.libvirt.numa).
        type: dict
      memory_backing:
        description: The options of M(virtuned.libvirt.memory_backing).
        type: dict
      vcpus:
        description: The options of M(virtuned.libvirt.vcpus).
        type: dict
      cpu_model:
        description: The options of M(virtuned.libvirt.cpu_model).
        type: dict
      memtune:
        description: The options of M(virtuned.libvirt.memtune).
        type: dict
      iothreads:
        description: The options of M(virtuned.libvirt.iothreads).
        type: dict
      boot_firmware:
        description: The options of M(virtuned.libvirt.boot_firmware).
        type: dict
      memory_devices:
        description: The options of M(virtuned.libvirt.memory_devices).
        type: dict
      metadata:
        description: The options of M(virtuned.libvirt.metadata).
        type: dict
notes:
  - With O(state=gathered) every area is gathered; name areas with an empty dictionary to gather only those.
  - With O(state=replaced) or O(state=deleted) only the areas given are replaced or deleted.
  - Each area's dictionary may hold its own C(state) (V(merged), V(replaced), V(deleted) or V(gathered)),
    which applies to that area only; it defaults to O(state) (in O(guests), to the guest's O(guests[].state)).
    For example C(cputune) with C(state=replaced) and C(numa) with C(state=merged) in one call.
  - O(restart), O(shutdown_timeout) and O(force_off) apply to every guest of O(guests) unless its entry
    gives O(guests[].restart) or O(guests[].force_off).
'''

EXAMPLES = r'''
- name: Place each guest of a numa_plan result in one call (its memory follows the planned cells)
  virtuned.libvirt.domain_tuning:
    name: "{{ item.name }}"
    vcpus: "{{ areas.vcpus }}"
    cpu_model: "{{ areas.cpu_model }}"
    numa: "{{ areas.numa }}"
    memory_devices: "{{ areas.memory_devices }}"
    iothreads: "{{ areas.iothreads | default(omit) }}"
    cputune: "{{ areas.cputune }}"
    memory_backing: "{{ areas.memory_backing }}"
    metadata: "{{ areas.metadata | default(omit) }}"
  vars:
    areas: "{{ item | virtuned.libvirt.placement_options }}"
  loop: "{{ plan.plan | selectattr('fits') }}"

- name: Four vCPUs, pinned, on 2 MiB pages
  virtuned.libvirt.domain_tuning:
    name: db01
    vcpus: {maximum: 4}
    cputune:
      vcpupin: [{vcpu: 0, cpuset: 2}, {vcpu: 1, cpuset: 3}, {vcpu: 2, cpuset: 4}, {vcpu: 3, cpuset: 5}]
      emulatorpin: 0-1
    memory_backing:
      hugepages: [{size: 2M}]

- name: Every guest of the host in one call; db01 is restarted when a change waits for its boot
  virtuned.libvirt.domain_tuning:
    shutdown_timeout: 60
    force_off: true
    guests:
      - name: db01
        restart: if_needed
        vcpus: {maximum: 4}
        cputune: {emulatorpin: 0-1}
      - name: web01
        memtune: {soft_limit: 512M}
  register: host_tuning

- name: Pins made exactly these (older pins removed), the NUMA settings merged into what is there
  virtuned.libvirt.domain_tuning:
    name: db01
    cputune:
      state: replaced
      vcpupin: [{vcpu: 0, cpuset: 2}, {vcpu: 1, cpuset: 3}]
    numa:
      state: merged
      numatune: {memory: {mode: strict, nodeset: "0"}}

- name: Everything tunable about a guest, in the shape of this module's options
  virtuned.libvirt.domain_tuning:
    name: db01
    state: gathered
  register: tuning
'''

RETURN = r'''
before:
  description: Per area, the settings before the task, in the shape of the area module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"cputune": {}, "vcpus": {"maximum": 2, "placement": "static"}}
after:
  description: Per area, the settings after the task.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"cputune": {"emulatorpin": "0-1"}, "vcpus": {"maximum": 4, "placement": "static"}}
gathered:
  description: Per area, the persistent settings, in the shape of the area module's options.
  returned: when O(state=gathered)
  type: dict
live_changes:
  description: What was applied to the running guest (in check mode, what would be).
  returned: always
  type: list
  elements: str
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
  sample: ["vcpus.maximum", "cputune.vcpusched"]
pending_reasons:
  description: Why an option of RV(pending_restart) or RV(live_pending) waits, by C(area.option).
  returned: when a reason is known
  type: dict
  sample: {"vcpus.maximum": "the maximum number of vCPUs changes at the next boot"}
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
guests:
  description:
    - With O(guests), each guest's result under its name, exactly as a single call returns it
      (RV(before), RV(after), RV(live_changes), RV(restart_required), RV(pending_restart) ..., and
      C(diff) in diff mode), with C(failed) and C(msg) for a guest that failed.
    - The task's C(changed) is true when any guest changed.
  returned: when O(guests) is given
  type: dict
  sample: {"db01": {"changed": true, "before": {"cputune": {}}, "after": {"cputune": {"emulatorpin": "0-1"}},
           "live_changes": ["emulatorpin 0-1"], "restart_required": false, "restarted": false},
           "web01": {"changed": false, "restarted": false, "failed": true,
                     "msg": "name: no domain 'web01' on qemu:///system: Domain not found"}}
  contains:
    restarted:
      description:
        - In every guest's entry, true when the guest was restarted for its O(guests[].restart) (in check mode,
          when it would be).
      returned: always
      type: bool
    in_force:
      description:
        - In a guest's entry, the options (C(area.option)) that waited for the boot and are read back in
          force after the restart.
      returned: after a restart
      type: list
      elements: str
      sample: ["vcpus.maximum"]
'''

from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_multi_area_module
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS


def main():
    run_multi_area_module(AREAS)


if __name__ == "__main__":
    main()
