# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules between tuning areas, checked once on the final document (pure).

An area's own ``validate`` checks what the area alone decides. What ties two areas together is
here, written once:

- the CPU topology multiplies to the vCPU maximum (vcpus x cpu_model);
- every vCPU id that cputune (pins, schedulers, cache and memory bandwidth) and the guest NUMA
  cells name exists, and the cells hold each vCPU once (vcpus x cputune x numa);
- every iothread that a disk, a SCSI controller or cputune (pins, schedulers) names exists
  (iothreads x cputune);
- the guest NUMA cells and the DIMMs add up to the guest's memory (numa x memory_devices);
- locked memory comes with a memtune hard_limit (memory_backing x memtune, a warning).

A rule runs when the task asks for one of its areas, once per such area in the task's order (that
of areas/registry.py), and its message names that area's options, as the area's own rules do: the
first area asked that breaks it is the one the user hears about. Memory facts are read through
engine/guest_memory.py; the vCPU and iothread facts through the readers below, which AreaView
also offers to the areas' own rules.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import bounded_int
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.guest_memory import (
    guest_cells, memory_bytes, memory_device_total, other_memory_devices,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import find_path


# --------------------------------------------------------------------------- readers

TOPOLOGY = ("sockets", "dies", "clusters", "cores", "threads")


def max_vcpus(root):
    """The guest's vCPU maximum (<vcpu>), 1 when absent or unreadable."""
    elem = find_path(root, "vcpu")
    text = (elem.text or "1").strip() if elem is not None else "1"
    try:
        return int(text)
    except ValueError:
        return 1


def vcpu_cpuset(root):
    """The default affinity of the guest's vCPUs (<vcpu cpuset=...>), or None."""
    elem = find_path(root, "vcpu")
    return elem.get("cpuset") if elem is not None else None


def iothread_ids(root):
    """The iothread ids the guest defines (<iothreadids>, else 1..<iothreads>)."""
    ids = set()
    for elem in root.findall("iothreadids/iothread"):
        try:
            ids.add(int(elem.get("id")))
        except (TypeError, ValueError):
            pass
    count = find_path(root, "iothreads")
    if count is not None and bounded_int(count.text) is not None:
        number = bounded_int(count.text)
        # libvirt numbers the iothreads without an explicit id after the explicit ones
        candidate = 1
        while len(ids) < number:
            if candidate not in ids:
                ids.add(candidate)
            candidate += 1
    return ids


def cpu_model_name(root):
    """The guest CPU model's name (<cpu><model>), or None."""
    return (root.findtext("cpu/model") or "").strip() or None


def topology(root):
    """The CPU topology as (product, [(name, value)]) in libvirt's order, or (None, []) without one."""
    topo = find_path(root, "cpu/topology")
    if topo is None:
        return None, []
    product, parts = 1, []
    for name in TOPOLOGY:
        value = topo.get(name)
        if value is None:
            continue
        try:
            product *= int(value)
        except ValueError:
            return None, []
        parts.append((name, int(value)))
    return product, parts


def facts_before(root):
    """What the rules compare with: the document's facts before the task wrote anything."""
    return {"iothread_ids": iothread_ids(root)}


def check(root, before, asked):
    """Run the rules of the areas named in ``asked`` (in the task's order) on the final ``root``.

    Raises TuningError for the first broken rule; returns [(area name, warning)].
    """
    warnings = []
    for area in asked:
        for rule in RULES.get(area, ()):
            warnings.extend((area, text) for text in rule(root, before, area) or [])
    return warnings


# --------------------------------------------------------------------------- vCPUs

def topology_matches_maximum(root, _before, area):
    """libvirt: the topology's product must equal the vCPU maximum."""
    product, parts = topology(root)
    maximum = max_vcpus(root)
    if product is None or product == maximum:
        return
    text = " x ".join("%s %d" % part for part in parts)
    if area == "vcpus":
        raise TuningError("maximum: %d does not match the CPU topology (%s = %d vCPUs); set maximum to %d or "
                          "change cpu_model.topology" % (maximum, text, product, product))
    raise TuningError("topology: %s = %d vCPUs does not match the guest's maximum of %d vCPUs; "
                      "change topology or vcpus.maximum" % (text, product, maximum))


def _ids(text, owner):
    try:
        return parse_cpuset(text, owner)
    except TuningError:
        return None


def vcpus_named_exist(root, _before, area):
    """Every vCPU id that cputune or a guest NUMA cell names is below the vCPU maximum."""
    maximum = max_vcpus(root)
    last = maximum - 1
    if area == "vcpus":
        for pin in root.findall("cputune/vcpupin"):
            vcpu = pin.get("vcpu", "")
            if vcpu.isdigit() and (bounded_int(vcpu) is None or bounded_int(vcpu) > last):
                raise TuningError("maximum: %d leaves cputune.vcpupin pinning vCPU %s, which the guest would not "
                                  "have (vCPUs 0-%d); change cputune first" % (maximum, vcpu, last))
        users = [(elem.get("vcpus"), "cputune.%s" % tag, "change cputune first")
                 for tag in ("vcpusched", "cachetune", "memorytune") for elem in root.findall("cputune/" + tag)]
        users += [(cell.get("cpus"), "numa cell %s" % cell.get("id", "?"), "change numa first")
                  for cell in root.findall("cpu/numa/cell")]
        for text, owner, advice in users:
            outside = {i for i in (_ids(text, owner) if text else None) or () if i >= maximum}
            if outside:
                raise TuningError("maximum: %d leaves %s naming vCPUs %s, which the guest would not have "
                                  "(vCPUs 0-%d); %s" % (maximum, owner, format_cpuset(outside), last, advice))
        cells = root.findall("cpu/numa/cell")
        if cells:
            held = set()
            for cell in cells:
                held |= _ids(cell.get("cpus") or "", "numa cell cpus") or set()
            unplaced = set(range(maximum)) - held
            if unplaced:
                raise TuningError("maximum: %d leaves vCPUs %s in no guest NUMA cell: libvirt adds them to cell 0 when "
                                  "it defines the guest (qemuDomainDefNumaCPUsRectify); give them a cell (numa.cells, "
                                  "in the same virtuned.libvirt.domain_tuning task)" % (maximum, format_cpuset(unplaced)))
    elif area == "cputune":
        _cputune_vcpus(root, maximum)
    elif area == "numa":
        return _cells_hold_each_vcpu_once(root, maximum)


def _cputune_vcpus(root, maximum):
    for pin in root.findall("cputune/vcpupin"):
        vcpu = pin.get("vcpu", "")
        if vcpu.isdigit() and (bounded_int(vcpu) is None or bounded_int(vcpu) >= maximum):
            raise TuningError("vcpupin[vcpu=%s].vcpu: %s is not valid: the guest has %d vCPUs (0-%d); "
                              "raise vcpus.maximum or drop this pin" % (vcpu, vcpu, maximum, maximum - 1))
    # libvirt holds one <vcpusched> per vCPU (areas/cputune.py PerIdSched): the vCPUs beyond, together
    outside = set()
    for elem in root.findall("cputune/vcpusched"):
        outside |= {i for i in _ids(elem.get("vcpus", ""), "vcpusched.vcpus") or () if i >= maximum}
    if outside:
        text = format_cpuset(outside)
        raise TuningError("vcpusched[vcpus=%s].vcpus: %r names vcpus %s, but the guest has %d vCPUs (0-%d)"
                          % (text, text, text, maximum, maximum - 1))
    for tag in ("cachetune", "memorytune"):
        for elem in root.findall("cputune/" + tag):
            where = "%s[vcpus=%s].vcpus" % (tag, elem.get("vcpus"))
            outside = {i for i in _ids(elem.get("vcpus", ""), where) or () if i >= maximum}
            if outside:
                raise TuningError("%s: %r names vCPUs %s, but the guest has %d vCPUs (0-%d); change vcpus.maximum "
                                  "first" % (where, elem.get("vcpus"), format_cpuset(outside), maximum, maximum - 1))


def _cells_hold_each_vcpu_once(root, maximum):
    seen, doubled = set(), set()
    for index, cell in enumerate(root.findall("cpu/numa/cell")):
        if cell.get("cpus") is None:
            continue
        cpus = parse_cpuset(cell.get("cpus"), "cells[%d].cpus" % index)
        outside = {cpu for cpu in cpus if cpu >= maximum}
        if outside:
            raise TuningError("cells[%d].cpus: %r names vCPUs %s, but the guest has %d vCPUs (0-%d)"
                              % (index, format_cpuset(cpus), format_cpuset(outside), maximum, maximum - 1))
        doubled |= cpus & seen
        seen |= cpus
    if doubled:
        # src/conf/numa_conf.c virDomainNumaDefParseXML
        raise TuningError("cells: vCPUs %s are in more than one cell: libvirt refuses NUMA cells with overlapping "
                          "vCPU ids" % format_cpuset(doubled))
    if not root.findall("cpu/numa/cell"):
        return []
    missing = set(range(maximum)) - seen
    if missing:
        # a cell without vCPUs is valid; vCPUs in no cell are moved into cell 0 by libvirt's QEMU driver when it
        # defines the guest (qemuDomainDefNumaCPUsRectify), so what is defined would not be what was asked
        raise TuningError("cells: vCPUs %s are in no cell: libvirt adds them to cell 0 when it defines the guest "
                          "(qemuDomainDefNumaCPUsRectify); give every vCPU of the guest (0-%d) a cell"
                          % (format_cpuset(missing), maximum - 1))
    return []


# --------------------------------------------------------------------------- iothreads

def _driver_iothread(device):
    driver = device.find("driver")
    text = driver.get("iothread") if driver is not None else None
    return bounded_int(text) if text is not None and text.isdigit() else None


def iothread_users(root):
    """(who, iothread id, option that moves it, area) for every user of an iothread in the domain."""
    seen = set()
    for disk in root.findall("devices/disk"):
        target = disk.find("target")
        dev = target.get("dev") if target is not None else None
        if dev is None or dev in seen:
            continue
        seen.add(dev)
        if _driver_iothread(disk) is not None:
            yield "disk %s" % dev, _driver_iothread(disk), "disks", "iothreads"
    indexes = set()
    for controller in root.findall("devices/controller"):
        if controller.get("type") != "scsi" or not (controller.get("index") or "").isdigit():
            continue
        index = int(controller.get("index"))
        if index in indexes:
            continue
        indexes.add(index)
        if _driver_iothread(controller) is not None:
            yield "SCSI controller %d" % index, _driver_iothread(controller), "controllers", "iothreads"
    for pin in root.findall("cputune/iothreadpin"):
        if bounded_int(pin.get("iothread")) is not None and (pin.get("iothread") or "").isdigit():
            yield "cputune.iothreadpin", bounded_int(pin.get("iothread")), None, "cputune"
    for sched in root.findall("cputune/iothreadsched"):
        numbers = _ids(sched.get("iothreads", ""), "iothreadsched") or ()
        for number in sorted(numbers):
            yield "cputune.iothreadsched", number, None, "cputune"


def iothreads_named_exist(root, before, area):
    """Every iothread a disk, a SCSI controller or cputune names is one the guest defines."""
    ids = iothread_ids(root)
    if area == "iothreads":
        defined = ("the guest defines iothreads %s" % format_cpuset(ids)) if ids else "the guest defines no iothreads"
        for user, iothread, own, _owner in iothread_users(root):
            if iothread in ids:
                continue
            if iothread in before["iothread_ids"]:
                raise TuningError("iothreads: removing iothread %d is refused: %s uses it; %s first"
                                  % (iothread, user, "move it (%s)" % own if own else "change cputune"))
            raise TuningError("%s: iothread %d is not valid: %s (add it with count or iothreadids)"
                              % (user, iothread, defined))
    elif area == "cputune":
        text = ("the guest defines iothreads %s" % format_cpuset(ids)) if ids \
            else "the guest defines no iothreads (set iothreads.count first)"
        for pin in root.findall("cputune/iothreadpin"):
            number = pin.get("iothread", "")
            if number.isdigit() and bounded_int(number) not in ids:
                raise TuningError("iothreadpin[iothread=%s].iothread: %s is not valid: %s" % (number, number, text))
        for sched in root.findall("cputune/iothreadsched"):
            where = "iothreadsched[iothreads=%s]" % sched.get("iothreads")
            outside = (_ids(sched.get("iothreads", ""), where + ".iothreads") or set()) - ids
            if outside:
                raise TuningError("%s.iothreads: %r names iothreads %s, but %s"
                                  % (where, sched.get("iothreads"), format_cpuset(outside), text))


# --------------------------------------------------------------------------- memory

def cells_and_dimms_make_memory(root, _before, area):
    """libvirt makes <memory> the guest cells' memory plus every memory device (dimm, nvdimm, virtio-mem,
    virtio-pmem: virDomainDefPostParseMemory, src/conf/domain_postparse.c): refuse numbers that disagree."""
    cells, memory = guest_cells(root), memory_bytes(root)
    if not cells or memory is None:
        return
    cell_memory = sum(cell["memory"] for cell in cells.values())
    devices = memory_device_total(root)
    if cell_memory + devices == memory:
        return
    others = other_memory_devices(root)
    dimms = devices - sum(others.values())
    if area == "numa":
        kind = "memory devices" if others else "DIMMs"
        summed = ("the cells' memory (%s) and the %s (%s) add up to %s"
                  % (format_size(cell_memory), kind, format_size(devices), format_size(cell_memory + devices))) \
            if devices else "the cells' memory adds up to %s" % format_size(cell_memory)
        raise TuningError("cells: %s, but the guest's memory is %s; make them equal (to change both at once, "
                          "set numa.cells and memory_devices.memory in one virtuned.libvirt.domain_tuning task)"
                          % (summed, format_size(memory)))
    if others:
        parts = "the guest's NUMA cells (%s) and memory devices (%s: DIMMs %s, %s)" % (
            format_size(cell_memory), format_size(devices), format_size(dimms),
            ", ".join("%s %s" % (model, format_size(size)) for model, size in sorted(others.items())))
    else:
        parts = "the guest's NUMA cells (%s) and DIMMs (%s)" % (format_size(cell_memory), format_size(dimms))
    raise TuningError("memory: %r is not valid: %s add up to %s, and libvirt derives the memory from them; change "
                      "the cells (to change both at once, set memory_devices.memory and numa.cells in one "
                      "virtuned.libvirt.domain_tuning task)"
                      % (format_size(memory), parts, format_size(cell_memory + devices)))


def locked_memory_has_a_limit(root, _before, _area):
    """Locked memory without a memtune hard_limit lets QEMU lock without limit (a warning)."""
    if find_path(root, "memoryBacking/locked") is not None and find_path(root, "memtune/hard_limit") is None:
        return ["locked: the guest's memory is locked but memtune has no hard_limit, so libvirt lets QEMU "
                "lock memory without limit; set memtune hard_limit (guest memory plus QEMU's overhead)"]
    return []


# The rules each area's task runs, in order.
RULES = {
    "vcpus": (topology_matches_maximum, vcpus_named_exist),
    "cpu_model": (topology_matches_maximum,),
    "cputune": (vcpus_named_exist, iothreads_named_exist),
    "numa": (vcpus_named_exist, cells_and_dimms_make_memory),
    "memory_devices": (cells_and_dimms_make_memory,),
    "iothreads": (iothreads_named_exist,),
    "memory_backing": (locked_memory_has_a_limit,),
}
