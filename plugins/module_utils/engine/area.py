# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tuning engine: from a task's options to new domain XML and live operations.

Pure code: domain XML and option dicts in, domain XML, structured changes and a
list of live operations out. No libvirt import; the libvirt edge
(edge/connection.py) carries out what this module plans.

Data flow for one area (docs/engine.md tells it at length)::

    persistent XML --read--> current --+
    task options --normalise--> desired +--(state)--> target --write--> new XML --validate, rules
    live XML --live_view--> live values --compare with target--> LiveOps | pending_restart

Every hook an area gives sees the same thing: its values and an ``AreaView`` (the document,
the area's current values, the task, and the host facts of the DomainContext).
"""

from __future__ import annotations

import copy
from collections import namedtuple

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine import rules
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import without_empty
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain, to_string
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import bare_memory_notes

STATES = ("merged", "replaced", "deleted", "gathered")

# One call the libvirt edge makes on the running guest; ``method`` is a name of edge/live_ops.py.
LiveOp = namedtuple("LiveOp", ["method", "args", "text"])
# One step on the hypervisor host after a define (not on the guest); ``method`` as for LiveOp.
HostAction = namedtuple("HostAction", ["method", "args", "text"])
# What a live handler compares: the area's whole values, as defined before, as wanted, as running.
LiveValues = namedtuple("LiveValues", ["current", "target", "live"])
# Returned by a live handler beside its LiveOps: a change asked of the guest before that it has not
# completed (a DIMM it has not released, a balloon target it has not followed); not asked again.
LivePending = namedtuple("LivePending", ["text"])


class NotLive(Exception):
    """Raised by a live handler when this change can only wait for the next boot."""


class Area:
    """A tuning area: its fields (options), what it shows in diffs, its hooks and live handlers.

    ``keep`` names options that ``replaced`` and ``deleted`` leave alone when not given
    (elements libvirt requires, such as the vCPU count). The hooks, all optional:

    - ``fill_in(values, root) -> values``: what libvirt fills in when the XML says nothing;
    - ``adjust_target(target, view) -> target``: the area's own bookkeeping on the target
      (``view.current``, ``view.desired``, ``view.state``, ``view.root``: the document);
    - ``validate(target, view) -> [warnings]``: raises TuningError; ``view.root`` is the final
      document. Rules between areas live in engine/rules.py, not here;
    - ``live_view(live_root, view) -> values``: the running guest read in the persistent
      definition's terms (libvirt's expansion of firmware='efi', QEMU's of the CPU model);
    - ``live``: option -> ``handler(LiveValues, view) -> [LiveOp or LivePending]``; options
      without one wait for a restart, and a handler raises NotLive for a change that must wait;
    - ``managed_with``: option -> options it acts through on the running guest (vcpus'
      ``enable_cells`` acts through ``vcpus``), so that giving it brings those live too;
    - ``after_define(LiveValues, view) -> [HostAction]``: steps on the host a define needs
      whether the guest runs or not (a fresh NVRAM), skipped in check mode;
    - ``diff_extra(root) -> str``: more XML for --diff than ``diff_paths`` (minus ``diff_drop``).
    """

    def __init__(self, name, fields, diff_paths, validate=None, live=None, keep=(), description="",
                 after_define=None, fill_in=None, adjust_target=None, live_view=None, diff_drop=(),
                 diff_extra=None, managed_with=None):
        self.name, self.fields, self.diff_paths = name, list(fields), list(diff_paths)
        self._validate, self.live = validate, dict(live or {})
        self.after_define = after_define
        self._fill_in, self._adjust_target, self._live_view = fill_in, adjust_target, live_view
        self.diff_drop, self.diff_extra = tuple(diff_drop), diff_extra
        self.managed_with = dict(managed_with or {})
        self.keep, self.description = set(keep), description
        self.by_name = {f.name: f for f in self.fields}

    def argspec(self):
        """The module options of this area (common options come from runner/module.py)."""
        return {f.name: f.argspec() for f in self.fields}

    def read(self, root):
        """Current settings of the area in canonical form."""
        values = {f.name: f.read(root) for f in self.fields}
        return self._fill_in(values, root) if self._fill_in else values

    def live_values(self, live_root, view):
        """The running guest's settings of the area, in the persistent definition's terms."""
        if self._live_view is not None:
            return self._live_view(live_root, view)
        return self.read(live_root)

    def normalise(self, params):
        """The options the task gave, canonical; raises TuningError naming the option."""
        return {f.name: f.normalise(params.get(f.name), f.name) for f in self.fields}

    def given(self, desired):
        return [f.name for f in self.fields if desired.get(f.name) is not None]

    def target(self, view):
        """What the area must become, for the task of ``view`` (its current, desired and state)."""
        current, desired, state = view.current, view.desired, view.state
        given = set(self.given(desired))
        if state == "merged":
            result = {f.name: f.merge(current.get(f.name), desired.get(f.name)) for f in self.fields}
        elif state == "replaced":
            result = {f.name: (desired.get(f.name) if f.name in given or f.name not in self.keep
                               else current.get(f.name)) for f in self.fields}
        elif state == "deleted":
            result = {}
            for f in self.fields:
                if not given:
                    result[f.name] = current.get(f.name) if f.name in self.keep else None
                elif f.name in given:
                    result[f.name] = f.delete(current.get(f.name), desired[f.name])
                else:
                    result[f.name] = current.get(f.name)
        else:
            return dict(current)
        return self._adjust_target(result, view) if self._adjust_target else result

    def managed(self, desired, state):
        """Options the task speaks for (those whose live state it may change)."""
        given = self.given(desired)
        if state == "merged" or (state == "deleted" and given):
            through = [other for name in given for other in self.managed_with.get(name, ())]
            return given + [name for name in through if name not in given]
        return [f.name for f in self.fields]

    def comparable(self, values):
        """The values in the form two of them are compared in."""
        return {f.name: f.comparable(values.get(f.name)) for f in self.fields}

    def differing(self, before, after, names=None):
        """Names of the options whose comparable values differ."""
        return [f.name for f in self.fields
                if (names is None or f.name in names) and f.comparable(before.get(f.name)) != f.comparable(after.get(f.name))]

    def write(self, root, current, target):
        for name in self.differing(current, target):
            self.by_name[name].write(root, target.get(name))

    def validate(self, target, view):
        if self._validate is None:
            return []
        return self._validate(target, view) or []

    def to_options(self, values):
        """Canonical values to the shape of the module's options (for ``gathered``).

        Empty lists are left out, except for fields whose ``empty_is_value`` is true
        (an empty list that means something, such as <hugepages/> with no page size);
        groups leave theirs out the same way (fields.without_empty).
        """
        return without_empty(self.fields, values, drop_false_defaults=True)

    def snapshot(self, root):
        """The area's own XML, for --diff."""
        parts = []
        for path in self.diff_paths:
            for elem in root.findall(path):
                clone = _detached(elem)
                for drop in self.diff_drop:
                    if drop.startswith(path + "/"):
                        for child in clone.findall(drop[len(path) + 1:]):
                            child.getparent().remove(child)
                        if len(clone) == 0:
                            clone.text = None
                parts.append(to_string(clone, pretty=True))
        text = "\n".join(parts) + ("\n" if parts else "")
        return text + (self.diff_extra(root) if self.diff_extra else "")


def _detached(elem):
    clone = copy.deepcopy(elem)
    clone.tail = None
    return clone


class DomainContext:
    """What the host says, for the rules: fetched by the runner before the domain lock is taken.

    ``loaders`` map a fact's name to a callable; a fact is fetched once, when a rule first asks.
    After ``freeze()`` (converge has run the rules; the runner takes the domain lock next) a fact
    not fetched yet raises FactMissing instead of calling libvirt.
    """

    def __init__(self, root=None, host_cpus=None, hypervisor=None, connected=False, loaders=None):
        self.root, self.host_cpus, self.hypervisor = root, host_cpus, hypervisor
        self.connected = connected
        self._loaders, self._cache = dict(loaders or {}), {}
        self.frozen = False

    def host(self, what, *args):
        """Ask the host (only when connected): 'capabilities' and 'domain_capabilities' give parsed
        XML roots, 'free_pages' (size_kib) gives {host_node: free pages}, 'lib_version' gives
        libvirt's (major, minor, micro), 'running_root' the running guest's live XML root (None when it is
        not running). None when offline."""
        loader = self._loaders.get(what)
        if loader is None:
            return None
        key = (what,) + args
        if key not in self._cache:
            if self.frozen:
                raise FactMissing(key)
            self._cache[key] = loader(*args)
        return self._cache[key]

    def freeze(self):
        self.frozen = True

    def check_host_cpus(self, option, cpuset_text):
        """Refuse CPUs the host does not have (only when connected)."""
        if self.host_cpus is None or cpuset_text is None:
            return
        missing = parse_cpuset(cpuset_text, option) - self.host_cpus
        if missing:
            raise TuningError("%s: %r names CPUs %s that this host does not have (host CPUs: %s)"
                              % (option, cpuset_text, format_cpuset(missing), format_cpuset(self.host_cpus)))


class FactMissing(Exception):
    """A rule asked for a host fact that was not fetched before the domain lock was taken."""


class AreaView:
    """What an area's hooks see: the document, the area's current values, the task, the host.

    ``root`` is the document being tuned (the final one for ``validate``), ``live_root`` the
    running guest's XML while live operations are planned, and ``target`` then the area's values
    the guest should run with. Host facts come from ``ctx``.
    """

    def __init__(self, root, current=None, desired=None, state=None, ctx=None, live_root=None,
                 live_migratable=None, area=None, target=None):
        self.root, self.current, self.desired, self.state = root, current, desired, state
        self.area, self.target = area, target
        self.ctx = ctx if ctx is not None else DomainContext()
        self.live_root = live_root
        self._live_migratable = live_migratable

    # host facts (DomainContext)
    @property
    def connected(self):
        return self.ctx.connected

    @property
    def hypervisor(self):
        return self.ctx.hypervisor

    @property
    def host_cpus(self):
        return self.ctx.host_cpus

    def host(self, what, *args):
        return self.ctx.host(what, *args)

    def check_host_cpus(self, option, cpuset_text):
        self.ctx.check_host_cpus(option, cpuset_text)

    # the document (through the one reader of what several areas need)
    def max_vcpus(self):
        return rules.max_vcpus(self.root)

    def iothread_ids(self):
        return rules.iothread_ids(self.root)

    def read_area(self, root):
        """The area's own values in another document (the running guest's, for live_view)."""
        return self.area.read(root)

    def live_migratable(self):
        """The running guest's XML root with QEMU-expanded parts (the CPU) as defined, or None."""
        return self._live_migratable() if self._live_migratable is not None else None


class AreaResult:
    """What converging one area produced."""

    def __init__(self, area, state):
        self.area, self.state = area, state
        self.current = self.desired = self.target = None
        self.changed = False
        self.before_xml = self.after_xml = ""
        self.warnings = []
        self.managed = []
        self.view = None
        self.host_actions = []  # HostActions its define needs (after_define), when it changed


def converge(root, requests, ctx=None):
    """Apply ``requests`` [(area, params, state)] to the domain ``root`` (in place).

    Every area is read, normalised and merged first, then written, then every
    target is validated against the final XML, and the rules between areas
    (engine/rules.py) run once on it. Raises TuningError before anything is defined.
    ``ctx`` is frozen afterwards: every host fact a rule needs has been fetched.
    """
    ctx = ctx if ctx is not None else DomainContext(root)
    results = []
    for area, params, state in requests:
        if state not in STATES:
            raise TuningError("state: %r is not valid: must be one of %s" % (state, ", ".join(STATES)))
        result = AreaResult(area, state)
        result.current = area.read(root)
        with bare_memory_notes() as notes:
            result.desired = area.normalise(params)
        result.warnings.extend(notes)
        result.before_xml = area.snapshot(root)
        result.managed = area.managed(result.desired, state)
        view = AreaView(root, result.current, result.desired, state, ctx, area=area)
        result.target = result.current if state == "gathered" else area.target(view)
        results.append(result)
    before = rules.facts_before(root)
    for result in results:
        if result.state == "gathered":
            continue
        if result.area.differing(result.current, result.target):
            result.area.write(root, result.current, result.target)
            result.after_xml = result.area.snapshot(root)
            result.changed = True
        else:
            result.after_xml = result.before_xml
    for result in results:
        result.view = AreaView(root, result.current, result.desired, result.state, ctx, area=result.area)
        if result.state != "gathered":
            result.warnings.extend(result.area.validate(result.target, result.view))
    asked = [result for result in results if result.state != "gathered"]
    for name, warning in rules.check(root, before, [result.area.name for result in asked]):
        next(result for result in asked if result.area.name == name).warnings.append(warning)
    for result in asked:
        if result.changed and result.area.after_define is not None:
            values = LiveValues(result.current, result.target, None)
            result.host_actions = result.area.after_define(values, result.view)
    ctx.freeze()  # the rules are done: nothing after them asks the host
    return results


class LivePlan:
    """What the running guest needs: live operations, and what waits (for a boot, or for the guest).

    ``ops`` are (key, LiveOp) with key ``area.option``; ``pending`` the keys whose new value waits
    for the next boot, ``reasons`` why (key -> text), ``guest_pending`` the keys asked of the guest
    before that it has not completed.
    """

    def __init__(self):
        self.ops, self.pending, self.reasons, self.guest_pending = [], [], {}, []

    @property
    def restart_required(self):
        return bool(self.pending)

    def wait(self, key, reason=None):
        if key not in self.pending:
            self.pending.append(key)
        if reason:
            self.reasons[key] = reason


def plan_live(results, live_root, ctx=None, live_migratable=None):
    """The LivePlan that brings the running guest to each area's target."""
    plan = LivePlan()
    planned = []
    for result in results:
        if result.state == "gathered":
            continue
        area = result.area
        root = result.view.root if result.view is not None else None
        view = AreaView(root, result.current, result.desired, result.state, ctx, live_root, live_migratable, area,
                        result.target)
        live_values = area.live_values(live_root, view)
        values = LiveValues(result.current, result.target, live_values)
        for name in area.differing(live_values, result.target, result.managed):
            key = "%s.%s" % (area.name, name)
            handler = area.live.get(name)
            if handler is None:
                plan.wait(key)
                continue
            try:
                mine = []
                for item in handler(values, view):
                    if isinstance(item, LivePending):
                        if key not in plan.guest_pending:
                            plan.guest_pending.append(key)
                        plan.reasons[key] = item.text
                    elif item not in planned or item in mine:
                        # options applied together (memtune's hard and swap limits) may plan the same call:
                        # it is made once; one handler's own repeats (two equal DIMMs) are all made
                        mine.append(item)
                        plan.ops.append((key, item))
                planned.extend(mine)
            except NotLive as exc:
                plan.wait(key, str(exc) or None)
    return plan


def not_held(results, held_xml):
    """Warnings for every option that the definition read back after the define does not hold as asked."""
    held_root = parse_domain(held_xml, "the persistent XML after define")
    warnings = []
    for result in results:
        if result.state == "gathered" or not result.changed:
            continue
        held = result.area.read(held_root)
        for field in result.area.fields:
            name = field.name
            if field.holds(held.get(name), result.target.get(name)):
                continue
            warnings.append("%s.%s: libvirt holds %r after define, not the requested %r" % (
                result.area.name, name, field.to_options(held.get(name)), field.to_options(result.target.get(name))))
    return warnings
