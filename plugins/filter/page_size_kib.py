# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: page_size_kib
short_description: A hugepage size (2M, 1G, 2048K, 2 MiB) in KiB
version_added: 1.0.0
description:
  - Parses a page size as the hugepages_host role takes it (C(2M), C(1G), C(2048K), C(2 MiB); a bare number is KiB)
    and returns it in KiB, the unit of the kernel's C(hugepages-<N>kB) pools and of hugetlbfs' C(pagesize=).
  - A value that is not a size of whole KiB fails naming O(option) and the value.
options:
  _input:
    description: The page size.
    type: raw
    required: true
  option:
    description: The name used for the value in error messages.
    type: str
    default: size
"""

EXAMPLES = r"""
- name: 2048
  ansible.builtin.debug:
    msg: "{{ '2M' | virtuned.libvirt.page_size_kib }}"
"""

RETURN = r"""
_value:
  description: The size in KiB.
  type: int
  sample: 2048
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import parse_size


def page_size_kib(value, option="size"):
    """``value`` in KiB; AnsibleFilterError naming ``option`` when it is not a page size."""
    try:
        nbytes = parse_size(value, option, default_unit="KiB", allow_zero=False)
    except TuningError:
        raise AnsibleFilterError(str(option_error(option, value, "expected a page size such as 2M, 1G or 2048K")))
    if nbytes % 1024:
        raise AnsibleFilterError(str(option_error(option, value, "a page size is a whole number of KiB")))
    return nbytes // 1024


class FilterModule(object):
    """virtuned.libvirt page size filter."""

    def filters(self):
        return {"page_size_kib": page_size_kib}
