# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The metadata area: what this collection records in the guest's <metadata>, under its own namespace.

    <metadata>
      <virtuned:tuning xmlns:virtuned="urn:virtuned.libvirt:tuning:1" profile="db@2"/>
    </metadata>

Only that element is this area's: other applications' elements in <metadata> (other namespaces)
are never read, changed or removed. ``profile`` is the numa_plan profile versions the guest was
placed with (plan[].metadata.profile), which guest_placements_info reads back for a re-plan.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import live_ops
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area, LiveOp
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import (
    NAMESPACE_PREFIXES, TUNING_NAMESPACE, etree, to_string,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import Attr, Str

TUNING_TAG = "tuning"
TUNING_PREFIX = NAMESPACE_PREFIXES[TUNING_NAMESPACE]
TUNING_PATH = "metadata/{%s}%s" % (TUNING_NAMESPACE, TUNING_TAG)
PROFILE_RULE = "expected profile versions: name@N, or several joined by commas (dedicated@1,db@2)"


class ProfileVersions(Str):
    """numa_plan's recorded profile: 'name@N' or 'a@1,b@2' (canonical without spaces); '' removes it."""

    def parse(self, value, option):
        text = super().parse(value, option).strip()
        if not text:
            return text
        parts, names = [], set()
        for part in text.split(","):
            name, sep, version = part.strip().partition("@")
            name = name.strip()
            if not sep or not name or any(c.isspace() for c in name) or not (version.isascii() and version.isdigit()) \
                    or int(version) < 1:
                raise option_error(option, value, PROFILE_RULE)
            if name in names:
                raise option_error(option, value, "profile %s appears twice; a guest records one version of each "
                                                  "profile" % name)
            names.add(name)
            parts.append("%s@%d" % (name, int(version)))
        return ",".join(parts)


FIELDS = [
    Attr("profile", "profile", ProfileVersions(), path=TUNING_PATH),
]


def live_profile(values, view):
    """virDomainSetMetadata on the running guest: replaces (or removes) only this namespace's element."""
    profile = values.target["profile"] or None
    if profile is None:
        return [LiveOp(live_ops.SET_METADATA, (None, TUNING_PREFIX, TUNING_NAMESPACE),
                       "remove the recorded profile from the guest's metadata")]
    # libvirt puts the element into the namespace given beside it (key, uri): it is sent without one
    element = etree.Element(TUNING_TAG, profile=profile)
    return [LiveOp(live_ops.SET_METADATA, (to_string(element), TUNING_PREFIX, TUNING_NAMESPACE),
                   "record profile %s in the guest's metadata" % profile)]


LIVE = {"profile": live_profile}

AREA = Area("metadata", FIELDS, diff_paths=[TUNING_PATH], live=LIVE,
            description="What this collection records in the guest: <metadata><virtuned:tuning>")
