#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: numa_plan
short_description: Place guests on host NUMA nodes, cores and hugepages, and size the host for them
version_added: 1.0.0
description:
  - Pure computation; changes nothing. From the host (M(virtuned.libvirt.host_info)'s RV(virtuned.libvirt.host_info#module:host))
    and a list of guest requests, computes for each guest the exact options of the
    M(virtuned.libvirt.cputune), numa, memory_backing, vcpus, cpu_model and iothreads modules that place it,
    the hugepages and isolated CPUs the host needs, and a text map of who holds each host CPU.
  - Deterministic (the same input in any order gives the same plan) and complete per guest (when a valid
    placement of a guest exists next to the guests placed before it, it is found). Guests named in
    O(existing) are placed first, so adding a guest keeps the others where they are.
  - Every refusal names the host node and what was short (CPUs, whole cores, pages of a size, memory).
  - The rules are in the collection's C(docs/numa_plan.md); profiles in C(docs/numa_profiles.md).
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.attributes.libvirt
requirements:
  - libvirt-python (only when O(host) is left out)
options:
  host:
    description:
      - The host, as M(virtuned.libvirt.host_info) returns it. When left out, read through O(uri).
    type: dict
  uri:
    description:
      - libvirt URI to read the host from when O(host) is left out.
      - Defaults to the E(LIBVIRT_DEFAULT_URI) environment variable, else C(qemu:///system).
    type: str
  guests:
    description: Guest requests.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Guest name, unique in the list.
        type: str
        required: true
      profile:
        description:
          - A profile that fills in the fields not given, a built-in one (V(dedicated),
            V(dedicated-isolated-emulator), V(realtime), V(nfv-hugepages), V(shared-balanced)) or one of
            O(profiles). V(name) is its newest version, V(name@version) a given one.
          - A list (or a comma-separated string) composes profiles in order; later entries win, and the
            request wins over every profile.
          - When the guest's O(existing) entry records a profile version (RV(plan[].metadata)), a name
            without a version means that recorded version.
        type: raw
      vcpus:
        description: Number of vCPUs (required, here or in the profile).
        type: int
      memory:
        description: Memory size (V(4G), V(512 MiB)); a bare number is KiB (required, here or in the profile).
        type: raw
      cpu_policy:
        description:
          - V(dedicated) gives every vCPU a host CPU of its own; V(shared) lets vCPUs float over the shared
            CPUs of their node; V(mixed) dedicates O(guests[].dedicated_vcpus) and shares the others.
          - Default V(shared).
        type: str
        choices: [shared, dedicated, mixed]
      dedicated_vcpus:
        description: With V(mixed), the guest vCPUs (a set such as V(1-3)) that are dedicated.
        type: raw
      thread_policy:
        description:
          - V(prefer) fills whole host cores first; V(isolate) gives each vCPU a whole core and keeps its
            siblings idle; V(require) puts guest vCPU pairs on host sibling pairs. Default V(prefer).
        type: str
        choices: [prefer, isolate, require]
      emulator_threads:
        description:
          - V(share) pins the emulator to the guest's own vCPU CPUs (the shared CPUs for shared guests);
            V(isolate) gives it a host CPU of its own on a core the vCPUs do not use. Default V(share).
        type: str
        choices: [share, isolate]
      iothreads:
        description: Number of I/O threads. Default 0.
        type: int
      iothread_policy:
        description: As O(guests[].emulator_threads), for each I/O thread. Default V(share).
        type: str
        choices: [share, isolate]
      numa_nodes:
        description:
          - Number of guest NUMA cells, each on its own host node; vCPUs and memory are split as evenly as
            possible (5 vCPUs over 2 nodes is 3 + 2). Default is the fewest cells that fit.
        type: int
      cells:
        description: Explicit guest cells instead of O(guests[].numa_nodes).
        type: list
        elements: dict
        suboptions:
          cpus:
            description: Guest vCPU ids of the cell (a set such as V(0-2)).
            type: raw
          vcpus:
            description: Number of vCPUs of the cell (the next ones), instead of O(guests[].cells[].cpus).
            type: int
          memory:
            description: Memory of the cell; the cells add up to O(guests[].memory).
            type: raw
            required: true
      page_size:
        description:
          - V(small) (base pages), V(large) (the largest hugepage size that fits), V(any) (hugepages, else
            small pages), or a size such as V(2M) or V(1G). Default V(small).
        type: str
      realtime_vcpus:
        description:
          - Guest vCPUs that run under SCHED_FIFO priority 1 (a set such as V(1-3), or V(^0) for all but
            vCPU 0). They must be dedicated.
        type: raw
      emulator_cell:
        description: Guest cell whose host node takes the isolated emulator and I/O threads. Default 0.
        type: int
      topology:
        description:
          - Preferred guest CPU topology and its maxima (Nova's C(hw:cpu_sockets) ... and C(hw:cpu_max_sockets) ...).
            The chosen topology always honours the maxima. It is the preferred one when that fits the
            placement (no guest socket spans two guest cells; guest threads are host siblings the vCPUs
            really use), else the closest one, and RV(plan[].topology_reason) says why.
          - Without preferences the topology follows the placement (see RV(plan[].cpu_model)).
        type: dict
        suboptions:
          sockets:
            description: Preferred sockets.
            type: int
          cores:
            description: Preferred cores per socket.
            type: int
          threads:
            description: Preferred threads per core.
            type: int
          max_sockets:
            description: At most this many sockets (Windows desktop editions use 1 or 2).
            type: int
          max_cores:
            description: At most this many cores per socket.
            type: int
          max_threads:
            description: At most this many threads per core.
            type: int
      pci_devices:
        description:
          - PCI devices passed through to the guest, by address (V(0000:3b:00.0)) or node-device name
            (V(pci_0000_3b_00_0)), from the host's C(pci_devices). A device goes to one guest only.
        type: list
        elements: str
      pci_numa_policy:
        description:
          - Nova's PCI NUMA affinity policy. V(required) puts a guest cell on the node of every device (a device
            with no NUMA node is refused); V(legacy) the same for devices that report a node, others go anywhere;
            V(preferred) near the devices when possible, else anywhere; V(socket) a guest cell on a node of
            each device's socket. Default V(legacy).
        type: str
        choices: [required, preferred, legacy, socket]
      strategy:
        description: O(strategy) for this guest only (the V(shared-balanced) profile sets V(spread)).
        type: str
        choices: [pack, spread]
  profiles:
    description:
      - User-defined profiles, loaded as the built-in ones are. Each name maps to one version (a dict) or a
        list of versions. A version has C(version) (a whole number), C(description), C(extends) (a profile
        reference or a list of them, applied first) and any request field but C(name) and C(profile).
      - A user profile may not reuse a built-in name. See C(docs/numa_profiles.md).
    type: dict
  allocation:
    description:
      - Overcommit ratios, as Nova's C(cpu_allocation_ratio) and C(ram_allocation_ratio).
      - C(cpu_ratio) (default 16.0) - shared vCPUs per shared host CPU of a node. A guest cell never has more
        shared vCPUs than its node has shared CPUs. Dedicated vCPUs and isolated threads are never overcommitted.
      - C(ram_ratio) (default 1.0) - small-page memory per KiB of a node's ordinary memory. Hugepages are never
        overcommitted.
    type: dict
  dedicated_cpus:
    description:
      - Host CPUs dedicated vCPUs and isolated threads may use (Nova's C(cpu_dedicated_set)); default every online CPU
        that is not in O(reserved_cpus) or O(shared_cpus).
    type: raw
  shared_cpus:
    description:
      - Host CPUs shared vCPUs float over (Nova's C(cpu_shared_set)), per node; no dedicated vCPU takes them.
        Emulator and I/O threads under V(share) run on all of them.
      - Default - the CPUs of the node that no guest holds, that the kernel does not isolate and that are not
        in O(dedicated_cpus).
    type: raw
  reserved_hugepages:
    description:
      - Hugepages per node kept for other uses (Nova's C(reserved_huge_pages)); they are out of the free pages
        and part of RV(host_requirements.hugepages).
    type: list
    elements: dict
    suboptions:
      node:
        description: Host node.
        type: int
        required: true
      size:
        description: Page size, V(2M) or V(1G).
        type: str
        required: true
      count:
        description: Number of pages.
        type: int
        required: true
  existing:
    description:
      - Guests already on the host and what they hold. Their CPUs and memory are not given to others;
        an entry named like a request is that guest's old placement, released and planned again first.
      - When left out and O(host) is left out too, it is read from every guest defined on O(uri)
        (as M(virtuned.libvirt.guest_placements_info) reads it); when O(host) is given, nothing is read and
        no guest holds anything.
    type: list
    elements: dict
    suboptions:
      name:
        description: Guest name.
        type: str
        required: true
      cpus:
        description: Host CPUs the guest holds for itself (dedicated vCPUs, isolated emulator and I/O threads).
        type: raw
      memory:
        description: Memory the guest takes per host node.
        type: list
        elements: dict
        suboptions:
          node:
            description: Host node.
            type: int
            required: true
          size:
            description: Memory size on that node.
            type: raw
            required: true
          page_size:
            description: V(small), V(2M) or V(1G). Default V(small).
            type: str
      shared_vcpus:
        description: Shared vCPUs the guest runs per host node (they count against O(allocation) C(cpu_ratio)).
        type: list
        elements: dict
        suboptions:
          node:
            description: Host node.
            type: int
            required: true
          count:
            description: Number of shared vCPUs.
            type: int
            required: true
      pci_devices:
        description: PCI devices the guest holds (addresses or node-device names).
        type: list
        elements: str
      profile:
        description: The profile versions the guest records (V(dedicated@1), V(dedicated@1,db@2)).
        type: str
      active:
        description:
          - Whether the guest runs, so that the host's free hugepage counts already leave its pages out.
        type: bool
        default: false
  reserved_cpus:
    description: Housekeeping CPUs (a CPU set) that no dedicated vCPU or isolated thread may use.
    type: raw
  strategy:
    description:
      - V(pack) fills the busiest node that fits first; V(spread) the emptiest (most free CPUs then memory for
        dedicated guests, most free memory then shared CPU room for shared ones). Multi-node guests take the
        closest nodes first (smallest sum of distances), then by this order.
    type: str
    choices: [pack, spread]
    default: pack
  reserve_hugepages:
    description:
      - When V(false), hugepage-backed memory must fit the free pages of each node.
      - When V(true), pages lacking on a node may come out of its ordinary memory; RV(host_requirements)
        then says how many pages to reserve. Use it to plan a host that has no pages yet.
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check_mode and return the same result; it changes nothing either way.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
seealso:
  - module: virtuned.libvirt.host_info
"""

EXAMPLES = r"""
- name: Read the host
  virtuned.libvirt.host_info:
  register: hv

- name: Plan two guests
  virtuned.libvirt.numa_plan:
    host: "{{ hv.host }}"
    reserved_cpus: "0-1"
    reserve_hugepages: true
    guests:
      - name: db1
        profile: nfv-hugepages
        vcpus: 8
        memory: 16G
      - name: web1
        vcpus: 5
        memory: 5G
        cpu_policy: dedicated
        numa_nodes: 2
  register: placement

- name: Show the map
  ansible.builtin.debug:
    msg: "{{ placement.map.splitlines() }}"

- name: Overcommit, host CPU sets, a NIC on node 1 and a site profile
  virtuned.libvirt.numa_plan:
    host: "{{ hv.host }}"
    allocation: {cpu_ratio: 4.0, ram_ratio: 1.0}
    shared_cpus: "0-1,28-29"
    reserved_hugepages: [{node: 0, size: 1G, count: 2}]
    profiles:
      vnf:
        version: 1
        description: Site VNF flavour
        extends: nfv-hugepages@2
        vcpus: 4
        memory: 4G
    guests:
      - name: vnf1
        profile: vnf
        pci_devices: ["0000:3b:02.0"]
      - name: win1
        vcpus: 8
        memory: 8G
        topology: {max_sockets: 2}
  register: placement
"""

RETURN = r"""
plan:
  description:
    - One entry per guest, sorted by name. When RV(plan[].fits), the keys RV(plan[].cputune), RV(plan[].numa),
      RV(plan[].memory_backing), RV(plan[].vcpus), RV(plan[].cpu_model) and (with I/O threads)
      RV(plan[].iothreads) hold the exact options of the modules of those names.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Guest name.
      type: str
    fits:
      description: Whether the guest was placed.
      type: bool
    reason:
      description: Why it does not fit, naming the node and what was short; empty when it fits.
      type: str
    host_nodes:
      description: Host node of each guest cell, in cell order.
      type: list
      elements: int
    cputune:
      description:
        - C(vcpupin) (list of C(vcpu), C(cpuset)), C(emulatorpin), C(iothreadpin) (with I/O threads) and
          C(vcpusched) (with real-time vCPUs, C(fifo) priority 1).
      type: dict
      sample:
        vcpupin: [{vcpu: 0, cpuset: "2"}, {vcpu: 1, cpuset: "58"}]
        emulatorpin: "2,58"
    numa:
      description: C(numatune) (C(memory) and C(memnodes), mode strict) and guest C(cells) (C(id), C(cpus), C(memory)).
      type: dict
    memory_backing:
      description: C(hugepages) (list of C(size), C(nodeset) of guest cells) when hugepage-backed, else empty.
      type: dict
    vcpus:
      description: C(maximum) and C(placement) (static).
      type: dict
    cpu_model:
      description:
        - C(topology) with C(sockets), C(dies), C(cores) and C(threads). Threads are the host siblings the
          guest really uses; no guest socket straddles two guest cells.
      type: dict
    iothreads:
      description: C(count), when the guest has I/O threads.
      type: dict
    topology_reason:
      description:
        - With O(guests[].topology) only - what of the preferred topology could not be honoured and what was
          chosen; empty when all of it was.
      type: str
    pci_devices:
      description: With O(guests[].pci_devices) only - C(address) and C(numa_node) of each device.
      type: list
      elements: dict
    metadata:
      description:
        - With a profile only - C(profile), the profile versions the guest was placed with (V(nfv-hugepages@2),
          or V(dedicated@1,db@2) when composed). The guest records it in its C(<metadata>) so that a re-plan
          (O(existing[].profile)) uses the same versions.
      type: dict
      sample: {profile: "nfv-hugepages@2"}
host_requirements:
  description: What the host needs for the plan.
  returned: success
  type: dict
  contains:
    hugepages:
      description:
        - Pages per node and size that the placed and existing guests use together; each pool needs at least this many.
      type: list
      elements: dict
      sample: [{node: 0, size: "2 MiB", count: 1536}]
    isolated_cpus:
      description: CPUs held by dedicated vCPUs and isolated threads (candidates for C(isolcpus=)), a CPU set.
      type: str
map:
  description:
    - Text picture of the host, per node and core; each CPU shows its holder (C(guest/v3) for a vCPU,
      C(guest/emulator), C(guest/io1), C(guest/held) for an idle sibling under thread_policy isolate,
      C(housekeeping), an existing guest's name, or C(.) when free or shared). A node with shared vCPUs shows
      C(shared vCPUs used/room); each PCI device shows under its node as C(pci ADDRESS) with its holder, class and driver.
  returned: success
  type: str
"""


from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.guarded_module import GuardedModule
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.placements import read_placements
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.facts import read_host
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.uri import default_uri, uri_secrets
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan

CELL_SPEC = dict(cpus=dict(type="raw"), vcpus=dict(type="int"), memory=dict(type="raw", required=True))
GUEST_SPEC = dict(
    name=dict(type="str", required=True),
    profile=dict(type="raw"),
    vcpus=dict(type="int"),
    memory=dict(type="raw"),
    cpu_policy=dict(type="str", choices=["shared", "dedicated", "mixed"]),
    dedicated_vcpus=dict(type="raw"),
    thread_policy=dict(type="str", choices=["prefer", "isolate", "require"]),
    emulator_threads=dict(type="str", choices=["share", "isolate"]),
    iothreads=dict(type="int"),
    iothread_policy=dict(type="str", choices=["share", "isolate"]),
    numa_nodes=dict(type="int"),
    cells=dict(type="list", elements="dict", options=CELL_SPEC),
    page_size=dict(type="str"),
    realtime_vcpus=dict(type="raw"),
    emulator_cell=dict(type="int"),
    topology=dict(type="dict", options=dict((key, dict(type="int")) for key in (
        "sockets", "cores", "threads", "max_sockets", "max_cores", "max_threads"))),
    pci_devices=dict(type="list", elements="str"),
    pci_numa_policy=dict(type="str", choices=["required", "preferred", "legacy", "socket"]),
    strategy=dict(type="str", choices=["pack", "spread"]),
)
EXISTING_MEMORY_SPEC = dict(node=dict(type="int", required=True), size=dict(type="raw", required=True),
                            page_size=dict(type="str"))
EXISTING_SPEC = dict(
    name=dict(type="str", required=True),
    cpus=dict(type="raw"),
    memory=dict(type="list", elements="dict", options=EXISTING_MEMORY_SPEC),
    shared_vcpus=dict(type="list", elements="dict", options=dict(node=dict(type="int", required=True),
                                                                 count=dict(type="int", required=True))),
    pci_devices=dict(type="list", elements="str"),
    profile=dict(type="str"),
    active=dict(type="bool", default=False),
)
RESERVED_PAGES_SPEC = dict(node=dict(type="int", required=True), size=dict(type="str", required=True),
                           count=dict(type="int", required=True))


def main():
    module = GuardedModule(
        argument_spec=dict(
            host=dict(type="dict"),
            uri=dict(type="str"),
            guests=dict(type="list", elements="dict", required=True, options=GUEST_SPEC),
            existing=dict(type="list", elements="dict", options=EXISTING_SPEC),
            reserved_cpus=dict(type="raw"),
            strategy=dict(type="str", choices=["pack", "spread"], default="pack"),
            reserve_hugepages=dict(type="bool", default=False),
            profiles=dict(type="dict"),
            allocation=dict(type="dict"),
            dedicated_cpus=dict(type="raw"),
            shared_cpus=dict(type="raw"),
            reserved_hugepages=dict(type="list", elements="dict", options=RESERVED_PAGES_SPEC),
        ),
        supports_check_mode=True,
    )
    params = module.params
    uri = params["uri"] or default_uri()
    for secret in uri_secrets(uri):
        module.no_log_values.add(secret)
    try:
        existing = params["existing"]
        if params["host"] is not None:
            host = params["host"]
        else:
            host = read_host(uri=uri)
            if existing is None:
                existing = read_placements(uri)
        # Ansible fills every suboption in: drop the unset ones so that profiles and defaults apply
        guests = [dict((k, v) for k, v in guest.items() if v is not None) for guest in params["guests"]]
        result = plan(host, guests, existing=existing or [], reserved_cpus=params["reserved_cpus"],
                      strategy=params["strategy"], reserve_hugepages=params["reserve_hugepages"],
                      allocation=params["allocation"], dedicated_cpus=params["dedicated_cpus"],
                      shared_cpus=params["shared_cpus"], reserved_hugepages=params["reserved_hugepages"],
                      profiles=params["profiles"])
    except TuningError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
