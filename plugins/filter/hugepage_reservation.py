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
  - With O(give_back=true) (what the numa_pinning role does when it manages the pools) each pool of a run-time page
    size (below 1 GiB) is sized to the pages every hugepage-backed guest needs after this run, on top of the pages in
    use now that none of them keeps - C(need + in_use - kept). C(need) is the larger of the plan's
    C(host_requirements) and the pages of the O(plan)'s guests plus those of the O(existing) guests that are neither
    planned nor O(unplaced) (what they hold now - a running guest's running memory, else its definition).
    C(in_use) is the pool's total minus its free pages (running guests', anyone else's; the kernel cannot free
    them). C(kept) is, per running guest, the smaller of the pages it holds now and the pages it needs after this run.
    So a pool shrinks, never below its pages in use nor below what the guests need, and every guest that does not
    hold its pages now finds them free at its next boot. Free pages that no defined guest needs are given back,
    also when someone else reserved them. A pool no guest needs is listed only when it shrinks; 1 GiB pools only grow.
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
  give_back:
    description: Size the pools to what the guests need after this run (see above) instead of only growing them.
    type: bool
    default: false
  plan:
    description: numa_plan's C(plan) (required with O(give_back=true)).
    type: list
    elements: dict
  existing:
    description: The C(existing) result of M(virtuned.libvirt.guest_placements_info), every defined guest (required with O(give_back=true)).
    type: list
    elements: dict
  unplaced:
    description: Names of the guests this run unplaces (their hugepage backing goes).
    type: list
    elements: str
    default: []
  phase:
    description:
      - With O(give_back=true). V(final) gives the pools after this run. V(grow) gives the same pools, none smaller
        than it is now, to reserve before the guests are written; V(final) then gives back what is left over once
        they are. So a run that stops between the two never leaves a guest defined on hugepages with fewer pages
        than it needs.
    type: str
    choices: [final, grow]
    default: final
"""

EXAMPLES = r"""
- name: Reserve what the plan needs
  virtuned.libvirt.hugepage_pools:
    pages: "{{ placement.host_requirements | virtuned.libvirt.hugepage_reservation(hv.host) }}"

- name: Reserve what the guests need after this run, give back the rest
  virtuned.libvirt.hugepage_pools:
    pages: >-
      {{ placement.host_requirements | virtuned.libvirt.hugepage_reservation(hv.host, give_back=true,
         plan=placement.plan, existing=placed.existing, unplaced=['old-guest']) }}
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


def hugepage_reservation(requirements, host, give_back=False, plan=None, existing=None, unplaced=None,
                         phase="final"):
    """Pools for ``requirements`` on ``host``; AnsibleFilterError on a bad input."""
    try:
        return _reservation(requirements, host, give_back=bool(give_back), plan=plan, existing=existing,
                            unplaced=unplaced, phase=phase)
    except TuningError as exc:
        raise AnsibleFilterError(str(exc))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError("hugepage_reservation: the input is not numa_plan's host_requirements and "
                                 "host_info's host: %s" % exc)


class FilterModule(object):
    """virtuned.libvirt hugepage reservation filter."""

    def filters(self):
        return {"hugepage_reservation": hugepage_reservation}
