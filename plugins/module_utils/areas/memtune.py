# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The memtune area: <memtune> (cgroup memory limits of the guest)."""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.guest_memory import UNLIMITED_KIB, memory_bytes
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import live_ops
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area, LiveOp, NotLive
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import UNLIMITED, Size

# option -> key of virDomainSetMemoryParameters (values in KiB)
MEMORY_PARAMS = {"hard_limit": "hard_limit", "soft_limit": "soft_limit", "swap_hard_limit": "swap_hard_limit"}

FIELDS = [
    Size("hard_limit", "memtune/hard_limit", unlimited=True),
    Size("soft_limit", "memtune/soft_limit", unlimited=True),
    Size("swap_hard_limit", "memtune/swap_hard_limit", unlimited=True),
    Size("min_guarantee", "memtune/min_guarantee"),
]


def _limit(value):
    """A limit in bytes, or None for no limit."""
    return None if value is None or value == UNLIMITED else value


def validate(target, ctx):
    """Rules on the whole memtune target (and the connection's hypervisor)."""
    warnings = []
    hard, swap = _limit(target["hard_limit"]), _limit(target["swap_hard_limit"])
    if hard is not None and swap is not None and swap < hard:
        raise TuningError("swap_hard_limit: %r is not valid: it must be at least hard_limit (%s); "
                          "swap_hard_limit limits memory plus swap" % (format_size(swap), format_size(hard)))
    if target["min_guarantee"] is not None:
        if ctx.connected and ctx.hypervisor == "qemu":
            raise TuningError("min_guarantee: %r is not valid: libvirt supports min_guarantee only for VMware ESX "
                              "and OpenVZ guests, not on this QEMU/KVM connection"
                              % format_size(target["min_guarantee"]))
        if not ctx.connected and ctx.root.get("type") in ("kvm", "qemu"):
            warnings.append("min_guarantee: QEMU/KVM guests do not support it (libvirt accepts it only for "
                            "VMware ESX and OpenVZ); defining this XML on a QEMU/KVM host will fail")
    memory = memory_bytes(ctx.root)
    if hard is not None and memory is not None and hard < memory:
        warnings.append("hard_limit: %s is below the guest's memory (%s): the guest, QEMU's own memory included, "
                        "will be killed or swapped when it uses it" % (format_size(hard), format_size(memory)))
    return warnings


# --------------------------------------------------------------------------- live

def _kib(value):
    limit = _limit(value)
    return UNLIMITED_KIB if limit is None else limit // 1024


def _shown(kib):
    return "unlimited" if kib == UNLIMITED_KIB else "%d KiB" % kib


def _limits_op(target, names):
    """One setMemoryParameters call for ``names``; libvirt orders hard and swap limits within one call."""
    params = {MEMORY_PARAMS[name]: _kib(target[name]) for name in names}
    text = "set memory parameters %s" % ", ".join("%s=%s" % (key, _shown(params[key])) for key in sorted(params))
    return [LiveOp(live_ops.SET_MEMORY_PARAMETERS, (params,), text)]


def live_soft_limit(values, view):
    return _limits_op(values.target, ["soft_limit"])


def live_hard_or_swap_limit(values, view):
    # libvirt checks hard_limit <= swap_hard_limit against the running values unless both come in one call
    return _limits_op(values.target, ["hard_limit", "swap_hard_limit"])


def live_min_guarantee(values, view):
    raise NotLive("libvirt cannot change min_guarantee of a running guest")


LIVE = {"hard_limit": live_hard_or_swap_limit, "swap_hard_limit": live_hard_or_swap_limit,
        "soft_limit": live_soft_limit, "min_guarantee": live_min_guarantee}

AREA = Area("memtune", FIELDS, diff_paths=["memtune"], validate=validate, live=LIVE,
            description="Memory limits: <memtune>")
