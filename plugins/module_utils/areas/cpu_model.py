# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cpu_model area: <cpu> (mode, model, vendor, topology, features, cache, maxphysaddr).

The guest NUMA cells under <cpu><numa> belong to the numa area: no field here reaches
them, and <cpu> is removed only when nothing else is left in it. Nothing applies live.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import (
    Attr, Bool, Enum, Group, Int, Items, Str, Text,
)

MODES = ("host-passthrough", "host-model", "custom", "maximum")
POLICIES = ("force", "require", "optional", "disable", "forbid")
CLUSTERS_SINCE = (10, 1, 0)  # libvirt learnt <topology clusters=...> in 10.1.0

FIELDS = [
    Attr("mode", "mode", Enum(*MODES), path="cpu"),
    Attr("match", "match", Enum("minimum", "exact", "strict"), path="cpu"),
    Attr("check", "check", Enum("none", "partial", "full"), path="cpu"),
    Attr("migratable", "migratable", Bool("on", "off"), path="cpu"),
    Group("model", "cpu/model", [
        Text("name", None, Str()),
        Attr("fallback", "fallback", Enum("allow", "forbid")),
        Attr("vendor_id", "vendor_id", Str()),
    ]),
    Text("vendor", "cpu/vendor", Str()),
    Group("topology", "cpu/topology", [
        Attr("sockets", "sockets", Int(1)),
        Attr("dies", "dies", Int(1), default=1),
        Attr("clusters", "clusters", Int(1), default=1),
        Attr("cores", "cores", Int(1)),
        Attr("threads", "threads", Int(1)),
    ]),
    Items("features", "cpu/feature", [
        Attr("name", "name", Str()),
        Attr("policy", "policy", Enum(*POLICIES), default="require"),
    ], key="name"),
    Group("cache", "cpu/cache", [
        Attr("level", "level", Int(1, 3)),
        Attr("mode", "mode", Enum("emulate", "passthrough", "disable")),
    ]),
    Group("maxphysaddr", "cpu/maxphysaddr", [
        Attr("mode", "mode", Enum("emulate", "passthrough")),
        Attr("bits", "bits", Int(1, 64)),
    ]),
]


def _fill_defaults(values):
    """What libvirt fills in on define, so that it never shows as a change."""
    mode = values.get("mode")
    if mode is None and any(values.get(name) for name in ("model", "topology", "features", "vendor")):
        mode = values["mode"] = "custom"
    if mode == "custom":
        if values.get("match") is None:
            values["match"] = "exact"
        model = values.get("model")
        if model and model.get("name") is not None:
            if model.get("fallback") is None:
                values["model"] = dict(model, fallback="allow")
            if values.get("check") is None:
                values["check"] = "partial"
    elif mode == "host-model" and values.get("check") is None:
        values["check"] = "partial"
    elif mode in ("host-passthrough", "maximum"):
        if values.get("check") is None:
            values["check"] = "none"
        if values.get("migratable") is None:
            values["migratable"] = True
    return values


def fill_in(values, _root):
    return _fill_defaults(values)


def adjust_target(result, view):
    if view.state == "deleted" and view.desired.get("mode") is not None:
        # without a mode the rest of <cpu> means nothing: drop what depends on it
        result.update(match=None, check=None, migratable=None)
    return _fill_defaults(result)


def validate(target, ctx):
    """Mode, model and topology; model, mode and clusters against the host when connected (the topology
    against the vCPU maximum: engine/rules.py)."""
    mode = target["mode"]
    if target["migratable"] is not None and mode not in ("host-passthrough", "maximum"):
        raise TuningError("migratable: not valid with mode %s: only host-passthrough and maximum take it" % mode)
    if mode in ("host-passthrough", "maximum") and (target["model"] or {}).get("name"):
        raise TuningError("model.name: %r is not valid with mode %s: a named model needs mode custom or host-model"
                          % (target["model"]["name"], mode))
    topology = target["topology"]
    if topology:
        for name in ("sockets", "cores", "threads"):
            if topology.get(name) is None:
                raise TuningError("topology.%s: required: libvirt needs sockets, cores and threads" % name)
        if topology.get("clusters") not in (None, 1):
            _check_clusters(ctx)
    _check_host(target, ctx)
    return []


def _check_clusters(ctx):
    version = ctx.host("lib_version")
    if version is not None and tuple(version) < CLUSTERS_SINCE:
        raise TuningError("topology.clusters: not valid here: libvirt %s on this host does not know clusters "
                          "(needs libvirt %s or later); leave clusters out"
                          % (".".join(str(v) for v in version), ".".join(str(v) for v in CLUSTERS_SINCE)))


def _check_host(target, ctx):
    caps = ctx.host("domain_capabilities")
    if caps is None:
        return
    mode = target["mode"]
    if mode is not None:
        modes = {elem.get("name"): elem for elem in caps.findall("cpu/mode")}
        supported = sorted(name for name, elem in modes.items() if elem.get("supported") == "yes")
        if mode not in supported:
            raise TuningError("mode: %r is not valid on this host: its hypervisor supports %s"
                              % (mode, ", ".join(supported) or "no CPU mode"))
    name = (target["model"] or {}).get("name")
    if name is not None and mode == "custom":
        offered = sorted({(elem.text or "").strip() for elem in caps.findall("cpu/mode[@name='custom']/model")})
        if offered and name not in offered:
            raise TuningError("model.name: %r is not valid on this host: its hypervisor offers %s"
                              % (name, ", ".join(offered)))


# --------------------------------------------------------------------------- live

def live_view(live_root, view):
    """The CPU the guest was started with, not QEMU's expansion of it (the plain live XML lists every
    feature of the model and check='full' once QEMU has started). Nothing changes live."""
    started = view.live_migratable()
    return view.read_area(started if started is not None else live_root)


AREA = Area("cpu_model", FIELDS, diff_paths=["cpu"], diff_drop=["cpu/numa"], validate=validate,
            fill_in=fill_in, adjust_target=adjust_target, live_view=live_view,
            description="guest CPU: <cpu> except its NUMA cells")
