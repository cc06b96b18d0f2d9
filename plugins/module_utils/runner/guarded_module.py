# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AnsibleModule every module of the collection is built on.

Two things ansible-core does not do on its own, both before its argument checks run:

* the task's raw arguments are screened against the argument spec for the shapes ansible-core
  itself ends in a traceback on (a dict option given a boolean or a number, a list of dicts
  holding numbers, an integer of thousands of digits, a dict option given a string that is neither
  JSON nor key=value), and refused with option, value and rule;
* URI credentials and the secrets of given domain XML are masked in every result, also in a
  failure that ansible-core reports while it checks the arguments.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.validation import check_type_dict

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.uri import uri_secrets
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import MAX_DIGITS

# An integer option never needs more digits than this (libvirt reads numbers as 64-bit: engine/limits.py).
MAX_INT_DIGITS = MAX_DIGITS


def _digits(number):
    # len(str(n)) needs the int-to-str conversion that Python limits; bit_length does not
    return int(abs(number).bit_length() * 0.30103) + 1


def _shown(value):
    if isinstance(value, bool) or not isinstance(value, int):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    if _digits(value) > MAX_INT_DIGITS:
        return "an integer of about %d digits" % _digits(value)
    return repr(value)


DICT_RULE = "expected a dictionary (a YAML mapping, a JSON object or key=value pairs)"


def _bad_dict_text(value):
    """Whether ansible-core would refuse the string ``value`` for a dict option (its own message names no rule)."""
    try:
        check_type_dict(value)
    except (TypeError, ValueError):
        return True
    return False


def screen_arguments(spec, params, prefix=""):
    """The first argument ansible-core cannot check cleanly, as a message; None when all can be."""
    for name, value in (params or {}).items():
        where = prefix + str(name)
        if isinstance(value, int) and not isinstance(value, bool) and _digits(value) > MAX_INT_DIGITS:
            return "%s: %s is not valid: numbers have at most %d digits here" % (where, _shown(value), MAX_INT_DIGITS)
        option = spec.get(name) if isinstance(spec, dict) else None
        if not isinstance(option, dict) or value is None:
            if isinstance(value, (dict, list)):
                found = _screen_plain(value, where)
                if found:
                    return found
            continue
        kind, sub = option.get("type", "str"), option.get("options")
        if kind == "path" and isinstance(value, str) and "\x00" in value:
            return "%s: %s is not valid: a path cannot hold a NUL character" % (where, _shown(value))
        if kind == "int" and isinstance(value, str) and len(value.strip()) > MAX_INT_DIGITS + 1:
            return "%s: %s is not valid: numbers have at most %d digits here" % (where, _shown(value), MAX_INT_DIGITS)
        if kind == "dict":
            if not isinstance(value, (dict, str)):
                return "%s: %s is not valid: expected a dictionary" % (where, _shown(value))
            if isinstance(value, str) and _bad_dict_text(value):
                return "%s: %s is not valid: %s" % (where, _shown(value), DICT_RULE)
            if isinstance(value, dict):
                found = screen_arguments(sub, value, where + ".") if sub else _screen_plain(value, where)
                if found:
                    return found
        elif kind == "list":
            if isinstance(value, dict):
                return "%s: %s is not valid: expected a list" % (where, _shown(value))
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                item_where = "%s[%d]" % (where, index)
                if option.get("elements") == "dict":
                    if not isinstance(item, (dict, str)):
                        return "%s: %s is not valid: expected a dictionary" % (item_where, _shown(item))
                    if isinstance(item, str) and _bad_dict_text(item):
                        return "%s: %s is not valid: %s" % (item_where, _shown(item), DICT_RULE)
                    if isinstance(item, dict):
                        found = screen_arguments(sub, item, item_where + ".") if sub else _screen_plain(item, item_where)
                        if found:
                            return found
                elif option.get("elements") == "int" and isinstance(item, str) and len(item.strip()) > MAX_INT_DIGITS + 1:
                    return "%s: %s is not valid: numbers have at most %d digits here" % (
                        item_where, _shown(item), MAX_INT_DIGITS)
                else:
                    found = _screen_plain(item, item_where)
                    if found:
                        return found
        elif isinstance(value, (dict, list)):
            found = _screen_plain(value, where)
            if found:
                return found
    return None


def _screen_plain(value, where):
    """Huge integers anywhere inside a value whose shape the spec does not describe."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        if isinstance(value, int) and not isinstance(value, bool) and _digits(value) > MAX_INT_DIGITS:
            return "%s: %s is not valid: numbers have at most %d digits here" % (where, _shown(value), MAX_INT_DIGITS)
        return None
    for key, item in items:
        found = _screen_plain(item, "%s[%r]" % (where, key) if isinstance(key, int) else "%s.%s" % (where, key))
        if found:
            return found
    return None


def _without_huge_ints(value):
    """The value with every huge integer replaced by a short text (JSON output cannot show them)."""
    if isinstance(value, dict):
        return {key: _without_huge_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_huge_ints(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and _digits(value) > MAX_INT_DIGITS:
        return "<%s>" % _shown(value)
    return value


def raw_secrets(params):
    """Secrets in the raw arguments: URI credentials and the passwords of given domain XML."""
    found = set()
    uri = params.get("uri") if isinstance(params, dict) else None
    if isinstance(uri, str):
        found.update(uri_secrets(uri))
    xml = params.get("xml") if isinstance(params, dict) else None
    if isinstance(xml, str):
        # lxml only for a module given domain XML
        from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import domain_secrets
        found.update(domain_secrets(xml))
    return {secret for secret in found if secret}


class GuardedModule(AnsibleModule):
    """AnsibleModule, with the raw arguments screened and their secrets masked before ansible-core checks them."""

    def _load_params(self):
        super()._load_params()
        self.no_log_values.update(raw_secrets(self.params))
        problem = screen_arguments(self.argument_spec, self.params)
        if problem:
            self.params = _without_huge_ints(self.params)
            self.fail_json(msg=problem)
