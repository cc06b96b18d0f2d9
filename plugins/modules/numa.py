#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: numa
short_description: NUMA placement and guest NUMA topology of a libvirt guest (<numatune>, <cpu><numa>)
version_added: 1.0.0
description:
  - Manages C(<numatune>) (which host NUMA nodes the guest's memory comes from, as a whole and per
    guest cell) and the guest NUMA cells under C(<cpu><numa>).
  - Only C(<numa>) inside C(<cpu>) is touched; the CPU mode, model, topology and features belong to
    M(virtuned.libvirt.cpu_model). C(<cpu>) is created to hold the cells when missing, and removed only
    when the cells were all it held.
  - On a running guest, a new O(numatune.memory.nodeset) in V(strict) or V(restrictive) mode is applied live
    (C(virDomainSetNumaParameters)); everything else waits for the next boot (RV(restart_required)).
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  numatune:
    description: Host memory placement of the guest (C(<numatune>)).
    type: dict
    suboptions:
      memory:
        description: Placement of all of the guest's memory.
        type: dict
        suboptions:
          mode:
            description: The policy; libvirt's default is V(strict).
            type: str
            choices: [strict, interleave, preferred, restrictive]
          nodeset:
            description: Host NUMA nodes (a set such as V(0-1)). When connected, the host must have them.
            type: raw
          placement:
            description: V(static) uses O(numatune.memory.nodeset); V(auto) lets numad choose.
            type: str
            choices: [static, auto]
      memnodes:
        description:
          - Placement per guest NUMA cell. Items are matched by O(numatune.memnodes[].cellid).
          - Not valid with placement V(auto); with memory mode V(restrictive), every memnode's mode must be
            V(restrictive) too (libvirt's rules). The mode is written even when it is the default V(strict).
        type: list
        elements: dict
        suboptions:
          cellid:
            description: The guest cell (an id of O(cells)).
            type: int
            required: true
          mode:
            description: The policy for this cell; libvirt's default is V(strict).
            type: str
            choices: [strict, interleave, preferred, restrictive]
          nodeset:
            description: Host NUMA nodes for this cell.
            type: raw
  cells:
    description:
      - The guest's NUMA topology (C(<cpu><numa><cell>)). Items are matched by O(cells[].id).
      - Every vCPU (0 to the guest's maximum minus one) must be in exactly one cell, and the cells' memory
        plus the DIMMs (M(virtuned.libvirt.memory_devices)) must add up to the guest's memory.
    type: list
    elements: dict
    suboptions:
      id:
        description: The cell id.
        type: int
        required: true
      cpus:
        description: The guest vCPUs of this cell (a set such as V(0-3)).
        type: raw
      memory:
        description: The cell's memory (V(4G), V(512 MiB); a bare number is KiB). Required for a new cell.
        type: raw
      memAccess:
        description: Whether the cell's memory is mapped shared (vhost-user) or private.
        type: str
        aliases: [mem_access]
        choices: [shared, private]
      discard:
        description: Discard the cell's memory content when the guest stops (file-backed memory).
        type: bool
      distances:
        description:
          - Distances to every cell, itself included (10). The table must be complete and symmetric.
          - Items are matched by O(cells[].distances[].id).
        type: list
        elements: dict
        suboptions:
          id:
            description: The other cell.
            type: int
            required: true
          value:
            description: The distance (10 to itself, 11-255 to others).
            type: int
            required: true
'''

EXAMPLES = r'''
- name: Two guest NUMA cells, each on its own host node
  virtuned.libvirt.numa:
    name: db01
    cells:
      - {id: 0, cpus: 0-3, memory: 8G}
      - {id: 1, cpus: 4-7, memory: 8G}
    numatune:
      memory: {mode: strict, nodeset: 0-1}
      memnodes:
        - {cellid: 0, nodeset: 0}
        - {cellid: 1, nodeset: 1}

- name: Move a running guest's memory to host node 1 (applied live)
  virtuned.libvirt.numa:
    name: web01
    numatune:
      memory: {mode: strict, nodeset: 1}

- name: Guest cells with a distance table
  virtuned.libvirt.numa:
    name: hpc01
    cells:
      - id: 0
        cpus: 0-1
        memory: 2G
        distances: [{id: 0, value: 10}, {id: 1, value: 21}]
      - id: 1
        cpus: 2-3
        memory: 2G
        distances: [{id: 0, value: 21}, {id: 1, value: 10}]

- name: Drop all NUMA placement and guest cells
  virtuned.libvirt.numa:
    name: web01
    state: deleted
'''

RETURN = r'''
before:
  description: The NUMA settings before the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {}
after:
  description: The NUMA settings after the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"numatune": {"memory": {"mode": "strict", "nodeset": "0"}}}
gathered:
  description: The persistent NUMA settings, in the shape of the module's options.
  returned: when O(state=gathered)
  type: dict
  sample: {"cells": [{"id": 0, "cpus": "0-1", "memory": "1 GiB"}]}
live_changes:
  description: What was applied to the running guest (in check mode, what would be).
  returned: always
  type: list
  elements: str
  sample: ["set the NUMA nodeset to 1"]
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
  sample: ["numa.cells"]
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
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.numa import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_area_module


def main():
    run_area_module(AREA)


if __name__ == "__main__":
    main()
