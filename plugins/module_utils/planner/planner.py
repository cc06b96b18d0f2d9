# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NUMA placement planner: host (from host_info) and guest requests in, a plan out.

Pure and deterministic: no libvirt, no clock, no randomness; the guests are
placed in a canonical order, so the same input in any order gives the same plan.
See docs/numa_plan.md for the rules.

A guest is placed as one or more guest NUMA cells, each on its own host node.
For each cell count k, page size and set of host nodes, the planner checks each
node on its own (CPUs, whole cores, pages, memory, shared CPU room); a node check
either picks the CPUs or names everything that was short. The search over k, page
sizes, node sets and which node takes which cell is exhaustive, and each node check
is exact, so when a valid placement of a guest exists (given what earlier guests
hold), it is found.

``plan`` is the per-host entry point; ``HostPlanner`` keeps one host's state between
guests for callers (such as a fleet placer) that try guests one at a time.
"""

from __future__ import annotations

import itertools
import math

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.profiles import ProfileLibrary, recorded_versions
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size, parse_size

SMALL_PAGE_KIB = 4
CPU_POLICIES = ("shared", "dedicated", "mixed")
THREAD_POLICIES = ("prefer", "isolate", "require")
THREAD_SHARING = ("share", "isolate")
STRATEGIES = ("pack", "spread")
PCI_NUMA_POLICIES = ("required", "preferred", "legacy", "socket")
TOPOLOGY_FIELDS = ("sockets", "cores", "threads", "max_sockets", "max_cores", "max_threads")
REQUEST_FIELDS = ("name", "profile", "vcpus", "memory", "cpu_policy", "dedicated_vcpus", "thread_policy",
                  "emulator_threads", "iothreads", "iothread_policy", "numa_nodes", "cells", "page_size",
                  "realtime_vcpus", "emulator_cell", "topology", "pci_devices", "pci_numa_policy", "strategy")
# what a profile may set: every request field but the guest's name and its profile
PROFILE_FIELDS = tuple(f for f in REQUEST_FIELDS if f not in ("name", "profile"))
DEFAULTS = {"cpu_policy": "shared", "thread_policy": "prefer", "emulator_threads": "share", "iothreads": 0,
            "iothread_policy": "share", "page_size": "small", "emulator_cell": 0, "pci_numa_policy": "legacy"}
# Nova's defaults: cpu_allocation_ratio 16.0, ram_allocation_ratio 1.0
ALLOCATION_DEFAULTS = {"cpu_ratio": 16.0, "ram_ratio": 1.0}


# ---------------------------------------------------------------------------------------------- host


class Core:
    """Online thread siblings: the unit of 'whole core' rules."""

    __slots__ = ("index", "node", "cpus")

    def __init__(self, index, node, cpus):
        self.index = index
        self.node = node
        self.cpus = tuple(sorted(cpus))


def pci_name(address):
    """libvirt's node-device name of a PCI address: 0000:3b:00.0 -> pci_0000_3b_00_0."""
    return "pci_" + address.replace(":", "_").replace(".", "_")


class HostModel:
    """The host dict of host_info, checked and indexed for planning."""

    def __init__(self, host, option="host"):
        if not isinstance(host, dict):
            raise option_error(option, host, "expected the host dict that host_info returns")
        for key in ("cpus", "nodes"):
            if not isinstance(host.get(key), list):
                raise option_error(option, sorted(host) if isinstance(host, dict) else host,
                                   "the host dict needs a list under %r (use host_info's result)" % key)
        self.nodes = {}
        for index, node in enumerate(host["nodes"]):
            where = "%s.nodes[%d]" % (option, index)
            node_id = _int(node, "id", where)
            pools = {}
            for pool in node.get("hugepages") or []:
                size = _int(pool, "size_kib", where + ".hugepages")
                pools[size] = {"total": _int(pool, "total", where + ".hugepages", 0),
                               "free": _int(pool, "free", where + ".hugepages", None)}
                if pools[size]["free"] is None:
                    pools[size]["free"] = pools[size]["total"]
            self.nodes[node_id] = {
                "memory_kib": _int(node, "memory_kib", where),
                "distances": dict((_int(d, "id", where + ".distances"), _int(d, "value", where + ".distances"))
                                  for d in node.get("distances") or []),
                "pools": pools,
                "cpus": [],
            }
        self.cpu_node = {}
        self.offline = set()
        self.online = set()
        self.isolated = set()
        self.node_sockets = dict((n, set()) for n in self.nodes)
        siblings = {}
        for index, cpu in enumerate(host["cpus"]):
            where = "%s.cpus[%d]" % (option, index)
            cpu_id = _int(cpu, "id", where)
            if not cpu.get("online", True):
                self.offline.add(cpu_id)
                continue
            node = cpu.get("node")
            if node not in self.nodes:
                raise option_error(where + ".node", node, "an online CPU must belong to one of the host's nodes")
            self.online.add(cpu_id)
            self.cpu_node[cpu_id] = node
            self.nodes[node]["cpus"].append(cpu_id)
            socket = cpu.get("socket")
            self.node_sockets[node].add(socket if isinstance(socket, int) and socket >= 0 else ("node", node))
            siblings[cpu_id] = parse_cpuset(cpu.get("siblings", str(cpu_id)), where + ".siblings") | {cpu_id}
            if cpu.get("isolated"):
                self.isolated.add(cpu_id)
        self.cores = []
        self.core_of = {}
        for cpu_id in sorted(self.online):
            if cpu_id in self.core_of:
                continue
            group = sorted(c for c in siblings[cpu_id] if c in self.online and self.cpu_node[c] == self.cpu_node[cpu_id])
            core = Core(len(self.cores), self.cpu_node[cpu_id], group)
            self.cores.append(core)
            for member in group:
                self.core_of[member] = core
        self.node_cores = dict((n, [c for c in self.cores if c.node == n]) for n in self.nodes)
        self.threads = max([len(c.cpus) for c in self.cores] or [1])
        self.page_sizes = sorted(set(s for n in self.nodes.values() for s in n["pools"]), reverse=True)
        self.pci = None  # address -> device; None when the host dict has no pci_devices
        self.pci_names = {}
        if host.get("pci_devices") is not None:
            devices = host["pci_devices"]
            if not isinstance(devices, list):
                raise option_error(option + ".pci_devices", devices, "expected host_info's list of PCI devices")
            self.pci = {}
            for index, device in enumerate(devices):
                where = "%s.pci_devices[%d]" % (option, index)
                if not isinstance(device, dict) or not isinstance(device.get("address"), str):
                    raise option_error(where, device, "each PCI device needs an address such as 0000:3b:00.0")
                node = device.get("numa_node")
                if node is not None and (isinstance(node, bool) or not isinstance(node, int)):
                    raise option_error(where + ".numa_node", node, "expected a node number or null")
                if node is not None and node < 0:
                    node = None
                if node is not None and node not in self.nodes:
                    raise option_error(where + ".numa_node", node, "not a host node")
                self.pci[device["address"]] = dict(device, numa_node=node)
                self.pci_names[pci_name(device["address"])] = device["address"]

    def distance(self, a, b):
        return self.nodes[a]["distances"].get(b, 10 if a == b else 20)

    def pci_address(self, name, option):
        """The PCI address of a device named by address or by node-device name."""
        if self.pci is None:
            raise option_error(option, name, "the host dict lists no PCI devices (host.pci_devices, read "
                                             "from libvirt's node-device XML)")
        if isinstance(name, str) and name in self.pci:
            return name
        if isinstance(name, str) and name in self.pci_names:
            return self.pci_names[name]
        raise option_error(option, name, "no such PCI device on the host; known: %s"
                           % (", ".join(sorted(self.pci)) or "none"))


def _int(mapping, key, where, default=TuningError):
    if not isinstance(mapping, dict):
        raise option_error(where, mapping, "expected a dict")
    value = mapping.get(key, default)
    if value is TuningError:
        raise option_error(where, sorted(mapping), "%r is missing" % key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise option_error("%s.%s" % (where, key), value, "expected an integer")


# ---------------------------------------------------------------------------------------------- requests


def _choice(value, option, choices):
    if value not in choices:
        raise option_error(option, value, "expected one of %s" % ", ".join(choices))
    return value


def _count(value, option, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        else:
            raise option_error(option, value, "expected a whole number")
    if value < minimum:
        raise option_error(option, value, "must be at least %d" % minimum)
    return value


def _vcpu_set(value, option, vcpus):
    """A set of guest vCPU ids; a set of exclusions alone ('^0') means all vCPUs but those."""
    if isinstance(value, str) and value.strip() and all(p.strip().startswith("^") for p in value.split(",")):
        # every excluded vCPU must exist too: '^3' on a 3-vCPU guest names a vCPU it lacks
        for part in value.split(","):
            number = part.strip()[1:].strip()
            if number.isdigit() and int(number) >= vcpus:
                raise option_error(option, value, "vCPU %d does not exist: the guest has vCPUs 0-%d"
                                   % (int(number), vcpus - 1))
        value = "0-%d,%s" % (vcpus - 1, value)
    result = parse_cpuset(value, option)
    if max(result) >= vcpus:
        raise option_error(option, value, "vCPU %d does not exist: the guest has vCPUs 0-%d" % (max(result), vcpus - 1))
    return result


def parse_page_size(value, option):
    """'small', 'large', 'any' or a page size ('2M', '1G', '2 MiB', 2048 KiB) in KiB."""
    if value in ("small", "large", "any"):
        return value
    if isinstance(value, str) and value.strip().upper() in ("2M", "1G"):
        value = value.strip() + "iB"
    size = parse_size(value, option, default_unit="KiB", allow_zero=False)
    if size % 1024:
        raise option_error(option, value, "a page size is a whole number of KiB")
    kib = size // 1024
    return "small" if kib == SMALL_PAGE_KIB else kib


def _topology_request(value, option, vcpus):
    """topology: {sockets, cores, threads, max_sockets, max_cores, max_threads} checked; None when not given."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise option_error(option, value, "expected a dict of %s" % ", ".join(TOPOLOGY_FIELDS))
    unknown = sorted(set(value) - set(TOPOLOGY_FIELDS))
    if unknown:
        raise option_error(option, unknown, "unknown fields; known: %s" % ", ".join(TOPOLOGY_FIELDS))
    result = {}
    for key in TOPOLOGY_FIELDS:
        if value.get(key) is not None:
            result[key] = _count(value[key], "%s.%s" % (option, key), 1)
    for key in ("sockets", "cores", "threads"):
        if key in result and "max_" + key in result and result[key] > result["max_" + key]:
            raise option_error("%s.%s" % (option, key), result[key], "above max_%s %d" % (key, result["max_" + key]))
    if not _candidates(vcpus, result):
        raise option_error(option, value, "no sockets x cores x threads makes %d vCPUs within the maxima" % vcpus)
    return result


def _candidates(vcpus, wanted):
    """Every (sockets, cores, threads) that makes ``vcpus`` within the maxima of ``wanted``."""
    found = []
    for sockets in range(1, min(vcpus, wanted.get("max_sockets", vcpus)) + 1):
        if vcpus % sockets:
            continue
        rest = vcpus // sockets
        for cores in range(1, min(rest, wanted.get("max_cores", rest)) + 1):
            if rest % cores:
                continue
            threads = rest // cores
            if threads <= wanted.get("max_threads", threads):
                found.append((sockets, cores, threads))
    return found


class RequestReader:
    """Checks guest requests and fills in their profiles and defaults."""

    def __init__(self, host, profiles=None, shared_set=None, recorded=None):
        self.host = host
        self.library = ProfileLibrary(profiles, fields=PROFILE_FIELDS)
        self.shared_set = shared_set
        self.recorded = recorded or {}  # guest name -> recorded profile string (from existing)

    def read(self, raw, index, option="guests"):
        return normalise_request(raw, index, option, reader=self)


def normalise_request(raw, index, option="guests", reader=None):
    """Check one guest request, fill in its profile and defaults; TuningError names the field."""
    if not isinstance(raw, dict):
        raise option_error("%s[%d]" % (option, index), raw, "a guest request is a dict")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise option_error("%s[%d].name" % (option, index), name, "every guest needs a name")
    where = "%s[%s]" % (option, name)
    unknown = sorted(set(raw) - set(REQUEST_FIELDS))
    if unknown:
        raise option_error(where, unknown, "unknown fields; known: %s" % ", ".join(REQUEST_FIELDS))
    if reader is None:
        reader = RequestReader(None)
    fields = dict(DEFAULTS)
    req = {"name": name, "profile": raw.get("profile"), "recorded_profile": ""}
    if raw.get("profile") is not None:
        pinned = recorded_versions(reader.recorded.get(name), "existing[%s].profile" % name)
        profile_fields, req["recorded_profile"] = reader.library.resolve(raw["profile"], where + ".profile",
                                                                         pinned=pinned)
        fields.update(profile_fields)
    fields.update(dict((k, v) for k, v in raw.items() if v is not None and k not in ("name", "profile")))
    if fields.get("vcpus") is None:
        raise option_error(where + ".vcpus", None, "every guest needs a vCPU count (in the request or its profile)")
    req["vcpus"] = _count(fields.get("vcpus"), where + ".vcpus", 1)
    vcpus = req["vcpus"]
    if fields.get("memory") is None:
        raise option_error(where + ".memory", None, "every guest needs a memory size, such as 4G")
    req["memory_kib"] = parse_size(fields["memory"], where + ".memory", allow_zero=False) // 1024
    if req["memory_kib"] == 0:
        raise option_error(where + ".memory", fields["memory"], "at least 1 KiB")
    for key, choices in (("cpu_policy", CPU_POLICIES), ("thread_policy", THREAD_POLICIES),
                         ("emulator_threads", THREAD_SHARING), ("iothread_policy", THREAD_SHARING),
                         ("pci_numa_policy", PCI_NUMA_POLICIES)):
        req[key] = _choice(fields[key], "%s.%s" % (where, key), choices)
    req["strategy"] = None
    if fields.get("strategy") is not None:
        req["strategy"] = _choice(fields["strategy"], where + ".strategy", STRATEGIES)
    req["iothreads"] = _count(fields["iothreads"], where + ".iothreads", 0)
    req["emulator_cell"] = _count(fields["emulator_cell"], where + ".emulator_cell", 0)
    req["page_size"] = parse_page_size(fields["page_size"], where + ".page_size")
    policy = req["cpu_policy"]
    if policy == "mixed":
        if fields.get("dedicated_vcpus") is None:
            raise option_error(where + ".dedicated_vcpus", None, "cpu_policy mixed needs dedicated_vcpus")
        req["dedicated"] = _vcpu_set(fields["dedicated_vcpus"], where + ".dedicated_vcpus", vcpus)
        if req["thread_policy"] == "require":
            raise option_error(where + ".thread_policy", "require",
                               "require pairs guest threads on host siblings; it needs cpu_policy dedicated")
    elif fields.get("dedicated_vcpus") is not None:
        raise option_error(where + ".dedicated_vcpus", fields["dedicated_vcpus"], "only with cpu_policy mixed")
    else:
        req["dedicated"] = frozenset(range(vcpus)) if policy == "dedicated" else frozenset()
    if policy == "shared":
        for key in ("emulator_threads", "iothread_policy"):
            if req[key] == "isolate":
                raise option_error("%s.%s" % (where, key), "isolate",
                                   "isolated threads need CPUs of their own: use cpu_policy dedicated or mixed")
    req["realtime"] = frozenset()
    if fields.get("realtime_vcpus") is not None:
        req["realtime"] = _vcpu_set(fields["realtime_vcpus"], where + ".realtime_vcpus", vcpus)
        if not req["realtime"] <= req["dedicated"]:
            raise option_error(where + ".realtime_vcpus", fields["realtime_vcpus"],
                               "real-time vCPUs must be dedicated (cpu_policy dedicated, or in dedicated_vcpus)")
        if req["emulator_threads"] == "share" and len(req["realtime"]) == vcpus and not reader.shared_set:
            raise option_error(where + ".realtime_vcpus", fields["realtime_vcpus"],
                               "every vCPU is real-time: leave one for the emulator or set emulator_threads isolate")
    if fields.get("cells") is not None and fields.get("numa_nodes") is not None:
        raise option_error(where + ".cells", fields["cells"], "give numa_nodes or cells, not both")
    req["numa_nodes"] = None
    req["cells"] = None
    if fields.get("numa_nodes") is not None:
        req["numa_nodes"] = _count(fields["numa_nodes"], where + ".numa_nodes", 1)
        if req["numa_nodes"] > vcpus:
            raise option_error(where + ".numa_nodes", req["numa_nodes"], "each guest NUMA cell needs a vCPU")
    if fields.get("cells") is not None:
        req["cells"] = _explicit_cells(fields["cells"], where + ".cells", vcpus, req["memory_kib"])
    if req["emulator_cell"] and req["cells"] is None and req["numa_nodes"] is None:
        raise option_error(where + ".emulator_cell", req["emulator_cell"], "needs numa_nodes or cells")
    wanted_cells = len(req["cells"]) if req["cells"] else req["numa_nodes"]
    if wanted_cells is not None and req["emulator_cell"] >= wanted_cells:
        raise option_error(where + ".emulator_cell", req["emulator_cell"], "the guest has cells 0-%d" % (wanted_cells - 1))
    req["topology"] = _topology_request(fields.get("topology"), where + ".topology", vcpus)
    req["pci"] = []
    devices = fields.get("pci_devices")
    if devices not in (None, []):
        if isinstance(devices, str):
            devices = [devices]
        if not isinstance(devices, list):
            raise option_error(where + ".pci_devices", devices, "expected a list of PCI addresses or node-device names")
        if reader.host is None:
            raise option_error(where + ".pci_devices", devices, "needs the host's PCI devices")
        for d_index, device in enumerate(devices):
            address = reader.host.pci_address(device, "%s.pci_devices[%d]" % (where, d_index))
            if address in [a for a, _n in req["pci"]]:
                raise option_error(where + ".pci_devices", devices, "PCI device %s is named twice" % address)
            req["pci"].append((address, reader.host.pci[address]["numa_node"]))
    return req


def _explicit_cells(cells, option, vcpus, memory_kib):
    """cells: [{cpus: '0-2' or vcpus: 3, memory: '3G'}] into [(vcpu ids, memory KiB)]."""
    if not isinstance(cells, list) or not cells:
        raise option_error(option, cells, "a non-empty list of {cpus or vcpus, memory}")
    result, nxt = [], 0
    for index, cell in enumerate(cells):
        where = "%s[%d]" % (option, index)
        if not isinstance(cell, dict) or cell.get("memory") is None:
            raise option_error(where, cell, "each cell needs memory and cpus (guest vCPU ids) or vcpus (a count)")
        if cell.get("cpus") is not None:
            ids = sorted(_vcpu_set(cell["cpus"], where + ".cpus", vcpus))
        else:
            count = _count(cell.get("vcpus"), where + ".vcpus", 1)
            ids = list(range(nxt, nxt + count))
        nxt = max(ids) + 1
        result.append((tuple(ids), parse_size(cell["memory"], where + ".memory", allow_zero=False) // 1024))
    used = sorted(i for ids, _mem in result for i in ids)
    if used != list(range(vcpus)):
        raise option_error(option, cells, "the cells must hold every vCPU 0-%d exactly once" % (vcpus - 1))
    if sum(mem for _ids, mem in result) != memory_kib:
        raise option_error(option, cells, "the cells' memory must add up to the guest's memory (%s)"
                           % format_size(memory_kib * 1024))
    return result


def normalise_existing(items, host, option="existing"):
    """existing: [{name, cpus, memory: [{node, size, page_size}], shared_vcpus: [{node, count}],
    pci_devices, profile, active}]."""
    result = []
    for index, item in enumerate(items or []):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise option_error("%s[%d]" % (option, index), item, "each entry needs a name")
        where = "%s[%s]" % (option, item["name"])
        cpus = parse_cpuset(item.get("cpus") or "", where + ".cpus", allow_empty=True)
        stray = sorted(c for c in cpus if c not in host.online)
        if stray:
            raise option_error(where + ".cpus", item.get("cpus"), "CPU %d is not an online host CPU" % stray[0])
        memory = []
        for m_index, mem in enumerate(item.get("memory") or []):
            m_where = "%s.memory[%d]" % (where, m_index)
            node = _int(mem, "node", m_where)
            if node not in host.nodes:
                raise option_error(m_where + ".node", node, "not a host node")
            page = parse_page_size(mem.get("page_size") or "small", m_where + ".page_size")
            if page in ("large", "any"):
                raise option_error(m_where + ".page_size", page, "name the page size the guest uses (small, 2M, 1G)")
            kib = parse_size(mem.get("size"), m_where + ".size") // 1024
            memory.append((node, page, kib))
        shared = []
        for s_index, use in enumerate(item.get("shared_vcpus") or []):
            s_where = "%s.shared_vcpus[%d]" % (where, s_index)
            node = _int(use, "node", s_where)
            if node not in host.nodes:
                raise option_error(s_where + ".node", node, "not a host node")
            shared.append((node, _count(use.get("count"), s_where + ".count", 0)))
        pci = []
        for p_index, device in enumerate(item.get("pci_devices") or []):
            if host.pci is not None and (device in host.pci or device in host.pci_names):
                pci.append(host.pci_address(device, "%s.pci_devices[%d]" % (where, p_index)))
        profile = item.get("profile") or ""
        if profile:
            recorded_versions(profile, where + ".profile")
        result.append({"name": item["name"], "cpus": cpus, "memory": memory, "shared_vcpus": shared, "pci": pci,
                       "profile": profile, "active": bool(item.get("active"))})
    return result


# ---------------------------------------------------------------------------------------------- state


def _ratio(allocation, key):
    value = (allocation or {}).get(key)
    if value is None:
        return ALLOCATION_DEFAULTS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise option_error("allocation.%s" % key, value, "expected a number such as %s" % ALLOCATION_DEFAULTS[key])
    if value <= 0:
        raise option_error("allocation.%s" % key, value, "must be above 0")
    return float(value)


def read_allocation(allocation):
    """allocation: {cpu_ratio, ram_ratio} checked, defaults filled in."""
    if allocation is not None and not isinstance(allocation, dict):
        raise option_error("allocation", allocation, "expected a dict with cpu_ratio and ram_ratio")
    unknown = sorted(set(allocation or {}) - set(ALLOCATION_DEFAULTS))
    if unknown:
        raise option_error("allocation", unknown, "unknown fields; known: cpu_ratio, ram_ratio")
    return dict((key, _ratio(allocation, key)) for key in ALLOCATION_DEFAULTS)


class PlanState:
    """What is taken on the host while guests are placed."""

    def __init__(self, host, reserved, reserve_hugepages, allocation=None, dedicated_set=None, shared_set=None,
                 reserved_pages=()):
        self.host = host
        self.reserved = set(reserved)
        self.reserve_hugepages = reserve_hugepages
        allocation = allocation or dict(ALLOCATION_DEFAULTS)
        self.cpu_ratio = allocation["cpu_ratio"]
        self.ram_ratio = allocation["ram_ratio"]
        self.dedicated_set = dedicated_set
        self.shared_set = shared_set
        self.owner = {}  # cpu -> label for the map
        self.taken = set()  # CPUs no other guest may use
        self.small_left = {}  # physical KiB of ordinary memory left per node
        self.pages_left = {}
        self.pages_used = dict((n, {}) for n in host.nodes)  # node -> size -> pages the plan's guests use
        self.shared_load = dict((n, 0) for n in host.nodes)
        self.memory_holders = dict((n, {}) for n in host.nodes)  # node -> page -> {guest: KiB}
        self.shared_holders = dict((n, {}) for n in host.nodes)  # node -> {guest: shared vCPUs}
        self.pci_owner = {}
        self.cpu_holder_names = dict((n, set()) for n in host.nodes)
        for node_id, node in host.nodes.items():
            pool_kib = sum(size * p["total"] for size, p in node["pools"].items())
            self.small_left[node_id] = node["memory_kib"] - pool_kib
            self.pages_left[node_id] = dict((size, p["free"]) for size, p in node["pools"].items())
        for cpu in self.reserved:
            self.owner[cpu] = "housekeeping"
        for node, size, count in reserved_pages:
            # kept for other uses: out of the free pages, and part of what the pool must hold
            from_pool = min(count, max(self.pages_left[node].get(size, 0), 0))
            self.pages_left[node][size] = self.pages_left[node].get(size, 0) - from_pool
            if self.reserve_hugepages:
                self.small_left[node] -= (count - from_pool) * size
            self.pages_used[node][size] = self.pages_used[node].get(size, 0) + count
            self.memory_holders[node].setdefault(size, {})["reserved_hugepages"] = count * size

    def usable(self, cpu):
        """May a dedicated vCPU or an isolated thread take this CPU?"""
        if cpu in self.taken or cpu in self.reserved:
            return False
        if self.dedicated_set is not None and cpu not in self.dedicated_set:
            return False
        return self.shared_set is None or cpu not in self.shared_set

    def pool(self, node):
        """CPUs shared vCPUs of this node float over: shared_cpus when given; else not held by anyone,
        not kernel-isolated, not in dedicated_cpus."""
        cpus = self.host.nodes[node]["cpus"]
        if self.shared_set is not None:
            return [c for c in cpus if c in self.shared_set and c not in self.taken]
        return [c for c in cpus if c not in self.taken and c not in self.host.isolated
                and (self.dedicated_set is None or c not in self.dedicated_set)]

    def shared_room(self, cpus):
        """Shared vCPUs that ``cpus`` CPUs can run: CPUs x cpu_ratio."""
        return int(cpus * self.cpu_ratio + 1e-9)

    def small_charge(self, kib):
        """Ordinary memory a small-page guest takes: its size / ram_ratio."""
        return kib if self.ram_ratio == 1.0 else int(math.ceil(kib / self.ram_ratio))

    def small_free(self, node):
        """Small-page memory guests can still take on the node (ram_ratio applied)."""
        left = max(self.small_left[node], 0)
        return left if self.ram_ratio == 1.0 else int(left * self.ram_ratio)

    def page_room(self, node, size):
        room = self.pages_left[node].get(size, 0)
        if self.reserve_hugepages:
            room += max(self.small_left[node], 0) // size
        return room

    def take_memory(self, node, page, kib, name=None):
        if name is not None:
            holders = self.memory_holders[node].setdefault(page, {})
            holders[name] = holders.get(name, 0) + kib
        if page == "small":
            self.small_left[node] -= self.small_charge(kib)
            return
        pages = kib // page
        from_pool = min(pages, self.pages_left[node].get(page, 0))
        self.pages_left[node][page] = self.pages_left[node].get(page, 0) - from_pool
        # pages beyond the pool are reserved out of the node's ordinary memory
        self.small_left[node] -= (pages - from_pool) * page
        self.pages_used[node][page] = self.pages_used[node].get(page, 0) + pages

    def take_shared(self, node, count, name):
        if count:
            self.shared_load[node] += count
            self.shared_holders[node][name] = self.shared_holders[node].get(name, 0) + count

    def add_existing(self, entry, replanned):
        """Account for a guest that already holds resources (or release a re-planned one's)."""
        if replanned:
            # its old CPUs and memory are its own again; a running guest's pages come back
            for node, page, kib in entry["memory"]:
                if page != "small" and entry["active"]:
                    self.pages_left[node][page] = self.pages_left[node].get(page, 0) + kib // page
            return
        for cpu in entry["cpus"]:
            self.hold_cpu(cpu, entry["name"])
        for node, page, kib in entry["memory"]:
            holders = self.memory_holders[node].setdefault(page, {})
            holders[entry["name"]] = holders.get(entry["name"], 0) + kib
            if page == "small":
                self.small_left[node] -= self.small_charge(kib)
            else:
                pages = kib // page
                if not entry["active"]:
                    self.pages_left[node][page] = self.pages_left[node].get(page, 0) - pages
                self.pages_used[node][page] = self.pages_used[node].get(page, 0) + pages
        for node, count in entry["shared_vcpus"]:
            self.take_shared(node, count, entry["name"])
        for address in entry["pci"]:
            self.pci_owner[address] = entry["name"]

    def hold_cpu(self, cpu, label):
        """``cpu`` is taken; ``label`` ('guest/v0', 'guest/held', ...) names its holder in the map."""
        self.taken.add(cpu)
        self.owner[cpu] = label
        self.cpu_holder_names[self.host.cpu_node[cpu]].add(label.split("/", 1)[0])

    def cpu_holders(self, node, guest):
        """Guests holding CPUs of the node (for refusals), sorted."""
        return sorted(n for n in self.cpu_holder_names[node] if n != guest)


HOLDERS_SHOWN = 5


def _held_by(names):
    """' (held by a, b)': the guests holding what is short, the first few by name."""
    if not names:
        return ""
    if len(names) > HOLDERS_SHOWN:
        return " (held by %s and %d more)" % (", ".join(names[:HOLDERS_SHOWN]), len(names) - HOLDERS_SHOWN)
    return " (held by %s)" % ", ".join(names)


# ---------------------------------------------------------------------------------------------- node checks


def _min_cover(groups, need):
    """Pick groups (lists of CPUs) whose sizes cover ``need`` with the fewest CPUs; earlier groups win ties.

    Returns the chosen group indexes, or None. Group sizes are small (threads per core),
    so a DP over the covered count is cheap and exact.
    """
    if need <= 0:
        return []
    best = {0: []}  # covered count (capped at need) -> chosen indexes with least total size
    for index, group in enumerate(groups):
        size = len(group)
        for covered, chosen in sorted(best.items(), reverse=True):
            new = min(need, covered + size)
            total = sum(len(groups[i]) for i in chosen) + size
            old = best.get(new)
            if old is None or total < sum(len(groups[i]) for i in old):
                best[new] = chosen + [index]
    return best.get(need)


def _core_order(host, core, state):
    # kernel-isolated cores first (they are meant for pinning), then by CPU number
    return (not all(c in host.isolated for c in core.cpus), core.cpus[0])


def select_on_node(host, state, node, count, policy, extras, guest):
    """Pick ``count`` dedicated CPUs and ``extras`` isolated-thread CPUs on ``node``.

    Returns (vcpu_cpus in pinning order, extra_cpus, held_cpus) or a string naming what was short.
    Exact: when any choice satisfying the thread policy exists, one is returned.
    """
    cores = sorted((c for c in host.node_cores[node]), key=lambda c: _core_order(host, c, state))
    usable = [(core, [c for c in core.cpus if state.usable(c)]) for core in cores]
    usable = [(core, cpus) for core, cpus in usable if cpus]
    if policy == "prefer":
        whole = [(core, cpus) for core, cpus in usable if len(cpus) == len(core.cpus)]
        parts = [(core, cpus) for core, cpus in usable if len(cpus) < len(core.cpus)]
        # extras take the fewest CPUs that cover them, fragments first
        ordered = parts + whole
        chosen = _min_cover([cpus for _core, cpus in ordered], extras)
        total = sum(len(cpus) for _core, cpus in usable)
        if chosen is None or total - sum(len(ordered[i][1]) for i in chosen) < count:
            if total < count + extras:
                return "node %d: %d free CPUs, %d needed" % (node, total, count + extras)
            return ("node %d: %d free CPUs, but %d vCPUs and %d isolated thread CPUs cannot sit on separate cores"
                    % (node, total, count, extras))
        extra_cores = set(ordered[i][0].index for i in chosen)
        extra_cpus = [c for i in chosen for c in ordered[i][1]][:extras]
        rest_whole = [(core, cpus) for core, cpus in whole if core.index not in extra_cores]
        rest_parts = [(core, cpus) for core, cpus in parts if core.index not in extra_cores]
        picked, used_cores = [], set()
        for core, cpus in rest_whole:
            if count - len(picked) >= len(cpus):
                picked.extend(cpus)
                used_cores.add(core.index)
        for core, cpus in rest_parts + [(c, p) for c, p in rest_whole if c.index not in used_cores]:
            if len(picked) == count:
                break
            picked.extend(cpus[:count - len(picked)])
        return picked, extra_cpus, []
    if policy == "require":
        if host.threads < 2:
            return "node %d: thread_policy require needs SMT, the host has 1 thread per core" % node
        cores_needed = count // host.threads
    else:  # isolate: every vCPU takes a whole core
        cores_needed = count

    def qualify(core, cpus):
        # a whole free core; under require, also one with every sibling thread online
        return len(cpus) == len(core.cpus) and (policy != "require" or len(cpus) == host.threads)

    good = [(core, cpus) for core, cpus in usable if qualify(core, cpus)]
    other = [cpu for core, cpus in usable if not qualify(core, cpus) for cpu in cpus]
    extra_cpus = other[:extras]
    spent = set()
    if len(extra_cpus) < extras:
        # take whole cores for the rest, largest first: the fewest cores lost to extras
        for core, cpus in sorted(good, key=lambda item: (-len(item[1]), item[0].cpus[0])):
            if len(extra_cpus) >= extras:
                break
            spent.add(core.index)
            extra_cpus.extend(cpus[:extras - len(extra_cpus)])
        if len(extra_cpus) < extras:
            return "node %d: %d free CPUs, %d needed for isolated threads beside the vCPUs' cores" % (
                node, sum(len(c) for _x, c in usable), extras + count)
    remaining = [(core, cpus) for core, cpus in good if core.index not in spent]
    if len(remaining) < cores_needed:
        kind = "whole cores" if policy == "isolate" else "whole %d-thread cores" % host.threads
        extra_note = " (%d more went to isolated threads)" % len(spent) if spent else ""
        return "node %d: %d free %s%s, %d needed (thread_policy %s)" % (
            node, len(remaining), kind, extra_note, cores_needed, policy)
    if policy == "isolate":
        # cores with fewer threads first: they leave no idle sibling
        remaining.sort(key=lambda item: (len(item[1]), _core_order(host, item[0], state)))
        use = remaining[:cores_needed]
        return [cpus[0] for _core, cpus in use], extra_cpus, [c for _core, cpus in use for c in cpus[1:]]
    use = remaining[:cores_needed]
    return [c for _core, cpus in use for c in cpus], extra_cpus, []


# ---------------------------------------------------------------------------------------------- guest placement


def _split(total, parts, unit=1):
    """``total`` into ``parts`` as even as possible in multiples of ``unit``, larger parts first."""
    units = total // unit
    base, extra = divmod(units, parts)
    return [(base + (1 if i < extra else 0)) * unit for i in range(parts)]


def _memory_split(memory_kib, counts, granule):
    """Memory proportional to vCPUs, in whole granules; the rounding remainder goes to the largest fractions."""
    granules = memory_kib // granule
    total = sum(counts)
    shares = [granules * c // total for c in counts]
    fractions = sorted(range(len(counts)), key=lambda i: (-((granules * counts[i]) % total), i))
    for i in fractions[:granules - sum(shares)]:
        shares[i] += 1
    return [s * granule for s in shares]


def _page_candidates(req, host, state):
    page = req["page_size"]
    huge = list(host.page_sizes)
    if page == "small":
        return ["small"]
    if page in ("large", "any"):
        sizes = [s for s in huge if state.reserve_hugepages
                 or any(state.pages_left[n].get(s, 0) > 0 for n in host.nodes)]
        return sizes + (["small"] if page == "any" else [])
    return [page]


def _cell_layouts(req, k, host):
    """Candidate (vCPU ids per cell) for k cells: the even split, larger cells first."""
    if req["cells"]:
        return [[ids for ids, _mem in req["cells"]]]
    dedicated_only = req["cpu_policy"] == "dedicated"
    unit = host.threads if dedicated_only and req["thread_policy"] == "require" else 1
    if req["vcpus"] % unit or req["vcpus"] // unit < k:
        return []
    counts = _split(req["vcpus"], k, unit)
    cells, start = [], 0
    for count in counts:
        cells.append(tuple(range(start, start + count)))
        start += count
    return [cells]


class Placement:
    __slots__ = ("nodes", "cells", "memory", "page", "choices")

    def __init__(self, nodes, cells, memory, page, choices):
        self.nodes = nodes
        self.cells = cells
        self.memory = memory
        self.page = page
        self.choices = choices


def _node_key(host, state, req, strategy, node):
    """Order of nodes: (free of what the guest mostly uses, free of the other); pack takes the least free
    first, spread the most free. Both parts are absolute amounts (CPUs, KiB), so a bigger node counts as emptier."""
    memory = state.small_free(node)
    if req["dedicated"]:
        key = (sum(1 for c in host.nodes[node]["cpus"] if state.usable(c)), memory)
    else:
        room = state.shared_room(len(state.pool(node))) - state.shared_load[node]
        key = (memory, room)
    return key if strategy == "pack" else (-key[0], -key[1])


def _check_cell(host, state, req, node, cell_ids, mem_kib, page, extras, cache):
    """None or the CPU choice when the cell fits on the node, else every shortage (a list of strings)."""
    key = (node, tuple(cell_ids), mem_kib, page, extras)
    if key in cache:
        return cache[key]
    count = sum(1 for v in cell_ids if v in req["dedicated"])
    problems = []
    if page == "small":
        free = state.small_free(node)
        if mem_kib > free:
            problems.append("node %d: %s of memory free, %s needed%s" % (
                node, format_size(free * 1024), format_size(mem_kib * 1024),
                _held_by(_memory_holders(state, node, "small", req["name"]))))
    else:
        pages = mem_kib // page
        room = state.page_room(node, page)
        if pages > room:
            problems.append("node %d: %d free %s pages, %d needed%s" % (
                node, room, format_size(page * 1024), pages,
                _held_by(_memory_holders(state, node, page, req["name"]))))
    choice = None
    if count + extras:
        result = select_on_node(host, state, node, count, req["thread_policy"], extras, req["name"])
        if isinstance(result, str):
            problems.append(result + _held_by(state.cpu_holders(node, req["name"])))
        else:
            choice = result
    shared = len(cell_ids) - count
    if shared or (count + extras and state.shared_load[node]):
        pool = _pool_after(state, node, choice)
        room = state.shared_room(pool)
        ratio = "%g" % state.cpu_ratio
        if shared and not pool:
            problems.append("node %d: no shared CPU left for %d shared vCPUs" % (node, shared))
        elif shared and shared > pool:
            problems.append("node %d: %d shared CPUs, fewer than the cell's %d shared vCPUs" % (node, pool, shared))
        elif shared and state.shared_load[node] + shared > room:
            problems.append("node %d: room for %d more shared vCPUs (%d shared CPUs x cpu_ratio %s, %d in use), "
                            "%d needed%s" % (node, max(room - state.shared_load[node], 0), pool, ratio,
                                             state.shared_load[node], shared,
                                             _held_by(_shared_holders(state, node, req["name"]))))
        elif not shared and not pool:
            problems.append("node %d: the shared vCPUs already placed there would have no CPU left" % node)
        elif not shared and state.shared_load[node] > room:
            problems.append("node %d: the %d shared vCPUs already placed there would exceed %d shared CPUs x "
                            "cpu_ratio %s" % (node, state.shared_load[node], pool, ratio))
    result = problems if problems else choice
    cache[key] = result
    return result


def _memory_holders(state, node, page, guest):
    return sorted(n for n in state.memory_holders[node].get(page, {}) if n != guest)


def _shared_holders(state, node, guest):
    return sorted(n for n, c in state.shared_holders[node].items() if c and n != guest)


def _pool_after(state, node, choice):
    """How many shared CPUs the node keeps once ``choice`` (a CPU pick) is taken."""
    gone = set()
    if choice is not None:
        gone = set(choice[0]) | set(choice[1]) | set(choice[2])
    return sum(1 for c in state.pool(node) if c not in gone)


def _locality(host, state, req, relaxed):
    """(nodes every placement must include, socket groups each placement must touch, refusal or None)."""
    policy = req["pci_numa_policy"]
    nodes, sockets = set(), []
    for address, node in req["pci"]:
        owner = state.pci_owner.get(address)
        if owner is not None and owner != req["name"]:
            return None, None, "PCI device %s is given to %s" % (address, owner)
        device = host.pci[address]
        # a physical function passed through takes its virtual functions with it, and the other way round
        related = [("physical function", device.get("physical_function"))] + \
            [("virtual function", vf) for vf in device.get("virtual_functions") or []]
        for what, other in related:
            owner = state.pci_owner.get(other) if other else None
            if owner is not None and owner != req["name"]:
                return None, None, "PCI device %s: its %s %s is given to %s" % (address, what, other, owner)
        if relaxed:
            continue
        if node is None:
            if policy in ("required", "socket"):
                return None, None, ("PCI device %s reports no NUMA node; pci_numa_policy %s needs one"
                                    % (address, policy))
            continue  # legacy and preferred: a device with no NUMA information goes anywhere
        if policy == "socket":
            sockets.append((address, node, frozenset(host.node_sockets[node])))
        else:
            nodes.add(node)
    return nodes, sockets, None


def _locality_problem(host, req, combo, nodes, sockets):
    """Why a node set misses the guest's PCI devices, or None."""
    where = ("node %d" % combo[0]) if len(combo) == 1 else ("nodes %s" % ",".join(str(n) for n in sorted(combo)))
    for address, node in req["pci"]:
        if node in nodes and node not in combo:
            return "%s: PCI device %s is on node %d (pci_numa_policy %s)" % (
                where, address, node, req["pci_numa_policy"])
    for address, node, group in sockets:
        if not any(host.node_sockets[n] & group for n in combo):
            return "%s: PCI device %s is on node %d, another socket (pci_numa_policy socket)" % (where, address, node)
    return None


def place_guest(host, state, req, strategy):
    """Find the placement of one guest, or return the reason it does not fit."""
    strategy = req.get("strategy") or strategy
    found, reason = _place(host, state, req, strategy, relaxed=False)
    if found is None and req["pci"] and req["pci_numa_policy"] == "preferred":
        # preferred: near the devices when possible, else anywhere (and then why not anywhere)
        found, reason = _place(host, state, req, strategy, relaxed=True)
    return found, reason


def _place(host, state, req, strategy, relaxed):
    node_ids = sorted(host.nodes)
    nodes, sockets, refusal = _locality(host, state, req, relaxed)
    if refusal:
        return None, refusal
    if req["cells"]:
        ks = [len(req["cells"])]
    elif req["numa_nodes"]:
        ks = [req["numa_nodes"]]
    else:
        ks = list(range(max(1, len(nodes)), min(len(node_ids), req["vcpus"]) + 1)) or [max(1, len(nodes))]
    reasons = []
    extras = (1 if req["emulator_threads"] == "isolate" else 0) + \
        (req["iothreads"] if req["iothread_policy"] == "isolate" else 0)
    for k in ks:
        if k > len(node_ids):
            reasons.append("%d guest cells need %d host nodes, the host has %d" % (k, k, len(node_ids)))
            continue
        if len(nodes) > k:
            reasons.append("%d guest cells cannot reach the %d nodes of the PCI devices (%s)"
                           % (k, len(nodes), format_cpuset(nodes)))
            continue
        if k > req["vcpus"]:
            reasons.append("the PCI devices are on %d nodes (%s): %d guest cells, but the guest has %d vCPUs"
                           % (len(nodes), format_cpuset(nodes), k, req["vcpus"]))
            continue
        layouts = _cell_layouts(req, k, host)
        if not layouts:
            reasons.append("thread_policy require: %d vCPUs do not make whole %d-thread cores in each of %d cells"
                           % (req["vcpus"], host.threads, k))
            continue
        pages = _page_candidates(req, host, state)
        if not pages:
            reasons.append("the host has no free hugepages of any size")
        for page in pages:
            granule = SMALL_PAGE_KIB if page == "small" else page
            if page == "small" and req["memory_kib"] % 1024 == 0:
                granule = 1024
            for cells in layouts:
                if req["cells"]:
                    memory = [mem for _ids, mem in req["cells"]]
                    bad = [m for m in memory if m % granule]
                else:
                    memory = _memory_split(req["memory_kib"], [len(c) for c in cells], granule)
                    bad = [] if req["memory_kib"] % granule == 0 else [req["memory_kib"]]
                if bad:
                    reasons.append("memory %s is not a whole number of %s pages"
                                   % (format_size(bad[0] * 1024), format_size(granule * 1024)))
                    continue
                found, why = _assign(host, state, req, strategy, cells, memory, page, extras, k, nodes, sockets)
                if found:
                    return found, None
                reasons.append(why)
    return None, _reason(reasons)


def _reason(reasons):
    seen = []
    for reason in reasons:
        if reason not in seen:
            seen.append(reason)
    return "; ".join(seen)


def _assign(host, state, req, strategy, cells, memory, page, extras, k, nodes=(), sockets=()):
    """Try node sets (closest first, then by strategy) and cell-to-node assignments."""
    node_ids = sorted(host.nodes)
    cache = {}
    emu_cell = req["emulator_cell"]
    keys = dict((n, _node_key(host, state, req, strategy, n)) for n in node_ids)

    def set_key(combo):
        dist = sum(host.distance(a, b) for a, b in itertools.combinations(combo, 2))
        return (dist, tuple(sum(keys[n][i] for n in combo) for i in range(2)), combo)

    shortages = []
    seen = set()

    def note(items):
        for item in items:
            if item not in seen:
                seen.add(item)
                shortages.append(item)

    for combo in sorted(itertools.combinations(node_ids, k), key=set_key):
        problem = _locality_problem(host, req, combo, nodes, sockets) if (nodes or sockets) else None
        if problem:
            note([problem])
            continue
        order = sorted(combo, key=lambda n: (keys[n], n))
        # backtracking: cell i takes one of the unused nodes, in preference order
        assignment = [None] * k

        def solve(i, used):
            if i == k:
                return True
            for node in order:
                if node in used:
                    continue
                result = _check_cell(host, state, req, node, cells[i], memory[i], page,
                                     extras if i == emu_cell else 0, cache)
                if isinstance(result, list):
                    note(result)
                    continue
                assignment[i] = (node, result)
                if solve(i + 1, used | {node}):
                    return True
            return False

        if solve(0, frozenset()):
            return Placement([a[0] for a in assignment], cells, memory, page,
                             [a[1] for a in assignment]), None
    where = "on 1 node" if k == 1 else "over %d nodes" % k
    detail = _reason(sorted(shortages, key=_node_sort))
    size = "small" if page == "small" else format_size(page * 1024)
    return None, "%s with %s pages: %s" % (where, size, detail or "no node set fits")


def _node_sort(reason):
    head = reason.split(":", 1)[0]
    try:
        return (int(head.split()[1]), reason)
    except (IndexError, ValueError):
        return (-1, reason)


# ---------------------------------------------------------------------------------------------- commit and options


def commit(host, state, req, placement):
    """Take the placement's CPUs and memory; return the per-cell detail for the options."""
    name = req["name"]
    cells = []
    for index, (node, ids) in enumerate(zip(placement.nodes, placement.cells)):
        choice = placement.choices[index]
        dedicated_ids = [v for v in ids if v in req["dedicated"]]
        vcpu_cpus, extra_cpus, held = (choice if choice is not None else ([], [], []))
        pins = dict(zip(dedicated_ids, vcpu_cpus))
        for vcpu, cpu in pins.items():
            state.hold_cpu(cpu, "%s/v%d" % (name, vcpu))
        for cpu in held:
            state.hold_cpu(cpu, "%s/held" % name)
        for cpu in extra_cpus:
            state.hold_cpu(cpu, "%s/thread" % name)  # named emulator or ioN once the options are built
        state.take_memory(node, placement.page, placement.memory[index], name)
        state.take_shared(node, len(ids) - len(dedicated_ids), name)
        cells.append({"node": node, "ids": ids, "pins": pins, "extras": extra_cpus, "held": held,
                      "memory": placement.memory[index]})
    for address, _node in req["pci"]:
        state.pci_owner[address] = name
    return cells


def _extras_labels(req, cells, state):
    emu = [c for cell in cells for c in cell["extras"]]
    labels = []
    if req["emulator_threads"] == "isolate":
        labels.append(("emulator", emu[0]))
        emu = emu[1:]
    if req["iothread_policy"] == "isolate":
        labels.extend(("io%d" % (i + 1), cpu) for i, cpu in enumerate(emu))
    for what, cpu in labels:
        state.owner[cpu] = "%s/%s" % (req["name"], what)
    return dict(labels)


def guest_options(host, state, req, cells):
    """The module options that put the placement into effect (cputune, numa, ...)."""
    extras = _extras_labels(req, cells, state)
    vcpupin = []
    for index, cell in enumerate(cells):
        pool = format_cpuset(state.pool(cell["node"]))
        for vcpu in cell["ids"]:
            cpuset = "%d" % cell["pins"][vcpu] if vcpu in cell["pins"] else pool
            vcpupin.append({"vcpu": vcpu, "cpuset": cpuset})
    dedicated_cpus = [cell["pins"][v] for cell in cells for v in cell["ids"] if v in cell["pins"]]
    non_rt = [cell["pins"][v] for cell in cells for v in cell["ids"]
              if v in cell["pins"] and v not in req["realtime"]]
    if state.shared_set:
        # Nova's cpu_shared_set: shared emulator and I/O threads run on the host's shared CPUs
        floating = format_cpuset(state.shared_set)
    elif req["cpu_policy"] == "dedicated":
        floating = format_cpuset(non_rt if req["realtime"] else dedicated_cpus)
    else:
        floating = format_cpuset(c for cell in cells for c in state.pool(cell["node"]))
    cputune = {
        "vcpupin": vcpupin,
        "emulatorpin": "%d" % extras["emulator"] if "emulator" in extras else floating,
    }
    if req["iothreads"]:
        cputune["iothreadpin"] = [
            {"iothread": i, "cpuset": "%d" % extras["io%d" % i] if "io%d" % i in extras else floating}
            for i in range(1, req["iothreads"] + 1)]
    if req["realtime"]:
        cputune["vcpusched"] = [{"vcpus": format_cpuset(req["realtime"]), "scheduler": "fifo", "priority": 1}]
    node_list = [cell["node"] for cell in cells]
    numa = {
        "numatune": {
            "memory": {"mode": "strict", "nodeset": format_cpuset(node_list)},
            "memnodes": [{"cellid": i, "mode": "strict", "nodeset": "%d" % node} for i, node in enumerate(node_list)],
        },
        "cells": [{"id": i, "cpus": format_cpuset(cell["ids"]), "memory": format_size(cell["memory"] * 1024)}
                  for i, cell in enumerate(cells)],
    }
    memory_backing = {}
    page = cells[0].get("page")
    if page not in (None, "small"):
        memory_backing["hugepages"] = [{"size": format_size(page * 1024), "nodeset": format_cpuset(range(len(cells)))}]
    (sockets, cores, threads), topology_reason = choose_topology(host, req, cells)
    options = {
        "cputune": cputune,
        "numa": numa,
        "memory_backing": memory_backing,
        "vcpus": {"maximum": req["vcpus"], "placement": "static"},
        "cpu_model": {"topology": {"sockets": sockets, "dies": 1, "cores": cores, "threads": threads}},
    }
    if req["iothreads"]:
        options["iothreads"] = {"count": req["iothreads"]}
    if req["topology"] is not None:
        options["topology_reason"] = topology_reason
    if req["pci"]:
        options["pci_devices"] = [{"address": address, "numa_node": node} for address, node in req["pci"]]
    if req["recorded_profile"]:
        # what the guest records (<metadata>, see placements.METADATA_NAMESPACE) so a re-plan uses these versions
        options["metadata"] = {"profile": req["recorded_profile"]}
    return options


# ---------------------------------------------------------------------------------------------- guest CPU topology


def _thread_groups_fit(host, req, cells, threads):
    """Do guest thread groups of ``threads`` consecutive vCPUs match the host siblings they use?

    A group of dedicated vCPUs fits when it is pinned to every online thread of one host core; a
    group of shared vCPUs (they float) when the host has that many threads per core; a mixed group never.
    """
    if threads == 1:
        return True
    if req["vcpus"] % threads:
        return False
    cell_of = dict((v, i) for i, cell in enumerate(cells) for v in cell["ids"])
    pins = dict((v, cell["pins"][v]) for cell in cells for v in cell["ids"] if v in cell["pins"])
    for start in range(0, req["vcpus"], threads):
        group = list(range(start, start + threads))
        if len(set(cell_of[v] for v in group)) != 1:
            return False
        pinned = [pins[v] for v in group if v in pins]
        if not pinned:
            if threads > host.threads:
                return False
            continue
        if len(pinned) != threads or req["thread_policy"] == "isolate":
            return False
        core = host.core_of[pinned[0]]
        if sorted(pinned) != list(core.cpus):
            return False
    return True


def _sockets_fit(req, cells, per_socket):
    """Does every guest socket (``per_socket`` consecutive vCPUs) stay inside one guest cell?"""
    cell_of = dict((v, i) for i, cell in enumerate(cells) for v in cell["ids"])
    return all(len(set(cell_of[v] for v in range(start, start + per_socket))) == 1
               for start in range(0, req["vcpus"], per_socket))


def _default_threads(host, req, cells):
    """Guest threads per core without a preference: the host siblings every guest core really uses."""
    t = host.threads
    if t < 2 or req["cpu_policy"] != "dedicated" or req["thread_policy"] == "isolate":
        return 1
    return t if _thread_groups_fit(host, req, cells, t) else 1


def choose_topology(host, req, cells):
    """((sockets, cores, threads), reason) for the placed guest.

    Without a preference: threads as the host siblings used, as many cores per socket as the cells
    allow (no guest socket spans two guest cells). With topology preferences and maxima: the
    candidate within the maxima that fits the placement and matches most preferences; the reason
    says what could not be honoured ('' when everything was).
    """
    wanted = req["topology"] or {}
    vcpus = req["vcpus"]
    default_t = _default_threads(host, req, cells)
    if not wanted:
        # the default: the host siblings used, and the biggest sockets that stay inside one cell
        for per_socket in range(vcpus - vcpus % default_t, 0, -default_t):
            if vcpus % per_socket == 0 and _sockets_fit(req, cells, per_socket):
                return (vcpus // per_socket, per_socket // default_t, default_t), ""
    candidates = _candidates(vcpus, wanted)
    prefs = [(key, wanted[key]) for key in ("sockets", "cores", "threads") if key in wanted]

    def fits(cand):
        sockets, cores, threads = cand
        return _sockets_fit(req, cells, cores * threads) and _thread_groups_fit(host, req, cells, threads)

    def matches(cand):
        values = dict(zip(("sockets", "cores", "threads"), cand))
        return sum(1 for key, value in prefs if values[key] == value)

    def rank(cand):
        sockets, cores, threads = cand
        return (not fits(cand), -matches(cand), abs(threads - default_t), -(cores * threads), -threads)

    best = min(candidates, key=rank)
    if not prefs and not [k for k in wanted if k.startswith("max_")]:
        return best, ""
    problems = []
    if not fits(best):
        sockets, cores, threads = best
        if not _sockets_fit(req, cells, cores * threads):
            problems.append("no topology within the maxima keeps each guest socket inside one guest cell")
        else:
            problems.append("no topology within the maxima matches the host siblings the vCPUs use")
    if matches(best) < len(prefs):
        exact = [c for c in candidates if matches(c) == len(prefs)]
        named = ", ".join("%s %d" % item for item in prefs)
        if not exact:
            problems.append("no sockets x cores x threads with %s makes %d vCPUs within the maxima" % (named, vcpus))
        else:
            cand = exact[0]
            if not _sockets_fit(req, cells, cand[1] * cand[2]):
                problems.append("%s would put vCPUs of two guest cells into one guest socket" % named)
            else:
                problems.append("%s: %d guest threads per core do not match the host siblings the vCPUs use"
                                % (named, cand[2]))
    if not problems:
        return best, ""
    return best, "%s; chose %d sockets x %d cores x %d threads" % (("; ".join(problems),) + best)


# ---------------------------------------------------------------------------------------------- the plan


def _order_key(req):
    # dedicated before shared, bigger before smaller, then by name: a canonical order
    return (0 if req["dedicated"] else 1, -req["vcpus"], -req["memory_kib"], req["name"])


def _host_cpus(value, option, host):
    if value in (None, ""):
        return None
    cpus = parse_cpuset(value, option)
    stray = sorted(c for c in cpus if c not in host.online)
    if stray:
        raise option_error(option, value, "CPU %d is not an online host CPU" % stray[0])
    return frozenset(cpus)


def _reserved_pages(items, host, option="reserved_hugepages"):
    """reserved_hugepages: [{node, size, count}] as [(node, size KiB, count)]."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise option_error(option, items, "expected a list of {node, size, count}")
    result = []
    for index, item in enumerate(items):
        where = "%s[%d]" % (option, index)
        node = _int(item, "node", where)
        if node not in host.nodes:
            raise option_error(where + ".node", node, "not a host node")
        size = parse_page_size(item.get("size"), where + ".size")
        if size in ("small", "large", "any"):
            raise option_error(where + ".size", item.get("size"), "name a hugepage size such as 2M or 1G")
        result.append((node, size, _count(item.get("count"), where + ".count", 0)))
    return result


class HostPlanner:
    """One host's plan in progress: options checked once, guests placed one at a time.

    ``plan`` uses it for one host; a fleet placer can keep one per host, ask ``try_place`` (which
    changes nothing) and ``place`` the guest on the host it chooses, then read ``result``.
    """

    def __init__(self, host, existing=None, reserved_cpus=None, strategy="pack", reserve_hugepages=False,
                 allocation=None, dedicated_cpus=None, shared_cpus=None, reserved_hugepages=None, profiles=None,
                 requested=()):
        self.model = host if isinstance(host, HostModel) else HostModel(host)
        model = self.model
        self.strategy = _choice(strategy, "strategy", STRATEGIES)
        reserved = parse_cpuset(reserved_cpus, "reserved_cpus", allow_empty=True) if reserved_cpus not in (None, "") \
            else frozenset()
        stray = sorted(c for c in reserved if c not in model.online)
        if stray:
            raise option_error("reserved_cpus", reserved_cpus, "CPU %d is not an online host CPU" % stray[0])
        dedicated_set = _host_cpus(dedicated_cpus, "dedicated_cpus", model)
        shared_set = _host_cpus(shared_cpus, "shared_cpus", model)
        if dedicated_set is not None and shared_set is not None and dedicated_set & shared_set:
            raise option_error("shared_cpus", shared_cpus, "CPU %d is in dedicated_cpus too; a CPU is dedicated or "
                               "shared, not both" % min(dedicated_set & shared_set))
        self.held = normalise_existing(existing, model)
        self.state = PlanState(model, reserved, reserve_hugepages, read_allocation(allocation), dedicated_set,
                               shared_set, _reserved_pages(reserved_hugepages, model))
        self.reader = RequestReader(model, profiles, shared_set,
                                    dict((e["name"], e["profile"]) for e in self.held if e["profile"]))
        requested = set(requested)
        for entry in sorted(self.held, key=lambda e: e["name"]):
            self.state.add_existing(entry, entry["name"] in requested)
        self.previous = set(e["name"] for e in self.held)
        self.placed = {}

    def read(self, guests, option="guests"):
        if not isinstance(guests, list):
            raise option_error(option, guests, "expected a list of guest requests")
        requests = [self.reader.read(g, i, option) for i, g in enumerate(guests)]
        names = [r["name"] for r in requests]
        dupes = sorted(set(n for n in names if names.count(n) > 1))
        if dupes:
            raise option_error(option, dupes[0], "guest names must be unique")
        return requests

    def order(self, requests):
        """The canonical order: guests the host already holds first, then dedicated, bigger, by name."""
        return sorted(requests, key=lambda r: (r["name"] not in self.previous, _order_key(r)))

    def try_place(self, req):
        """(placement or None, reason) for one checked request; changes nothing."""
        return place_guest(self.model, self.state, req, self.strategy)

    def place(self, req, tried=None):
        """Place one checked request (or record why it does not fit); True when it fits.

        ``tried`` is what try_place returned for it, when nothing was placed since."""
        found, reason = tried if tried is not None else self.try_place(req)
        if found is None:
            self.placed[req["name"]] = {"name": req["name"], "fits": False, "reason": reason, "host_nodes": []}
            return False
        cells = commit(self.model, self.state, req, found)
        for cell in cells:
            cell["page"] = found.page
        self.placed[req["name"]] = (req, found, cells)
        return True

    def free(self):
        """What is left on the host, for choosing between hosts: free dedicatable CPUs, small-page memory
        (KiB, ram_ratio applied), shared vCPU room, and free pages per size (KiB)."""
        state, model = self.state, self.model
        pages = {}
        for node in model.nodes:
            for size in state.pages_left[node]:
                pages[size] = pages.get(size, 0) + max(state.pages_left[node][size], 0)
        return {
            "cpus": sum(1 for c in model.online if state.usable(c)),
            "memory_kib": sum(state.small_free(n) for n in model.nodes),
            "shared_vcpus": sum(max(state.shared_room(len(state.pool(n))) - state.shared_load[n], 0)
                                for n in model.nodes),
            "pages": pages,
        }

    def result(self):
        results = []
        for name in sorted(self.placed):
            item = self.placed[name]
            if isinstance(item, dict):
                results.append(item)
                continue
            req, found, cells = item
            entry = {"name": name, "fits": True, "reason": "", "host_nodes": list(found.nodes)}
            entry.update(guest_options(self.model, self.state, req, cells))
            results.append(entry)
        return {
            "plan": results,
            "host_requirements": _requirements(self.model, self.state, self.held),
            "map": render_map(self.model, self.state),
        }


def plan(host, guests, existing=None, reserved_cpus=None, strategy="pack", reserve_hugepages=False,
         allocation=None, dedicated_cpus=None, shared_cpus=None, reserved_hugepages=None, profiles=None):
    """Place ``guests`` on ``host``; returns {plan, host_requirements, map}."""
    names = [g.get("name") for g in guests if isinstance(g, dict)] if isinstance(guests, list) else []
    planner = HostPlanner(host, existing=existing, reserved_cpus=reserved_cpus, strategy=strategy,
                          reserve_hugepages=reserve_hugepages, allocation=allocation, dedicated_cpus=dedicated_cpus,
                          shared_cpus=shared_cpus, reserved_hugepages=reserved_hugepages, profiles=profiles,
                          requested=names)
    for req in planner.order(planner.read(guests)):
        planner.place(req)
    return planner.result()


def _requirements(host, state, held):
    hugepages = []
    for node in sorted(state.pages_used):
        for size in sorted(state.pages_used[node]):
            count = state.pages_used[node][size]
            if count:
                hugepages.append({"node": node, "size": format_size(size * 1024), "count": count})
    isolated = set(c for c, label in state.owner.items() if label != "housekeeping" and not label.endswith("/held"))
    for entry in held:
        isolated |= set(c for c in entry["cpus"] if state.owner.get(c) == entry["name"])
    return {"hugepages": hugepages, "isolated_cpus": format_cpuset(isolated)}


def readable_memory(nbytes):
    """Memory a person reads: whole GiB, else whole MiB below 16 GiB, else GiB (or MiB) with one decimal; never KiB."""
    mib, gib = 1024 ** 2, 1024 ** 3
    if nbytes and nbytes % gib == 0:
        return "%d GiB" % (nbytes // gib)
    if nbytes % mib == 0 and nbytes < 16 * gib:
        return "%d MiB" % (nbytes // mib)
    if nbytes >= gib:
        return "%.1f GiB" % (nbytes / float(gib))
    return "%.1f MiB" % (nbytes / float(mib))


def render_map(host, state):
    """A text picture: per node, per core, who holds each CPU ('.': free, or the shared pool), then the shared
    guests of the node with their vCPUs and the CPUs they float over."""
    lines = []
    for node in sorted(host.nodes):
        info = host.nodes[node]
        used = ", ".join("%s %d/%d used" % (format_size(s * 1024), state.pages_used[node].get(s, 0), p["total"])
                         for s, p in sorted(info["pools"].items()) if p["total"] or state.pages_used[node].get(s))
        pages = (", pages " + used) if used else ""
        shared = ""
        if state.shared_load[node]:
            shared = ", shared vCPUs %d/%d" % (state.shared_load[node], state.shared_room(len(state.pool(node))))
        lines.append("node %d: %s memory%s%s" % (node, readable_memory(info["memory_kib"] * 1024), pages, shared))
        for core in host.node_cores[node]:
            cells = " ".join("%d=%s" % (cpu, state.owner.get(cpu, ".")) for cpu in core.cpus)
            lines.append("  core %s: %s" % (",".join(str(c) for c in core.cpus), cells))
        holders = sorted((name, count) for name, count in state.shared_holders[node].items() if count)
        if holders:
            lines.append("  shared over CPUs %s: %s" % (format_cpuset(state.pool(node)) or "none", ", ".join(
                "%s %d vCPU%s" % (name, count, "s" if count > 1 else "") for name, count in holders)))
        for address in sorted(a for a, d in (host.pci or {}).items() if d["numa_node"] == node):
            lines.append("  pci %s: %s" % (address, _pci_label(host.pci[address], state.pci_owner.get(address))))
    loose = sorted(a for a, d in (host.pci or {}).items() if d["numa_node"] is None)
    for address in loose:
        lines.append("pci %s (no NUMA node): %s" % (address, _pci_label(host.pci[address], state.pci_owner.get(address))))
    if host.offline:
        lines.append("offline: %s" % format_cpuset(host.offline))
    return "\n".join(lines) + "\n"


def _pci_label(device, owner):
    kind = " ".join(str(device[k]) for k in ("class", "driver") if device.get(k))
    return "%s%s" % (owner or ".", " (%s)" % kind if kind else "")
