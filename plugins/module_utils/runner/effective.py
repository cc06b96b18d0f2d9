# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host kernel enforces for a running guest, against what its definition asks (pure code).

Input: the running guest's domain XML (its live definition) and the QEMU process as
host/qemu_process.py reads it. Output: ``effective`` (per thread role: allowed CPUs, scheduler policy
and priority; guest memory per host node and page size; hugetlb pages held) and ``effective_drift``,
one readable sentence per mismatch.

What the definition asks, as libvirt applies it at start and on live changes:
- a vCPU, the emulator and an iothread run on their ``<vcpupin>``/``<emulatorpin>``/``<iothreadpin>``
  cpuset, else on ``<vcpu cpuset=...>``, else on every host CPU;
- their scheduler is ``<vcpusched>``/``<emulatorsched>``/``<iothreadsched>``, else SCHED_OTHER ("other");
  the priority counts for the real-time policies (fifo, rr) only;
- guest memory is on the ``<memoryBacking><hugepages><page>`` size for its guest cell (a page with a
  nodeset covering the cell, else a page without nodeset, else the host's default hugepage size for a
  bare ``<hugepages/>``), else on ordinary pages (transparent hugepages included);
- with ``<numatune>`` mode strict or restrictive and a static nodeset (per cell ``<memnode>`` first),
  guest memory stays on those host nodes. Modes preferred and interleave bind nothing, and automatic
  placement (numad) is not compared.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size, parse_size

BASE_PAGE_KIB = 4
REALTIME = ("fifo", "rr")
BINDING_MODES = ("strict", "restrictive")


def _kib_text(kib):
    return format_size(kib * 1024)


def _pages_text(page_kib):
    return "%s pages" % _kib_text(page_kib)


def _nodes_text(nodes):
    nodes = sorted(nodes)
    return ("node %d" if len(nodes) == 1 else "nodes %s") % (nodes[0] if len(nodes) == 1 else format_cpuset(nodes))


def _size_kib(element, default_unit="KiB"):
    if element is None or not (element.text or "").strip():
        return None
    return parse_size("%s %s" % (element.text.strip(), element.get("unit") or default_unit), "memory") // 1024


def _cpuset(text, what):
    return parse_cpuset(text, what) if text else None


# ---------------------------------------------------------------------------------------- threads
def _pins(root):
    cputune = root.find("cputune")
    vcpu = root.find("vcpu")
    default = _cpuset(vcpu.get("cpuset") if vcpu is not None else None, "vcpu/@cpuset")
    auto = vcpu is not None and vcpu.get("placement") == "auto"
    vcpupin, iothreadpin, emulator = {}, {}, None
    if cputune is not None:
        for pin in cputune.findall("vcpupin"):
            vcpupin[int(pin.get("vcpu"))] = _cpuset(pin.get("cpuset"), "vcpupin/@cpuset")
        for pin in cputune.findall("iothreadpin"):
            iothreadpin[int(pin.get("iothread"))] = _cpuset(pin.get("cpuset"), "iothreadpin/@cpuset")
        pin = cputune.find("emulatorpin")
        if pin is not None:
            emulator = _cpuset(pin.get("cpuset"), "emulatorpin/@cpuset")
    return {"vcpu": vcpupin, "iothread": iothreadpin, "emulator": emulator, "default": default, "auto": auto}


def _scheds(root):
    """{role: [(index set or None, policy, priority)]} from cputune's *sched elements."""
    found = {"vcpu": [], "iothread": [], "emulator": []}
    cputune = root.find("cputune")
    if cputune is None:
        return found
    for tag, role, attr in (("vcpusched", "vcpu", "vcpus"), ("iothreadsched", "iothread", "iothreads"),
                            ("emulatorsched", "emulator", None)):
        for elem in cputune.findall(tag):
            indexes = _cpuset(elem.get(attr), "%s/@%s" % (tag, attr)) if attr else None
            priority = elem.get("priority")
            found[role].append((indexes, elem.get("scheduler") or "other", int(priority) if priority else None))
    return found


def _expected_sched(scheds, role, index):
    for indexes, policy, priority in scheds[role]:
        if indexes is None or index in indexes:
            return policy, priority
    return "other", None


def _who(thread):
    if thread["role"] == "vcpu":
        return "vCPU %d" % thread["index"]
    if thread["role"] == "iothread":
        return "iothread %d" % thread["index"]
    return "%d (%s)" % (thread["tid"], thread["name"])


def _expected_cpus(pins, role, index, host_cpus):
    """(cpus, how the definition says so), or (None, None) when numad places the guest."""
    own = pins["emulator"] if role == "emulator" else pins[role].get(index)
    noun = "the emulator" if role == "emulator" else "it"
    if own is not None:
        return own, "the definition pins %s to %s" % (noun, format_cpuset(own))
    if pins["default"] is not None:
        return pins["default"], "the definition pins %s to %s (<vcpu cpuset>)" % (noun, format_cpuset(pins["default"]))
    if pins["auto"] or host_cpus is None:
        return None, None
    return host_cpus, "the definition does not pin %s (host CPUs %s)" % (noun, format_cpuset(host_cpus))


def _thread_drift(thread, pins, scheds, host_cpus):
    """What differs for one thread: [predicate] ('may run on 0-1, the definition ...'), without the subject."""
    drift = []
    cpus, why = _expected_cpus(pins, thread["role"], thread["index"], host_cpus)
    if cpus is not None and frozenset(thread["cpus"]) != frozenset(cpus):
        drift.append("may run on %s, %s" % (format_cpuset(thread["cpus"]) or "no CPU", why))
    policy, priority = _expected_sched(scheds, thread["role"], thread["index"])
    actual = thread["policy"]
    if actual != policy or (policy in REALTIME and priority is not None and thread["priority"] != priority):
        running = actual + (" priority %d" % thread["priority"] if actual in REALTIME else "")
        asked = policy + (" priority %d" % priority if policy in REALTIME and priority is not None else "")
        drift.append("%s under the %s policy, the definition asks for %s" % (
            "runs" if thread["role"] != "emulator" else "run", running, asked))
    return drift


def threads_drift(threads, pins, scheds, host_cpus):
    """Sentences for the vCPU, iothread and emulator threads, in that order; the emulator threads that
    differ in the same way share one sentence."""
    drift, emulator = [], {}
    order = {"vcpu": 0, "iothread": 1, "emulator": 2}
    for thread in sorted((t for t in threads if t["role"] in order),
                         key=lambda t: (order[t["role"]], t["index"] if t["index"] is not None else -1, t["tid"])):
        for predicate in _thread_drift(thread, pins, scheds, host_cpus):
            if thread["role"] == "emulator":
                emulator.setdefault(predicate, []).append(_who(thread))
            else:
                drift.append("%s %s" % (_who(thread), predicate))
    for predicate, who in emulator.items():
        if len(who) == 1:
            predicate = predicate.replace("run under", "runs under", 1)
            drift.append("emulator thread %s %s" % (who[0], predicate))
        else:
            drift.append("emulator threads %s %s" % (", ".join(who), predicate))
    return drift


def _thread_entry(thread):
    return {"tid": thread["tid"], "name": thread["name"], "cpus": format_cpuset(thread["cpus"]),
            "policy": thread["policy"], "priority": thread["priority"]}


# ---------------------------------------------------------------------------------------- memory
def guest_memory_blocks(root, default_hugepage_kib=2048):
    """The guest's RAM blocks as QEMU allocates them: [{'what', 'cell', 'size_kib', 'page_kib',
    'nodeset'}] with the page size and host nodes the definition asks for each (nodeset None: unbound)."""
    backing = root.find("memoryBacking/hugepages")
    pages = []
    if backing is not None:
        for page in backing.findall("page"):
            size = parse_size("%s %s" % (page.get("size"), page.get("unit") or "KiB"), "page/@size") // 1024
            pages.append((_cpuset(page.get("nodeset"), "page/@nodeset"), size))
        if not pages:
            pages.append((None, default_hugepage_kib))

    def page_for(cell):
        for nodeset, size in pages:
            if nodeset is not None and cell is not None and cell in nodeset:
                return size
        for nodeset, size in pages:
            if nodeset is None:
                return size
        return BASE_PAGE_KIB

    numatune = root.find("numatune")
    domain_nodes, memnodes = None, {}
    if numatune is not None:
        memory = numatune.find("memory")
        if memory is not None and (memory.get("mode") or "strict") in BINDING_MODES \
                and memory.get("placement", "static") == "static" and memory.get("nodeset"):
            domain_nodes = (parse_cpuset(memory.get("nodeset"), "numatune/memory/@nodeset"), memory.get("mode") or "strict")
        for memnode in numatune.findall("memnode"):
            if (memnode.get("mode") or "strict") in BINDING_MODES and memnode.get("nodeset"):
                memnodes[int(memnode.get("cellid"))] = (parse_cpuset(memnode.get("nodeset"), "memnode/@nodeset"),
                                                        memnode.get("mode") or "strict")

    blocks = []
    dimms = [dev for dev in root.findall("devices/memory") if dev.get("model") in ("dimm", "nvdimm", "virtio-mem")]
    cells = root.findall("cpu/numa/cell")
    if cells:
        for cell in cells:
            ident = int(cell.get("id"))
            size = parse_size("%s %s" % (cell.get("memory"), cell.get("unit") or "KiB"), "cell/@memory") // 1024
            blocks.append({"what": "ram-node%d" % ident, "cell": ident, "size_kib": size, "page_kib": page_for(ident),
                           "nodeset": memnodes.get(ident, domain_nodes)})
    else:
        total = _size_kib(root.find("memory")) or 0
        for dev in dimms:
            total -= _size_kib(dev.find("target/size")) or 0
        blocks.append({"what": "pc.ram", "cell": None, "size_kib": total, "page_kib": page_for(None),
                       "nodeset": domain_nodes})
    for number, dev in enumerate(dimms):
        source_page = _size_kib(dev.find("source/pagesize"))
        target_node = dev.findtext("target/node")
        cell = int(target_node) if target_node else None
        blocks.append({"what": "memdimm%d" % number, "cell": cell, "size_kib": _size_kib(dev.find("target/size")) or 0,
                       "page_kib": source_page or page_for(cell), "nodeset": memnodes.get(cell, domain_nodes)})
    return [block for block in blocks if block["size_kib"] > 0]


def match_memory(blocks, mappings):
    """Pair each guest RAM block with its mapping in the QEMU process: a hugetlbfs file named after the
    block's backend (qemu_back_mem.<id>.XXXX) first, else the first unclaimed mapping of its size (as libvirt
    rounds it at start).
    Returns [(block, mapping or None)] in the order of ``blocks``."""
    found = {}

    def claimed(mapping):
        return any(mapping is other for other in found.values())

    for number, block in enumerate(blocks):
        for mapping in mappings:
            name = (mapping.get("file") or "").rsplit("/", 1)[-1]
            if not claimed(mapping) and name.startswith("qemu_back_mem.%s." % block["what"]):
                found[number] = mapping
                break
    for number, block in enumerate(blocks):
        if number in found:
            continue
        # libvirt rounds a guest's memory up when it starts it (to 1 MiB, or to the page size for hugepages)
        align = max(2048, block["page_kib"])
        largest = -(-block["size_kib"] // align) * align
        for mapping in mappings:
            if not claimed(mapping) and block["size_kib"] <= mapping["size_kib"] <= largest:
                found[number] = mapping
                break
    return [(block, found.get(number)) for number, block in enumerate(blocks)]


def _memory_drift(block, mapping):
    if mapping is None:
        return ["no mapping of %s (guest memory %s) found in the QEMU process" % (_kib_text(block["size_kib"]), block["what"])]
    drift = []
    where = " (guest cell %d)" % block["cell"] if block["cell"] is not None else ""
    actual_page = mapping["page_kib"] if mapping["hugetlb"] else BASE_PAGE_KIB
    if actual_page != block["page_kib"]:
        asked = _pages_text(block["page_kib"]) if block["page_kib"] != BASE_PAGE_KIB else "no hugepages"
        drift.append("%s of guest memory%s on %s, the definition asks for %s"
                     % (_kib_text(mapping["size_kib"]), where, _pages_text(actual_page), asked))
    if block["nodeset"] is not None:
        nodeset, mode = block["nodeset"]
        for node, kib in sorted(mapping["nodes"].items()):
            if node not in nodeset:
                drift.append("%s of guest memory%s on host node %d, the definition binds it to %s (%s)"
                             % (_kib_text(kib), where, node, _nodes_text(nodeset), mode))
    return drift


def _memory_entries(pairs):
    totals = {}
    for _block, mapping in pairs:
        if mapping is None:
            continue
        page = mapping["page_kib"] if mapping["hugetlb"] else BASE_PAGE_KIB
        for node, kib in mapping["nodes"].items():
            totals[(node, page)] = totals.get((node, page), 0) + kib
    return [{"node": node, "page_size": _kib_text(page), "size": _kib_text(kib)}
            for (node, page), kib in sorted(totals.items())]


def _hugetlb_pages(mappings):
    held = {}
    for mapping in mappings:
        if mapping["hugetlb"]:
            for node, kib in mapping["nodes"].items():
                key = (node, mapping["page_kib"])
                held[key] = held.get(key, 0) + kib // mapping["page_kib"]
    return [{"node": node, "page_size": _kib_text(page), "pages": pages} for (node, page), pages in sorted(held.items())]


# ---------------------------------------------------------------------------------------- report
def effective_report(root, process, host_cpus, default_hugepage_kib=2048):
    """(effective, effective_drift) for a running guest.

    ``root``: the guest's live domain XML (parsed); ``process``: host/qemu_process.read_qemu_process();
    ``host_cpus``: the host's CPU numbers (a vCPU that the definition does not pin may run on all of them).
    """
    pins, scheds = _pins(root), _scheds(root)
    threads = process["threads"]
    drift = []
    effective = {"pid": process["pid"], "vcpus": [], "iothreads": [], "emulator": [], "kernel_threads": []}
    for thread in sorted(threads, key=lambda t: (t["role"], t["index"] if t["index"] is not None else -1, t["tid"])):
        role = thread["role"]
        if role == "kernel":
            effective["kernel_threads"].append(_thread_entry(thread))
            continue
        if role == "vcpu":
            effective["vcpus"].append(dict(_thread_entry(thread), vcpu=thread["index"]))
        elif role == "iothread":
            effective["iothreads"].append(dict(_thread_entry(thread), iothread=thread["index"]))
        else:
            effective["emulator"].append(_thread_entry(thread))
    drift.extend(threads_drift(threads, pins, scheds, host_cpus))
    pairs = match_memory(guest_memory_blocks(root, default_hugepage_kib), process["mappings"])
    for block, mapping in pairs:
        drift.extend(_memory_drift(block, mapping))
    effective["memory"] = _memory_entries(pairs)
    effective["transparent_hugepages"] = _kib_text(sum(m["anon_huge_kib"] for _b, m in pairs if m is not None))
    effective["hugetlb_pages"] = _hugetlb_pages(process["mappings"])
    return effective, drift
