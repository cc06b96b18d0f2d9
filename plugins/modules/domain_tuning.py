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
notes:
  - With O(state=gathered) every area is gathered; name areas with an empty dictionary to gather only those.
  - With O(state=replaced) or O(state=deleted) only the areas given are replaced or deleted.
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
pending_restart:
  description: The options (C(area.option)) whose new values wait for the next boot.
  returned: when RV(restart_required) is true
  type: list
  elements: str
backup_file:
  description: Path of the backup of the previous persistent XML.
  returned: when O(backup=true) and something changed
  type: str
xml:
  description: The resulting domain XML.
  returned: when O(xml) is given
  type: str
'''

from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_multi_area_module
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS


def main():
    run_multi_area_module(AREAS)


if __name__ == "__main__":
    main()
