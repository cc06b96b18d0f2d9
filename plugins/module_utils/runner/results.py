# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module result of one Outcome (runner/apply.py): changed, per-area values, diffs, warnings."""

from __future__ import annotations


def build_results(outcome, requests, area_keys=False, diff=False):
    """(result dict, warnings) for ``outcome``.

    ``area_keys``: nest per-area results under the area names (domain_tuning).
    """
    result = {
        "changed": any(r.changed for r in outcome.results) or bool(outcome.live_changes) or outcome.dest_changed,
        "live_changes": outcome.live_changes,
        "restart_required": outcome.restart_required,
        "restarted": outcome.restarted,
    }
    if outcome.restarted:
        result["changed"] = True
    if outcome.in_force is not None:
        result["in_force"] = outcome.in_force
    if outcome.pending:
        result["pending_restart"] = outcome.pending
    reasons = {key: text for key, text in outcome.reasons.items()
               if key in outcome.pending or key in outcome.live_pending}
    if reasons:
        result["pending_reasons"] = reasons
    if outcome.live_pending:
        result["live_pending"] = outcome.live_pending
    if outcome.dest:
        result["dest"] = outcome.dest
    if outcome.host_changes:
        result["host_changes"] = outcome.host_changes
    if outcome.failed is not None:
        # the define happened (or some live calls did): say so with the failure
        result["changed"] = outcome.defined or bool(outcome.live_changes) or outcome.restarted or outcome.stopped
    if outcome.backup_file:
        result["backup_file"] = outcome.backup_file
    if outcome.xml is not None:
        result["xml"] = outcome.xml
    warnings = outcome.warnings + [w for r in outcome.results for w in r.warnings]
    per_area = {}
    diffs = []
    for r in outcome.results:
        if r.state == "gathered":
            per_area[r.area.name] = {"gathered": r.area.to_options(r.current)}
            continue
        per_area[r.area.name] = {"before": r.area.to_options(r.current), "after": r.area.to_options(r.target)}
        diffs.append({"before_header": "%s (persistent)" % r.area.name, "after_header": "%s (persistent)" % r.area.name,
                      "before": r.before_xml, "after": r.after_xml})
    if area_keys:
        for name, entry in per_area.items():
            for key, value in entry.items():
                result.setdefault(key, {})[name] = value
    else:
        result.update(per_area[requests[0][0].name])
    if diff and diffs:
        result["diff"] = diffs if len(diffs) > 1 else diffs[0]
    return result, warnings
