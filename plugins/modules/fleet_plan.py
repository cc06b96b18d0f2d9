#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: fleet_plan
short_description: Choose the hypervisor of each guest across an inventory, and place it there as numa_plan does
version_added: 1.0.0
description:
  - Pure computation on the controller; reads and changes nothing (no libvirt). Run it once (with C(run_once)
    and C(delegate_to) localhost) over the RV(virtuned.libvirt.host_info#module:host) facts of every
    hypervisor, then let each host apply its own share.
  - Each guest goes to one host; on that host it is placed exactly as M(virtuned.libvirt.numa_plan) places it,
    with numa_plan's own code. RV(plans) holds, per host, the entries numa_plan would return for that host's
    guests, so each host can apply them with the tuning modules.
  - Guests are taken in numa_plan's order (guests already on a host first, then dedicated before shared,
    bigger before smaller, then by name), each to the first host that fits in O(strategy) order. The same
    input gives the same result, whatever the order of O(hosts) and O(guests).
  - A guest named in a host's C(existing) stays on that host and is planned there again. A guest that fits
    nowhere is listed in RV(unplaced) with one reason per host.
  - The rules, the cost and where the greedy choice is not optimal are in the collection's C(docs/fleet.md).
author:
  - virtuned.libvirt contributors (@virtuned)
options:
  hosts:
    description:
      - The fleet, a dict of inventory name to a dict with these keys.
      - C(host) (required), the host dict RV(virtuned.libvirt.host_info#module:host) returned on that host.
      - C(existing), the guests already on that host, as O(virtuned.libvirt.numa_plan#module:existing) (for
        example what M(virtuned.libvirt.guest_placements_info) returns there).
      - C(reserved_cpus), housekeeping CPUs, as O(virtuned.libvirt.numa_plan#module:reserved_cpus).
      - C(allocation), the host's overcommit ratios C(cpu_ratio) and C(ram_ratio), as
        O(virtuned.libvirt.numa_plan#module:allocation).
      - C(labels), a list of strings; a guest that asks for labels goes only to hosts that carry all of them.
      - Also, as numa_plan's options of the same names, C(dedicated_cpus), C(shared_cpus) and
        C(reserved_hugepages).
      - An error in a host's entry is numa_plan's message with the option named inside O(hosts)
        (C(hosts[hv1].reserved_cpus)).
    type: dict
    required: true
  guests:
    description:
      - Guest requests. Each takes every field of O(virtuned.libvirt.numa_plan#module:guests) (C(name),
        C(vcpus), C(memory), C(profile), C(cpu_policy), C(cells), ...), checked as numa_plan checks them,
        and also the keys below.
      - C(host), an inventory name of O(hosts); the guest must go there.
      - C(labels), a list of strings; only hosts whose C(labels) include all of them.
      - C(anti_affinity), a group name; no two guests of the group on one host. Only guests of this list
        count; list a group's running members here too (they stay on their hosts).
      - C(pci_devices) are looked up on each host (addresses or node-device names); a host that lacks them
        refuses the guest with numa_plan's message.
      - A request's own C(strategy) (or its profile's) applies within its host, as in numa_plan; across hosts
        O(strategy) applies.
    type: list
    elements: dict
    required: true
  strategy:
    description:
      - Across hosts, V(pack) tries the busiest host first (least free of what the guest needs most), V(spread)
        the emptiest first. What the guest needs most is free dedicated CPUs when it has dedicated vCPUs or
        isolated emulator or I/O threads, else free ordinary memory.
      - Within the chosen host it is O(virtuned.libvirt.numa_plan#module:strategy) (busiest or emptiest node).
    type: str
    choices: [pack, spread]
    default: pack
  profiles:
    description:
      - User-defined profiles, as O(virtuned.libvirt.numa_plan#module:profiles), for every host.
    type: dict
  reserve_hugepages:
    description:
      - As O(virtuned.libvirt.numa_plan#module:reserve_hugepages), on every host. With V(true), pages a node
        lacks may come out of its ordinary memory, and RV(host_requirements) says how many each host must
        reserve; use it to plan hosts that have no pages yet.
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check_mode and return the same result; it changes nothing either way.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: all
    details:
      - A pure computation on the options given; it reads nothing from the host it runs on and needs no libvirt.
  action_group:
    description: Action is part of action_group(s), for convenient setting of module_defaults.
    support: none
    membership: []
    details:
      - Not in the C(virtuned.libvirt.libvirt) group; it takes no libvirt connection options.
seealso:
  - module: virtuned.libvirt.numa_plan
  - module: virtuned.libvirt.host_info
  - module: virtuned.libvirt.guest_placements_info
"""

EXAMPLES = r"""
- name: Read each hypervisor (in parallel, over the forks)
  virtuned.libvirt.host_info:
  register: hv

- name: Read what each hypervisor's guests hold
  virtuned.libvirt.guest_placements_info:
  register: held

- name: Describe this hypervisor for the fleet
  ansible.builtin.set_fact:
    fleet_entry:
      host: "{{ hv.host }}"
      existing: "{{ held.existing }}"
      reserved_cpus: "0-1"
      labels: "{{ hv_labels | default([]) }}"

- name: Place the guests across the fleet, once
  virtuned.libvirt.fleet_plan:
    hosts: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'fleet_entry'))) }}"
    guests:
      - name: db1
        profile: nfv-hugepages
        vcpus: 8
        memory: 16G
        labels: [ssd]
        anti_affinity: db
      - name: db2
        profile: nfv-hugepages
        vcpus: 8
        memory: 16G
        anti_affinity: db
      - name: web1
        vcpus: 4
        memory: 4G
    strategy: spread
    reserve_hugepages: true
  run_once: true
  delegate_to: localhost
  register: fleet

- name: Each host takes its own share
  ansible.builtin.debug:
    msg: "{{ fleet.plans[inventory_hostname] }}"

- name: The fleet map
  ansible.builtin.debug:
    msg: "{{ fleet.map.splitlines() }}"
  run_once: true
"""

RETURN = r"""
placements:
  description: Per inventory host (every host of O(hosts)), the names of the guests placed there, sorted.
  returned: success
  type: dict
  sample: {hv1: [db1, web1], hv2: [db2]}
plans:
  description:
    - Per inventory host, the RV(virtuned.libvirt.numa_plan#module:plan) entries numa_plan returns for that
      host's guests (sorted by name), with the exact options of the cputune, numa, memory_backing, vcpus,
      cpu_model and iothreads modules.
    - A guest of the host's C(existing) that no longer fits there has its entry with C(fits) false (as numa_plan
      reports it); every other entry fits.
  returned: success
  type: dict
host_requirements:
  description:
    - Per inventory host, RV(virtuned.libvirt.numa_plan#module:host_requirements) (C(hugepages) per node and size,
      C(isolated_cpus)) for the guests placed there and its existing guests.
  returned: success
  type: dict
unplaced:
  description: The guests placed nowhere, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Guest name.
      type: str
    reasons:
      description:
        - One reason per inventory host, against the final plan. A host that could not be considered says why
          (the guest must go to, or stays on, another host; a label it lacks; a guest of the same
          C(anti_affinity) group there); otherwise the reason is numa_plan's, naming every shortage per node.
      type: dict
      sample:
        hv1: "anti_affinity db: db1 already there"
        hv2: "on 1 node with 1 GiB pages: node 0: 2 free 1 GiB pages, 16 needed"
map:
  description:
    - A text table, one row per host, sorted by name. Per host, its guest count and per node its free and
      held CPUs (held by guests or kept for housekeeping), the shared vCPUs on the node and how many it can
      run (shared CPUs x cpu_ratio), its free ordinary memory, and per page size the pages its guests need and the
      pages in its pool now (more are needed than pooled when O(reserve_hugepages) plans pages to reserve).
  returned: success
  type: str
  sample: |
    host  guests  per node (pages: needed/in pool)
    hv1        2  n0 cpus 10 free 6 held, shared vcpus 4/160, mem 24GiB free, pages 2MiB 0/2048
"""

import gc

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.fleet import plan_fleet


# the planner's output: megabytes of small dicts and lists at fleet scale
BULK = ("placements", "plans", "host_requirements", "unplaced", "map")


class FleetModule(AnsibleModule):
    """AnsibleModule, with the plan kept out of the no_log pass while no argument is no_log.

    exit_json copies the whole result to strip no_log values (3 s for the 17 MB plan of 1,000 hosts x 20,000
    guests) even when there are none to strip; this module has no no_log option, so there never are. The plan
    goes back into the result at serialisation (``_record_module_result``, ansible-core's hook for it), and
    through ``remove_values`` as before if some no_log value ever exists.
    """

    _bulk = None

    def exit_plan(self, result, **kwargs):
        """exit_json(**kwargs, **result) without the no-op no_log copy of ``result``.

        The hook is ansible-core's own (2.19 and later); without it, the plain exit_json, so that an
        ansible-core that renamed it costs time, never the plan."""
        if not callable(getattr(AnsibleModule, "_record_module_result", None)):
            kwargs.update(result)
            self.exit_json(**kwargs)
            return
        self._bulk = result
        self.exit_json(**kwargs)

    def _record_module_result(self, o):
        if self._bulk is not None:
            o.update(remove_values(self._bulk, self.no_log_values) if self.no_log_values else self._bulk)
        super()._record_module_result(o)


def main():
    # A fleet's arguments and result are millions of small dicts, lists and strings that all live until the
    # module exits; the cyclic garbage collector would walk them again and again (a third of the CPU time at
    # 1,000 hosts x 20,000 guests) and find nothing to free: reference counting frees what the plan drops.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _run()
    finally:
        if was_enabled:
            gc.enable()


def _run():
    module = FleetModule(
        argument_spec=dict(
            hosts=dict(type="dict", required=True),
            guests=dict(type="list", elements="dict", required=True),
            strategy=dict(type="str", choices=["pack", "spread"], default="pack"),
            reserve_hugepages=dict(type="bool", default=False),
            profiles=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    # Ansible echoes the arguments back as invocation.module_args; for a fleet that is every host's facts
    # again (megabytes), so the echo names the hosts and guests instead of repeating them.
    invocation = {"module_args": {"hosts": sorted(params["hosts"]),
                                  "guests": [g.get("name") for g in params["guests"]],
                                  "strategy": params["strategy"], "reserve_hugepages": params["reserve_hugepages"],
                                  "profiles": params["profiles"]}}
    try:
        result = plan_fleet(params["hosts"], params["guests"], strategy=params["strategy"],
                            reserve_hugepages=params["reserve_hugepages"], profiles=params["profiles"])
    except TuningError as exc:
        module.fail_json(msg=str(exc), invocation=invocation)
    module.exit_plan(result, changed=False, invocation=invocation)


if __name__ == "__main__":
    main()
