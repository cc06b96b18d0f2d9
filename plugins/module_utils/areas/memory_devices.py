# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The memory_devices area: <memory>, <currentMemory>, <maxMemory> and DIMMs (<memory model='dimm'>).

libvirt's <memory> is the guest's total memory, DIMMs included. A task that changes the DIMMs
without giving ``memory`` moves <memory> by the DIMMs' sizes, as libvirt itself would.
DIMMs are matched by size and node, and by slot when the task gives one: libvirt assigns a
slot to a DIMM defined without one, and that DIMM still matches the task that created it.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.guest_memory import (
    dimm_elements, element_size, guest_cells, other_memory_devices,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import live_ops
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area, LiveOp, LivePending, NotLive
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import Attr, Group, Int, Items, Size, Text
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import (
    ensure_path, etree, find_path, insert_child, to_string,
)


# QEMU refuses to hot-plug a DIMM whose size is not a multiple of this (x86-64: "backend memory size
# must be multiple of 0x200000")
DIMM_ALIGNMENT = 2 * 1024 * 1024


class TotalMemory(Size):
    """<memory>; a <currentMemory> equal to it (a full balloon) follows it when it changes."""

    def write(self, context, value):
        old = element_size(find_path(context, self.path))
        current = find_path(context, "currentMemory")
        follows = current is not None and element_size(current) == old
        super().write(context, value)
        if follows and value is not None:
            Size("current_memory", "currentMemory").write(context, value)


class BalloonTarget(Size):
    """<currentMemory>; None when the balloon is full (equal to <memory>, which libvirt fills in)."""

    def read(self, context):
        value = super().read(context)
        return None if value is not None and value == element_size(find_path(context, "memory")) else value


class Dimms(Items):
    """<devices><memory model='dimm'>, matched by size and node (and slot when given); others untouched."""

    def __init__(self, name):
        super().__init__(name, "devices/memory", [
            Size("size", "target/size", required=True),
            Text("node", "target/node", Int(0)),
            Attr("slot", "slot", Int(0), path="address"),
        ])

    def read(self, context):
        return [{f.name: f.read(elem) for f in self.fields} for elem in dimm_elements(context)]

    def normalise(self, value, option):
        items = super().normalise(value, option)
        for index, item in enumerate(items or []):
            if not item.get("size"):
                raise TuningError("%s[%d].size: required: the DIMM's size (above zero)" % (option, index))
        return items

    def comparable(self, value):
        # repr orders None (no slot, no node) among ints without comparing them
        return tuple(sorted(((item.get("size"), item.get("node"), item.get("slot")) for item in (value or [])),
                            key=repr))

    def merge(self, current, desired):
        return current if desired is None else adopt_slots(current, desired)

    def holds(self, held, wanted):
        """A DIMM asked for without a slot is held in the slot libvirt gave it."""
        held, wanted = held or [], wanted or []
        return len(held) == len(wanted) and len(match_dimms(held, wanted)) == len(wanted)

    def delete(self, current, given):
        left = list(current or [])
        for pair in match_dimms(left, given or []):
            left[pair[0]] = None
        return [item for item in left if item is not None]

    def write(self, context, value):
        value = value or []
        elems = dimm_elements(context)
        pairs = dict((want, have) for have, want in match_dimms(
            [{f.name: f.read(elem) for f in self.fields} for elem in elems], value))
        used = set(pairs.values())
        for index, elem in enumerate(elems):
            if index not in used:
                elem.getparent().remove(elem)
        devices = ensure_path(context, "devices") if value else find_path(context, "devices")
        for index, item in enumerate(value):
            if index in pairs:
                elem = elems[pairs[index]]
                if item.get("slot") is not None:
                    address = elem.find("address")
                    if address is None:
                        address = etree.SubElement(elem, "address", type="dimm")
                    address.set("slot", str(item["slot"]))
                continue
            insert_child(devices, dimm_element(item))

    def to_options(self, value):
        shown = []
        for item in value or []:
            size = item.get("size")
            entry = {"size": format_size(size) if isinstance(size, int) else size,
                     "node": item.get("node"), "slot": item.get("slot")}
            shown.append({key: val for key, val in entry.items() if val is not None})
        return shown


def dimm_element(item):
    """A new <memory model='dimm'> element for a DIMM item."""
    elem = etree.Element("memory", model="dimm")
    target = etree.SubElement(elem, "target")
    size = etree.SubElement(target, "size", unit="KiB")
    size.text = str(item["size"] // 1024)
    if item.get("node") is not None:
        etree.SubElement(target, "node").text = str(item["node"])
    if item.get("slot") is not None:
        etree.SubElement(elem, "address", type="dimm", slot=str(item["slot"]))
    return elem


def _same(have, want, slot):
    return have.get("size") == want.get("size") and have.get("node") == want.get("node") and \
        (not slot or have.get("slot") == want.get("slot"))


def match_dimms(have, want):
    """Pairs (index in have, index in want): exact slot matches first, then DIMMs the task gave no slot."""
    pairs, taken = [], set()
    for slotted in (True, False):
        for w_index, item in enumerate(want):
            if (item.get("slot") is not None) != slotted or w_index in {pair[1] for pair in pairs}:
                continue
            for h_index, existing in enumerate(have):
                if h_index not in taken and _same(existing, item, slotted):
                    pairs.append((h_index, w_index))
                    taken.add(h_index)
                    break
    return pairs


def adopt_slots(current, desired):
    """The task's DIMMs, those without a slot taking the slot libvirt gave the matching current DIMM."""
    result = [dict(item) for item in desired]
    for h_index, w_index in match_dimms(current or [], desired):
        if result[w_index].get("slot") is None:
            result[w_index]["slot"] = current[h_index].get("slot")
    return result


def _total(dimms):
    return sum(item.get("size") or 0 for item in dimms or [])


def adjust_target(target, view):
    """<memory> follows the DIMMs unless the task sets it; a full balloon reads as no balloon target."""
    current, desired = view.current, view.desired
    if view.state != "merged" and target.get("dimms"):
        target["dimms"] = adopt_slots(current.get("dimms"), target["dimms"])
    if desired.get("memory") is None and isinstance(current.get("memory"), int):
        target["memory"] = current["memory"] - _total(current.get("dimms")) + _total(target.get("dimms"))
    if target.get("current_memory") is not None and target["current_memory"] == target.get("memory"):
        target["current_memory"] = None
    return target


FIELDS = [
    TotalMemory("memory", "memory"),
    Group("max_memory", "maxMemory", [
        Attr("slots", "slots", Int(1, 255)),  # first, so that the XML reads like libvirt's
        Size("size", "."),
    ]),
    Dimms("dimms"),
    BalloonTarget("current_memory", "currentMemory"),
]


def validate(target, ctx):
    """Memory, balloon, hot-plug ceiling and DIMMs against each other and the guest's NUMA cells.

    libvirt counts every memory device toward <memory> (virDomainDefPostParseMemory,
    src/conf/domain_postparse.c): the nvdimm, virtio-mem and virtio-pmem devices this area leaves
    alone are counted here as libvirt counts them.
    """
    memory, dimms = target["memory"], target["dimms"] or []
    maximum = target["max_memory"]
    if maximum is not None and all(value is None for value in maximum.values()):
        maximum = None  # max_memory: {} sets nothing
    cells = guest_cells(ctx.root)
    if memory is None:
        raise TuningError("memory: cannot be deleted: libvirt requires the guest's memory (memory size must be "
                          "specified via <memory> or in the <numa> configuration); set another value")
    if not isinstance(memory, int):
        return []
    others = other_memory_devices(ctx.root)
    other_total = sum(others.values())
    devices = _total(dimms) + other_total
    base = memory - devices
    if target["current_memory"] is not None and target["current_memory"] > memory:
        raise TuningError("current_memory: %r is not valid: the balloon target cannot exceed the guest's memory (%s)"
                          % (format_size(target["current_memory"]), format_size(memory)))
    if base <= 0:
        if other_total:
            raise TuningError("memory: %r is not valid: the memory devices alone are %s (DIMMs %s, %s); memory is the "
                              "total, memory devices included"
                              % (format_size(memory), format_size(devices), format_size(_total(dimms)),
                                 ", ".join("%s %s" % (model, format_size(size)) for model, size in sorted(others.items()))))
        raise TuningError("memory: %r is not valid: the DIMMs alone are %s; memory is the total, DIMMs included"
                          % (format_size(memory), format_size(_total(dimms))))
    for option, given in (("max_memory", maximum), ("dimms", dimms)):
        if given and not cells and _needs_cells(ctx):
            raise TuningError("%s: memory hot-plug needs guest NUMA cells, and the guest has none "
                              "(set them with virtuned.libvirt.numa)" % option)
    if maximum is not None:
        if maximum.get("size") is None or maximum.get("slots") is None:
            raise TuningError("max_memory: %r is not valid: give both size and slots" % (maximum,))
        if maximum["size"] <= base:
            raise TuningError("max_memory.size: %r is not valid: it must be above the guest's memory (%s%s)"
                              % (format_size(maximum["size"]), format_size(base),
                                 " without its DIMMs" if dimms else ""))
    _check_hotplug(maximum, dimms, others, ctx, cells, memory, base, devices)
    if dimms:
        _check_dimms(target, ctx, cells, base, devices)
    return []


def _needs_cells(ctx):
    """QEMU enables memory hot-plug with guest NUMA cells only, except on ppc64 (qemuDomainDefValidateMemoryHotplug)."""
    os_type = ctx.root.find("os/type")
    arch = os_type.get("arch") if os_type is not None else None
    return not (arch or "").startswith("ppc64")


def _dimm_alignment(ctx):
    """QEMU's DIMM size alignment in bytes: 2 MiB, 256 MiB on ppc64 (qemuDomainGetMemoryModuleSizeAlignment,
    src/qemu/qemu_domain.c). libvirt rounds DIMMs up to it at boot; a hot-plugged DIMM that is not aligned
    is refused by QEMU ("backend memory size must be multiple of 0x200000")."""
    os_type = ctx.root.find("os/type")
    arch = os_type.get("arch") if os_type is not None else None
    return 256 * 1024 * 1024 if arch and arch.startswith("ppc64") else 2 * 1024 * 1024


def _check_hotplug(maximum, dimms, others, ctx, cells, memory, base, devices):
    """src/qemu/qemu_domain.c qemuDomainDefValidateMemoryHotplug: every memory device (not only the DIMMs)
    needs max_memory, takes a slot, and fits below the ceiling."""
    count = len(dimms) + sum(1 for elem in ctx.root.findall("devices/memory") if elem.get("model") != "dimm")
    what = "DIMMs" if not others else "memory devices (%d DIMMs, %s)" % (len(dimms), ", ".join(sorted(others)))
    if count and maximum is None:
        if not others:
            raise TuningError("dimms: DIMMs need max_memory (the hot-plug ceiling and its slots)")
        raise TuningError("max_memory: required: the guest's %s need max_memory (libvirt cannot use a memory device "
                          "when maxMemory is not defined)" % what)
    if maximum is None:
        return
    if count > maximum["slots"]:
        raise TuningError("dimms: %d %s do not fit in max_memory's %d slots" % (count, what, maximum["slots"]))
    if memory > maximum["size"]:
        raise TuningError("dimms: the guest's memory without DIMMs (%s) and its %s (%s) add up to %s, more than "
                          "max_memory (%s)" % (format_size(base), what, format_size(devices), format_size(memory),
                                               format_size(maximum["size"])))


def _check_dimms(target, ctx, cells, base, devices):
    dimms, maximum = target["dimms"], target["max_memory"]
    align = _dimm_alignment(ctx)
    current = getattr(ctx, "current", None) or {}  # the view's values before the task: DIMMs it already had
    before = current.get("dimms")
    existing = {(item.get("size"), item.get("node")) for item in before or []}
    slots = {}
    for index, item in enumerate(dimms):
        if not item.get("size"):
            raise TuningError("dimms[%d].size: required: the DIMM's size (above zero)" % index)
        if isinstance(item["size"], int) and item["size"] % align and (item["size"], item.get("node")) not in existing:
            raise TuningError("dimms[%d].size: %r is not valid: QEMU needs DIMM sizes in multiples of %s on this "
                              "architecture (libvirt rounds them up at boot and QEMU refuses them at hot-plug)"
                              % (index, format_size(item["size"]), format_size(align)))
        if not cells and not _needs_cells(ctx) and item.get("node") is None:
            continue  # ppc64 without guest NUMA cells: a DIMM has no node
        if item.get("node") is None or item["node"] not in cells:
            raise TuningError("dimms[%d].node: %r is not valid: the guest has NUMA cells %s"
                              % (index, item.get("node"), format_cpuset(cells)))
        slot = item.get("slot")
        if slot is not None:
            if slot >= maximum["slots"]:
                raise TuningError("dimms[%d].slot: %d is not valid: max_memory has slots 0-%d"
                                  % (index, slot, maximum["slots"] - 1))
            if slot in slots:
                raise TuningError("dimms[%d].slot: %d is not valid: dimms[%d] has it too" % (index, slot, slots[slot]))
            slots[slot] = index


# --------------------------------------------------------------------------- live

def live_memory(values, view):
    """Hot-plugged DIMMs move <memory> by themselves; the memory without DIMMs cannot change live."""
    live, target = values.live, values.target
    if isinstance(live["memory"], int) and isinstance(target["memory"], int) and \
            live["memory"] - _total(live["dimms"]) == target["memory"] - _total(target["dimms"]):
        return []
    raise NotLive("the memory of a running guest changes live only by hot-plugging DIMMs")


def _asked_before(values, view, option):
    """True when the definition held this option before the task: what the guest still lacks was asked
    of it by an earlier run, and asking again would change nothing (a guest that does not cooperate)."""
    field = view.area.by_name[option]
    return field.comparable(values.current[option]) == field.comparable(values.target[option])


def live_current_memory(values, view):
    target = values.target
    kib = (target["current_memory"] if target["current_memory"] is not None else target["memory"]) // 1024
    if _asked_before(values, view, "current_memory") and _asked_before(values, view, "memory"):
        return [LivePending("the guest has not followed the balloon target of %d KiB asked of it before" % kib)]
    return [LiveOp(live_ops.SET_MEMORY, (kib,), "set the balloon target to %d KiB" % kib)]


def live_dimms(values, view):
    """Attach the DIMMs the running guest lacks, detach those it should not have."""
    live, target, live_root = values.live["dimms"], values.target["dimms"], view.live_root
    pairs = match_dimms(live or [], target or [])
    gone = [index for index in range(len(live or [])) if index not in {pair[0] for pair in pairs}]
    new = [index for index in range(len(target or [])) if index not in {pair[1] for pair in pairs}]
    if not gone and not new:
        return []
    if new:
        if live_root is None or live_root.find("maxMemory") is None:
            raise NotLive("the running guest has no max_memory; hot-plug works after its next boot")
        if not live_root.findall("cpu/numa/cell"):
            raise NotLive("the running guest has no NUMA cells; hot-plug works after its next boot")
        if live_root.find("features/acpi") is None:
            raise NotLive("the running guest has no ACPI (<features><acpi/>), which QEMU needs for memory hot-plug")
        odd = [format_size(target[index]["size"]) for index in new if target[index]["size"] % DIMM_ALIGNMENT]
        if odd:
            raise NotLive("QEMU hot-plugs only DIMMs whose size is a multiple of %s, not %s"
                          % (format_size(DIMM_ALIGNMENT), ", ".join(odd)))
    ops = []
    elems = dimm_elements(live_root) if live_root is not None else []
    for index in gone:
        item = live[index]
        text = "the %s DIMM of node %s (slot %s)" % (format_size(item["size"]), item.get("node"), item.get("slot"))
        if _asked_before(values, view, "dimms"):
            ops.append(LivePending("the guest has not released %s" % text))
            continue
        ops.append(LiveOp(live_ops.DETACH_DEVICE, (to_string(elems[index]),), "detach " + text))
    for index in new:
        item = target[index]
        ops.append(LiveOp(live_ops.ATTACH_DEVICE, (to_string(dimm_element(item)),),
                          "attach a %s DIMM to node %s" % (format_size(item["size"]), item.get("node"))))
    return ops


AREA = Area("memory_devices", FIELDS, diff_paths=["maxMemory", "memory", "currentMemory",
                                                  "devices/memory[@model='dimm']"],
            validate=validate, keep=("memory",), adjust_target=adjust_target,
            live={"memory": live_memory, "current_memory": live_current_memory, "dimms": live_dimms},
            description="Memory size, balloon target, hot-plug ceiling and DIMMs")
