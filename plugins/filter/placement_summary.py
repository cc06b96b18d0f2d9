# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: placement_summary
short_description: A summary a person can read of what the numa_pinning role placed, applied live and left for a restart
version_added: 1.1.0
description:
  - One block per guest, its host node and CPUs, vCPU to CPU pins, memory with the page size and page count, what was
    applied live, what waits for a restart (or, for a guest restarted, what the restart applied), and whether the guest was restarted (unplaced guests say so).
  - Then one line per host node, the node's CPUs, those the plan's guests hold, the housekeeping CPUs, the CPUs left
    free for dedicated vCPUs, the node's memory and how much of it is free, and each hugepage pool's total and free pages.
  - Memory is shown in MiB or GiB (whole GiB, else whole MiB below 16 GiB, else one decimal), never in KiB.
  - In check mode (O(check_mode)) the first line says so, and a guest the run would restart says C(restarted: would be).
options:
  _input:
    description:
      - The guests, one dict each, C(name), C(state) (V(present) or V(absent)), C(plan) (the numa_plan entry, for
        present guests) and C(result) (the guest's domain_tuning result; C(live_changes), C(pending_restart),
        C(restart_required), C(changed)), and C(restarted) (bool).
    type: list
    elements: dict
    required: true
  host:
    description: The C(host) result of M(virtuned.libvirt.host_info), read after the guests were placed.
    type: dict
    required: true
  held_cpus:
    description: The host CPUs the guests hold (numa_plan's C(host_requirements.isolated_cpus)).
    type: str
    default: ""
  reserved_cpus:
    description: The housekeeping CPUs the plan kept free of dedicated vCPUs.
    type: str
    default: ""
  results:
    description:
      - The guests' domain_tuning results, fills in each guest's C(result) by name. Either the RV(guests) of one
        M(virtuned.libvirt.domain_tuning) call (a dict, name to result) or the C(results) of a loop of calls (each
        with C(item.name)).
    type: raw
  restarted:
    description:
      - Names of the guests restarted; fills in each guest's C(restarted). Without it, a guest is restarted when
        its result says C(restarted=true).
    type: list
    elements: str
  check_mode:
    description: The run is in check mode (nothing was changed; the summary says what a real run does).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Print the summary
  ansible.builtin.debug:
    msg: "{{ guests | virtuned.libvirt.placement_summary(hv_after.host, results=placed.guests) | split('\n') }}"
"""

RETURN = r"""
_value:
  description: The summary, lines separated by newlines.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size, parse_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import readable_memory


def _cpus(value):
    return parse_cpuset(value if value not in (None, "") else "", "cpuset", allow_empty=True)


def _none(items):
    return ", ".join(items) if items else "nothing"


def _pins(cputune):
    groups = {}
    for pin in cputune.get("vcpupin") or []:
        groups.setdefault(format_cpuset(_cpus(pin.get("cpuset"))), set()).add(int(pin["vcpu"]))
    parts = ["vCPU%s %s -> CPU%s %s" % ("s" if len(vcpus) > 1 else "", format_cpuset(vcpus),
                                        "s" if len(_cpus(cpus)) > 1 else "", cpus)
             for cpus, vcpus in sorted(groups.items(), key=lambda item: min(item[1]))]
    if cputune.get("emulatorpin") not in (None, ""):
        emulator = cputune["emulatorpin"]
        parts.append("emulator -> CPU%s %s" % ("s" if len(_cpus(emulator)) > 1 else "", emulator))
    for pin in cputune.get("iothreadpin") or []:
        parts.append("iothread %s -> CPU %s" % (pin.get("iothread"), pin.get("cpuset")))
    return parts


def _memory(entry):
    cells = (entry.get("numa") or {}).get("cells") or []
    total = sum(parse_size(cell["memory"], "cells.memory") for cell in cells)
    pages = (entry.get("memory_backing") or {}).get("hugepages") or []
    if not pages:
        return "%s on small pages" % readable_memory(total)
    sizes = sorted(set(parse_size(page["size"], "hugepages.size") for page in pages if page.get("size")))
    if len(sizes) == 1:
        return "%s on %s pages (%d pages)" % (readable_memory(total), format_size(sizes[0]), total // sizes[0])
    return "%s on %s pages" % (readable_memory(total), " and ".join(format_size(size) for size in sizes))


def _restarted(guest, check_mode):
    if not guest.get("restarted"):
        return "no"
    return "would be (check mode)" if check_mode else "yes"


def _guest(guest, check_mode):
    name = guest.get("name")
    result = guest.get("result") or {}
    lines = []
    if guest.get("state", "present") == "absent":
        lines.append("%s: unplaced (its vCPU pins, numatune and hugepage backing removed; vCPUs, memory and cells kept)"
                     % name)
    else:
        entry = guest.get("plan") or {}
        pins = (entry.get("cputune") or {}).get("vcpupin") or []
        cpus = set()
        for pin in pins:
            cpus |= _cpus(pin.get("cpuset"))
        nodes = entry.get("host_nodes") or []
        lines.append("%s: host node%s %s, host CPUs %s" % (
            name, "s" if len(nodes) > 1 else "", ",".join(str(n) for n in nodes) or "-", format_cpuset(cpus) or "-"))
        lines.append("  pins: %s" % _none(_pins(entry.get("cputune") or {})))
        lines.append("  memory: %s" % _memory(entry))
    if result.get("skipped"):
        lines.append("  not changed (skipped)")
    else:
        lines.append("  applied live: %s" % _none(result.get("live_changes") or []))
        pending = _none(result.get("pending_restart") or [])
        if guest.get("restarted"):
            lines.append("  applied by the restart: %s" % pending)
        else:
            lines.append("  waits for a restart: %s" % pending)
    lines.append("  restarted: %s" % _restarted(guest, check_mode))
    return lines


def _host(host, held, reserved):
    lines = ["host:"]
    node_cpus = {}
    for cpu in host.get("cpus") or []:
        if cpu.get("online", True):
            node_cpus.setdefault(int(cpu.get("node") or 0), set()).add(int(cpu["id"]))
    for node in host.get("nodes") or []:
        nid = int(node["id"])
        cpus = node_cpus.get(nid, set())
        free = cpus - held - reserved
        pools = ["%s pages %d total, %d free" % (format_size(int(pool["size_kib"]) * 1024), int(pool["total"]),
                                                 int(pool["free"]))
                 for pool in node.get("hugepages") or [] if int(pool.get("total") or 0) > 0]
        memory = ""
        if node.get("memory_kib") is not None:
            memory = "memory %s%s; " % (readable_memory(int(node["memory_kib"]) * 1024), "" if node.get("free_kib") is None
                                        else ", %s free" % readable_memory(int(node["free_kib"]) * 1024))
        lines.append("  node %d: CPUs %s, held by guests %s, housekeeping %s, free for dedicated vCPUs %s; %s%s" % (
            nid, format_cpuset(cpus) or "-", format_cpuset(held & cpus) or "none",
            format_cpuset(reserved & cpus) or "none", format_cpuset(free) or "none", memory,
            "; ".join(pools) if pools else "no hugepages reserved"))
    return lines


def _by_name(results):
    if isinstance(results, dict):
        return dict((name, result) for name, result in results.items() if isinstance(result, dict))
    return dict(((r.get("item") or {}).get("name"), r) for r in results or [] if isinstance(r, dict))


def _was_restarted(guest, result, restarted):
    if "restarted" in guest:
        return bool(guest["restarted"])
    if restarted is not None:
        return guest.get("name") in restarted
    return result.get("restarted") is True


def placement_summary(guests, host, held_cpus="", reserved_cpus="", results=None, restarted=None, check_mode=False):
    """The text summary (see DOCUMENTATION)."""
    if not isinstance(guests, list) or not isinstance(host, dict):
        raise AnsibleFilterError("placement_summary: expected a list of guests and host_info's host")
    if results is not None and not isinstance(results, (dict, list)):
        raise AnsibleFilterError("placement_summary: results must be domain_tuning's guests (a dict) or a loop's "
                                 "results (a list), got %r" % (results,))
    by_name = _by_name(results)
    completed = []
    for guest in guests:
        result = guest.get("result", by_name.get(guest.get("name"), {}))
        completed.append(dict(guest, result=result, restarted=_was_restarted(guest, result, restarted)))
    try:
        lines = ["check mode: nothing was changed; what a real run does:"] if check_mode else []
        for guest in sorted(completed, key=lambda g: g.get("name") or ""):
            lines.extend(_guest(guest, check_mode))
        lines.extend(_host(host, set(_cpus(held_cpus)), set(_cpus(reserved_cpus))))
    except (TuningError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("placement_summary: %s" % exc)
    return "\n".join(lines)


class FilterModule(object):
    """virtuned.libvirt placement summary filter."""

    def filters(self):
        return {"placement_summary": placement_summary}
