"""Model-based test on running KVM guests (issue 9, item 8).

A hypothesis RuleBasedStateMachine over two RUNNING guests on qemu:///system (vt-it-sm-a/-b: pc
machine, kvm64 with check=none, no disk, 4 max / 2 current vCPUs, one NUMA cell, maxMemory 4 slots,
ACPI; the second lists its vCPUs in <vcpus>). Each step picks a guest, an area, a state and
options (mostly valid for this host, some not) and runs the module in check mode, for real, and
for real again. It asserts:

- check mode and the real run agree on ``changed`` and on refusal;
- no failure after a successful check, except one libvirt alone can know, and that one told
  truthfully (``failed``, ``changed: true``, the message saying what was written);
- the rerun reports ``changed: false``;
- ``gathered`` equals the model (the test's own model of merged/replaced/deleted);
- live values (read from the live XML the way libvirt reports them: a pin to every host CPU is no
  pin, quota -1 is no quota, vcpusched per vCPU) equal the model, or ``pending_restart`` (exactly
  ``area.option``) or ``live_pending`` names the option.
A rare step restarts a guest; every live value must then equal the model.

Failures are collected, not raised, so that one run finds them all; each kind is written with the
step sequence that led to it (from fresh guests) and, when the last step alone reproduces it on
fresh guests, with that one step. VIRTUNED_SM_STEPS sets the number of steps (default 300;
`make soak` runs 3,000); VIRTUNED_FINDINGS a directory for state_machine.md.
"""

import concurrent.futures
import contextlib
import json
import os
import re
import time
import zlib

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from lxml import etree

from conftest import run_module
from integration.conftest import QEMU_URI, cleanup, guest_xml, libvirt

# another checkout's run on the same host can take other names (VIRTUNED_SM_PREFIX; the uuids follow them)
PREFIX = os.environ.get("VIRTUNED_SM_PREFIX", "vt-it-sm")
GUESTS = [PREFIX + "-a", PREFIX + "-b"]
UUIDS = {name: "6b1c9a52-2f0e-4d1e-9a55-%012x" % (zlib.crc32(name.encode()) & 0xFFFFFFFFFFFF) for name in GUESTS}
STEPS = int(os.environ.get("VIRTUNED_SM_STEPS", "300"))
STEPS_PER_RUN = 12  # rules per run; a tune rule runs 1 to 8 steps
FRESH_EVERY = 40  # steps on the same two guests before fresh ones
CARRY = {}
MINIMISE = 20  # kinds of failure replayed alone on fresh guests (a few seconds each)
HOST_CPUS = None  # filled from the connection


def base_xml(name):
    xml = guest_xml(name, vcpus=4, current=2, extra="\n  <maxMemory slots='4' unit='GiB'>1</maxMemory>")
    xml = xml.replace("<name>%s</name>" % name, "<name>%s</name>\n  <uuid>%s</uuid>" % (name, UUIDS[name]))
    cpu = "<model fallback='forbid'>kvm64</model>\n  </cpu>"
    assert cpu in xml
    xml = xml.replace(cpu, "<model fallback='forbid'>kvm64</model>\n"
                           "    <numa><cell id='0' cpus='0-3' memory='128' unit='MiB'/></numa>\n  </cpu>")
    if name == GUESTS[1]:
        # the second guest lists its vCPUs (<vcpus>), as libvirt writes after a setvcpu
        vcpu = "<vcpu placement='static' current='2'>4</vcpu>"
        assert vcpu in xml
        xml = xml.replace(vcpu, vcpu + "\n  <vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/>"
                                       "<vcpu id='1' enabled='yes' hotpluggable='yes'/>"
                                       "<vcpu id='2' enabled='no' hotpluggable='yes'/>"
                                       "<vcpu id='3' enabled='no' hotpluggable='yes'/></vcpus>")
    return xml


# --------------------------------------------------------------------------- canonical values

_UNITS = {"": 1024, "b": 1, "k": 1024, "kib": 1024, "m": 1024 ** 2, "mib": 1024 ** 2, "g": 1024 ** 3,
          "gib": 1024 ** 3, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "bytes": 1}


def size_bytes(value, unit=""):
    """'512 MiB', '1G', 1024 (KiB) -> bytes; 'unlimited' / None -> None."""
    if value is None or value == "unlimited":
        return None
    if isinstance(value, int):
        return value * _UNITS[unit.lower()]
    match = re.match(r"^\s*(\d+)\s*([A-Za-z]*)\s*$", str(value))
    assert match, "a size: %r" % value
    return int(match.group(1)) * _UNITS[(match.group(2) or unit).lower()]


def cpus(text):
    """'0-1,^1' -> frozenset({0})."""
    if text is None:
        return None
    chosen, removed = set(), set()
    for part in str(text).split(","):
        part = part.strip()
        target = removed if part.startswith("^") else chosen
        part = part.lstrip("^")
        if "-" in part:
            low, high = part.split("-")
            target.update(range(int(low), int(high) + 1))
        elif part:
            target.add(int(part))
    return frozenset(chosen - removed)


UNLIMITED_KIB = 9007199254740991


def _limit(elem):
    if elem is None:
        return None
    kib = int(elem.text) * _UNITS[elem.get("unit", "KiB").lower()] // 1024
    return None if kib >= UNLIMITED_KIB else kib * 1024


def read_live(xml):
    """The values the model holds, from a live (or persistent) XML, the way libvirt reports them."""
    root = etree.fromstring(xml.encode())
    values = {}
    shares = root.findtext("cputune/shares")
    values[("cputune", "shares")] = int(shares) if shares is not None else None
    for name in ("period", "quota"):
        text = root.findtext("cputune/%s" % name)
        number = int(text) if text is not None else None
        values[("cputune", name)] = None if number in (None, -1, 0) else number
    pins = {}
    for pin in root.findall("cputune/vcpupin"):
        pins[int(pin.get("vcpu"))] = cpus(pin.get("cpuset"))
    values[("cputune", "vcpupin")] = pins
    emulator = root.find("cputune/emulatorpin")
    values[("cputune", "emulatorpin")] = cpus(emulator.get("cpuset")) if emulator is not None else None
    sched = {}
    for entry in root.findall("cputune/vcpusched"):
        for vcpu in cpus(entry.get("vcpus")):
            sched[vcpu] = entry.get("scheduler")
    values[("cputune", "vcpusched")] = sched
    vcpu = root.find("vcpu")
    values[("vcpus", "current")] = int(vcpu.get("current", vcpu.text))
    values[("iothreads", "count")] = int(root.findtext("iothreads") or 0)
    values[("memtune", "soft_limit")] = _limit(root.find("memtune/soft_limit"))
    values[("memtune", "swap_hard_limit")] = _limit(root.find("memtune/swap_hard_limit"))
    memory = root.find("numatune/memory")
    values[("numa", "numatune")] = None if memory is None else (memory.get("mode", "strict"),
                                                                cpus(memory.get("nodeset")))
    dimms = []
    for dev in root.findall("devices/memory[@model='dimm']"):
        size = dev.find("target/size")
        dimms.append((int(size.text) * _UNITS[size.get("unit", "KiB").lower()], int(dev.findtext("target/node") or 0)))
    values[("memory_devices", "dimms")] = tuple(sorted(dimms))
    values[("memory_backing", "nosharepages")] = root.find("memoryBacking/nosharepages") is not None
    values[("boot_firmware", "boot_order")] = tuple(b.get("dev") for b in root.findall("os/boot")) or ("hd",)
    menu = root.find("os/bootmenu")
    values[("boot_firmware", "bootmenu")] = None if menu is None else (
        menu.get("enable") == "yes", int(menu.get("timeout")) if menu.get("timeout") else None)
    return values


def live_equal(key, live, model):
    """Equal as libvirt reports live values: a pin to every host CPU is no pin."""
    every = frozenset(HOST_CPUS)
    if key == ("cputune", "vcpupin"):
        def strip(pins):
            return {vcpu: cpuset for vcpu, cpuset in pins.items() if cpuset != every}
        return strip(live) == strip(model)
    if key == ("cputune", "emulatorpin"):
        return (None if live == every else live) == (None if model == every else model)
    return live == model


def from_gathered(area, gathered):
    """The model's canonical values from a module's ``gathered`` (shape of the options)."""
    values = {}
    if area == "cputune":
        values["shares"] = gathered.get("shares")
        values["period"] = gathered.get("period")
        values["quota"] = None if gathered.get("quota") in (None, -1) else gathered.get("quota")
        values["vcpupin"] = {item["vcpu"]: cpus(item["cpuset"]) for item in gathered.get("vcpupin", [])}
        values["emulatorpin"] = cpus(gathered.get("emulatorpin"))
        sched = {}
        for item in gathered.get("vcpusched", []):
            for vcpu in cpus(item["vcpus"]):
                sched[vcpu] = item.get("scheduler")
        values["vcpusched"] = sched
    elif area == "vcpus":
        values["current"] = gathered.get("current", gathered.get("maximum"))
    elif area == "iothreads":
        values["count"] = gathered.get("count", 0)
    elif area == "memtune":
        values["soft_limit"] = size_bytes(gathered.get("soft_limit"))
        values["swap_hard_limit"] = size_bytes(gathered.get("swap_hard_limit"))
    elif area == "numa":
        memory = (gathered.get("numatune") or {}).get("memory")
        values["numatune"] = None if not memory else (memory.get("mode", "strict"), cpus(memory.get("nodeset")))
    elif area == "memory_devices":
        values["dimms"] = tuple(sorted((size_bytes(d["size"]), d.get("node", 0)) for d in gathered.get("dimms", [])))
    elif area == "memory_backing":
        values["nosharepages"] = bool(gathered.get("nosharepages"))
    elif area == "boot_firmware":
        values["boot_order"] = tuple(gathered.get("boot_order") or ["hd"])
        menu = gathered.get("bootmenu")
        values["bootmenu"] = None if not menu else (bool(menu.get("enable")), menu.get("timeout"))
    return values


# --------------------------------------------------------------------------- steps: (area, state, options)

def _sub(**strategies):
    return st.fixed_dictionaries({}, optional=strategies).filter(bool)


def _mostly(valid, invalid):
    return st.sampled_from(list(valid) * (6 * len(invalid)) + list(invalid) * len(valid))


CPUSET = _mostly(["0", "1", "0-1"], ["2", "0-3"])
VCPUS_TEXT = _mostly(["0", "1", "2", "3", "0-1", "2-3", "1-3", "0-3"], ["4", "0-4"])

STEP_OPTIONS = {
    "cputune": _sub(
        shares=_mostly([512, 1024, 2048, 10000], [0, 262145]),
        period=_mostly([100000, 50000, 1000000], [999]),
        quota=_mostly([-1, 20000, 50000, 100000], [500]),
        vcpupin=st.lists(st.fixed_dictionaries({"vcpu": _mostly([0, 1, 2, 3], [4]), "cpuset": CPUSET}), min_size=1,
                         max_size=3, unique_by=lambda item: item["vcpu"]),
        emulatorpin=CPUSET,
        vcpusched=st.lists(st.fixed_dictionaries({"vcpus": VCPUS_TEXT, "scheduler": st.sampled_from(["batch", "idle"])}),
                           min_size=1, max_size=2, unique_by=lambda item: item["vcpus"]),
    ),
    "vcpus": _sub(current=_mostly([1, 2, 3, 4], [5, 0])),
    "iothreads": _sub(count=_mostly([0, 1, 2, 3, 4], [-1])),
    "memtune": _sub(soft_limit=_mostly(["256M", "512M", "1G", "unlimited"], ["1.5G"]),
                    swap_hard_limit=_mostly(["unlimited"], ["1G", "4G"])),
    "numa": _sub(numatune=st.fixed_dictionaries({"memory": st.fixed_dictionaries({
        "mode": st.sampled_from(["strict", "interleave", "preferred"]), "nodeset": _mostly(["0"], ["1", "0-1"])})})),
    "memory_devices": _sub(dimms=st.lists(st.fixed_dictionaries({
        "size": _mostly(["128M", "256M"], ["100K", "130M"]), "node": _mostly([0], [1])}), max_size=2)),
    "memory_backing": _sub(nosharepages=st.booleans()),
    "boot_firmware": _sub(boot_order=st.sampled_from([["hd"], ["network", "hd"], ["cdrom"]]),
                          bootmenu=st.sampled_from([{"enable": True, "timeout": 1000}, {"enable": False},
                                                    {"enable": True, "timeout": 70000}])),
}
STATES = st.sampled_from(["merged"] * 5 + ["replaced", "deleted", "deleted"])
MANAGED = {"cputune": ["shares", "period", "quota", "vcpupin", "emulatorpin", "vcpusched"], "vcpus": ["current"],
           "iothreads": ["count"], "memtune": ["soft_limit", "swap_hard_limit"], "numa": ["numatune"],
           "memory_devices": ["dimms"], "memory_backing": ["nosharepages"],
           "boot_firmware": ["boot_order", "bootmenu"]}
EMPTY = {"vcpupin": {}, "vcpusched": {}, "dimms": (), "nosharepages": False, "boot_order": ("hd",), "count": 0}
# what libvirt itself wants, on these guests, for an option left out by replaced/deleted
ABSENT = {("vcpus", "current"): 4}


def step_strategy():
    area = st.sampled_from(sorted(STEP_OPTIONS))
    return area.flatmap(lambda name: st.tuples(st.just(name), STATES, st.one_of(
        STEP_OPTIONS[name], STEP_OPTIONS[name], STEP_OPTIONS[name], st.just({}))))


def expected(area, state, options, current):
    """The model after a successful run: merged sets what is given, replaced makes the area exactly what is
    given, deleted removes what is given (the whole area when nothing is)."""
    canon = from_gathered(area, _as_gathered(area, options))
    given = [name for name in MANAGED[area] if name in options]
    new = dict(current)
    if state == "merged":
        for name in given:
            if name in ("vcpupin", "vcpusched"):
                new[name] = {**current[name], **canon[name]}
            else:
                new[name] = canon[name]
    elif state == "replaced":
        for name in MANAGED[area]:
            new[name] = canon[name] if name in given else EMPTY.get(name, ABSENT.get((area, name)))
    elif state == "deleted":
        for name in (given or MANAGED[area]):
            if name in ("vcpupin", "vcpusched") and given:
                new[name] = {k: v for k, v in current[name].items() if k not in canon[name]}
            elif name == "boot_order" and given:
                new[name] = tuple(dev for dev in current[name] if dev not in canon[name]) or ("hd",)
            elif name == "dimms" and given:
                left = list(current[name])
                for dimm in canon[name]:
                    if dimm in left:
                        left.remove(dimm)
                new[name] = tuple(left)
            else:
                new[name] = EMPTY.get(name, ABSENT.get((area, name)))
    return new


def _as_gathered(area, options):
    """Options to the shape ``gathered`` has (identical for these options, but for the defaults)."""
    shaped = dict(options)
    if area == "vcpus" and "current" not in shaped:
        shaped["current"] = None
    return shaped


# --------------------------------------------------------------------------- the machine

class Log:
    def __init__(self):
        self.steps = 0
        self.runs = 0
        self.failures = {}  # kind key -> {"count", "sequence", "detail", "minimal"}
        self.counts = {"refused": 0, "changed": 0, "unchanged": 0, "partial": 0, "restarts": 0}
        self.seconds = 0.0
        self.step_seconds = 0.0


LOG = Log()


def _pattern(text):
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", str(text))
    return re.sub(r"\d+", "N", text)[:160]


class Guests:
    """Fresh running guests, and a reader of their live XML."""

    def __init__(self, conn):
        self.conn = conn

    def fresh(self, name):
        cleanup(self.conn, name)
        dom = self.conn.defineXML(base_xml(name))
        dom.create()
        return dom

    def live(self, name):
        return self.conn.lookupByName(name).XMLDesc(0)

    def restart(self, name):
        dom = self.conn.lookupByName(name)
        if dom.isActive():
            dom.destroy()
        dom.create()


def run(name, area, state, options, check=False):
    args = dict(options, name=name, uri=QEMU_URI, state=state)
    try:
        return run_module(area, args, check=check, diff=False)
    except BaseException as exc:  # noqa: B902 - a traceback is a failure to report
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {"failed": True, "msg": "TRACEBACK %s: %s" % (type(exc).__name__, exc), "traceback": True}


def one_step(guests, model, pending, name, area, state, options):
    """Run one step on guest ``name``; update ``model`` and ``pending``; return [(kind, detail)]."""
    failures = []
    check = run(name, area, state, options, check=True)
    real = run(name, area, state, options)
    for label, result in (("check mode", check), ("real run", real)):
        if result.get("traceback"):
            failures.append(("traceback in %s" % label, result["msg"]))
    if failures:
        return failures
    if bool(check.get("failed")) != bool(real.get("failed")):
        if check.get("failed"):
            failures.append(("check refused, real run accepted", check["msg"]))
        elif real.get("changed") and "persistent definition is updated" in real.get("msg", ""):
            # libvirt alone knew; told truthfully: the definition is the target, the rest waits for a restart
            LOG.counts["partial"] += 1
            pending.update("%s.%s" % (area, option) for option in MANAGED[area])
        else:
            failures.append(("check accepted, real run failed (changed %s)" % real.get("changed"), real["msg"]))
    elif check.get("failed"):
        LOG.counts["refused"] += 1
    elif check.get("changed") != real.get("changed"):
        failures.append(("check and real run disagree on changed", "check %s, real %s" % (
            check.get("changed"), real.get("changed"))))
    gathered = run(name, area, "gathered", {})
    if gathered.get("failed"):
        failures.append(("gathered failed", gathered["msg"]))
        return failures
    held = from_gathered(area, gathered["gathered"])
    # a failed run that says it wrote the definition did write it (changed or not: that is reported above)
    written = not real.get("failed") or real.get("changed") or "persistent definition is updated" in real.get("msg", "")
    if written:
        model[area] = expected(area, state, options, model[area])
    LOG.counts["changed" if real.get("changed") else "unchanged"] += 1
    for option in MANAGED[area]:
        if held[option] != model[area][option]:
            failures.append(("gathered differs from the model: %s.%s" % (area, option),
                             "gathered %r, model %r" % (held[option], model[area][option])))
    if failures:
        model[area] = held  # recorded; go on from what libvirt holds, so that one bug is not reported forever
    if real.get("failed") and not check.get("failed") and written:
        pending.update("%s.%s" % (area, option) for option in MANAGED[area])
        rerun = run(name, area, state, options)
        if rerun.get("failed"):
            failures.append(("rerun after a partial outcome fails again", rerun["msg"]))
    elif not real.get("failed"):
        rerun = run(name, area, state, options)
        if rerun.get("failed"):
            failures.append(("rerun failed", rerun["msg"]))
        elif rerun.get("changed"):
            failures.append(("rerun changed again", "live_changes %s, before %s, after %s" % (
                rerun.get("live_changes"), rerun.get("before"), rerun.get("after"))))
        reported = set(real.get("pending_restart", [])) | set(rerun.get("pending_restart", []))
        reported |= set(real.get("live_pending", [])) | set(rerun.get("live_pending", []))
        for entry in sorted(reported):
            if not re.match(r"^[a-z_]+\.[a-z_]+$", entry):
                failures.append(("pending_restart entry is not area.option", entry))
        # the shape is reported above; the option named is what counts below
        reported = {entry.split(" ")[0] for entry in reported}
        managed = set(MANAGED[area]) if (state != "merged" and not options) or state == "replaced" else set(options)
        for option in managed & set(MANAGED[area]):
            key = "%s.%s" % (area, option)
            if key in reported:
                pending.add(key)
            else:
                pending.discard(key)
    live = read_live(guests.live(name))
    for option in MANAGED[area]:
        key = (area, option)
        if not live_equal(key, live[key], model[area][option]) and "%s.%s" % key not in pending:
            failures.append(("live differs from the model and is not pending: %s.%s" % key,
                             "live %r, model %r, pending_restart %s" % (
                                 live[key], model[area][option], real.get("pending_restart"))))
    return failures


def initial_model(name):
    return {area: from_gathered(area, run(name, area, "gathered", {})["gathered"]) for area in STEP_OPTIONS}


def restart_step(guests, model, pending, name):
    failures = []
    try:
        guests.restart(name)
    except libvirt.libvirtError as exc:
        return [("the guest does not start again with what the modules wrote", str(exc))]
    pending.clear()
    live = read_live(guests.live(name))
    for area in STEP_OPTIONS:
        for option in MANAGED[area]:
            key = (area, option)
            if not live_equal(key, live[key], model[area][option]):
                failures.append(("live differs from the model after a restart: %s.%s" % key,
                                 "live %r, model %r" % (live[key], model[area][option])))
    return failures


def describe(step):
    if step[0] == "restart":
        return "restart %s" % step[1]
    name, area, state, options = step
    return "%s %s state=%s %s" % (name, area, state, json.dumps(options, sort_keys=True))


class TuningMachine(RuleBasedStateMachine):
    """The guests, the model and the step sequence live across hypothesis runs (in CARRY): starting two
    guests takes seconds, so fresh guests come every FRESH_EVERY steps, not every run."""

    guests = None

    @initialize()
    def fresh_guests(self):
        self.active = LOG.steps < STEPS
        if not self.active:
            return
        LOG.runs += 1
        self.restarted, self.run_steps = False, 0
        if CARRY.get("model") is None or len(CARRY["sequence"]) >= FRESH_EVERY:
            # both guests at once: starting QEMU is most of the set-up
            with concurrent.futures.ThreadPoolExecutor(len(GUESTS)) as pool:
                list(pool.map(self.guests.fresh, GUESTS))
            CARRY["model"] = {name: initial_model(name) for name in GUESTS}
            CARRY["pending"] = {name: set() for name in GUESTS}
            CARRY["sequence"] = []
        self.model, self.pending, self.sequence = CARRY["model"], CARRY["pending"], CARRY["sequence"]

    def _record(self, failures):
        for kind, detail in failures:
            key = "%s | %s" % (kind, _pattern(detail))
            entry = LOG.failures.setdefault(key, {"count": 0, "kind": kind, "detail": detail,
                                                  "sequence": [describe(s) for s in self.sequence],
                                                  "last": self.sequence[-1]})
            entry["count"] += 1
        if failures:
            write_findings()

    # a few steps per rule: hypothesis ends runs early, and each run starts two fresh guests
    @rule(steps=st.lists(st.tuples(st.sampled_from(GUESTS), step_strategy()), min_size=1, max_size=8))
    def tune(self, steps):
        for name, step in steps:
            if not self.active or LOG.steps >= STEPS:
                return
            LOG.steps += 1
            self.run_steps += 1
            started = time.monotonic()
            area, state, options = step
            self.sequence.append((name, area, state, options))
            self._record(one_step(self.guests, self.model[name], self.pending[name], name, area, state, options))
            LOG.step_seconds += time.monotonic() - started

    # at most once a run, after some steps (a start takes seconds). No precondition: what is drawn must not
    # depend on state carried across runs, or hypothesis sees flaky data generation.
    @rule(name=st.sampled_from(GUESTS), now=st.sampled_from([False] * 3 + [True]))
    def restart(self, name, now):
        if not self.active or LOG.steps >= STEPS or not now or self.restarted or self.run_steps < 5:
            return
        self.restarted = True
        LOG.steps += 1
        LOG.counts["restarts"] += 1
        self.sequence.append(("restart", name))
        self._record(restart_step(self.guests, self.model[name], self.pending[name], name))


def minimise():
    """For each kind of failure: does its last step alone, on fresh guests, show it?"""
    guests = TuningMachine.guests
    for key, entry in sorted(LOG.failures.items())[:MINIMISE]:
        last = entry["last"]
        if last[0] == "restart":
            continue
        name = last[0]
        guests.fresh(name)
        model, pending = initial_model(name), set()
        again = one_step(guests, model, pending, *last)
        entry["minimal"] = any("%s | %s" % (kind, _pattern(detail)) == key for kind, detail in again)


def write_findings():
    directory = os.environ.get("VIRTUNED_FINDINGS")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    lines = ["# State machine findings (tests/integration/test_state_machine.py)", "",
             "Written by the test as it runs. Guests vt-it-sm-a/-b (VIRTUNED_SM_PREFIX) are `base_xml()` in the test file (running, pc,",
             "kvm64 check=none, 4 max / 2 current vCPUs, one NUMA cell, maxMemory 4 slots). Each step runs the",
             "module with `name`, `uri: qemu:///system`: check mode, real, real again, then `gathered`.", "",
             "Steps %d in %d runs, %.0f s; %s" % (
                 LOG.steps, LOG.runs, LOG.seconds, ", ".join("%s %d" % kv for kv in sorted(LOG.counts.items()))),
             "", "%d kinds of failure" % len(LOG.failures), ""]
    for key in sorted(LOG.failures):
        entry = LOG.failures[key]
        lines += ["## %s (%d times)" % (entry["kind"], entry["count"]), "",
                  "- detail: %s" % str(entry["detail"])[:700]]
        if entry.get("minimal"):
            lines.append("- reproduces alone on fresh guests: `%s`" % describe(entry["last"]))
        else:
            lines.append("- steps from fresh guests (the last one fails)%s:" % (
                "; the last alone does not reproduce it" if entry.get("minimal") is False else ""))
            lines += ["  %d. `%s`" % (i + 1, text) for i, text in enumerate(entry["sequence"][-12:])]
        lines.append("")
    with open(os.path.join(directory, "state_machine.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def guests():
    global HOST_CPUS
    conn = libvirt.open(QEMU_URI)
    HOST_CPUS = [cpu for cpu, online in enumerate(conn.getCPUMap()[1]) if online]
    TuningMachine.guests = Guests(conn)
    yield TuningMachine.guests
    for name in GUESTS:
        cleanup(conn, name)
    conn.close()


def test_tuning_modules_follow_the_model_on_running_guests(guests, capsys):
    started = time.monotonic()
    runs = STEPS // 5 + 10  # a run ends early at times; steps beyond STEPS are skipped
    run_state_machine_as_test(TuningMachine, settings=settings(
        max_examples=runs, stateful_step_count=STEPS_PER_RUN, derandomize=True, database=None, deadline=None,
        phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
    LOG.seconds = time.monotonic() - started
    with contextlib.suppress(libvirt.libvirtError):
        minimise()
    write_findings()
    with capsys.disabled():
        print("\nstate machine: %d steps in %d runs, %.1f s (%.1f s in tuning steps), %d kinds of failure "
              "(%d failures); %s" % (
                  LOG.steps, LOG.runs, LOG.seconds, LOG.step_seconds, len(LOG.failures),
                  sum(e["count"] for e in LOG.failures.values()),
                  ", ".join("%s %d" % kv for kv in sorted(LOG.counts.items()))))
    assert LOG.steps >= STEPS
    assert {key: entry["sequence"][-3:] for key, entry in LOG.failures.items()} == {}
