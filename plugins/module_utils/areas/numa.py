# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The numa area: <numatune> (host memory placement) and <cpu><numa> (the guest's NUMA cells).

The rest of <cpu> (mode, model, topology, features) belongs to the cpu_model area; this area
creates <cpu> only to hold <numa>, and removes it only when nothing else is left in it.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.guest_memory import host_nodes
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import live_ops
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area, LiveOp, NotLive
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import (
    Attr, AttrSize, Bool, CpuSet, Enum, Group, Int, Items,
)

MODES = ("strict", "interleave", "preferred", "restrictive")
# modes in which libvirt moves a running guest's memory to another nodeset (virDomainSetNumaParameters)
LIVE_MODES = ("strict", "restrictive")
LOCAL_DISTANCE = 10


MEMNODES = Items("memnodes", "memnode", [
    Attr("cellid", "cellid", Int(0)),
    Attr("mode", "mode", Enum(*MODES), default="strict"),
    Attr("nodeset", "nodeset", CpuSet()),
], key="cellid")

FIELDS = [
    Group("numatune", "numatune", [
        Group("memory", "memory", [
            Attr("mode", "mode", Enum(*MODES), default="strict"),
            Attr("nodeset", "nodeset", CpuSet()),
            Attr("placement", "placement", Enum("static", "auto"), default="static"),
        ]),
        MEMNODES,
    ]),
    Items("cells", "cpu/numa/cell", [
        Attr("id", "id", Int(0)),
        Attr("cpus", "cpus", CpuSet()),
        AttrSize("memory", attr="memory", unit_attr="unit", default_unit="KiB"),
        Attr("memAccess", "memAccess", Enum("shared", "private"), aliases=["mem_access"]),
        Attr("discard", "discard", Bool()),
        Items("distances", "distances/sibling", [
            Attr("id", "id", Int(0)),
            Attr("value", "value", Int(10, 255), required=True),
        ], key="id"),
    ], key="id"),
]


def _ids(ids):
    return format_cpuset(ids) if ids else "none"


def _check_cells(cells, ctx):
    for index, cell in enumerate(cells):
        if cell["memory"] is None:
            raise TuningError("cells[%d].memory: required: the memory of guest cell %d" % (index, cell["id"]))
    # each vCPU in one cell, and the cells' memory with the DIMMs the guest's: engine/rules.py
    _check_distances(cells)


def _check_distances(cells):
    ids = [cell["id"] for cell in cells]
    table = {cell["id"]: {d["id"]: d["value"] for d in cell.get("distances") or []} for cell in cells}
    if not any(table.values()):
        return
    for index, cell in enumerate(cells):
        row = table[cell["id"]]
        where = "cells[%d].distances" % index
        unknown = set(row) - set(ids)
        if unknown:
            raise TuningError("%s: names cells %s, but the guest has cells %s"
                              % (where, format_cpuset(unknown), format_cpuset(ids)))
        absent = set(ids) - set(row)
        if absent:
            raise TuningError("%s: no distance to cells %s; give every cell's distance to every cell, itself "
                              "included (libvirt fills missing ones in)" % (where, format_cpuset(absent)))
        if row[cell["id"]] != LOCAL_DISTANCE:
            raise TuningError("%s: the distance of cell %d to itself is %d, but must be %d"
                              % (where, cell["id"], row[cell["id"]], LOCAL_DISTANCE))
    for index, cell in enumerate(cells):
        row = table[cell["id"]]
        for other in ids:
            if table[other][cell["id"]] != row[other]:
                raise TuningError("cells[%d].distances: the distance table is not symmetric: cell %d to cell %d "
                                  "is %d, cell %d to cell %d is %d"
                                  % (index, cell["id"], other, row[other], other, cell["id"], table[other][cell["id"]]))


def _check_host_nodes(option, nodeset, nodes):
    if nodeset is None or not nodes:
        return
    missing = parse_cpuset(nodeset, option) - nodes
    if missing:
        raise TuningError("%s: %r names host NUMA nodes %s that this host does not have (host nodes: %s)"
                          % (option, nodeset, format_cpuset(missing), format_cpuset(nodes)))


def validate(target, ctx):
    """Guest cells, memnodes against cells, nodesets against the host (cells against vCPUs and memory:
    engine/rules.py)."""
    cells = target["cells"] or []
    if cells:
        _check_cells(cells, ctx)
    tune = target["numatune"] or {}
    cell_ids = {cell["id"] for cell in cells}
    for index, memnode in enumerate(tune.get("memnodes") or []):
        if memnode["cellid"] not in cell_ids:
            have = ("cells %s" % format_cpuset(cell_ids)) if cell_ids else "no NUMA cells (set cells first)"
            raise TuningError("numatune.memnodes[%d].cellid: %d is not valid: the guest has %s"
                              % (index, memnode["cellid"], have))
        if memnode.get("nodeset") is None:
            raise TuningError("numatune.memnodes[%d].nodeset: required: the host nodes of guest cell %d"
                              % (index, memnode["cellid"]))
    memory = tune.get("memory") or {}
    if memory.get("placement") == "auto" and memory.get("nodeset") is not None:
        raise TuningError("numatune.memory.nodeset: %r is not valid: with placement auto, numad chooses the "
                          "nodeset; drop nodeset or use placement static" % memory["nodeset"])
    nodes = host_nodes(ctx.host("capabilities")) if ctx.connected else set()
    _check_host_nodes("numatune.memory.nodeset", memory.get("nodeset"), nodes)
    for index, memnode in enumerate(tune.get("memnodes") or []):
        _check_host_nodes("numatune.memnodes[%d].nodeset" % index, memnode.get("nodeset"), nodes)
    return []


# --------------------------------------------------------------------------- live

def live_numatune(values, view):
    """Only the nodeset of a running guest in strict or restrictive mode moves live."""
    live, target = values.live["numatune"] or {}, values.target["numatune"] or {}
    if MEMNODES.comparable(live.get("memnodes")) != MEMNODES.comparable(target.get("memnodes")):
        raise NotLive("memnodes of a running guest cannot change")
    before, after = live.get("memory") or {}, target.get("memory") or {}
    mode = after.get("mode") or "strict"
    if (before.get("mode") or "strict") != mode:
        raise NotLive("the mode of a running guest cannot change")
    if (before.get("placement") or "static") != (after.get("placement") or "static"):
        raise NotLive("the placement of a running guest cannot change")
    if before.get("nodeset") == after.get("nodeset"):
        return []
    if after.get("nodeset") is None:
        raise NotLive("libvirt cannot drop the nodeset of a running guest")
    if mode not in LIVE_MODES:
        raise NotLive("libvirt moves a running guest's memory only in strict or restrictive mode, not %s" % mode)
    return [LiveOp(live_ops.SET_NUMA_PARAMETERS, ({"numa_nodeset": after["nodeset"]},),
                   "set the NUMA nodeset to %s" % after["nodeset"])]


AREA = Area("numa", FIELDS, diff_paths=["numatune", "cpu/numa"], validate=validate,
            live={"numatune": live_numatune},
            description="NUMA: <numatune> and the guest cells of <cpu><numa>")
