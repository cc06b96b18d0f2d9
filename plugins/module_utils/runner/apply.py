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

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import LibvirtEdge, default_uri
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import (
    DomainContext, FactMissing, converge, host_actions, plan_live,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import (
    parse_domain, parse_xml, to_document,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.backup import write_backup

# How many times a define is prepared again when another writer changed the domain meanwhile.
DEFINE_ATTEMPTS = 5


class Outcome:
    """What one run did: the areas' results, the new XML (offline), live and host changes."""

    def __init__(self):
        self.results = []
        self.xml = None
        self.live_changes = []
        self.restart_required = False
        self.pending = []
        self.backup_file = None
        self.host_changes = []
        self.warnings = []
        self.running = False


def apply_offline(params, requests, check_mode):
    """Converge the ``xml`` option's document; nothing is defined."""
    outcome = Outcome()
    root = parse_domain(params["xml"], "xml")
    original = to_document(root)
    outcome.results = converge(root, requests)
    outcome.xml = to_document(root)
    if any(r.changed for r in outcome.results) and params.get("backup") and not check_mode:
        outcome.backup_file = write_backup(params.get("backup_dir"), original, root.findtext("name"))
    return outcome


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
    return DomainContext(root, host_cpus=edge.host_cpus(), hypervisor=edge.hypervisor(), connected=True,
                         loaders=loaders)


def apply_connected(params, requests, check_mode):
    """Converge the persistent definition of the named domain, define it and apply it live."""
    outcome = Outcome()
    edge = LibvirtEdge(params.get("uri") or default_uri())
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
            actions = host_actions(outcome.results)
            changed = any(r.changed for r in outcome.results)
            ctx.freeze()
            with _lock(edge, dom, skip=gathering or check_mode):
                if changed and not check_mode:
                    # Another writer may have changed the domain since we read it: start again from its XML.
                    if edge.persistent_xml(dom) != original:
                        continue
                    # Nor may a define recreate a guest that was undefined meanwhile.
                    _still_defined(edge, dom)
                    if params.get("backup"):
                        outcome.backup_file = write_backup(params.get("backup_dir"), original, dom.name())
                    dom = edge.define(to_document(root))
                    _verify(edge, dom, outcome)
                    for action in actions:
                        edge.run_host_action(dom, action)
                outcome.host_changes = [action.text for action in actions]
                outcome.running = edge.is_active(dom)
                if outcome.running and not gathering:
                    _apply_live(edge, dom, params, check_mode, outcome, ctx)
            break
        else:
            raise TuningError("%s kept changing while it was being tuned (%d attempts); try again"
                              % (dom.name(), DEFINE_ATTEMPTS))
    except FactMissing as exc:
        raise TuningError("internal: the host fact %s was asked for while the domain lock was held" % (exc,))
    finally:
        edge.close()
    return outcome


def _apply_live(edge, dom, params, check_mode, outcome, ctx):
    live_root = parse_domain(edge.live_xml(dom), "the live XML of %s" % dom.name())

    def live_migratable():
        # The running guest as it was asked for: QEMU-expanded parts (the CPU) as defined.
        return parse_domain(edge.live_xml_migratable(dom), "the migratable live XML of %s" % dom.name())

    ops, restart, pending = plan_live(outcome.results, live_root, ctx, live_migratable)
    outcome.pending = pending
    outcome.restart_required = restart
    if not params.get("live", True):
        if ops:
            outcome.restart_required = True
            outcome.pending.extend(op.text for op in ops)
        return
    for op in ops:
        if not check_mode:
            try:
                edge.run(dom, op)
            except TuningError as exc:
                done = ", ".join(outcome.live_changes) or "nothing"
                raise TuningError("%s. The persistent definition is updated; live so far: %s; "
                                  "the rest applies at the next start" % (exc, done))
        outcome.live_changes.append(op.text)


def _still_defined(edge, dom):
    """Refuse to define when the domain's persistent definition is gone (undefined by another writer)."""
    try:
        found = edge.lookup(uuid=dom.UUIDString())
        persistent = edge.is_persistent(found)
    except TuningError:
        persistent = False
    if not persistent:
        raise TuningError("%s: the domain was undefined while it was being tuned; nothing was defined"
                          % dom.name())


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _lock(edge, dom, skip):
    return _NoLock() if skip else edge.domain_lock(dom)


def _verify(edge, dom, outcome):
    """Read the definition back: libvirt may silently drop or rewrite what we defined."""
    root = parse_domain(edge.persistent_xml(dom), "the persistent XML after define")
    for result in outcome.results:
        if result.state == "gathered" or not result.changed:
            continue
        held = result.area.read(root)
        for name in result.area.differing(held, result.target):
            field = result.area.by_name[name]
            outcome.warnings.append("%s.%s: libvirt holds %r after define, not the requested %r" % (
                result.area.name, name, field.to_options(held.get(name)), field.to_options(result.target.get(name))))
