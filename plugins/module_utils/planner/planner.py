# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NUMA placement planner: host (from host_info) and guest requests in, a plan out.

Pure and deterministic: no libvirt, no clock, no randomness; the guests are
placed in a canonical order, so the same input in any order gives the same plan.
See docs/numa_plan.md for the rules.

A guest is placed as one or more guest NUMA cells, each on its own host node.
For each cell count k, page size and set of host nodes, the planner checks each
node on its own (CPUs, whole cores, pages, memory); a node check either picks
the CPUs or names what was short. The search over k, page sizes, node sets and
which node takes which cell is exhaustive, and each node check is exact, so
when a valid placement of a guest exists (given what earlier guests hold), it
is found.
"""

from __future__ import annotations

import itertools
import math

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.profiles import resolve_profile
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size, parse_size

SMALL_PAGE_KIB = 4
CPU_POLICIES = ("shared", "dedicated", "mixed")
THREAD_POLICIES = ("prefer", "isolate", "require")
THREAD_SHARING = ("share", "isolate")
STRATEGIES = ("pack", "spread")
REQUEST_FIELDS = ("name", "profile", "vcpus", "memory", "cpu_policy", "dedicated_vcpus", "thread_policy",
                  "emulator_threads", "iothreads", "iothread_policy", "numa_nodes", "cells", "page_size",
                  "realtime_vcpus", "emulator_cell")
DEFAULTS = {"cpu_policy": "shared", "thread_policy": "prefer", "emulator_threads": "share", "iothreads": 0,
            "iothread_policy": "share", "page_size": "small", "emulator_cell": 0}


# ---------------------------------------------------------------------------------------------- host


class Core:
    """Online thread siblings: the unit of 'whole core' rules."""

    __slots__ = ("index", "node", "cpus")

    def __init__(self, index, node, cpus):
        self.index = index
        self.node = node
        self.cpus = tuple(sorted(cpus))


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

    def distance(self, a, b):
        return self.nodes[a]["distances"].get(b, 10 if a == b else 20)


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


def normalise_request(raw, index, option="guests"):
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
    fields = dict(DEFAULTS)
    if raw.get("profile") is not None:
        fields.update(resolve_profile(raw["profile"], where + ".profile"))
    fields.update(dict((k, v) for k, v in raw.items() if v is not None))
    req = {"name": name, "profile": raw.get("profile")}
    req["vcpus"] = _count(fields.get("vcpus"), where + ".vcpus", 1)
    vcpus = req["vcpus"]
    if fields.get("memory") is None:
        raise option_error(where + ".memory", None, "every guest needs a memory size, such as 4G")
    req["memory_kib"] = parse_size(fields["memory"], where + ".memory", allow_zero=False) // 1024
    if req["memory_kib"] == 0:
        raise option_error(where + ".memory", fields["memory"], "at least 1 KiB")
    for key, choices in (("cpu_policy", CPU_POLICIES), ("thread_policy", THREAD_POLICIES),
                         ("emulator_threads", THREAD_SHARING), ("iothread_policy", THREAD_SHARING)):
        req[key] = _choice(fields[key], "%s.%s" % (where, key), choices)
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
        if req["emulator_threads"] == "share" and len(req["realtime"]) == vcpus:
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
    """existing: [{name, cpus, memory: [{node, size, page_size}], active}]."""
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
        result.append({"name": item["name"], "cpus": cpus, "memory": memory, "active": bool(item.get("active"))})
    return result


# ---------------------------------------------------------------------------------------------- state


class PlanState:
    """What is taken on the host while guests are placed."""

    def __init__(self, host, reserved, reserve_hugepages):
        self.host = host
        self.reserved = set(reserved)
        self.reserve_hugepages = reserve_hugepages
        self.owner = {}  # cpu -> label for the map
        self.taken = set()  # CPUs no other guest may use
        self.small_left = {}
        self.pages_left = {}
        self.pages_used = dict((n, {}) for n in host.nodes)  # node -> size -> pages the plan's guests use
        self.shared_load = dict((n, 0) for n in host.nodes)
        for node_id, node in host.nodes.items():
            pool_kib = sum(size * p["total"] for size, p in node["pools"].items())
            self.small_left[node_id] = node["memory_kib"] - pool_kib
            self.pages_left[node_id] = dict((size, p["free"]) for size, p in node["pools"].items())
        for cpu in self.reserved:
            self.owner[cpu] = "housekeeping"

    def usable(self, cpu):
        return cpu not in self.taken and cpu not in self.reserved

    def pool(self, node):
        """CPUs shared vCPUs of this node float over: not held by anyone, not kernel-isolated."""
        return [c for c in self.host.nodes[node]["cpus"] if c not in self.taken and c not in self.host.isolated]

    def page_room(self, node, size):
        room = self.pages_left[node].get(size, 0)
        if self.reserve_hugepages:
            room += max(self.small_left[node], 0) // size
        return room

    def take_memory(self, node, page, kib):
        if page == "small":
            self.small_left[node] -= kib
            return
        pages = kib // page
        from_pool = min(pages, self.pages_left[node].get(page, 0))
        self.pages_left[node][page] = self.pages_left[node].get(page, 0) - from_pool
        # pages beyond the pool are reserved out of the node's ordinary memory
        self.small_left[node] -= (pages - from_pool) * page
        self.pages_used[node][page] = self.pages_used[node].get(page, 0) + pages

    def add_existing(self, entry, replanned):
        """Account for a guest that already holds resources (or release a re-planned one's)."""
        if replanned:
            # its old CPUs and memory are its own again; a running guest's pages come back
            for node, page, kib in entry["memory"]:
                if page != "small" and entry["active"]:
                    self.pages_left[node][page] = self.pages_left[node].get(page, 0) + kib // page
            return
        for cpu in entry["cpus"]:
            self.taken.add(cpu)
            self.owner[cpu] = entry["name"]
        for node, page, kib in entry["memory"]:
            if page == "small":
                self.small_left[node] -= kib
            else:
                pages = kib // page
                if not entry["active"]:
                    self.pages_left[node][page] = self.pages_left[node].get(page, 0) - pages
                self.pages_used[node][page] = self.pages_used[node].get(page, 0) + pages


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
    if req["dedicated"]:
        free = sum(1 for c in host.nodes[node]["cpus"] if state.usable(c))
    else:
        free = max(state.small_left[node], 0)
    return free if strategy == "pack" else -free


def _check_cell(host, state, req, node, cell_ids, mem_kib, page, extras, cache):
    key = (node, tuple(cell_ids), mem_kib, page, extras)
    if key in cache:
        return cache[key]
    count = sum(1 for v in cell_ids if v in req["dedicated"])
    result = None
    if page == "small":
        if mem_kib > state.small_left[node]:
            result = "node %d: %s of memory free, %s needed" % (
                node, format_size(max(state.small_left[node], 0) * 1024), format_size(mem_kib * 1024))
    else:
        pages = mem_kib // page
        room = state.page_room(node, page)
        if pages > room:
            result = "node %d: %d free %s pages, %d needed" % (node, room, format_size(page * 1024), pages)
    if result is None and count + extras:
        result = select_on_node(host, state, node, count, req["thread_policy"], extras, req["name"])
    if result is None or not isinstance(result, str):
        shared = len(cell_ids) - count
        if shared and not _pool_after(host, state, node, result):
            result = "node %d: no shared CPU left for %d shared vCPUs" % (node, shared)
        elif count + extras and state.shared_load[node] and not _pool_after(host, state, node, result):
            result = "node %d: the shared vCPUs already placed there would have no CPU left" % node
    cache[key] = result
    return result


def _pool_after(host, state, node, choice):
    gone = set()
    if choice is not None and not isinstance(choice, str):
        gone = set(choice[0]) | set(choice[1]) | set(choice[2])
    return any(c not in gone for c in state.pool(node))


def place_guest(host, state, req, strategy):
    """Find the placement of one guest, or return the reason it does not fit."""
    node_ids = sorted(host.nodes)
    if req["cells"]:
        ks = [len(req["cells"])]
    elif req["numa_nodes"]:
        ks = [req["numa_nodes"]]
    else:
        ks = list(range(1, min(len(node_ids), req["vcpus"]) + 1))
    reasons = []
    extras = (1 if req["emulator_threads"] == "isolate" else 0) + \
        (req["iothreads"] if req["iothread_policy"] == "isolate" else 0)
    for k in ks:
        if k > len(node_ids):
            reasons.append("%d guest cells need %d host nodes, the host has %d" % (k, k, len(node_ids)))
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
                found, why = _assign(host, state, req, strategy, cells, memory, page, extras, k)
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


def _assign(host, state, req, strategy, cells, memory, page, extras, k):
    """Try node sets (closest first, then by strategy) and cell-to-node assignments."""
    node_ids = sorted(host.nodes)
    cache = {}
    emu_cell = req["emulator_cell"]

    def set_key(combo):
        dist = sum(host.distance(a, b) for a, b in itertools.combinations(combo, 2))
        return (dist, sum(_node_key(host, state, req, strategy, n) for n in combo), combo)

    shortages = {}
    for combo in sorted(itertools.combinations(node_ids, k), key=set_key):
        order = sorted(combo, key=lambda n: (_node_key(host, state, req, strategy, n), n))
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
                if isinstance(result, str):
                    shortages.setdefault((i, node), result)
                    continue
                assignment[i] = (node, result)
                if solve(i + 1, used | {node}):
                    return True
            return False

        if solve(0, frozenset()):
            return Placement([a[0] for a in assignment], cells, memory, page,
                             [a[1] for a in assignment]), None
    where = "on 1 node" if k == 1 else "over %d nodes" % k
    detail = _reason(sorted(set(shortages.values()), key=_node_sort))
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
            state.taken.add(cpu)
            state.owner[cpu] = "%s/v%d" % (name, vcpu)
        for cpu in held:
            state.taken.add(cpu)
            state.owner[cpu] = "%s/held" % name
        for cpu in extra_cpus:
            state.taken.add(cpu)
        state.take_memory(node, placement.page, placement.memory[index])
        shared = len(ids) - len(dedicated_ids)
        state.shared_load[node] += shared
        cells.append({"node": node, "ids": ids, "pins": pins, "extras": extra_cpus, "held": held,
                      "memory": placement.memory[index]})
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
    if req["cpu_policy"] == "dedicated":
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
    threads = _guest_threads(host, req, cells)
    cores = [len(cell["ids"]) // threads for cell in cells]
    per_socket = 0
    for count in cores:
        per_socket = math.gcd(per_socket, count)
    options = {
        "cputune": cputune,
        "numa": numa,
        "memory_backing": memory_backing,
        "vcpus": {"maximum": req["vcpus"], "placement": "static"},
        "cpu_model": {"topology": {"sockets": sum(cores) // per_socket, "dies": 1, "cores": per_socket,
                                   "threads": threads}},
    }
    if req["iothreads"]:
        options["iothreads"] = {"count": req["iothreads"]}
    return options


def _guest_threads(host, req, cells):
    """Guest threads per core: the host siblings actually used by each guest core."""
    t = host.threads
    if t < 2 or req["cpu_policy"] != "dedicated" or req["thread_policy"] == "isolate":
        return 1
    for cell in cells:
        ids = cell["ids"]
        if len(ids) % t:
            return 1
        for start in range(0, len(ids), t):
            group = [cell["pins"][v] for v in ids[start:start + t]]
            core = host.core_of[group[0]]
            if sorted(group) != list(core.cpus):
                return 1
    return t


# ---------------------------------------------------------------------------------------------- the plan


def _order_key(req):
    # dedicated before shared, bigger before smaller, then by name: a canonical order
    return (0 if req["dedicated"] else 1, -req["vcpus"], -req["memory_kib"], req["name"])


def plan(host, guests, existing=None, reserved_cpus=None, strategy="pack", reserve_hugepages=False):
    """Place ``guests`` on ``host``; returns {plan, host_requirements, map}."""
    model = host if isinstance(host, HostModel) else HostModel(host)
    _choice(strategy, "strategy", STRATEGIES)
    if not isinstance(guests, list):
        raise option_error("guests", guests, "expected a list of guest requests")
    requests = [normalise_request(g, i) for i, g in enumerate(guests)]
    names = [r["name"] for r in requests]
    dupes = sorted(set(n for n in names if names.count(n) > 1))
    if dupes:
        raise option_error("guests", dupes[0], "guest names must be unique")
    reserved = parse_cpuset(reserved_cpus, "reserved_cpus", allow_empty=True) if reserved_cpus not in (None, "") \
        else frozenset()
    stray = sorted(c for c in reserved if c not in model.online)
    if stray:
        raise option_error("reserved_cpus", reserved_cpus, "CPU %d is not an online host CPU" % stray[0])
    held = normalise_existing(existing, model)
    state = PlanState(model, reserved, reserve_hugepages)
    requested = set(names)
    for entry in sorted(held, key=lambda e: e["name"]):
        state.add_existing(entry, entry["name"] in requested)
    previous = set(e["name"] for e in held)
    order = sorted(requests, key=lambda r: (r["name"] not in previous, _order_key(r)))
    placed = {}
    for req in order:
        found, reason = place_guest(model, state, req, strategy)
        if found is None:
            placed[req["name"]] = {"name": req["name"], "fits": False, "reason": reason, "host_nodes": []}
            continue
        cells = commit(model, state, req, found)
        for cell in cells:
            cell["page"] = found.page
        placed[req["name"]] = (req, found, cells)
    results = []
    for name in sorted(placed):
        item = placed[name]
        if isinstance(item, dict):
            results.append(item)
            continue
        req, found, cells = item
        entry = {"name": name, "fits": True, "reason": "", "host_nodes": list(found.nodes)}
        entry.update(guest_options(model, state, req, cells))
        results.append(entry)
    return {
        "plan": results,
        "host_requirements": _requirements(model, state, held),
        "map": render_map(model, state),
    }


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


def render_map(host, state):
    """A text picture: per node, per core, who holds each CPU ('.' is free / shared pool)."""
    lines = []
    for node in sorted(host.nodes):
        info = host.nodes[node]
        used = ", ".join("%s %d/%d used" % (format_size(s * 1024), state.pages_used[node].get(s, 0), p["total"])
                         for s, p in sorted(info["pools"].items()) if p["total"] or state.pages_used[node].get(s))
        pages = (", pages " + used) if used else ""
        lines.append("node %d: %s memory%s" % (node, format_size(info["memory_kib"] * 1024), pages))
        for core in host.node_cores[node]:
            cells = " ".join("%d=%s" % (cpu, state.owner.get(cpu, ".")) for cpu in core.cpus)
            lines.append("  core %s: %s" % (",".join(str(c) for c in core.cpus), cells))
    if host.offline:
        lines.append("offline: %s" % format_cpuset(host.offline))
    return "\n".join(lines) + "\n"
