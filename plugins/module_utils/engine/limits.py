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


def oversized_number(spec, params, prefix=""):
    """The first option of ``params`` (raw module arguments) that an argument spec types ``int`` and that
    holds a number of more than MAX_DIGITS digits: (option path, value), or None.

    Ansible converts int options itself, and formats them for the invocation log: a number of more than
    4300 digits ends there in a ValueError. The runner checks the raw arguments with this first (before
    AnsibleModule, and before an area's options of domain_tuning are validated) and fails cleanly.
    """
    if not isinstance(params, dict) or not isinstance(spec, dict):
        return None
    for name, value in params.items():
        option = spec.get(name)
        if option is None:
            option = next((sub for sub in spec.values() if name in (sub.get("aliases") or ())), None)
        if option is None or value is None:
            continue
        path = "%s%s" % (prefix, name)
        found = _oversized_value(option, value, path)
        if found:
            return found
    return None


def _too_long(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value.bit_length() > _MAX_BITS
    if isinstance(value, str):
        return sum(1 for char in value if char.isdigit()) > MAX_DIGITS
    return False


def _oversized_value(option, value, path):
    kind, elements = option.get("type", "str"), option.get("elements")
    if kind == "int" and _too_long(value):
        return path, value
    if kind == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            where = "%s[%d]" % (path, index)
            if elements == "int" and _too_long(item):
                return where, item
            if elements == "dict" and option.get("options"):
                found = oversized_number(option["options"], item, where + ".")
                if found:
                    return found
    if kind == "dict" and option.get("options") and isinstance(value, dict):
        return oversized_number(option["options"], value, path + ".")
    return None


def raw_argument_problem(spec, params, prefix=""):
    """A clear message for raw module arguments that Ansible's own argument handling cannot take without a
    traceback, or None: an int option holding more than MAX_DIGITS digits (Ansible converts and logs it),
    and a dict option (or a list of dicts) with sub-options given something else (Ansible's set_fallbacks
    iterates it). The runner checks this before AnsibleModule validates the arguments.
    """
    found = oversized_number(spec, params, prefix)
    if found:
        return "%s: %s is not valid: a number has at most %d digits (libvirt's 64-bit limit)" % (
            found[0], shown(found[1]), MAX_DIGITS)
    return _shape_problem(spec, params, prefix)


def _shape_problem(spec, params, prefix):
    if not isinstance(params, dict) or not isinstance(spec, dict):
        return None
    for name, value in params.items():
        option = spec.get(name)
        if option is None or value is None or not option.get("options"):
            continue
        path = prefix + name
        if option.get("type") == "dict":
            if not isinstance(value, dict):
                return "%s: %s is not valid: expected a dictionary" % (path, shown(value))
            problem = _shape_problem(option["options"], value, path + ".")
        elif option.get("type") == "list" and option.get("elements") == "dict":
            if not isinstance(value, list):
                return "%s: %s is not valid: expected a list of dictionaries" % (path, shown(value))
            problem = None
            for index, item in enumerate(value):
                where = "%s[%d]" % (path, index)
                if not isinstance(item, dict):
                    return "%s: %s is not valid: expected a dictionary" % (where, shown(item))
                problem = problem or _shape_problem(option["options"], item, where + ".")
        else:
            problem = None
        if problem:
            return problem
    return None
