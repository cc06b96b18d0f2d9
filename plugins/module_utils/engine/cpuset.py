# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CPU and node sets in libvirt's syntax ("0-3,^2,8")."""

from __future__ import annotations

import re

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import option_error

_RANGE = re.compile(r"^\s*(\^?)\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")

# libvirt refuses CPU numbers at or above VIR_DOMAIN_CPUMASK_LEN (16384 in 9.x)
MAX_CPU = 16383


def parse_cpuset(value, option="cpuset", allow_empty=False):
    """Parse a CPU/node set into a frozenset of ints.

    Accepts libvirt's syntax ("0-3,^2,8"), a single int, or a list of ints
    and such strings. Raises TuningError naming ``option`` on bad input.
    """
    if isinstance(value, bool) or value is None:
        raise option_error(option, value, "expected a CPU set such as '0-3,^2,8'")
    if isinstance(value, int):
        parts = [str(value)]
    elif isinstance(value, (list, tuple, set, frozenset)):
        parts = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (int, str)):
                raise option_error(option, value, "list items must be CPU numbers or ranges")
            parts.extend(str(item).split(","))
    elif isinstance(value, str):
        parts = value.split(",") if value.strip() else []
    else:
        raise option_error(option, value, "expected a CPU set such as '0-3,^2,8'")
    included, excluded = set(), set()
    for part in parts:
        match = _RANGE.match(part)
        if not match:
            raise option_error(option, value, "%r is not a CPU number, a range 'a-b' or an exclusion '^n'" % part.strip())
        negate, start, end = match.group(1), int(match.group(2)), match.group(3)
        end = int(end) if end is not None else start
        if negate and match.group(3) is not None:
            raise option_error(option, value, "an exclusion takes one CPU ('^3'), not a range")
        if end < start:
            raise option_error(option, value, "range %d-%d runs backwards" % (start, end))
        if end > MAX_CPU:
            raise option_error(option, value, "CPU %d is above libvirt's limit of %d" % (end, MAX_CPU))
        (excluded if negate else included).update(range(start, end + 1))
    if excluded and not included:
        raise option_error(option, value, "a set of exclusions alone selects no CPU")
    result = frozenset(included - excluded)
    if not result and not allow_empty:
        raise option_error(option, value, "the set is empty")
    return result


def format_cpuset(cpus):
    """Format CPUs as libvirt's canonical string: sorted, runs as 'a-b'."""
    ordered = sorted(set(int(c) for c in cpus))
    runs = []
    for cpu in ordered:
        if runs and cpu == runs[-1][1] + 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join("%d" % a if a == b else "%d-%d" % (a, b) for a, b in runs)


def normalise_cpuset(value, option="cpuset"):
    """Parse then format: the canonical string form of a CPU set."""
    return format_cpuset(parse_cpuset(value, option))
