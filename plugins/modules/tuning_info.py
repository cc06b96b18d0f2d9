#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: tuning_info
short_description: Every tuning area of libvirt guests at once, what runs, and the drift between the two
version_added: 1.0.0
description:
  - Returns, for one guest or many, the settings of every tuning area of this collection (cputune, memtune,
    memory_backing, numa, memory_devices, vcpus, iothreads, cpu_model, boot_firmware, and any other area module
    present), each in exactly the shape its module's C(state=gathered) returns, so that it can be fed back with
    C(state=replaced).
  - For a running guest it adds what libvirt reports live (vCPU, emulator and iothread affinity, memory, NUMA and
    scheduler parameters, vCPU counts), the areas as the running guest has them, and a drift list of the options
    where the running guest differs from its persistent definition.
  - For a guest that records the M(virtuned.libvirt.numa_plan) profile versions it was placed with (in its
    C(<metadata>), see M(virtuned.libvirt.metadata)), it reports them and whether the guest's settings still
    match them (RV(guests[].profile)).
  - Reads only, over a read-only connection; secrets in the domain XML are never returned.
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.attributes.libvirt
options:
  name:
    description: Name of one libvirt domain.
    type: str
  uuid:
    description: UUID of one libvirt domain.
    type: str
  names:
    description:
      - Names of several domains.
      - When none of O(name), O(uuid), O(names) and O(xml) is given, every domain of the connection is reported.
    type: list
    elements: str
  profiles:
    description:
      - User-defined profiles, as M(virtuned.libvirt.numa_plan)'s O(virtuned.libvirt.numa_plan#module:profiles),
        so that a guest recording one of them can be checked against it (the built-in profiles are always known).
    type: dict
  xml:
    description:
      - A domain XML document to report on offline, with no libvirt connection (the persistent part only).
    type: str
  uri:
    description:
      - libvirt connection URI. Defaults to the E(LIBVIRT_DEFAULT_URI) environment variable, else V(qemu:///system).
      - Credentials in the URI never appear in results or messages.
    type: str
  effective:
    description:
      - Also read, for each running guest, what the host kernel enforces for its QEMU process - every thread's
        allowed host CPUs and scheduler policy and priority (vCPU, iothread and emulator threads), the guest memory
        per host node and page size (from C(/proc/PID/numa_maps) and C(smaps)) and the hugetlb pages it holds - and
        compare it with the guest's definition (RV(guests[].effective), RV(guests[].effective_drift)).
      - Needs a local connection to the QEMU driver (the C(/proc) of the hypervisor itself) and read access to the
        QEMU processes (root, or the user QEMU runs as).
    type: bool
    default: false
requirements:
  - python >= 3.9
  - lxml
  - libvirt-python (not needed with O(xml))
attributes:
  check_mode:
    description: Can run in check_mode and return the same result; it changes nothing either way.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
notes:
  - Drift compares the live and the persistent XML area by area, after the same normalisation the modules use.
    Areas whose live XML legitimately expands what the definition says (a CPU mode the hypervisor resolves,
    firmware paths chosen at start) may show drift until their modules learn to tell these apart.
'''

EXAMPLES = r'''
- name: Inventory the tuning of every guest of a host
  virtuned.libvirt.tuning_info:
  register: tuning

- name: Guests whose running state differs from their definition
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.drift | map(attribute='option') | list }}"
  loop: "{{ tuning.guests | selectattr('drift') | list }}"
  loop_control:
    label: "{{ item.name }}"

- name: One guest
  virtuned.libvirt.tuning_info:
    name: db01
  register: db01

- name: Copy db01's memory limits to db02
  virtuned.libvirt.memtune:
    name: db02
    state: replaced
    hard_limit: "{{ db01.guest.areas.memtune.hard_limit | default(omit) }}"
    soft_limit: "{{ db01.guest.areas.memtune.soft_limit | default(omit) }}"

- name: Read a domain XML document offline
  virtuned.libvirt.tuning_info:
    xml: "{{ lookup('file', 'guest.xml') }}"
'''

RETURN = r'''
guests:
  description: One entry per guest reported.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The guest's name.
      type: str
    uuid:
      description: The guest's UUID (offline, when the XML has one).
      type: str
    state:
      description: The guest's state (running, paused, shut off, ...). Not returned offline.
      type: str
    running:
      description: Whether the guest runs. Not returned offline.
      type: bool
    persistent:
      description: Whether the guest is defined (not transient). Not returned offline.
      type: bool
    areas:
      description: The persistent settings of every area, by area (module) name, each as its module's RV(guests[].areas) gathered.
      type: dict
      sample: {"memtune": {"soft_limit": "1 GiB"}, "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "2"}]}}
    live_areas:
      description: The same areas as the running guest has them.
      type: dict
      returned: when the guest runs
    runtime:
      description:
        - What libvirt reports for the running guest - C(vcpu_counts) (C(maximum), C(current), C(live_maximum),
          C(live_current)), C(vcpu_affinity) and C(iothread_affinity) (lists of CPU sets), C(emulator_affinity),
          C(memory_parameters) (sizes or V(unlimited)), C(numa_parameters) (C(mode), C(nodeset)) and C(scheduler)
          (C(type), C(parameters)).
        - Empty for a guest that does not run.
      type: dict
      sample: {"emulator_affinity": "0-1", "numa_parameters": {"mode": "strict", "nodeset": "0"}}
    drift:
      description: The options where the running guest differs from its persistent definition.
      type: list
      elements: dict
      sample: [{"area": "memtune", "option": "soft_limit", "persistent": "1 GiB", "live": "512 MiB"}]
    profile:
      description:
        - The numa_plan profile versions the guest records (C(<metadata>), C(areas.metadata)) and whether
          its persistent settings still match them; null when it records none.
        - C(profile), the versions (V(db@2), V(dedicated@1,db@2)); C(matches); C(differences), one sentence per
          setting that differs (C(vcpus), C(memory), C(cpu_policy), C(dedicated_vcpus), C(emulator_threads),
          C(page_size), C(realtime_vcpus), C(numa_nodes) and C(iothreads) are compared; C(thread_policy),
          C(strategy) and PCI locality are not, the domain XML does not show them without the host).
        - When the recorded profile is neither built in nor in O(profiles), C(matches) is null and C(reason) says so.
      type: dict
      sample: {"profile": "realtime@1", "matches": false,
               "differences": ["page_size: large in realtime@1, small in the guest"]}
    effective:
      description:
        - With O(effective=true), what the host kernel enforces for the running guest's QEMU process; empty for a
          guest that does not run.
        - C(pid); C(vcpus) (C(vcpu), C(tid), C(name), C(cpus), C(policy), C(priority)), C(iothreads) (C(iothread),
          ...), C(emulator) (every other QEMU thread) and C(kernel_threads) (the kernel's workers in the process, never
          compared), where C(name) is the name QEMU gave the thread, C(cpus) is the thread's allowed host CPUs and C(policy) its scheduler
          policy (V(other), V(batch), V(idle), V(fifo), V(rr)) with its real-time C(priority);
          C(memory), the guest memory resident per host C(node) and C(page_size); C(transparent_hugepages), how
          much of it sits on transparent hugepages; C(hugetlb_pages), the hugetlb pages the process holds per
          C(node) and C(page_size).
      type: dict
      returned: when O(effective=true)
      sample:
        pid: 4242
        vcpus: [{"vcpu": 0, "tid": 4250, "name": "CPU 0/KVM", "cpus": "1", "policy": "other", "priority": 0}]
        iothreads: []
        emulator: [{"tid": 4242, "name": "qemu-system-x86", "cpus": "0", "policy": "other", "priority": 0}]
        kernel_threads: []
        memory: [{"node": 0, "page_size": "2 MiB", "size": "128 MiB"}]
        transparent_hugepages: "0 KiB"
        hugetlb_pages: [{"node": 0, "page_size": "2 MiB", "pages": 64}]
    effective_drift:
      description:
        - With O(effective=true), each place where what the kernel enforces differs from the guest's persistent
          definition (its live definition for a transient guest), as a sentence.
      type: list
      elements: str
      returned: when O(effective=true)
      sample:
        - "vCPU 1 may run on 0-1, the definition pins it to 1"
        - "128 MiB of guest memory on 4 KiB pages, the definition asks for 2 MiB pages"
    unavailable:
      description: Runtime values libvirt would not give, with its reason.
      type: dict
      returned: when libvirt refused a read
guest:
  description: The entry of RV(guests) when one guest was asked for (O(name), O(uuid) or O(xml)).
  returned: when O(name), O(uuid) or O(xml) is given
  type: dict
'''


from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.guarded_module import GuardedModule
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.batch import BatchedReads
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import LibvirtEdge, default_uri, uri_secrets
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.report import (
    check_profiles, discover_areas, guest_report, offline_report,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import domain_secrets


def main():
    module = GuardedModule(
        argument_spec={
            "name": {"type": "str"},
            "uuid": {"type": "str"},
            "names": {"type": "list", "elements": "str"},
            "profiles": {"type": "dict"},
            "xml": {"type": "str"},
            "uri": {"type": "str"},
            "effective": {"type": "bool", "default": False},
        },
        mutually_exclusive=[["name", "uuid", "names", "xml"], ["xml", "uri"]],
        supports_check_mode=True,
    )
    params = module.params
    for secret in uri_secrets(params.get("uri")) + domain_secrets(params.get("xml")):
        module.no_log_values.add(secret)
    areas = discover_areas()
    try:
        check_profiles(params.get("profiles"))
        if params.get("xml") is not None:
            guests = [offline_report(params["xml"], areas, profiles=params.get("profiles"))]
        else:
            guests = _connected(params, areas)
    except TuningError as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": False, "guests": guests}
    if params.get("name") or params.get("uuid") or params.get("xml") is not None:
        result["guest"] = guests[0]
    module.exit_json(**result)


def _connected(params, areas):
    # read-write, though nothing is written: libvirt gives the migratable XML (the CPU as defined) only so
    edge = LibvirtEdge(params.get("uri") or default_uri())
    try:
        if params.get("name") or params.get("uuid"):
            domains = [edge.lookup(params.get("name"), params.get("uuid"))]
        elif params.get("names"):
            listed = {dom.name(): dom for dom in edge.list_domains()}
            domains = [listed.get(name) or edge.lookup(name) for name in params["names"]]
        else:
            domains = sorted(edge.list_domains(), key=lambda dom: dom.name())
        reader = BatchedReads(edge, domains) if len(domains) > 1 else edge
        return [guest_report(reader, dom, areas, profiles=params.get("profiles"), effective=params["effective"])
                for dom in domains]
    finally:
        edge.close()


if __name__ == "__main__":
    main()
