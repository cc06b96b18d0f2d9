# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: placement_summary
short_description: A summary a person can read of what the numa_pinning role placed, applied live and left for a restart
version_added: 1.0.0
description:
  - One block per guest, its host node and CPUs, vCPU to CPU pins, memory with the page size and page count, what was
    applied live, what waits for a restart (or, for a guest restarted, what the restart applied), and whether the guest was restarted (unplaced guests say so).
  - Then one line per host node, the node's CPUs, those the plan's guests hold, the housekeeping CPUs, the CPUs left
    free for dedicated vCPUs, and each hugepage pool's total and free pages.
  - Memory is shown in MiB or GiB (the largest binary unit that divides it), never in KiB.
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
      - The domain_tuning loop's C(results) (each with C(item.name)); fills in each guest's C(result) by name.
    type: list
    elements: dict
  restarted:
    description: Names of the guests restarted; fills in each guest's C(restarted).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Print the summary
  ansible.builtin.debug:
    msg: "{{ guests | virtuned.libvirt.placement_summary(hv_after.host) | split('\n') }}"
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
        return "%s on small pages" % format_size(total)
    sizes = sorted(set(parse_size(page["size"], "hugepages.size") for page in pages if page.get("size")))
    if len(sizes) == 1:
        return "%s on %s pages (%d pages)" % (format_size(total), format_size(sizes[0]), total // sizes[0])
    return "%s on %s pages" % (format_size(total), " and ".join(format_size(size) for size in sizes))


def _guest(guest):
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
    lines.append("  restarted: %s" % ("yes" if guest.get("restarted") else "no"))
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
        lines.append("  node %d: CPUs %s, held by guests %s, housekeeping %s, free for dedicated vCPUs %s; %s" % (
            nid, format_cpuset(cpus) or "-", format_cpuset(held & cpus) or "none",
            format_cpuset(reserved & cpus) or "none", format_cpuset(free) or "none",
            "; ".join(pools) if pools else "no hugepages reserved"))
    return lines


def placement_summary(guests, host, held_cpus="", reserved_cpus="", results=None, restarted=None):
    """The text summary (see DOCUMENTATION)."""
    if not isinstance(guests, list) or not isinstance(host, dict):
        raise AnsibleFilterError("placement_summary: expected a list of guests and host_info's host")
    by_name = dict(((r.get("item") or {}).get("name"), r) for r in results or [] if isinstance(r, dict))
    guests = [dict(g, result=g.get("result", by_name.get(g.get("name"), {})),
                   restarted=g.get("restarted", g.get("name") in (restarted or []))) for g in guests]
    try:
        lines = []
        for guest in sorted(guests, key=lambda g: g.get("name") or ""):
            lines.extend(_guest(guest))
        lines.extend(_host(host, set(_cpus(held_cpus)), set(_cpus(reserved_cpus))))
    except (TuningError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("placement_summary: %s" % exc)
    return "\n".join(lines)


class FilterModule(object):
    """virtuned.libvirt placement summary filter."""

    def filters(self):
        return {"placement_summary": placement_summary}
