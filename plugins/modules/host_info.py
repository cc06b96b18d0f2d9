#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_info
short_description: Read the host's CPUs, NUMA nodes, hugepage pools and kernel CPU sets
version_added: 1.0.0
description:
  - Reports the host as M(virtuned.libvirt.numa_plan) sees it; every CPU with its socket, die, core,
    thread siblings, L3 cache group, online state and membership in the kernel's C(isolated) and
    C(nohz_full) sets; every NUMA node with its memory, distances and hugepage pools; the kernel
    command line; a summary of the domain capabilities; and the host's PCI devices with their NUMA node
    (for numa_plan's C(pci_devices) locality).
  - Connected mode reads libvirt's capabilities, domain capabilities and PCI node devices from O(uri) and
    adds C(/sys) and C(/proc) of the machine the module runs on.
  - Offline mode (O(capabilities_xml) given) describes any host, for example a large one in
    tests; O(sysfs_root) and O(proc_root) then add a fake sysfs tree and C(/proc) directory.
    Offline, the page counts of the capabilities XML count as free unless the sysfs tree says otherwise.
  - Read-only; the result is the same in check mode.
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.attributes.libvirt
requirements:
  - lxml
  - libvirt-python (connected mode only)
options:
  uri:
    description:
      - libvirt connection URI for connected mode.
      - Defaults to the E(LIBVIRT_DEFAULT_URI) environment variable, else C(qemu:///system).
      - User names and passwords in the URI never appear in results or messages.
    type: str
  capabilities_xml:
    description:
      - Capabilities XML (C(virsh capabilities) output) of the host to describe, instead of asking libvirt.
      - When set, O(uri) is not used and C(/sys) and C(/proc) are read only through O(sysfs_root) and O(proc_root).
    type: str
  sysfs_root:
    description:
      - Directory laid out like C(/sys) (C(devices/system/cpu/...), C(devices/system/node/...)).
      - Defaults to C(/sys) in connected mode; not read in offline mode unless given.
    type: path
  proc_root:
    description:
      - Directory laid out like C(/proc); only C(cmdline) is read.
      - Defaults to C(/proc) in connected mode; not read in offline mode unless given.
    type: path
  nodedev_xml:
    description:
      - The host's node devices, one C(virsh nodedev-dumpxml) output per item, instead of asking libvirt
        (devices that are not PCI devices are left out).
      - Offline, RV(host.pci_devices) is returned only when this is given.
    type: list
    elements: str
attributes:
  check_mode:
    description: Can run in check_mode and return the same result; it changes nothing either way.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
notes:
  - Nothing is written through the O(uri) connection. Domain capabilities need a read-write
    connection; with a read-only one C(domain_capabilities) is null.
seealso:
  - module: virtuned.libvirt.numa_plan
"""

EXAMPLES = r"""
- name: Read this hypervisor
  virtuned.libvirt.host_info:
  register: hv

- name: Describe a bigger host from saved files
  virtuned.libvirt.host_info:
    capabilities_xml: "{{ lookup('ansible.builtin.file', 'big-host/capabilities.xml') }}"
    sysfs_root: "{{ playbook_dir }}/big-host/sys"
    # virsh nodedev-dumpxml of each device, saved one file per device
    nodedev_xml: "{{ query('ansible.builtin.fileglob', 'big-host/nodedev/*.xml') | map('ansible.builtin.file') }}"
  register: big

- name: Plan guests on it
  virtuned.libvirt.numa_plan:
    host: "{{ big.host }}"
    guests:
      - name: db1
        vcpus: 8
        memory: 16G
        cpu_policy: dedicated
"""

RETURN = r"""
host:
  description: The host. numa_plan accepts it as its O(virtuned.libvirt.numa_plan#module:host) option.
  returned: success
  type: dict
  contains:
    cpus:
      description: Every CPU the host knows, sorted by id.
      type: list
      elements: dict
      contains:
        id:
          description: CPU number.
          type: int
        online:
          description: Whether the CPU is online.
          type: bool
        node:
          description: NUMA node of the CPU, null when unknown (an offline CPU the node lists do not name).
          type: int
        socket:
          description: Physical package id; -1 when the kernel does not say (offline CPU).
          type: int
        die:
          description: Die id; -1 when unknown.
          type: int
        core:
          description: Core id (unique within a socket and die only); -1 when unknown.
          type: int
        siblings:
          description: Thread siblings as a CPU set, including the CPU itself, for example C(0,32).
          type: str
        l3:
          description: CPUs sharing this CPU's L3 cache as a CPU set, null when unknown.
          type: str
        isolated:
          description: Whether the CPU is in the kernel's isolated set (C(isolcpus=)).
          type: bool
        nohz_full:
          description: Whether the CPU is in the kernel's nohz_full set.
          type: bool
      sample:
        - {id: 0, online: true, node: 0, socket: 0, die: 0, core: 0, siblings: "0,56", l3: "0-27,56-83",
           isolated: false, nohz_full: false}
    nodes:
      description: NUMA nodes, sorted by id.
      type: list
      elements: dict
      contains:
        id:
          description: Node number.
          type: int
        cpus:
          description: Online CPUs of the node as a CPU set.
          type: str
        memory_kib:
          description: Memory of the node in KiB.
          type: int
        free_kib:
          description: Free memory of the node in KiB (sysfs C(meminfo)), null when not read.
          type: int
        distances:
          description: Distances to every node, sorted by id.
          type: list
          elements: dict
          contains:
            id:
              description: The other node.
              type: int
            value:
              description: SLIT distance (10 is local).
              type: int
        hugepages:
          description: Hugepage pools of the node, one per page size other than the base page, sorted by size.
          type: list
          elements: dict
          contains:
            size_kib:
              description: Page size in KiB (2048, 1048576).
              type: int
            total:
              description: Pages in the pool (C(nr_hugepages)).
              type: int
            free:
              description: Free pages (C(free_hugepages)); offline without sysfs, equal to total.
              type: int
            surplus:
              description: Surplus pages (C(surplus_hugepages)).
              type: int
    isolated:
      description: The kernel's isolated CPUs as a CPU set, empty string when none.
      type: str
    nohz_full:
      description: The kernel's nohz_full CPUs as a CPU set, empty string when none.
      type: str
    cmdline:
      description: The kernel command line, empty string when not read.
      type: str
    smt:
      description: Whether any online CPU has a thread sibling.
      type: bool
    domain_capabilities:
      description: Summary of libvirt's domain capabilities; null offline or when libvirt cannot tell.
      type: dict
      contains:
        firmware:
          description: Firmware types libvirt offers (C(efi), C(bios)).
          type: list
          elements: str
        max_vcpus:
          description: Most vCPUs a guest may have.
          type: int
        cpu_modes:
          description: Supported guest CPU modes (C(host-passthrough), C(host-model), C(custom), ...).
          type: list
          elements: str
        models:
          description: CPU models usable on this host, sorted.
          type: list
          elements: str
    pci_devices:
      description:
        - The host's PCI devices, from libvirt's node devices (or O(nodedev_xml)), sorted by address.
        - Not returned offline without O(nodedev_xml), nor when libvirt will not list node devices (a warning says why).
      type: list
      elements: dict
      returned: in connected mode, or when O(nodedev_xml) is given
      contains:
        address:
          description: PCI address, C(domain:bus:slot.function) in hexadecimal (V(0000:3b:00.0)).
          type: str
        numa_node:
          description: The host NUMA node the device is attached to; null when the host does not say.
          type: int
        class:
          description: PCI class code (V(0x020000) is an Ethernet controller); null when not given.
          type: str
        vendor:
          description: PCI vendor id (V(0x8086)).
          type: str
        product:
          description: PCI product id (V(0x1572)).
          type: str
        driver:
          description: The host driver bound to the device (V(vfio-pci), V(i40e)); null when none.
          type: str
        physical_function:
          description: For an SR-IOV virtual function, the address of its physical function; else null.
          type: str
        virtual_functions:
          description: For an SR-IOV physical function, the addresses of its virtual functions, sorted.
          type: list
          elements: str
      sample:
        - {address: "0000:3b:00.0", numa_node: 1, class: "0x020000", vendor: "0x8086", product: "0x1572",
           driver: "i40e", physical_function: null, virtual_functions: ["0000:3b:02.0"]}
"""


from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.guarded_module import GuardedModule
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.facts import read_host
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.uri import default_uri, uri_secrets


def main():
    module = GuardedModule(
        argument_spec=dict(
            uri=dict(type="str"),
            capabilities_xml=dict(type="str"),
            sysfs_root=dict(type="path"),
            proc_root=dict(type="path"),
            nodedev_xml=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    uri = params["uri"] or default_uri()
    for secret in uri_secrets(uri):
        module.no_log_values.add(secret)
    warnings = []
    try:
        host = read_host(uri=uri, capabilities_xml=params["capabilities_xml"],
                         sysfs_root=params["sysfs_root"], proc_root=params["proc_root"],
                         nodedev_xml=params["nodedev_xml"], warnings=warnings)
    except TuningError as exc:
        module.fail_json(msg=str(exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, host=host)


if __name__ == "__main__":
    main()
