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


def read_host(uri=None, capabilities_xml=None, sysfs_root=None, proc_root=None, nodedev_xml=None, warnings=None):
    """The ``host`` dict, offline from ``capabilities_xml`` or connected through ``uri``.

    PCI devices (``host.pci_devices``) come from ``nodedev_xml`` when given, else, connected, from
    libvirt's PCI node devices; offline without ``nodedev_xml`` they are not known (no key). When
    libvirt will not list them, the reason is appended to ``warnings`` and the key is left out.
    Nothing is written through the connection.
    """
    if capabilities_xml is not None:
        return build_host(capabilities_xml, sysfs_root=sysfs_root, proc_root=proc_root, nodedev_xml=nodedev_xml)
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
        if nodedev_xml is None:
            try:
                nodedev_xml = edge.pci_node_devices()
            except TuningError as exc:
                # a libvirt without its node-device driver: the host's PCI devices stay unknown
                if warnings is not None:
                    warnings.append("host.pci_devices is not reported: %s" % exc)
        return build_host(caps, sysfs_root=sysfs_root or "/sys", proc_root=proc_root or "/proc",
                          domain_capabilities_xml=domcaps, nodedev_xml=nodedev_xml)
    finally:
        edge.close()
