# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""domain_tuning ``guests``: many guests of one host in one module run, over one connection.

Each guest goes through runner/apply.py apply_connected exactly as a single call does (read,
converge, lock, re-read, define, verify, live), with the batch's one connection. The host facts
the rules ask for are fetched once for the whole batch (SharedHostEdge), each when a guest's
rules first ask for it, before that guest's lock. A guest that fails does not stop the others.
A guest's ``restart`` and ``force_off`` (default: the task's) go to runner/restart.py, as in a single call.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import LibvirtEdge, default_uri
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.apply import apply_connected
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.results import build_results


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
        self.result = {"changed": False, "restarted": False, "failed": True, "msg": message}


def run_guests(common, guests, check_mode, diff):
    """Converge every guest of ``guests`` [(given, requests)] over one connection.

    ``common``: the task's uri, live, backup, backup_dir and shutdown_timeout. ``given``: the guest's name/uuid,
    restart and force_off.
    Every guest is looked up first: one given twice (by name and by uuid) is refused before anything is
    written. Returns the GuestRuns in order; TuningError for the connection or a guest given twice.
    """
    edge = LibvirtEdge(common.get("uri") or default_uri())
    shared = SharedHostEdge(edge)
    try:
        found, seen = [], {}
        for index, (given, _requests) in enumerate(guests):
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
        for (run, dom), (given, requests) in zip(found, guests):
            if dom is not None:
                params = dict(common, name=run.key, uuid=None, restart=given.get("restart", "never"),
                              force_off=given.get("force_off", False))
                _run_guest(shared, params, run, requests, check_mode, diff)
            runs.append(run)
    finally:
        edge.close()
    return runs


def _run_guest(edge, params, run, requests, check_mode, diff):
    try:
        outcome = apply_connected(params, requests, check_mode, edge=edge)
    except TuningError as exc:
        run.fail(str(exc))
        return
    run.result, run.warnings = build_results(outcome, requests, area_keys=True, diff=diff)
    if outcome.failed is not None:
        run.failed = outcome.failed
        run.result.update(failed=True, msg=run.failed)


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
