# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What rules read of a domain's vCPUs and iothreads (pure): the one reader of these facts.

Areas own their XML; when a rule needs another area's facts (the vCPU maximum for a pin, the
iothread ids for a disk) it reads them here, not through the other area's XPath.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import find_path

TOPOLOGY = ("sockets", "dies", "clusters", "cores", "threads")


def max_vcpus(root):
    """The guest's vCPU maximum (<vcpu>), 1 when absent or unreadable."""
    elem = find_path(root, "vcpu")
    text = (elem.text or "1").strip() if elem is not None else "1"
    try:
        return int(text)
    except ValueError:
        return 1


def vcpu_cpuset(root):
    """The default affinity of the guest's vCPUs (<vcpu cpuset=...>), or None."""
    elem = find_path(root, "vcpu")
    return elem.get("cpuset") if elem is not None else None


def iothread_ids(root):
    """The iothread ids the guest defines (<iothreadids>, else 1..<iothreads>)."""
    ids = set()
    for elem in root.findall("iothreadids/iothread"):
        try:
            ids.add(int(elem.get("id")))
        except (TypeError, ValueError):
            pass
    count = find_path(root, "iothreads")
    if count is not None and (count.text or "").strip().isdigit():
        number = int(count.text.strip())
        # libvirt numbers the iothreads without an explicit id after the explicit ones
        candidate = 1
        while len(ids) < number:
            if candidate not in ids:
                ids.add(candidate)
            candidate += 1
    return ids


def topology(root):
    """The CPU topology as (product, [(name, value)]) in libvirt's order, or (None, []) without one."""
    topo = find_path(root, "cpu/topology")
    if topo is None:
        return None, []
    product, parts = 1, []
    for name in TOPOLOGY:
        value = topo.get(name)
        if value is None:
            continue
        try:
            product *= int(value)
        except ValueError:
            return None, []
        parts.append((name, int(value)))
    return product, parts
