# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What defined guests hold on the host, in numa_plan's ``existing`` shape, and the pools a plan needs.

Pure functions (XML and dicts in, dicts out), except read_placements at the end, which reads
through libvirt_edge.

The numa_pinning role reads every defined guest (guest_placements_info module), hands the result to
numa_plan as ``existing`` (so re-planned guests land where they were and new ones take what is
left), and sizes the hugepage pools from the plan's ``host_requirements`` (hugepage_reservation
filter). The reading rules are here, next to each other:

* CPUs held: a host CPU that exactly one vCPU of the guest is pinned to, alone (a dedicated
  vCPU); and, for a guest with such vCPUs, a single-CPU emulatorpin or iothreadpin (an isolated
  thread). Shared vCPUs float over several CPUs or share one, and hold nothing.
* Memory per host node: each guest NUMA cell's memory on the node its memnode (else the
  numatune memory nodeset) names, when that is a single node; without cells, the whole memory
  on the numatune node. On a one-node host everything is on node 0. Memory bound to several
  nodes at once is not counted on any (the planner could not tell where it lies).
* Page size per cell: the <hugepages><page> whose nodeset names the cell, else the one without
  nodeset; <hugepages/> without a page uses the host's default hugepage size.
* Shared vCPUs per host node: every vCPU that holds no CPU of its own, on the node of its guest
  cell's memory (as for memory); left out when that node is not known.
* PCI devices: the addresses of <hostdev type='pci'> sources.
* Profile: the profile versions recorded in <metadata> under METADATA_NAMESPACE
  (<virtuned:tuning profile='dedicated@1'/>), which numa_plan returns as plan[].metadata.profile.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas import cputune, memory_backing, metadata, numa
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.guest_memory import (
    guest_cells, host_page_sizes, memory_bytes,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.hugepage_pools import kernel_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size, parse_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain, parse_xml

SMALL = "small"
# The collection's own <metadata> namespace: <metadata><virtuned:tuning xmlns:virtuned='...' profile='db@2'/>
METADATA_NAMESPACE = metadata.TUNING_NAMESPACE
METADATA_PREFIX = metadata.TUNING_PREFIX


def _cpus(value):
    try:
        return parse_cpuset(value, "cpuset") if value not in (None, "") else frozenset()
    except TuningError:
        return frozenset()


def held_cpus(root, host_cpus):
    """Host CPUs the guest holds for itself (see the module docstring), limited to ``host_cpus``."""
    tune = cputune.AREA.read(root)
    per_cpu = {}
    for pin in tune["vcpupin"] or []:
        cpus = _cpus(pin.get("cpuset"))
        for cpu in cpus:
            per_cpu.setdefault(cpu, []).append(len(cpus))
    held = set(cpu for cpu, sizes in per_cpu.items() if sizes == [1])
    if held:
        threads = [tune["emulatorpin"]] + [pin.get("cpuset") for pin in tune["iothreadpin"] or []]
        for value in threads:
            cpus = _cpus(value)
            if len(cpus) == 1 and not cpus & set(per_cpu):
                held |= cpus
    return held & set(host_cpus)


def _single(nodeset, host_nodes):
    nodes = _cpus(nodeset)
    if len(nodes) == 1 and next(iter(nodes)) in host_nodes:
        return next(iter(nodes))
    return None


def _page_name(page_bytes):
    # numa_plan's existing[].memory[].page_size: small, 2M, 1G
    return SMALL if page_bytes is None else kernel_size(page_bytes // 1024)


def memory_by_node(root, host_nodes, default_page_kib=2048):
    """[(node, page_size, bytes)] the guest's memory takes per host node (see the module docstring)."""
    host_nodes = set(host_nodes)
    tune = numa.AREA.read(root)["numatune"] or {}
    whole = (tune.get("memory") or {}).get("nodeset")
    memnodes = dict((m["cellid"], m.get("nodeset")) for m in tune.get("memnodes") or [])
    backing = memory_backing.AREA.read(root)["hugepages"]
    pages = None if backing is None else list(backing)

    def page_of(cell):
        if pages is None:
            return None
        fallback = None
        for page in pages:
            size = page.get("size") or default_page_kib * 1024
            if page.get("nodeset") is None:
                fallback = fallback or size
            elif cell is not None and cell in _cpus(page["nodeset"]):
                return size
        return fallback or (default_page_kib * 1024 if not pages else None)

    def node_of(nodeset):
        node = _single(nodeset, host_nodes)
        if node is None and len(host_nodes) == 1:
            node = next(iter(host_nodes))
        return node

    parts = []
    cells = guest_cells(root)
    if cells:
        for cell_id in sorted(cells):
            parts.append((node_of(memnodes.get(cell_id) or whole), page_of(cell_id), cells[cell_id]["memory"]))
    else:
        parts.append((node_of(whole), page_of(None), memory_bytes(root) or 0))
    totals = {}
    for node, page, amount in parts:
        if node is None or not amount:
            continue
        key = (node, _page_name(page))
        totals[key] = totals.get(key, 0) + amount
    return [(node, page, amount) for (node, page), amount in sorted(totals.items())]


def shared_vcpus_by_node(root, host_cpus, host_nodes):
    """[(node, count)] of the guest's vCPUs that hold no host CPU of their own (see the module docstring)."""
    host_nodes = set(host_nodes)
    vcpu = root.find("vcpu")
    try:
        total = int((vcpu.text or "").strip()) if vcpu is not None else 0
    except ValueError:
        total = 0
    if not total:
        return []
    tune = cputune.AREA.read(root)
    held = held_cpus(root, host_cpus)
    dedicated = set()
    for pin in tune["vcpupin"] or []:
        cpus = _cpus(pin.get("cpuset"))
        if len(cpus) == 1 and cpus <= held:
            dedicated.add(pin.get("vcpu"))
    numatune = numa.AREA.read(root)["numatune"] or {}
    whole = (numatune.get("memory") or {}).get("nodeset")
    memnodes = dict((m["cellid"], m.get("nodeset")) for m in numatune.get("memnodes") or [])

    def node_of(nodeset):
        node = _single(nodeset, host_nodes)
        if node is None and len(host_nodes) == 1:
            node = next(iter(host_nodes))
        return node

    counts = {}
    cells = guest_cells(root)
    cell_of = {}
    for cell_id, cell in (cells or {}).items():
        for v in cell["cpus"]:
            cell_of[v] = cell_id
    for v in range(total):
        if v in dedicated:
            continue
        node = node_of(memnodes.get(cell_of[v]) or whole) if v in cell_of else node_of(whole)
        if node is not None:
            counts[node] = counts.get(node, 0) + 1
    return sorted(counts.items())


def pci_addresses(root):
    """Addresses (0000:3b:00.0) of the guest's PCI host devices, sorted."""
    found = set()
    for address in root.findall("./devices/hostdev[@type='pci']/source/address"):
        try:
            parts = [int(address.get(k, "0"), 0) for k in ("domain", "bus", "slot", "function")]
        except ValueError:
            continue
        found.add("%04x:%02x:%02x.%x" % tuple(parts))
    return sorted(found)


def recorded_profile(root):
    """The profile versions the guest records in its <metadata>, or ''."""
    return metadata.AREA.read(root)["profile"] or ""


def existing_entry(name, persistent_root, active, host_cpus, host_nodes, live_root=None, default_page_kib=2048):
    """One numa_plan ``existing`` entry: CPUs from the persistent definition (what the guest will hold),
    memory from the running definition when the guest runs (what it holds now).

    ``shared_vcpus``, ``pci_devices`` and ``profile`` are there only when the guest has some."""
    memory_root = live_root if (active and live_root is not None) else persistent_root
    entry = {
        "name": name,
        "cpus": format_cpuset(held_cpus(persistent_root, host_cpus)),
        "memory": [{"node": node, "size": format_size(amount), "page_size": page}
                   for node, page, amount in memory_by_node(memory_root, host_nodes, default_page_kib)],
        "active": bool(active),
    }
    shared = shared_vcpus_by_node(persistent_root, host_cpus, host_nodes)
    if shared:
        entry["shared_vcpus"] = [{"node": node, "count": count} for node, count in shared]
    devices = pci_addresses(persistent_root)
    if devices:
        entry["pci_devices"] = devices
    profile = recorded_profile(persistent_root)
    if profile:
        entry["profile"] = profile
    return entry


GIGANTIC_KIB = 1024 * 1024  # 1 GiB pages: reserved at boot (kernel arguments), never given back at run time


def _page_kib(value, where):
    """A page size ('2M', '1G', '2 MiB', 'small') in KiB; None for small pages."""
    if value in (None, "", SMALL):
        return None
    text = value.strip() + "iB" if isinstance(value, str) and value.strip().upper() in ("2M", "1G") else value
    kib = parse_size(text, where, default_unit="KiB") // 1024
    return None if kib == 4 else kib


def _add(pages, key, count):
    if count:
        pages[key] = pages.get(key, 0) + count


def _existing_pages(entry, where):
    """{(node, size KiB): pages} that one guest_placements_info ``existing`` entry holds on hugepages."""
    pages = {}
    for index, mem in enumerate(entry.get("memory") or []):
        m_where = "%s.memory[%d]" % (where, index)
        if not isinstance(mem, dict) or not isinstance(mem.get("node"), int):
            raise option_error(m_where, mem, "expected {node, size, page_size} with an integer node")
        size_kib = _page_kib(mem.get("page_size"), m_where + ".page_size")
        if size_kib:
            _add(pages, (mem["node"], size_kib), (parse_size(mem.get("size"), m_where + ".size") // 1024) // size_kib)
    return pages


def _plan_pages(entry, where):
    """{(node, size KiB): pages} that one numa_plan ``plan`` entry's guest needs on hugepages."""
    pages = {}
    if not entry.get("fits"):
        return pages
    backing = (entry.get("memory_backing") or {}).get("hugepages") or []
    cells = (entry.get("numa") or {}).get("cells") or []
    nodes = entry.get("host_nodes") or []
    for index, cell in enumerate(cells):
        c_where = "%s.numa.cells[%d]" % (where, index)
        if not isinstance(cell, dict) or index >= len(nodes):
            raise option_error(c_where, cell, "expected one guest cell per host node in host_nodes")
        for p_index, page in enumerate(backing):
            p_where = "%s.memory_backing.hugepages[%d]" % (where, p_index)
            nodeset = page.get("nodeset")
            if nodeset not in (None, "") and cell.get("id") not in parse_cpuset(str(nodeset), p_where + ".nodeset"):
                continue
            size_kib = _page_kib(page.get("size"), p_where + ".size")
            if size_kib:
                cell_kib = parse_size(cell.get("memory"), c_where + ".memory") // 1024
                _add(pages, (nodes[index], size_kib), cell_kib // size_kib)
            break
    return pages


def hugepage_reservation(requirements, host, option="host_requirements", give_back=False, plan=None,
                         existing=None, unplaced=None, phase="final"):
    """Pools for hugepage_pools/hugepages_host from numa_plan's ``host_requirements``.

    Without ``give_back``: each pool the plan uses, at least as many pages as the plan needs and never fewer
    than it has now (the pool only grows).

    With ``give_back`` (the numa_pinning role when it manages the pools), each pool of a run-time page size
    (below 1 GiB) is sized to what every hugepage-backed guest needs after this run, on top of the pages in use
    now that none of them keeps:
    ``count = need + in_use - kept`` where ``need`` is the larger of host_requirements and the pages of the
    ``plan``'s guests plus the ``existing`` guests neither planned nor ``unplaced``; ``in_use`` is the pool's
    total minus its free pages (a running guest's pages, anyone else's; the kernel cannot free them); ``kept``
    is, per running guest, the smaller of the pages it holds now and the pages it needs after this run.
    So a pool shrinks (never below its pages in use, never below what the guests need) and every guest that
    does not hold its pages now finds them free. Pools no guest needs are listed only when they shrink;
    1 GiB pools only grow.

    ``phase`` (with ``give_back``): ``final``, the pools after this run; ``grow``, the same pools none of them
    smaller than it is now: what to reserve before the guests are written, so that a run stopped between
    the two steps never leaves a guest defined on hugepages with fewer pages than it needs; ``final``
    then gives back what is left over.

    Returns [{node, size (2M, 1G), count}] sorted by node and size.
    """
    if phase not in ("final", "grow"):
        raise option_error("phase", phase, "expected final or grow")
    if not isinstance(requirements, dict):
        raise option_error(option, requirements, "expected numa_plan's host_requirements (a dictionary)")
    if not isinstance(host, dict) or not isinstance(host.get("nodes"), list):
        raise option_error("host", type(host).__name__, "expected host_info's host (a dictionary with nodes)")
    totals, in_use = {}, {}
    for node in host["nodes"]:
        for pool in node.get("hugepages") or []:
            key = (node.get("id"), pool.get("size_kib"))
            totals[key] = int(pool.get("total") or 0)
            free = pool.get("free")
            # a pool whose free pages are unknown: all of it counts as in use (it is never shrunk)
            in_use[key] = totals[key] - int(free) if free is not None else totals[key]
    wanted = {}
    for index, item in enumerate(requirements.get("hugepages") or []):
        where = "%s.hugepages[%d]" % (option, index)
        if not isinstance(item, dict) or not isinstance(item.get("node"), int) or isinstance(item.get("count"), bool) \
                or not isinstance(item.get("count"), int):
            raise option_error(where, item, "expected {node, size, count} with integer node and count")
        size_kib = parse_size(item.get("size"), where + ".size") // 1024
        key = (item["node"], size_kib)
        wanted[key] = wanted.get(key, 0) + item["count"]
    if not give_back:
        return [{"node": node, "size": kernel_size(size_kib), "count": max(count, totals.get((node, size_kib), 0))}
                for (node, size_kib), count in sorted(wanted.items())]
    needs = _guest_needs(plan, existing, unplaced)
    guests_need, kept = {}, {}
    for name, (need, held, active) in needs.items():
        for key, count in need.items():
            _add(guests_need, key, count)
        if active:
            for key, count in held.items():
                _add(kept, key, min(count, need.get(key, 0)))
    result = []
    for key in sorted(set(wanted) | set(guests_need) | set(totals)):
        node, size_kib = key
        need = max(wanted.get(key, 0), guests_need.get(key, 0))
        total, used = totals.get(key, 0), in_use.get(key, 0)
        count = max(need, used, need + used - min(kept.get(key, 0), used))
        if size_kib >= GIGANTIC_KIB:
            count = max(count, total)
        if need or count < total:
            result.append({"node": node, "size": kernel_size(size_kib),
                           "count": max(count, total) if phase == "grow" else count})
    return result


def _guest_needs(plan, existing, unplaced):
    """name -> (pages needed after this run, pages held now, running) for every guest with hugepages."""
    if not isinstance(plan, list):
        raise option_error("plan", type(plan).__name__, "expected numa_plan's plan (a list) with give_back")
    if not isinstance(existing, list):
        raise option_error("existing", type(existing).__name__,
                           "expected guest_placements_info's existing (a list) with give_back")
    gone = set(unplaced or [])
    needs = {}
    for index, entry in enumerate(plan):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise option_error("plan[%d]" % index, entry, "expected one entry of numa_plan's plan")
        needs[entry["name"]] = (_plan_pages(entry, "plan[%s]" % entry["name"]), {}, False)
    for index, entry in enumerate(existing):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise option_error("existing[%d]" % index, entry, "expected one entry of guest_placements_info's existing")
        name = entry["name"]
        held = _existing_pages(entry, "existing[%s]" % name)
        if name in needs:
            needs[name] = (needs[name][0], held, bool(entry.get("active")))
        elif name in gone:
            needs[name] = ({}, held, bool(entry.get("active")))
        else:
            # a guest the role does not manage keeps what it holds (its running memory, else its definition)
            needs[name] = (held, held, bool(entry.get("active")))
    return needs


def host_layout(caps_root):
    """(online CPU ids, node ids, default hugepage size in KiB) from host capabilities XML."""
    cpus, nodes = set(), set()
    for cell in caps_root.findall("host/topology/cells/cell"):
        try:
            nodes.add(int(cell.get("id")))
        except (TypeError, ValueError):
            continue
        for cpu in cell.findall("cpus/cpu"):
            try:
                cpus.add(int(cpu.get("id")))
            except (TypeError, ValueError):
                continue
    huge = sorted(s for s in host_page_sizes(caps_root) if s > 4)
    return cpus, nodes or {0}, (huge[0] if huge else 2048)


def read_placements(uri):
    """numa_plan's ``existing`` for every guest on ``uri``, sorted by name (reads only)."""
    # the libvirt binding is imported here so that the pure functions above need none
    from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import LibvirtEdge
    edge = LibvirtEdge(uri)
    try:
        caps = parse_xml(edge.capabilities(), "host capabilities")
        cpus, nodes, default_page = host_layout(caps)
        result = []
        for dom in edge.list_domains():
            name = dom.name()
            active = edge.is_active(dom)
            persistent = parse_domain(edge.persistent_xml(dom), "the persistent XML of %s" % name)
            live = parse_domain(edge.live_xml(dom), "the live XML of %s" % name) if active else None
            result.append(existing_entry(name, persistent, active, cpus, nodes, live_root=live,
                                         default_page_kib=default_page))
    finally:
        edge.close()
    return sorted(result, key=lambda entry: entry["name"])


PLAN_AREAS = ("vcpus", "cpu_model", "numa", "iothreads", "cputune", "memory_backing", "metadata")


def placement_options(entry, option="plan"):
    """The domain_tuning areas that put one numa_plan ``plan`` entry into effect.

    The plan's area options as they are (``metadata``, the profile versions to record, only for a guest
    placed with a profile), plus ``memory_devices.memory``: the sum of the guest cells'
    memory, because libvirt makes <memory> the cells' sum and the numa area refuses cells that
    disagree with it (both change in the same call).
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise option_error(option, entry, "expected one entry of numa_plan's plan (a dictionary with a name)")
    if not entry.get("fits"):
        raise option_error("%s[%s]" % (option, entry["name"]), entry.get("reason"), "the guest does not fit; "
                           "there are no options to apply")
    areas = dict((name, entry[name]) for name in PLAN_AREAS if isinstance(entry.get(name), dict))
    cells = (areas.get("numa") or {}).get("cells") or []
    if cells:
        total = sum(parse_size(cell.get("memory"), "%s[%s].numa.cells.memory" % (option, entry["name"]))
                    for cell in cells)
        areas["memory_devices"] = {"memory": format_size(total)}
    return areas


# ---------------------------------------------------------------------------------------------- recorded profile


CHECKED_FIELDS = ("vcpus", "memory", "cpu_policy", "dedicated_vcpus", "emulator_threads", "page_size",
                  "realtime_vcpus", "numa_nodes", "iothreads")


def profile_check(root, recorded=None, profiles=None):
    """Does the guest still carry the settings of the profile versions it records?

    ``recorded`` defaults to what the guest's <metadata> records; ``profiles`` are the user's
    profiles (numa_plan's option). Returns None when nothing is recorded, else {profile, matches,
    differences (a list of 'field: profile value, guest value')}. Only what the domain XML shows
    without the host is compared (CHECKED_FIELDS); thread_policy, strategy and PCI locality are not.
    """
    # imported here: the planner is not needed to read placements
    from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import PROFILE_FIELDS, \
        parse_page_size
    from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.profiles import ProfileLibrary

    recorded = recorded if recorded is not None else recorded_profile(root)
    if not recorded:
        return None
    fields, resolved = ProfileLibrary(profiles, fields=PROFILE_FIELDS).resolve(recorded, "profile")
    guest = guest_settings(root)
    differences = []

    def differ(field, wanted, found):
        differences.append("%s: %s in %s, %s in the guest" % (field, wanted, resolved, found))

    vcpu_count = guest["vcpus"]
    for field in ("vcpus", "numa_nodes", "iothreads"):
        if fields.get(field) is not None and int(fields[field]) != guest[field]:
            differ(field, fields[field], guest[field])
    if fields.get("memory") is not None:
        wanted = parse_size(fields["memory"], "profile memory")
        if wanted != guest["memory"]:
            differ("memory", format_size(wanted), format_size(guest["memory"]))
    if fields.get("cpu_policy") is not None and fields["cpu_policy"] != guest["cpu_policy"]:
        differ("cpu_policy", fields["cpu_policy"], guest["cpu_policy"])
    if fields.get("dedicated_vcpus") is not None and vcpu_count:
        wanted = _vcpus_of(fields["dedicated_vcpus"], vcpu_count)
        if wanted != guest["dedicated_vcpus"]:
            differ("dedicated_vcpus", format_cpuset(wanted) or "none", format_cpuset(guest["dedicated_vcpus"]) or "none")
    if fields.get("emulator_threads") is not None and fields.get("cpu_policy", "shared") != "shared" \
            and fields["emulator_threads"] != guest["emulator_threads"]:
        differ("emulator_threads", fields["emulator_threads"], guest["emulator_threads"])
    if fields.get("page_size") is not None:
        wanted = parse_page_size(fields["page_size"], "profile page_size")
        found = guest["page_sizes"]
        ok = {"small": found == [SMALL], "large": bool(found) and SMALL not in found, "any": True}.get(
            wanted, found == [kernel_size(wanted)] if not isinstance(wanted, str) else True)
        if not ok:
            differ("page_size", fields["page_size"], ",".join(found))
    if fields.get("realtime_vcpus") is not None and vcpu_count:
        wanted = _vcpus_of(fields["realtime_vcpus"], vcpu_count)
        if wanted != guest["realtime_vcpus"]:
            differ("realtime_vcpus", format_cpuset(wanted) or "none", format_cpuset(guest["realtime_vcpus"]) or "none")
    return {"profile": resolved, "matches": not differences, "differences": differences}


def _vcpus_of(value, vcpus):
    text = str(value)
    if text.strip() and all(p.strip().startswith("^") for p in text.split(",")):
        text = "0-%d,%s" % (vcpus - 1, text)
    return frozenset(c for c in _cpus(text) if c < vcpus)


def guest_settings(root):
    """What a domain XML says in numa_plan's request terms (see profile_check)."""
    vcpu = root.find("vcpu")
    try:
        count = int((vcpu.text or "").strip()) if vcpu is not None else 0
    except ValueError:
        count = 0
    tune = cputune.AREA.read(root)
    pins = dict((pin.get("vcpu"), _cpus(pin.get("cpuset"))) for pin in tune["vcpupin"] or [])
    users = {}
    for cpus in pins.values():
        for cpu in cpus:
            users[cpu] = users.get(cpu, 0) + 1
    dedicated = frozenset(v for v, cpus in pins.items() if len(cpus) == 1 and users[next(iter(cpus))] == 1)
    policy = "shared" if not dedicated else ("dedicated" if len(dedicated) == count else "mixed")
    emulator = _cpus(tune["emulatorpin"])
    pinned = set(c for cpus in pins.values() for c in cpus)
    isolated = len(emulator) == 1 and not emulator & pinned and bool(dedicated)
    realtime = set()
    for sched in tune["vcpusched"] or []:
        if sched.get("scheduler") in ("fifo", "rr"):
            realtime |= _cpus(sched.get("vcpus"))
    backing = memory_backing.AREA.read(root)["hugepages"]
    if backing is None:
        pages = [SMALL]
    else:
        pages = sorted(set(kernel_size((page.get("size") or 2048 * 1024) // 1024) for page in backing)) or ["2M"]
    cells = guest_cells(root)
    count_iothreads = root.find("iothreads")
    try:
        iothread_count = int((count_iothreads.text or "0").strip()) if count_iothreads is not None else 0
    except ValueError:
        iothread_count = 0
    return {
        "vcpus": count,
        "memory": memory_bytes(root) or 0,
        "cpu_policy": policy,
        "dedicated_vcpus": dedicated,
        "emulator_threads": "isolate" if isolated else "share",
        "realtime_vcpus": frozenset(realtime),
        "page_sizes": pages,
        "numa_nodes": len(cells) if cells else 1,
        "iothreads": iothread_count,
    }
