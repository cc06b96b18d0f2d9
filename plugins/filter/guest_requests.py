# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: guest_requests
short_description: Split the numa_pinning role's guest list into numa_plan requests and guests to unplace
version_added: 1.0.0
description:
  - Takes C(numa_pinning_guests), a list of M(virtuned.libvirt.numa_plan) requests, each with an optional C(state)
    (V(present), the default, or V(absent)), and returns the requests to plan (without C(state)) and the guests to
    unplace.
  - An entry that is not a dictionary with a C(name), a C(state) other than V(present) or V(absent), or a name given
    twice fails naming the entry and the rule.
options:
  _input:
    description: The guest list.
    type: list
    elements: dict
    required: true
  option:
    description: The name of the list in error messages.
    type: str
    default: numa_pinning_guests
"""

EXAMPLES = r"""
- name: Requests and guests to unplace
  ansible.builtin.set_fact:
    requests: "{{ numa_pinning_guests | virtuned.libvirt.guest_requests }}"
"""

RETURN = r"""
_value:
  description: The split list.
  type: dict
  contains:
    present:
      description: numa_plan requests (the entries with state present, without C(state)), in the order given.
      type: list
      elements: dict
    absent:
      description: One C({name, state=absent}) per guest to unplace, in the order given.
      type: list
      elements: dict
    names:
      description: Every name, in the order given.
      type: list
      elements: str
  sample: {present: [{name: db1, vcpus: 4, memory: 8G}], absent: [{name: old1, state: absent}], names: [db1, old1]}
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

STATES = ("present", "absent")


def guest_requests(guests, option="numa_pinning_guests"):
    """{'present': [requests], 'absent': [{'name', 'state'}], 'names': [...]}; refuses bad entries."""
    if not isinstance(guests, list):
        raise AnsibleFilterError("%s: %r is not valid: expected a list of guests" % (option, guests))
    present, absent, names = [], [], []
    for index, entry in enumerate(guests):
        where = "%s[%d]" % (option, index)
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), string_types) or not entry["name"]:
            raise AnsibleFilterError("%s: %r is not valid: expected a dictionary with a name" % (where, entry))
        name = entry["name"]
        if name in names:
            raise AnsibleFilterError("%s: %r is not valid: the guest %s is given twice" % (where, name, name))
        names.append(name)
        state = entry.get("state", "present")
        if state not in STATES:
            raise AnsibleFilterError("%s.state: %r is not valid: expected present or absent" % (where, state))
        if state == "absent":
            extra = sorted(set(entry) - {"name", "state"})
            if extra:
                raise AnsibleFilterError("%s: %r is not valid: a guest to unplace takes only name and state (not %s)"
                                         % (where, name, ", ".join(extra)))
            absent.append({"name": name, "state": "absent"})
        else:
            present.append(dict((key, value) for key, value in entry.items() if key != "state"))
    return {"present": present, "absent": absent, "names": names}


class FilterModule(object):
    """virtuned.libvirt guest request filter."""

    def filters(self):
        return {"guest_requests": guest_requests}
