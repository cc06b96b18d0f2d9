"""cpu_model on a booted KVM guest: changes wait for a restart and then take effect; the host is consulted."""

import libvirt

from conftest import run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.cpu_model import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

NAME = "vt-it-cpu-model"
TOPOLOGY = {"sockets": 1, "cores": 2, "threads": 2}
FEATURES = [{"name": "vmx", "policy": "disable"}]


def cpu(dom, flags=libvirt.VIR_DOMAIN_XML_MIGRATABLE):
    """The guest CPU as defined (the plain live XML holds QEMU's expansion of it)."""
    values = AREA.read(parse_domain(dom.XMLDesc(flags)))
    return AREA.to_options(values)


def cpu_model(check_mode=False, **args):
    return run_module("cpu_model", dict(args, uri="qemu:///system", name=NAME), check=check_mode)


def test_cpu_model_waits_for_a_restart(guests):
    dom = guests(NAME, vcpus=4)
    before = cpu(dom, libvirt.VIR_DOMAIN_XML_INACTIVE)

    check = cpu_model(topology=TOPOLOGY, features=FEATURES, check_mode=True)
    assert (check["changed"], check["restart_required"], check["live_changes"]) == (True, True, [])
    assert cpu(dom, libvirt.VIR_DOMAIN_XML_INACTIVE) == before

    result = cpu_model(topology=TOPOLOGY, features=FEATURES)
    assert (result["changed"], result["restart_required"], result["live_changes"]) == (True, True, [])
    assert result["pending_restart"] == ["cpu_model.topology", "cpu_model.features"]
    persistent = cpu(dom, libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert persistent["topology"] == {"sockets": 1, "dies": 1, "cores": 2, "threads": 2}
    assert persistent["features"] == [{"name": "vmx", "policy": "disable"}]
    assert "topology" not in cpu(dom)

    again = cpu_model(topology=TOPOLOGY, features=FEATURES)
    assert (again["changed"], again["restart_required"]) == (False, True)

    dom.destroy()
    dom.create()
    assert "<topology sockets='1' dies='1' cores='2' threads='2'/>" in dom.XMLDesc(0)
    live = cpu(dom)
    assert live["topology"] == {"sockets": 1, "dies": 1, "cores": 2, "threads": 2}
    assert live["features"] == [{"name": "vmx", "policy": "disable"}]
    after = cpu_model(topology=TOPOLOGY, features=FEATURES)
    assert (after["changed"], after["restart_required"], after["live_changes"]) == (False, False, [])
    gathered = cpu_model(state="gathered")["gathered"]
    replaced = cpu_model(state="replaced", **gathered)
    assert replaced.get("changed") is False, replaced


def test_host_refuses_what_it_cannot_do(guests):
    guests(NAME, vcpus=4, start=False)
    unknown = cpu_model(model={"name": "NoSuchCPU-v9"})
    assert unknown["failed"] is True
    assert unknown["msg"].startswith("model.name: 'NoSuchCPU-v9' is not valid on this host: its hypervisor offers ")
    assert "kvm64" in unknown["msg"]
    version = libvirt.getVersion()
    clusters = cpu_model(topology={"sockets": 1, "clusters": 2, "cores": 2, "threads": 1})
    if version < 10001000:
        assert clusters["msg"] == (
            "topology.clusters: not valid here: libvirt %d.%d.%d on this host does not know clusters (needs libvirt "
            "10.1.0 or later); leave clusters out" % (version // 1000000, version // 1000 % 1000, version % 1000))
    else:
        assert clusters["changed"] is True
