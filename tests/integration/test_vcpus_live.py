"""vcpus on a booted KVM guest: vCPU hot-plug by count and by id, check mode, a maximum that waits for a restart."""

import libvirt

from conftest import run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.vcpus import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

NAME = "vt-it-vcpus"
LIVE, CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG
MAXIMUM = libvirt.VIR_DOMAIN_VCPU_MAXIMUM


def online(dom, flags=0):
    """Enabled vCPU ids as libvirt reports them (live XML by default)."""
    root = parse_domain(dom.XMLDesc(flags))
    values = AREA.read(root)
    if values["vcpus"]:
        return [item["id"] for item in values["vcpus"] if item["enabled"]]
    return list(range(values["current"] or values["maximum"]))


def vcpus(name, **args):
    return run_module("vcpus", dict(args, uri="qemu:///system", name=name))


def test_hotplug_by_count_then_by_id(guests):
    dom = guests(NAME, vcpus=4, current=1)

    check = run_module("vcpus", {"uri": "qemu:///system", "name": NAME, "current": 2}, check=True)
    assert (check["changed"], check["live_changes"], check["restart_required"]) == (
        True, ["set the number of vCPUs to 2"], False)
    assert dom.vcpusFlags(LIVE) == 1 and dom.vcpusFlags(CONFIG) == 1

    result = vcpus(NAME, current=2)
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (
        True, ["set the number of vCPUs to 2"], False)
    assert dom.vcpusFlags(LIVE) == 2 and dom.vcpusFlags(CONFIG) == 2
    assert vcpus(NAME, current=2)["changed"] is False

    # exact ids: vCPU 3 is plugged, vCPU 2 stays out
    result = vcpus(NAME, vcpus=[{"id": 3, "enabled": True}])
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (True, ["enable vCPUs 3"], False)
    assert online(dom) == [0, 1, 3]
    assert online(dom, libvirt.VIR_DOMAIN_XML_INACTIVE) == [0, 1, 3]
    assert dom.vcpusFlags(LIVE) == 3 and dom.vcpusFlags(CONFIG) == 3
    again = vcpus(NAME, vcpus=[{"id": 3, "enabled": True}])
    assert (again["changed"], again["live_changes"], again["restart_required"]) == (False, [], False)

    gathered = vcpus(NAME, state="gathered")["gathered"]
    assert vcpus(NAME, state="replaced", **gathered)["changed"] is False


def test_raising_maximum_waits_for_a_restart(guests):
    dom = guests(NAME + "-max", vcpus=2)
    result = vcpus(NAME + "-max", maximum=4, current=3)
    assert result["changed"] is True
    assert result["restart_required"] is True
    assert result["pending_restart"] == ["vcpus.maximum", "vcpus.current"]
    assert result["pending_reasons"] == {
        "vcpus.maximum": "the maximum number of vCPUs changes at the next boot",
        "vcpus.current": "3 vCPUs need the new maximum, which applies at the next boot"}
    assert dom.vcpusFlags(LIVE | MAXIMUM) == 2
    assert dom.vcpusFlags(CONFIG | MAXIMUM) == 4 and dom.vcpusFlags(CONFIG) == 3
    again = vcpus(NAME + "-max", maximum=4, current=3)
    assert (again["changed"], again["restart_required"]) == (False, True)

    dom.destroy()
    dom.create()
    assert dom.vcpusFlags(LIVE | MAXIMUM) == 4 and dom.vcpusFlags(LIVE) == 3
    after = vcpus(NAME + "-max", maximum=4, current=3)
    assert (after["changed"], after["restart_required"], after["live_changes"]) == (False, False, [])
