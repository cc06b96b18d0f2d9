# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: placement_options
short_description: The domain_tuning options that apply one guest's NUMA plan
version_added: 1.0.0
description:
  - Takes one entry of M(virtuned.libvirt.numa_plan)'s C(plan) (a guest that fits) and returns its options per
    area, ready for M(virtuned.libvirt.domain_tuning) (C(vcpus), C(cpu_model), C(numa), C(iothreads), C(cputune),
    C(memory_backing), and C(metadata) for a guest placed with a profile, which records the profile versions in the
    guest), plus C(memory_devices.memory), the sum of the guest cells' memory, so that the guest's memory and its
    cells change together.
  - An entry that does not fit is refused with its reason.
options:
  _input:
    description: One entry of numa_plan's C(plan).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Apply each guest's plan in one call
  virtuned.libvirt.domain_tuning:
    name: "{{ item.name }}"
    vcpus: "{{ __areas.vcpus }}"
    cpu_model: "{{ __areas.cpu_model }}"
    numa: "{{ __areas.numa }}"
    memory_devices: "{{ __areas.memory_devices }}"
    cputune: "{{ __areas.cputune }}"
    memory_backing: "{{ __areas.memory_backing }}"
    iothreads: "{{ __areas.iothreads | default(omit) }}"
    metadata: "{{ __areas.metadata | default(omit) }}"
  vars:
    __areas: "{{ item | virtuned.libvirt.placement_options }}"
  loop: "{{ placement.plan }}"
"""

RETURN = r"""
_value:
  description: Options per domain_tuning area.
  type: dict
  sample:
    vcpus: {maximum: 2, placement: static}
    memory_devices: {memory: 256 MiB}
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.placements import placement_options as _options


def placement_options(entry):
    """The domain_tuning areas of one plan entry; AnsibleFilterError on a bad input."""
    try:
        return _options(entry)
    except TuningError as exc:
        raise AnsibleFilterError(str(exc))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError("placement_options: the input is not one entry of numa_plan's plan: %s" % exc)


class FilterModule(object):
    """virtuned.libvirt plan-to-options filter."""

    def filters(self):
        return {"placement_options": placement_options}
