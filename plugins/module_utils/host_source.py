# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where host_info and numa_plan get the host from: libvirt, or XML given offline.

The only libvirt calls of the host side (read-only connection, capabilities,
domain capabilities, defined guests' XML). Everything else is pure, in
host_topology and numa_planner.
"""

from __future__ import annotations

import re

from ansible_collections.virtuned.libvirt.plugins.module_utils.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host_topology import build_host

_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@")


def redact_uri(uri):
    """The URI without user, password or query parameters, fit for messages."""
    text = _USERINFO.sub(r"\1", uri or "")
    return text.split("?", 1)[0]


def _silence(_ctx, _err):
    """libvirt's default handler prints every error on stderr; errors are raised instead."""


def open_connection(uri):
    """A libvirt connection (read-write when allowed, as domain capabilities need it, else read-only).

    Raises TuningError naming the redacted URI on failure. Nothing is ever written through it.
    """
    import libvirt  # pylint: disable=import-outside-toplevel
    libvirt.registerErrorHandler(_silence, None)
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError:
        pass
    try:
        return libvirt.openReadOnly(uri)
    except libvirt.libvirtError as exc:
        raise TuningError("uri: cannot connect to %s: %s" % (redact_uri(uri), exc.get_error_message()))


def read_host(uri=None, capabilities_xml=None, sysfs_root=None, proc_root=None):
    """The ``host`` dict, offline from ``capabilities_xml`` or connected through ``uri``."""
    if capabilities_xml is not None:
        return build_host(capabilities_xml, sysfs_root=sysfs_root, proc_root=proc_root)
    import libvirt  # pylint: disable=import-outside-toplevel
    conn = open_connection(uri)
    try:
        try:
            caps = conn.getCapabilities()
        except libvirt.libvirtError as exc:
            raise TuningError("uri: %s cannot report its capabilities: %s"
                              % (redact_uri(uri), exc.get_error_message()))
        try:
            domcaps = conn.getDomainCapabilities()
        except libvirt.libvirtError:
            # the test driver and some hypervisors have none: the summary is then null
            domcaps = None
        return build_host(caps, sysfs_root=sysfs_root or "/sys", proc_root=proc_root or "/proc",
                          domain_capabilities_xml=domcaps)
    finally:
        conn.close()
