# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One tuning run against one domain: read, converge, lock, re-read, define, verify, live.

Everything is prepared before the domain lock is taken: the persistent XML is read, the engine
converges it and checks every rule, and the host facts the rules ask for are fetched then. Under
the lock the edge only re-reads the definition (to see whether another writer changed it),
defines, reads the definition back, runs the host actions and the live operations. The run's
result is one Outcome.
"""

from __future__ import annotations

import os

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.uri import default_uri
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import (
    DomainContext, FactMissing, converge, not_held, plan_live,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import (
    parse_domain, parse_xml, to_document,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import LibvirtCallError, TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.restart import restart_if_needed

# How many times a define is prepared again when another writer changed the domain meanwhile.
DEFINE_ATTEMPTS = 5


class Outcome:
    """What one run did: the areas' results, the new XML (offline), live and host changes.

    ``pending`` lists the ``area.option`` keys that wait for the next boot (``reasons``: key ->
    why), ``live_pending`` those asked of the running guest that it has not completed. ``failed``
    is the message of a run that stopped part way (the define done, a live call refused).
    ``restarted``: the guest was restarted for ``restart: if_needed`` (in check mode: would be);
    ``stopped``: that restart shut the guest down; ``in_force``: the keys that waited and are in
    force after it (runner/restart.py).
    """

    def __init__(self):
        self.results = []
        self.xml = None
        self.live_changes = []
        self.restart_required = False
        self.pending = []
        self.reasons = {}
        self.live_pending = []
        self.backup_file = None
        self.host_changes = []
        self.warnings = []
        self.running = False
        self.defined = False
        self.failed = None
        self.dest = None
        self.dest_changed = False
        self.restarted = False
        self.in_force = None
        self.stopped = False


# edge/connection.py's LibvirtEdge, imported by the first connected run: an offline run needs neither it nor libvirt
LibvirtEdge = None


def _edge_class():
    global LibvirtEdge  # pylint: disable=global-statement
    if LibvirtEdge is None:
        from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import LibvirtEdge as edge_class
        LibvirtEdge = edge_class
    return LibvirtEdge


def write_backup(directory, xml, name):
    """runner/backup.py write_backup, imported only by a run that writes a backup."""
    from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.backup import write_backup as write
    return write(directory, xml, name)


class DefineRefused(TuningError):
    """libvirt refused the new definition: nothing was changed."""


def apply_offline(params, requests, check_mode):
    """Converge the ``xml`` option's document; nothing is defined."""
    outcome = Outcome()
    root = parse_domain(params["xml"], "xml")
    original = to_document(root)
    outcome.results = converge(root, requests)
    outcome.xml = to_document(root)
    if any(r.changed for r in outcome.results) and params.get("backup") and not check_mode:
        outcome.backup_file = write_backup(params.get("backup_dir"), original, root.findtext("name"))
    if params.get("dest"):
        outcome.dest = params["dest"]
        outcome.dest_changed = write_dest(params["dest"], outcome.xml, check_mode)
    return outcome


def write_dest(path, text, check_mode):
    """Write the whole resulting XML (secrets kept) to ``path``, mode 0600; True when the file changes."""
    try:
        with open(path) as handle:
            if handle.read() == text:
                return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise TuningError("dest: %r cannot be read: %s" % (path, exc.strerror or exc))
    if check_mode:
        return True
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps no wider mode: the XML holds secrets
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    except OSError as exc:
        raise TuningError("dest: %r cannot be written: %s" % (path, exc.strerror or exc))
    return True


def host_context(edge, root):
    """A DomainContext with the host facts of ``edge``, fetched when a rule first asks for them."""
    def capabilities():
        return parse_xml(edge.capabilities(), "host capabilities")

    def domain_capabilities():
        os_type = root.find("os/type")
        emulator = root.findtext("devices/emulator")
        try:
            text = edge.domain_capabilities(emulator or None, os_type.get("arch") if os_type is not None else None,
                                            os_type.get("machine") if os_type is not None else None,
                                            root.get("type"))
        except TuningError:
            return None
        return parse_xml(text, "domain capabilities")

    loaders = {"capabilities": capabilities, "domain_capabilities": domain_capabilities,
               "free_pages": edge.free_pages, "lib_version": edge.lib_version}
    host_cpus, hypervisor = edge.cpus_and_hypervisor()
    return DomainContext(root, host_cpus=host_cpus, hypervisor=hypervisor, connected=True, loaders=loaders)


def apply_connected(params, requests, check_mode, edge=None):
    """Converge the persistent definition of the named domain, define it and apply it live.

    ``edge``: a connection to use and leave open (a batch of guests, runner/batch.py); else one is opened here.
    """
    outcome = Outcome()
    own_edge = edge is None
    if own_edge:
        edge = _edge_class()(params.get("uri") or default_uri())
    try:
        dom = edge.lookup(params.get("name"), params.get("uuid"))
        if not edge.is_persistent(dom):
            raise TuningError("%s: the domain is transient; define it before tuning it" % dom.name())
        gathering = all(request[2] == "gathered" for request in requests)
        for _attempt in range(DEFINE_ATTEMPTS):
            original = edge.persistent_xml(dom)
            root = parse_domain(original, "the persistent XML of %s" % dom.name())
            ctx = host_context(edge, root)
            outcome.results = converge(root, requests, ctx)  # every rule and host fact: before the lock
            actions = [action for result in outcome.results for action in result.host_actions]
            changed = any(r.changed for r in outcome.results)
            with _lock(edge, dom, skip=gathering or check_mode):
                if changed and not check_mode:
                    # Another writer may have changed the domain since we read it: start again from its XML.
                    if edge.persistent_xml(dom) != original:
                        continue
                    # Nor may a define recreate a guest that was undefined meanwhile.
                    if not edge.is_defined(dom.UUIDString()):
                        raise TuningError("%s: the domain was undefined while it was being tuned; nothing was defined"
                                          % dom.name())
                    if params.get("backup"):
                        outcome.backup_file = write_backup(params.get("backup_dir"), original, dom.name())
                    try:
                        dom = edge.define(to_document(root))
                    except LibvirtCallError as exc:
                        raise DefineRefused("%s; nothing was changed" % exc)
                    outcome.defined = True
                    # libvirt may silently drop or rewrite what we defined: read it back
                    outcome.warnings.extend(not_held(outcome.results, edge.persistent_xml(dom)))
                    if not _run_host_actions(edge, dom, actions, outcome):
                        break
                else:
                    outcome.host_changes = [action.text for action in actions]
                live_xml = edge.running_xml(dom)
                outcome.running = live_xml is not None
                if outcome.running and not gathering:
                    _apply_live(edge, dom, live_xml, params, check_mode, outcome, ctx)
                    restart_if_needed(edge, dom, outcome, params, check_mode, ctx)
            break
        else:
            raise TuningError("%s kept changing while it was being tuned (%d attempts); try again"
                              % (dom.name(), DEFINE_ATTEMPTS))
    except FactMissing as exc:
        raise TuningError("internal: the host fact %s was asked for while the domain lock was held" % (exc,))
    finally:
        if own_edge:
            edge.close()
    return outcome


def _run_host_actions(edge, dom, actions, outcome):
    """Run the host actions after a define; False (and the run failed) when one is refused."""
    for action in actions:
        try:
            edge.run_host_action(dom, action)
        except TuningError as exc:
            outcome.failed = "%s. The persistent definition is updated; nothing was applied live" % exc
            return False
        outcome.host_changes.append(action.text)
    return True


def _apply_live(edge, dom, live_xml, params, check_mode, outcome, ctx):
    """Plan and run the live operations, then read the guest back for what it did not complete."""
    what = "the live XML of %s" % dom.name()

    def live_migratable():
        # The running guest as it was asked for: QEMU-expanded parts (the CPU) as defined.
        return parse_domain(edge.live_xml_migratable(dom), "the migratable live XML of %s" % dom.name())

    plan = plan_live(outcome.results, parse_domain(live_xml, what), ctx, live_migratable)
    outcome.pending, outcome.reasons = plan.pending, plan.reasons
    outcome.live_pending = list(plan.guest_pending)
    if not params.get("live", True):
        for key, op in plan.ops:
            if key not in outcome.pending:
                outcome.pending.append(key)
            outcome.reasons[key] = "; ".join(filter(None, [outcome.reasons.get(key), "live is false: %s" % op.text]))
        plan.ops = []
    done = []
    for index, (key, op) in enumerate(plan.ops):
        if not check_mode:
            try:
                edge.run(dom, op)
            except TuningError as exc:
                _stopped(outcome, plan.ops[index:], exc)
                break
        outcome.live_changes.append(op.text)
        done.append(key)
    if done and not check_mode and outcome.failed is None:
        # What the guest did not complete (a DIMM it keeps, a balloon it does not follow) waits on it.
        again = plan_live(outcome.results, parse_domain(edge.live_xml(dom), what), ctx, live_migratable)
        for key, op in again.ops:
            if key in done and key not in outcome.live_pending:
                outcome.live_pending.append(key)
                outcome.reasons[key] = "the guest has not completed: %s" % op.text
    for key in outcome.live_pending:
        outcome.warnings.append("%s: asked of the running guest, not done by it yet: %s"
                                % (key, outcome.reasons.get(key, "")))
    outcome.restart_required = bool(outcome.pending)


def _stopped(outcome, rest, exc):
    """A live call failed: the rest waits for the next boot, and the run fails telling what happened."""
    for key, op in rest:
        if key not in outcome.pending:
            outcome.pending.append(key)
        outcome.reasons[key] = op.text if op is not rest[0][1] else "%s: %s" % (op.text, exc)
    done = ", ".join(outcome.live_changes) or "nothing"
    if outcome.defined:
        outcome.failed = ("%s. The persistent definition is updated; live so far: %s; the rest applies at the next "
                          "start" % (exc, done))
    else:
        outcome.failed = "%s. Live so far: %s; the rest applies at the next start" % (exc, done)


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _lock(edge, dom, skip):
    return _NoLock() if skip else edge.domain_lock(dom)
