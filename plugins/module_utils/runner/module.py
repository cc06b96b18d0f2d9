# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every tuning module shares: the common options, and one run from options to results.

An area module is DOCUMENTATION plus ``run_area_module(AREA)``. The options
documented in plugins/doc_fragments/domain_tuning.py are COMMON_ARGSPEC here
(tests/unit/test_module_contract.py keeps the two equal).
"""

from __future__ import annotations

import datetime
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import (
    LibvirtEdge, default_uri, uri_secrets,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import (
    STATES, DomainContext, converge, plan_live,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import (
    domain_secrets, parse_domain, parse_xml, to_document,
)

COMMON_ARGSPEC = {
    "name": {"type": "str"},
    "uuid": {"type": "str"},
    "xml": {"type": "str"},
    "uri": {"type": "str"},
    "state": {"type": "str", "default": "merged", "choices": list(STATES)},
    "live": {"type": "bool", "default": True},
    "backup": {"type": "bool", "default": False},
    "backup_dir": {"type": "path"},
}
COMMON_OPTIONS = {
    "mutually_exclusive": [["name", "uuid", "xml"], ["xml", "uri"]],
    "required_one_of": [["name", "uuid", "xml"]],
}
# How many times a define is prepared again when another writer changed the domain meanwhile.
DEFINE_ATTEMPTS = 5


def argument_spec(*areas):
    spec = dict(COMMON_ARGSPEC)
    for area in areas:
        spec.update(area.argspec())
    return spec


def run_area_module(area):
    """main() of a single-area module."""
    module = AnsibleModule(argument_spec=argument_spec(area), supports_check_mode=True, **COMMON_OPTIONS)
    params = module.params
    requests = [(area, params, params["state"])]
    result = run_requests(module, requests)
    module.exit_json(**result)


def run_multi_area_module(areas):
    """main() of domain_tuning: the areas' options under the areas' names, one read and one define."""
    spec = dict(COMMON_ARGSPEC)
    spec.update({name: {"type": "dict"} for name in areas})
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **COMMON_OPTIONS)
    params = module.params
    state = params["state"]
    chosen = [name for name in areas if params.get(name) is not None]
    if state == "gathered" and not chosen:
        chosen = list(areas)
    requests = []
    for name in chosen:
        options = _validated_area_options(module, areas[name], params[name] or {})
        requests.append((areas[name], options, state))
    if not requests:
        module.fail_json(msg="no area given: name at least one of %s" % ", ".join(areas))
    module.exit_json(**run_requests(module, requests, area_keys=True))


def _validated_area_options(module, area, given):
    """Check one area's options against that area module's own argument spec."""
    validator = ArgumentSpecValidator(area.argspec())
    checked = validator.validate(given)
    if checked.error_messages:
        messages = []
        for error in checked.errors.errors:
            text = error.msg
            if type(error).__name__ == "UnsupportedError":
                text = "unsupported option %s" % text
            messages.append(text)
        module.fail_json(msg="%s: %s" % (area.name, "; ".join(messages)))
    return checked.validated_parameters


def run_requests(module, requests, area_keys=False):
    """Converge one domain for ``requests`` [(area, params, state)] and build the results.

    ``area_keys``: nest per-area results under the area names (domain_tuning).
    """
    params = module.params
    for secret in uri_secrets(params.get("uri")):
        module.no_log_values.add(secret)
    for secret in domain_secrets(params.get("xml")):
        module.no_log_values.add(secret)
    try:
        if params.get("xml") is not None:
            outcome = _run_offline(module, requests)
        else:
            outcome = _run_connected(module, requests)
    except TuningError as exc:
        module.fail_json(msg=str(exc))
    return _results(module, requests, outcome, area_keys)


class _Outcome:
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


def _run_offline(module, requests):
    outcome = _Outcome()
    root = parse_domain(module.params["xml"], "xml")
    original = to_document(root)
    outcome.results = converge(root, requests, DomainContext)
    outcome.xml = to_document(root)
    if any(r.changed for r in outcome.results) and module.params["backup"] and not module.check_mode:
        outcome.backup_file = _write_backup(module, original, root)
    return outcome


def _run_connected(module, requests):
    params = module.params
    outcome = _Outcome()
    edge = LibvirtEdge(params.get("uri") or default_uri())
    try:
        dom = edge.lookup(params.get("name"), params.get("uuid"))
        if not edge.is_persistent(dom):
            raise TuningError("%s: the domain is transient; define it before tuning it" % dom.name())
        host_cpus = edge.host_cpus()
        hypervisor = edge.hypervisor()

        def context(root):
            return DomainContext(root, host_cpus=host_cpus, hypervisor=hypervisor, connected=True,
                                 loaders=host_loaders(edge, root))

        gathering = all(request[2] == "gathered" for request in requests)
        with _maybe_lock(edge, dom, gathering or module.check_mode):
            for _attempt in range(DEFINE_ATTEMPTS):
                original = edge.persistent_xml(dom)
                root = parse_domain(original, "the persistent XML of %s" % dom.name())
                outcome.results = converge(root, requests, context)
                steps = _after_define_steps(outcome.results, context(root))
                if not any(r.changed for r in outcome.results) or module.check_mode:
                    outcome.host_changes = [step.text for step in steps]
                    break
                new_xml = to_document(root)
                # Another writer may have changed the domain since we read it: start again from its XML.
                if edge.persistent_xml(dom) != original:
                    continue
                if params["backup"]:
                    outcome.backup_file = _write_backup(module, original, parse_domain(original))
                dom = edge.define(new_xml)
                _verify(edge, dom, outcome)
                for step in steps:
                    edge.run(dom, step)
                    outcome.host_changes.append(step.text)
                break
            else:
                raise TuningError("%s kept changing while it was being tuned (%d attempts); try again"
                                  % (dom.name(), DEFINE_ATTEMPTS))
            outcome.running = edge.is_active(dom)
            if outcome.running and not gathering:
                live_root = parse_domain(edge.live_xml(dom), "the live XML of %s" % dom.name())
                ops, restart, pending = plan_live(outcome.results, live_root, context(root))
                outcome.pending = pending
                outcome.restart_required = restart
                if params["live"]:
                    for op in ops:
                        if not module.check_mode:
                            try:
                                edge.run(dom, op)
                            except TuningError as exc:
                                done = ", ".join(outcome.live_changes) or "nothing"
                                raise TuningError("%s. The persistent definition is updated; live so far: %s; "
                                                  "the rest applies at the next start" % (exc, done))
                        outcome.live_changes.append(op.text)
                elif ops:
                    outcome.restart_required = True
                    outcome.pending.extend(op.text for op in ops)
    finally:
        edge.close()
    return outcome


def _after_define_steps(results, ctx):
    steps = []
    for result in results:
        if result.changed and result.area.after_define is not None:
            steps.extend(result.area.after_define(result, ctx))
    return steps


def host_loaders(edge, root):
    """Lazy host facts for the rules of DomainContext.host()."""
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

    def free_pages(size_kib):
        return edge.free_pages(size_kib)

    def lib_version():
        return edge.lib_version()

    def live_migratable():
        # The running guest as it was asked for: QEMU-expanded parts (the CPU) as defined.
        dom = edge.lookup(uuid=root.findtext("uuid"))
        return parse_domain(edge.live_xml_migratable(dom), "the migratable live XML of %s" % dom.name())

    return {"capabilities": capabilities, "domain_capabilities": domain_capabilities, "free_pages": free_pages,
            "lib_version": lib_version, "live_migratable": live_migratable}


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _maybe_lock(edge, dom, skip):
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
                result.area.name, name, field.present(held.get(name)), field.present(result.target.get(name))))


def _write_backup(module, original_xml, root):
    directory = module.params.get("backup_dir") or _default_backup_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    name = (root.findtext("name") or "domain").replace("/", "_")
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S.%f")
    path = os.path.join(directory, "%s.%s.xml" % (name, stamp))
    # The backup holds the whole definition, secrets included: readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(original_xml)
    return path


def _default_backup_dir():
    if os.geteuid() == 0:
        return "/var/lib/virtuned-libvirt/backups"
    return os.path.join(os.path.expanduser("~"), ".cache", "virtuned-libvirt", "backups")


def _results(module, requests, outcome, area_keys):
    result = {
        "changed": any(r.changed for r in outcome.results) or bool(outcome.live_changes),
        "live_changes": outcome.live_changes,
        "restart_required": outcome.restart_required,
    }
    if outcome.pending:
        result["pending_restart"] = outcome.pending
    if outcome.host_changes:
        result["host_changes"] = outcome.host_changes
    if outcome.backup_file:
        result["backup_file"] = outcome.backup_file
    if outcome.xml is not None:
        result["xml"] = outcome.xml
    for warning in outcome.warnings + [w for r in outcome.results for w in r.warnings]:
        module.warn(warning)
    per_area = {}
    diffs = []
    for r in outcome.results:
        entry = {}
        if r.state == "gathered":
            entry["gathered"] = r.area.present(r.current)
        else:
            entry["before"] = r.area.present(r.current)
            entry["after"] = r.area.present(r.target)
        per_area[r.area.name] = entry
        if r.state != "gathered":
            diffs.append({"before_header": "%s (persistent)" % r.area.name, "after_header": "%s (persistent)" % r.area.name,
                          "before": r.before_xml, "after": r.after_xml})
    if area_keys:
        for name, entry in per_area.items():
            for key, value in entry.items():
                result.setdefault(key, {})[name] = value
    else:
        result.update(per_area[requests[0][0].name])
    if module._diff and diffs:
        result["diff"] = diffs if len(diffs) > 1 else diffs[0]
    return result
