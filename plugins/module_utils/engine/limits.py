# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documented limits on what the engine accepts, so that any input ends in bounded work.

Every limit is libvirt's (or QEMU's) own where it has one:

- ``MAX_DIGITS`` (20): libvirt reads every number of a domain definition into at most an
  unsigned long long (18446744073709551615, 20 digits); a longer number is never valid, and
  refusing it first keeps Python's own integer-conversion limit (4300 digits) out of the way.
- ``MAX_XML_CHARS`` (4194304): libvirt's remote protocol carries a domain XML in one
  ``remote_nonnull_string`` of at most REMOTE_STRING_MAX (4 MiB) bytes; a longer definition
  cannot be defined anyway.
- ``MAX_VCPUS`` (16384): libvirt's VIR_DOMAIN_CPUMASK_LEN; no vCPU id at or above it can be
  named in a cpuset, and no QEMU machine type offers more. When connected, the machine type's
  own maximum (domain capabilities ``<vcpu max=.../>``) applies.
- ``MAX_IOTHREADS`` (16384): libvirt and QEMU set no maximum; each iothread is one host
  thread, and more threads than a cpuset can address gain nothing. The bound keeps reading and
  planning linear and small (``<iothreads>100000000</iothreads>`` is refused, not listed).
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, shown

MAX_DIGITS = 20
MAX_XML_CHARS = 4 * 1024 * 1024
MAX_VCPUS = 16384
MAX_IOTHREADS = 16384
# 10 ** 20 needs 67 bits: an int with more bits has more than 20 digits
_MAX_BITS = 67


def refuse(option, value, rule):
    """A TuningError in the house style (option, value, rule) with a bounded value."""
    return TuningError("%s: %s is not valid: %s" % (option, shown(value), rule))


def check_int_size(value, option):
    """Refuse ints and digit strings longer than MAX_DIGITS digits (before any int() call)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if value.bit_length() > _MAX_BITS or abs(value) >= 10 ** MAX_DIGITS:
            raise refuse(option, value, "a number has at most %d digits (libvirt's 64-bit limit)" % MAX_DIGITS)
        return
    if isinstance(value, str):
        digits = sum(1 for char in value if char.isdigit())
        if digits > MAX_DIGITS:
            raise refuse(option, value, "a number has at most %d digits (libvirt's 64-bit limit)" % MAX_DIGITS)


def bounded_int(text):
    """int(text) for XML text, or None when it is not a number of at most MAX_DIGITS digits."""
    text = (text or "").strip()
    body = text[1:] if text[:1] in "+-" else text
    if not body.isdigit() or len(body) > MAX_DIGITS or not body.isascii():
        return None
    return int(text, 10)


def _xml_incompatible(char):
    code = ord(char)
    if code in (0x9, 0xA, 0xD):
        return False
    return code < 0x20 or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF) or code > 0x10FFFF


def check_xml_text(value, option):
    """Refuse text that XML 1.0 cannot hold (NUL and other control characters, lone surrogates)."""
    for position, char in enumerate(value):
        if _xml_incompatible(char):
            kind = "a control character" if ord(char) < 0x20 else "a code point XML does not allow"
            raise refuse(option, value, "character U+%04X at position %d is %s, which domain XML cannot hold"
                         % (ord(char), position, kind))
