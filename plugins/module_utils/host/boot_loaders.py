# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot loaders: the kernel arguments an owner sets, written through grub drop-ins or grubby.

The pure argument rules are in host/kernel_cmdline.py; this file touches the system under
``root`` (files, and the bootloader tool run through ``run_command``). The kernel_cmdline
module is its documentation plus one call to converge_kernel_args().
"""

from __future__ import annotations

import os

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.kernel_cmdline import (
    check_request, grub_cfg_args, grub_default_args, grub_dropin_text, grubby_commands, owned,
    parse_grubby_info, reboot_required, split_args)

BOOTLOADERS = ("auto", "grub", "grubby", "none")

_TOOL_DIRS = ("usr/sbin", "usr/bin", "sbin", "bin")


class BootTarget:
    """Files and tools of the system under ``root``."""

    def __init__(self, run_command, root):
        self.run_command = run_command  # AnsibleModule.run_command: (argv) -> (rc, out, err)
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
        rc, out, err = self.run_command(command)
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
    generated_args = None if generated is None else owned(grub_cfg_args(generated) or [], keys)
    needs_update = before != after or (generated is not None and generated_args != owned(boot_args, keys))
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


def converge_kernel_args(params, run_command, check_mode):
    """Make the boot configuration under ``params['root']`` carry exactly ``params['args']`` among the
    owner's keys. Returns (result, warnings); raises TuningError with ``exc.result`` (what was found
    and done so far) on a refusal."""
    target = BootTarget(run_command, params["root"])
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
            grub(target, params["name"], args, keys, check_mode, result)
        elif bootloader == "grubby":
            grubby(target, args, keys, check_mode, result)
        else:
            result["boot_args"] = list(args)
        result["cmdline_args"] = owned(split_args(target.read("/proc/cmdline", "")), keys)
        result["reboot_required"] = reboot_required(result["cmdline_args"], result["boot_args"], keys)
    except TuningError as exc:
        result.pop("warnings")
        exc.result = result
        raise
    warnings = result.pop("warnings")
    return result, warnings
