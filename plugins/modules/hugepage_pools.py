#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: hugepage_pools
short_description: Reserve hugepages per NUMA node and page size through sysfs, and plan boot-time pools
version_added: 1.0.0
description:
  - Writes the wanted page counts to C(/sys/devices/system/node/nodeN/hugepages/hugepages-SIZEkB/nr_hugepages)
    (one node) or C(/sys/kernel/mm/hugepages/hugepages-SIZEkB/nr_hugepages) (host-wide) and reads them back.
  - The kernel silently allocates fewer pages when memory is fragmented, so short pools are written again
    (after asking the kernel to compact memory) until O(timeout). A pool still short then fails the task with
    requested versus allocated per node and size, and every pool changed by the task is put back as it was,
    unless O(allow_partial) is true.
  - Refuses, before any change, page sizes the kernel does not offer (1 GiB pages need the CPU flag pdpe1gb),
    nodes that do not exist, and reservations that would leave less than O(min_free) free on a node.
  - Pools to reserve at boot (see O(boot_time)) are not written; they come back as kernel arguments in
    RV(kernel_args), for M(virtuned.libvirt.kernel_cmdline).
  - Pools not listed in O(pages) are left as they are; a count of 0 releases a pool.
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.attributes.linux_host
options:
  pages:
    description: The pools wanted.
    type: list
    elements: dict
    default: []
    suboptions:
      size:
        description: Page size (C(2M), C(1G), C(2048K); a bare number is KiB).
        type: raw
        required: true
      count:
        description: Number of pages; 0 releases the pool.
        type: int
        required: true
      node:
        description: NUMA node; without it the count is host-wide and the kernel spreads the pages over the nodes.
        type: int
  default_size:
    description:
      - The default hugepage size after the next boot (C(default_hugepagesz=) kernel argument).
      - Without it the argument is not managed.
    type: str
  boot_time:
    description:
      - Which pools are also reserved at boot through kernel arguments.
      - C(auto) reserves gigantic pages (above 4 MiB, for example 1 GiB) at boot only, and the others at run time.
      - C(always) reserves every pool at boot, and the non-gigantic ones at run time as well.
      - C(never) reserves every pool at run time only.
    type: str
    choices: [auto, always, never]
    default: auto
  allow_partial:
    description: Keep what the kernel could allocate instead of failing when a pool stays short.
    type: bool
    default: false
  min_free:
    description:
      - Memory that must stay free on every node after the reservation (C(1G), C(512M); a bare number is KiB).
      - Host-wide requests are checked against the sum over the nodes.
    type: str
    default: 1G
  timeout:
    description: Seconds to keep retrying short pools.
    type: int
    default: 30
  sysfs_root:
    description: Directory laid out like C(/sys), for tests with a fake tree.
    type: path
    default: /sys
  proc_root:
    description: Directory laid out like C(/proc) (only C(meminfo) is read, for the current default page size).
    type: path
    default: /proc
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: 512 pages of 2 MiB on node 0, 4 pages of 1 GiB on each node at boot
  virtuned.libvirt.hugepage_pools:
    pages:
      - {size: 2M, count: 512, node: 0}
      - {size: 1G, count: 4, node: 0}
      - {size: 1G, count: 4, node: 1}
  register: pools

- name: Hand the boot-time part to the bootloader
  virtuned.libvirt.kernel_cmdline:
    name: 90-virtuned-hugepages
    args: "{{ pools.kernel_args }}"
    keys: [default_hugepagesz, hugepagesz, hugepages]
"""

RETURN = r"""
pools:
  description: Every pool per node after the task (in check mode, as it is now).
  returned: always
  type: list
  elements: dict
  sample: [{node: 0, size_kib: 2048, total: 512, free: 512, surplus: 0}]
host_pools:
  description: Every pool host-wide (sums over the nodes).
  returned: always
  type: list
  elements: dict
  sample: [{size_kib: 2048, total: 512, free: 512, surplus: 0}]
changes:
  description: Pools written (or that would be in check mode), with the count before, requested and allocated.
  returned: always
  type: list
  elements: dict
  sample: [{node: 0, size_kib: 2048, before: 0, requested: 512, allocated: 512}]
short:
  description: Pools left short (only with O(allow_partial)).
  returned: always
  type: list
  elements: dict
  sample: []
kernel_args:
  description: Kernel arguments for the boot-time pools and O(default_size).
  returned: always
  type: list
  elements: str
  sample: [hugepagesz=1G, "hugepages=0:4,1:4"]
boot_pools:
  description: Run-time pools that a boot-time unit must write again after a reboot ({node, size_kib, count}).
  returned: always
  type: list
  elements: dict
  sample: [{node: 0, size_kib: 2048, count: 512}]
sysctl_nr_hugepages:
  description: The host-wide count of the default page size, for C(vm.nr_hugepages) in sysctl.d (null when not asked).
  returned: always
  type: int
  sample: 512
default_size_kib:
  description: The running kernel's default hugepage size.
  returned: always
  type: int
  sample: 2048
"""


from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.guarded_module import GuardedModule
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.hugepage_pools import converge_pools, describe_short


def main():
    module = GuardedModule(
        argument_spec=dict(
            pages=dict(type="list", elements="dict", default=[], options=dict(
                size=dict(type="raw", required=True),
                count=dict(type="int", required=True),
                node=dict(type="int"),
            )),
            default_size=dict(type="str"),
            boot_time=dict(type="str", choices=["auto", "always", "never"], default="auto"),
            allow_partial=dict(type="bool", default=False),
            min_free=dict(type="str", default="1G"),
            timeout=dict(type="int", default=30),
            sysfs_root=dict(type="path", default="/sys"),
            proc_root=dict(type="path", default="/proc"),
        ),
        supports_check_mode=True,
    )
    try:
        result = converge_pools(module.params, module.check_mode)
    except (TuningError, IOError, OSError) as exc:
        module.fail_json(msg=str(exc))
    for change in result["short"]:
        module.warn("hugepages left short: %s" % describe_short(change))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
