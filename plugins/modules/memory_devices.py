#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: memory_devices
short_description: Memory size, balloon, hot-plug ceiling and DIMMs of a libvirt guest
version_added: 1.0.0
description:
  - Manages C(<memory>), C(<currentMemory>) (the balloon target), C(<maxMemory>) (the memory hot-plug
    ceiling and its slots) and the guest's DIMMs (C(<memory model='dimm'>) devices). Other memory devices
    (nvdimm, virtio-mem) are left alone.
  - On a running guest, DIMMs are hot-plugged and unplugged (C(virDomainAttachDeviceFlags),
    C(virDomainDetachDeviceFlags)) and the balloon target is set (C(virDomainSetMemoryFlags)); the
    persistent definition follows. O(max_memory) and the memory without DIMMs wait for the next boot.
  - Memory hot-plug needs guest NUMA cells (M(virtuned.libvirt.numa)), O(max_memory) and, on the running
    guest, ACPI (C(<features><acpi/>)). Unplugging needs the guest OS to release the DIMM; a guest that does
    not keeps it until it stops.
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  memory:
    description:
      - The guest's memory, as libvirt's C(<memory>) - the total, DIMMs included (V(4G), V(4096 MiB); a bare
        number is KiB).
      - When not given, it moves with the DIMMs this task adds or removes. With guest NUMA cells it must equal
        the cells' memory plus the DIMMs.
      - Kept by O(state=replaced) and O(state=deleted) unless given.
    type: raw
  current_memory:
    description:
      - The balloon target (C(<currentMemory>)), at most O(memory). Left out, or equal to O(memory), it means
        no ballooning.
      - Setting it live needs a balloon driver in the guest.
    type: raw
  max_memory:
    description: The ceiling for memory hot-plug (C(<maxMemory>)).
    type: dict
    suboptions:
      slots:
        description: Number of DIMM slots (1-255).
        type: int
      size:
        description: The most memory the guest can reach by hot-plug; above its memory without DIMMs.
        type: raw
  dimms:
    description:
      - The guest's DIMMs, the whole list. DIMMs are matched by size and node, and by slot when a slot is given;
        libvirt gives a DIMM without slot the first free one.
      - With O(state=deleted), the listed DIMMs are removed.
    type: list
    elements: dict
    suboptions:
      size:
        description:
          - The DIMM's size (V(512M), V(1G)).
          - On x86, a new DIMM's size must be a multiple of 2 MiB (QEMU's DIMM alignment; on ppc64, 256 MiB).
        type: raw
        required: true
      node:
        description: The guest NUMA cell the DIMM belongs to.
        type: int
      slot:
        description: The DIMM slot, from 0 to O(max_memory.slots) minus one.
        type: int
'''

EXAMPLES = r'''
- name: Prepare a guest for memory hot-plug (applies at its next boot)
  virtuned.libvirt.memory_devices:
    name: db01
    max_memory:
      size: 64G
      slots: 16

- name: Hot-plug a 4 GiB DIMM into guest cell 0 of the running guest
  virtuned.libvirt.memory_devices:
    name: db01
    dimms:
      - {size: 4G, node: 0}

- name: Balloon the guest down to 6 GiB
  virtuned.libvirt.memory_devices:
    name: web01
    current_memory: 6G

- name: Remove every DIMM (and the hot-plug ceiling)
  virtuned.libvirt.memory_devices:
    name: db01
    state: deleted
'''

RETURN = r'''
before:
  description: The memory settings before the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"memory": "8 GiB"}
after:
  description: The memory settings after the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"memory": "12 GiB", "max_memory": {"size": "64 GiB", "slots": 16}, "dimms": [{"size": "4 GiB", "node": 0}]}
gathered:
  description: The persistent memory settings, in the shape of the module's options.
  returned: when O(state=gathered)
  type: dict
  sample: {"memory": "12 GiB", "max_memory": {"size": "64 GiB", "slots": 16}, "dimms": [{"size": "4 GiB", "node": 0, "slot": 0}]}
live_changes:
  description: What was applied to the running guest (in check mode, what would be).
  returned: always
  type: list
  elements: str
  sample: ["attach a 4 GiB DIMM to node 0"]
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
  sample: ["memory_devices.max_memory", "memory_devices.dimms"]
pending_reasons:
  description: Why an option of RV(pending_restart) or RV(live_pending) waits, by C(area.option).
  returned: when a reason is known
  type: dict
  sample: {"memory_devices.dimms": "the running guest has no max_memory; hot-plug works after its next boot"}
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
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memory_devices import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_area_module


def main():
    run_area_module(AREA)


if __name__ == "__main__":
    main()
