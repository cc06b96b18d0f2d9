# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tuning engine: from a task's options to new domain XML and live operations.

Pure code: domain XML and option dicts in, domain XML, structured changes and a
list of live operations out. No libvirt import; the libvirt edge
(libvirt_edge.py) carries out what this module plans.

Data flow for one area (docs/engine.md tells it at length)::

    persistent XML --read--> current --+
    task options --normalise--> desired +--(state)--> target --validate--> write --> new XML
    live XML --read--> live values --compare with target--> LiveOps | restart_required
"""

from __future__ import annotations

import copy
from collections import namedtuple

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import find_path, to_string

STATES = ("merged", "replaced", "deleted", "gathered")

# One call the libvirt edge makes on the running guest: LibvirtEdge.live_<method>(dom, *args)
LiveOp = namedtuple("LiveOp", ["method", "args", "text"])


class NotLive(Exception):
    """Raised by a live handler when this change can only wait for the next boot."""


class Area:
    """A tuning area: its fields (options), what it shows in diffs, its rules and live handlers.

    ``keep`` names options that ``replaced`` and ``deleted`` leave alone when not
    given (elements libvirt requires, such as the vCPU count).
    ``validate(target, ctx)`` raises TuningError and returns a list of warnings.
    ``live`` maps an option to ``handler(live_value, target_value, ctx) -> [LiveOp]``;
    options without a handler wait for a restart.
    """

    def __init__(self, name, fields, diff_paths, validate=None, live=None, keep=(), description="",
                 after_define=None):
        self.name, self.fields, self.diff_paths = name, list(fields), list(diff_paths)
        self._validate, self.live = validate, dict(live or {})
        # after_define(result, ctx) -> [LiveOp]: host-side steps a define needs whether the guest
        # runs or not (a fresh NVRAM); run by the edge after the define, skipped in check mode.
        self.after_define = after_define
        self.keep, self.description = set(keep), description
        self.by_name = {f.name: f for f in self.fields}

    def argspec(self):
        """The module options of this area (common options come from tuning_module)."""
        return {f.name: f.argspec() for f in self.fields}

    def read(self, root):
        """Current settings of the area in canonical form."""
        return {f.name: f.read(root) for f in self.fields}

    def normalise(self, params):
        """The options the task gave, canonical; raises TuningError naming the option."""
        return {f.name: f.normalise(params.get(f.name), f.name) for f in self.fields}

    def given(self, desired):
        return [f.name for f in self.fields if desired.get(f.name) is not None]

    def target(self, current, desired, state):
        """What the area must become, for ``state``."""
        given = set(self.given(desired))
        if state == "merged":
            return {f.name: f.merge(current.get(f.name), desired.get(f.name)) for f in self.fields}
        if state == "replaced":
            return {f.name: (desired.get(f.name) if f.name in given or f.name not in self.keep
                             else current.get(f.name)) for f in self.fields}
        if state == "deleted":
            result = {}
            for f in self.fields:
                if not given:
                    result[f.name] = current.get(f.name) if f.name in self.keep else None
                elif f.name in given:
                    result[f.name] = f.delete(current.get(f.name), desired[f.name])
                else:
                    result[f.name] = current.get(f.name)
            return result
        return dict(current)

    def managed(self, desired, state):
        """Options the task speaks for (those whose live state it may change)."""
        given = self.given(desired)
        if state == "merged" or (state == "deleted" and given):
            return given
        return [f.name for f in self.fields]

    def canon(self, values):
        return {f.name: f.canon(values.get(f.name)) for f in self.fields}

    def differing(self, before, after, names=None):
        """Names of the options whose canonical values differ."""
        return [f.name for f in self.fields
                if (names is None or f.name in names) and f.canon(before.get(f.name)) != f.canon(after.get(f.name))]

    def write(self, root, current, target):
        for name in self.differing(current, target):
            self.by_name[name].write(root, target.get(name))

    def validate(self, target, ctx):
        if self._validate is None:
            return []
        return self._validate(target, ctx) or []

    def present(self, values):
        """Canonical values to the shape of the module's options (for ``gathered``).

        Empty lists are left out, except for fields whose ``empty_is_value`` is true
        (an empty list that means something, such as <hugepages/> with no page size).
        """
        out = {}
        for f in self.fields:
            shown = f.present(values.get(f.name))
            if shown is None or (f.default is False and shown is False) or (
                    isinstance(shown, list) and not shown and not getattr(f, "empty_is_value", False)):
                continue
            out[f.name] = shown
        return out

    def snapshot(self, root):
        """The area's own XML, for --diff."""
        parts = []
        for path in self.diff_paths:
            elem = find_path(root, path)
            if elem is not None:
                parts.append(to_string(_detached(elem), pretty=True))
        return "\n".join(parts) + ("\n" if parts else "")


def _detached(elem):
    clone = copy.deepcopy(elem)
    clone.tail = None
    return clone


class DomainContext:
    """What rules may consult: the domain being written and, when connected, the host."""

    def __init__(self, root, host_cpus=None, hypervisor=None, connected=False, loaders=None):
        self.root, self.host_cpus, self.hypervisor = root, host_cpus, hypervisor
        # The running guest's XML root while live operations are planned (plan_live), else None.
        self.live_root = None
        self.connected = connected
        # name -> callable; what the host says is fetched only when a rule asks (see libvirt edge)
        self._loaders, self._cache = dict(loaders or {}), {}

    def host(self, what, *args):
        """Ask the host (only when connected): 'capabilities' and 'domain_capabilities' give parsed
        XML roots, 'free_pages' (size_kib) gives {host_node: free pages}, 'lib_version' gives
        libvirt's (major, minor, micro), 'live_migratable' the running guest's XML root with its CPU
        as defined rather than as QEMU expanded it. None when offline."""
        loader = self._loaders.get(what)
        if loader is None:
            return None
        key = (what,) + args
        if key not in self._cache:
            self._cache[key] = loader(*args)
        return self._cache[key]

    def max_vcpus(self):
        text = (find_path(self.root, "vcpu").text or "1").strip() if find_path(self.root, "vcpu") is not None else "1"
        try:
            return int(text)
        except ValueError:
            return 1

    def iothread_ids(self):
        """The iothread ids the guest defines (<iothreadids>, else 1..<iothreads>)."""
        ids = set()
        for elem in self.root.findall("iothreadids/iothread"):
            try:
                ids.add(int(elem.get("id")))
            except (TypeError, ValueError):
                pass
        count = find_path(self.root, "iothreads")
        if count is not None and (count.text or "").strip().isdigit():
            number = int(count.text.strip())
            # libvirt numbers the iothreads without an explicit id after the explicit ones
            candidate = 1
            while len(ids) < number:
                if candidate not in ids:
                    ids.add(candidate)
                candidate += 1
        return ids

    def numa_cells(self):
        """Guest NUMA cells: {id: {'cpus': frozenset, 'memory_kib': int}}."""
        cells = {}
        for elem in self.root.findall("cpu/numa/cell"):
            try:
                cells[int(elem.get("id", len(cells)))] = {
                    "cpus": parse_cpuset(elem.get("cpus", ""), "cell cpus", allow_empty=True),
                    "memory_kib": int(elem.get("memory", "0")),
                }
            except (TuningError, ValueError):
                continue
        return cells

    def check_host_cpus(self, option, cpuset_text):
        """Refuse CPUs the host does not have (only when connected)."""
        if self.host_cpus is None or cpuset_text is None:
            return
        missing = parse_cpuset(cpuset_text, option) - self.host_cpus
        if missing:
            from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset
            raise TuningError("%s: %r names CPUs %s that this host does not have (host CPUs: %s)"
                              % (option, cpuset_text, format_cpuset(missing), format_cpuset(self.host_cpus)))


class AreaResult:
    """What converging one area produced."""

    def __init__(self, area, state):
        self.area, self.state = area, state
        self.current = self.desired = self.target = None
        self.changed = False
        self.before_xml = self.after_xml = ""
        self.warnings = []
        self.managed = []


def converge(root, requests, ctx_factory):
    """Apply ``requests`` [(area, params, state)] to the domain ``root`` (in place).

    Every area is read, normalised and merged first, then written, then every
    target is validated against the final XML, so that rules see the other
    areas as they will be. Raises TuningError before anything is defined.
    """
    results = []
    for area, params, state in requests:
        if state not in STATES:
            raise TuningError("state: %r is not valid: must be one of %s" % (state, ", ".join(STATES)))
        result = AreaResult(area, state)
        result.current = area.read(root)
        result.desired = area.normalise(params)
        result.before_xml = area.snapshot(root)
        result.managed = area.managed(result.desired, state)
        if state == "gathered":
            result.target = result.current
        else:
            result.target = area.target(result.current, result.desired, state)
        results.append(result)
    for result in results:
        if result.state == "gathered":
            continue
        if result.area.differing(result.current, result.target):
            result.area.write(root, result.current, result.target)
            result.after_xml = result.area.snapshot(root)
            result.changed = True
        else:
            result.after_xml = result.before_xml
    ctx = ctx_factory(root)
    for result in results:
        if result.state != "gathered":
            result.warnings.extend(result.area.validate(result.target, ctx))
    return results


def plan_live(results, live_root, ctx):
    """Live operations that bring the running guest to each area's target.

    Returns (ops, restart_required, pending) where pending names the options
    whose new value waits for the next boot.
    """
    ops, pending = [], []
    ctx.live_root = live_root
    for result in results:
        if result.state == "gathered":
            continue
        area = result.area
        live_values = area.read(live_root)
        for name in area.differing(live_values, result.target, result.managed):
            handler = area.live.get(name)
            if handler is None:
                pending.append("%s.%s" % (area.name, name))
                continue
            try:
                for op in handler(live_values.get(name), result.target.get(name), ctx):
                    # options applied together (memtune's hard and swap limits) may plan the same call
                    if op not in ops:
                        ops.append(op)
            except NotLive as exc:
                pending.append("%s.%s%s" % (area.name, name, (" (%s)" % exc) if str(exc) else ""))
    return ops, bool(pending), pending
