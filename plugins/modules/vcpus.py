#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: vcpus
short_description: Number, placement and hot-plug state of a libvirt guest's vCPUs (<vcpu>, <vcpus>)
version_added: 1.0.0
description:
  - Manages the C(<vcpu>) element of a libvirt domain (maximum and current vCPU count, placement,
    default CPU set) and the C(<vcpus>) list (which vCPU ids are enabled, hotpluggable, and their
    hot-plug order).
  - On a running guest, vCPUs are hot(un)plugged live - C(virDomainSetVcpusFlags) for a count,
    C(virDomainSetVcpu) for exact ids. A new O(maximum), O(placement) and O(cpuset) wait for the next
    boot (RV(restart_required)).
  - Per-vCPU pinning lives in M(virtuned.libvirt.cputune); the CPU topology in M(virtuned.libvirt.cpu_model).
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  maximum:
    description:
      - The maximum number of vCPUs (the text of C(<vcpu>)), from 1 to 16384 (libvirt's vCPU id limit,
        C(VIR_DOMAIN_CPUMASK_LEN)). When connected, the machine type's own maximum (domain capabilities
        C(<vcpu max=.../>), 255 for C(pc) with QEMU 7.2) applies. A definition whose C(<vcpu>) is above
        16384 is refused when read.
      - It must match the product of the CPU topology when the guest has one (see M(virtuned.libvirt.cpu_model)).
      - V(replaced) and V(deleted) keep it when it is not given; it cannot be deleted.
    type: int
  current:
    description:
      - How many vCPUs are enabled (C(<vcpu current>)), at most O(maximum) (and at most 16384). Omitted or equal to
        O(maximum) means all of them.
      - With a C(<vcpus>) list, vCPUs the task does not name are enabled lowest id first, or disabled
        highest id first, until O(current) are enabled; a count the named states cannot reach is refused.
    type: int
  placement:
    description:
      - V(static) pins vCPUs to O(cpuset) (libvirt's default), V(auto) asks numad for a placement.
    type: str
    choices: [static, auto]
  cpuset:
    description:
      - Host CPUs that vCPUs without a C(vcpupin) run on (a CPU set such as V(2-7,^4)). Not valid with
        O(placement=auto).
    type: raw
  vcpus:
    description:
      - Per-vCPU state (the C(<vcpus>) list). Items are matched by O(vcpus[].id).
      - Once the guest has such a list it covers every id from 0 to O(maximum) - 1; libvirt's defaults
        fill in what is not given (an enabled vCPU is not hotpluggable unless told, a disabled one is).
      - When enabled states are given and O(current) is not, O(current) follows them.
      - vCPU 0 must stay enabled and cannot be hotpluggable.
      - With O(state=deleted), the whole list is removed and libvirt enables the first O(current) vCPUs.
    type: list
    elements: dict
    suboptions:
      id:
        description: The vCPU id, from 0 to O(maximum) - 1.
        type: int
        required: true
      enabled:
        description: Whether the vCPU is enabled (plugged).
        type: bool
      hotpluggable:
        description: Whether the vCPU can be unplugged from the running guest.
        type: bool
      order:
        description: Order in which vCPUs are hot-plugged at boot (1 and up).
        type: int
  enable_cells:
    description:
      - Guest NUMA cell ids (C(<cpu><numa><cell>)); enable exactly the vCPUs of these cells and disable the others.
      - The cells come from the guest's definition (see the numa module); the cell with vCPU 0 must be among them.
      - Not stored as such - it sets O(vcpus) and O(current). Not valid with O(state=deleted).
    type: list
    elements: int
notes:
  - On a running guest, vCPUs beyond the running guest's maximum cannot be plugged until it restarts.
  - Changing O(vcpus[].hotpluggable) or O(vcpus[].order) waits for the next boot.
'''

EXAMPLES = r'''
- name: Eight vCPUs at most, four enabled now (hot-plugged if the guest runs)
  virtuned.libvirt.vcpus:
    name: db01
    maximum: 8
    current: 4

- name: Plug vCPU 5 and unplug vCPU 3 by id
  virtuned.libvirt.vcpus:
    name: db01
    vcpus:
      - {id: 3, enabled: false}
      - {id: 5, enabled: true}

- name: Enable exactly the vCPUs of guest NUMA cells 0 and 1
  virtuned.libvirt.vcpus:
    name: db01
    enable_cells: [0, 1]

- name: Keep vCPUs off the housekeeping CPUs by default
  virtuned.libvirt.vcpus:
    name: web01
    placement: static
    cpuset: 2-7

- name: Read the vCPU settings, in the shape of the options
  virtuned.libvirt.vcpus:
    name: db01
    state: gathered
  register: vcpu_state

- name: Drop the per-vCPU list and the default CPU set (the count stays)
  virtuned.libvirt.vcpus:
    name: db01
    state: deleted
'''

RETURN = r'''
before:
  description: The vCPU settings before the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"maximum": 8, "current": 2, "placement": "static"}
after:
  description: The vCPU settings after the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"maximum": 8, "current": 4, "placement": "static"}
gathered:
  description: The persistent vCPU settings, in the shape of the module's options.
  returned: when O(state=gathered)
  type: dict
  sample: {"maximum": 4, "placement": "static", "vcpus": [{"id": 0, "enabled": true, "hotpluggable": false}]}
live_changes:
  description: What was applied to the running guest (in check mode, what would be).
  returned: always
  type: list
  elements: str
  sample: ["set the number of vCPUs to 4", "enable vCPUs 5"]
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
  sample: ["vcpus.maximum"]
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
'''

from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.vcpus import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_area_module


def main():
    run_area_module(AREA)


if __name__ == "__main__":
    main()
