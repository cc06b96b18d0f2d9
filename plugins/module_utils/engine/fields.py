# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declarative language of tuning areas.

A tuning area is a list of fields. Each field maps one module option to one
place in the domain XML and knows how to read it, normalise what the user
gave, merge, compare and write it back. Every area module uses the same
fields, so that an area is mostly data (see areas/cputune.py).

Values inside the engine are *canonical*: ints, canonical cpuset strings,
sizes in bytes, dicts for groups, lists of dicts for items. ``to_options()``
turns them into what ``gathered`` returns (the shape of the module options).
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import check_int_size, check_xml_text, refuse
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import (
    format_size, note_bare_memory, parse_size, unit_factor,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import (
    ensure_path, find_path, insert_child, is_empty, new_element, remove_element, split_last_step,
)

UNLIMITED = "unlimited"
# libvirt's virDomainParseMemory: a memory size must stay below 2^53 KiB (LLONG_MAX bytes, rounded up to KiB)
MAX_MEMORY_BYTES = (2 ** 53 - 1) * 1024


def _check_memory_size(size, option, value):
    if size > MAX_MEMORY_BYTES:
        raise option_error(option, value, "it is above libvirt's limit for memory sizes (%d KiB, just under 8 EiB)"
                           % (MAX_MEMORY_BYTES // 1024))


# --------------------------------------------------------------------------- value types

class ValueType:
    """How one scalar is read from the user and from XML, and written to XML."""

    doc_type = "str"
    choices = None

    def parse(self, value, option):
        raise NotImplementedError

    def from_xml(self, text, option):
        return self.parse(text, option)

    def to_xml(self, value):
        return str(value)

    def to_options(self, value):
        return value


class Str(ValueType):
    def parse(self, value, option):
        if isinstance(value, (dict, list)) or isinstance(value, bool):
            raise option_error(option, value, "expected a string")
        if isinstance(value, int):
            check_int_size(value, option)
        text = str(value)
        check_xml_text(text, option)
        return text


class Int(ValueType):
    """An integer within [minimum, maximum]; ``special`` lists extra allowed values."""

    doc_type = "int"

    def __init__(self, minimum=None, maximum=None, special=(), rule=None):
        self.minimum, self.maximum, self.special, self.rule = minimum, maximum, tuple(special), rule

    def parse(self, value, option):
        if isinstance(value, bool) or not isinstance(value, (int, str, float)):
            raise refuse(option, value, "expected an integer")
        check_int_size(value, option)
        try:
            number = int(str(value).strip(), 10) if not isinstance(value, int) else value
        except ValueError:
            raise refuse(option, value, "expected an integer")
        if number in self.special:
            return number
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            raise refuse(option, value, self.rule or self._range_text())
        return number

    def _range_text(self):
        if self.maximum is None:
            return "must be at least %d" % self.minimum
        if self.minimum is None:
            return "must be at most %d" % self.maximum
        return "must be between %d and %d" % (self.minimum, self.maximum)


class Enum(ValueType):
    def __init__(self, *choices):
        self.choices = list(choices)

    def parse(self, value, option):
        if isinstance(value, int) and not isinstance(value, bool):
            check_int_size(value, option)
        text = str(value)
        if isinstance(value, bool) or text not in self.choices:
            raise option_error(option, value, "must be one of %s" % ", ".join(self.choices))
        return text


class Bool(ValueType):
    """A boolean written as yes/no (or on/off) in XML."""

    doc_type = "bool"
    _TRUE = ("yes", "on", "true", "1")
    _FALSE = ("no", "off", "false", "0")

    def __init__(self, true="yes", false="no"):
        self.true, self.false = true, false

    def parse(self, value, option):
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            check_int_size(value, option)
        text = str(value).strip().lower()
        if text in self._TRUE:
            return True
        if text in self._FALSE:
            return False
        raise option_error(option, value, "expected a boolean")

    def to_xml(self, value):
        return self.true if value else self.false


class CpuSet(ValueType):
    """A CPU or node set; canonical form is libvirt's shortest string ('0-3,8')."""

    doc_type = "raw"

    def parse(self, value, option):
        return format_cpuset(parse_cpuset(value, option))


class SetOf(ValueType):
    """A list of ``elements`` values, canonical as a sorted list without repeats."""

    doc_type = "list"

    def __init__(self, elements):
        self.elements = elements

    def parse(self, value, option):
        if not isinstance(value, list):
            raise option_error(option, value, "expected a list")
        return sorted({self.elements.parse(v, "%s[%d]" % (option, i)) for i, v in enumerate(value)})


def without_empty(fields, values, drop_false_defaults=False):
    """``fields``' values in the shape of the options, without the ones that say nothing.

    None is left out, and so are empty lists, except for fields whose ``empty_is_value`` is true
    (an empty list that means something, such as <hugepages/> with no page size). Areas also
    leave out flags that are False by default (``drop_false_defaults``).
    """
    out = {}
    for f in fields:
        shown = f.to_options(values.get(f.name))
        if shown is None or (drop_false_defaults and f.default is False and shown is False) or (
                isinstance(shown, list) and not shown and not getattr(f, "empty_is_value", False)):
            continue
        out[f.name] = shown
    return out


# --------------------------------------------------------------------------- fields

class Field:
    """One option of an area, mapped to a place in the XML.

    ``path`` is relative to the context element (the <domain> for top-level
    options, the item element inside Items, the group element inside Group).
    ``default`` is what libvirt assumes when the XML says nothing: both sides
    of a comparison are read with it, so it never causes a false change.
    """

    def __init__(self, name, path=None, default=None, aliases=(), required=False):
        self.name, self.path, self.default = name, path, default
        self.aliases, self.required = list(aliases), required

    # -- the module's argument spec
    def argspec(self):
        spec = {"type": self.doc_type()}
        if self.aliases:
            spec["aliases"] = list(self.aliases)
        if self.required:
            spec["required"] = True
        choices = self.choices()
        if choices:
            spec["choices"] = list(choices)
        return spec

    def doc_type(self):
        return "str"

    def choices(self):
        return None

    # -- values
    def normalise(self, value, option):
        """User value to canonical (None stays None: not given)."""
        raise NotImplementedError

    def read(self, context):
        raise NotImplementedError

    def write(self, context, value):
        raise NotImplementedError

    def comparable(self, value):
        """The form two values are compared in."""
        return self.default if value is None else value

    def merge(self, current, desired):
        return current if desired is None else desired

    def holds(self, held, wanted):
        """True when ``held`` (read back after a define) is what ``wanted`` asked for."""
        return self.comparable(held) == self.comparable(wanted)

    def delete(self, current, given):
        return None

    def to_options(self, value):
        return value

    def is_empty_value(self, value):
        return value is None


class _Scalar(Field):
    def __init__(self, name, path=None, vtype=None, **kwargs):
        super().__init__(name, path, **kwargs)
        self.vtype = vtype or Str()

    def doc_type(self):
        return self.vtype.doc_type

    def choices(self):
        return self.vtype.choices

    def normalise(self, value, option):
        if value is None:
            return None
        parsed = self.vtype.parse(value, option)
        if isinstance(self.vtype, Str) and not parsed.strip():
            return ""  # given, and empty: libvirt drops an empty value, so it means "absent"
        return parsed

    def comparable(self, value):
        return super().comparable(None if value == "" else value)

    def to_options(self, value):
        return None if value is None or value == "" else self.vtype.to_options(value)

    def _xml_value(self, text, context):
        try:
            return self.vtype.from_xml(text, "%s (in the XML)" % self.name)
        except TuningError:
            return text  # keep what libvirt holds; it then differs from any valid request


class Attr(_Scalar):
    """An attribute: of the context element (path None) or of the element at ``path``.

    ``write_default``: when the value is None, write ``default`` (libvirt's schema requires the
    attribute, and libvirt always writes it: a memnode's mode, a CPU feature's policy).
    """

    def __init__(self, name, attr, vtype=None, path=None, write_default=False, **kwargs):
        super().__init__(name, path, vtype, **kwargs)
        self.attr, self.write_default = attr, write_default

    def read(self, context):
        elem = context if self.path is None else find_path(context, self.path)
        if elem is None or elem.get(self.attr) is None:
            return None
        return self._xml_value(elem.get(self.attr), context)

    def write(self, context, value):
        if value == "":
            value = None
        if value is None and self.write_default and self.default is not None:
            value = self.default
        if value is None:
            elem = context if self.path is None else find_path(context, self.path)
            if elem is not None and self.attr in elem.attrib:
                del elem.attrib[self.attr]
                if elem is not context and is_empty(elem):
                    remove_element(elem, stop=context)
            return
        elem = context if self.path is None else ensure_path(context, self.path)
        elem.set(self.attr, self.vtype.to_xml(value))


class Text(_Scalar):
    """The text of the element at ``path`` (compared without surrounding white space, as it is read)."""

    def normalise(self, value, option):
        parsed = super().normalise(value, option)
        return parsed.strip() if isinstance(parsed, str) else parsed

    def read(self, context):
        elem = find_path(context, self.path)
        if elem is None or elem.text is None or not elem.text.strip():
            return None
        return self._xml_value(elem.text.strip(), context)

    def write(self, context, value):
        if value == "":
            value = None
        if value is None:
            elem = find_path(context, self.path)
            if elem is not None:
                elem.text = None
                if is_empty(elem):
                    remove_element(elem, stop=context)
            return
        ensure_path(context, self.path).text = self.vtype.to_xml(value)


class Size(Field):
    """A size: element text plus a ``unit`` attribute. Canonical value: bytes.

    ``default_unit`` is the unit of bare numbers (libvirt: KiB for memory).
    With ``unlimited=True`` the value 'unlimited' is accepted and means the
    element is absent (libvirt's own representation of no limit).
    """

    def __init__(self, name, path, default_unit="KiB", unlimited=False, minimum=0, **kwargs):
        super().__init__(name, path, **kwargs)
        self.default_unit, self.unlimited, self.minimum = default_unit, unlimited, minimum

    def doc_type(self):
        return "raw"

    def normalise(self, value, option):
        if value is None:
            return None
        if self.unlimited and isinstance(value, str) and value.strip().lower() == UNLIMITED:
            return UNLIMITED
        size = parse_size(value, option, self.default_unit)
        if self.default_unit == "KiB":  # memory, as libvirt's bare numbers
            note_bare_memory(value, option, size)
        if size < self.minimum:
            raise option_error(option, value, "must be at least %s" % format_size(self.minimum))
        _check_memory_size(size, option, value)
        if self.unlimited and size == MAX_MEMORY_BYTES:
            return UNLIMITED  # libvirt's own value for no limit (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED KiB)
        return size

    def read(self, context):
        elem = find_path(context, self.path)
        if elem is None or not (elem.text or "").strip():
            return None
        try:
            size = int(elem.text.strip()) * unit_factor(elem.get("unit", self.default_unit))
        except (ValueError, TuningError):
            return elem.text.strip()
        # libvirt writes 'no limit' as VIR_DOMAIN_MEMORY_PARAM_UNLIMITED KiB
        if self.unlimited and size >= 9007199254740991 * 1024:
            return UNLIMITED
        return size

    def comparable(self, value):
        if value == UNLIMITED:
            return None
        return super().comparable(value)

    def write(self, context, value):
        if value is None or value == UNLIMITED:
            elem = find_path(context, self.path)
            if elem is not None:
                remove_element(elem, stop=context)
            return
        elem = ensure_path(context, self.path)
        if value % 1024 == 0:
            elem.text, unit = str(value // 1024), "KiB"
        else:
            elem.text, unit = str(value), "b"
        elem.set("unit", unit)

    def to_options(self, value):
        if value is None or value == UNLIMITED or isinstance(value, str):
            return value
        return format_size(value)


class Flag(Field):
    """The presence of an empty element (<locked/>): True or False."""

    def __init__(self, name, path, **kwargs):
        super().__init__(name, path, default=False, **kwargs)

    def doc_type(self):
        return "bool"

    def normalise(self, value, option):
        return None if value is None else Bool().parse(value, option)

    def read(self, context):
        return find_path(context, self.path) is not None

    def write(self, context, value):
        elem = find_path(context, self.path)
        if value:
            if elem is None:
                ensure_path(context, self.path)
        elif elem is not None:
            remove_element(elem, stop=context)


class Group(Field):
    """An element with fields of its own, as a dict option (``path`` None: the context itself)."""

    def __init__(self, name, path, fields, **kwargs):
        super().__init__(name, path, **kwargs)
        self.fields = list(fields)

    def doc_type(self):
        return "dict"

    def argspec(self):
        spec = super().argspec()
        spec["options"] = {f.name: f.argspec() for f in self.fields}
        return spec

    def _elem(self, context):
        return context if self.path is None else find_path(context, self.path)

    def normalise(self, value, option):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise option_error(option, value, "expected a dictionary")
        known = {f.name for f in self.fields}
        aliases = {a: f.name for f in self.fields for a in f.aliases}
        result = {}
        for key, sub in value.items():
            if key not in known and key not in aliases:
                raise option_error(option, value, "unknown key %r; expected %s" % (key, ", ".join(sorted(known))))
        for f in self.fields:
            raw = value.get(f.name)
            if raw is None:
                raw = next((value[a] for a in f.aliases if value.get(a) is not None), None)
            result[f.name] = f.normalise(raw, "%s.%s" % (option, f.name))
        return result

    def read(self, context):
        elem = self._elem(context)
        if elem is None:
            return None
        return {f.name: f.read(elem) for f in self.fields}

    def is_empty_value(self, value):
        return value is None or self.is_blank(value)

    def is_blank(self, value):
        """A dict that sets nothing ({} given, or every key None): libvirt drops such an element, so it
        compares, writes and shows as no element (and still counts as given, for state deleted)."""
        return value is not None and self.path is not None and all(
            f.is_empty_value(value.get(f.name)) for f in self.fields)

    def write(self, context, value):
        if self.is_blank(value):
            value = None
        if value is None:
            elem = self._elem(context)
            if elem is not None and elem is not context:
                remove_element(elem, stop=context)
            elif elem is not None:
                for f in self.fields:
                    f.write(elem, None)
            return
        elem = context if self.path is None else ensure_path(context, self.path)
        for f in self.fields:
            f.write(elem, value.get(f.name))

    def comparable(self, value):
        if value is None or self.is_blank(value):
            return None
        return tuple((f.name, f.comparable(value.get(f.name))) for f in self.fields)

    def merge(self, current, desired):
        if desired is None:
            return current
        if current is None:
            return desired
        return {f.name: f.merge(current.get(f.name), desired.get(f.name)) for f in self.fields}

    def to_options(self, value):
        if value is None or self.is_blank(value):
            return None
        return without_empty(self.fields, value)


class Items(Field):
    """Repeated elements (``path`` ends with their tag), matched by identity key.

    ``key`` names the field(s) that identify an item (vcpupin by 'vcpu'), so
    items are matched by identity, never by position. ``ordered`` lists
    compare in order (boot order); the others compare as sets.
    """

    def __init__(self, name, path, fields, key=None, ordered=False, **kwargs):
        super().__init__(name, path, **kwargs)
        self.fields = list(fields)
        self.key = (key,) if isinstance(key, str) else tuple(key or ())
        self.ordered = ordered or not self.key
        self.container, self.tag = split_last_step(path)
        self._by_name = {f.name: f for f in self.fields}

    def doc_type(self):
        return "list"

    def argspec(self):
        spec = super().argspec()
        spec["elements"] = "dict"
        spec["options"] = {}
        for f in self.fields:
            sub = f.argspec()
            if f.name in self.key:
                sub["required"] = True
            spec["options"][f.name] = sub
        return spec

    def key_of(self, item):
        return tuple(self._by_name[k].comparable(item.get(k)) for k in self.key)

    def _key_text(self, item):
        return ", ".join("%s %s" % (k, item.get(k)) for k in self.key)

    def normalise(self, value, option):
        if value is None:
            return None
        if not isinstance(value, list):
            raise option_error(option, value, "expected a list")
        group = Group(self.name, None, self.fields)
        items, seen = [], {}
        for index, raw in enumerate(value):
            where = "%s[%d]" % (option, index)
            if not isinstance(raw, dict):
                raise option_error(where, raw, "expected a dictionary")
            item = group.normalise(raw, where)
            for k in self.key:
                if item.get(k) is None or item.get(k) == "":  # an empty text is no identity
                    raise option_error(where, raw, "'%s' is required (it identifies the item)" % k)
            if self.key:
                ident = self.key_of(item)
                if ident in seen:
                    if len(self.key) == 1:
                        raise option_error("%s[%d].%s" % (option, index, self.key[0]), raw.get(self.key[0]),
                                           "%s appears twice (items %d and %d)"
                                           % (self._key_text(item), seen[ident], index))
                    raise option_error(where, raw, "%s appears twice (items %d and %d)"
                                       % (self._key_text(item), seen[ident], index))
                seen[ident] = index
            items.append(item)
        return items

    def _container(self, context):
        return context if self.container is None else find_path(context, self.container)

    def read(self, context):
        parent = self._container(context)
        if parent is None:
            return []
        return [{f.name: f.read(elem) for f in self.fields} for elem in parent.findall(self.tag)]

    def comparable(self, value):
        items = [tuple((f.name, f.comparable(item.get(f.name))) for f in self.fields) for item in (value or [])]
        if self.ordered:
            return tuple(items)
        return tuple(sorted(items, key=repr))

    def merge(self, current, desired):
        if desired is None:
            return current
        if not self.key:
            return desired
        result = [dict(item) for item in (current or [])]
        index = {self.key_of(item): pos for pos, item in enumerate(result)}
        for item in desired:
            ident = self.key_of(item)
            if ident in index:
                old = result[index[ident]]
                result[index[ident]] = {f.name: f.merge(old.get(f.name), item.get(f.name)) for f in self.fields}
            else:
                index[ident] = len(result)
                result.append(item)
        return result

    def delete(self, current, given):
        if not self.key:
            return [] if given else current
        gone = {self.key_of(item) for item in given}
        return [item for item in (current or []) if self.key_of(item) not in gone]

    def is_empty_value(self, value):
        return not value

    def write(self, context, value):
        value = value or []
        parent = self._container(context)
        if parent is None and not value:
            return
        if parent is None:
            parent = ensure_path(context, self.container) if self.container else context
        existing = parent.findall(self.tag)
        if self.key:
            by_key = {}
            for elem in existing:
                by_key.setdefault(self.key_of({f.name: f.read(elem) for f in self.fields}), elem)
        else:
            by_key = {}
        last = None
        keep = set()
        for item in value:
            elem = by_key.get(self.key_of(item)) if self.key else None
            if elem is None:
                elem = new_element(self.tag)
                if last is not None:
                    last.addnext(elem)
                elif existing and existing[0] not in keep and self.key:
                    existing[0].addprevious(elem)
                else:
                    insert_child(parent, elem)
            elif self.ordered and last is not None and last.getnext() is not elem:
                last.addnext(elem)
            for f in self.fields:
                f.write(elem, item.get(f.name))
            keep.add(elem)
            last = elem
        for elem in existing:
            if elem not in keep:
                parent.remove(elem)
        if parent is not context and is_empty(parent):
            remove_element(parent, stop=context)

    def to_options(self, value):
        group = Group(self.name, None, self.fields)
        return [group.to_options(item) for item in (value or [])]


class ScalarList(Field):
    """An ordered list of one attribute of repeated elements (<boot dev='hd'/>)."""

    def __init__(self, name, path, attr, vtype=None, **kwargs):
        super().__init__(name, path, **kwargs)
        self.attr, self.vtype = attr, vtype or Str()
        self._items = Items(name, path, [Attr("value", attr, self.vtype)])

    def doc_type(self):
        return "list"

    def argspec(self):
        spec = super().argspec()
        spec["elements"] = self.vtype.doc_type if self.vtype.doc_type != "raw" else "raw"
        if self.vtype.choices:
            spec["choices"] = list(self.vtype.choices)
        return spec

    def choices(self):
        return None

    def normalise(self, value, option):
        if value is None:
            return None
        if not isinstance(value, list):
            raise option_error(option, value, "expected a list")
        return [self.vtype.parse(v, "%s[%d]" % (option, i)) for i, v in enumerate(value)]

    def read(self, context):
        return [item["value"] for item in self._items.read(context)]

    def write(self, context, value):
        self._items.write(context, [{"value": v} for v in (value or [])])

    def comparable(self, value):
        return tuple(value or ())

    def delete(self, current, given):
        return [v for v in (current or []) if v not in given] if given else current

    def is_empty_value(self, value):
        return not value


class AttrSize(Field):
    """A size held in two attributes of one element (``size='3' unit='MiB'``). Canonical: bytes."""

    def __init__(self, name, attr="size", unit_attr="unit", default_unit="b", path=None, **kwargs):
        super().__init__(name, path, **kwargs)
        self.attr, self.unit_attr, self.default_unit = attr, unit_attr, default_unit

    def doc_type(self):
        return "raw"

    def normalise(self, value, option):
        if value is None:
            return None
        size = parse_size(value, option, self.default_unit)
        if self.attr == "memory" and self.default_unit == "KiB":  # a guest cell's memory (not a page size)
            note_bare_memory(value, option, size)
        _check_memory_size(size, option, value)
        return size

    def read(self, context):
        elem = context if self.path is None else find_path(context, self.path)
        if elem is None or elem.get(self.attr) is None:
            return None
        try:
            return int(elem.get(self.attr)) * unit_factor(elem.get(self.unit_attr, self.default_unit))
        except (ValueError, TuningError):
            return elem.get(self.attr)

    def write(self, context, value):
        elem = context if self.path is None else find_path(context, self.path)
        if value is None:
            if elem is not None:
                elem.attrib.pop(self.attr, None)
                elem.attrib.pop(self.unit_attr, None)
                if elem is not context and is_empty(elem):
                    remove_element(elem, stop=context)
            return
        if elem is None:
            elem = ensure_path(context, self.path)
        if value % 1024 == 0:
            elem.set(self.attr, str(value // 1024))
            elem.set(self.unit_attr, "KiB")
        else:
            elem.set(self.attr, str(value))
            elem.set(self.unit_attr, "b")

    def to_options(self, value):
        if value is None or isinstance(value, str):
            return value
        return format_size(value)


class Request(Field):
    """An option that steers the change but is not stored in the XML (reads as None, never differs).

    ``vtype`` is a value type, or ``SetOf(value type)`` for a list option.
    """

    def __init__(self, name, vtype, **kwargs):
        super().__init__(name, None, **kwargs)
        self.vtype = vtype

    def doc_type(self):
        return self.vtype.doc_type

    def argspec(self):
        spec = super().argspec()
        if isinstance(self.vtype, SetOf):
            spec["elements"] = self.vtype.elements.doc_type
        return spec

    def normalise(self, value, option):
        return None if value is None else self.vtype.parse(value, option)

    def read(self, context):
        return None

    def write(self, context, value):
        return None

    def comparable(self, value):
        return None

    def merge(self, current, desired):
        return desired

    def to_options(self, value):
        return None  # asked for, never held: before and after show only what the XML holds
