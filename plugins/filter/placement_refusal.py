# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: placement_refusal
short_description: Why guests of a NUMA plan do not fit, naming the guests that hold the host's CPUs and memory
version_added: 1.0.0
description:
  - Takes M(virtuned.libvirt.numa_plan)'s C(plan), the C(existing) result of M(virtuned.libvirt.guest_placements_info) and the
    C(host) result of M(virtuned.libvirt.host_info), and returns the numa_pinning role's refusal, one sentence per guest
    that does not fit (the planner's reason), then per host node the guests that hold CPUs or memory there, and which
    setting would change the outcome (C(numa_pinning_other_guests=ignore) when guests outside the list hold resources,
    a smaller request, more hugepages).
  - Empty when every guest fits.
options:
  _input:
    description: numa_plan's C(plan).
    type: list
    elements: dict
    required: true
  existing:
    description: guest_placements_info's C(existing) (every defined guest and what it holds).
    type: list
    elements: dict
    required: true
  host:
    description: The C(host) result of M(virtuned.libvirt.host_info) (C(cpus) is read).
    type: dict
    required: true
  other_guests:
    description: The role's C(numa_pinning_other_guests) (V(hold) or V(ignore)).
    type: str
    default: hold
  option:
    description: The name of the guest list in the message.
    type: str
    default: numa_pinning_guests
"""

EXAMPLES = r"""
- name: Refuse guests that do not fit
  ansible.builtin.fail:
    msg: "{{ __refusal }}"
  vars:
    __refusal: "{{ planned.plan | virtuned.libvirt.placement_refusal(placements.existing, hv.host) }}"
  when: __refusal != ''
"""

RETURN = r"""
_value:
  description: The refusal message, ending with "Nothing was changed."; empty when every guest fits.
  type: str
"""

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size, parse_size


# the planner's page shortage: "node 0: 12 free 2 MiB pages, 64 needed"
PAGE_SHORTAGE = re.compile(r"\d+ free \S+ \S+ pages, \d+ needed")


def _holdings(existing, node_of):
    """{node: [(guest, cpus text, memory text)]} for guests that hold something there."""
    per_node = {}
    for guest in existing:
        name = guest.get("name")
        cpus = parse_cpuset(guest.get("cpus") or "", "existing[%s].cpus" % name, allow_empty=True)
        by_node = {}
        for cpu in cpus:
            by_node.setdefault(node_of.get(cpu, 0), [set(), {}])[0].add(cpu)
        for memory in guest.get("memory") or []:
            slot = by_node.setdefault(int(memory["node"]), [set(), {}])[1]
            page = memory.get("page_size") or "small"
            slot[page] = slot.get(page, 0) + parse_size(memory["size"], "existing[%s].memory.size" % name)
        for node, (held, mem) in by_node.items():
            parts = []
            if held:
                parts.append("CPUs %s" % format_cpuset(held))
            for page in sorted(mem):
                parts.append("%s on %s pages" % (format_size(mem[page]), page))
            per_node.setdefault(node, []).append("%s (%s)" % (name, ", ".join(parts)))
    return per_node


def placement_refusal(plan, existing, host, other_guests="hold", option="numa_pinning_guests"):
    """The refusal for the guests of ``plan`` that do not fit, or ''."""
    if not isinstance(plan, list) or not isinstance(existing, list) or not isinstance(host, dict):
        raise AnsibleFilterError("placement_refusal: expected numa_plan's plan, guest_placements_info's existing and "
                                 "host_info's host")
    unfit = [entry for entry in plan if not entry.get("fits")]
    if not unfit:
        return ""
    requested = set(entry.get("name") for entry in plan)
    node_of = dict((int(cpu["id"]), int(cpu.get("node") or 0)) for cpu in host.get("cpus") or [])
    considered = [guest for guest in existing if guest.get("name") not in requested]
    if other_guests == "ignore":
        considered = []
    try:
        holders = _holdings(considered, node_of)
    except (TuningError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("placement_refusal: existing is not guest_placements_info's existing: %s" % exc)
    sentences = ["%s: %s does not fit (%s)." % (option, entry["name"], entry.get("reason") or "no reason given")
                 for entry in unfit]
    if holders:
        sentences.append("Held by guests outside %s: %s." % (option, "; ".join(
            "node %d: %s" % (node, ", ".join(holders[node])) for node in sorted(holders))))
    hints = []
    if holders:
        hints.append("numa_pinning_other_guests: ignore plans as if those guests were not there")
    hints.append("a smaller request (fewer vCPUs, less memory, cpu_policy shared, page_size small) fits in less")
    if any(PAGE_SHORTAGE.search(entry.get("reason") or "") or "no free hugepages" in (entry.get("reason") or "")
           for entry in unfit):
        hints.append("more free hugepages (hugepages_host_pages) change what fits on hugepages")
    sentences.append("What would change the outcome: %s." % "; ".join(hints))
    sentences.append("Nothing was changed.")
    return " ".join(sentences)


class FilterModule(object):
    """virtuned.libvirt placement refusal filter."""

    def filters(self):
        return {"placement_refusal": placement_refusal}
