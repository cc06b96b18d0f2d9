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

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import uri_secrets
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import STATES
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import domain_secrets
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.apply import apply_connected, apply_offline
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
}
COMMON_OPTIONS = {
    "mutually_exclusive": [["name", "uuid", "xml"], ["xml", "uri"]],
    "required_one_of": [["name", "uuid", "xml"]],
}


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
            outcome = apply_offline(params, requests, module.check_mode)
        else:
            outcome = apply_connected(params, requests, module.check_mode)
    except TuningError as exc:
        module.fail_json(msg=str(exc))
    result, warnings = build_results(outcome, requests, area_keys, diff=module._diff)
    for warning in warnings:
        module.warn(warning)
    return result
