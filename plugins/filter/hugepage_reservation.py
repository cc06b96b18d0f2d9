# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: hugepage_reservation
short_description: The hugepage pools a NUMA plan needs, for hugepage_pools or the hugepages_host role
version_added: 1.0.0
description:
  - Takes M(virtuned.libvirt.numa_plan)'s C(host_requirements) and the C(host) result of M(virtuned.libvirt.host_info),
    and returns one pool per node and page size that the plan uses, with at least the pages the plan needs and
    never fewer than the pool has now (a plan never shrinks a pool someone else made bigger).
  - The result is the shape of M(virtuned.libvirt.hugepage_pools)'s O(virtuned.libvirt.hugepage_pools#module:pages)
    option and of the hugepages_host role's C(hugepages_host_pages).
options:
  _input:
    description: numa_plan's C(host_requirements) (only C(hugepages) is read).
    type: dict
    required: true
  host:
    description: The C(host) result of M(virtuned.libvirt.host_info) (only the nodes' C(hugepages) pools are read).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Reserve what the plan needs
  virtuned.libvirt.hugepage_pools:
    pages: "{{ placement.host_requirements | virtuned.libvirt.hugepage_reservation(hv.host) }}"
"""

RETURN = r"""
_value:
  description: Pools, sorted by node and size.
  type: list
  elements: dict
  sample: [{node: 0, size: 2M, count: 1536}]
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.placements import hugepage_reservation as _reservation


def hugepage_reservation(requirements, host):
    """Pools for ``requirements`` on ``host``; AnsibleFilterError on a bad input."""
    try:
        return _reservation(requirements, host)
    except TuningError as exc:
        raise AnsibleFilterError(str(exc))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError("hugepage_reservation: the input is not numa_plan's host_requirements and "
                                 "host_info's host: %s" % exc)


class FilterModule(object):
    """virtuned.libvirt hugepage reservation filter."""

    def filters(self):
        return {"hugepage_reservation": hugepage_reservation}
