# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every tuning module shares: the common options, and the Ansible side of one run.

An area module is DOCUMENTATION plus ``run_area_module(AREA)``. The options
documented in plugins/doc_fragments/domain_tuning.py are COMMON_ARGSPEC here
(tests/unit/plugins/module_utils/runner/test_module_contract.py keeps the two equal).
The run itself is runner/apply.py; its result, runner/results.py.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.guarded_module import GuardedModule, screen_arguments
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.uri import uri_secrets
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import STATES
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import domain_secrets, parse_domain
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.apply import (
    DefineRefused, apply_connected, apply_define, apply_offline,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.restart import (
    RESTART_CHOICES, SHUTDOWN_TIMEOUT, check_restart_options, guest_restart,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.results import build_results

COMMON_ARGSPEC = {
    "name": {"type": "str"},
    "uuid": {"type": "str"},
    "xml": {"type": "str"},
    "uri": {"type": "str"},
    "state": {"type": "str", "default": "merged", "choices": list(STATES)},
    "live": {"type": "bool", "default": True},
    "backup": {"type": "bool", "default": False},
    "backup_dir": {"type": "path"},
    "dest": {"type": "path"},
    "restart": {"type": "str", "default": "never", "choices": list(RESTART_CHOICES)},
    "shutdown_timeout": {"type": "int", "default": SHUTDOWN_TIMEOUT, "aliases": ["restart_timeout"]},
    "force_off": {"type": "bool", "default": False},
}
COMMON_OPTIONS = {
    "mutually_exclusive": [["name", "uuid", "xml"], ["xml", "uri"]],
    "required_one_of": [["name", "uuid", "xml"]],
    "required_by": {"dest": "xml"},
}


def argument_spec(*areas):
    spec = dict(COMMON_ARGSPEC)
    for area in areas:
        spec.update(area.argspec())
    return spec


def run_area_module(area):
    """main() of a single-area module."""
    module = GuardedModule(argument_spec=argument_spec(area), supports_check_mode=True, **COMMON_OPTIONS)
    params = module.params
    _check_restart_options(module)
    requests = [(area, params, params["state"])]
    result = run_requests(module, requests)
    module.exit_json(**result)


def _check_restart_options(module):
    """Fail on a bad shutdown_timeout (named as the task spelled it) or a restart asked of an offline run."""
    problem = check_restart_options(module.params)
    if problem and "restart_timeout" in module.params and problem.startswith("shutdown_timeout:"):
        problem = "restart_timeout" + problem[len("shutdown_timeout"):]
    if problem:
        module.fail_json(msg=problem)


# domain_tuning's own options (plugins/modules/domain_tuning.py documents them): one call for many guests.
def multi_area_spec(areas):
    """The argument spec and options of domain_tuning: the common options, the areas, and ``guests``."""
    spec = dict(COMMON_ARGSPEC)
    spec.update({name: {"type": "dict"} for name in areas})
    guest = {"name": {"type": "str"}, "uuid": {"type": "str"},
             "state": {"type": "str", "choices": list(STATES)}, "restart": {"type": "raw"},
             "force_off": {"type": "bool"}}
    guest.update({name: {"type": "dict"} for name in areas})
    spec["guests"] = {"type": "list", "elements": "dict", "options": guest,
                      "mutually_exclusive": [["name", "uuid"]], "required_one_of": [["name", "uuid"]]}
    spec["define"] = {"type": "bool", "default": False}
    options = {
        # xml and uri together only with define: run_multi_area_module checks that pair
        "mutually_exclusive": [["name", "uuid", "xml", "guests"]],
        "required_one_of": [["name", "uuid", "xml", "guests"]],
        "required_by": COMMON_OPTIONS["required_by"],
        "required_if": [["define", True, ["xml"]]],
    }
    return spec, options


def run_multi_area_module(areas):
    """main() of domain_tuning: the areas' options under the areas' names, one read and one define."""
    spec, options = multi_area_spec(areas)
    module = GuardedModule(argument_spec=spec, supports_check_mode=True, **options)
    params = module.params
    _check_restart_options(module)
    if params["define"] and params.get("dest") is not None:
        module.fail_json(msg="parameters are mutually exclusive: define|dest")
    if not params["define"] and params.get("xml") is not None and params.get("uri") is not None:
        module.fail_json(msg="parameters are mutually exclusive: xml|uri (a uri with xml needs define: true)")
    if params.get("guests") is not None:
        module.exit_json(**run_guests_module(module, areas))
    state = params["state"]
    requests = _area_requests(module, areas, params, state, "")
    module.exit_json(**run_requests(module, requests, area_keys=True))


def _area_requests(module, areas, given, state, where):
    """[(area, validated options, state)] of the areas named in ``given``; a clear failure when there are none.

    An area's dictionary may hold its own ``state`` (merged | replaced | deleted | gathered); ``state``
    is the default.
    """
    chosen = [name for name in areas if given.get(name) is not None]
    if state == "gathered" and not chosen:
        chosen = list(areas)
    requests = []
    for name in chosen:
        options = dict(given.get(name) or {})
        area_state = state
        if "state" in options:
            area_state = options.pop("state")
            if area_state is None:
                area_state = state
            elif area_state not in STATES:
                module.fail_json(msg="%s%s.state: %s is not valid: expected one of %s" % (
                    where, name, _shown(area_state), ", ".join(STATES)))
        options = _validated_area_options(module, areas[name], options, where)
        requests.append((areas[name], options, area_state))
    if not requests:
        module.fail_json(msg="%sno area given: name at least one of %s" % (where, ", ".join(areas)))
    return requests


def run_guests_module(module, areas):
    """domain_tuning with ``guests``: every guest's options checked first, then each guest converged in turn."""
    from ansible_collections.virtuned.libvirt.plugins.module_utils.runner import batch

    params = module.params
    given_areas = [name for name in areas if params.get(name) is not None]
    if given_areas:
        module.fail_json(msg="%s: not valid with guests: give the area options of each guest in its entry"
                         % ", ".join(given_areas))
    for secret in uri_secrets(params.get("uri")):
        module.no_log_values.add(secret)
    guests, names = [], {}
    for index, guest in enumerate(params["guests"]):
        label = guest.get("name") or guest.get("uuid")
        where = "guests[%d] (%s): " % (index, label)
        if label in names:
            module.fail_json(msg="%s%s is also guests[%d]: each guest is given once" % (where, label, names[label]))
        names[label] = index
        try:
            restart, force_off = guest_restart(guest.get("restart"), guest.get("force_off"), "guests[%d]" % index,
                                               (params["restart"], params["force_off"]))
        except TuningError as exc:
            module.fail_json(msg=str(exc))
        requests = _area_requests(module, areas, guest, guest.get("state") or params["state"], where)
        guests.append(({"name": guest.get("name"), "uuid": guest.get("uuid"), "restart": restart,
                        "force_off": force_off}, requests))
    common = {key: params.get(key) for key in ("uri", "live", "backup", "backup_dir", "shutdown_timeout")}
    try:
        runs = batch.run_guests(common, guests, module.check_mode, module._diff)
    except TuningError as exc:
        module.fail_json(msg=str(exc))
    result, warnings, failure = batch.batch_result(runs, module._diff)
    for warning in warnings:
        module.warn(warning)
    if failure is not None:
        module.fail_json(msg=failure, **result)
    return result


def _validated_area_options(module, area, given, where=""):
    """Check one area's options against that area module's own argument spec (``where``: the guest's label)."""
    problem = screen_arguments(area.argspec(), given, area.name + ".")
    if problem and where:
        problem = where + problem
    if problem:
        module.fail_json(msg=problem)
    validator = ArgumentSpecValidator(area.argspec())
    checked = validator.validate(given)
    if checked.error_messages:
        messages = []
        for error in checked.errors.errors:
            text = error.msg
            if type(error).__name__ == "UnsupportedError":
                text = "unsupported option %s" % text
            messages.append(text)
        module.fail_json(msg="%s%s: %s" % (where, area.name, "; ".join(messages)))
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
        if params.get("define"):
            outcome = apply_define(params, requests, module.check_mode)
        elif params.get("xml") is not None:
            outcome = apply_offline(params, requests, module.check_mode)
        else:
            outcome = apply_connected(params, requests, module.check_mode)
    except DefineRefused as exc:
        module.fail_json(msg=str(exc), changed=False)
    except TuningError as exc:
        module.fail_json(msg=str(exc))
    result, warnings = build_results(outcome, requests, area_keys, diff=module._diff)
    if params.get("define"):
        _define_results(outcome, result, module._diff)
    for warning in warnings:
        module.warn(warning)
    if outcome.failed is not None:
        module.fail_json(msg=outcome.failed, **result)
    return result


def _shown(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _define_results(outcome, result, diff):
    """domain_tuning with define: RV(defined), and the whole new definition as the first diff."""
    result["defined"] = outcome.new_definition is not None
    if outcome.new_definition is None:
        return
    result["changed"] = True
    if diff:
        name = parse_domain(outcome.new_definition, "the new definition").findtext("name")
        whole = {"before_header": "%s (not defined)" % name, "before": "",
                 "after_header": "%s (new definition)" % name, "after": outcome.new_definition}
        areas = result.get("diff", [])
        result["diff"] = [whole] + (areas if isinstance(areas, list) else [areas])
