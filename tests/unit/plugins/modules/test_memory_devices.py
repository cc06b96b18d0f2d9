"""memory_devices module: offline (xml), DIMM matching, refusals, round trips, test driver."""

import pytest

from conftest import fixture_text, run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memory_devices import AREA, live_dimms
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import AreaView, LiveOp, LiveValues, NotLive
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

PLAIN = fixture_text("guest-minimal.xml").replace("<name>vt-probe</name>", "<name>vt-memdev</name>")
# two guest cells of 64 MiB on vCPUs 0-1 and 2-3
BASE = PLAIN.replace("</model>", "</model><numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/>"
                                 "<cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa>")
HOTPLUG = {"max_memory": {"size": "1G", "slots": 4}}
DIMM_XML = ('<memory model="dimm">\n  <target>\n    <size unit="KiB">131072</size>\n    <node>1</node>\n'
            '  </target>\n</memory>\n')


def with_slot(xml, slot=0):
    """What libvirt does on define: a DIMM without slot gets the first free one."""
    return xml.replace("<node>1</node>\n      </target>\n",
                       '<node>1</node>\n      </target>\n      <address type="dimm" slot="%d"/>\n' % slot)


def refused(args, xml=BASE):
    result = run_module("memory_devices", dict(args, xml=xml))
    assert result["failed"] is True, result
    return result["msg"]


def test_offline_hotplug_ceiling_and_dimm_canonical_xml():
    result = run_module("memory_devices", dict(HOTPLUG, xml=BASE, dimms=[{"size": "128M", "node": 1}]))
    assert result["changed"] is True
    assert result["before"] == {"memory": "128 MiB"}
    assert result["after"] == {"memory": "256 MiB", "max_memory": {"slots": 4, "size": "1 GiB"},
                               "dimms": [{"size": "128 MiB", "node": 1}]}
    assert result["diff"]["before"] == '<memory unit="MiB">128</memory>\n'
    assert result["diff"]["after"] == ('<maxMemory slots="4" unit="KiB">1048576</maxMemory>\n'
                                       '<memory unit="KiB">262144</memory>\n' + DIMM_XML)
    again = run_module("memory_devices", dict(HOTPLUG, xml=result["xml"], dimms=[{"size": 131072, "node": 1}]))
    assert (again["changed"], again["xml"]) == (False, result["xml"])


def test_a_slot_libvirt_assigned_still_matches_the_task():
    defined = with_slot(run_module("memory_devices", dict(HOTPLUG, xml=BASE, dimms=[{"size": "128M", "node": 1}]))
                        ["xml"])
    again = run_module("memory_devices", {"xml": defined, "dimms": [{"size": "128M", "node": 1}]})
    assert (again["changed"], again["after"]["dimms"]) == (False, [{"size": "128 MiB", "node": 1, "slot": 0}])
    moved = run_module("memory_devices", {"xml": defined, "dimms": [{"size": "128M", "node": 1, "slot": 2}]})
    assert moved["changed"] is True
    assert '<address type="dimm" slot="2"/>' in moved["diff"]["after"]


def test_two_equal_dimms_and_removal():
    two = run_module("memory_devices", dict(HOTPLUG, xml=BASE, dimms=[{"size": "128M", "node": 1}] * 2))
    assert two["after"]["memory"] == "384 MiB"
    assert two["diff"]["after"].count('<memory model="dimm">') == 2
    one = run_module("memory_devices", {"xml": two["xml"], "state": "deleted", "dimms": [{"size": "128M", "node": 1}]})
    assert one["after"] == {"memory": "256 MiB", "max_memory": {"slots": 4, "size": "1 GiB"},
                            "dimms": [{"size": "128 MiB", "node": 1}]}
    none = run_module("memory_devices", {"xml": two["xml"], "state": "deleted"})
    assert (none["after"], none["diff"]["after"]) == ({"memory": "128 MiB"}, '<memory unit="KiB">131072</memory>\n')


def test_other_memory_devices_are_left_alone():
    nvdimm = ("<memory model='nvdimm'><source><path>/tmp/nv</path></source><target><size unit='MiB'>64</size>"
              "<node>0</node></target></memory>")
    xml = BASE.replace("</devices>", nvdimm + "</devices>")
    result = run_module("memory_devices", dict(HOTPLUG, xml=xml, dimms=[{"size": "128M", "node": 1}]))
    root = parse_domain(result["xml"])
    assert [device.get("model") for device in root.findall("devices/memory")] == ["nvdimm", "dimm"]
    kept = root.find("devices/memory[@model='nvdimm']")
    assert (kept.findtext("source/path"), dict(kept.find("target/size").attrib), kept.findtext("target/size"),
            kept.findtext("target/node")) == ("/tmp/nv", {"unit": "MiB"}, "64", "0")
    assert run_module("memory_devices", {"xml": result["xml"], "state": "deleted"})["xml"].count("nvdimm") == 1


def test_balloon_target_and_memory_following_it():
    result = run_module("memory_devices", {"xml": PLAIN, "current_memory": "96M"})
    assert result["diff"]["after"] == ('<memory unit="MiB">128</memory>\n'
                                       '<currentMemory unit="KiB">98304</currentMemory>\n')
    assert result["after"] == {"memory": "128 MiB", "current_memory": "96 MiB"}
    full = run_module("memory_devices", {"xml": result["xml"], "current_memory": "128M"})
    assert full["after"] == {"memory": "128 MiB"}
    # a full balloon (currentMemory equal to memory, as libvirt writes it) follows memory
    libvirt_like = PLAIN.replace("<memory unit='MiB'>128</memory>",
                                 "<memory unit='KiB'>131072</memory><currentMemory unit='KiB'>131072</currentMemory>")
    grown = run_module("memory_devices", {"xml": libvirt_like, "memory": "256M"})
    assert grown["diff"]["after"] == ('<memory unit="KiB">262144</memory>\n'
                                      '<currentMemory unit="KiB">262144</currentMemory>\n')
    assert run_module("memory_devices", {"xml": libvirt_like, "state": "gathered"})["gathered"] == \
        {"memory": "128 MiB"}


def test_gathered_then_replaced_changes_nothing():
    tuned = with_slot(run_module("memory_devices", dict(HOTPLUG, xml=BASE, dimms=[{"size": "128M", "node": 1}],
                                                        current_memory="200M"))["xml"])
    gathered = run_module("memory_devices", {"xml": tuned, "state": "gathered"})["gathered"]
    assert gathered == {"memory": "256 MiB", "max_memory": {"slots": 4, "size": "1 GiB"},
                        "dimms": [{"size": "128 MiB", "node": 1, "slot": 0}], "current_memory": "200 MiB"}
    again = run_module("memory_devices", dict(gathered, xml=tuned, state="replaced"))
    assert (again["changed"], again["xml"]) == (False, tuned)


def test_check_mode_reports_the_same_change():
    args = dict(HOTPLUG, xml=BASE, dimms=[{"size": "128M", "node": 0}])
    checked, real = run_module("memory_devices", args, check=True), run_module("memory_devices", args)
    assert checked["changed"] is real["changed"] is True
    assert checked["diff"] == real["diff"]


@pytest.mark.parametrize("args, xml, message", [
    ({"max_memory": {"size": "128M", "slots": 2}}, BASE,
     "max_memory.size: '128 MiB' is not valid: it must be above the guest's memory (128 MiB)"),
    ({"max_memory": {"size": "1G"}}, BASE, "max_memory: {'slots': None, 'size': 1073741824} is not valid: give both "
                                           "size and slots"),
    ({"max_memory": {"size": "1G", "slots": 1}, "dimms": [{"size": "64M", "node": 0}, {"size": "64M", "node": 1}]},
     BASE, "dimms: 2 DIMMs do not fit in max_memory's 1 slots"),
    ({"max_memory": {"size": "256M", "slots": 4}, "dimms": [{"size": "128M", "node": 0}, {"size": "64M", "node": 1}]},
     BASE, "dimms: the guest's memory without DIMMs (128 MiB) and its DIMMs (192 MiB) add up to 320 MiB, more than "
           "max_memory (256 MiB)"),
    ({"max_memory": {"size": "1G", "slots": 4}, "dimms": [{"size": "64M", "node": 2}]}, BASE,
     "dimms[0].node: 2 is not valid: the guest has NUMA cells 0-1"),
    ({"max_memory": {"size": "1G", "slots": 4}, "dimms": [{"size": "64M", "node": 0, "slot": 4}]}, BASE,
     "dimms[0].slot: 4 is not valid: max_memory has slots 0-3"),
    ({"max_memory": {"size": "1G", "slots": 4}, "dimms": [{"size": "64M", "node": 0, "slot": 1},
                                                          {"size": "64M", "node": 1, "slot": 1}]}, BASE,
     "dimms[1].slot: 1 is not valid: dimms[0] has it too"),
    ({"dimms": [{"size": "64M", "node": 0}]}, BASE,
     "dimms: DIMMs need max_memory (the hot-plug ceiling and its slots)"),
    ({"max_memory": {"size": "1G", "slots": 4}}, PLAIN,
     "max_memory: memory hot-plug needs guest NUMA cells, and the guest has none (set them with virtuned.libvirt.numa)"),
    ({"max_memory": {"size": "1G", "slots": 4}, "dimms": [{"size": "64M", "node": 0}]}, PLAIN,
     "max_memory: memory hot-plug needs guest NUMA cells, and the guest has none (set them with virtuned.libvirt.numa)"),
    ({"memory": "256M"}, BASE,
     "memory: '256 MiB' is not valid: the guest's NUMA cells (128 MiB) and DIMMs (0 KiB) add up to 128 MiB, and "
     "libvirt derives the memory from them; change the cells (to change both at once, set memory_devices.memory and "
     "numa.cells in one virtuned.libvirt.domain_tuning task)"),
    ({"current_memory": "1G"}, PLAIN,
     "current_memory: '1 GiB' is not valid: the balloon target cannot exceed the guest's memory (128 MiB)"),
    ({"memory": "-1G"}, PLAIN, "memory: '-1G' is not valid: sizes cannot be negative"),
    ({"memory": "0"}, PLAIN, "memory: '0 KiB' is not valid: the DIMMs alone are 0 KiB; memory is the total, DIMMs "
                             "included"),
])
def test_refusals(args, xml, message):
    assert refused(args, xml) == message


def test_live_plan_attaches_and_detaches_dimms():
    target_root = parse_domain(BASE)
    live_root = parse_domain(with_slot(run_module("memory_devices", dict(HOTPLUG, xml=BASE, dimms=[
        {"size": "128M", "node": 1}]))["xml"]))
    ctx = AreaView(target_root, live_root=live_root)
    live = AREA.by_name["dimms"].read(live_root)

    def values(live, target):
        return LiveValues(None, {"dimms": target}, {"dimms": live})
    ops = live_dimms(values(live, [{"size": 64 * 1024 ** 2, "node": 0, "slot": None}]), ctx)
    assert [op.method for op in ops] == ["detach_device", "attach_device"]
    assert [op.text for op in ops] == ["detach the 128 MiB DIMM of node 1 (slot 0)", "attach a 64 MiB DIMM to node 0"]
    assert ops[1] == LiveOp("attach_device", ('<memory model="dimm"><target><size unit="KiB">65536</size>'
                                              '<node>0</node></target></memory>',), "attach a 64 MiB DIMM to node 0")
    assert live_dimms(values(live, [{"size": 128 * 1024 ** 2, "node": 1, "slot": None}]), ctx) == []
    ctx.live_root = parse_domain(BASE)  # running without maxMemory
    with pytest.raises(NotLive) as err:
        live_dimms(values([], [{"size": 128 * 1024 ** 2, "node": 1, "slot": None}]), ctx)
    assert str(err.value) == "the running guest has no max_memory; hot-plug works after its next boot"


# --------------------------------------------------------------------------- test driver

def test_test_driver_persistent_path_and_balloon(testdriver):
    import libvirt
    conn, created = testdriver
    dom = conn.defineXML(BASE.replace("<name>vt-memdev</name>", "<name>vt-ut-memdev</name>"))
    created.append("vt-ut-memdev")
    args = dict(HOTPLUG, uri="test:///default", name="vt-ut-memdev", dimms=[{"size": "128M", "node": 1}])
    assert run_module("memory_devices", args, check=True)["changed"] is True
    assert "maxMemory" not in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    result = run_module("memory_devices", args)
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (True, [], False)
    held = AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))))
    assert held["memory"] == "256 MiB" and held["max_memory"] == {"slots": 4, "size": "1 GiB"}
    assert [dict(d, slot=None) for d in held["dimms"]] == [{"size": "128 MiB", "node": 1, "slot": None}]
    assert run_module("memory_devices", args)["changed"] is False
    dom.create()
    balloon = run_module("memory_devices", {"uri": "test:///default", "name": "vt-ut-memdev",
                                            "current_memory": "200M"})
    assert (balloon["changed"], balloon["live_changes"]) == (True, ["set the balloon target to 204800 KiB"])
    assert dom.info()[2] == 204800
