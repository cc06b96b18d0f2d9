# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The memory_backing area: <memoryBacking> (hugepages, locking, sharing, source and allocation)."""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.guest_memory import (
    guest_cells, host_page_sizes, memory_bytes,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import (
    Attr, AttrSize, CpuSet, Enum, Flag, Group, Int, Items,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import ensure_path, find_path, remove_element

SMALLEST_PAGE = 4096


class HugePages(Items):
    """<hugepages> with its <page> list. None: no hugepages; []: the host's default hugepage size."""

    empty_is_value = True

    def __init__(self, name, path, fields, **kwargs):
        super().__init__(name, path + "/page", fields, **kwargs)
        self.element = path

    def read(self, context):
        if find_path(context, self.element) is None:
            return None
        return super().read(context)

    def comparable(self, value):
        return None if value is None else super().comparable(value)

    def delete(self, current, given):
        if not given:
            return None
        gone = [super(HugePages, self).comparable([item]) for item in given]
        left = [item for item in (current or []) if super(HugePages, self).comparable([item]) not in gone]
        return left or None

    def is_empty_value(self, value):
        return value is None

    def write(self, context, value):
        elem = find_path(context, self.element)
        if value is None:
            if elem is not None:
                remove_element(elem, stop=context)
            return
        elem = elem if elem is not None else ensure_path(context, self.element)
        for page in elem.findall("page"):
            elem.remove(page)
        if not len(elem):
            elem.text = None  # <hugepages/>, not the indentation the pages left behind
        if value:
            super().write(context, value)

    def to_options(self, value):
        return None if value is None else super().to_options(value)


FIELDS = [
    HugePages("hugepages", "memoryBacking/hugepages", [
        AttrSize("size", default_unit="KiB", required=True),
        Attr("nodeset", "nodeset", CpuSet()),
    ]),
    Flag("nosharepages", "memoryBacking/nosharepages"),
    Flag("locked", "memoryBacking/locked"),
    Attr("source", "type", Enum("file", "anonymous", "memfd"), path="memoryBacking/source"),
    Attr("access", "mode", Enum("shared", "private"), path="memoryBacking/access"),
    Group("allocation", "memoryBacking/allocation", [
        Attr("mode", "mode", Enum("immediate", "ondemand")),
        Attr("threads", "threads", Int(1)),
    ]),
    Flag("discard", "memoryBacking/discard"),
]


def _page_for(pages, cell):
    """The page size (bytes) backing guest cell ``cell`` (None: the whole guest), and its item index."""
    fallback = None
    for index, page in enumerate(pages):
        if page.get("nodeset") is None:
            fallback = fallback or (index, page["size"])
        elif cell is not None and cell in parse_cpuset(page["nodeset"], "hugepages[%d].nodeset" % index):
            return index, page["size"]
    return fallback or (None, None)


def pages_needed(pages, root, check=False):
    """{page size in bytes: pages} that ``pages`` (the hugepages list) back the memory of ``root`` with.

    ``check``: refuse a guest cell (or the guest) whose memory is not a whole number of its pages.
    """
    needed = {}
    cells = guest_cells(root)
    parts = [(cell, "guest NUMA cell %d's memory" % cell, cells[cell]["memory"]) for cell in sorted(cells)] \
        if cells else [(None, "the guest's memory", memory_bytes(root))]
    for cell, what, amount in parts:
        index, size = _page_for(pages, cell)
        if size is None or amount is None:
            continue
        if amount % size:
            if not check:
                continue
            raise TuningError("hugepages[%d].size: %r is not valid: %s (%s) is not a multiple of it"
                              % (index, format_size(size), what, format_size(amount)))
        needed[size] = needed.get(size, 0) + amount // size
    return needed


def validate(target, ctx):
    """Page sizes, the guest's memory and cells, and (when connected) the host's pools."""
    warnings = []
    pages = target["hugepages"] or []
    cells = guest_cells(ctx.root)
    _check_page_nodesets(pages)
    _check_backing_with_hugepages(target)
    _check_source_against_host(target, ctx)
    host_sizes = host_page_sizes(ctx.host("capabilities")) if pages else set()
    for index, page in enumerate(pages):
        size = page["size"]
        if size < SMALLEST_PAGE or size & (size - 1):
            raise TuningError("hugepages[%d].size: %r is not valid: a page size is a power of two of at least 4 KiB"
                              % (index, format_size(size) if isinstance(size, int) else size))
        if host_sizes and size // 1024 not in host_sizes:
            raise TuningError("hugepages[%d].size: %r is not valid: this host has no pool of %s pages "
                              "(its page sizes: %s)" % (index, format_size(size), format_size(size),
                                                        ", ".join(format_size(s * 1024) for s in sorted(host_sizes))))
        if page.get("nodeset") is not None:
            named = parse_cpuset(page["nodeset"], "hugepages[%d].nodeset" % index)
            missing = named - set(cells)
            if missing:
                have = ("cells %s" % format_cpuset(cells)) if cells else "no NUMA cells (see the numa module)"
                raise TuningError("hugepages[%d].nodeset: %r names guest NUMA cells %s, but the guest has %s"
                                  % (index, page["nodeset"], format_cpuset(missing), have))
    # each part of the guest's memory must be a whole number of its pages
    needed = pages_needed(pages, ctx.root, check=True)
    # a running guest already holds the pages its live definition backs it with
    live_root = ctx.host("running_root") if needed else None
    held = pages_needed(AREA.read(live_root)["hugepages"] or [], live_root) if live_root is not None else {}
    for size in sorted(needed):
        free = ctx.host("free_pages", size // 1024)
        if not free:  # offline, or a driver that does not report free pages
            continue
        total = sum(free.values())
        if total + held.get(size, 0) < needed[size]:
            warnings.append("hugepages: the guest needs %d pages of %s but the host has %d free now (%s); it will "
                            "not start until more are reserved (vm.nr_hugepages or virtuned.libvirt.hugepage_pools)"
                            % (needed[size], format_size(size), total,
                               ", ".join("node %d: %d" % (node, free[node]) for node in sorted(free))))
    # locked memory against memtune's hard_limit: engine/rules.py
    return warnings


def _shown_size(size):
    return format_size(size) if isinstance(size, int) else repr(size)


def _check_page_nodesets(pages):
    """src/conf/domain_validate.c virDomainDefMemtuneValidate: one page size per guest cell, one default."""
    for index, page in enumerate(pages):
        for before in range(index):
            other = pages[before]
            if page.get("nodeset") is None and other.get("nodeset") is None:
                raise TuningError("hugepages[%d]: %s pages without nodeset are not valid beside hugepages[%d] (%s "
                                  "pages without nodeset): libvirt takes one default page size (two master "
                                  "hugepages); give the others a nodeset"
                                  % (index, _shown_size(page["size"]), before, _shown_size(other["size"])))
            if page.get("nodeset") is not None and other.get("nodeset") is not None:
                shared = parse_cpuset(page["nodeset"], "hugepages[%d].nodeset" % index) & parse_cpuset(
                    other["nodeset"], "hugepages[%d].nodeset" % before)
                if shared:
                    raise TuningError("hugepages[%d].nodeset: %r is not valid: guest cells %s already have %s pages "
                                      "(hugepages[%d]); libvirt refuses hugepage nodesets that intersect"
                                      % (index, page["nodeset"], format_cpuset(shared), _shown_size(other["size"]),
                                         before))


def _check_backing_with_hugepages(target):
    """src/qemu/qemu_validate.c qemuValidateDomainDefMemory: what hugepages exclude."""
    if target["hugepages"] is None:
        return
    if (target["allocation"] or {}).get("mode") == "ondemand":
        raise TuningError("allocation.mode: 'ondemand' is not valid with hugepages: libvirt allocates hugepages "
                          "immediately (use mode immediate, or no hugepages)")
    if target["source"] == "anonymous":
        raise TuningError("source: 'anonymous' is not valid with hugepages: hugepages are not allowed with anonymous "
                          "memory source (use file or memfd)")


def _check_source_against_host(target, ctx):
    """The memory source types the host's QEMU offers (domain capabilities <memoryBacking>)."""
    if target["source"] is None:
        return
    caps = ctx.host("domain_capabilities")
    if caps is None or caps.find("memoryBacking") is None:
        return
    offered = [(value.text or "").strip() for value in caps.findall("memoryBacking/enum[@name='sourceType']/value")]
    if offered and target["source"] not in offered:
        raise TuningError("source: %r is not valid on this host: its QEMU offers memory sources %s"
                          % (target["source"], ", ".join(offered)))


AREA = Area("memory_backing", FIELDS, diff_paths=["memoryBacking"], validate=validate,
            description="Memory backing: <memoryBacking>")
