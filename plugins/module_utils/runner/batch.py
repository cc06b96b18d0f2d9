# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""domain_tuning ``guests``: many guests of one host in one module run, over one connection.

Each guest goes through runner/apply.py apply_connected exactly as a single call does (read,
converge, lock, re-read, define, verify, live), with the batch's one connection. The host facts
the rules ask for are fetched once for the whole batch (SharedHostEdge), each when a guest's
rules first ask for it, before that guest's lock. A guest that fails does not stop the others.
A guest asked to ``restart`` is restarted when a change waits for its next boot, and read back.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import LibvirtEdge, default_uri
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import plan_live
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.apply import apply_connected, host_context
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.results import build_results

# What a guest's ``restart`` may be: false (never), true (ACPI shutdown, wait, start), force (power off, start).
RESTART_CHOICES = (False, True, "force")


def restart_mode(value, where):
    """The ``restart`` value as False, True or 'force'; TuningError naming option, value and rule."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "force":
            return "force"
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0", ""):
            return False
    raise TuningError("%s: %r is not valid: expected true (shut down, wait, start), false or force "
                      "(power off, start)" % (where, value))


class SharedHostEdge:
    """One LibvirtEdge for every guest of a batch; each host fact is fetched once for all of them."""

    HOST_FACTS = ("cpus_and_hypervisor", "capabilities", "domain_capabilities", "free_pages", "lib_version")

    def __init__(self, edge):
        self.edge = edge
        self.facts = {}

    def __getattr__(self, name):
        attr = getattr(self.edge, name)
        if name not in self.HOST_FACTS:
            return attr

        def shared(*args):
            key = (name,) + args
            if key not in self.facts:
                try:
                    self.facts[key] = (True, attr(*args))
                except TuningError as exc:
                    self.facts[key] = (False, exc)
            fetched, value = self.facts[key]
            if not fetched:
                raise value
            return value
        return shared


class GuestRun:
    """One guest of the batch: its key in ``guests``, its result, its failure message and its diffs."""

    def __init__(self, key):
        self.key = key
        self.result = {"changed": False}
        self.failed = None
        self.warnings = []

    def fail(self, message):
        """The guest stopped before anything was changed."""
        self.failed = message
        self.result = {"changed": False, "failed": True, "msg": message}


def run_guests(common, guests, check_mode, diff):
    """Converge every guest of ``guests`` [(given, requests, restart)] over one connection.

    ``common``: the task's uri, live, backup, backup_dir and restart_timeout. ``given``: the guest's name/uuid.
    Every guest is looked up first: one given twice (by name and by uuid) is refused before anything is
    written. Returns the GuestRuns in order; TuningError for the connection or a guest given twice.
    """
    edge = LibvirtEdge(common.get("uri") or default_uri())
    shared = SharedHostEdge(edge)
    try:
        found, seen = [], {}
        for index, (given, _requests, _restart) in enumerate(guests):
            run = GuestRun(given.get("name") or given.get("uuid"))
            dom = None
            try:
                dom = shared.lookup(given.get("name"), given.get("uuid"))
            except TuningError as exc:
                run.fail(str(exc))
            if dom is not None:
                run.key = dom.name()
                uuid = dom.UUIDString()
                if uuid in seen:
                    raise TuningError("guests[%d] (%s): the guest %s is also guests[%d]: each guest is given once; "
                                      "nothing was changed" % (index, given.get("name") or given.get("uuid"),
                                                               run.key, seen[uuid]))
                seen[uuid] = index
            found.append((run, dom))
        runs = []
        for (run, dom), (_given, requests, restart) in zip(found, guests):
            if dom is not None:
                _run_guest(shared, common, run, dom, requests, restart, check_mode, diff)
            runs.append(run)
    finally:
        edge.close()
    return runs


def _run_guest(edge, common, run, dom, requests, restart, check_mode, diff):
    try:
        outcome = apply_connected(dict(common, name=run.key, uuid=None), requests, check_mode, edge=edge)
    except TuningError as exc:
        run.fail(str(exc))
        return
    run.result, run.warnings = build_results(outcome, requests, area_keys=True, diff=diff)
    if outcome.failed is not None:
        run.failed = outcome.failed
    elif restart and outcome.running and outcome.restart_required:
        _restart(edge, dom, outcome, restart, common, check_mode, run)
    if run.failed is not None:
        run.result.update(failed=True, msg=run.failed)


def _restart(edge, dom, outcome, mode, common, check_mode, run):
    """Restart the running guest so that what waits for its boot is in force, then read it back."""
    waiting = list(outcome.pending)
    run.result["restarted"] = True
    run.result["changed"] = True
    if check_mode:
        return
    with edge.domain_lock(dom):
        try:
            if mode == "force":
                edge.destroy(dom)
            elif not edge.shutdown(dom, common["restart_timeout"]):
                run.result["restarted"] = False
                run.failed = ("restart: the guest did not shut down within %d s of an ACPI shutdown request (a guest "
                              "needs an OS that handles it); it runs on with the settings of its last boot; restart: "
                              "force powers it off instead" % common["restart_timeout"])
                return
            edge.start(dom)
        except TuningError as exc:
            run.result["restarted"] = False
            run.failed = "restart: %s" % exc
            return
        try:
            plan = _read_back(edge, dom, outcome)
        except TuningError as exc:
            run.failed = "restart: the guest was restarted, but reading it back failed: %s" % exc
            return
    if plan is None:
        run.failed = "restart: the guest stopped again right after its start"
        return
    still = [key for key in waiting if key in plan.pending or key in [op_key for op_key, _op in plan.ops]]
    run.result["in_force"] = [key for key in waiting if key not in still]
    run.result["restart_required"] = bool(still)
    if still:
        run.result["pending_restart"] = still
        run.failed = "restart: after the restart these are still not in force: %s" % ", ".join(still)
    else:
        run.result.pop("pending_restart", None)
        reasons = {key: text for key, text in run.result.get("pending_reasons", {}).items() if key not in waiting}
        if reasons:
            run.result["pending_reasons"] = reasons
        else:
            run.result.pop("pending_reasons", None)


def _read_back(edge, dom, outcome):
    """The live plan of the restarted guest against the run's targets (None when it does not run)."""
    live_xml = edge.running_xml(dom)
    if live_xml is None:
        return None
    ctx = host_context(edge, parse_domain(edge.persistent_xml(dom), "the persistent XML of %s" % dom.name()))

    def live_migratable():
        return parse_domain(edge.live_xml_migratable(dom), "the migratable live XML of %s" % dom.name())

    return plan_live(outcome.results, parse_domain(live_xml, "the live XML of %s" % dom.name()), ctx, live_migratable)


def batch_result(runs, diff):
    """(module result, warnings, failure message or None) of the batch."""
    result = {"changed": any(run.result.get("changed") for run in runs),
              "guests": {run.key: run.result for run in runs}}
    warnings = ["%s: %s" % (run.key, warning) for run in runs for warning in run.warnings]
    if diff:
        diffs = []
        for run in runs:
            found = run.result.get("diff")
            for entry in (found if isinstance(found, list) else [found] if found else []):
                diffs.append(dict(entry, before_header="%s: %s" % (run.key, entry["before_header"]),
                                  after_header="%s: %s" % (run.key, entry["after_header"])))
        if diffs:
            result["diff"] = diffs
    failed = [run for run in runs if run.failed is not None]
    message = None
    if failed:
        message = "%d of %d guests failed: %s" % (len(failed), len(runs), "; ".join(
            "%s: %s" % (run.key, run.failed) for run in failed))
    return result, warnings, message
