# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What tuning_info reports: every area's settings, the running guest's values, and drift.

Each area's settings are exactly what its module's ``gathered`` returns (``AREA.to_options(AREA.read())``),
so that they can be fed back to the module with ``state: replaced``.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

from ansible_collections.virtuned.libvirt.plugins.module_utils import areas as areas_package
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.guest_memory import UNLIMITED_KIB
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area, AreaView, DomainContext
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.placements import profile_check, recorded_profile
from ansible_collections.virtuned.libvirt.plugins.module_utils.host import qemu_process
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.effective import effective_report

# libvirt's virDomainNumatuneMemMode numbers
NUMA_MODES = {0: "strict", 1: "preferred", 2: "interleave", 3: "restrictive"}
MEMORY_PARAMETERS = ("hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee")


def discover_areas():
    """Every tuning area: the registry's (static imports, shipped by AnsiballZ), then any other
    module of module_utils/areas that defines an ``AREA`` (found when the package is on disk)."""
    found = dict(AREAS)
    for info in pkgutil.iter_modules(areas_package.__path__):
        if info.name in found or info.name == "registry" or info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module("%s.%s" % (areas_package.__name__, info.name))
        except ImportError:
            continue
        area = getattr(module, "AREA", None)
        if isinstance(area, Area) and area.name not in found:
            found[area.name] = area
    return found


def gather(root, areas):
    """{area name: settings in the shape of the module's options} for a parsed domain."""
    return {name: area.to_options(area.read(root)) for name, area in areas.items()}


def drift(persistent_root, live_root, areas, ctx=None, live_migratable=None):
    """Where the running guest differs from its persistent definition, per area option.

    The running guest is read through each area's ``live_view``, as the modules' live planning
    reads it: what libvirt or QEMU expanded from the same request (firmware='efi' into a loader
    and NVRAM, the CPU model into its features) is not drift.
    """
    found = []
    for name, area in areas.items():
        stored = area.read(persistent_root)
        view = AreaView(persistent_root, stored, ctx=ctx, live_root=live_root, live_migratable=live_migratable,
                        area=area, target=stored)
        running = area.live_values(live_root, view)
        for option in area.differing(stored, running):
            field = area.by_name[option]
            found.append({"area": name, "option": option,
                          "persistent": field.to_options(stored.get(option)),
                          "live": field.to_options(running.get(option))})
    return found


def offline_report(xml, areas, what="xml", profiles=None):
    """The persistent part of the report, from a domain XML document."""
    root = parse_domain(xml, what)
    return {"name": root.findtext("name"), "uuid": root.findtext("uuid"), "areas": gather(root, areas),
            "profile": profile_report(root, profiles)}


def check_profiles(profiles):
    """Refuse bad user ``profiles`` (numa_plan's option, as tuning_info takes it) before any guest is read."""
    if profiles is None:
        return
    # imported here, as placements.profile_check does: the planner is not needed otherwise
    from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import PROFILE_FIELDS
    from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.profiles import ProfileLibrary
    ProfileLibrary(profiles, fields=PROFILE_FIELDS)


def profile_report(root, profiles=None):
    """The numa_plan profile versions the guest records and whether its settings still match them
    (placements.profile_check against the built-in and the user's ``profiles``), or None when it records
    none. A recorded profile that neither knows has ``matches`` None and the ``reason``."""
    try:
        return profile_check(root, profiles=profiles)
    except TuningError as exc:
        return {"profile": recorded_profile(root), "matches": None, "differences": [], "reason": str(exc)}


def _kib_size(kib):
    return "unlimited" if kib >= UNLIMITED_KIB else format_size(kib * 1024)


def runtime_report(edge, dom):
    """What libvirt reports for a running guest. Returns (runtime, unavailable {key: reason})."""
    runtime, unavailable = {}, {}

    def read(key, func):
        try:
            runtime[key] = func()
        except TuningError as exc:
            unavailable[key] = str(exc)

    read("vcpu_counts", lambda: edge.read_vcpu_counts(dom))
    read("vcpu_affinity", lambda: [{"vcpu": vcpu, "cpuset": format_cpuset(cpus)}
                                   for vcpu, cpus in edge.read_vcpu_affinity(dom)])
    read("emulator_affinity", lambda: format_cpuset(edge.read_emulator_affinity(dom)))
    read("iothread_affinity", lambda: [{"iothread": ident, "cpuset": format_cpuset(cpus)}
                                       for ident, cpus in edge.read_iothread_affinity(dom)])
    read("memory_parameters", lambda: {key: _kib_size(value)
                                       for key, value in edge.read_memory_parameters(dom).items()
                                       if key in MEMORY_PARAMETERS})
    read("numa_parameters", lambda: _numa(edge.read_numa_parameters(dom)))
    read("scheduler", lambda: _scheduler(*edge.read_scheduler(dom)))
    return runtime, unavailable


def _numa(params):
    return {"mode": NUMA_MODES.get(params.get("numa_mode"), params.get("numa_mode")),
            "nodeset": params.get("numa_nodeset") or None}


def _scheduler(kind, params):
    return {"type": kind, "parameters": params}


def guest_report(edge, dom, areas, profiles=None, effective=False):
    """Everything tuning_info says about one guest of a connection (with ``effective``, what the host
    kernel enforces for it too)."""
    persistent = edge.is_persistent(dom)
    running = edge.is_active(dom)
    persistent_root = parse_domain(edge.domain_xml(dom, inactive=persistent),
                                   "the %s XML of %s" % ("persistent" if persistent else "live", dom.name()))
    report = {"name": dom.name(), "uuid": dom.UUIDString(), "state": edge.read_state(dom),
              "running": running, "persistent": persistent, "areas": gather(persistent_root, areas),
              "runtime": {}, "drift": []}
    report["profile"] = profile_report(persistent_root, profiles)
    if running:
        live_root = parse_domain(edge.domain_xml(dom), "the live XML of %s" % dom.name())
        report["live_areas"] = gather(live_root, areas)
        if persistent:
            def live_migratable():
                return parse_domain(edge.live_xml_migratable(dom), "the migratable live XML of %s" % dom.name())
            report["drift"] = drift(persistent_root, live_root, areas, DomainContext(host_cpus=edge.host_cpus()),
                                    live_migratable=live_migratable)
        report["runtime"], unavailable = runtime_report(edge, dom)
        if unavailable:
            report["unavailable"] = unavailable
    if effective:
        add_effective(report, edge, dom, persistent_root)
    return report


def add_effective(report, edge, dom, definition_root, proc_root="/proc"):
    """Add ``effective`` (what the host kernel enforces for the running guest's QEMU process) and
    ``effective_drift`` (each mismatch with ``definition_root``) to a guest's report; a reason under
    ``unavailable.effective`` when the process cannot be read."""
    report["effective"], report["effective_drift"] = {}, []
    if not report.get("running"):
        return
    reason = None
    if edge.hypervisor() != "qemu":
        reason = "effective: true reads QEMU processes; this connection's hypervisor is %s" % edge.hypervisor()
    elif not edge.is_local():
        reason = "effective: true reads /proc on the hypervisor itself, which %s is not" % edge.shown_uri
    else:
        pid = qemu_process.find_qemu_pid(dom.name(), proc_root, _run_dirs(edge.uri))
        if pid is None:
            reason = "no QEMU process of %s found under %s" % (dom.name(), proc_root)
        else:
            try:
                process = qemu_process.read_qemu_process(pid, proc_root)
                report["effective"], report["effective_drift"] = effective_report(
                    definition_root, process, edge.host_cpus(), qemu_process.default_hugepage_kib(proc_root))
            except qemu_process.ProcReadError as exc:
                reason = str(exc)
    if reason:
        report.setdefault("unavailable", {})["effective"] = reason


def _run_dirs(uri):
    """Where libvirt's QEMU driver keeps its pid files for this URI."""
    if (uri or "").rstrip("/").endswith("/session"):
        runtime = os.environ.get("XDG_RUNTIME_DIR") or os.path.expanduser("~/.cache")
        return (os.path.join(runtime, "libvirt", "qemu", "run"),)
    return ("/run/libvirt/qemu",)
