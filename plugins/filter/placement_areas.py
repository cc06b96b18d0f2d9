# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: placement_areas
short_description: The domain_tuning areas, for state replaced, that place or unplace one guest
version_added: 1.0.0
description:
  - Takes one guest's settings as M(virtuned.libvirt.domain_tuning) gathers them (RV(virtuned.libvirt.domain_tuning#module:gathered))
    and returns, per area, the whole area to pass with O(virtuned.libvirt.domain_tuning#module:state=replaced), the
    gathered settings, with the options a placement owns taken from the plan. So a smaller plan removes what a bigger one
    set (vCPU pins, guest cells, hugepage backing), and everything else in those areas stays as it is.
  - "Owned options: C(cputune) C(vcpupin), C(emulatorpin), C(iothreadpin), C(vcpusched); C(numa) C(numatune) and C(cells);
    C(memory_backing) C(hugepages); C(vcpus) C(maximum) and C(placement); C(cpu_model) C(topology); C(iothreads) C(count);
    C(memory_devices) C(memory) (the sum of the cells)."
  - Settings that a smaller plan makes impossible go with the owned ones, a C(current) vCPU count above the new maximum,
    hot-plug entries of vCPUs that no longer exist, I/O thread ids above the new count, and a C(current_memory) at or
    above the new memory (libvirt sets it to the memory again).
  - With O(state=absent) the guest is unplaced; its pins, C(vcpusched), C(numatune) and hugepage backing are removed;
    its vCPUs, memory, cells and topology stay.
options:
  _input:
    description: One entry of numa_plan's C(plan) that fits (O(state=present)); ignored with O(state=absent).
    type: raw
    required: true
  gathered:
    description: The guest's RV(virtuned.libvirt.domain_tuning#module:gathered) result.
    type: dict
    required: true
  state:
    description: V(present) places the guest as planned, V(absent) unplaces it.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Place a guest; a smaller plan removes what a bigger one set
  virtuned.libvirt.domain_tuning:
    name: "{{ item.name }}"
    state: replaced
    vcpus: "{{ __areas.vcpus | default(omit) }}"
    cputune: "{{ __areas.cputune }}"
    numa: "{{ __areas.numa }}"
    memory_backing: "{{ __areas.memory_backing }}"
  vars:
    __areas: "{{ item | virtuned.libvirt.placement_areas(gathered[item.name]) }}"
  loop: "{{ placement.plan }}"
"""

RETURN = r"""
_value:
  description: Options per domain_tuning area, each a whole area for state replaced.
  type: dict
  sample:
    cputune: {shares: 1024, vcpupin: [{vcpu: 0, cpuset: "1"}], emulatorpin: "1"}
    memory_backing: {}
"""

import copy

from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import parse_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.placements import placement_options

# The options a placement owns, per area; the areas a guest's placement always speaks for come first.
OWNED = {
    "cputune": ("vcpupin", "emulatorpin", "iothreadpin", "vcpusched"),
    "numa": ("numatune", "cells"),
    "memory_backing": ("hugepages",),
    "vcpus": ("maximum", "placement"),
    "cpu_model": ("topology",),
    "iothreads": ("count",),
    "memory_devices": ("memory",),
    "metadata": ("profile",),  # the profile versions a guest placed with a profile records
}
ALWAYS = ("cputune", "numa", "memory_backing")
# What unplacing removes (the rest of the guest stays as it is).
UNPLACED = {
    "cputune": ("vcpupin", "emulatorpin", "iothreadpin", "vcpusched"),
    "numa": ("numatune",),
    "memory_backing": ("hugepages",),
}


def _area(gathered, name):
    value = gathered.get(name) or {}
    if not isinstance(value, dict):
        raise AnsibleFilterError("placement_areas: gathered.%s is not an area's settings: %r" % (name, value))
    return copy.deepcopy(value)


def _fit_vcpus(area):
    maximum = area.get("maximum")
    if not isinstance(maximum, int):
        return
    if isinstance(area.get("current"), int) and area["current"] > maximum:
        del area["current"]
    if isinstance(area.get("vcpus"), list):
        kept = [v for v in area["vcpus"] if not isinstance(v.get("id"), int) or v["id"] < maximum]
        if kept:
            area["vcpus"] = kept
        else:
            del area["vcpus"]
    area.pop("enable_cells", None)


def _fit_iothreads(area):
    count = area.get("count")
    if isinstance(count, int) and isinstance(area.get("iothreadids"), list):
        kept = [t for t in area["iothreadids"] if not isinstance(t.get("id"), int) or t["id"] <= count]
        if kept:
            area["iothreadids"] = kept
        else:
            del area["iothreadids"]


def _fit_memory(area):
    if area.get("current_memory") is None or area.get("memory") is None:
        return
    if parse_size(area["current_memory"], "current_memory") >= parse_size(area["memory"], "memory"):
        del area["current_memory"]


def placement_areas(entry, gathered, state="present"):
    """The areas, each whole, that make the guest carry ``entry``'s placement (or none, for absent)."""
    if not isinstance(gathered, dict):
        raise AnsibleFilterError("placement_areas: gathered must be domain_tuning's gathered result, got %r"
                                 % (gathered,))
    if state == "absent":
        result = {}
        for name, options in UNPLACED.items():
            area = _area(gathered, name)
            for option in options:
                area.pop(option, None)
            result[name] = area
        return result
    if state != "present":
        raise AnsibleFilterError("placement_areas: state: %r is not valid: expected present or absent" % (state,))
    try:
        planned = placement_options(entry)
    except TuningError as exc:
        raise AnsibleFilterError(str(exc))
    result = {}
    for name, options in OWNED.items():
        if name not in ALWAYS and name not in planned:
            continue
        area = _area(gathered, name)
        for option in options:
            area.pop(option, None)
        for option, value in (planned.get(name) or {}).items():
            area[option] = copy.deepcopy(value)
        result[name] = area
    if "vcpus" in result:
        _fit_vcpus(result["vcpus"])
    if "iothreads" in result:
        _fit_iothreads(result["iothreads"])
    if "memory_devices" in result:
        try:
            _fit_memory(result["memory_devices"])
        except TuningError as exc:
            raise AnsibleFilterError("placement_areas: %s" % exc)
    return result


class FilterModule(object):
    """virtuned.libvirt placement areas filter."""

    def filters(self):
        return {"placement_areas": placement_areas}
