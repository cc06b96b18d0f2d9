#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: memory_backing
short_description: How a libvirt guest's memory is backed - hugepages, locking, sharing (<memoryBacking>)
version_added: 1.0.0
description:
  - Manages the C(<memoryBacking>) element of a libvirt domain - hugepages (per guest NUMA cell),
    KSM opt-out, locked memory, the memory source and access mode, allocation and discard.
  - None of these can change on a running guest; a change to a running guest is reported through
    RV(restart_required) and applies at its next start.
  - When connected, page sizes are checked against the host's page pools (host capabilities), and a
    warning is given when the host has fewer free pages of a size than the guest needs.
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  hugepages:
    description:
      - Back the guest's memory with hugepages.
      - An empty list (V([])) means the host's default hugepage size for all of the guest's memory.
      - Each item gives a page size for some guest NUMA cells (O(hugepages[].nodeset)); an item without
        nodeset covers the rest. The list is compared in order and replaced as a whole.
      - The guest's memory (or each guest cell's memory) must be a multiple of its page size.
      - libvirt's rules are one item without nodeset at most, nodesets that do not intersect, and no hugepages
        with O(allocation.mode=ondemand) or O(source=anonymous).
      - With O(state=deleted), the listed page sizes are removed; when none remain (or the list is
        empty) hugepage backing is removed.
    type: list
    elements: dict
    suboptions:
      size:
        description: Page size, such as V(2M), V(1G) or V(2048 KiB); a bare number is KiB. A power of two of at least 4 KiB.
        type: raw
        required: true
      nodeset:
        description: Guest NUMA cells (ids under C(<cpu><numa>)) backed with this size, as a set such as V(0-1).
        type: raw
  nosharepages:
    description: Keep the host from merging the guest's pages with others (KSM).
    type: bool
  locked:
    description:
      - Lock the guest's memory in host RAM (never swapped).
      - A warning is given when memtune has no C(hard_limit), which libvirt then lets QEMU lock without limit.
    type: bool
  source:
    description: Where the guest's memory comes from.
    type: str
    choices: [file, anonymous, memfd]
  access:
    description: Whether the memory is mapped shared (needed by vhost-user devices and virtiofs) or private.
    type: str
    choices: [shared, private]
  allocation:
    description: How the memory is allocated.
    type: dict
    suboptions:
      mode:
        description: V(immediate) allocates (and faults in) all memory at start; V(ondemand) when the guest touches it.
        type: str
        choices: [immediate, ondemand]
      threads:
        description: Number of threads that pre-allocate memory at start.
        type: int
  discard:
    description: Discard the guest's memory content when it stops (file-backed memory).
    type: bool
'''

EXAMPLES = r'''
- name: Back an NFV guest with 1 GiB pages and lock it in RAM
  virtuned.libvirt.memory_backing:
    name: vnf01
    hugepages:
      - size: 1G
    locked: true
    nosharepages: true
    allocation:
      mode: immediate
      threads: 4

- name: 1 GiB pages for guest cell 0, 2 MiB pages for the rest
  virtuned.libvirt.memory_backing:
    name: db01
    hugepages:
      - {size: 1G, nodeset: 0}
      - {size: 2M}

- name: Shared memfd memory for vhost-user and virtiofs
  virtuned.libvirt.memory_backing:
    name: web01
    source: memfd
    access: shared

- name: Stop using hugepages
  virtuned.libvirt.memory_backing:
    name: db01
    state: deleted
    hugepages: []
'''

RETURN = r'''
before:
  description: The memory backing before the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {}
after:
  description: The memory backing after the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"hugepages": [{"size": "2 MiB"}], "locked": true}
gathered:
  description: The persistent memory backing, in the shape of the module's options.
  returned: when O(state=gathered)
  type: dict
  sample: {"hugepages": [{"size": "1 GiB", "nodeset": "0"}, {"size": "2 MiB"}], "nosharepages": true}
live_changes:
  description: Always empty - memory backing cannot change on a running guest.
  returned: always
  type: list
  elements: str
  sample: []
restart_required:
  description: True when the guest runs and its backing changed (it applies at the next start).
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
  sample: ["memory_backing.hugepages"]
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
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memory_backing import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_area_module


def main():
    run_area_module(AREA)


if __name__ == "__main__":
    main()
