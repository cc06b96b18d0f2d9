#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: kernel_cmdline
short_description: Manage the kernel arguments a role owns, through the platform's bootloader tool
version_added: 1.0.0
description:
  - An owner (O(name)) owns a set of argument keys (O(keys)). The module makes the boot configuration carry
    exactly O(args) among those keys; arguments with other keys are never touched.
  - C(grub) (Debian, Ubuntu) writes the drop-in C(/etc/default/grub.d/NAME.cfg), which appends O(args) to
    C(GRUB_CMDLINE_LINUX_DEFAULT), and runs C(update-grub). Arguments that C(/etc/default/grub) and the other
    drop-ins already give are not written again; when the drop-in would be empty it is removed.
  - C(grubby) (the RHEL family) runs C(grubby --update-kernel=ALL --remove-args/--args) until every installed
    kernel carries exactly O(args) among O(keys).
  - C(none) changes nothing and reports what the kernel line should hold.
  - Idempotent; C(reboot_required) compares the running kernel's C(/proc/cmdline) with what the next boot will use.
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.attributes.linux_host
options:
  name:
    description: The owner; names the grub drop-in file (C(/etc/default/grub.d/NAME.cfg)).
    type: str
    required: true
  args:
    description: The wanted arguments (C(key) or C(key=value)), in order. Empty removes every owned argument.
    type: list
    elements: str
    default: []
  keys:
    description:
      - The argument keys the owner owns (C(isolcpus), C(hugepagesz), ...). Defaults to the keys of O(args).
      - Give them explicitly so that an argument disappears from the boot configuration when it is no longer wanted.
    type: list
    elements: str
  bootloader:
    description:
      - How the boot configuration is changed. C(auto) picks C(grubby) when it is installed, else C(grub) when
        C(update-grub), C(grub-mkconfig) or C(/etc/default/grub) exist; with none of them it fails, unless O(args)
        is empty and no drop-in of O(name) exists (then it works as C(none)).
    type: str
    choices: [auto, grub, grubby, none]
    default: auto
  root:
    description:
      - The system to work on. Files are read and written under it, and the bootloader tool is run inside it
        with C(chroot) when it is not C(/). For image builds and tests.
    type: path
    default: /
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
notes:
  - The running kernel's command line is read from C(ROOT/proc/cmdline); arguments after C(--) belong to init.
  - grubby cannot give one key twice (for example two C(hugepagesz=) sizes); use C(grub) or one size then.
"""

EXAMPLES = r"""
- name: Isolate CPUs 2-7 at the next boot
  virtuned.libvirt.kernel_cmdline:
    name: 90-virtuned-numa-pinning
    args:
      - isolcpus=managed_irq,domain,2-7
      - nohz_full=2-7
    keys: [isolcpus, nohz_full, rcu_nocbs, irqaffinity]
  register: kargs

- name: Remove every argument the owner set
  virtuned.libvirt.kernel_cmdline:
    name: 90-virtuned-numa-pinning
    args: []
    keys: [isolcpus, nohz_full, rcu_nocbs, irqaffinity]
"""

RETURN = r"""
bootloader:
  description: The mechanism used (C(grub), C(grubby) or C(none)).
  returned: always
  type: str
  sample: grub
args:
  description: The wanted arguments.
  returned: always
  type: list
  elements: str
  sample: [isolcpus=2-7]
keys:
  description: The keys owned.
  returned: always
  type: list
  elements: str
  sample: [isolcpus, nohz_full]
cmdline_args:
  description: The owned arguments on the running kernel's command line.
  returned: always
  type: list
  elements: str
  sample: []
boot_args:
  description: The owned arguments the next boot will use (after this run, or as it would be in check mode).
  returned: always
  type: list
  elements: str
  sample: [isolcpus=2-7]
reboot_required:
  description: True when the running kernel's owned arguments differ from the next boot's.
  returned: always
  type: bool
  sample: true
dropin:
  description: Path of the grub drop-in (bootloader C(grub) only; under O(root)).
  returned: when bootloader is grub
  type: str
  sample: /etc/default/grub.d/90-virtuned-numa-pinning.cfg
commands:
  description: The bootloader commands run (or that would run in check mode).
  returned: always
  type: list
  elements: list
  sample: [[update-grub]]
"""


from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.guarded_module import GuardedModule
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.boot_loaders import (
    BOOTLOADERS, converge_kernel_args)


def main():
    module = GuardedModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            args=dict(type="list", elements="str", default=[]),
            keys=dict(type="list", elements="str", no_log=False),
            bootloader=dict(type="str", choices=list(BOOTLOADERS), default="auto"),
            root=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    try:
        result, warnings = converge_kernel_args(module.params, module.run_command, module.check_mode)
    except TuningError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    if not module._diff:
        result.pop("diff", None)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
