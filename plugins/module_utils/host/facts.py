# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where host_info and numa_plan get the host from: libvirt, or XML given offline.

The libvirt calls go through libvirt_edge; everything else is pure, in
host_topology and numa_planner.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host


def read_host(uri=None, capabilities_xml=None, sysfs_root=None, proc_root=None):
    """The ``host`` dict, offline from ``capabilities_xml`` or connected through ``uri``.

    Nothing is written through the connection.
    """
    if capabilities_xml is not None:
        return build_host(capabilities_xml, sysfs_root=sysfs_root, proc_root=proc_root)
    # imported here so that the offline path needs no libvirt binding
    from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import LibvirtEdge
    edge = LibvirtEdge(uri)
    try:
        caps = edge.capabilities()
        try:
            domcaps = edge.domain_capabilities()
        except TuningError:
            # the test driver and read-only connections have none: the summary is then null
            domcaps = None
        return build_host(caps, sysfs_root=sysfs_root or "/sys", proc_root=proc_root or "/proc",
                          domain_capabilities_xml=domcaps)
    finally:
        edge.close()
