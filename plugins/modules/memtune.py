#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: memtune
short_description: Memory limits of a libvirt guest (<memtune>)
version_added: 1.0.0
description:
  - Manages the C(<memtune>) element of a libvirt domain - the cgroup hard and soft memory limits,
    the memory plus swap limit and the minimum guarantee.
  - Sizes take units (V(8G), V(512MiB), V(2 GiB)); a bare number is in KiB, as in libvirt.
    V(unlimited) removes the limit.
  - On a running guest, O(hard_limit), O(soft_limit) and O(swap_hard_limit) are applied live
    (C(virDomainSetMemoryParameters)); the persistent definition follows.
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  hard_limit:
    description:
      - The most memory the guest (QEMU included) may use, or V(unlimited).
      - A warning is given when it is below the guest's memory.
      - QEMU locks this much memory for some guests (VFIO, C(<locked/>)); hosts that forbid raising
        C(RLIMIT_MEMLOCK) cannot start a guest with a hard limit.
    type: raw
  soft_limit:
    description: The memory the guest is pushed back to when the host is short of memory, or V(unlimited).
    type: raw
  swap_hard_limit:
    description:
      - The most memory plus swap the guest may use, or V(unlimited).
      - Must be at least O(hard_limit), the limits in force compared (libvirt's rule). A swap limit needs a
        hard limit, so O(hard_limit=unlimited) needs O(swap_hard_limit=unlimited) too.
      - Every limit is at most 9007199254740991 KiB (libvirt's memory size limit, just under 8 EiB), which is
        V(unlimited).
    type: raw
  min_guarantee:
    description:
      - Memory guaranteed to the guest. libvirt supports it for VMware ESX and OpenVZ only;
        refused on a QEMU/KVM connection, and a warning offline.
    type: raw
'''

EXAMPLES = r'''
- name: Cap a database guest at 10 GiB and push it back to 8 GiB under pressure
  virtuned.libvirt.memtune:
    name: db01
    hard_limit: 10G
    soft_limit: 8G
    swap_hard_limit: 12G

- name: Lower the soft limit of a running guest (applied live)
  virtuned.libvirt.memtune:
    name: web01
    soft_limit: 512MiB

- name: Remove the hard limit only
  virtuned.libvirt.memtune:
    name: db01
    hard_limit: unlimited

- name: Read the current limits, in the shape of the options
  virtuned.libvirt.memtune:
    name: db01
    state: gathered
  register: limits

- name: Remove every memory limit
  virtuned.libvirt.memtune:
    name: db01
    state: deleted
'''

RETURN = r'''
before:
  description: The memtune settings before the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"soft_limit": "1 GiB"}
after:
  description: The memtune settings after the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"hard_limit": "10 GiB", "soft_limit": "8 GiB", "swap_hard_limit": "12 GiB"}
gathered:
  description: The persistent memtune settings, in the shape of the module's options.
  returned: when O(state=gathered)
  type: dict
  sample: {"soft_limit": "8 GiB"}
live_changes:
  description: What was applied to the running guest (in check mode, what would be).
  returned: always
  type: list
  elements: str
  sample: ["set memory parameters soft_limit=524288 KiB"]
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
  sample: ["memtune.min_guarantee"]
pending_reasons:
  description: Why an option of RV(pending_restart) or RV(live_pending) waits, by C(area.option).
  returned: when a reason is known
  type: dict
  sample: {"memtune.min_guarantee": "libvirt cannot change min_guarantee of a running guest"}
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
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memtune import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_area_module


def main():
    run_area_module(AREA)


if __name__ == "__main__":
    main()
