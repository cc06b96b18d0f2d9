# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: unknown_variables
short_description: The role variables a play sets that the role does not define, each with the closest known name
version_added: 1.0.0
description:
  - Takes the names of the variables in scope that carry a role's prefix (the C(ansible.builtin.varnames) lookup
    lists them) and the names the role defines, and returns the unknown ones, sorted, each with the closest known
    name (difflib's ratio of what follows the shared prefix, at least 0.6), so that a typo such as C(numa_pinning_guest) is refused instead of ignored.
options:
  _input:
    description: Variable names in scope (a list, or the comma-separated string the varnames lookup returns).
    type: raw
    required: true
  known:
    description: The names the role defines (its defaults and the facts it sets).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse unknown numa_pinning variables
  ansible.builtin.fail:
    msg: "{{ __unknown | map(attribute='message') | join('; ') }}"
  vars:
    __unknown: "{{ query('ansible.builtin.varnames', '^numa_pinning_') | virtuned.libvirt.unknown_variables(known) }}"
  when: __unknown | length > 0
"""

RETURN = r"""
_value:
  description: One entry per unknown name.
  type: list
  elements: dict
  contains:
    name:
      description: The unknown variable.
      type: str
    closest:
      description: The closest known name, or null when none is close.
      type: str
    message:
      description: C(NAME is not a variable of this role (did you mean CLOSEST?)).
      type: str
  sample: [{name: numa_pinning_guest, closest: numa_pinning_guests,
            message: "numa_pinning_guest is not a variable of this role (did you mean numa_pinning_guests?)"}]
"""

import difflib
import os

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types


def _names(value, what):
    if isinstance(value, string_types):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple, set)) or not all(isinstance(n, string_types) for n in value):
        raise AnsibleFilterError("unknown_variables: %s must be a list of variable names, got %r" % (what, value))
    return list(value)


def unknown_variables(names, known):
    """The names not in ``known``, each with its closest known name."""
    names, known = _names(names, "the input"), _names(known, "known")
    # the role's prefix is shared by every name: compare what follows it
    prefix = os.path.commonprefix(known) if len(known) > 1 else ""
    tails = dict((name[len(prefix):], name) for name in known)
    result = []
    for name in sorted(set(names) - set(known)):
        tail = name[len(prefix):] if name.startswith(prefix) else name
        close = difflib.get_close_matches(tail, list(tails), n=1, cutoff=0.6)
        closest = tails[close[0]] if close else None
        result.append({
            "name": name,
            "closest": closest,
            "message": "%s is not a variable of this role%s" % (
                name, " (did you mean %s?)" % closest if closest else ""),
        })
    return result


class FilterModule(object):
    """virtuned.libvirt unknown role variables filter."""

    def filters(self):
        return {"unknown_variables": unknown_variables}
