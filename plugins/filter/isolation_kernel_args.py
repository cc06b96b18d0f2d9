# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: isolation_kernel_args
short_description: The kernel arguments that isolate the CPUs of a cpu_isolation result
version_added: 1.0.0
description:
  - Takes the result of the P(virtuned.libvirt.cpu_isolation#filter) filter and returns the kernel arguments
    C(isolcpus=FLAGS,CPUS), C(nohz_full=CPUS), C(rcu_nocbs=CPUS) and C(irqaffinity=HOUSEKEEPING), each switchable.
  - Nothing isolated, or O(tuned=true) (tuned's cpu-partitioning profile sets its own), gives no argument.
  - A switch left null counts as true (the numa_pinning role's variables default to null).
options:
  _input:
    description: The cpu_isolation result (C(isolated) and C(housekeeping) are read).
    type: dict
    required: true
  isolcpus:
    description: Give C(isolcpus=).
    type: bool
    default: true
  isolcpus_flags:
    description: Flags put before the CPUs in C(isolcpus=); null for C([managed_irq, domain]).
    type: list
    elements: str
  nohz_full:
    description: Give C(nohz_full=).
    type: bool
    default: true
  rcu_nocbs:
    description: Give C(rcu_nocbs=).
    type: bool
    default: true
  irqaffinity:
    description: Give C(irqaffinity=) (the housekeeping CPUs).
    type: bool
    default: true
  tuned:
    description: tuned isolates the CPUs; no argument is given.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The arguments for CPUs 2-7
  ansible.builtin.set_fact:
    args: "{{ host.host | virtuned.libvirt.cpu_isolation(isolated_cpus='2-7') | virtuned.libvirt.isolation_kernel_args }}"
"""

RETURN = r"""
_value:
  description: The kernel arguments, in the order above.
  type: list
  elements: str
  sample: [isolcpus=managed_irq,domain,2-7, nohz_full=2-7, rcu_nocbs=2-7, irqaffinity=0-1]
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

DEFAULT_FLAGS = ("managed_irq", "domain")
KNOWN_FLAGS = ("nohz", "domain", "managed_irq")


def _switch(value, name):
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, string_types) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise AnsibleFilterError("isolation_kernel_args: %s: %r is not valid: expected true or false" % (name, value))


def isolation_kernel_args(isolation, isolcpus=True, isolcpus_flags=None, nohz_full=True, rcu_nocbs=True,
                          irqaffinity=True, tuned=False):
    """Kernel arguments for ``isolation`` (a cpu_isolation result)."""
    if not isinstance(isolation, dict) or not isinstance(isolation.get("isolated"), string_types) \
            or not isinstance(isolation.get("housekeeping"), string_types):
        raise AnsibleFilterError("isolation_kernel_args: the input is not a cpu_isolation result "
                                 "(isolated and housekeeping CPU sets): %r" % (isolation,))
    flags = list(DEFAULT_FLAGS) if isolcpus_flags is None else isolcpus_flags
    if not isinstance(flags, (list, tuple)) or any(flag not in KNOWN_FLAGS for flag in flags):
        raise AnsibleFilterError("isolation_kernel_args: isolcpus_flags: %r is not valid: expected a list of %s"
                                 % (isolcpus_flags, ", ".join(KNOWN_FLAGS)))
    isolated, housekeeping = isolation["isolated"], isolation["housekeeping"]
    if _switch(tuned, "tuned") or isolated == "":
        return []
    args = []
    if _switch(isolcpus, "isolcpus"):
        args.append("isolcpus=" + ",".join(list(flags) + [isolated]))
    if _switch(nohz_full, "nohz_full"):
        args.append("nohz_full=" + isolated)
    if _switch(rcu_nocbs, "rcu_nocbs"):
        args.append("rcu_nocbs=" + isolated)
    if _switch(irqaffinity, "irqaffinity"):
        args.append("irqaffinity=" + housekeeping)
    return args


class FilterModule(object):
    """virtuned.libvirt isolation kernel arguments filter."""

    def filters(self):
        return {"isolation_kernel_args": isolation_kernel_args}
