#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: iothreads
short_description: I/O threads of a libvirt guest and which disks and controllers use them
version_added: 1.0.0
description:
  - Manages C(<iothreads>), C(<iothreadids>) and C(<defaultiothread>) of a libvirt domain, and the
    C(iothread) attribute of the C(<driver>) of existing virtio disks and virtio-scsi controllers.
  - It never adds or removes a disk or a controller; a disk target or controller index the guest
    does not have is refused.
  - On a running guest, I/O threads are added and removed live (C(virDomainAddIOThread),
    C(virDomainDelIOThread)) and their thread pool and polling values set live
    (C(virDomainSetIOThreadParams)). Moving a disk or controller to another I/O thread and the
    default I/O thread's pool wait for the next boot (RV(restart_required)).
  - Pinning of I/O threads lives in M(virtuned.libvirt.cputune) (C(iothreadpin), C(iothreadsched)).
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  count:
    description:
      - The number of I/O threads (C(<iothreads>)). V(0) means none; at most 16384 (this collection's limit;
        libvirt and QEMU set none, and each iothread is a host thread). A definition whose C(<iothreads>) is above
        16384 is refused when read, before any iothread is listed.
      - Raising it adds the lowest free ids, as libvirt does; lowering it removes the highest ids
        that O(iothreadids) does not name.
      - When not given, it follows the number of O(iothreadids).
    type: int
  iothreadids:
    description:
      - The I/O threads by id (C(<iothreadids>)). Items are matched by O(iothreadids[].id).
      - Every I/O thread is listed in the results, also those libvirt numbers itself; ids 1 to O(count)
        with no settings are written as a bare C(<iothreads>) count.
    type: list
    elements: dict
    suboptions:
      id:
        description: The I/O thread id (1 and up).
        type: int
        required: true
      thread_pool_min:
        description: Minimum number of worker threads of this I/O thread's pool.
        type: int
      thread_pool_max:
        description: Maximum number of worker threads (at least 1, not below O(iothreadids[].thread_pool_min)).
        type: int
      poll:
        description:
          - Adaptive polling of the event loop (C(<poll>)); needs libvirt 9.4 or later to be kept in the
            definition, and is refused on an older connected host.
        type: dict
        suboptions:
          max:
            description: Maximum polling time in nanoseconds (V(0) disables polling).
            type: int
          grow:
            description: Factor by which the polling time grows.
            type: int
          shrink:
            description: Divisor by which the polling time shrinks.
            type: int
  defaultiothread:
    description: The thread pool of the default event loop (C(<defaultiothread>)).
    type: dict
    suboptions:
      thread_pool_min:
        description: Minimum number of worker threads.
        type: int
      thread_pool_max:
        description: Maximum number of worker threads.
        type: int
  disks:
    description:
      - The I/O thread of existing virtio disks (C(<disk><driver iothread=...>)), matched by
        O(disks[].target). Only disks that have an I/O thread are listed in the results.
      - With O(state=replaced), disks not given lose their I/O thread.
    type: list
    elements: dict
    suboptions:
      target:
        description: The disk's target device (C(<target dev=...>)), for example V(vda).
        type: str
        required: true
      iothread:
        description: The I/O thread id; the guest must define it. Required except with O(state=deleted).
        type: int
  controllers:
    description:
      - The I/O thread of existing virtio-scsi controllers (C(<controller type='scsi'><driver iothread=...>)),
        matched by O(controllers[].index).
    type: list
    elements: dict
    suboptions:
      index:
        description: The SCSI controller's index.
        type: int
        required: true
      iothread:
        description: The I/O thread id; the guest must define it. Required except with O(state=deleted).
        type: int
notes:
  - Removing an I/O thread that a disk, a controller, a C(cputune) C(iothreadpin) or C(iothreadsched) still
    uses is refused, naming the user.
'''

EXAMPLES = r'''
- name: Two I/O threads, one per data disk
  virtuned.libvirt.iothreads:
    name: db01
    count: 2
    disks:
      - {target: vdb, iothread: 1}
      - {target: vdc, iothread: 2}

- name: Bigger thread pool for I/O thread 1 (applied live)
  virtuned.libvirt.iothreads:
    name: db01
    iothreadids:
      - {id: 1, thread_pool_min: 2, thread_pool_max: 16}

- name: Give the virtio-scsi controller its own I/O thread
  virtuned.libvirt.iothreads:
    name: db01
    iothreadids: [{id: 3}]
    controllers: [{index: 0, iothread: 3}]

- name: Remove I/O thread 3 (its users first)
  virtuned.libvirt.iothreads:
    name: db01
    state: deleted
    controllers: [{index: 0}]
    iothreadids: [{id: 3}]
'''

RETURN = r'''
before:
  description: The I/O thread settings before the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"count": 1, "iothreadids": [{"id": 1}]}
after:
  description: The I/O thread settings after the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"count": 2, "iothreadids": [{"id": 1}, {"id": 2}], "disks": [{"target": "vdb", "iothread": 2}]}
gathered:
  description: The persistent I/O thread settings, in the shape of the module's options.
  returned: when O(state=gathered)
  type: dict
  sample: {"count": 2, "iothreadids": [{"id": 1}, {"id": 2, "thread_pool_max": 16}]}
live_changes:
  description: What was applied to the running guest (in check mode, what would be).
  returned: always
  type: list
  elements: str
  sample: ["add iothread 2", "set iothread 2 thread_pool_max=16"]
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
  sample: ["iothreads.disks"]
pending_reasons:
  description: Why an option of RV(pending_restart) or RV(live_pending) waits, by C(area.option).
  returned: when a reason is known
  type: dict
  sample: {"iothreads.disks": "moving a disk to another iothread takes effect at the next boot"}
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
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.iothreads import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_area_module


def main():
    run_area_module(AREA)


if __name__ == "__main__":
    main()
