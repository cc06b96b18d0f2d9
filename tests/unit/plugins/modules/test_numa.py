"""numa module: offline (xml), refusals, round trips, <cpu> cooperation, test driver."""

import pytest

from conftest import fixture_text, run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.numa import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import AreaView, DomainContext, LiveValues
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain, parse_xml

BASE = fixture_text("guest-minimal.xml").replace("<name>vt-probe</name>", "<name>vt-numa</name>")
NO_CPU = BASE.replace("<cpu mode='custom' match='exact' check='none'>\n    <model fallback='forbid'>kvm64</model>\n"
                      "  </cpu>\n", "")
TWO_CELLS = [{"id": 0, "cpus": "0-1", "memory": "64M"}, {"id": 1, "cpus": "2-3", "memory": 65536}]
DISTANCES = [
    {"id": 0, "cpus": "0-1", "memory": "64M", "distances": [{"id": 0, "value": 10}, {"id": 1, "value": 21}]},
    {"id": 1, "cpus": "2-3", "memory": "64M", "distances": [{"id": 1, "value": 10}, {"id": 0, "value": 21}]},
]


def refused(args, xml=BASE):
    result = run_module("numa", dict(args, xml=xml))
    assert result["failed"] is True, result
    return result["msg"]


def test_offline_cells_and_numatune_canonical_xml():
    result = run_module("numa", {"xml": BASE, "cells": TWO_CELLS,
                                 "numatune": {"memory": {"mode": "strict", "nodeset": "0"},
                                              "memnodes": [{"cellid": 1, "mode": "preferred", "nodeset": 0}]}})
    assert result["changed"] is True
    assert result["after"] == {
        "numatune": {"memory": {"mode": "strict", "nodeset": "0"},
                     "memnodes": [{"cellid": 1, "mode": "preferred", "nodeset": "0"}]},
        "cells": [{"id": 0, "cpus": "0-1", "memory": "64 MiB"}, {"id": 1, "cpus": "2-3", "memory": "64 MiB"}]}
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == (
        '<numatune>\n  <memory mode="strict" nodeset="0"/>\n  <memnode cellid="1" mode="preferred" nodeset="0"/>\n'
        '</numatune>\n<numa>\n  <cell id="0" cpus="0-1" memory="65536" unit="KiB"/>\n'
        '  <cell id="1" cpus="2-3" memory="65536" unit="KiB"/>\n</numa>\n')
    # the rest of <cpu> (cpu_model's) is left as it was, <numa> goes last in it
    assert ('<cpu mode="custom" match="exact" check="none">\n    <model fallback="forbid">kvm64</model>\n'
            '    <numa>\n') in result["xml"]
    again = run_module("numa", {"xml": result["xml"], "cells": [{"id": 1, "cpus": [2, 3], "memory": "65536 KiB"}],
                                "numatune": {"memory": {"nodeset": 0}}})
    assert (again["changed"], again["xml"]) == (False, result["xml"])


def test_libvirt_defaults_do_not_cause_changes():
    # libvirt writes mode='strict' itself; a task that leaves mode out must not see a change
    xml = BASE.replace("<iothreads>2</iothreads>", "<iothreads>2</iothreads><numatune><memory mode='strict' "
                                                   "nodeset='0'/></numatune>")
    assert run_module("numa", {"xml": xml, "numatune": {"memory": {"nodeset": "0"}}})["changed"] is False
    assert run_module("numa", {"xml": xml, "state": "replaced",
                               "numatune": {"memory": {"nodeset": "0", "placement": "static"}}})["changed"] is False


def test_cpu_is_created_for_cells_and_removed_with_them():
    result = run_module("numa", {"xml": NO_CPU, "cells": TWO_CELLS})
    assert ('<cpu>\n    <numa>\n      <cell id="0" cpus="0-1" memory="65536" unit="KiB"/>\n'
            '      <cell id="1" cpus="2-3" memory="65536" unit="KiB"/>\n    </numa>\n  </cpu>\n') in result["xml"]
    assert result["xml"].index("<cpu>") > result["xml"].index("</features>")
    gone = run_module("numa", {"xml": result["xml"], "state": "deleted", "cells": TWO_CELLS})
    assert gone["after"] == {}
    assert "<cpu" not in gone["xml"]
    # a <cpu> that holds more than the cells stays
    kept = run_module("numa", {"xml": run_module("numa", {"xml": BASE, "cells": TWO_CELLS})["xml"],
                               "state": "deleted"})
    assert '<cpu mode="custom" match="exact" check="none">\n    <model fallback="forbid">kvm64</model>\n  </cpu>' \
        in kept["xml"]


def test_mem_access_alias_discard_and_distances():
    result = run_module("numa", {"xml": BASE, "cells": [
        dict(DISTANCES[0], mem_access="shared", discard=True), DISTANCES[1]]})
    assert result["after"]["cells"][0] == {"id": 0, "cpus": "0-1", "memory": "64 MiB", "memAccess": "shared",
                                           "discard": True,
                                           "distances": [{"id": 0, "value": 10}, {"id": 1, "value": 21}]}
    assert ('<cell id="0" cpus="0-1" memory="65536" unit="KiB" memAccess="shared" discard="yes">\n'
            '    <distances>\n      <sibling id="0" value="10"/>\n      <sibling id="1" value="21"/>\n'
            '    </distances>\n  </cell>\n') in result["diff"]["after"]


def test_merged_updates_one_cell_by_id():
    tuned = run_module("numa", {"xml": BASE, "cells": TWO_CELLS})["xml"]
    result = run_module("numa", {"xml": tuned, "cells": [{"id": 1, "memAccess": "private"}]})
    assert result["after"]["cells"] == [{"id": 0, "cpus": "0-1", "memory": "64 MiB"},
                                        {"id": 1, "cpus": "2-3", "memory": "64 MiB", "memAccess": "private"}]


def test_gathered_then_replaced_changes_nothing():
    tuned = run_module("numa", {"xml": BASE, "cells": DISTANCES,
                                "numatune": {"memory": {"mode": "interleave", "nodeset": "0"},
                                             "memnodes": [{"cellid": 0, "nodeset": 0}]}})["xml"]
    gathered = run_module("numa", {"xml": tuned, "state": "gathered"})
    assert gathered["gathered"]["numatune"] == {"memory": {"mode": "interleave", "nodeset": "0"},
                                                "memnodes": [{"cellid": 0, "nodeset": "0"}]}
    again = run_module("numa", dict(gathered["gathered"], xml=tuned, state="replaced"))
    assert (again["changed"], again["xml"]) == (False, tuned)


def test_check_mode_reports_the_same_change():
    args = {"xml": BASE, "cells": TWO_CELLS}
    checked, real = run_module("numa", args, check=True), run_module("numa", args)
    assert checked["changed"] is real["changed"] is True
    assert checked["diff"] == real["diff"]


@pytest.mark.parametrize("args, message", [
    ({"cells": [{"id": 0, "cpus": "0-2", "memory": "64M"}, {"id": 1, "cpus": "2", "memory": "64M"}]},
     "cells: each vCPU of the guest (0-3) must be in exactly one cell: vCPUs 2 are in more than one cell; "
     "vCPUs 3 are in no cell"),
    ({"cells": [{"id": 0, "cpus": "0-1", "memory": "64M"}, {"id": 1, "cpus": "2-5", "memory": "64M"}]},
     "cells[1].cpus: '2-5' names vCPUs 4-5, but the guest has 4 vCPUs (0-3)"),
    ({"cells": [{"id": 0, "cpus": "0-1", "memory": "64M"}, {"id": 1, "cpus": "2-3", "memory": "128M"}]},
     "cells: the cells' memory adds up to 192 MiB, but the guest's memory is 128 MiB; make them equal (to change "
     "both at once, set numa.cells and memory_devices.memory in one virtuned.libvirt.domain_tuning task)"),
    ({"cells": [{"id": 0, "cpus": "0-3"}]}, "cells[0].memory: required: the memory of guest cell 0"),
    ({"cells": [{"id": 0, "cpus": "0-3", "memory": "-1M"}]}, "cells[0].memory: '-1M' is not valid: sizes cannot "
                                                             "be negative"),
    ({"cells": TWO_CELLS, "numatune": {"memnodes": [{"cellid": 2, "nodeset": 0}]}},
     "numatune.memnodes[0].cellid: 2 is not valid: the guest has cells 0-1"),
    ({"numatune": {"memnodes": [{"cellid": 0, "nodeset": 0}]}},
     "numatune.memnodes[0].cellid: 0 is not valid: the guest has no NUMA cells (set cells first)"),
    ({"cells": TWO_CELLS, "numatune": {"memnodes": [{"cellid": 0}]}},
     "numatune.memnodes[0].nodeset: required: the host nodes of guest cell 0"),
    ({"numatune": {"memory": {"placement": "auto", "nodeset": "0"}}},
     "numatune.memory.nodeset: '0' is not valid: with placement auto, numad chooses the nodeset; drop nodeset or "
     "use placement static"),
    ({"numatune": {"memory": {"nodeset": "1-x"}}},
     "numatune.memory.nodeset: '1-x' is not valid: '1-x' is not a CPU number, a range 'a-b' or an exclusion '^n'"),
    ({"cells": [DISTANCES[0], dict(DISTANCES[1], distances=[{"id": 1, "value": 10}, {"id": 0, "value": 20}])]},
     "cells[0].distances: the distance table is not symmetric: cell 0 to cell 1 is 21, cell 1 to cell 0 is 20"),
    ({"cells": [dict(DISTANCES[0], distances=[{"id": 0, "value": 12}, {"id": 1, "value": 21}]), DISTANCES[1]]},
     "cells[0].distances: the distance of cell 0 to itself is 12, but must be 10"),
    ({"cells": [DISTANCES[0], dict(DISTANCES[1], distances=[{"id": 1, "value": 10}])]},
     "cells[1].distances: no distance to cells 0; give every cell's distance to every cell, itself included "
     "(libvirt fills missing ones in)"),
    ({"cells": [dict(DISTANCES[0], distances=[{"id": 0, "value": 10}, {"id": 1, "value": 21},
                                              {"id": 3, "value": 30}]), DISTANCES[1]]},
     "cells[0].distances: names cells 3, but the guest has cells 0-1"),
])
def test_refusals(args, message):
    assert refused(args) == message


def test_cells_must_leave_room_for_dimms():
    with_dimm = BASE.replace("</devices>", "<memory model='dimm'><target><size unit='MiB'>64</size><node>0</node>"
                                           "</target></memory></devices>")
    assert refused({"cells": TWO_CELLS}, with_dimm) == (
        "cells: the cells' memory (128 MiB) and the DIMMs (64 MiB) add up to 192 MiB, but the guest's memory is "
        "128 MiB; make them equal (to change both at once, set numa.cells and memory_devices.memory in one "
        "virtuned.libvirt.domain_tuning task)")
    assert run_module("numa", {"xml": with_dimm, "cells": [{"id": 0, "cpus": "0-3", "memory": "64M"}]})["changed"]


def test_connected_host_nodes_are_checked():
    caps = parse_xml("<capabilities><host><topology><cells num='2'><cell id='0'/><cell id='1'/></cells>"
                     "</topology></host></capabilities>")
    ctx = AreaView(parse_domain(BASE), ctx=DomainContext(connected=True, loaders={"capabilities": lambda: caps}))
    target = {"cells": [], "numatune": {"memory": {"mode": "strict", "nodeset": "0-3", "placement": None},
                                        "memnodes": []}}
    with pytest.raises(TuningError) as err:
        AREA.validate(target, ctx)
    assert str(err.value) == ("numatune.memory.nodeset: '0-3' names host NUMA nodes 2-3 that this host does not "
                              "have (host nodes: 0-1)")
    target["numatune"]["memory"]["nodeset"] = "1"
    assert AREA.validate(target, ctx) == []


def test_live_plan_moves_only_the_strict_nodeset():
    from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.numa import live_numatune
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import LiveOp, NotLive
    ctx = AreaView(parse_domain(BASE))

    def values(live, target):
        return LiveValues(None, {"numatune": target}, {"numatune": live})
    strict = {"memory": {"mode": "strict", "nodeset": "1", "placement": None}, "memnodes": []}
    assert live_numatune(values(None, strict), ctx) == [
        LiveOp("set_numa_parameters", ({"numa_nodeset": "1"},), "set the NUMA nodeset to 1")]
    interleave = {"memory": {"mode": "interleave", "nodeset": "1", "placement": None}, "memnodes": []}
    with pytest.raises(NotLive) as err:
        live_numatune(values({"memory": {"mode": "interleave", "nodeset": "0"}, "memnodes": []}, interleave), ctx)
    assert str(err.value) == "libvirt moves a running guest's memory only in strict or restrictive mode, not interleave"
    with pytest.raises(NotLive) as err:
        live_numatune(values(None, interleave), ctx)
    assert str(err.value) == "the mode of a running guest cannot change"


# --------------------------------------------------------------------------- test driver

def test_test_driver_persistent_and_live_nodeset(testdriver):
    import libvirt
    conn, created = testdriver
    dom = conn.defineXML(BASE.replace("<name>vt-numa</name>", "<name>vt-ut-numa</name>"))
    created.append("vt-ut-numa")
    args = {"uri": "test:///default", "name": "vt-ut-numa", "cells": TWO_CELLS,
            "numatune": {"memory": {"mode": "strict", "nodeset": "0"}}}
    assert run_module("numa", args, check=True)["changed"] is True
    assert "<numatune" not in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    result = run_module("numa", args)
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (True, [], False)
    held = AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))))
    assert held == {"numatune": {"memory": {"mode": "strict", "nodeset": "0"}},
                    "cells": [{"id": 0, "cpus": "0-1", "memory": "64 MiB"},
                              {"id": 1, "cpus": "2-3", "memory": "64 MiB"}]}
    assert run_module("numa", args)["changed"] is False
    dom.create()
    moved = run_module("numa", {"uri": "test:///default", "name": "vt-ut-numa",
                                "numatune": {"memory": {"nodeset": "1"}}})
    assert (moved["changed"], moved["live_changes"], moved["restart_required"]) == \
        (True, ["set the NUMA nodeset to 1"], False)
    assert dom.numaParameters(libvirt.VIR_DOMAIN_AFFECT_LIVE)["numa_nodeset"] == "1"
    cells = run_module("numa", {"uri": "test:///default", "name": "vt-ut-numa", "cells": [
        {"id": 0, "cpus": "0-2", "memory": "96M"}, {"id": 1, "cpus": "3", "memory": "32M"}]})
    assert (cells["changed"], cells["restart_required"], cells["pending_restart"]) == (True, True, ["numa.cells"])
