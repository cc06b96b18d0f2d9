#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: guest_placements_info
short_description: Read what the defined guests hold on the host, as numa_plan's existing
version_added: 1.0.0
description:
  - Reads every guest libvirt knows on O(uri) (one connection, no change) and returns, per guest, the host CPUs
    it holds for itself and its memory per host node and page size, in the shape of
    M(virtuned.libvirt.numa_plan)'s O(virtuned.libvirt.numa_plan#module:existing) option.
  - CPUs held are the host CPUs that exactly one vCPU is pinned to alone (dedicated vCPUs) and, for a guest
    with such vCPUs, a single-CPU emulatorpin or iothreadpin (isolated threads); they come from the persistent
    definition. Shared vCPUs hold nothing.
  - Memory per node comes from the guest NUMA cells and numatune (memnodes, else the memory nodeset) when they
    name one host node, and from the running definition when the guest runs. On a one-node host all memory is
    on node 0; memory bound to several nodes at once is not counted on any.
  - Read-only; the result is the same in check mode.
  - Called C(guest_placements) before 1.0.0; that name still runs this module, with a deprecation warning, until 2.0.0.
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.attributes.libvirt
requirements:
  - libvirt-python
options:
  uri:
    description:
      - libvirt connection URI.
      - Defaults to the E(LIBVIRT_DEFAULT_URI) environment variable, else C(qemu:///system).
    type: str
attributes:
  check_mode:
    description: Can run in check_mode and return the same result; it changes nothing either way.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
seealso:
  - module: virtuned.libvirt.numa_plan
"""

EXAMPLES = r"""
- name: Read what the guests hold
  virtuned.libvirt.guest_placements_info:
  register: placements

- name: Plan a new guest next to them
  virtuned.libvirt.numa_plan:
    existing: "{{ placements.existing }}"
    reserve_hugepages: true
    guests:
      - {name: db1, vcpus: 2, memory: 2G, cpu_policy: dedicated}
"""

RETURN = r"""
existing:
  description: One entry per guest, sorted by name, in the shape of numa_plan's existing option.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Guest name.
      type: str
    cpus:
      description: Host CPUs the guest holds for itself, a CPU set (empty when none).
      type: str
    memory:
      description: Memory per host node and page size (C(node), C(size), C(page_size) small, 2M or 1G).
      type: list
      elements: dict
    shared_vcpus:
      description:
        - Shared vCPUs (those that hold no host CPU of their own) per host node, as C(node) and C(count); only when
          the guest has some whose node is known.
      type: list
      elements: dict
    pci_devices:
      description: Addresses of the PCI host devices passed through to the guest; only when it has some.
      type: list
      elements: str
    profile:
      description:
        - The numa_plan profile versions the guest records in its C(<metadata>) (C(urn:virtuned.libvirt:tuning:1)
          namespace); only when it records some.
      type: str
    active:
      description: Whether the guest runs.
      type: bool
  sample:
    - {name: db1, cpus: "2-3", memory: [{node: 0, size: "2 GiB", page_size: "2M"}], active: true}
"""


from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.guarded_module import GuardedModule
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.placements import read_placements
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.uri import default_uri, uri_secrets


def main():
    module = GuardedModule(argument_spec=dict(uri=dict(type="str")), supports_check_mode=True)
    uri = module.params["uri"] or default_uri()
    for secret in uri_secrets(uri):
        module.no_log_values.add(secret)
    try:
        existing = read_placements(uri)
    except TuningError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, existing=existing)


if __name__ == "__main__":
    main()
