# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel arguments owned by a role: parsing, bootloader files and what a reboot would change.

An owner (a role) owns a set of argument *keys* (``isolcpus``, ``hugepages``, ...).
It states the arguments it wants; every argument with one of its keys that it
does not want is removed, and no other argument is ever touched. Pure code:
the module (plugins/modules/kernel_cmdline.py) does the file and command I/O.
"""

from __future__ import annotations

import re

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import option_error

BOOTLOADERS = ("auto", "grub", "grubby", "none")
# The variables update-grub puts on the kernel's line, in that order.
GRUB_VARIABLES = ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ARG = re.compile(r"^[^\s\"'=]+(=[^\s\"'\\$`]+)?$")
_ASSIGN = re.compile(r"^\s*(?:export\s+)?(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(.*)$")
_VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[+-]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def split_args(text):
    """Split a kernel command line into arguments, as the kernel does.

    Whitespace separates arguments, double quotes keep spaces inside one
    argument, and everything after a lone ``--`` belongs to init, not the kernel.
    """
    args, current, quoted, started = [], [], False, False
    for char in text or "":
        if char == '"':
            quoted = not quoted
            current.append(char)
            started = True
        elif char.isspace() and not quoted:
            if started:
                args.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        args.append("".join(current))
    if "--" in args:
        args = args[:args.index("--")]
    return args


def arg_key(arg):
    """The key of an argument: 'isolcpus' for 'isolcpus=2-3', 'nosmt' for 'nosmt'."""
    return arg.split("=", 1)[0]


def owned(args, keys):
    """The arguments whose key is in ``keys``, in their order."""
    keys = set(keys)
    return [arg for arg in args if arg_key(arg) in keys]


def check_request(name, args, keys):
    """Validate the module's request; returns (args, keys) as lists. Raises TuningError."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise option_error("name", name, "use letters, digits, '.', '_' and '-' (it names a file)")
    args = list(args or [])
    for arg in args:
        if not isinstance(arg, str) or not _ARG.match(arg):
            raise option_error("args", arg, "a kernel argument is 'key' or 'key=value' without spaces, quotes or '$'")
    keys = list(keys) if keys else []
    for key in keys:
        if not isinstance(key, str) or not key or "=" in key or any(c.isspace() for c in key):
            raise option_error("keys", key, "a key is an argument name such as isolcpus, without '=' or spaces")
    if not keys:
        keys = []
        for arg in args:
            if arg_key(arg) not in keys:
                keys.append(arg_key(arg))
    for arg in args:
        if arg_key(arg) not in keys:
            raise option_error("args", arg, "its key %r is not in keys %s" % (arg_key(arg), ", ".join(keys)))
    return args, keys


def grub_dropin_text(name, args):
    """The /etc/default/grub.d drop-in that appends ``args`` to the default entries' line."""
    return (
        "# Managed by virtuned.libvirt (%s): kernel arguments it owns. Changes here are overwritten.\n"
        'GRUB_CMDLINE_LINUX_DEFAULT="${GRUB_CMDLINE_LINUX_DEFAULT:+$GRUB_CMDLINE_LINUX_DEFAULT }%s"\n'
        % (name, " ".join(args))
    )


def _unquote(value, env):
    """Evaluate the right side of a simple shell assignment (quotes and $VAR references)."""
    value = value.strip()
    if value.startswith("'"):
        end = value.find("'", 1)
        return value[1:end if end > 0 else len(value)]
    if value.startswith('"'):
        end = 1
        while end < len(value) and (value[end] != '"' or value[end - 1] == "\\"):
            end += 1
        value = value[1:end]
    else:
        value = value.split("#", 1)[0].strip()

    def expand(match):
        name = match.group(1) or match.group(3)
        current = env.get(name, "")
        if match.group(2) is not None:
            operator = match.group(0)[len(name) + 3]
            if operator == "+":
                return _VAR_REF.sub(expand, match.group(2)) if current else ""
            return current or match.group(2)
        return current

    return _VAR_REF.sub(expand, value)


def grub_default_args(files):
    """The arguments update-grub would put on the default entries, from /etc/default/grub and drop-ins.

    ``files`` is a list of file texts in the order grub sources them. Only plain
    assignments of GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT are read.
    """
    env = {}
    for text in files:
        for line in text.splitlines():
            match = _ASSIGN.match(line)
            if match:
                env[match.group(1)] = _unquote(match.group(2), env)
    args = []
    for variable in GRUB_VARIABLES:
        args.extend(split_args(env.get(variable, "")))
    return args


def grub_cfg_args(text):
    """The arguments of the first ``linux`` line of a generated grub.cfg (the default entry), or None."""
    for line in (text or "").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in ("linux", "linux16", "linuxefi"):
            return split_args(" ".join(words[2:]))
    return None


def parse_grubby_info(text):
    """Arguments of every kernel in ``grubby --info=ALL`` output: a list of lists."""
    kernels = []
    for line in (text or "").splitlines():
        if line.startswith("args="):
            value = line[len("args="):].strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            kernels.append(split_args(value))
    return kernels


def grubby_commands(kernels, args, keys):
    """grubby argument lists that make every kernel carry exactly ``args`` among ``keys``.

    Returns [] when every kernel already does. Otherwise removes the owned
    arguments found on any kernel, then adds the wanted ones.
    """
    if kernels and all(owned(kernel, keys) == list(args) for kernel in kernels):
        return []
    commands = []
    present = []
    for kernel in kernels:
        for arg in owned(kernel, keys):
            if arg not in present:
                present.append(arg)
    if present:
        commands.append(["--update-kernel=ALL", "--remove-args=%s" % " ".join(present)])
    if args:
        commands.append(["--update-kernel=ALL", "--args=%s" % " ".join(args)])
    return commands


def reboot_required(cmdline_args, boot_args, keys):
    """True when the next boot's owned arguments differ from the running kernel's."""
    return owned(cmdline_args, keys) != owned(boot_args, keys)
