"""memory_devices on qemu:///system: a DIMM hot-plugged into a running KVM guest."""

import libvirt

from conftest import run_module
from integration.conftest import guest_xml, run_playbook

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memory_devices import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

NAME = "vt-it-memory_devices"
CELLS = ("</model><numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/>"
         "<cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa>")
TASK = "Hot-plug a 128 MiB DIMM into guest cell 1"


def hotplug_guest_xml(name, max_memory=True):
    xml = guest_xml(name).replace("</model>", CELLS)
    if max_memory:
        xml = xml.replace("<memory unit='MiB'>", "<maxMemory slots='4' unit='GiB'>1</maxMemory><memory unit='MiB'>")
    return xml


def persistent(dom):
    return AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))))


def live(dom):
    return AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(0))))


def test_dimm_hotplug_into_a_running_guest(guests):
    dom = guests(NAME, xml=hotplug_guest_xml(NAME))
    assert live(dom) == {"memory": "128 MiB", "max_memory": {"slots": 4, "size": "1 GiB"}}

    rc, tasks, stats = run_playbook("memory_devices.yml", {"guest": NAME}, check=True)
    assert rc == 0 and stats["changed"] == 1, tasks
    assert tasks[TASK]["live_changes"] == ["attach a 128 MiB DIMM to node 1"]
    assert "dimms" not in live(dom) and "dimms" not in persistent(dom)

    rc, tasks, stats = run_playbook("memory_devices.yml", {"guest": NAME})
    assert rc == 0 and stats["changed"] == 1, tasks
    task = tasks[TASK]
    assert (task["live_changes"], task["restart_required"]) == (["attach a 128 MiB DIMM to node 1"], False)
    # the full balloon (currentMemory) follows the memory
    assert task["diff"]["after"] == (
        '<maxMemory slots="4" unit="KiB">1048576</maxMemory>\n<memory unit="KiB">262144</memory>\n'
        '<currentMemory unit="KiB">262144</currentMemory>\n<memory model="dimm">\n  <target>\n'
        '    <size unit="KiB">131072</size>\n    <node>1</node>\n  </target>\n</memory>\n')
    # the running guest has the DIMM (libvirt gave it slot 0) and 256 MiB
    assert live(dom)["dimms"] == [{"size": "128 MiB", "node": 1, "slot": 0}]
    assert dom.info()[1] == 262144
    assert persistent(dom)["memory"] == "256 MiB"
    assert [dimm["size"] for dimm in persistent(dom)["dimms"]] == ["128 MiB"]

    rc, tasks, stats = run_playbook("memory_devices.yml", {"guest": NAME})
    assert rc == 0 and stats["changed"] == 0, tasks
    assert (tasks[TASK]["live_changes"], tasks[TASK]["restart_required"]) == ([], False)
    rc, tasks, stats = run_playbook("memory_devices.yml", {"guest": NAME}, check=True)
    assert rc == 0 and stats["changed"] == 0, tasks


def test_guest_started_without_max_memory_waits_for_a_restart(guests):
    name = NAME + "-nomax"
    dom = guests(name, xml=hotplug_guest_xml(name, max_memory=False))
    result = run_module("memory_devices", {"uri": "qemu:///system", "name": name,
                                           "max_memory": {"size": "1G", "slots": 4},
                                           "dimms": [{"size": "128M", "node": 1}]})
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (True, [], True)
    assert result["pending_restart"] == [
        "memory_devices.max_memory",
        "memory_devices.dimms (the running guest has no max_memory; hot-plug works after its next boot)"]
    assert "dimms" not in live(dom)
    dom.destroy()
    dom.create()
    assert [dimm["size"] for dimm in live(dom)["dimms"]] == ["128 MiB"]
