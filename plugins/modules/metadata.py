#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: metadata
short_description: What this collection records in a libvirt guest (its own element of <metadata>)
version_added: 1.0.0
description:
  - Manages this collection's own element of the domain's C(<metadata>),
    C(<virtuned:tuning xmlns:virtuned="urn:virtuned.libvirt:tuning:1"/>). Elements of other namespaces
    in C(<metadata>) (other applications' records) are never read, changed or removed.
  - O(profile) records the M(virtuned.libvirt.numa_plan) profile versions a guest was placed with
    (the plan's C(plan[].metadata.profile)). M(virtuned.libvirt.guest_placements) reads it back, so that a
    re-plan uses the same versions, and M(virtuned.libvirt.tuning_info) reports whether the guest still matches it.
  - On a running guest the element is changed live too (C(virDomainSetMetadata)); the persistent definition follows.
  - The same options are M(virtuned.libvirt.domain_tuning)'s O(virtuned.libvirt.domain_tuning#module:metadata).
author:
  - virtuned.libvirt contributors (@virtuned)
extends_documentation_fragment:
  - virtuned.libvirt.domain_tuning
options:
  profile:
    description:
      - The profile versions, V(name@N), or several joined by commas (V(dedicated@1,db@2)), as numa_plan
        returns them. A version is required, so that the record says exactly what the guest was placed with.
      - An empty string removes the record (with O(state=merged) too).
    type: str
'''

EXAMPLES = r'''
- name: Record the profile a guest was placed with
  virtuned.libvirt.metadata:
    name: db01
    profile: db@2

- name: Record what numa_plan planned, with the rest of the plan (domain_tuning)
  virtuned.libvirt.domain_tuning:
    name: "{{ item.name }}"
    metadata: "{{ item.metadata | default(omit) }}"
  loop: "{{ plan.plan | selectattr('fits') }}"

- name: Read the record
  virtuned.libvirt.metadata:
    name: db01
    state: gathered
  register: recorded

- name: Remove the record (other applications' metadata stays)
  virtuned.libvirt.metadata:
    name: db01
    state: deleted
'''

RETURN = r'''
before:
  description: The recorded settings before the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {}
after:
  description: The recorded settings after the task, in the shape of the module's options.
  returned: when O(state) is not V(gathered)
  type: dict
  sample: {"profile": "db@2"}
gathered:
  description: The persistent recorded settings, in the shape of the module's options.
  returned: when O(state=gathered)
  type: dict
  sample: {"profile": "db@2"}
live_changes:
  description: What was applied to the running guest (in check mode, what would be).
  returned: always
  type: list
  elements: str
  sample: ["record profile db@2 in the guest's metadata"]
restart_required:
  description: True when part of the change waits for the guest's next boot.
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
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.metadata import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import run_area_module


def main():
    run_area_module(AREA)


if __name__ == "__main__":
    main()
