# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: isolation_suggestion
short_description: The CPUs to isolate for a NUMA plan, as a set the numa_pinning role accepts
version_added: 1.0.0
description:
  - Takes M(virtuned.libvirt.numa_plan)'s C(host_requirements) and the C(host) result of
    M(virtuned.libvirt.host_info), and returns the CPUs the plan's dedicated guests hold, widened to whole cores
    (so the idle SMT siblings that C(thread_policy=isolate) guests hold are in it), checked against the same rules
    as the P(virtuned.libvirt.cpu_isolation#filter) filter (whole cores, CPU 0 housekeeping, a housekeeping CPU on
    every node).
  - When no accepted set covers those CPUs, RV(_value.accepted) is false and RV(_value.reason) says which rule the
    plan breaks; nothing is suggested then.
options:
  _input:
    description: numa_plan's C(host_requirements) (only C(isolated_cpus) is read).
    type: dict
    required: true
  host:
    description: The C(host) result of M(virtuned.libvirt.host_info) (only C(cpus) is read).
    type: dict
    required: true
  option:
    description: The name of the variable the suggestion is for, in RV(_value.reason).
    type: str
    default: numa_pinning_isolated_cpus
"""

EXAMPLES = r"""
- name: What to isolate for the plan
  ansible.builtin.set_fact:
    suggestion: "{{ placement.host_requirements | virtuned.libvirt.isolation_suggestion(hv.host) }}"
"""

RETURN = r"""
_value:
  description: The suggestion.
  type: dict
  contains:
    isolated_cpus:
      description: The CPUs to isolate (a canonical CPU set; empty when the plan holds none or none is accepted).
      type: str
    held_cpus:
      description: The CPUs the plan's guests hold (C(host_requirements.isolated_cpus), canonical).
      type: str
    accepted:
      description: Whether RV(_value.isolated_cpus) passes the isolation rules.
      type: bool
    reason:
      description: Why no set is suggested (the broken rule); empty when accepted.
      type: str
  sample: {isolated_cpus: "2-3", held_cpus: "2", accepted: true, reason: ""}
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.cpu_isolation import HostCpus, validate_isolated


def isolation_suggestion(requirements, host, option="numa_pinning_isolated_cpus"):
    """The whole-core CPU set that isolates what the plan holds, or why there is none."""
    if not isinstance(requirements, dict):
        raise AnsibleFilterError("isolation_suggestion: the input is not numa_plan's host_requirements: %r"
                                 % (requirements,))
    try:
        host_cpus = HostCpus(host)
        held = parse_cpuset(requirements.get("isolated_cpus") or "", "host_requirements.isolated_cpus",
                            allow_empty=True)
    except TuningError as exc:
        raise AnsibleFilterError("isolation_suggestion: %s" % exc)
    cores = set()
    for cpu in held:
        cores |= host_cpus.core_of.get(cpu, frozenset([cpu]))
    result = {"isolated_cpus": format_cpuset(cores), "held_cpus": format_cpuset(held), "accepted": True, "reason": ""}
    if cores:
        try:
            validate_isolated(host_cpus, frozenset(cores), option)
        except TuningError as exc:
            result.update(isolated_cpus="", accepted=False, reason=str(exc))
    return result


class FilterModule(object):
    """virtuned.libvirt isolation suggestion filter."""

    def filters(self):
        return {"isolation_suggestion": isolation_suggestion}
