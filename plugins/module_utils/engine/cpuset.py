# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CPU and node sets in libvirt's syntax ("0-3,^2,8")."""

from __future__ import annotations

import re

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import check_int_size, refuse, shown

_RANGE = re.compile(r"^\s*(\^?)\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?$")

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
        check_int_size(value, option)
        parts = [str(value)]
    elif isinstance(value, (list, tuple, set, frozenset)):
        parts = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (int, str)):
                raise refuse(option, value, "list items must be CPU numbers or ranges")
            if isinstance(item, int):
                check_int_size(item, option)
            parts.extend(str(item).split(","))
    elif isinstance(value, str):
        parts = value.split(",") if value.strip() else []
    else:
        raise option_error(option, value, "expected a CPU set such as '0-3,^2,8'")
    included, excluded = [], set()
    for part in parts:
        check_int_size(part, option)  # before int(): a 5000-digit CPU number is refused, not converted
        match = _RANGE.match(part)
        if not match:
            raise refuse(option, value, "%s is not a CPU number, a range 'a-b' or an exclusion '^n'" % shown(part.strip()))
        negate, start, end = match.group(1), int(match.group(2)), match.group(3)
        end = int(end) if end is not None else start
        if negate and match.group(3) is not None:
            raise refuse(option, value, "an exclusion takes one CPU ('^3'), not a range")
        if end < start:
            raise refuse(option, value, "range %d-%d runs backwards" % (start, end))
        if end > MAX_CPU:
            raise refuse(option, value, "CPU %d is above libvirt's limit of %d" % (end, MAX_CPU))
        if negate:
            excluded.add(start)
        else:
            included.append((start, end))
    # ranges are merged before they are expanded: the work stays bounded by MAX_CPU, however many parts
    merged = []
    for start, end in sorted(included):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    included = set()
    for start, end in merged:
        included.update(range(start, end + 1))
    if excluded and not included:
        raise refuse(option, value, "a set of exclusions alone selects no CPU")
    result = frozenset(included - excluded)
    if not result and not allow_empty:
        raise refuse(option, value, "the set is empty")
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
