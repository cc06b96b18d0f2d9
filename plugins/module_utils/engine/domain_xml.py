# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Safe parsing and careful editing of libvirt domain XML (lxml)."""

from __future__ import annotations

import copy
import re

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import (
    MAX_IOTHREADS, MAX_VCPUS, MAX_XML_CHARS, bounded_int,
)

try:
    from lxml import etree
    HAS_LXML = True
    LXML_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    etree = None
    HAS_LXML = False
    LXML_IMPORT_ERROR = exc

# The order in which libvirt writes elements. New elements go to their place in
# it, so that the XML we produce reads like libvirt's own.
CHILD_ORDER = {
    "domain": [
        "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
        "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
        "iothreadids", "defaultiothread", "cputune", "numatune", "resource", "sysinfo", "bootloader",
        "bootloader_args", "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot",
        "on_crash", "pm", "perf", "devices", "seclabel", "keywrap", "launchSecurity",
    ],
    "cputune": [
        "shares", "period", "quota", "global_period", "global_quota", "emulator_period",
        "emulator_quota", "iothread_period", "iothread_quota", "vcpupin", "emulatorpin",
        "iothreadpin", "vcpusched", "iothreadsched", "emulatorsched", "cachetune", "memorytune",
    ],
    "memtune": ["hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee"],
    "memoryBacking": ["hugepages", "nosharepages", "locked", "source", "access", "allocation", "discard"],
    "numatune": ["memory", "memnode"],
    "os": [
        "type", "firmware", "loader", "nvram", "kernel", "initrd", "cmdline", "dtb", "acpi",
        "boot", "bootmenu", "smbios", "bios",
    ],
    "cpu": ["model", "vendor", "topology", "cache", "maxphysaddr", "feature", "numa"],
    "devices": [
        "emulator", "disk", "controller", "lease", "filesystem", "interface", "smartcard", "serial",
        "parallel", "console", "channel", "input", "tpm", "graphics", "sound", "audio", "video",
        "hostdev", "redirdev", "redirfilter", "hub", "watchdog", "memballoon", "rng", "panic",
        "shmem", "memory", "iommu", "vsock",
    ],
}


# Namespaced elements (in <metadata>) are named in paths as {uri}tag. The prefix this collection writes for
# each namespace it creates elements in; lxml would write ns0: for others.
TUNING_NAMESPACE = "urn:virtuned.libvirt:tuning:1"
NAMESPACE_PREFIXES = {TUNING_NAMESPACE: "virtuned"}


def _parser():
    # No entity expansion, no DTD, no network: domain XML never needs them.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, remove_blank_text=False, huge_tree=False)


def parse_xml(text, what="xml"):
    """Parse XML text safely; bad XML is a TuningError naming ``what``."""
    if not HAS_LXML:
        raise TuningError("the python lxml library is required: %s" % LXML_IMPORT_ERROR)
    if not isinstance(text, (str, bytes)) or not text.strip():
        raise TuningError("%s: expected XML text, got %r" % (what, type(text).__name__ if not text else text[:40]))
    if len(text) > MAX_XML_CHARS:
        raise TuningError("%s: a document of %d characters is not valid: libvirt takes a domain XML of at most %d "
                          "bytes (its remote protocol's string limit, 4 MiB)" % (what, len(text), MAX_XML_CHARS))
    data = text.encode("utf-8") if isinstance(text, str) else text
    if len(data) > MAX_XML_CHARS:
        raise TuningError("%s: a document of %d bytes is not valid: libvirt takes a domain XML of at most %d "
                          "bytes (its remote protocol's string limit, 4 MiB)" % (what, len(data), MAX_XML_CHARS))
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise TuningError("%s: not well-formed XML: %s" % (what, exc))
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise TuningError("%s: entity references are not allowed in domain XML" % what)
    return root


def parse_domain(text, what="xml"):
    """Parse domain XML and check that its root element is <domain>."""
    root = parse_xml(text, what)
    if root.tag != "domain":
        raise TuningError("%s: expected a <domain> document, found <%s>" % (what, root.tag))
    _check_counts(root, what)
    return root


# Counts that planning expands into one item each: above these, no run stays small (engine/limits.py)
_COUNTS = (("iothreads", MAX_IOTHREADS, "iothreads"), ("vcpu", MAX_VCPUS, "vCPUs"))


def _check_counts(root, what):
    for tag, limit, noun in _COUNTS:
        elem = root.find(tag)
        text = (elem.text or "").strip() if elem is not None else ""
        if not text:
            continue
        if not (text.isascii() and text.isdigit()):
            continue  # not a count at all: the areas read it as text and compare it as such
        number = bounded_int(text)
        if number is None or number > limit:
            shown = text if len(text) <= 24 else "%s... (%d characters)" % (text[:20], len(text))
            raise TuningError("%s: <%s>%s</%s> is not valid: this collection reads at most %d %s (see its "
                              "documented limits)" % (what, tag, shown, tag, limit, noun))


def to_string(elem, pretty=False):
    """Serialise an element (unicode, no XML declaration)."""
    if pretty:
        elem = copy.deepcopy(elem)
        indent(elem)
    return etree.tostring(elem, encoding="unicode")


def to_document(root):
    """Serialise a whole domain, re-indented the way libvirt writes it."""
    root = copy.deepcopy(root)
    indent(root)
    return etree.tostring(root, encoding="unicode") + "\n"


def indent(elem, level=0, step="  "):
    """Re-indent a tree in place the way libvirt formats XML."""
    etree.indent(elem, space=step, level=level)


def insert_child(parent, child):
    """Insert ``child`` into ``parent`` at its place in libvirt's element order.

    Elements libvirt's order does not name go last; so do unknown parents' children.
    """
    order = CHILD_ORDER.get(parent.tag)
    if order and child.tag in order:
        rank = order.index(child.tag)
        for position, sibling in enumerate(parent):
            if not isinstance(sibling.tag, str):
                continue
            if sibling.tag in order and order.index(sibling.tag) > rank:
                _insert_at(parent, position, child)
                return child
    _insert_at(parent, len(parent), child)
    return child


def _insert_at(parent, position, child):
    # Whitespace is re-indented when the document is written (see to_document).
    parent.insert(position, child)


def find_path(context, path):
    """The element at a '/'-separated path under ``context`` (first match), or None."""
    node = context
    for step in _steps(path):
        node = node.find(step)
        if node is None:
            return None
    return node


def ensure_path(context, path):
    """The element at ``path`` under ``context``, creating missing steps in libvirt's order."""
    node = context
    for step in _steps(path):
        found = node.find(step)
        if found is None:
            found = insert_child(node, new_element(step))
        node = found
    return node


def new_element(tag):
    """A new element; a namespaced tag ({uri}tag) gets its namespace's prefix (NAMESPACE_PREFIXES)."""
    if tag.startswith("{"):
        uri = tag[1:].split("}", 1)[0]
        prefix = NAMESPACE_PREFIXES.get(uri)
        if prefix is not None:
            return etree.Element(tag, nsmap={prefix: uri})
    return etree.Element(tag)


def is_empty(elem):
    """True when an element has no attributes, no children and no text."""
    return not elem.attrib and len(elem) == 0 and not (elem.text or "").strip()


def remove_element(elem, stop=None):
    """Remove ``elem`` and then every ancestor left empty, up to (not including) ``stop``."""
    parent = elem.getparent()
    if parent is None:
        return
    _remove_keeping_tail(parent, elem)
    while parent is not None and parent is not stop and is_empty(parent) and parent.getparent() is not None:
        grand = parent.getparent()
        _remove_keeping_tail(grand, parent)
        parent = grand


def _remove_keeping_tail(parent, elem):
    parent.remove(elem)


# '/' inside a namespace URI ({http://example.org/ns}tag) does not separate steps
_STEP_SEPARATOR = re.compile(r"/(?![^{}]*\})")


def _steps(path):
    return [step for step in _STEP_SEPARATOR.split(path or "") if step and step != "."]


def split_last_step(path):
    """('container/path', 'tag') of a path, or (None, 'tag') for a single step."""
    steps = _steps(path)
    return ("/".join(steps[:-1]) or None), (steps[-1] if steps else "")


# Attributes that hold secrets in domain XML (graphics passwords, ...).
SECRET_ATTRIBUTES = ("passwd", "password")
_SECRET_ATTRIBUTE_TEXT = re.compile(r"""\b(passwd|password)\s*=\s*(["'])(.*?)\2""", re.DOTALL)


def domain_secrets(text):
    """Secret values in a domain XML document, to be masked in every output."""
    if not text:
        return []
    try:
        root = parse_xml(text)
    except TuningError:
        # not parsed (too long, not well-formed): its secrets must still be masked in the failure
        if not isinstance(text, str):
            return []
        return [found.group(3) for found in _SECRET_ATTRIBUTE_TEXT.finditer(text) if found.group(3)]
    found = []
    for elem in root.iter():
        if not isinstance(elem.tag, str):
            continue
        for attr in SECRET_ATTRIBUTES:
            value = elem.get(attr)
            if value:
                found.append(value)
    return found
