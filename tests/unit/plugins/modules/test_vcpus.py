"""vcpus module: offline (xml) and on the libvirt test driver (persistent path)."""

import pytest

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.vcpus import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

from conftest import fixture_text, run_module

BASE = fixture_text("guest-minimal.xml")  # <vcpu placement='static' current='2'>4</vcpu>

NUMA = BASE.replace(
    "<model fallback='forbid'>kvm64</model>",
    "<model fallback='forbid'>kvm64</model>\n    <numa>\n      <cell id='0' cpus='0-1' memory='64' unit='MiB'/>\n"
    "      <cell id='1' cpus='2-3' memory='64' unit='MiB'/>\n    </numa>")


def vcpus_xml(result):
    return result["diff"]["after"]


def test_offline_current_changes_only_the_count():
    result = run_module("vcpus", {"xml": BASE, "current": 3})
    assert result["changed"] is True
    assert result["before"] == {"maximum": 4, "current": 2, "placement": "static"}
    assert result["after"] == {"maximum": 4, "current": 3, "placement": "static"}
    assert result["diff"]["before"] == '<vcpu placement="static" current="2">4</vcpu>\n'
    assert vcpus_xml(result) == '<vcpu placement="static" current="3">4</vcpu>\n'
    again = run_module("vcpus", {"xml": result["xml"], "current": 3})
    assert again["changed"] is False
    assert again["xml"] == result["xml"]


def test_current_equal_to_maximum_is_written_as_libvirt_does():
    result = run_module("vcpus", {"xml": BASE, "current": 4})
    assert vcpus_xml(result) == '<vcpu placement="static">4</vcpu>\n'
    assert result["after"] == {"maximum": 4, "placement": "static"}
    assert run_module("vcpus", {"xml": result["xml"], "current": 4})["changed"] is False


def test_enable_one_vcpu_by_id_writes_the_whole_list_with_libvirt_defaults():
    result = run_module("vcpus", {"xml": BASE, "vcpus": [{"id": 3, "enabled": True}]})
    assert result["changed"] is True
    assert vcpus_xml(result) == (
        '<vcpu placement="static" current="3">4</vcpu>\n<vcpus>\n'
        '  <vcpu id="0" enabled="yes" hotpluggable="no"/>\n'
        '  <vcpu id="1" enabled="yes" hotpluggable="no"/>\n'
        '  <vcpu id="2" enabled="no" hotpluggable="yes"/>\n'
        '  <vcpu id="3" enabled="yes" hotpluggable="yes"/>\n</vcpus>\n')
    assert result["after"]["current"] == 3
    assert run_module("vcpus", {"xml": result["xml"], "vcpus": [{"id": 3, "enabled": True}]})["changed"] is False


def test_current_with_a_list_enables_lowest_and_disables_highest_unnamed_ids():
    listed = run_module("vcpus", {"xml": BASE, "vcpus": [{"id": 3, "enabled": True}]})["xml"]
    more = run_module("vcpus", {"xml": listed, "current": 4})
    assert [v["enabled"] for v in more["after"]["vcpus"]] == [True, True, True, True]
    assert "current" not in more["after"]
    fewer = run_module("vcpus", {"xml": listed, "current": 2, "vcpus": [{"id": 3, "enabled": True}]})
    assert [(v["id"], v["enabled"]) for v in fewer["after"]["vcpus"]] == [(0, True), (1, False), (2, False), (3, True)]
    assert fewer["after"]["current"] == 2


def test_raising_maximum_keeps_the_count_and_extends_the_list():
    listed = run_module("vcpus", {"xml": BASE, "vcpus": [{"id": 1, "order": 1}]})["xml"]
    result = run_module("vcpus", {"xml": listed, "maximum": 6})
    assert result["after"]["maximum"] == 6
    assert result["after"]["current"] == 2
    assert [(v["id"], v["enabled"], v["hotpluggable"]) for v in result["after"]["vcpus"]] == [
        (0, True, False), (1, True, False), (2, False, True), (3, False, True), (4, False, True), (5, False, True)]
    assert result["after"]["vcpus"][1]["order"] == 1


def test_lowering_maximum_takes_current_down():
    result = run_module("vcpus", {"xml": BASE, "maximum": 1})
    assert vcpus_xml(result) == '<vcpu placement="static">1</vcpu>\n'


def test_gathered_then_replaced_changes_nothing():
    xml = run_module("vcpus", {"xml": BASE, "vcpus": [{"id": 2, "enabled": True}], "cpuset": "0-1"})["xml"]
    gathered = run_module("vcpus", {"xml": xml, "state": "gathered"})
    assert gathered["changed"] is False
    assert gathered["gathered"] == {
        "maximum": 4, "current": 3, "placement": "static", "cpuset": "0-1",
        "vcpus": [{"id": 0, "enabled": True, "hotpluggable": False},
                  {"id": 1, "enabled": True, "hotpluggable": False},
                  {"id": 2, "enabled": True, "hotpluggable": True},
                  {"id": 3, "enabled": False, "hotpluggable": True}]}
    replaced = run_module("vcpus", dict(gathered["gathered"], xml=xml, state="replaced"))
    assert replaced["changed"] is False
    assert replaced["xml"] == xml


def test_replaced_with_a_list_derives_current_from_it():
    result = run_module("vcpus", {"xml": BASE, "state": "replaced", "vcpus": [{"id": 3, "enabled": False}]})
    assert result["after"]["current"] == 3
    assert [v["enabled"] for v in result["after"]["vcpus"]] == [True, True, True, False]
    assert result["after"]["maximum"] == 4  # kept


def test_deleted_removes_list_and_cpuset_but_keeps_the_count():
    xml = run_module("vcpus", {"xml": BASE, "vcpus": [{"id": 3, "enabled": True}], "cpuset": "1"})["xml"]
    result = run_module("vcpus", {"xml": xml, "state": "deleted", "vcpus": [{"id": 3}], "cpuset": "1"})
    assert vcpus_xml(result) == '<vcpu placement="static" current="3">4</vcpu>\n'
    everything = run_module("vcpus", {"xml": xml, "state": "deleted"})
    assert vcpus_xml(everything) == '<vcpu placement="static">4</vcpu>\n'


def test_enable_cells_enables_exactly_the_cells_vcpus():
    result = run_module("vcpus", {"xml": NUMA, "enable_cells": [0]})
    assert [v["enabled"] for v in result["after"]["vcpus"]] == [True, True, False, False]
    both = run_module("vcpus", {"xml": NUMA, "enable_cells": [0, 1]})
    assert "current" not in both["after"]
    assert [v["enabled"] for v in both["after"]["vcpus"]] == [True, True, True, True]
    assert "enable_cells" not in both["after"]
    assert run_module("vcpus", {"xml": both["xml"], "enable_cells": [0, 1]})["changed"] is False


@pytest.mark.parametrize("args, message", [
    ({"current": 5}, "current: 5 is not valid: it is above maximum 4 (raise maximum or lower current)"),
    ({"maximum": 0}, "maximum: 0 is not valid: must be at least 1"),
    ({"vcpus": [{"id": 0, "enabled": False}]}, "vcpus: disabling vCPU 0 is not valid: vCPU 0 must stay enabled"),
    ({"vcpus": [{"id": 0, "hotpluggable": True}]},
     "vcpus: vCPU 0 with hotpluggable true is not valid: vCPU 0 cannot be unplugged"),
    ({"vcpus": [{"id": 2, "enabled": False, "hotpluggable": False}]},
     "vcpus: vCPU 2 disabled and not hotpluggable is not valid: a disabled vCPU must be hotpluggable"),
    ({"current": 2, "vcpus": [{"id": 1, "enabled": True}, {"id": 2, "enabled": True}, {"id": 3, "enabled": True}]},
     "vcpus: the enabled vCPUs (0-3) do not add up to current 2; enable or disable vCPUs so that 2 are enabled, "
     "or change current"),
    ({"vcpus": [{"id": 4, "enabled": True}]}, "vcpus[0].id: 4 is not valid: the guest has 4 vCPUs (0-3)"),
    ({"vcpus": [{"id": 1}, {"id": 1}]}, "vcpus[1].id: 1 is not valid: id 1 appears twice (items 0 and 1)"),
    ({"placement": "auto", "cpuset": "0-1"},
     "cpuset: '0-1' is not valid with placement auto (libvirt then ignores cpuset and asks numad); "
     "drop cpuset or use placement static"),
    ({"cpuset": "1-x"}, None),
    ({"enable_cells": [0]}, "enable_cells: [0] is not valid: the guest has no NUMA cells (<cpu><numa>); "
                            "define them with the numa module first"),
    ({"state": "deleted", "maximum": 4}, "maximum: cannot be deleted: libvirt requires a vCPU count (set another value)"),
])
def test_refusals(args, message):
    result = run_module("vcpus", dict(args, xml=BASE))
    assert result["failed"] is True
    if message is not None:
        assert result["msg"] == message
    else:
        assert result["msg"] == "cpuset: '1-x' is not valid: '1-x' is not a CPU number, a range 'a-b' or an exclusion '^n'"


def test_enable_cells_refusals():
    assert run_module("vcpus", {"xml": NUMA, "enable_cells": [2]})["msg"] == (
        "enable_cells: [2] is not valid: the guest has no NUMA cell 2 (cells: 0, 1)")
    assert run_module("vcpus", {"xml": NUMA, "enable_cells": [1]})["msg"] == (
        "enable_cells: [1] is not valid: vCPU 0 (in cell 0) cannot be disabled; include that cell")
    assert run_module("vcpus", {"xml": NUMA, "enable_cells": [0], "vcpus": [{"id": 2, "enabled": True}]})["msg"] == (
        "vcpus: enabled states for vCPUs 2 contradict enable_cells [0]; give one or the other")


def test_maximum_must_match_the_cpu_topology():
    xml = BASE.replace("</cpu>", "<topology sockets='1' dies='1' cores='2' threads='2'/></cpu>")
    result = run_module("vcpus", {"xml": xml, "maximum": 6})
    assert result["msg"] == ("maximum: 6 does not match the CPU topology (sockets 1 x dies 1 x cores 2 x threads 2 "
                             "= 4 vCPUs); set maximum to 4 or change cpu_model.topology")


def test_maximum_below_a_pinned_vcpu_names_cputune():
    xml = BASE.replace("<iothreads>", "<cputune><vcpupin vcpu='3' cpuset='1'/></cputune>\n  <iothreads>")
    result = run_module("vcpus", {"xml": xml, "maximum": 2})
    assert result["msg"] == ("maximum: 2 leaves cputune.vcpupin pinning vCPU 3, which the guest would not have "
                             "(vCPUs 0-1); change cputune first")
    cells = run_module("vcpus", {"xml": NUMA, "maximum": 2})
    assert cells["msg"] == ("maximum: 2 leaves numa cell 1 naming vCPUs 2-3, which the guest would not have "
                            "(vCPUs 0-1); change numa first")


def test_check_mode_reports_the_same_change():
    real = run_module("vcpus", {"xml": BASE, "current": 3})
    check = run_module("vcpus", {"xml": BASE, "current": 3}, check=True)
    assert check["changed"] is real["changed"] is True
    assert check["after"] == real["after"]


def define(conn, created, name, xml=BASE):
    created.append(name)
    return conn.defineXML(xml.replace("<name>vt-probe</name>", "<name>%s</name>" % name))


def test_testdriver_persistent_path(testdriver):
    conn, created = testdriver
    dom = define(conn, created, "vt-ut-vcpus")
    args = {"uri": "test:///default", "name": "vt-ut-vcpus", "vcpus": [{"id": 3, "enabled": True}], "cpuset": "0"}
    check = run_module("vcpus", args, check=True)
    assert check["changed"] is True
    assert "<vcpus>" not in dom.XMLDesc(2)
    result = run_module("vcpus", args)
    assert result["changed"] is True
    assert result["restart_required"] is False and result["live_changes"] == []
    root = parse_domain(dom.XMLDesc(2))
    vcpu = root.find("vcpu")
    assert (dict(vcpu.attrib), vcpu.text) == ({"placement": "static", "cpuset": "0", "current": "3"}, "4")
    assert [dict(v.attrib) for v in root.findall("vcpus/vcpu")] == [
        {"id": "0", "enabled": "yes", "hotpluggable": "no"}, {"id": "1", "enabled": "yes", "hotpluggable": "no"},
        {"id": "2", "enabled": "no", "hotpluggable": "yes"}, {"id": "3", "enabled": "yes", "hotpluggable": "yes"}]
    assert AREA.to_options(AREA.read(root)) == {
        "maximum": 4, "current": 3, "placement": "static", "cpuset": "0",
        "vcpus": [{"id": 0, "enabled": True, "hotpluggable": False}, {"id": 1, "enabled": True, "hotpluggable": False},
                  {"id": 2, "enabled": False, "hotpluggable": True}, {"id": 3, "enabled": True, "hotpluggable": True}]}
    assert run_module("vcpus", args)["changed"] is False
    gathered = run_module("vcpus", {"uri": "test:///default", "name": "vt-ut-vcpus", "state": "gathered"})["gathered"]
    replaced = run_module("vcpus", dict(gathered, uri="test:///default", name="vt-ut-vcpus", state="replaced"))
    assert replaced["changed"] is False
