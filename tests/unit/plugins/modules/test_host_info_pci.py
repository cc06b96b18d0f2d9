# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_info's PCI devices: from node-device XML offline (nodedev_xml), from libvirt's node devices connected."""

from __future__ import annotations

import subprocess

import pytest

import fakehost
from conftest import run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import LibvirtEdge
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import LibvirtCallError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.facts import read_host
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import parse_nodedevs

NIC_HOST = [
    {"address": "0000:00:17.0", "numa_node": None, "class": "0x010601", "vendor": "0x8086", "product": "0xa352",
     "driver": "ahci", "physical_function": None, "virtual_functions": []},
    {"address": "0000:17:00.0", "numa_node": 0, "class": "0x030200", "vendor": "0x10de", "product": "0x20b5",
     "driver": "vfio-pci", "physical_function": None, "virtual_functions": []},
    {"address": "0000:3b:00.0", "numa_node": 1, "class": "0x020000", "vendor": "0x8086", "product": "0x1572",
     "driver": "i40e", "physical_function": None, "virtual_functions": ["0000:3b:02.0", "0000:3b:02.1"]},
    {"address": "0000:3b:02.0", "numa_node": 1, "class": "0x020000", "vendor": "0x8086", "product": "0x154c",
     "driver": "vfio-pci", "physical_function": "0000:3b:00.0", "virtual_functions": []},
    {"address": "0000:3b:02.1", "numa_node": 1, "class": "0x020000", "vendor": "0x8086", "product": "0x154c",
     "driver": "vfio-pci", "physical_function": "0000:3b:00.0", "virtual_functions": []},
]
NOT_PCI = """<device>
  <name>net_eth0_52_54_00_12_34_56</name>
  <parent>pci_0000_00_03_0</parent>
  <capability type='net'><interface>eth0</interface><address>52:54:00:12:34:56</address></capability>
</device>"""


def test_offline_nodedev_xml_gives_the_pci_devices_of_a_two_node_host():
    devices = fakehost.load_nodedevs("two-node-nic")
    result = run_module("host_info", {"capabilities_xml": fakehost.load_capabilities("two-node-nic"),
                                      "nodedev_xml": list(reversed(devices)) + [NOT_PCI]})
    assert (result["changed"], result["host"]["pci_devices"]) == (False, NIC_HOST)
    assert "warnings" not in result


def test_offline_without_nodedev_xml_the_devices_are_not_known():
    result = run_module("host_info", {"capabilities_xml": fakehost.load_capabilities("two-node-nic")})
    assert "pci_devices" not in result["host"]
    empty = run_module("host_info", {"capabilities_xml": fakehost.load_capabilities("two-node-nic"), "nodedev_xml": []})
    assert empty["host"]["pci_devices"] == []


@pytest.mark.parametrize("documents, message", [
    (["<device><name>x</name>"], "nodedev_xml[0]: not well-formed XML: "),
    ([NOT_PCI, "<capabilities/>"], "nodedev_xml[1]: 'capabilities' is not valid: the root element must be <device> "
                                   "(virsh nodedev-dumpxml)"),
])
def test_bad_nodedev_xml_is_refused_by_item(documents, message):
    result = run_module("host_info", {"capabilities_xml": fakehost.load_capabilities("two-node-nic"),
                                      "nodedev_xml": documents})
    assert result["failed"] is True
    if message.endswith(": "):
        # the tail is libxml2's own parser message, which changes between versions
        assert result["msg"].startswith(message)
    else:
        assert result["msg"] == message


def test_connected_reads_libvirts_pci_node_devices():
    # the test driver has node devices but no PCI ones
    result = run_module("host_info", {"uri": "test:///default"})
    assert result["host"]["pci_devices"] == []
    given = run_module("host_info", {"uri": "test:///default", "nodedev_xml": fakehost.load_nodedevs("two-node-nic")})
    assert given["host"]["pci_devices"] == NIC_HOST


def test_a_libvirt_that_will_not_list_node_devices_leaves_them_unknown_with_a_warning(monkeypatch):
    def refuse(self):
        raise LibvirtCallError("libvirt refused listing the host's PCI node devices: this function is not supported "
                               "by the connection driver: virConnectListAllNodeDevices")
    monkeypatch.setattr(LibvirtEdge, "pci_node_devices", refuse)
    # asserted at read_host: an in-process module's warnings reach stdout or stderr depending on the
    # Ansible display mode other tests left behind
    warnings = []
    host = read_host(uri="test:///default", warnings=warnings)
    assert "pci_devices" not in host
    assert warnings == [
        "host.pci_devices is not reported: libvirt refused listing the host's PCI node devices: this function is not "
        "supported by the connection driver: virConnectListAllNodeDevices"]
    result = run_module("host_info", {"uri": "test:///default"})
    assert (result["changed"], "pci_devices" in result["host"]) == (False, False)


def _virsh(*args):
    try:
        return subprocess.run(["virsh", "-c", "qemu:///system"] + list(args), capture_output=True,
                              text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None


@pytest.mark.skipif(_virsh("uri") is None, reason="no libvirt daemon at qemu:///system")
def test_this_host_pci_devices_are_virshs():
    names = _virsh("nodedev-list", "--cap", "pci").split()
    expected = parse_nodedevs([_virsh("nodedev-dumpxml", name) for name in names])
    result = run_module("host_info", {"uri": "qemu:///system"})
    assert result["host"]["pci_devices"] == expected
    assert [d["address"] for d in expected] == sorted(
        "%s:%s:%s.%s" % tuple(name.split("_")[1:]) for name in names)
    assert len(expected) >= 1


@pytest.mark.skipif(_virsh("uri") is None, reason="no libvirt daemon at qemu:///system")
def test_numa_plan_on_this_host_places_by_its_pci_devices():
    name = _virsh("nodedev-list", "--cap", "pci").split()[0]
    device = parse_nodedevs([_virsh("nodedev-dumpxml", name)])[0]
    guest = {"name": "nic", "vcpus": 1, "memory": "128M", "pci_devices": [name]}
    preferred = run_module("numa_plan", {"uri": "qemu:///system", "existing": [], "guests": [
        dict(guest, pci_numa_policy="preferred")]})["plan"][0]
    assert (preferred["fits"], preferred["pci_devices"]) == (
        True, [{"address": device["address"], "numa_node": device["numa_node"]}])
    if device["numa_node"] is None:
        # a host that does not say where the device is (this VM): required cannot be met
        required = run_module("numa_plan", {"uri": "qemu:///system", "existing": [], "guests": [
            dict(guest, pci_numa_policy="required")]})["plan"][0]
        assert (required["fits"], required["reason"]) == (
            False, "PCI device %s reports no NUMA node; pci_numa_policy required needs one" % device["address"])
