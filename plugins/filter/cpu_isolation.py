# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: cpu_isolation
short_description: Choose and check the host CPUs to isolate for pinned guests
version_added: 1.0.0
description:
  - Takes the C(host) dictionary returned by M(virtuned.libvirt.host_info) and either an explicit set of CPUs to isolate
    or a number of CPUs per NUMA node, and returns the isolated and housekeeping CPU sets.
  - Whole cores only; SMT siblings stay together; every NUMA node keeps at least one housekeeping CPU;
    CPU 0 and its siblings are always housekeeping; every CPU named must exist on the host.
  - A set that breaks a rule fails with a message naming the CPUs.
options:
  _input:
    description: The C(host) result of M(virtuned.libvirt.host_info) (only C(cpus) is read).
    type: dict
    required: true
  isolated_cpus:
    description: CPUs to isolate, in libvirt's cpuset syntax (C(2-7,34-39)). Empty for none.
    type: raw
  per_node:
    description:
      - Number of CPUs to isolate on every NUMA node, picked as whole cores, highest-numbered first.
      - Mutually exclusive with O(isolated_cpus).
    type: int
  cpus_option:
    description: The name used for O(isolated_cpus) in error messages.
    type: str
    default: isolated_cpus
  per_node_option:
    description: The name used for O(per_node) in error messages.
    type: str
    default: isolated_per_node
"""

EXAMPLES = r"""
- name: Isolate 6 CPUs on every node
  ansible.builtin.set_fact:
    isolation: "{{ host_info_result.host | virtuned.libvirt.cpu_isolation(per_node=6) }}"

- name: Check an explicit set
  ansible.builtin.set_fact:
    isolation: "{{ host_info_result.host | virtuned.libvirt.cpu_isolation(isolated_cpus='2-7,34-39') }}"
"""

RETURN = r"""
_value:
  description: The isolated and housekeeping CPUs, host-wide and per node.
  type: dict
  contains:
    isolated:
      description: Isolated CPUs (canonical cpuset; empty when none).
      type: str
    housekeeping:
      description: Online CPUs that are not isolated.
      type: str
    nodes:
      description: Per NUMA node, C(node), C(isolated) and C(housekeeping).
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.module_utils.host.cpu_isolation import plan_isolation
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError


def cpu_isolation(host, isolated_cpus=None, per_node=None, cpus_option="isolated_cpus",
                  per_node_option="isolated_per_node"):
    """The isolation plan for ``host``; AnsibleFilterError on a refused set."""
    try:
        return plan_isolation(host, isolated_cpus=isolated_cpus, per_node=per_node,
                              cpus_option=cpus_option, per_node_option=per_node_option)
    except TuningError as exc:
        raise AnsibleFilterError(str(exc))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("cpu_isolation: the host description is not host_info's 'host' shape: %s" % exc)


class FilterModule(object):
    """virtuned.libvirt CPU isolation filter."""

    def filters(self):
        return {"cpu_isolation": cpu_isolation}
