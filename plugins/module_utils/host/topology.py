# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host as numa_plan sees it: CPUs, NUMA nodes, hugepage pools, kernel sets.

Pure code: libvirt's capabilities XML (and optionally domain capabilities XML)
plus a sysfs tree and /proc/cmdline go in, the documented ``host`` dict comes
out. No libvirt import; the host_info module does the reading.
"""

from __future__ import annotations

import os
import re

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import parse_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_xml

# Base pages are not a hugepage pool: the smallest page size libvirt lists.
_HUGEPAGE_DIR = re.compile(r"^hugepages-(\d+)kB$")
_NODE_DIR = re.compile(r"^node(\d+)$")
_CPU_DIR = re.compile(r"^cpu(\d+)$")
_MEMINFO = re.compile(r"^Node\s+\d+\s+(\w+):\s+(\d+)\s*kB", re.M)
# isolcpus= flags that are not CPU numbers (kernel-parameters.txt)
_ISOLCPUS_FLAGS = ("nohz", "domain", "managed_irq")


def parse_xml_text(text, option):
    """Parse XML safely (no entities, DTDs or network), errors naming ``option``."""
    if not isinstance(text, (str, bytes)) or not text.strip():
        raise option_error(option, text, "expected an XML document")
    return parse_xml(text, option)


def _int_attr(element, name, option, default=None):
    value = element.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise option_error(option, value, "attribute %s of <%s> must be an integer" % (name, element.tag))


def _kib(element, option):
    """A size element's value in KiB (libvirt writes KiB, but honour the unit)."""
    text = (element.text or "").strip()
    unit = element.get("unit", "KiB")
    return parse_size("%s %s" % (text, unit), option) // 1024


def parse_capabilities(xml_text, option="capabilities_xml"):
    """Read the <host><topology> and <cache> parts of libvirt's capabilities XML.

    Returns {"cells": [...], "l3": {cpu: frozenset}} with one dict per cell:
    id, memory_kib, pages {size_kib: count}, distances {id: value} and cpus
    {id: {socket, die, core, siblings (frozenset) or None when offline}}.
    """
    root = parse_xml_text(xml_text, option)
    if root.tag != "capabilities":
        raise option_error(option, root.tag, "the root element must be <capabilities> (virsh capabilities)")
    cells = []
    for cell in root.findall("./host/topology/cells/cell"):
        cell_id = _int_attr(cell, "id", option)
        if cell_id is None:
            raise option_error(option, "<cell>", "every <cell> needs an id")
        memory = cell.find("memory")
        pages = {}
        for page in cell.findall("pages"):
            size = _int_attr(page, "size", option)
            unit = page.get("unit", "KiB")
            if unit not in ("KiB", "k", "K"):
                size = parse_size("%d %s" % (size, unit), option) // 1024
            pages[size] = int((page.text or "0").strip() or 0)
        distances = {}
        for sibling in cell.findall("./distances/sibling"):
            distances[_int_attr(sibling, "id", option)] = _int_attr(sibling, "value", option)
        cpus = {}
        for cpu in cell.findall("./cpus/cpu"):
            cpu_id = _int_attr(cpu, "id", option)
            siblings = cpu.get("siblings")
            cpus[cpu_id] = {
                "socket": _int_attr(cpu, "socket_id", option, -1),
                "die": _int_attr(cpu, "die_id", option, 0 if cpu.get("socket_id") is not None else -1),
                "core": _int_attr(cpu, "core_id", option, -1),
                "siblings": parse_cpuset(siblings, option) if siblings else None,
            }
        cells.append({
            "id": cell_id,
            "memory_kib": _kib(memory, option) if memory is not None else 0,
            "pages": pages,
            "distances": distances,
            "cpus": cpus,
        })
    if not cells:
        raise option_error(option, "<capabilities>", "no <host><topology><cells><cell> found")
    l3 = {}
    for bank in root.findall("./host/cache/bank"):
        if bank.get("level") == "3" and bank.get("cpus"):
            group = parse_cpuset(bank.get("cpus"), option)
            for cpu in group:
                l3[cpu] = group
    return {"cells": sorted(cells, key=lambda c: c["id"]), "l3": l3}


def summarise_domain_capabilities(xml_text, option="domain_capabilities"):
    """The parts of domain capabilities XML a planner cares about, or None."""
    if not xml_text:
        return None
    root = parse_xml_text(xml_text, option)
    firmware = [v.text.strip() for v in root.findall("./os/enum[@name='firmware']/value") if v.text]
    if not firmware:
        # libvirt before 7.2 has no firmware enum: a loader means UEFI is possible, BIOS always is
        firmware = ["bios"] + (["efi"] if root.find("./os/loader[@supported='yes']") is not None else [])
    vcpu = root.find("./vcpu")
    modes = [m.get("name") for m in root.findall("./cpu/mode") if m.get("supported") == "yes"]
    models = sorted({m.text.strip() for m in root.findall("./cpu/mode[@name='custom']/model")
                     if m.text and m.get("usable", "yes") == "yes"})
    return {
        "firmware": firmware,
        "max_vcpus": _int_attr(vcpu, "max", option) if vcpu is not None else None,
        "cpu_modes": modes,
        "models": models,
    }


def _pci_address(element):
    """'0000:3b:00.0' from an element with domain, bus, slot and function (children or attributes)."""
    parts = []
    for name in ("domain", "bus", "slot", "function"):
        value = element.get(name)
        if value is None:
            child = element.find(name)
            value = child.text if child is not None else None
        if value is None:
            return None
        value = value.strip()
        parts.append(int(value, 16) if value.lower().startswith("0x") else int(value))
    return "%04x:%02x:%02x.%x" % tuple(parts)


def parse_nodedev(xml_text, option="nodedev_xml"):
    """One PCI device of ``virsh nodedev-dumpxml`` output, or None for other kinds of device.

    Returns {address (0000:3b:00.0), numa_node (None when unknown), class (0x020000), vendor,
    product (ids), driver, physical_function (address or None), virtual_functions (addresses)}.
    """
    root = parse_xml_text(xml_text, option)
    if root.tag != "device":
        raise option_error(option, root.tag, "the root element must be <device> (virsh nodedev-dumpxml)")
    cap = root.find("./capability[@type='pci']")
    if cap is None:
        return None
    address = _pci_address(cap)
    if address is None:
        raise option_error(option, (root.findtext("name") or "").strip(), "a PCI device needs domain, bus, slot "
                                                                          "and function")
    numa = cap.find("numa")
    node = _int_attr(numa, "node", option) if numa is not None else None
    pf = cap.find("./capability[@type='phys_function']/address")
    vfs = [_pci_address(a) for a in cap.findall("./capability[@type='virt_functions']/address")]
    return {
        "address": address,
        "numa_node": node if node is not None and node >= 0 else None,
        "class": (cap.findtext("class") or "").strip() or None,
        "vendor": (cap.find("vendor").get("id") if cap.find("vendor") is not None else None),
        "product": (cap.find("product").get("id") if cap.find("product") is not None else None),
        "driver": (root.findtext("./driver/name") or "").strip() or None,
        "physical_function": _pci_address(pf) if pf is not None else None,
        "virtual_functions": sorted(a for a in vfs if a),
    }


def parse_nodedevs(xml_texts, option="nodedev_xml"):
    """The PCI devices of a list of node-device XML documents, sorted by address (others left out)."""
    if not isinstance(xml_texts, (list, tuple)):
        raise option_error(option, type(xml_texts).__name__, "expected a list of virsh nodedev-dumpxml outputs")
    devices = {}
    for index, text in enumerate(xml_texts):
        device = parse_nodedev(text, "%s[%d]" % (option, index))
        if device is not None:
            devices[device["address"]] = device
    return [devices[a] for a in sorted(devices)]


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def _read_set(path, option):
    text = _read(path)
    if text is None:
        return None
    if text in ("", "(null)"):
        return frozenset()
    return parse_cpuset(text, option, allow_empty=True)


def _read_int(path, option):
    text = _read(path)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise option_error(option, path, "expected an integer in the file, found %r" % text)


def read_sysfs(root, option="sysfs_root"):
    """Read CPUs, nodes and hugepage pools from a /sys layout under ``root``.

    Missing files are left out of the answer (None), so that partial fake trees work.
    """
    if not os.path.isdir(root):
        raise option_error(option, root, "not a directory")
    cpu_dir = os.path.join(root, "devices", "system", "cpu")
    node_dir = os.path.join(root, "devices", "system", "node")
    cpus = {}
    if os.path.isdir(cpu_dir):
        for entry in os.listdir(cpu_dir):
            match = _CPU_DIR.match(entry)
            if not match:
                continue
            base = os.path.join(cpu_dir, entry)
            online = _read_int(os.path.join(base, "online"), option)
            topo = os.path.join(base, "topology")
            node = None
            for sub in os.listdir(base):
                node_match = _NODE_DIR.match(sub)
                if node_match:
                    node = int(node_match.group(1))
            l3 = None
            cache = os.path.join(base, "cache")
            if os.path.isdir(cache):
                for index in sorted(os.listdir(cache)):
                    level = _read(os.path.join(cache, index, "level"))
                    # fake trees may leave out 'level': index3 is L3 on x86
                    if level == "3" or (level is None and index == "index3"):
                        l3 = _read_set(os.path.join(cache, index, "shared_cpu_list"), option)
            cpus[int(match.group(1))] = {
                # cpu0 usually has no 'online' file: it cannot be taken offline
                "online": online is None or online == 1,
                "node": node,
                "socket": _read_int(os.path.join(topo, "physical_package_id"), option),
                "die": _read_int(os.path.join(topo, "die_id"), option),
                "core": _read_int(os.path.join(topo, "core_id"), option),
                "siblings": _read_set(os.path.join(topo, "thread_siblings_list"), option),
                "l3": l3,
            }
    nodes = {}
    if os.path.isdir(node_dir):
        for entry in os.listdir(node_dir):
            match = _NODE_DIR.match(entry)
            if not match:
                continue
            base = os.path.join(node_dir, entry)
            meminfo = dict((k, int(v)) for k, v in _MEMINFO.findall(_read(os.path.join(base, "meminfo")) or ""))
            distance_text = _read(os.path.join(base, "distance"))
            pools = {}
            hp_dir = os.path.join(base, "hugepages")
            if os.path.isdir(hp_dir):
                for pool in os.listdir(hp_dir):
                    pool_match = _HUGEPAGE_DIR.match(pool)
                    if pool_match:
                        pools[int(pool_match.group(1))] = {
                            "total": _read_int(os.path.join(hp_dir, pool, "nr_hugepages"), option),
                            "free": _read_int(os.path.join(hp_dir, pool, "free_hugepages"), option),
                            "surplus": _read_int(os.path.join(hp_dir, pool, "surplus_hugepages"), option),
                        }
            nodes[int(match.group(1))] = {
                "cpus": _read_set(os.path.join(base, "cpulist"), option),
                "memory_kib": meminfo.get("MemTotal"),
                "free_kib": meminfo.get("MemFree"),
                "distance": [int(v) for v in distance_text.split()] if distance_text else None,
                "pools": pools,
            }
    return {
        "cpus": cpus,
        "nodes": nodes,
        "isolated": _read_set(os.path.join(cpu_dir, "isolated"), option),
        "nohz_full": _read_set(os.path.join(cpu_dir, "nohz_full"), option),
    }


def cmdline_cpuset(cmdline, name):
    """The CPU set given to a kernel argument such as isolcpus= or nohz_full=."""
    result = frozenset()
    for word in (cmdline or "").split():
        if not word.startswith(name + "="):
            continue
        parts = [p for p in word.split("=", 1)[1].split(",") if p and p not in _ISOLCPUS_FLAGS]
        if parts:
            result = parse_cpuset(",".join(parts), "cmdline %s" % name, allow_empty=True)
    return result


def build_host(capabilities_xml, sysfs_root=None, proc_root=None, domain_capabilities_xml=None,
               cmdline=None, nodedev_xml=None):
    """Build the documented ``host`` dict (see host_info's RETURN).

    ``nodedev_xml`` (a list of ``virsh nodedev-dumpxml`` outputs), when given, adds
    ``pci_devices`` (see parse_nodedev).

    ``capabilities_xml`` is the primary source; a sysfs tree, when given, adds
    online state, L3 groups, isolated/nohz_full sets and live hugepage counts.
    Without a sysfs tree, the page counts of the capabilities XML count as free.
    """
    caps = parse_capabilities(capabilities_xml)
    sysfs = read_sysfs(sysfs_root) if sysfs_root else {"cpus": {}, "nodes": {}, "isolated": None, "nohz_full": None}
    if cmdline is None and proc_root:
        cmdline = _read(os.path.join(proc_root, "cmdline"))
    cmdline = (cmdline or "").replace("\x00", " ").strip()

    isolated = sysfs["isolated"]
    if isolated is None:
        isolated = cmdline_cpuset(cmdline, "isolcpus")
    nohz_full = sysfs["nohz_full"]
    if nohz_full is None:
        nohz_full = cmdline_cpuset(cmdline, "nohz_full")

    cpus = {}
    for cell in caps["cells"]:
        for cpu_id, info in cell["cpus"].items():
            cpus[cpu_id] = dict(info, node=cell["id"], online=info["siblings"] is not None)
    for cpu_id, info in sysfs["cpus"].items():
        known = cpus.setdefault(cpu_id, {"node": info["node"], "socket": -1, "die": -1, "core": -1, "siblings": None})
        known["online"] = info["online"]
        if not info["online"]:
            continue
        for key in ("socket", "die", "core", "siblings"):
            if info[key] is not None and (known[key] is None or known[key] == -1):
                known[key] = info[key]
        if known["node"] is None:
            known["node"] = info["node"]
    online = frozenset(c for c, info in cpus.items() if info["online"])

    cpu_list = []
    for cpu_id in sorted(cpus):
        info = cpus[cpu_id]
        siblings = (info["siblings"] or frozenset([cpu_id])) | frozenset([cpu_id])
        l3 = sysfs["cpus"].get(cpu_id, {}).get("l3") or caps["l3"].get(cpu_id)
        cpu_list.append({
            "id": cpu_id,
            "online": bool(info["online"]),
            "node": info["node"],
            "socket": info["socket"] if info["socket"] is not None else -1,
            "die": info["die"] if info["die"] is not None else -1,
            "core": info["core"] if info["core"] is not None else -1,
            "siblings": format_cpuset(siblings),
            "l3": format_cpuset(l3) if l3 else None,
            "isolated": cpu_id in isolated,
            "nohz_full": cpu_id in nohz_full,
        })

    node_list = []
    for cell in caps["cells"]:
        node_sys = sysfs["nodes"].get(cell["id"], {})
        base_size = min(cell["pages"]) if cell["pages"] else 4
        sizes = set(s for s in cell["pages"] if s != base_size) | set(node_sys.get("pools", {}))
        hugepages = []
        for size in sorted(sizes):
            pool = node_sys.get("pools", {}).get(size, {})
            total = pool.get("total")
            if total is None:
                total = cell["pages"].get(size, 0)
            free = pool.get("free")
            hugepages.append({
                "size_kib": size,
                "total": total,
                "free": free if free is not None else total,
                "surplus": pool.get("surplus") or 0,
            })
        node_cpus = frozenset(c for c in online if cpus[c]["node"] == cell["id"])
        node_list.append({
            "id": cell["id"],
            "cpus": format_cpuset(node_cpus),
            "memory_kib": cell["memory_kib"] or node_sys.get("memory_kib") or 0,
            "free_kib": node_sys.get("free_kib"),
            "distances": [{"id": k, "value": v} for k, v in sorted(cell["distances"].items())],
            "hugepages": hugepages,
        })
    smt = any(len(parse_cpuset(c["siblings"], "siblings")) > 1 for c in cpu_list if c["online"])
    host = {
        "cpus": cpu_list,
        "nodes": node_list,
        "isolated": format_cpuset(isolated),
        "nohz_full": format_cpuset(nohz_full),
        "cmdline": cmdline,
        "smt": smt,
        "domain_capabilities": summarise_domain_capabilities(domain_capabilities_xml),
    }
    if nodedev_xml is not None:
        host["pci_devices"] = parse_nodedevs(nodedev_xml)
    return host
