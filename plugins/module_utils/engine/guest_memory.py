# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the memory and NUMA areas read from a domain and from host capabilities (pure)."""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import unit_factor

# libvirt's VIR_DOMAIN_MEMORY_PARAM_UNLIMITED, in KiB
UNLIMITED_KIB = 9007199254740991


def element_size(elem, default_unit="KiB"):
    """Bytes held by an element's text and unit attribute, or None."""
    if elem is None or not (elem.text or "").strip():
        return None
    try:
        return int(elem.text.strip()) * unit_factor(elem.get("unit", default_unit))
    except (ValueError, TuningError):
        return None


def memory_bytes(root):
    """The guest's <memory> (libvirt: total memory, hot-plugged DIMMs included), in bytes."""
    return element_size(root.find("memory"))


def guest_cells(root):
    """Guest NUMA cells under <cpu><numa>: {id: {'cpus': frozenset, 'memory': bytes}} (units honoured)."""
    cells = {}
    for index, elem in enumerate(root.findall("cpu/numa/cell")):
        try:
            ident = int(elem.get("id", index))
            memory = int(elem.get("memory", "0")) * unit_factor(elem.get("unit", "KiB"))
            cpus = parse_cpuset(elem.get("cpus", ""), "cell cpus", allow_empty=True)
        except (TuningError, ValueError):
            continue
        cells[ident] = {"cpus": frozenset(cpus), "memory": memory}
    return cells


def dimm_elements(root):
    """The <memory model='dimm'> devices of a domain."""
    return [elem for elem in root.findall("devices/memory") if elem.get("model") == "dimm"]


def dimm_total(root):
    """Bytes of all DIMMs of a domain."""
    return sum(element_size(elem.find("target/size")) or 0 for elem in dimm_elements(root))


def memory_device_total(root):
    """Bytes of all memory devices (dimm, nvdimm, virtio-mem, virtio-pmem, sgx-epc): libvirt counts every one
    toward <memory> (virDomainDefPostParseMemory, src/conf/domain_postparse.c)."""
    return sum(element_size(elem.find("target/size")) or 0 for elem in root.findall("devices/memory"))


def other_memory_devices(root):
    """The memory devices that are not DIMMs: {model: bytes} (this collection leaves them alone)."""
    sizes = {}
    for elem in root.findall("devices/memory"):
        if elem.get("model") != "dimm":
            model = elem.get("model") or "unknown"
            sizes[model] = sizes.get(model, 0) + (element_size(elem.find("target/size")) or 0)
    return sizes


def host_page_sizes(caps):
    """Page sizes (KiB) the host offers, from capabilities <host><cpu><pages>."""
    sizes = set()
    if caps is None:
        return sizes
    for elem in caps.findall("host/cpu/pages"):
        try:
            sizes.add(int(elem.get("size")) * unit_factor(elem.get("unit", "KiB")) // 1024)
        except (TypeError, ValueError, TuningError):
            continue
    return sizes


def host_nodes(caps):
    """Host NUMA node ids from capabilities <host><topology><cells>."""
    nodes = set()
    if caps is None:
        return nodes
    for elem in caps.findall("host/topology/cells/cell"):
        try:
            nodes.add(int(elem.get("id")))
        except (TypeError, ValueError):
            continue
    return nodes
