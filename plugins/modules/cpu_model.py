#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: cpu_model
short_description: The guest CPU of a libvirt guest - mode, model, topology, features (<cpu>)
version_added: 1.0.0
description:
  - Manages the C(<cpu>) element of a libvirt domain - CPU mode, model, vendor, topology, features,
    cache and physical address bits.
  - The guest NUMA cells under C(<cpu><numa>) belong to the numa module; this module never changes them.
  - Nothing here applies to a running guest; a change reports RV(restart_required) and takes effect
    at the next boot.
  - When connected, the mode and a custom model are checked against the host's domain capabilities
    (C(virConnectGetDomainCapabilities)).
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  mode:
    description:
      - The CPU mode. libvirt's defaults are compared as libvirt fills them in (V(custom) gets
        C(match=exact), a named model C(fallback=allow) and C(check=partial); V(host-passthrough)
        and V(maximum) get C(check=none) and C(migratable=on)).
    type: str
    choices: [host-passthrough, host-model, custom, maximum]
  match:
    description: How strictly a V(custom) model must match the host CPU.
    type: str
    choices: [minimum, exact, strict]
  check:
    description: How libvirt checks that the guest CPU matches the request.
    type: str
    choices: [none, partial, full]
  migratable:
    description: With V(host-passthrough) or V(maximum), leave out features that block migration.
    type: bool
  model:
    description: The CPU model (C(<model>)).
    type: dict
    suboptions:
      name:
        description: Model name, such as V(Skylake-Server) or V(EPYC-Milan); the host must offer it.
        type: str
      fallback:
        description: Whether libvirt may fall back to a close model.
        type: str
        choices: [allow, forbid]
      vendor_id:
        description: The vendor id the guest sees, exactly 12 characters and no comma (libvirt's rule).
        type: str
  vendor:
    description: The CPU vendor the model must come from (C(<vendor>)), for example V(Intel).
    type: str
  topology:
    description:
      - The CPU topology. Its product must equal the guest's maximum vCPUs (see M(virtuned.libvirt.vcpus)).
      - O(topology.sockets), O(topology.cores) and O(topology.threads) are required together.
    type: dict
    suboptions:
      sockets:
        description: Sockets.
        type: int
      dies:
        description: Dies per socket (libvirt's default 1).
        type: int
      clusters:
        description:
          - Clusters per die (libvirt's default 1). Needs libvirt 10.1 or later; on an older connected
            host a value other than 1 is refused.
        type: int
      cores:
        description: Cores per cluster.
        type: int
      threads:
        description: Threads per core.
        type: int
  features:
    description: CPU features (C(<feature>)), matched by O(features[].name).
    type: list
    elements: dict
    suboptions:
      name:
        description: Feature name, such as V(vmx) or V(pdpe1gb).
        type: str
        required: true
      policy:
        description: The policy (libvirt's default V(require)).
        type: str
        choices: [force, require, optional, disable, forbid]
  cache:
    description:
      - The CPU cache the guest sees (C(<cache>)); O(cache.mode) is required. V(passthrough) needs O(mode) V(host-passthrough)
        or V(maximum), V(emulate) needs O(cache.level) V(3), and V(passthrough) and V(disable) take no level
        (libvirt's qemuValidateDomainDefCpu).
    type: dict
    suboptions:
      level:
        description: Cache level (1-3); only with O(cache.mode=emulate).
        type: int
      mode:
        description: Emulate a cache, pass the host's through, or disable it.
        type: str
        choices: [emulate, passthrough, disable]
  maxphysaddr:
    description:
      - Physical address bits (C(<maxphysaddr>)); O(maxphysaddr.mode) is required. V(emulate) needs O(maxphysaddr.bits),
        at most the host CPU's when connected; V(passthrough) takes no bits.
    type: dict
    suboptions:
      mode:
        description: Pass the host's through or emulate O(maxphysaddr.bits).
        type: str
        choices: [emulate, passthrough]
      bits:
        description: Number of bits (1-64).
        type: int
notes:
  - A guest without a C(<cpu>) that gets only a topology is given a default model by libvirt
    (C(qemu64) on x86); V(merged) keeps it, V(replaced) without a model would remove it again.
'''

EXAMPLES = r'''
- name: A fixed model for a migratable fleet, one socket of four cores with two threads
  virtuned.libvirt.cpu_model:
    name: app01
    mode: custom
    model: {name: EPYC-Milan, fallback: forbid}
    topology: {sockets: 1, cores: 4, threads: 2}

- name: Pass the host CPU through and expose its cache
  virtuned.libvirt.cpu_model:
    name: rt01
    mode: host-passthrough
    cache: {mode: passthrough}

- name: Hide nested virtualisation and require 1 GiB pages
  virtuned.libvirt.cpu_model:
    name: app01
    features:
      - {name: vmx, policy: disable}
      - {name: pdpe1gb, policy: require}

- name: Remove one feature
  virtuned.libvirt.cpu_model:
    name: app01
    state: deleted
    features: [{name: vmx}]
'''

RETURN = r'''
before:
  description: The CPU settings before the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"mode": "custom", "match": "exact", "check": "partial", "model": {"name": "qemu64", "fallback": "allow"}}
after:
  description: The CPU settings after the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"mode": "host-passthrough", "check": "none", "migratable": true}
gathered:
  description: The persistent CPU settings, in the shape of the module's options.
  returned: when O(state=gathered)
  type: dict
  sample: {"mode": "custom", "match": "exact", "topology": {"sockets": 1, "dies": 1, "cores": 2, "threads": 1}}
live_changes:
  description: Always empty - nothing here applies to a running guest.
  returned: always
  type: list
  elements: str
  sample: []
restart_required:
  description: True when the guest runs and the change waits for its next boot.
  returned: always
  type: bool
restarted:
  description:
    - True when the guest was restarted for O(restart=if_needed) (in check mode, when it would be).
  returned: always
  type: bool
in_force:
  description:
    - The options (C(area.option)) that waited for the guest's boot and are read back in force after the restart.
  returned: after a restart for O(restart=if_needed) (not in check mode)
  type: list
  elements: str
  sample: ["vcpus.maximum"]
pending_restart:
  description:
    - The options (C(area.option), nothing else) whose new values wait for the next boot of the running guest.
    - Why, when the module knows, is in RV(pending_reasons).
  returned: when RV(restart_required) is true
  type: list
  elements: str
  sample: ["cpu_model.mode", "cpu_model.topology"]
pending_reasons:
  description: Why an option of RV(pending_restart) or RV(live_pending) waits, by C(area.option).
  returned: when a reason is known
  type: dict
live_pending:
  description:
    - The options (C(area.option)) asked of the running guest that it has not completed, read back after
      the live calls (a DIMM it has not released, a balloon target it has not followed). A warning says so.
    - They are not asked again while the persistent definition already holds them.
  returned: when the guest has not completed a live change
  type: list
  elements: str
  sample: ["memory_devices.dimms"]
backup_file:
  description: Path of the backup of the previous persistent XML.
  returned: when O(backup=true) and something changed
  type: str
xml:
  description: The resulting domain XML.
  returned: when O(xml) is given
  type: str
dest:
  description: The file the complete resulting XML (secrets kept, mode 0600) was written to.
  returned: when O(dest) is given
  type: str
'''

from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.cpu_model import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_area_module


def main():
    run_area_module(AREA)


if __name__ == "__main__":
    main()
