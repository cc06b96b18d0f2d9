# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vcpus area: <vcpu> (maximum, current, placement, cpuset) and <vcpus> (per-vCPU state).

Canonical form (what is compared):
- ``current`` is None when every vCPU is enabled (libvirt leaves the attribute out then);
- ``vcpus`` is empty when the domain has no <vcpus> list, else it holds every id
  0..maximum-1 with enabled and hotpluggable filled in the way libvirt fills them
  (an enabled vCPU without a value is not hotpluggable, a disabled one is).
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import live_ops
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area, LiveOp, NotLive
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import (
    Attr, Bool, CpuSet, Enum, Int, Items, Request, SetOf, Text,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.guest_memory import guest_cells
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import MAX_VCPUS, bounded_int
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.rules import cpu_model_name

# CPU models whose vCPUs QEMU here refuses to unplug from a running guest (QEMU 7.2: "acpi: device
# unplug request for not supported device type: kvm64-x86_64-cpu"); known before trying.
NO_VCPU_UNPLUG_MODELS = ("kvm64",)


# libvirt's VIR_DOMAIN_CPUMASK_LEN (engine/limits.py): refused before any per-vCPU work is done
VCPU_COUNT = Int(1, MAX_VCPUS, rule="must be between 1 and %d (libvirt's vCPU id limit, VIR_DOMAIN_CPUMASK_LEN; "
                 "the machine type's own maximum is checked when connected)" % MAX_VCPUS)

FIELDS = [
    Text("maximum", "vcpu", VCPU_COUNT),
    Attr("current", "current", VCPU_COUNT, path="vcpu"),
    Attr("placement", "placement", Enum("static", "auto"), path="vcpu", default="static"),
    Attr("cpuset", "cpuset", CpuSet(), path="vcpu"),
    Items("vcpus", "vcpus/vcpu", [
        Attr("id", "id", Int(0)),
        Attr("enabled", "enabled", Bool()),
        Attr("hotpluggable", "hotpluggable", Bool()),
        Attr("order", "order", Int(1)),
    ], key="id"),
    Request("enable_cells", SetOf(Int(0))),
]


def fill_in(values, _root):
    """libvirt leaves <vcpu current> out when every vCPU is enabled."""
    maximum = values["maximum"] if isinstance(values["maximum"], int) else None
    if values["current"] == maximum:
        values["current"] = None
    return values


def adjust_target(result, view):
    """Keep <vcpu current>, the per-vCPU list and enable_cells consistent."""
    desired, state = view.desired, view.state
    if state == "deleted" and desired.get("maximum") is not None:
        raise TuningError("maximum: cannot be deleted: libvirt requires a vCPU count (set another value)")
    if desired.get("enable_cells") is not None and state == "deleted":
        raise TuningError("enable_cells: not valid with state deleted (use merged or replaced)")
    if state == "deleted" and desired.get("vcpus") is not None:
        # Without <vcpus>, libvirt enables the first `current` vCPUs again.
        result["vcpus"] = []
    if desired.get("current") is None and isinstance(result["current"], int) and isinstance(
            result["maximum"], int) and result["current"] > result["maximum"]:
        result["current"] = None  # a lower maximum takes the count down with it, as virsh setvcpus does
    if state == "deleted" and desired.get("current") is not None and isinstance(result["maximum"], int):
        # deleting the count is libvirt's default: every vCPU online (the given value names what goes)
        desired = dict(desired, current=result["maximum"])
    result = _reconcile_counts(view.current, desired, result, state, view.root)
    result["enable_cells"] = None  # acted on above; nothing of its own to keep
    return result


def _online(values):
    """The enabled vCPU ids of canonical ``values``."""
    maximum = values["maximum"] if isinstance(values["maximum"], int) else 1
    if values.get("vcpus"):
        return {item["id"] for item in values["vcpus"] if item.get("enabled")}
    count = values["current"] if values["current"] is not None else maximum
    return set(range(count))


def _reconcile_counts(current, desired, target, state, root):
    """Make current, the per-vCPU list and enable_cells agree (see the module notes)."""
    maximum = target["maximum"] if isinstance(target["maximum"], int) else 1
    if target["current"] is not None and target["current"] > maximum:
        raise TuningError("current: %d is not valid: it is above maximum %d (raise maximum or lower current)"
                          % (target["current"], maximum))
    given_list = desired.get("vcpus") or []
    for index, item in enumerate(given_list):
        if item["id"] >= maximum:
            raise TuningError("vcpus[%d].id: %d is not valid: the guest has %d vCPUs (0-%d)"
                              % (index, item["id"], maximum, maximum - 1))
    explicit = {item["id"]: item["enabled"] for item in given_list if item.get("enabled") is not None}
    cells = desired.get("enable_cells")
    if cells is not None:
        explicit = _cell_states(cells, guest_cells(root), maximum, explicit)
    if not target["vcpus"] and cells is None:
        if target["current"] == maximum:
            target["current"] = None
        return target

    # Inherited states: what the XML says now (merged), nothing (replaced).
    inherited = {}
    if state != "replaced":
        if current.get("vcpus"):
            inherited = {item["id"]: bool(item.get("enabled")) for item in current["vcpus"]}
        elif isinstance(current["maximum"], int):
            online = _online(current)
            inherited = {i: i in online for i in range(current["maximum"])}
    wanted = desired.get("current")
    if wanted is None and state == "merged" and not explicit:
        wanted = target["current"] if target["current"] is not None else maximum
    default = wanted is None  # new ids: enabled unless a count is asked for (then filled below)
    states = {i: explicit.get(i, inherited.get(i, default)) for i in range(maximum)}
    if wanted is not None:
        _fill_to(states, wanted, set(explicit), maximum)
    previous = {item["id"]: item for item in (current.get("vcpus") or [])}
    given = {item["id"]: item for item in given_list}
    items = []
    for i in range(maximum):
        mine, old = given.get(i, {}), previous.get(i, {})
        old_hot = old.get("hotpluggable")
        if old_hot is None and i in inherited:
            old_hot = not inherited[i]  # what libvirt fills in for the vCPUs it holds now
        hotpluggable = mine.get("hotpluggable")
        if hotpluggable is None and old_hot is not None and not (old_hot is False and not states[i]):
            # a vCPU keeps its hot-plug nature when it is plugged or unplugged (as libvirt does live)
            hotpluggable = old_hot
        if hotpluggable is None:
            # libvirt's own default; a disabled vCPU must be hotpluggable
            hotpluggable = not states[i]
        order = mine.get("order") if mine.get("order") is not None else old.get("order")
        items.append({"id": i, "enabled": states[i], "hotpluggable": hotpluggable, "order": order})
    enabled = sum(1 for item in items if item["enabled"])
    target["vcpus"] = items
    target["current"] = None if enabled == maximum else enabled
    return target


def _cell_states(cells, numa, maximum, explicit):
    if not numa:
        raise TuningError("enable_cells: %s is not valid: the guest has no NUMA cells (<cpu><numa>); "
                          "define them with the numa module first" % cells)
    unknown = [c for c in cells if c not in numa]
    if unknown:
        raise TuningError("enable_cells: %s is not valid: the guest has no NUMA cell %s (cells: %s)"
                          % (cells, ", ".join(str(c) for c in unknown), ", ".join(str(c) for c in sorted(numa))))
    wanted = set()
    for cell in cells:
        wanted |= set(numa[cell]["cpus"])
    if 0 not in wanted:
        owner = [c for c in sorted(numa) if 0 in numa[c]["cpus"]]
        raise TuningError("enable_cells: %s is not valid: vCPU 0 (in cell %s) cannot be disabled; include that cell"
                          % (cells, owner[0] if owner else "none"))
    states = {i: i in wanted for i in range(maximum)}
    clash = [i for i, on in explicit.items() if states.get(i) != on]
    if clash:
        raise TuningError("vcpus: enabled states for vCPUs %s contradict enable_cells %s; give one or the other"
                          % (format_cpuset(clash), cells))
    return states


def _fill_to(states, wanted, fixed, maximum):
    """Enable or disable vCPUs the task did not name until ``wanted`` are enabled."""
    count = sum(1 for on in states.values() if on)
    for i in range(maximum):  # lowest ids first, as libvirt's setvcpus does
        if count >= wanted:
            break
        if not states[i] and i not in fixed:
            states[i], count = True, count + 1
    for i in reversed(range(1, maximum)):  # highest ids leave first; vCPU 0 never does
        if count <= wanted:
            break
        if states[i] and i not in fixed:
            states[i], count = False, count - 1
    if count != wanted:
        raise TuningError("vcpus: the enabled vCPUs (%s) do not add up to current %d; enable or disable "
                          "vCPUs so that %d are enabled, or change current"
                          % (format_cpuset([i for i in states if states[i]]) or "none", wanted, wanted))


def validate(target, ctx):
    """Rules on the final XML: vCPU 0, placement and cpuset (topology and vCPU ids: engine/rules.py)."""
    maximum = target["maximum"] if isinstance(target["maximum"], int) else 1
    for item in target["vcpus"] or []:
        if item["id"] == 0 and not item["enabled"]:
            raise TuningError("vcpus: disabling vCPU 0 is not valid: vCPU 0 must stay enabled")
        if item["id"] == 0 and item["hotpluggable"]:
            raise TuningError("vcpus: vCPU 0 with hotpluggable true is not valid: vCPU 0 cannot be unplugged")
        if not item["enabled"] and item["hotpluggable"] is False:
            raise TuningError("vcpus: vCPU %d disabled and not hotpluggable is not valid: a disabled vCPU "
                              "must be hotpluggable" % item["id"])
    _check_vcpu_order(target["vcpus"] or [])
    _check_machine_limit(maximum, ctx)
    if target["placement"] == "auto" and target["cpuset"] is not None:
        raise TuningError("cpuset: %r is not valid with placement auto (libvirt then ignores cpuset and asks "
                          "numad); drop cpuset or use placement static" % target["cpuset"])
    ctx.check_host_cpus("cpuset", target["cpuset"])
    return []


def _check_vcpu_order(items):
    """src/qemu/qemu_domain.c qemuDomainDefVcpusPostParse: the vCPUs plugged at boot come first, in order."""
    items = sorted(items, key=lambda item: item["id"])
    if not items:
        return
    first = items[0]
    if first["id"] == 0 and first.get("order") not in (None, 1):
        raise TuningError("vcpus: vCPU 0 with order %d is not valid: vCPU 0 must be enabled first (order 1 or none)"
                          % first["order"])
    ordered = [item["id"] for item in items if item["enabled"] and item.get("order") is not None]
    unordered = [item["id"] for item in items if item["enabled"] and item.get("order") is None]
    if ordered and unordered:
        raise TuningError("vcpus: enabled vCPUs %s have an order and %s have none: libvirt needs an order on every "
                          "enabled vCPU or on none" % (format_cpuset(ordered), format_cpuset(unordered)))
    previous = None
    for item in items:
        if item["hotpluggable"] is False and previous is not None:
            if previous["hotpluggable"]:
                raise TuningError("vcpus: vCPU %d (enabled, hotpluggable false) after hotpluggable vCPU %d is not "
                                  "valid: libvirt needs the vCPUs plugged at boot (hotpluggable false) first; make "
                                  "vCPU %d hotpluggable, or give the boot vCPUs the lowest ids"
                                  % (item["id"], previous["id"], item["id"]))
            if (previous.get("order") or 0) > (item.get("order") or 0):
                raise TuningError("vcpus: vCPU %d has order %s, below vCPU %d's order %s: libvirt needs the vCPUs "
                                  "plugged at boot in ascending order"
                                  % (item["id"], item.get("order"), previous["id"], previous.get("order")))
        previous = item


def _check_machine_limit(maximum, ctx):
    """src/qemu/qemu_validate.c qemuValidateDomainVCpuTopology: the machine type's maximum (domain capabilities)."""
    caps = ctx.host("domain_capabilities")
    limit = caps.find("vcpu") if caps is not None else None
    if limit is not None and bounded_int(limit.get("max")) is not None and maximum > bounded_int(limit.get("max")):
        raise TuningError("maximum: %d is not valid on this host: the machine type %s takes at most %s vCPUs (Maximum "
                          "CPUs greater than specified machine type limit)"
                          % (maximum, caps.findtext("machine") or "of the guest", limit.get("max")))


# --------------------------------------------------------------------------- live

def live_maximum(values, view):
    raise NotLive("the maximum number of vCPUs changes at the next boot")


def live_current(values, view):
    target, live = values.target, values.live
    if target["vcpus"]:
        return live_vcpus(values, view)  # the per-vCPU list names the exact ids to enable and disable
    live_max = live["maximum"] if isinstance(live["maximum"], int) else 0
    count = target["current"] if target["current"] is not None else target["maximum"]
    if count > live_max:
        raise NotLive("%d vCPUs need the new maximum, which applies at the next boot" % count)
    online = sorted(_online(live))
    leaving = online[count:]  # libvirt's setvcpus removes the highest ids
    if leaving:
        _check_unplug(leaving, live, view)
    return [LiveOp(live_ops.SET_VCPUS, (count,), "set the number of vCPUs to %d" % count)]


def _check_unplug(ids, live, view):
    """Refuse, before trying, an unplug that the running guest cannot do."""
    live_hot = {item["id"]: item.get("hotpluggable") for item in live["vcpus"] or []}
    fixed = [i for i in ids if live_hot.get(i) is not True]  # no live list: all were plugged at boot
    if fixed:
        raise NotLive("vCPUs %s were plugged at boot and cannot be unplugged from the running guest"
                      % format_cpuset(fixed))
    model = cpu_model_name(view.live_root) if view.live_root is not None else None
    if model in NO_VCPU_UNPLUG_MODELS:
        raise NotLive("QEMU cannot unplug vCPUs %s of CPU model %s from the running guest"
                      % (format_cpuset(ids), model))


def live_vcpus(values, view):
    target, live = values.target["vcpus"], values.live
    if not target:
        return []
    live_on = _online(live)
    live_max = live["maximum"] if isinstance(live["maximum"], int) else 1
    target_on = {item["id"] for item in target if item["enabled"]}
    plugs = sorted(target_on - live_on)
    unplugs = sorted(live_on - target_on)
    beyond = [i for i in plugs if i >= live_max]
    if beyond:
        raise NotLive("vCPUs %s need the new maximum, which applies at the next boot" % format_cpuset(beyond))
    if unplugs:
        _check_unplug(unplugs, live, view)
    live_hot = {item["id"]: item.get("hotpluggable") for item in live["vcpus"] or []}
    # Only a vCPU that must become unpluggable waits for a boot; one plugged live is
    # hotpluggable until then and a boot vCPU afterwards, which changes nothing for the guest.
    changed_hot = [item["id"] for item in target if item["hotpluggable"] and live_hot.get(item["id"]) is False]
    # one vCPU a call: libvirt's setVcpu takes one hotpluggable entity at a time
    ops = [LiveOp(live_ops.SET_VCPU, (str(i), False), "disable vCPUs %d" % i) for i in unplugs]
    ops += [LiveOp(live_ops.SET_VCPU, (str(i), True), "enable vCPUs %d" % i) for i in plugs]
    if changed_hot and not ops:
        raise NotLive("hotpluggable of vCPUs %s changes at the next boot" % format_cpuset(changed_hot))
    return ops


LIVE = {"maximum": live_maximum, "current": live_current, "vcpus": live_vcpus}


AREA = Area("vcpus", FIELDS, diff_paths=["vcpu", "vcpus"], validate=validate, live=LIVE, keep=("maximum",),
            fill_in=fill_in, adjust_target=adjust_target, description="vCPUs: <vcpu> and <vcpus>",
            managed_with={"enable_cells": ("vcpus", "current"), "current": ("vcpus",)})
