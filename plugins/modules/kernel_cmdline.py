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

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.kernel_cmdline import (
    check_request, grub_cfg_args, grub_default_args, grub_dropin_text, grubby_commands, owned,
    parse_grubby_info, reboot_required, split_args)

_TOOL_DIRS = ("usr/sbin", "usr/bin", "sbin", "bin")


class BootTarget:
    """Files and tools of the system under ``root``."""

    def __init__(self, module, root):
        self.module = module
        self.root = root or "/"

    def path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def read(self, path, default=None):
        try:
            with open(self.path(path)) as handle:
                return handle.read()
        except (IOError, OSError):
            return default

    def tool(self, *names):
        """The path (inside root) of the first tool found, or None."""
        for name in names:
            for directory in _TOOL_DIRS:
                if os.access(self.path(os.path.join(directory, name)), os.X_OK):
                    return "/" + os.path.join(directory, name)
        return None

    def run(self, argv):
        command = list(argv) if self.root == "/" else ["chroot", self.root] + list(argv)
        rc, out, err = self.module.run_command(command)
        if rc != 0:
            raise TuningError("%s failed (rc=%d): %s" % (" ".join(argv), rc, (err or out).strip()))
        return out


def grub(target, name, args, keys, check_mode, result):
    dropin_rel = "/etc/default/grub.d/%s.cfg" % name
    dropin = target.path(dropin_rel)
    before = target.read(dropin_rel)
    files = [target.read("/etc/default/grub", "")]
    others = []
    directory = target.path("/etc/default/grub.d")
    if os.path.isdir(directory):
        others = sorted(f for f in os.listdir(directory) if f.endswith(".cfg"))
    base_files = files + [target.read("/etc/default/grub.d/" + f, "") for f in others if f != name + ".cfg"]
    after = None if owned(grub_default_args(base_files), keys) == list(args) else grub_dropin_text(name, args)
    if after is not None and not args:
        after = None  # an empty drop-in adds nothing; what the base files give cannot be removed here
    # what update-grub will read once the drop-in is as wanted (grub sources drop-ins in name order)
    names = sorted(set(others) - {name + ".cfg"} | ({name + ".cfg"} if after is not None else set()))
    boot_args = grub_default_args(files + [after if f == name + ".cfg" else target.read("/etc/default/grub.d/" + f, "")
                                           for f in names])
    leftover = [arg for arg in owned(boot_args, keys) if arg not in args]
    if leftover:
        result["warnings"].append("/etc/default/grub or another drop-in also sets %s; this module does not edit them"
                                  % " ".join(leftover))
    generated = target.read("/boot/grub/grub.cfg")
    needs_update = before != after or (generated is not None and owned(grub_cfg_args(generated) or [], keys)
                                       != owned(boot_args, keys))
    result.update(dropin=dropin_rel, boot_args=owned(boot_args, keys))
    result["diff"] = {"before_header": dropin_rel, "after_header": dropin_rel,
                      "before": before or "", "after": after or ""}
    if not needs_update:
        return
    updater = target.tool("update-grub", "grub-mkconfig", "grub2-mkconfig")
    if updater is None:
        raise TuningError("bootloader: 'grub' is not valid here: neither update-grub nor grub-mkconfig is installed "
                          "under %s" % target.root)
    command = [updater] if updater.endswith("update-grub") else [updater, "-o", "/boot/grub/grub.cfg"]
    result["commands"].append(command)
    result["changed"] = True
    if check_mode:
        return
    if after is None:
        if before is not None:
            os.remove(dropin)
    elif before != after:
        os.makedirs(os.path.dirname(dropin), exist_ok=True)
        temp = dropin + ".virtuned-tmp"
        with open(temp, "w") as handle:
            handle.write(after)
        os.chmod(temp, 0o644)
        os.rename(temp, dropin)
    target.run(command)


def grubby(target, args, keys, check_mode, result):
    tool = target.tool("grubby")
    if tool is None:
        raise TuningError("bootloader: 'grubby' is not valid here: grubby is not installed under %s" % target.root)
    kernels = parse_grubby_info(target.run([tool, "--info=ALL"]))
    if not kernels:
        raise TuningError("grubby --info=ALL lists no kernel under %s" % target.root)
    before = sorted(set(" ".join(owned(kernel, keys)) for kernel in kernels))
    commands = grubby_commands(kernels, args, keys)
    result["commands"].extend([tool] + command for command in commands)
    result["boot_args"] = list(args)
    result["diff"] = {"before_header": "grubby (owned arguments of every kernel)", "after_header": "grubby",
                      "before": "\n".join(before) + "\n", "after": " ".join(args) + "\n"}
    if not commands:
        return
    result["changed"] = True
    if check_mode:
        return
    for command in commands:
        target.run([tool] + command)
    kernels = parse_grubby_info(target.run([tool, "--info=ALL"]))
    wrong = [" ".join(owned(kernel, keys)) for kernel in kernels if owned(kernel, keys) != list(args)]
    if wrong:
        raise TuningError("grubby did not set %s on every kernel: some carry %r" % (" ".join(args), wrong[0]))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            args=dict(type="list", elements="str", default=[]),
            keys=dict(type="list", elements="str", no_log=False),
            bootloader=dict(type="str", choices=["auto", "grub", "grubby", "none"], default="auto"),
            root=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    target = BootTarget(module, params["root"])
    result = dict(changed=False, commands=[], warnings=[])
    try:
        args, keys = check_request(params["name"], params["args"], params["keys"])
        bootloader = params["bootloader"]
        if bootloader == "auto":
            if target.tool("grubby"):
                bootloader = "grubby"
            elif target.tool("update-grub", "grub-mkconfig") or os.path.exists(target.path("/etc/default/grub")):
                bootloader = "grub"
            elif not args and not os.path.exists(target.path("/etc/default/grub.d/%s.cfg" % params["name"])):
                bootloader = "none"  # nothing wanted and nothing of ours to remove: no bootloader needed
            else:
                raise TuningError("bootloader: 'auto' found neither grubby nor update-grub under %s; set bootloader "
                                  "to grub or grubby, or to none to compute the arguments only" % target.root)
        result.update(bootloader=bootloader, args=args, keys=keys)
        if bootloader == "grub":
            grub(target, params["name"], args, keys, module.check_mode, result)
        elif bootloader == "grubby":
            grubby(target, args, keys, module.check_mode, result)
        else:
            result["boot_args"] = list(args)
        result["cmdline_args"] = owned(split_args(target.read("/proc/cmdline", "")), keys)
        result["reboot_required"] = reboot_required(result["cmdline_args"], result["boot_args"], keys)
    except TuningError as exc:
        result.pop("warnings")
        module.fail_json(msg=str(exc), **result)
    if not module._diff:
        result.pop("diff", None)
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
