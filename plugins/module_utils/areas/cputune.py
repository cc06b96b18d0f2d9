# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cputune area: <cputune> (pinning, CFS bandwidth, schedulers, cache and memory bandwidth)."""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import live_ops
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area, LiveOp, NotLive
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.rules import vcpu_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import (
    Attr, AttrSize, CpuSet, Enum, Group, Int, Items, Text,
)

# Ranges from libvirt's formatdomain documentation (CPU Tuning).
PERIOD = Int(1000, 1000000)
QUOTA = Int(1000, 17592186044415, special=(-1,),
            rule="must be -1 (no limit) or between 1000 and 17592186044415")
# src/conf/domain_validate.c virDomainDefCputuneValidate: 0 (libvirt keeps it) or VIR_CGROUP_CPU_SHARES_MIN..MAX
SHARES = Int(2, 262144, special=(0,), rule="must be 0 or between 2 and 262144 (libvirt's VIR_CGROUP_CPU_SHARES_MIN "
             "and _MAX)")
SCHEDULERS = ("batch", "idle", "fifo", "rr")
REALTIME = ("fifo", "rr")

# option -> key of virDomainSetSchedulerParametersFlags
SCHEDULER_PARAMS = {
    "shares": "cpu_shares",
    "period": "vcpu_period",
    "quota": "vcpu_quota",
    "global_period": "global_period",
    "global_quota": "global_quota",
    "emulator_period": "emulator_period",
    "emulator_quota": "emulator_quota",
    "iothread_period": "iothread_period",
    "iothread_quota": "iothread_quota",
}


def _sched_fields(ids_name):
    # libvirt takes any priority (0 included, as it writes it); the kernel's realtime range is 1-99
    fields = [Attr("scheduler", "scheduler", Enum(*SCHEDULERS)), Attr("priority", "priority", Int(0, 99))]
    if ids_name:
        fields.insert(0, Attr(ids_name, ids_name, CpuSet()))
    return fields


class PerIdSched(Items):
    """<vcpusched>/<iothreadsched>: libvirt keeps one scheduler per vCPU or iothread and writes one element
    per id (``vcpus='0-1'`` is defined, ``vcpus='0'`` and ``vcpus='1'`` are held). Canonical form: one item
    per id, so that a group and the elements libvirt split it into are the same; shown grouped again."""

    def __init__(self, name, path, ids_name):
        super().__init__(name, path, _sched_fields(ids_name), key=ids_name)
        self.ids_name = ids_name

    def _split(self, items, option=None):
        split, seen = [], {}
        for index, item in enumerate(items or []):
            try:
                ids = parse_cpuset(item[self.ids_name], "%s.%s" % (self.name, self.ids_name))
            except TuningError:
                if option is not None:
                    raise
                split.append(item)  # what libvirt holds but this collection cannot read: kept as it is
                continue
            if option is not None:
                overlap = {i for i in ids if i in seen}
                if overlap:
                    where = "%s[%s=%s]" % (option, self.ids_name, item[self.ids_name])
                    raise TuningError("%s.%s: %r overlaps another %s entry on %s %s (libvirt refuses overlaps)" % (
                        where, self.ids_name, item[self.ids_name], option, self.ids_name, format_cpuset(overlap)))
            for ident in sorted(ids):
                seen[ident] = index
                split.append(dict(item, **{self.ids_name: str(ident)}))
        return split

    def normalise(self, value, option):
        items = super().normalise(value, option)
        return None if items is None else self._split(items, option)

    def read(self, context):
        return self._split(super().read(context))

    def to_options(self, value):
        grouped = []
        for item in super().to_options(value):
            ident = item.get(self.ids_name)
            same = grouped and {k: v for k, v in grouped[-1][1].items() if k != self.ids_name} == \
                {k: v for k, v in item.items() if k != self.ids_name}
            if same and str(ident).isdigit() and int(ident) == grouped[-1][0][-1] + 1:
                grouped[-1][0].append(int(ident))
            else:
                grouped.append(([int(ident)] if str(ident).isdigit() else [ident], item))
        shown = []
        for ids, item in grouped:
            text = format_cpuset(ids) if all(isinstance(i, int) for i in ids) else ids[0]
            shown.append(dict(item, **{self.ids_name: text}))
        return shown


FIELDS = [
    Text("shares", "cputune/shares", SHARES),
    Text("period", "cputune/period", PERIOD),
    Text("quota", "cputune/quota", QUOTA),
    Text("global_period", "cputune/global_period", PERIOD),
    Text("global_quota", "cputune/global_quota", QUOTA),
    Text("emulator_period", "cputune/emulator_period", PERIOD),
    Text("emulator_quota", "cputune/emulator_quota", QUOTA),
    Text("iothread_period", "cputune/iothread_period", PERIOD),
    Text("iothread_quota", "cputune/iothread_quota", QUOTA),
    Items("vcpupin", "cputune/vcpupin",
          [Attr("vcpu", "vcpu", Int(0)), Attr("cpuset", "cpuset", CpuSet(), required=True)], key="vcpu"),
    Attr("emulatorpin", "cpuset", CpuSet(), path="cputune/emulatorpin"),
    Items("iothreadpin", "cputune/iothreadpin",
          [Attr("iothread", "iothread", Int(1)), Attr("cpuset", "cpuset", CpuSet(), required=True)], key="iothread"),
    PerIdSched("vcpusched", "cputune/vcpusched", "vcpus"),
    PerIdSched("iothreadsched", "cputune/iothreadsched", "iothreads"),
    Group("emulatorsched", "cputune/emulatorsched", _sched_fields(None)),
    Items("cachetune", "cputune/cachetune", [
        Attr("vcpus", "vcpus", CpuSet()),
        Items("caches", "cache", [
            Attr("id", "id", Int(0)),
            Attr("level", "level", Int(1)),
            Attr("type", "type", Enum("both", "code", "data")),
            AttrSize("size", required=True),
        ], key=("id", "level", "type")),
        Items("monitors", "monitor", [
            Attr("level", "level", Int(1)),
            Attr("vcpus", "vcpus", CpuSet()),
        ], key="vcpus"),
    ], key="vcpus"),
    Items("memorytune", "cputune/memorytune", [
        Attr("vcpus", "vcpus", CpuSet()),
        Items("nodes", "node", [
            Attr("id", "id", Int(0)),
            Attr("bandwidth", "bandwidth", Int(1, 100), required=True),
        ], key="id"),
    ], key="vcpus"),
]


def _check_sched(option, items, ids_name):
    seen = set()
    for item in items or []:
        where = "%s[%s=%s]" % (option, ids_name, item[ids_name])
        ids = parse_cpuset(item[ids_name], "%s.%s" % (where, ids_name))
        _check_priority(where, item)
        overlap = ids & seen
        if overlap:
            raise TuningError("%s.%s: %r overlaps another %s entry on %s %s (libvirt refuses overlaps)" % (
                where, ids_name, item[ids_name], option, ids_name, format_cpuset(overlap)))
        seen |= ids


def _check_priority(where, item):
    scheduler, priority = item.get("scheduler"), item.get("priority")
    if scheduler is None:
        raise TuningError("%s.scheduler: required: one of %s" % (where, ", ".join(SCHEDULERS)))
    if priority is not None and scheduler not in REALTIME:
        raise TuningError("%s.priority: %r is not valid: a priority needs scheduler fifo or rr, not %s"
                          % (where, priority, scheduler))
    if priority is None and scheduler in REALTIME:
        raise TuningError("%s.priority: required with scheduler %s (1-99)" % (where, scheduler))


def _check_vcpus_sets(option, items):
    seen = set()
    for item in items or []:
        where = "%s[vcpus=%s].vcpus" % (option, item["vcpus"])
        vcpus = parse_cpuset(item["vcpus"], where)
        if vcpus & seen:
            raise TuningError("%s: %r overlaps another %s entry on vCPUs %s (libvirt refuses overlaps)"
                              % (where, item["vcpus"], option, format_cpuset(vcpus & seen)))
        seen |= vcpus


def _zero_priorities(target):
    """Realtime schedulers with priority 0: libvirt keeps them, the kernel refuses them when the guest starts."""
    warnings = []
    for option, key in (("vcpusched", "vcpus"), ("iothreadsched", "iothreads")):
        for item in target[option] or []:
            if item.get("priority") == 0 and item.get("scheduler") in REALTIME:
                warnings.append("%s[%s=%s].priority: 0 with scheduler %s: the kernel takes realtime priorities 1-99 "
                                "and refuses this one when the guest starts" % (option, key, item[key],
                                                                                item["scheduler"]))
    sched = target["emulatorsched"] or {}
    if sched.get("priority") == 0 and sched.get("scheduler") in REALTIME:
        warnings.append("emulatorsched.priority: 0 with scheduler %s: the kernel takes realtime priorities 1-99 and "
                        "refuses this one when the guest starts" % sched["scheduler"])
    return warnings


def validate(target, ctx):
    """Pins against the host's CPUs, schedulers, overlaps (vCPU and iothread ids: engine/rules.py)."""
    for pin in target["vcpupin"] or []:
        ctx.check_host_cpus("vcpupin[vcpu=%d].cpuset" % pin["vcpu"], pin["cpuset"])
    ctx.check_host_cpus("emulatorpin", target["emulatorpin"])
    for pin in target["iothreadpin"] or []:
        where = "iothreadpin[iothread=%d]" % pin["iothread"]
        ctx.check_host_cpus(where + ".cpuset", pin["cpuset"])
    _check_sched("vcpusched", target["vcpusched"], "vcpus")
    _check_sched("iothreadsched", target["iothreadsched"], "iothreads")
    if target["emulatorsched"] is not None:
        _check_priority("emulatorsched", target["emulatorsched"])
    _check_vcpus_sets("cachetune", target["cachetune"])
    _check_vcpus_sets("memorytune", target["memorytune"])
    _check_tune_contents(target, ctx)
    return _zero_priorities(target)


def _monitors_in_xml(root, tag, vcpus):
    """Whether the <cputune><TAG vcpus=...> element of ``vcpus`` holds <monitor> children (kept as they are)."""
    for elem in root.findall("cputune/" + tag):
        try:
            same = parse_cpuset(elem.get("vcpus", ""), tag) == parse_cpuset(vcpus, tag)
        except TuningError:
            continue
        if same and elem.find("monitor") is not None:
            return True
    return False


MONITOR_LEVEL = 3  # VIR_DOMAIN_RESCTRL_MONITOR_CACHELEVEL


def _check_monitors(tune):
    """src/conf/domain_conf.c virDomainResctrlMonDefParse and virDomainResctrlValidateMonitor."""
    where = "cachetune[vcpus=%s].monitors" % tune["vcpus"]
    group = parse_cpuset(tune["vcpus"], "cachetune.vcpus")
    monitors = tune.get("monitors") or []
    sets = []
    for monitor in monitors:
        here = "%s[vcpus=%s]" % (where, monitor["vcpus"])
        if monitor.get("level") != MONITOR_LEVEL:
            raise TuningError("%s.level: %r is not valid: libvirt monitors the level %d cache only (set level %d)"
                              % (here, monitor.get("level"), MONITOR_LEVEL, MONITOR_LEVEL))
        vcpus = parse_cpuset(monitor["vcpus"], here + ".vcpus")
        if not vcpus <= group:
            raise TuningError("%s.vcpus: %r is not valid: a monitor's vCPUs are some of its cachetune's (%s); "
                              "vCPUs %s are not" % (here, monitor["vcpus"], tune["vcpus"],
                                                    format_cpuset(vcpus - group)))
        sets.append((monitor["vcpus"], vcpus))
    for index, (text, vcpus) in enumerate(sets):
        for other_text, other in sets[:index]:
            whole = vcpus == group or other == group
            if vcpus & other and (not whole or not tune.get("caches")):
                raise TuningError("%s[vcpus=%s].vcpus: %r overlaps the monitor of vCPUs %s: libvirt refuses "
                                  "overlapping monitors (vcpus overlaps in resctrl groups), except one of all the "
                                  "cachetune's vCPUs beside its caches" % (where, text, text, other_text))


def _check_tune_contents(target, ctx):
    """src/conf/schemas/domaincommon.rng: a cachetune holds caches or monitors, a memorytune nodes or monitors
    (libvirt drops an empty one, and writes a memorytune with monitors only as it is)."""
    for tune in target["cachetune"] or []:
        kept = _monitors_in_xml(ctx.root, "cachetune", tune["vcpus"])
        if not tune.get("caches") and not tune.get("monitors") and not kept:
            raise TuningError("cachetune[vcpus=%s].caches: required: at least one cache {id, level, type, size} or "
                              "one monitor (libvirt drops an empty cachetune)" % tune["vcpus"])
    for tune in target["cachetune"] or []:
        _check_monitors(tune)
    for tune in target["memorytune"] or []:
        if not tune.get("nodes") and not _monitors_in_xml(ctx.root, "memorytune", tune["vcpus"]):
            raise TuningError("memorytune[vcpus=%s].nodes: required: at least one {id, bandwidth}" % tune["vcpus"])


# --------------------------------------------------------------------------- live

def live_view(live_root, view):
    """The running guest as libvirt reports it, in the definition's terms: a pin to every host CPU (or
    to <vcpu cpuset>, where libvirt's unpinning goes) is no pin, and a quota or period of -1 is none."""
    live, defined, host_cpus = view.read_area(live_root), view.target, view.host_cpus
    unpinned = {cpus for cpus in (format_cpuset(host_cpus) if host_cpus else None, vcpu_cpuset(view.root)) if cpus}
    for option, key in (("vcpupin", "vcpu"), ("iothreadpin", "iothread")):
        wanted = {pin[key] for pin in defined[option] or []}
        live[option] = [pin for pin in live[option] or [] if pin[key] in wanted or pin["cpuset"] not in unpinned]
    if defined["emulatorpin"] is None and live["emulatorpin"] in unpinned:
        live["emulatorpin"] = None
    for option in SCHEDULER_PARAMS:
        if option.endswith(("quota", "period")) and live[option] == -1 and defined[option] is None:
            live[option] = None
    return live


def _pins(values, view, option, key, method, noun):
    before = {pin[key]: pin["cpuset"] for pin in values.live[option] or []}
    after = {pin[key]: pin["cpuset"] for pin in values.target[option] or []}
    ops = []
    for ident in sorted(set(before) | set(after)):
        if before.get(ident) == after.get(ident):
            continue
        cpuset = after.get(ident) or vcpu_cpuset(view.root)
        ops.append(LiveOp(method, (ident, cpuset), "pin %s %d to %s" % (noun, ident, cpuset or "all host CPUs")))
    return ops


def live_vcpupin(values, view):
    return _pins(values, view, "vcpupin", "vcpu", live_ops.PIN_VCPU, "vCPU")


def live_iothreadpin(values, view):
    return _pins(values, view, "iothreadpin", "iothread", live_ops.PIN_IOTHREAD, "iothread")


def live_emulatorpin(values, view):
    cpuset = values.target["emulatorpin"] or vcpu_cpuset(view.root)
    return [LiveOp(live_ops.PIN_EMULATOR, (cpuset,), "pin the emulator to %s" % (cpuset or "all host CPUs"))]


def _live_scheduler(option):
    param = SCHEDULER_PARAMS[option]

    def handler(values, view):
        target = values.target[option]
        if target is None:
            if option.endswith("quota"):
                target = -1  # libvirt's "no limit"
            else:
                raise NotLive("libvirt cannot return a running guest to the default %s" % option)
        return [LiveOp(live_ops.SET_SCHEDULER, ({param: target},), "set %s to %s" % (param, target))]
    return handler


LIVE = {"vcpupin": live_vcpupin, "emulatorpin": live_emulatorpin, "iothreadpin": live_iothreadpin}
LIVE.update({option: _live_scheduler(option) for option in SCHEDULER_PARAMS})

AREA = Area("cputune", FIELDS, diff_paths=["cputune"], validate=validate, live=LIVE, live_view=live_view,
            description="CPU tuning: <cputune>")
