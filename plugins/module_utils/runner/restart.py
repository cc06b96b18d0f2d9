# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``restart: if_needed``: the one restart of a running guest whose change waits for its boot.

Used by every tuning module and by each guest of domain_tuning ``guests`` (runner/apply.py calls
restart_if_needed after the live step, under the domain lock). The options are checked here too:
``restart`` (never | if_needed; a guest entry also takes the older true / false / force),
``shutdown_timeout`` (seconds, 0 or more; ``restart_timeout`` is its older name) and ``force_off``.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import FactMissing, plan_live
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError

RESTART_CHOICES = ("never", "if_needed")
SHUTDOWN_TIMEOUT = 120
# The spellings domain_tuning ``guests[].restart`` had before: value -> (restart, force_off or None).
LEGACY_RESTART = {"true": ("if_needed", None), "yes": ("if_needed", None), "on": ("if_needed", None),
                  "1": ("if_needed", None), "false": ("never", None), "no": ("never", None), "off": ("never", None),
                  "0": ("never", None), "force": ("if_needed", True)}


def check_restart_options(params):
    """A message for a bad ``shutdown_timeout`` or a restart asked of an offline run; None when all is well."""
    timeout = params.get("shutdown_timeout")
    if timeout is not None and timeout < 0:
        return "shutdown_timeout: %d is not valid: seconds are 0 or more" % timeout
    if params.get("xml") is not None and params.get("restart") == "if_needed":
        return ("restart: 'if_needed' is not valid with xml: an offline run has no running guest to restart; "
                "leave restart at never")
    return None


def guest_restart(value, force_off, where, task):
    """(restart, force_off) of a ``guests`` entry; ``task``: the task's (restart, force_off) for what is not given.

    ``value`` is never | if_needed, or a legacy spelling: true (= if_needed), false (= never) and
    force (= if_needed with force_off). TuningError naming option, value and rule.
    """
    restart, legacy_force = task[0], None
    if isinstance(value, bool):
        restart = "if_needed" if value else "never"
    elif isinstance(value, str) and value.strip().lower() in RESTART_CHOICES:
        restart = value.strip().lower()
    elif isinstance(value, str) and value.strip().lower() in LEGACY_RESTART:
        restart, legacy_force = LEGACY_RESTART[value.strip().lower()]
    elif value is not None:
        raise TuningError("%s.restart: %r is not valid: expected never or if_needed (older spellings: true is "
                          "if_needed, false is never, force is if_needed with force_off)" % (where, value))
    if force_off is None:
        force_off = legacy_force if legacy_force is not None else task[1]
    return restart, bool(force_off)


def restart_if_needed(edge, dom, outcome, params, check_mode, ctx):
    """Restart the running guest when ``restart`` is if_needed and part of the change waits for its boot.

    A graceful (ACPI) shutdown, a wait of up to ``shutdown_timeout`` seconds, with ``force_off`` a power-off
    after it, then a start and a read-back of the running guest: what is in force leaves
    ``outcome.pending`` for ``outcome.in_force``. In check mode only ``outcome.restarted`` says it would
    be done. A guest that does not stop, or does not start again, fails the run (``outcome.failed``).
    """
    outcome.restarted = False
    wanted = params.get("restart") == "if_needed" and outcome.running and outcome.restart_required
    if not wanted or outcome.failed is not None:
        return
    waiting = list(outcome.pending)
    if check_mode:
        outcome.restarted = True
        return
    timeout = params.get("shutdown_timeout")
    timeout = SHUTDOWN_TIMEOUT if timeout is None else timeout
    written = "the persistent definition is updated; " if outcome.defined else ""
    try:
        stopped = edge.shutdown(dom, timeout)
        if not stopped and params.get("force_off"):
            _power_off(edge, dom)
            stopped = True
    except TuningError as exc:
        outcome.failed = "restart: %s. %s%s for the guest's next boot" % (exc, written, _waits(waiting))
        return
    if not stopped:
        outcome.failed = ("restart: %s did not shut down within %d s of an ACPI shutdown request (a guest needs an OS "
                          "that handles it); it runs on with the settings of its last boot; %s%s for its next "
                          "boot; force_off: true powers it off after shutdown_timeout"
                          % (dom.name(), timeout, written, _waits(waiting)))
        return
    outcome.stopped = True
    try:
        edge.start(dom)
    except TuningError as exc:
        outcome.running = False
        outcome.failed = ("restart: %s was shut down and did not start again: %s. It is shut off now; %s%s for "
                          "its next start" % (dom.name(), exc, written, _waits(waiting)))
        return
    outcome.restarted = True
    _read_back(edge, dom, outcome, waiting, ctx)


def _waits(keys):
    return "%s %s" % (", ".join(keys), "waits" if len(keys) == 1 else "wait")


def _power_off(edge, dom):
    """virsh destroy; a guest that stopped meanwhile (the shutdown finished late) needs none."""
    try:
        edge.destroy(dom)
    except TuningError:
        if edge.is_active(dom):
            raise


def _read_back(edge, dom, outcome, waiting, ctx):
    """What of ``waiting`` the restarted guest has in force; the rest stays pending and fails the run."""
    try:
        live_xml = edge.running_xml(dom)
        if live_xml is None:
            outcome.running = False
            outcome.failed = "restart: %s stopped again right after its start" % dom.name()
            return
        live_root = parse_domain(live_xml, "the live XML of %s" % dom.name())

        def live_migratable():
            return parse_domain(edge.live_xml_migratable(dom), "the migratable live XML of %s" % dom.name())

        try:
            plan = plan_live(outcome.results, live_root, ctx, live_migratable)
        except FactMissing:
            # a host fact no rule asked for before the restart: read it now (a read, nothing written)
            from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.apply import host_context
            fresh = host_context(edge, parse_domain(edge.persistent_xml(dom), "the persistent XML of %s" % dom.name()))
            plan = plan_live(outcome.results, live_root, fresh, live_migratable)
    except TuningError as exc:
        outcome.failed = "restart: %s was restarted, but reading it back failed: %s" % (dom.name(), exc)
        return
    differing = set(plan.pending) | {key for key, _op in plan.ops}
    still = [key for key in waiting if key in differing]
    outcome.in_force = [key for key in waiting if key not in differing]
    outcome.pending = still
    outcome.reasons = {key: text for key, text in outcome.reasons.items() if key not in outcome.in_force}
    outcome.restart_required = bool(still)
    if still:
        outcome.failed = ("restart: %s was restarted, but these are still not in force: %s"
                          % (dom.name(), ", ".join(still)))
