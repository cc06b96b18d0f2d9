#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: boot_firmware
short_description: Firmware, loader, NVRAM, direct kernel boot and boot order of a libvirt guest (<os>)
version_added: 1.0.0
description:
  - Manages the C(<os>) element of a libvirt domain except C(<type>) - automatic firmware selection
    and its features, an explicit loader and NVRAM, direct kernel boot, boot order and boot menu.
  - libvirt expands C(firmware=efi) into a concrete loader and NVRAM for the running guest; that is
    not reported as a change or as a pending restart.
  - When connected, the request is checked against the host's domain capabilities - firmware values,
    loader paths and secure-boot support.
  - Nothing here applies to a running guest; a change reports RV(restart_required).
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  firmware:
    description: Automatic firmware selection (C(<os firmware=...>)).
    type: str
    choices: [efi, bios]
  firmware_features:
    description:
      - Features automatic firmware selection must provide (C(<os><firmware><feature>)); needs O(firmware=efi).
      - Turning secure boot on or off takes effect with a fresh NVRAM; the module warns about it.
    type: dict
    suboptions:
      secure_boot:
        description: Secure boot.
        type: bool
      enrolled_keys:
        description: Firmware variables with the usual keys enrolled.
        type: bool
  loader:
    description: An explicit firmware image (C(<loader>)). Remove it with O(state=deleted).
    type: dict
    suboptions:
      path:
        description: Path of the image; when connected it must be one the host offers.
        type: str
      type:
        description: How the image is mapped.
        type: str
        choices: [rom, pflash]
      readonly:
        description: Map the image read-only.
        type: bool
      secure:
        description: The image implements secure boot (needs SMM).
        type: bool
      stateless:
        description: The firmware keeps no variables (no NVRAM).
        type: bool
  nvram:
    description: The guest's firmware variables (C(<nvram>)).
    type: dict
    suboptions:
      path:
        description: Path of the guest's variable store.
        type: str
      template:
        description: Template the store is created from.
        type: str
  kernel:
    description:
      - Kernel image for direct kernel boot (C(<kernel>)), an absolute path. Remove it with O(state=deleted) or
        an empty string.
      - Text options refuse control characters, which domain XML cannot hold.
    type: str
  initrd:
    description: Initial ramdisk for direct kernel boot, an absolute path; needs O(kernel).
    type: str
  cmdline:
    description: Kernel command line for direct kernel boot; needs O(kernel).
    type: str
  dtb:
    description: Device tree binary for direct kernel boot, an absolute path; needs O(kernel).
    type: str
  boot_order:
    description:
      - Boot devices in order (C(<boot dev=...>)). libvirt boots from V(hd) when nothing else is set,
        so an empty order and V([hd]) compare equal.
    type: list
    elements: str
    choices: [hd, cdrom, network, fd]
  bootmenu:
    description: The interactive boot menu (C(<bootmenu>)); a O(bootmenu.timeout) needs O(bootmenu.enable).
    type: dict
    suboptions:
      enable:
        description: Show the boot menu.
        type: bool
      timeout:
        description: How long the menu waits, in milliseconds (0-65535).
        type: int
  reset_nvram:
    description:
      - When this task turns secure boot on or off, also remove the guest's NVRAM file, so that libvirt
        makes a fresh one from its template at the next start (the old variables belong to the old setting).
      - A running guest keeps its open copy until it stops. Only on a local connection (the module runs on
        the hypervisor). Without it, toggling secure boot gives a warning.
      - Not stored in the domain XML; it acts only together with a secure-boot change, so it is idempotent.
    type: bool
'''

EXAMPLES = r'''
- name: UEFI with libvirt's firmware selection
  virtuned.libvirt.boot_firmware:
    name: app01
    firmware: efi

- name: Secure boot with enrolled keys (q35 guests with SMM)
  virtuned.libvirt.boot_firmware:
    name: win01
    firmware: efi
    firmware_features: {secure_boot: true, enrolled_keys: true}

- name: Network first, then disk, with a short boot menu
  virtuned.libvirt.boot_firmware:
    name: pxe01
    boot_order: [network, hd]
    bootmenu: {enable: true, timeout: 3000}

- name: Boot a kernel directly
  virtuned.libvirt.boot_firmware:
    name: test01
    kernel: /var/lib/libvirt/boot/vmlinuz
    initrd: /var/lib/libvirt/boot/initrd.img
    cmdline: console=ttyS0 isolcpus=1-3

- name: Stop booting the kernel directly
  virtuned.libvirt.boot_firmware:
    name: test01
    state: deleted
    kernel: ""
    initrd: ""
    cmdline: ""
'''

RETURN = r'''
before:
  description: The boot settings before the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"boot_order": ["hd"]}
after:
  description: The boot settings after the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"firmware": "efi", "boot_order": ["hd"]}
gathered:
  description: The persistent boot settings, in the shape of the module's options.
  returned: when O(state=gathered)
  type: dict
  sample: {"firmware": "efi", "boot_order": ["network", "hd"]}
live_changes:
  description: Always empty - nothing here applies to a running guest.
  returned: always
  type: list
  elements: str
  sample: []
host_changes:
  description: Steps taken on the host outside the domain definition (a reset NVRAM; in check mode, what would be).
  returned: when O(reset_nvram=true) and secure boot was turned on or off
  type: list
  elements: str
  sample: ["reset the NVRAM: fresh from its template at the next start"]
restart_required:
  description: True when the guest runs and the change waits for its next boot.
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
  sample: ["boot_firmware.firmware"]
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
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.boot_firmware import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_area_module


def main():
    run_area_module(AREA)


if __name__ == "__main__":
    main()
