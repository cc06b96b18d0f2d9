"""cpu_model module: offline (xml) and on the libvirt test driver (persistent path)."""

import pytest

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.cpu_model import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

from conftest import fixture_text, run_module

BASE = fixture_text("guest-minimal.xml")  # 4 vCPUs, <cpu mode='custom' match='exact' check='none'> kvm64
NUMA = BASE.replace("</cpu>", "  <numa>\n      <cell id='0' cpus='0-3' memory='128' unit='MiB'/>\n    </numa>\n  </cpu>")
NUMA_CELLS = [{"id": "0", "cpus": "0-3", "memory": "128", "unit": "MiB"}]


def numa_cells(xml):
    """The attributes of each <cpu><numa><cell> in domain XML."""
    return [dict(cell.attrib) for cell in parse_domain(xml).findall("cpu/numa/cell")]


def test_gathered_fills_libvirt_defaults():
    assert run_module("cpu_model", {"xml": BASE, "state": "gathered"})["gathered"] == {
        "mode": "custom", "match": "exact", "check": "none", "model": {"name": "kvm64", "fallback": "forbid"}}
    bare = BASE.replace("<cpu mode='custom' match='exact' check='none'>", "<cpu>").replace(
        "<model fallback='forbid'>", "<model>")
    assert run_module("cpu_model", {"xml": bare, "state": "gathered"})["gathered"] == {
        "mode": "custom", "match": "exact", "check": "partial", "model": {"name": "kvm64", "fallback": "allow"}}


def test_topology_and_features_keep_the_numa_cells():
    result = run_module("cpu_model", {"xml": NUMA, "topology": {"sockets": 1, "cores": 2, "threads": 2},
                                      "features": [{"name": "x2apic"}, {"name": "vmx", "policy": "disable"}]})
    assert result["changed"] is True
    assert result["diff"]["before"] == ('<cpu mode="custom" match="exact" check="none">\n'
                                        '  <model fallback="forbid">kvm64</model>\n</cpu>\n')
    assert result["diff"]["after"] == (
        '<cpu mode="custom" match="exact" check="none">\n  <model fallback="forbid">kvm64</model>\n'
        '  <topology sockets="1" cores="2" threads="2"/>\n  <feature name="x2apic" policy="require"/>\n'
        '  <feature name="vmx" policy="disable"/>\n</cpu>\n')
    # the cells are kept, after the new topology and features (libvirt's order)
    assert numa_cells(result["xml"]) == NUMA_CELLS
    assert [child.tag for child in parse_domain(result["xml"]).find("cpu")] == ["model", "topology", "feature", "feature", "numa"]
    # libvirt's filled-in dies, and the default policy, compare equal
    filled = result["xml"].replace('threads="2"/>', 'threads="2" dies="1"/>').replace(
        '<feature name="x2apic"/>', '<feature policy="require" name="x2apic"/>')
    again = run_module("cpu_model", {"xml": filled, "topology": {"sockets": 1, "cores": 2, "threads": 2},
                                     "features": [{"name": "x2apic", "policy": "require"}]})
    assert again["changed"] is False


def test_gathered_then_replaced_changes_nothing():
    xml = run_module("cpu_model", {"xml": NUMA, "topology": {"sockets": 2, "cores": 2, "threads": 1},
                                   "cache": {"level": 3, "mode": "emulate"},
                                   "maxphysaddr": {"mode": "emulate", "bits": 40}})["xml"]
    gathered = run_module("cpu_model", {"xml": xml, "state": "gathered"})["gathered"]
    assert gathered["topology"] == {"sockets": 2, "cores": 2, "threads": 1}
    replaced = run_module("cpu_model", dict(gathered, xml=xml, state="replaced"))
    assert replaced["changed"] is False and replaced["xml"] == xml


def test_host_passthrough_replaces_the_model_and_deleted_leaves_numa():
    result = run_module("cpu_model", {"xml": NUMA, "state": "replaced", "mode": "host-passthrough"})
    assert result["after"] == {"mode": "host-passthrough", "check": "none", "migratable": True}
    assert result["diff"]["after"] == '<cpu mode="host-passthrough" check="none" migratable="on"/>\n'
    assert numa_cells(result["xml"]) == NUMA_CELLS
    # deleting the CPU of an x86 KVM guest leaves the CPU libvirt writes into a <cpu> without a model (qemu64):
    # that is what a define holds, so the rerun converges (issue 9); the NUMA cells stay
    default = {"mode": "custom", "match": "exact", "check": "none", "model": {"name": "qemu64", "fallback": "forbid"}}
    deleted = run_module("cpu_model", {"xml": NUMA, "state": "deleted"})
    assert deleted["after"] == default
    assert deleted["diff"]["after"] == ('<cpu mode="custom" match="exact" check="none">\n'
                                        '  <model fallback="forbid">qemu64</model>\n</cpu>\n')
    assert numa_cells(deleted["xml"]) == NUMA_CELLS
    assert run_module("cpu_model", {"xml": deleted["xml"], "state": "deleted"})["changed"] is False
    gone = run_module("cpu_model", {"xml": BASE, "state": "deleted"})
    assert gone["after"] == default


def test_deleting_one_feature():
    xml = run_module("cpu_model", {"xml": BASE, "features": [{"name": "x2apic"}, {"name": "vmx", "policy": "disable"}]})["xml"]
    result = run_module("cpu_model", {"xml": xml, "state": "deleted", "features": [{"name": "vmx"}]})
    assert result["after"]["features"] == [{"name": "x2apic", "policy": "require"}]  # as libvirt writes it


@pytest.mark.parametrize("args, message", [
    ({"topology": {"sockets": 2, "cores": 2, "threads": 2}},
     "topology: sockets 2 x cores 2 x threads 2 = 8 vCPUs does not match the guest's maximum of 4 vCPUs; "
     "change topology or vcpus.maximum"),
    ({"topology": {"sockets": 1, "cores": 4}}, "topology.threads: required: libvirt needs sockets, cores and threads"),
    ({"features": [{"name": "vmx", "policy": "sometimes"}]},
     "value of policy must be one of: force, require, optional, disable, forbid, got: sometimes "
     "found in features"),
    ({"mode": "host-model", "migratable": True},
     "migratable: not valid with mode host-model: only host-passthrough and maximum take it"),
    ({"mode": "host-passthrough"},
     "model.name: 'kvm64' is not valid with mode host-passthrough: a named model needs mode custom or host-model"),
    ({"topology": {"sockets": 0, "cores": 4, "threads": 1}}, "topology.sockets: 0 is not valid: must be at least 1"),
])
def test_refusals(args, message):
    result = run_module("cpu_model", dict(args, xml=BASE))
    assert result["failed"] is True
    assert result["msg"] == message


def test_clusters_are_written_offline():
    result = run_module("cpu_model", {"xml": BASE, "topology": {"sockets": 1, "clusters": 2, "cores": 2, "threads": 1}})
    assert result["diff"]["after"].count('clusters="2"') == 1


def test_check_mode_reports_the_same_change():
    real = run_module("cpu_model", {"xml": BASE, "mode": "host-model", "model": {"name": None}})
    check = run_module("cpu_model", {"xml": BASE, "mode": "host-model"}, check=True)
    assert check["changed"] is True and real["changed"] is True


def test_testdriver_persistent_path(testdriver):
    conn, created = testdriver
    created.append("vt-ut-cpu-model")
    dom = conn.defineXML(BASE.replace("<name>vt-probe</name>", "<name>vt-ut-cpu-model</name>"))
    args = {"uri": "test:///default", "name": "vt-ut-cpu-model", "topology": {"sockets": 1, "cores": 4, "threads": 1},
            "features": [{"name": "vmx", "policy": "disable"}]}
    assert run_module("cpu_model", args, check=True)["changed"] is True
    assert "<topology" not in dom.XMLDesc(2)
    result = run_module("cpu_model", args)
    assert (result["changed"], result["restart_required"]) == (True, False)
    # libvirt fills in dies (and, from 10.1.0, clusters) on the topology it stores
    topology = {"sockets": 1, "dies": 1, "cores": 4, "threads": 1}
    if conn.getLibVersion() >= 10001000:
        topology = {"sockets": 1, "dies": 1, "clusters": 1, "cores": 4, "threads": 1}
    assert AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(2)))) == {
        "mode": "custom", "match": "exact", "check": "none", "model": {"name": "kvm64", "fallback": "forbid"},
        "topology": topology, "features": [{"name": "vmx", "policy": "disable"}]}
    assert run_module("cpu_model", args)["changed"] is False


LIBVIRT_DEFAULT_CPU = ("<cpu mode='custom' match='exact' check='none'>\n"
                       "    <model fallback='forbid'>qemu64</model>\n  </cpu>")


def _with_cpu(cpu):
    xml = fixture_text("guest-minimal.xml")
    start, end = xml.index("  <cpu"), xml.index("</cpu>") + len("</cpu>")
    return xml[:start] + "  " + cpu + xml[end:]


def test_replacing_libvirts_own_default_cpu_with_nothing_changes_nothing():
    # libvirt writes this CPU into an x86 guest defined without one: removing it would never converge
    for state in ("replaced", "deleted"):
        result = run_module("cpu_model", {"xml": _with_cpu(LIBVIRT_DEFAULT_CPU), "state": state})
        assert (result["changed"], result["after"]) == (False, {
            "mode": "custom", "match": "exact", "check": "none", "model": {"name": "qemu64", "fallback": "forbid"}})


def test_replacing_another_cpu_with_nothing_gives_libvirts_default_cpu():
    # libvirt writes its default CPU into an x86 guest whose <cpu> has no model: that is what the guest gets
    for options in ({}, {"check": "none"}, {"match": "minimum"}, {"mode": "custom", "check": "partial"}):
        result = run_module("cpu_model", dict(options, xml=_with_cpu(LIBVIRT_DEFAULT_CPU.replace("qemu64", "kvm64")),
                                              state="replaced"))
        assert (result["changed"], result["after"]) == (True, {
            "mode": "custom", "match": "exact", "check": "none", "model": {"name": "qemu64", "fallback": "forbid"}})


def test_replacing_libvirts_default_cpu_with_an_empty_cache_changes_nothing():
    result = run_module("cpu_model", {"xml": _with_cpu(LIBVIRT_DEFAULT_CPU), "state": "replaced", "cache": {}})
    assert result["changed"] is False


def test_a_cpu_without_a_model_keeps_its_other_settings_beside_libvirts_default_model():
    # libvirt 9.0 on define: <cpu><maxphysaddr mode='emulate' bits='32'/></cpu> becomes this (found by the
    # differential test)
    result = run_module("cpu_model", {"xml": _with_cpu(LIBVIRT_DEFAULT_CPU.replace("qemu64", "kvm64")),
                                      "state": "replaced", "maxphysaddr": {"mode": "emulate", "bits": 32}})
    assert result["after"] == {"mode": "custom", "match": "exact", "check": "none",
                               "model": {"name": "qemu64", "fallback": "forbid"},
                               "maxphysaddr": {"mode": "emulate", "bits": 32}}


def test_match_with_host_passthrough_is_dropped_as_libvirt_drops_it():
    result = run_module("cpu_model", {"xml": _with_cpu(LIBVIRT_DEFAULT_CPU), "state": "replaced",
                                      "mode": "host-passthrough", "match": "minimum"})
    assert (result["changed"], result["after"]) == (True, {"mode": "host-passthrough", "check": "none",
                                                           "migratable": True})
    assert run_module("cpu_model", {"xml": result["xml"], "state": "replaced", "mode": "host-passthrough",
                                    "match": "minimum"})["changed"] is False
