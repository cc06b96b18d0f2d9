# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes with units, as libvirt reads them (virScaleInteger)."""

from __future__ import annotations

import re
from contextlib import contextmanager

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import check_int_size, refuse

_BINARY = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5, "e": 1024 ** 6}
_DECIMAL = {"k": 1000, "m": 1000 ** 2, "g": 1000 ** 3, "t": 1000 ** 4, "p": 1000 ** 5, "e": 1000 ** 6}
_SIZE = re.compile(r"^\s*([0-9]+)\s*([A-Za-z]*)\s*$")
# libvirt refuses sizes that overflow an unsigned long long of bytes
MAX_BYTES = 2 ** 64 - 1
MIB = 1024 ** 2
# The lists that bare memory sizes below 1 MiB are noted in, innermost last (bare_memory_notes)
_NOTES = []


def unit_factor(unit, option="unit"):
    """Bytes per unit for libvirt's unit names (b, bytes, k, KiB, KB, M, MiB, MB, ...)."""
    text = (unit or "").strip()
    lower = text.lower()
    if lower in ("b", "byte", "bytes"):
        return 1
    if len(lower) == 1 and lower in _BINARY:
        return _BINARY[lower]
    if len(lower) == 3 and lower.endswith("ib") and lower[0] in _BINARY:
        return _BINARY[lower[0]]
    if len(lower) == 2 and lower.endswith("b") and lower[0] in _DECIMAL:
        return _DECIMAL[lower[0]]
    raise option_error(option, unit, "unknown unit; use b, KiB/K, KB, MiB/M, MB, GiB/G, GB, TiB/T, TB")


def parse_size(value, option="size", default_unit="KiB", allow_zero=True):
    """Parse a size ('8G', '512 MiB', 1048576, {'value':..,'unit':..}) into bytes.

    A bare number is in ``default_unit`` (KiB for memory, as in libvirt).
    """
    if isinstance(value, bool) or value is None:
        raise option_error(option, value, "expected a size such as 8G, '512 MiB' or a number of %s" % default_unit)
    check_int_size(value, option)
    if isinstance(value, int):
        if value < 0:
            raise option_error(option, value, "sizes cannot be negative")
        number, unit = value, default_unit
    elif isinstance(value, str):
        match = _SIZE.match(value)
        if not match:
            if value.strip().startswith("-"):
                raise refuse(option, value, "sizes cannot be negative")
            raise refuse(option, value, "expected a number with an optional unit, such as 8G or '512 MiB'")
        number, unit = int(match.group(1)), match.group(2) or default_unit
    else:
        raise refuse(option, value, "expected a size such as 8G, '512 MiB' or a number of %s" % default_unit)
    total = number * unit_factor(unit, option)
    if total > MAX_BYTES:
        raise option_error(option, value, "the size overflows libvirt's 64-bit byte count")
    if total == 0 and not allow_zero:
        raise option_error(option, value, "the size must be above zero")
    return total


def to_kib(nbytes):
    """Bytes to KiB, rounding up as libvirt does for memory sizes."""
    return (nbytes + 1023) // 1024


def format_size(nbytes):
    """A readable canonical form: the largest binary unit that divides exactly ('8 GiB')."""
    if nbytes == 0:
        return "0 KiB"
    for name, factor in (("EiB", 1024 ** 6), ("PiB", 1024 ** 5), ("TiB", 1024 ** 4), ("GiB", 1024 ** 3),
                         ("MiB", 1024 ** 2), ("KiB", 1024)):
        if nbytes % factor == 0:
            return "%d %s" % (nbytes // factor, name)
    return "%d b" % nbytes


@contextmanager
def bare_memory_notes():
    """``with bare_memory_notes() as notes:`` collects a warning for each memory size given as a bare
    number (KiB, as in libvirt) that comes to less than 1 MiB: ``memory: 512`` is 512 KiB, rarely meant."""
    notes = []
    _NOTES.append(notes)
    try:
        yield notes
    finally:
        _NOTES.remove(notes)


def note_bare_memory(value, option, nbytes):
    """Note ``value`` (a memory size in KiB when bare) when it has no unit and is below 1 MiB."""
    if not _NOTES or not 0 < nbytes < MIB:
        return
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        return
    number = str(value).strip()
    note = ("%s: %s has no unit, so it is %s KiB (a bare number is KiB, as in libvirt); write %sM or "
            "'%s MiB' if MiB is meant" % (option, number, number, number, number))
    if note not in _NOTES[-1]:
        _NOTES[-1].append(note)
