"""tuning_info module: every area's gathered data offline, area discovery, and the test driver's runtime."""

import os

import pytest

from conftest import ROOT, fixture_text, run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.report import discover_areas

BASE = fixture_text("guest-minimal.xml").replace("<name>vt-probe</name>", "<name>vt-info</name>")


def tuned_xml():
    """The fixture guest with memory and NUMA tuning on top."""
    xml = run_module("numa", {"xml": BASE, "cells": [{"id": 0, "cpus": "0-3", "memory": "128M"}],
                              "numatune": {"memory": {"nodeset": 0}}})["xml"]
    xml = run_module("memtune", {"xml": xml, "soft_limit": "64M"})["xml"]
    xml = run_module("memory_backing", {"xml": xml, "hugepages": [{"size": "2M"}]})["xml"]
    return run_module("cputune", {"xml": xml, "vcpupin": [{"vcpu": 0, "cpuset": 1}]})["xml"]


def test_every_area_module_is_discovered_and_shipped():
    areas_dir = os.path.join(ROOT, "plugins", "module_utils", "areas")
    with_area = sorted(name[:-3] for name in os.listdir(areas_dir)
                       if name.endswith(".py") and "\nAREA = " in open(os.path.join(areas_dir, name)).read())
    assert sorted(discover_areas()) == with_area
    # AnsiballZ ships only what is imported statically: every area must be in the registry
    assert sorted(AREAS) == with_area
    for name in with_area:
        assert os.path.exists(os.path.join(ROOT, "plugins", "modules", name + ".py")), name


def test_offline_report_is_each_modules_gathered():
    xml = tuned_xml()
    result = run_module("tuning_info", {"xml": xml})
    assert result["changed"] is False
    assert result["guest"] == result["guests"][0]
    guest = result["guest"]
    assert (guest["name"], guest["uuid"]) == ("vt-info", None)
    assert set(guest) == {"name", "uuid", "areas", "profile"}
    assert guest["profile"] is None
    assert sorted(guest["areas"]) == sorted(AREAS)
    for name in AREAS:
        assert guest["areas"][name] == run_module(name, {"xml": xml, "state": "gathered"})["gathered"], name
    assert guest["areas"]["memtune"] == {"soft_limit": "64 MiB"}
    assert guest["areas"]["numa"] == {"numatune": {"memory": {"nodeset": "0"}},
                                      "cells": [{"id": 0, "cpus": "0-3", "memory": "128 MiB"}]}
    assert guest["areas"]["memory_backing"] == {"hugepages": [{"size": "2 MiB"}]}
    assert guest["areas"]["memory_devices"] == {"memory": "128 MiB"}


def test_offline_secrets_never_appear():
    result = run_module("tuning_info", {"xml": BASE})
    assert "s3cret" not in repr(result)


@pytest.mark.parametrize("args, message", [
    ({"name": "a", "names": ["b"]}, "parameters are mutually exclusive: name|uuid|names|xml"),
    ({"xml": "<domain>", "uri": "test:///default"}, "parameters are mutually exclusive: xml|uri"),
    ({"xml": "<network/>"}, "xml: expected a <domain> document, found <network>"),
])
def test_refusals(args, message):
    result = run_module("tuning_info", args)
    assert (result["failed"], result["msg"]) == (True, message)


# --------------------------------------------------------------------------- test driver

def test_test_driver_guests_runtime_and_drift(testdriver):
    import libvirt
    conn, created = testdriver
    xml = tuned_xml().replace("<name>vt-info</name>", "<name>vt-ut-info</name>").replace("passwd=\"********\"", "")
    dom = conn.defineXML(xml)
    created.append("vt-ut-info")

    stopped = run_module("tuning_info", {"uri": "test:///default", "name": "vt-ut-info"})["guest"]
    assert (stopped["state"], stopped["running"], stopped["persistent"]) == ("shut off", False, True)
    assert (stopped["runtime"], stopped["drift"]) == ({}, [])
    assert stopped["areas"]["memtune"] == {"soft_limit": "64 MiB"}
    # libvirt writes the default mode itself; gathered shows what libvirt holds
    assert stopped["areas"]["numa"]["numatune"] == {"memory": {"mode": "strict", "nodeset": "0"}}

    dom.create()
    dom.setMemoryParameters({"soft_limit": 32768}, libvirt.VIR_DOMAIN_AFFECT_LIVE)  # the running guest only
    running = run_module("tuning_info", {"uri": "test:///default", "uuid": dom.UUIDString()})["guest"]
    assert (running["state"], running["running"]) == ("running", True)
    assert {"area": "memtune", "option": "soft_limit", "persistent": "64 MiB", "live": "32 MiB"} in running["drift"]
    assert running["live_areas"]["memtune"] == {"soft_limit": "32 MiB"}
    assert running["runtime"]["memory_parameters"]["soft_limit"] == "32 MiB"
    assert running["runtime"]["vcpu_counts"] == {"maximum": 4, "current": 2, "live_maximum": 4, "live_current": 2}
    assert running["runtime"]["emulator_affinity"]
    # the test driver refuses scheduler parameters with flags: reported, not fatal
    assert running["unavailable"] == {
        "scheduler": "libvirt refused reading the scheduler parameters of vt-ut-info: "
                     "unsupported flags (0x5) in function testDomainGetSchedulerParametersFlags"}
    assert sorted(running["runtime"]) == ["emulator_affinity", "iothread_affinity", "memory_parameters",
                                          "numa_parameters", "vcpu_affinity", "vcpu_counts"]

    # the test driver's own guest "test", and ours; every other test undefines the guests it defines
    everyone = run_module("tuning_info", {"uri": "test:///default"})["guests"]
    assert [guest["name"] for guest in everyone] == ["test", "vt-ut-info"]
    assert "guest" not in run_module("tuning_info", {"uri": "test:///default", "names": ["vt-ut-info"]})
    missing = run_module("tuning_info", {"uri": "test:///default", "names": ["vt-ut-info", "vt-nowhere"]})
    assert missing["failed"] is True
    # the tail is libvirt's own error text, which changes between libvirt versions
    assert missing["msg"].startswith("name: no domain 'vt-nowhere' on test:///default: ")


def test_many_guests_are_read_in_batches_with_the_same_report(testdriver):
    from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.batch import BatchedReads
    from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import LibvirtEdge
    from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.report import discover_areas, guest_report
    conn, created = testdriver
    base = tuned_xml().replace("passwd=\"********\"", "")
    for number in range(3):
        name = "vt-ut-batch-%d" % number
        dom = conn.defineXML(base.replace("<name>vt-info</name>", "<name>%s</name>" % name))
        created.append(name)
        if number == 1:
            dom.create()
    edge = LibvirtEdge("test:///default")
    try:
        domains = sorted(edge.list_domains(), key=lambda dom: dom.name())
        areas = discover_areas()
        one_by_one = [guest_report(edge, dom, areas) for dom in domains]
        batched = BatchedReads(edge, domains)
        assert [guest_report(batched, dom, areas) for dom in domains] == one_by_one
        assert [(g["name"], g["state"], g["persistent"]) for g in one_by_one] == [
            ("test", "running", True), ("vt-ut-batch-0", "shut off", True), ("vt-ut-batch-1", "running", True),
            ("vt-ut-batch-2", "shut off", True)]
    finally:
        edge.close()


def test_effective_needs_a_qemu_connection(testdriver):
    conn, created = testdriver
    report = run_module("tuning_info", {"uri": "test:///default", "name": "test", "effective": True})["guest"]
    assert (report["effective"], report["effective_drift"], report["unavailable"]["effective"]) == (
        {}, [], "effective: true reads QEMU processes; this connection's hypervisor is test")
    assert "effective" not in run_module("tuning_info", {"uri": "test:///default", "name": "test"})["guest"]
